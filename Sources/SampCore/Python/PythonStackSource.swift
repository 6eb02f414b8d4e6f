import SampSystem

/// Python stacks read from the interpreter's memory. While threads are held it
/// copies only the thread list and each frame's code pointer and instruction
/// offset; names, files and lines come from validated caches after resume.
public final class PythonStackSource: StackSource {
  public private(set) var interpreter: PythonInterpreterInfo
  private let pid: ProcessID
  private let config: SamplerConfig
  private let memory: RemoteMemory
  private var walker: PythonWalker
  private var codes: CodeObjectCache
  private var statReaders: [ThreadID: ThreadStatReader] = [:]
  private var names: [ThreadID: String] = [:]
  /// Scheduler state of each thread, read before stopping (a stopped thread is never "R").
  private var running: [ThreadID: Bool] = [:]
  /// Threads that had no Python thread state at the last capture (native worker
  /// threads): stopping them would cost hold time for nothing.
  private var nonPython: Set<ThreadID> = []
  /// Set when the target exec'd into something that is no longer this interpreter.
  private var interpreterLost = false

  public init(pid: ProcessID, interpreter: PythonInterpreterInfo, memory: RemoteMemory, config: SamplerConfig) {
    self.pid = pid
    self.interpreter = interpreter
    self.memory = memory
    self.config = config
    walker = PythonWalker(layout: interpreter.layout, addresses: PythonAddresses(interpreter))
    codes = CodeObjectCache(layout: interpreter.layout, codeType: interpreter.codeType)
  }

  public var summary: String { "Python \(interpreter.version)" }

  /// Only running threads can change their Python stack: an idle one is blocked
  /// in the kernel, so it is read without being stopped. Threads that had no
  /// Python thread state last time are not stopped either.
  public func threadsToStop(_ session: TraceSession) -> [ThreadID] {
    running.removeAll(keepingCapacity: true)
    let traced = session.runningThreads
    for tid in traced { running[tid] = threadIsRunning(tid) }
    statReaders = statReaders.filter { running[$0.key] != nil }
    names = names.filter { running[$0.key] != nil }
    if config.nonblocking { return [] }
    let chosen = traced.filter { running[$0] == true && !nonPython.contains($0) }
    // The sampler only captures when something is stopped; with --idle every
    // sample must be taken even when all threads sleep, so hold one.
    if chosen.isEmpty, config.includeIdle, let first = traced.first { return [first] }
    return chosen
  }

  private func threadIsRunning(_ tid: ThreadID) -> Bool {
    if statReaders[tid] == nil { statReaders[tid] = ThreadStatReader(pid: pid, tid: tid) }
    return statReaders[tid]?.state()?.isRunning ?? false
  }

  /// While held: the thread list and the frame chains of the threads kept. Idle
  /// threads are not stopped but are read now too: a thread waiting for the GIL
  /// cannot get it while its holder is held, but could right after resume.
  public func capture(_ session: TraceSession, stopped: [ThreadID], errors: inout SampleErrors) -> PendingStacks {
    if interpreterLost {
      errors.count("python interpreter gone after exec")
      return .empty
    }
    let held = PageCache(memory)
    let states: [ThreadState]
    do {
      states = try walker.threadStates(held)
    } catch {
      errors.count(Self.kind(error))
      return .empty
    }
    nonPython = Set(running.keys).subtracting(states.compactMap { $0.nativeTID.map { ThreadID($0) } })
    var kept: [Pending] = []
    for state in states {
      guard let raw = state.nativeTID else {
        errors.count("python thread without TID")
        continue
      }
      let tid = ThreadID(raw)
      // A thread state whose thread the kernel does not list (exiting, or not yet
      // seen) is left out.
      guard let isRunning = running[tid] else { continue }
      if !config.includeIdle && !isRunning { continue }
      if config.onlyGIL && !state.holdsGIL { continue }
      var pending = Pending(tid: tid, running: isRunning, holdsGIL: state.holdsGIL, frames: [], error: state.error)
      if pending.error == nil {
        do { pending.frames = try walker.walkFrames(held, from: state.topFrame) } catch { pending.error = error }
      }
      kept.append(pending)
    }
    return PendingStacks { [self] errors in resolve(kept, &errors) }
  }

  /// One thread between capture and resolve.
  struct Pending {
    var tid: ThreadID
    var running: Bool
    var holdsGIL: Bool
    var frames: [CapturedFrame]
    var error: PythonReadError?
  }

  /// After resume: code objects looked up in one batch, frames labelled.
  private func resolve(_ threads: [Pending], _ errors: inout SampleErrors) -> [ThreadStack] {
    var addresses = Set<RemoteAddress>()
    for thread in threads { for f in thread.frames { addresses.insert(f.code) } }
    let infos = codes.lookup(addresses, memory: memory)
    var out: [ThreadStack] = []
    for thread in threads {
      if let error = thread.error {
        errors.count(Self.kind(error))
        continue
      }
      do {
        let frames = try codes.frames(for: thread.frames, infos: infos)
        guard !frames.isEmpty else { continue }  // no Python code running in this thread
        out.append(ThreadStack(
          tid: thread.tid.rawValue, name: threadName(thread.tid),
          activity: ThreadActivity(running: thread.running, holdsGIL: thread.holdsGIL), frames: frames))
      } catch {
        errors.count(Self.kind(error))
      }
    }
    return out
  }

  private func threadName(_ tid: ThreadID) -> String? {
    if let n = names[tid] { return n }
    let n = ProcFS.threadName(pid, tid)
    names[tid] = n
    return n
  }

  /// After exec the interpreter may be another one, or gone.
  public func targetChanged(_ session: TraceSession) {
    statReaders.removeAll()
    names.removeAll()
    nonPython.removeAll()
    guard let found = try? InterpreterLocator.locate(pid: pid, memory: memory) else {
      interpreterLost = true
      return
    }
    interpreter = found
    interpreterLost = false
    walker = PythonWalker(layout: interpreter.layout, addresses: PythonAddresses(interpreter))
    codes = CodeObjectCache(layout: interpreter.layout, codeType: interpreter.codeType)
  }

  /// Error kinds for the summary: few and stable, no addresses.
  static func kind(_ error: PythonReadError) -> String {
    switch error {
    case .unreadableMemory: return "python memory unreadable"
    case .corruptData: return "python data inconsistent"
    case .badSize: return "python size implausible"
    case .badCookie, .unsupportedVersion, .unsupportedBuild: return "python interpreter unreadable"
    }
  }
}
