import Glibc

/// How a traced process ended, as the tracer saw it.
public enum ProcessEnd: Equatable, Sendable, CustomStringConvertible {
  case exited(status: Int32)
  case killed(signal: Int32, coreDumped: Bool)
  case execed
  public var description: String {
    switch self {
    case .exited(let s): return "exited with status \(s)"
    case .killed(let sig, let core):
      let name = String(cString: strsignal(sig))
      return "was killed by signal \(sig) (\(name))" + (core ? ", core dumped" : "")
    case .execed: return "replaced its program (exec)"
    }
  }
}

/// How `TraceSession.stop` waits for interrupted threads to reach their stops.
public enum StopWait: Sendable {
  /// Sleep until SIGCHLD: leaves the CPU to a thread that shares it with us.
  case sleep
  /// Poll for up to `TraceSession.stopPollNanos` first, then sleep: in a VM,
  /// waking this idle vCPU for the SIGCHLD takes longer than the stop itself.
  case poll
}

/// All ptrace state of one target process: every thread seized once (PTRACE_SEIZE,
/// never PTRACE_ATTACH), stopped per sample with PTRACE_INTERRUPT and resumed at once.
/// Signals that arrive while traced are passed on, the user's SIGSTOP/SIGCONT keep
/// their meaning (PTRACE_LISTEN), and threads that come and go are followed.
/// If the profiler dies at any instant, the kernel detaches and the target runs on.
public final class TraceSession {
  public enum ThreadState: Equatable, Sendable {
    case running
    /// In a ptrace-stop we asked for (or any stop met while waiting for one).
    case stopped
    /// Stopped by the user's SIGSTOP; kept stopped with PTRACE_LISTEN.
    case groupStopped
    /// Created after attach; its first stop has not been seen yet.
    case starting
    /// Interrupted, but its stop did not come in time (a thread waiting for a
    /// CPU, in uninterruptible sleep, a zombie leader): not asked again until
    /// it comes. It runs no instruction of its own before then.
    case stopping
  }

  public let pid: ProcessID
  public private(set) var threads: [ThreadID: ThreadState] = [:]
  /// Set once the process has exited or been killed.
  public private(set) var ended: ProcessEnd?
  /// Signals taken from a signal-delivery-stop, passed on with the next resume.
  private var pendingSignals: [ThreadID: Int32] = [:]
  /// Threads that reported their stop as a group-stop (resume with LISTEN).
  private var inGroupStop: Set<ThreadID> = []
  /// Counters for the summary.
  public private(set) var signalsForwarded = 0
  public private(set) var threadsStarted = 0
  public private(set) var threadsExited = 0
  /// Threads interrupted whose stop did not come within `stopTimeoutNanos`.
  public private(set) var stopsTimedOut = 0
  /// Set when the target exec'd: mappings and interpreter must be found again.
  public private(set) var execCount = 0
  /// Threads found to be zombies while their stop was still to come: an
  /// exited leader, which never stops and has no stack left.
  private var zombies: Set<ThreadID> = []

  /// How long `stop` waits for the threads it interrupted when late ones are
  /// of no use to the caller (native stacks). Threads already stopped are held
  /// meanwhile, so this is short; a thread that misses it is resumed when its
  /// stop comes, and its sample is lost.
  public static let stopTimeoutNanos: UInt64 = 100_000_000
  /// How long `stop` waits when the caller can read late threads. An
  /// interrupted thread cannot run an instruction of its own before its stop
  /// (the interrupt marks it, and any return to user mode traps first), so one
  /// still not stopped by now is as still as a stopped one: preempted, waiting
  /// for a CPU. Far above the microseconds the interrupt takes to land, and
  /// far below a sampling interval.
  public static let lateAfterNanos: UInt64 = 1_000_000
  /// How long `stop` waits for a stop, with or without reading late threads.
  public static func longestStopWait(readLate: Bool) -> UInt64 { readLate ? lateAfterNanos : stopTimeoutNanos }
  /// How long `StopWait.poll` polls: a stop on another CPU takes about 20 µs
  /// here; a target preempted before its stop is worth no more of our CPU.
  public static let stopPollNanos: UInt64 = 30_000
  /// How long `detachAll` waits for running threads to stop so they can be
  /// detached; the kernel detaches any left when the profiler exits.
  public static let detachTimeoutNanos: UInt64 = 200_000_000

  /// Seizes every thread of `pid`. Threads created meanwhile are caught by
  /// PTRACE_O_TRACECLONE on their seized parent; the task list is re-read until stable.
  public init(pid: ProcessID) throws(SystemError) {
    self.pid = pid
    let options: Ptrace.Options = [.traceClone, .traceExec]
    try Ptrace.seize(ThreadID(pid.rawValue), options: options)
    threads[ThreadID(pid.rawValue)] = .running
    for _ in 0..<100 {
      var added = false
      let listed = (try? ProcFS.threads(of: pid)) ?? []
      for tid in listed where threads[tid] == nil {
        do {
          try Ptrace.seize(tid, options: options)
          threads[tid] = .running
          added = true
        } catch let error {
          // EPERM for a thread already seized through TRACECLONE; ESRCH if it exited.
          if error.errno == .notPermitted || error.errno == .noSuchProcess { continue }
          detachAll()
          throw error
        }
      }
      if !added { break }
    }
    pollEvents()
  }

  deinit { detachAll() }

  public var isAlive: Bool { ended == nil && !threads.isEmpty }
  /// Threads the target runs (neither we nor the user hold them), those
  /// interrupted whose stop is still to come included: to the target they
  /// are running. Sorted; built without an intermediate dictionary (this runs
  /// every sample).
  public var runningThreads: [ThreadID] {
    var out: [ThreadID] = []
    out.reserveCapacity(threads.count)
    for (tid, state) in threads where state == .running || state == .stopping { out.append(tid) }
    out.sort()
    return out
  }

  /// What `stop` holds: threads in a ptrace-stop, which the caller must resume,
  /// and late threads, interrupted but not yet at their stop (`lateAfterNanos`),
  /// which the caller may read but never resumes: each is let go when its stop comes.
  public struct Held {
    public var stopped: [ThreadID] = []
    public var late: [ThreadID] = []
    /// Without late reads: threads asked to stop at an earlier sample whose
    /// stop has still not come (an uninterruptible wait, a zombie leader),
    /// neither read nor resumed. The caller counts them (`isZombie` tells
    /// the ones with nothing left to read).
    public var stillStopping: [ThreadID] = []
    /// Every thread whose memory is still: the stopped and the late.
    public var readable: [ThreadID] { late.isEmpty ? stopped : stopped + late }
    /// When the stop's copy ran (`StopCopy`), the threads were continued right
    /// after it, at this time (CLOCK_MONOTONIC ns): `stopped` lists the threads
    /// it copied, which now run.
    public var resumedAt: UInt64?
  }

  /// Stops the given threads. A thread that exits or is in group-stop is left
  /// out. One whose stop does not come in time is late when `readLate` (the
  /// wait is then `lateAfterNanos`; threads already late are not waited for
  /// again), else left out and counted in `stopsTimedOut` after
  /// `stopTimeoutNanos` (native stacks need a stop: registers are read by ptrace)
  /// and listed in `Held.stillStopping` by later calls until its stop comes.
  /// Callers must `resume` the stopped threads at once: `withStopped` does so
  /// on every path, and `resume` handles the events this left pending.
  /// `whileStopping` runs once the interrupts are sent, before the wait: work
  /// done there overlaps the stops' tens of microseconds instead of holding
  /// the threads after them. The copy it may return runs as soon as every
  /// thread asked for has stopped, and they are continued right after it
  /// (`Held.resumedAt`; see `StopCopy`); with a thread late or timed out it
  /// is left armed and the caller reads while they are held.
  public func stop(_ tids: [ThreadID], wait: StopWait = .sleep, readLate: Bool = false,
                   whileStopping: () -> StopCopy? = { nil }) -> Held {
    // Arrays, not sets: usually one or a few threads, and a set's storage
    // costs more to create than a linear search of a hundred.
    var waiting: [ThreadID] = []
    waiting.reserveCapacity(tids.count)
    var held = Held()
    for tid in tids {
      switch threads[tid] {
      case .running:
        do {
          try Ptrace.interrupt(tid)
          threads[tid] = .stopping
          waiting.append(tid)
        } catch {
          forget(tid)  // gone; its exit event still comes
        }
      case .stopping where readLate:
        held.late.append(tid)
      case .stopping:
        held.stillStopping.append(tid)
      default:
        break
      }
    }
    held.stopped.reserveCapacity(waiting.count)
    let copy = whileStopping()
    let hadLate = !held.late.isEmpty
    let now = Monotonic.now()
    let deadline = now + Self.longestStopWait(readLate: readLate)
    let pollUntil = wait == .poll ? now + Self.stopPollNanos : 0
    // Wait for any thread, never one in particular: a thread's exit is only
    // reported once others are reaped (a blocking wait on the leader of an
    // exiting process never returns), and every event must be handled anyway.
    // Only the first microseconds' poll asks for one thread's stop at a time.
    while !waiting.isEmpty,
      let (who, event) = nextEvent(until: deadline, pollUntil: pollUntil,
                                   pollingFor: pollUntil != 0 ? waiting.first : nil)
    {
      var asked = waiting.firstIndex(of: who).map { waiting.remove(at: $0) } != nil
      // A late thread that stops now is held like the others: letting it run
      // would move what the caller is about to read.
      if !asked, let index = held.late.firstIndex(of: who) {
        held.late.remove(at: index)
        asked = true
      }
      if handleStop(who, event) {
        // Any ptrace-stop of a thread we asked for will do: read it now; its
        // interrupt stop comes later and is resumed by pollEvents.
        if asked { held.stopped.append(who) } else { continueThread(who) }
      }
      // An exec takes the other threads with it, those we wait for included.
      if case .exec = event { waiting = waiting.filter { threads[$0] != nil } }
    }
    if let copy, waiting.isEmpty, !hadLate, !held.stopped.isEmpty, copy.state == .armed {
      copy.run()
      resume(held.stopped)
      copy.resumed()
      held.resumedAt = Monotonic.now()
      return held
    }
    // Usually nothing is left: no array work then, since the threads wait.
    let timedOut = waiting.isEmpty ? [] : waiting.filter { threads[$0] == .stopping }
    if readLate {
      if !held.late.isEmpty || !timedOut.isEmpty { held.late = held.late.filter { threads[$0] == .stopping } + timedOut }
    } else {
      stopsTimedOut += timedOut.count
    }
    // Events left pending (their SIGCHLD may have been taken above) are
    // handled by `resume` when it holds the leader, or else by the caller's
    // next `pollEvents`.
    return held
  }

  /// Whether `tid` is a zombie (its /proc state), remembered once seen: a
  /// zombie never comes back. For threads whose stop does not come; call it
  /// after resuming, not while threads are held.
  public func isZombie(_ tid: ThreadID) -> Bool {
    if zombies.contains(tid) { return true }
    guard ProcFS.threadStat(pid, tid)?.state == UInt8(ascii: "Z") else { return false }
    zombies.insert(tid)
    return true
  }

  /// Resumes threads returned by `stop`, passing on any signal they were to receive.
  public func resume(_ tids: [ThreadID]) {
    // The leader's events first when we hold it: an exec by a thread we did not
    // hold is reported under the leader's TID, and resuming that TID blind would
    // swallow it. Any other event waits for the caller's next drain: the wait
    // for one thread is one step in the kernel, a wait for any walks them all,
    // and the threads wait meanwhile.
    let leader = ThreadID(pid.rawValue)
    if tids.count < threads.count, tids.contains(leader) { pollEvents(of: leader) }
    for tid in tids where threads[tid] == .stopped {
      continueThread(tid)
    }
  }

  /// Runs `body` with the threads held and resumes the stopped ones whatever happens.
  public func withStopped<T>(_ tids: [ThreadID], wait: StopWait = .sleep, readLate: Bool = false,
                             whileStopping: () -> StopCopy? = { nil }, _ body: (Held) throws -> T) rethrows -> T {
    let held = stop(tids, wait: wait, readLate: readLate, whileStopping: whileStopping)
    defer {
      if held.resumedAt == nil { resume(held.stopped) }
      // A late thread whose stop came meanwhile is let go now, not at the next drain.
      if !held.late.isEmpty { pollEvents() }
    }
    return try body(held)
  }

  /// Handles every pending event without blocking: forwards signals, follows new
  /// and exiting threads, keeps group-stops, notices exit and exec.
  public func pollEvents() {
    while let (who, event) = nextEvent(until: 0) {
      // Any stop met here was not asked for now (or came late): let it run.
      if handleStop(who, event) { continueThread(who) }
    }
  }

  /// Handles events until the target execs (or ends), at most until
  /// `deadline` (CLOCK_MONOTONIC ns); true if an exec came. For a launched
  /// command seized before its exec: sampling then starts on the new program.
  @discardableResult
  public func awaitExec(until deadline: UInt64) -> Bool {
    let before = execCount
    while execCount == before, ended == nil, let (who, event) = nextEvent(until: deadline) {
      if handleStop(who, event) { continueThread(who) }
    }
    return execCount != before
  }

  /// Handles the events pending for `tid` alone, without blocking.
  private func pollEvents(of tid: ThreadID) {
    while let (who, event) = try? Wait.next(tid, blocking: false) {
      if handleStop(who, event) { continueThread(who) }
    }
  }

  /// The next event of any traced thread, or nil if none comes by `deadline`
  /// (CLOCK_MONOTONIC ns; 0 to only take what is pending) or nothing is traced.
  /// Until `pollUntil` it polls rather than sleeping, and for `pollingFor`'s
  /// event alone when given: a wait for any thread walks every traced thread
  /// in the kernel (a hundred in a thread pool, at each poll), a wait for one
  /// does not, and the others' events keep for the drain after the sample.
  private func nextEvent(until deadline: UInt64, pollUntil: UInt64 = 0,
                         pollingFor one: ThreadID? = nil) -> (ThreadID, TraceEvent)? {
    var one = one
    while true {
      do {
        if let event = try Wait.next(one, blocking: false) { return event }
      } catch {
        if one != nil {
          one = nil  // not ours to wait for alone any more: any thread's
          continue
        }
        return nil  // ECHILD: nothing left to wait for
      }
      let now = Monotonic.now()
      if one != nil, now >= pollUntil {
        one = nil  // the poll is over: any thread's event, before sleeping on SIGCHLD
        continue
      }
      if now >= deadline { return nil }
      if now < pollUntil { continue }
      // SIGCHLD announces the next event; the 1 ms cap keeps this a poll where
      // SIGCHLD is not blocked (and so never pending).
      ProfilerSignals.waitForChild(until: min(deadline, now + 1_000_000))
    }
  }

  /// Applies one event; returns true if `tid` is now in a ptrace-stop, which
  /// the caller must end (resume, or keep for a sample and resume after).
  private func handleStop(_ tid: ThreadID, _ event: TraceEvent) -> Bool {
    if threads[tid] == nil, !event.isGone {
      // A new thread's first stop can arrive before its parent's clone event.
      threads[tid] = .starting
      threadsStarted += 1
    }
    switch event {
    case .exited(let status):
      if tid.rawValue == pid.rawValue { ended = ended ?? .exited(status: status) }
      forget(tid)
      threadsExited += 1
      return false
    case .killed(let signal, let core):
      if tid.rawValue == pid.rawValue { ended = ended ?? .killed(signal: signal, coreDumped: core) }
      forget(tid)
      threadsExited += 1
      return false
    case .groupStop:
      inGroupStop.insert(tid)
    case .signalDelivery(let signal):
      pendingSignals[tid] = signal
      signalsForwarded += 1
    case .cloned(let child):
      if threads[child] == nil {
        threads[child] = .starting
        threadsStarted += 1
      }
    case .exec:
      // Reported under the leader's TID, whichever thread exec'd; every other
      // thread is gone (their exits may still be reported, and are ignored).
      execCount += 1
      for other in threads.keys where other != tid { forget(other) }
    case .interrupted, .exiting, .other:
      // Also how a listening thread reports the SIGCONT that ends its group-stop.
      break
    }
    threads[tid] = .stopped
    return true
  }

  /// Runs while the thread waits for it: the empty checks spare the sets their hashing.
  private func continueThread(_ tid: ThreadID) {
    if !inGroupStop.isEmpty, inGroupStop.remove(tid) != nil {
      // Stay in the user's group-stop; SIGCONT will be reported.
      if (try? Ptrace.listen(tid)) != nil {
        threads[tid] = .groupStopped
        return
      }
      // Not a group-stop after all (or already continued): let it run.
    }
    let signal = pendingSignals.isEmpty ? 0 : pendingSignals.removeValue(forKey: tid) ?? 0
    if (try? Ptrace.resume(tid, deliver: signal)) != nil {
      threads[tid] = .running
    } else {
      forget(tid)  // killed while stopped; its exit event follows
    }
  }

  private func forget(_ tid: ThreadID) {
    threads[tid] = nil
    zombies.remove(tid)
    pendingSignals[tid] = nil
    inGroupStop.remove(tid)
  }

  /// Detaches from every thread, delivering pending signals; a thread in the
  /// user's group-stop stays stopped, as it would without us. A thread that does
  /// not stop within `detachTimeoutNanos` is left to the kernel, which detaches
  /// it when the profiler exits: waiting on it could hang the profiler.
  public func detachAll() {
    pollEvents()
    for (tid, state) in threads where state == .stopped { detach(tid) }
    // Only a thread in a ptrace-stop can be detached: interrupt the others and
    // detach each as it stops (threads born meanwhile too).
    for tid in Array(threads.keys) where (try? Ptrace.interrupt(tid)) == nil { forget(tid) }
    let deadline = Monotonic.now() + Self.detachTimeoutNanos
    while !threads.isEmpty, let (who, event) = nextEvent(until: deadline) {
      if handleStop(who, event) { detach(who) }
    }
  }

  private func detach(_ tid: ThreadID) {
    let signal = pendingSignals[tid] ?? 0
    _ = try? Ptrace.detach(tid, deliver: signal)
    forget(tid)
  }
}

/// CLOCK_MONOTONIC in nanoseconds.
public enum Monotonic {
  public static func now() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
  }

  /// Sleeps for `nanos` (the profiler's signals are blocked, so none cuts it short).
  public static func sleep(_ nanos: UInt64) {
    var left = timespec(tv_sec: Int(nanos / 1_000_000_000), tv_nsec: Int(nanos % 1_000_000_000))
    var rest = timespec()
    while nanosleep(&left, &rest) != 0, errno == EINTR { left = rest }
  }
}
