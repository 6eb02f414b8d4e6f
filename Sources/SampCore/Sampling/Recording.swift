import SampSystem

/// `sampswift record` as a library call: attach (or launch), pick the stack
/// source, sample, write, summarize. The CLI only builds the config.
public enum Recording {
  public enum Target: Sendable {
    case attach(ProcessID)
    case launch([String])
  }

  /// Returns the process exit code (0 on success: a target that exits or a
  /// Ctrl-C is a normal end). Throws for errors the user must act on.
  public static func run(target: Target, config: SamplerConfig, outputPath: String?) throws(SampError) -> Int32 {
    try config.validate()
    let log = Log.shared
    let output: OutputFile
    if let outputPath {
      do { output = try OutputFile(creating: outputPath) } catch {
        throw .output(path: outputPath, error.errno ?? .ioError)
      }
    } else {
      output = .standardOutput()
    }

    let pid: ProcessID
    let session: TraceSession
    let source: FollowingStackSource
    var launched = false
    switch target {
    case .attach(let p):
      try TargetCheck.check(p)
      pid = p
      do { session = try TraceSession(pid: pid) } catch { throw TargetCheck.attachError(pid, error) }
      source = try FollowingStackSource(pid: pid, config: config, log: log, programAge: ProcFS.age(of: pid))
    case .launch(let command):
      (pid, session) = try launch(command)
      launched = true
      source = try FollowingStackSource(pid: pid, config: config, log: log, programAge: 0, startedBy: "exec")
    }
    let command = TerminalText.escaped(ProcFS.commandLine(of: pid))
    log.info("attached to PID \(pid) (\(command.isEmpty ? "?" : command)): \(session.threads.count) thread\(session.threads.count == 1 ? "" : "s"), \(source.summary), \(formatRate(config.rate))" + (config.duration.map { " for \(formatSeconds($0))" } ?? " until Ctrl-C or exit"))

    let writer = FoldedWriter(output: output)
    let sampler = Sampler(config: config, session: session, source: source)
    let progress: ((SamplingStats) -> Void)? = log.isTerminal ? { stats in
      log.progress("\(stats.samples) samples, \(stats.errors.total) errors, \(String(format1: stats.elapsedSecondsSoFar)) s")
    } : nil
    let ending = sampler.run(writer: writer, progress: progress)
    session.detachAll()
    log.endProgress()

    switch ending {
    case .targetEnded(let how):
      log.info("PID \(pid) \(how)")
    case .stopRequested(let sig):
      log.info("stopped by \(ProfilerSignals.name(sig))")
    case .outputClosed:
      log.info("output closed; stopped sampling")
    case .durationElapsed:
      break
    case .sourceFailed:
      break
    }
    source.reportAtEnd()
    log.info(summaryLine(sampler.stats))
    if let why = EmptyProfile.explanation(sampler.stats, config: config, pid: pid, children: { ProcFS.children(of: pid) }) {
      log.info(why)
    }
    if sampler.stats.cpuPhases.enabled {
      log.info(cpuPhasesLine(sampler.stats.cpuPhases) + "; \(sampler.stats.copiedOnStop) of \(sampler.stats.samples) samples copied at the stop")
    }
    if launched {
      // Our own child: reap it if it has ended, so it never lingers as a zombie.
      _ = Spawn.reap(pid, blocking: false)
    }
    if case .sourceFailed(let error) = ending { throw error }
    return 0
  }

  /// Starts the command seized before its exec, so it is traced from its
  /// first instruction, and returns once the exec is through: sampling
  /// starts on the command itself (the first sample at its first instruction).
  static func launch(_ command: [String]) throws(SampError) -> (ProcessID, TraceSession) {
    let joined = command.joined(separator: " ")
    let held: Spawn.Held
    do { held = try Spawn.startHeld(command) } catch { throw .cannotStartCommand(joined, error.errno ?? .ioError) }
    let session: TraceSession
    do {
      session = try TraceSession(pid: held.pid)
    } catch {
      held.abandon()
      throw TargetCheck.attachError(held.pid, error)
    }
    do { try held.release() } catch {
      session.detachAll()  // the child exits 127 and is reaped by the session
      _ = Spawn.reap(held.pid, blocking: true)
      throw .cannotStartCommand(joined, error.errno ?? .ioError)
    }
    session.awaitExec(until: Monotonic.now() + 5_000_000_000)
    return (held.pid, session)
  }

  static func summaryLine(_ s: SamplingStats) -> String {
    var parts = ["\(s.samples) samples (\(s.stacks) stacks) in \(String(format1: s.elapsedSeconds)) s, \(String(format1: s.achievedRate)) Hz"]
    if s.errors.total > 0 {
      let kinds = s.errors.counts.sorted { $0.value > $1.value }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
      parts.append("\(s.errors.total) errors (\(kinds))")
    } else {
      parts.append("0 errors")
    }
    if s.stacksWithoutPython > 0 {
      parts.append("\(s.stacksWithoutPython) stacks without a Python frame (threads outside Python code, left out)")
    }
    parts.append(lateness(s))
    let avg = s.hold.count > 0 ? Double(s.holdTotalNanos) / Double(s.hold.count) / 1000 : 0
    parts.append("target held \(String(format1: Double(s.holdTotalNanos) / 1e6)) ms in total, per sample avg \(String(format1: avg)) µs, p50 \(s.hold.percentile(0.5)) µs, p99 \(s.hold.percentile(0.99)) µs"
                 + (s.retakes > 0 ? ", \(s.retakes) taken twice" : "")
                 + (s.lateThreadReads > 0 ? ", \(s.lateThreadReads) threads read before their stop came (waiting for a CPU)" : ""))
    return parts.joined(separator: "; ")
  }

  /// `--cpu-phases`: the profiler's own CPU time a sample, by phase.
  static func cpuPhasesLine(_ phases: CPUPhases) -> String {
    let each = phases.microsPerSample
    let total = each.reduce(0) { $0 + $1.micros }
    return "own CPU a sample (µs, over \(phases.samples) samples after the first): "
      + each.map { "\($0.phase.name) \(String(format1: $0.micros))" }.joined(separator: ", ")
      + "; total \(String(format1: total))"
  }

  /// Late samples by cause: sampling too slow for the rate (lower it), a
  /// few slow samples (not the rate), the one-off loading of symbols for code
  /// met the first time, or the machine running the profiler late, waking it
  /// late or preempting it while it sampled (a busy host; the profile is less
  /// even in time either way).
  static func lateness(_ s: SamplingStats) -> String {
    var parts: [String] = []
    if s.overranSamples > 0 {
      let why = s.overranSamples >= s.samples / steadyOverrunShare
        ? "sampling took longer than the interval: lower --rate"
        : "a few slow samples, not the rate"
      parts.append("fell behind \(s.overranSamples) times, by at most \(ms(s.maxOverrunLagNanos)) ms (\(why))")
    } else {
      parts.append("never behind")
    }
    if s.loadingDelays > 0 {
      parts.append("late \(s.loadingDelays) times, by at most \(ms(s.maxLoadingLagNanos)) ms, while loading the symbols and unwind tables of code met for the first time (a one-off, not the rate)")
    }
    if s.lateWakeups > 0 {
      parts.append("woke late \(s.lateWakeups) times, by at most \(ms(s.maxWakeupLagNanos)) ms (the machine ran the profiler late)")
    }
    if s.skippedSamples > 0 { parts.append("\(s.skippedSamples) ticks missed") }
    return parts.joined(separator: ", ")
  }

  /// Sampling is too slow for the rate when at least one sample in this many
  /// ran into the next tick; fewer are a slow sample now and then (a stop
  /// that waited for a busy CPU), which a lower rate does not cure.
  static let steadyOverrunShare = 10

  private static func ms(_ nanos: UInt64) -> String { String(format1: Double(nanos) / 1e6) }

  static func formatRate(_ hz: Double) -> String {
    hz == hz.rounded() ? "\(Int(hz)) Hz" : "\(hz) Hz"
  }
  static func formatSeconds(_ s: Double) -> String {
    s == s.rounded() ? "\(Int(s)) s" : "\(s) s"
  }
}

extension SamplingStats {
  var elapsedSecondsSoFar: Double { Double(Monotonic.now() &- startNanos) / 1e9 }
}

extension String {
  /// One decimal place, without Foundation.
  init(format1 value: Double) {
    guard value.isFinite else {
      self = "?"
      return
    }
    let scaled = (value * 10).rounded()
    let whole = Int(scaled / 10)
    let tenth = abs(Int(scaled) % 10)
    self = (value < 0 && whole == 0 ? "-" : "") + "\(whole).\(tenth)"
  }
}
