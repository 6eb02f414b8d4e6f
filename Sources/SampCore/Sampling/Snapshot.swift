import SampSystem

/// `sampswift dump`: every thread's stack once. Attaches, stops all threads
/// (idle ones too) for one capture, resumes and detaches.
public enum Snapshot {
  public struct Result {
    public var pid: Int32
    public var command: String
    public var source: String
    public var threads: [ThreadStack]
    public var errors: SampleErrors
  }

  /// How many times one dump may be taken before it gives up (counted).
  static let maxTakes = 3

  public static func take(pid: ProcessID, native: Bool) throws(SampError) -> Result {
    try TargetCheck.check(pid)
    let session: TraceSession
    do {
      session = try TraceSession(pid: pid)
    } catch {
      throw TargetCheck.attachError(pid, error)
    }
    defer { session.detachAll() }
    var config = SamplerConfig()
    config.native = native
    config.includeIdle = true
    let log = Log.shared
    let source = try StackSources.choose(pid: pid, config: config, log: log)
    var errors = SampleErrors()
    // A nil from resolve asks for the sample again (a chain caught mid-change,
    // or a copy that fell short): the source then reads while held and keeps
    // what it finds, so one retake ends it; the bound only guards the loop.
    var taken: [ThreadStack]?
    for attempt in 0..<Self.maxTakes where taken == nil {
      if attempt > 0 { Monotonic.sleep(1_000_000) }  // let a thread just continued move on
      let plan = source.threadsToStop(session)
      let pending = session.withStopped(plan.threads, wait: plan.wait, readLate: source.readsLateThreads) { held in
        source.capture(session, stopped: held.readable, errors: &errors)
      }
      taken = pending.resolve(&errors)
    }
    if taken == nil { errors.count("sample asked to be taken again \(Self.maxTakes) times") }
    let threads = ((taken ?? []) + source.drain(&errors)).sorted { $0.tid < $1.tid }
    return Result(pid: pid.rawValue, command: ProcFS.commandLine(of: pid), source: source.summary,
                  threads: threads, errors: errors)
  }
}
