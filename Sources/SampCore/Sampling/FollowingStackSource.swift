import SampSystem

/// The stacks of whatever program the target runs: Python stacks once its
/// interpreter runs, native stacks before that or without one. A program that
/// may still be starting (launched by `record -- COMMAND`, just exec'd, or
/// attached to in its first second) is looked at again before its samples
/// (`InterpreterSearch`) until its interpreter has made a thread state; the
/// samples meanwhile are native stacks, and the source switches to Python
/// stacks at the next sample once it has. After every exec the new program is
/// looked for the same way (a shell or pyenv shim that execs python, Python
/// into Python, Python into something else).
public final class FollowingStackSource: StackSource {
  private let pid: ProcessID
  private let config: SamplerConfig
  private let log: Log
  private let native: NativeStackSource
  private var python: PythonStackSource?
  /// What is read while looking (and then the Python source's `objects`).
  private var objects: ProcessMemory
  /// Set while this program has no interpreter found yet and is looked at again.
  private var search: InterpreterSearch?
  public private(set) var failure: SampError?

  private var current: StackSource { python ?? native }

  /// Looks once, now. `programAge`: how long ago the program started (0 for a
  /// command launched and caught at its exec). A program older than
  /// `InterpreterSearch.startingNanos` without an interpreter is profiled
  /// with native stacks and not looked at again until it execs; one of an
  /// unsupported version is an error (exit 69), as is one found later.
  public init(pid: ProcessID, config: SamplerConfig, log: Log, programAge: UInt64?, startedBy: String = "start")
    throws(SampError)
  {
    self.pid = pid
    self.config = config
    self.log = log
    native = NativeStackSource(pid: pid, includeIdle: config.includeIdle)
    objects = ProcessMemory(pid: pid, path: .procMem)
    let now = Monotonic.now()
    let age = programAge ?? InterpreterSearch.startingNanos
    var search = InterpreterSearch(programStart: now &- age, startedBy: startedBy, now: now)
    if search.isStarting(at: now) {
      self.search = search
      try look(at: now)
      return
    }
    // A program that has started: what is there now is what there is.
    guard case .found(let info) = try InterpreterLocator.look(pid: pid, memory: objects, starting: false,
                                                            rejected: &search.rejected)
    else {
      log.info("no Python interpreter found in PID \(pid): profiling native stacks")
      return
    }
    use(info, note: "")
  }

  public var summary: String {
    if let python { return python.summary }
    return search != nil ? "native stacks until a Python interpreter starts" : native.summary
  }
  public var readsLateThreads: Bool { current.readsLateThreads }
  public var loadingNanos: UInt64 { current.loadingNanos }

  public func threadsToStop(_ session: TraceSession) -> StopPlan {
    if let search, case let now = Monotonic.now(), search.isDue(at: now) {
      do { try look(at: now) } catch {
        failure = error
        self.search = nil
      }
    }
    if search != nil { search?.samplesBefore += 1 }
    return current.threadsToStop(session)
  }

  public func prepareCapture(_ planned: [ThreadID]) -> StopCopy? { current.prepareCapture(planned) }

  public func capture(_ session: TraceSession, stopped: [ThreadID], errors: inout SampleErrors) -> PendingStacks {
    current.capture(session, stopped: stopped, errors: &errors)
  }

  public func drain(_ errors: inout SampleErrors) -> [ThreadStack] { current.drain(&errors) }

  /// After an exec (the sampler has drained the old program's stacks): the
  /// new program is looked for from its start.
  public func targetChanged(_ session: TraceSession) {
    native.targetChanged(session)
    if let python {
      python.targetChanged(session)
      self.python = nil
      log.info("PID \(pid) replaced its program (exec): native stacks until a Python interpreter starts in the new one")
    }
    objects = ProcessMemory(pid: pid, path: .procMem)
    let now = Monotonic.now()
    search = InterpreterSearch(programStart: now, startedBy: "exec", now: now)
  }

  /// At the end of a run: a program that never showed an interpreter says so
  /// (unless it was said when its first second ended).
  public func reportAtEnd() {
    guard let search, !search.saidAbsent else { return }
    log.info("no Python interpreter found in PID \(pid): native stacks only")
  }

  /// One look. While the program is young, an interpreter counts once it has
  /// a thread state (before that it has run no Python code, and its runtime
  /// may still be empty); later, as soon as it is found.
  private func look(at now: UInt64) throws(SampError) {
    guard var search else { return }
    defer { if self.search != nil { self.search = search } }
    let starting = search.isStarting(at: now)
    if case .found(let info) = try InterpreterLocator.look(pid: pid, memory: objects, starting: starting,
                                                           rejected: &search.rejected),
      !starting || Self.isRunning(info, objects)
    {
      let before = search.samplesBefore
      let earlier = before == 0 ? "" : "; the \(before) sample\(before == 1 ? "" : "s") before \(before == 1 ? "it is" : "them are") native stacks"
      self.search = nil
      use(info, note: " found \(search.sinceStart(at: now))" + earlier)
      return
    }
    search.missed(at: now)
    if !starting, !search.saidAbsent {
      search.saidAbsent = true
      log.info("no Python interpreter found in PID \(pid) \(search.sinceStart(at: now)): profiling native stacks (and looking again now and then)")
    }
  }

  /// Whether the interpreter has made a thread state.
  private static func isRunning(_ info: PythonInterpreterInfo, _ memory: RemoteMemory) -> Bool {
    let walker = PythonWalker(layout: info.layout, addresses: PythonAddresses(info))
    return (try? walker.threadStates(memory))?.isEmpty == false
  }

  private func use(_ info: PythonInterpreterInfo, note: String) {
    log.info("Python \(info.summary)\(note)")
    for warning in info.warnings { log.warning(warning) }
    python = PythonStackSource(pid: pid, interpreter: info, memory: ProcessMemory(pid: pid), objects: objects,
                               config: config)
  }
}
