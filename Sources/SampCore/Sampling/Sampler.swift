import SampSystem

/// The sampling loop: at each tick stop the threads the source asks for, let it
/// copy what it needs, resume at once, then resolve names and aggregate. Holds
/// one TraceSession for the whole run (seize once, interrupt and continue per
/// sample). Runs on the calling thread, which must stay the same for the whole
/// run: ptrace requests are only accepted from the thread that seized.
public final class Sampler {
  public let config: SamplerConfig
  public let session: TraceSession
  public let source: StackSource
  public private(set) var stats = SamplingStats()
  /// Why the run ended.
  public enum Ending: Equatable, Sendable {
    case durationElapsed
    case targetEnded(ProcessEnd)
    case stopRequested(signal: Int32)
    case outputClosed
    /// The source could not go on (`StackSource.failure`).
    case sourceFailed(SampError)
  }

  /// How long a retaken sample waits for the target to move on.
  static let retakeDelayNanos: UInt64 = 1_000_000
  /// Seeded once: the system generator costs a getrandom syscall a sample.
  private var random = SplitMix64(seed: UInt64.random(in: .min ... .max))
  /// The session's exec count when the source last rescanned the target.
  private var execsSeen = 0
  /// Label IDs of frames already labelled, valid for one generation of the
  /// writer's label table: by identity for stacks given as identities, by
  /// frame for the rest.
  private var identityLabels = IntegerMap<UInt32>()
  private var frameLabels: [Frame: UInt32] = [:]
  private var labelsGeneration = 0
  /// Each thread's last stack given as identities, and its label IDs: a stack
  /// mostly keeps its callers from one sample to the next, so only the frames
  /// past the part it shares with the last one are looked up.
  private var lastStacks: [Int32: (identities: [UInt64], ids: [UInt32])] = [:]
  static let maxLastStacks = 4096
  /// How long the last sample held the target (its stops' wait included).
  private var lastHoldNanos: UInt64 = 0

  public init(config: SamplerConfig, session: TraceSession, source: StackSource) {
    self.config = config
    self.session = session
    self.source = source
    stats.cpuPhases = CPUPhases(enabled: config.cpuPhases)
  }

  /// Records until the duration ends, the target ends, the user stops us, or the
  /// output is closed. Every sample taken is handed to `writer` before returning.
  public func run(writer: ProfileWriter, progress: ((SamplingStats) -> Void)? = nil) -> Ending {
    let interval = UInt64(1e9 / config.rate)
    let start = Monotonic.now()
    stats.startNanos = start
    let end = config.duration.map { start + UInt64($0 * 1e9) }
    var scheduled = start
    var nextFlush = start + 1_000_000_000
    var ending: Ending?
    execsSeen = session.execCount
    // When the profiler's own work (a sample, a flush, the target's events)
    // last ended: a late tick that came while it still ran may be ours, one
    // that came while the profiler slept is the machine's.
    var busyUntil = start
    // When the last sample began, on the wall clock and on the profiler's
    // own CPU clock: work that ran past a tick only because the machine kept
    // the profiler off the CPU meanwhile is the machine's too.
    var sampleStart = start
    var sampleStartCPU = OwnCPUTime.now()
    var sampleStartLoading = source.loadingNanos
    stats.cpuPhases.restart()

    sampling: while ending == nil {
      // Sleep until the next tick, handling traced-thread events as they come.
      while true {
        let deadline = min(scheduled, end ?? .max, nextFlush)
        switch ProfilerSignals.wait(until: deadline) {
        case .childEvent:
          session.pollEvents()
          busyUntil = Monotonic.now()
          if let how = session.ended {
            ending = .targetEnded(how)
            break sampling
          }
          continue
        case .stopRequested(let sig):
          ending = .stopRequested(signal: sig)
          break sampling
        case .timeout:
          break
        }
        let now = Monotonic.now()
        if let end, now >= end {
          ending = .durationElapsed
          break sampling
        }
        if now >= nextFlush {
          stats.cpuPhases.end(.wake)
          let flushed = flush(writer)
          stats.cpuPhases.end(.flush)
          if flushed == false {
            ending = .outputClosed
            break sampling
          }
          progress?(stats)
          nextFlush = now + 1_000_000_000
          busyUntil = Monotonic.now()
        }
        if now >= scheduled { break }
      }

      let now = Monotonic.now()
      let lag = now - scheduled
      if lag > interval {
        // Behind: take this sample now, then go on from now. Taking the missed
        // ones back to back would put them all in whatever the target does at
        // this moment and skew the profile; they are counted instead.
        if busyUntil > scheduled, ownWorkMadeLate(since: sampleStart, cpu: sampleStartCPU, tick: scheduled + interval) {
          // Without the one-off loading of newly met code's symbols, would it still be late?
          let loading = source.loadingNanos &- sampleStartLoading
          if ownWorkMadeLate(since: sampleStart, cpu: sampleStartCPU &+ loading, tick: scheduled + interval) {
            stats.overranSamples += 1
            stats.maxOverrunLagNanos = max(stats.maxOverrunLagNanos, lag)
          } else {
            stats.loadingDelays += 1
            stats.maxLoadingLagNanos = max(stats.maxLoadingLagNanos, lag)
          }
        } else {
          stats.lateWakeups += 1
          stats.maxWakeupLagNanos = max(stats.maxWakeupLagNanos, lag)
        }
        stats.skippedSamples += Int(lag / interval)
        scheduled = now
      }
      scheduled += nextInterval(interval)

      sampleStart = now
      sampleStartCPU = OwnCPUTime.now()
      sampleStartLoading = source.loadingNanos
      stats.cpuPhases.end(.wake)
      takeSample(writer: writer)
      if stats.samples == 1 {
        // The first sample loads symbols and caches (warm-up): the schedule
        // starts after it rather than counting that time as falling behind.
        scheduled = Monotonic.now() + nextInterval(interval)
        stats.cpuPhases.restart()
      }
      if let how = session.ended {
        ending = .targetEnded(how)
      } else if let failure = source.failure {
        ending = .sourceFailed(failure)
      } else if session.execCount != execsSeen {
        execsSeen = session.execCount
        rescan(writer)
      }
      busyUntil = Monotonic.now()
    }
    stats.endNanos = Monotonic.now()
    if ending != .outputClosed, flush(writer) == false { ending = .outputClosed }
    return ending ?? .durationElapsed
  }

  /// Whether the profiler's own work since the last sample began would have
  /// run past `tick` even with a CPU to itself (see `SamplingStats.ownWorkMadeLate`).
  private func ownWorkMadeLate(since start: UInt64, cpu: UInt64, tick: UInt64) -> Bool {
    SamplingStats.ownWorkMadeLate(start: start, cpuUsed: OwnCPUTime.now() &- cpu, hold: lastHoldNanos,
                                  longestWait: TraceSession.longestStopWait(readLate: source.readsLateThreads), tick: tick)
  }

  private func nextInterval(_ interval: UInt64) -> UInt64 {
    guard config.jitter, interval > 2 else { return interval }
    return interval / 2 + UInt64.random(in: 0...interval, using: &random)
  }

  /// One sample: stop, capture, resume, resolve, aggregate.
  /// No event drain first: the sleep before it ends on a timeout only when no
  /// SIGCHLD came since the last drain, and every SIGCHLD taken is followed by one.
  func takeSample(writer: ProfileWriter) {
    guard session.isAlive else { return }
    // Never read one program with another's maps and symbols: rescan after an
    // exec, and drop a sample that an exec cut through (checked after resolve,
    // which still reads the target).
    let execs = session.execCount
    if execs != execsSeen {
      execsSeen = execs
      rescan(writer)
    }
    let plan = source.threadsToStop(session)
    stats.cpuPhases.end(.plan)
    var errors = SampleErrors()
    var held: UInt64 = 0
    var stacks = hold(plan, &errors, &held).resolve(&errors)
    stats.cpuPhases.end(.resolve)
    if stacks == nil {
      // The copy fell short of what the source read after resume, or a
      // stopped thread was caught mid-change: take the sample again (the
      // source reads while held this time, and keeps what it finds). Not at
      // once: a thread just continued may not have run an instruction yet.
      stats.retakes += 1
      Monotonic.sleep(min(Self.retakeDelayNanos, UInt64(1e9 / config.rate) / 4))
      stacks = hold(plan, &errors, &held).resolve(&errors)
      stats.cpuPhases.end(.resolve)
    }
    lastHoldNanos = held
    if !plan.threads.isEmpty {
      stats.holdTotalNanos += held
      stats.hold.record(nanos: held)
      ProfilerSignals.clearChildSignal()  // the stop's own, before the drain
    }
    session.pollEvents()
    if session.execCount != execs {
      stacks = []  // and any earlier ones named with it: an exec mid-sample is rare
      errors.count("exec during sample")
    }
    stats.samples += 1
    record(stacks ?? [], errors, writer)
    stats.cpuPhases.end(.record)
    stats.cpuPhases.countSample()
  }

  /// Adds named stacks to the profile (one sample's, or a drained batch's).
  private func record(_ stacks: [ThreadStack], _ errors: SampleErrors, _ writer: ProfileWriter) {
    for (kind, n) in errors.counts { stats.errors.count(kind, n) }
    for stack in stacks {
      if stack.identities?.isEmpty == true {
        stats.stacksWithoutPython += 1  // nothing to draw, but not lost without a word
        continue
      }
      let ids = labelIDs(stack, writer.labels)
      if config.threadRoots {
        let root = writer.labels.id(FrameLabeler.sanitize("thread \(stack.name ?? "?") (\(stack.tid))"))
        writer.add(ids: [root] + ids, count: 1)
      } else {
        writer.add(ids: ids, count: 1)
      }
      stats.stacks += 1
    }
  }

  /// Records the stacks the source put off naming.
  private func drain(_ writer: ProfileWriter) {
    var errors = SampleErrors()
    let stacks = source.drain(&errors)
    record(stacks, errors, writer)
  }

  /// After an exec: the stacks of the old program are named with its caches
  /// before the source rescans.
  private func rescan(_ writer: ProfileWriter) {
    drain(writer)
    source.targetChanged(session)
  }

  /// Stops the planned threads (if any) while the source copies what it needs;
  /// adds the time they were held to `held`.
  private func hold(_ plan: StopPlan, _ errors: inout SampleErrors, _ held: inout UInt64) -> PendingStacks {
    if plan.threads.isEmpty {
      guard config.nonblocking else { return .empty }  // nothing to stop or copy: no phase of its own
      defer { stats.cpuPhases.end(.capture) }
      return source.capture(session, stopped: [], errors: &errors)
    }
    let start = Monotonic.now()
    let timeoutsBefore = session.stopsTimedOut
    var stillStopping: [ThreadID] = []
    var copy: StopCopy?
    // Set when the copy ran at the stop: the threads already run again.
    var resumedAt: UInt64?
    let pending = session.withStopped(plan.threads, wait: plan.wait, readLate: source.readsLateThreads,
                                      whileStopping: {
                                        copy = source.prepareCapture(plan.threads)
                                        copy?.clocksPhases = stats.cpuPhases.enabled
                                        return copy
                                      }) { threads in
      if let at = threads.resumedAt, let copy {
        resumedAt = at
        stats.copiedOnStop += 1
        stats.cpuPhases.end(.stop, at: copy.phaseCPU.stopped)
        stats.cpuPhases.end(.capture, at: copy.phaseCPU.copied)
        stats.cpuPhases.end(.resume, at: copy.phaseCPU.resumed)
      } else {
        stats.cpuPhases.end(.stop)
      }
      stats.lateThreadReads += threads.late.count
      stillStopping = threads.stillStopping
      // After a copy at the stop, what capture still does runs with the
      // threads going again: resolve's share.
      defer { if resumedAt == nil { stats.cpuPhases.end(.capture) } }
      return source.capture(session, stopped: threads.readable, errors: &errors)
    }
    if resumedAt == nil { stats.cpuPhases.end(.resume) }
    held += (resumedAt ?? Monotonic.now()) - start
    // Its sample is lost; the thread is let go when its stop comes.
    let timedOut = session.stopsTimedOut - timeoutsBefore
    if timedOut > 0 { errors.count("thread did not stop within \(TraceSession.stopTimeoutNanos / 1_000_000) ms", timedOut) }
    // And so is every later one until then, unless it is a zombie (no stack to lose).
    let missed = stillStopping.filter { !session.isZombie($0) }.count
    if missed > 0 { errors.count("thread still not stopped since an earlier sample", missed) }
    return pending
  }

  /// The label IDs of a stack's frames, root first: one integer lookup a frame
  /// for stacks given as identities (the same frames recur sample after sample,
  /// and building a label, with path shortening and sanitizing, costs more).
  private func labelIDs(_ stack: ThreadStack, _ table: LabelTable) -> [UInt32] {
    if table.generation != labelsGeneration {
      identityLabels.removeAll()
      frameLabels.removeAll(keepingCapacity: true)
      lastStacks.removeAll(keepingCapacity: true)
      labelsGeneration = table.generation
    }
    if let identities = stack.identities {
      var ids: [UInt32] = []
      ids.reserveCapacity(identities.count)
      if let last = lastStacks[stack.tid] {
        let shared = min(identities.count, last.identities.count)
        var same = 0
        while same < shared, identities[same] == last.identities[same] { same += 1 }
        ids.append(contentsOf: last.ids[..<same])
      }
      for identity in identities[ids.count...] {
        ids.append(identityLabel(identity, table) { stack.frame(identity: identity) })
      }
      if lastStacks.count >= Self.maxLastStacks { lastStacks.removeAll(keepingCapacity: true) }  // bound memory
      lastStacks[stack.tid] = (identities, ids)
      return ids
    }
    return stack.frames.map { frame in
      frame.identity != 0 ? identityLabel(frame.identity, table) { frame } : labelID(frame, table)
    }
  }

  /// The label ID of a frame that has an identity (Python frames, merged ones
  /// too), memoized on that one integer; `frame` is asked only on a miss.
  private func identityLabel(_ identity: UInt64, _ table: LabelTable, _ frame: () -> Frame?) -> UInt32 {
    if let known = identityLabels[identity] { return known }
    if identityLabels.count >= LabelTable.maxLabels { identityLabels.removeAll() }  // bound memory
    let id = table.id(frame().map { config.labels.label($0) } ?? "?")
    identityLabels.insert(id, for: identity)
    return id
  }

  /// The label ID of any other frame, memoized on the whole frame.
  private func labelID(_ frame: Frame, _ table: LabelTable) -> UInt32 {
    if let known = frameLabels[frame] { return known }
    if frameLabels.count >= LabelTable.maxLabels { frameLabels.removeAll(keepingCapacity: true) }  // bound memory
    let id = table.id(config.labels.label(frame))
    frameLabels[frame] = id
    return id
  }

  private func flush(_ writer: ProfileWriter) -> Bool {
    drain(writer)
    do {
      try writer.flush()
      return true
    } catch {
      return false
    }
  }
}
