import SampSystem

/// Python stacks read from the interpreter's memory. While threads are held it
/// copies only the thread list and each frame's code pointer and instruction
/// offset; names, files and lines come from validated caches after resume.
public final class PythonStackSource: StackSource {
  public let interpreter: PythonInterpreterInfo
  private let config: SamplerConfig
  /// The copies made while threads are held, of memory they write themselves.
  private let memory: RemoteMemory
  /// What is read while the target runs (code objects, names, line tables, the
  /// thread list): through /proc/PID/mem on a live process, which leaves pages
  /// shared copy-on-write with other processes shared (see `ProcessMemory.Path`).
  private let objects: RemoteMemory
  private let walker: PythonWalker
  private let codes: CodeObjectCache
  private let registry: ThreadRegistry
  /// Scheduler state of each thread, read before stopping (a stopped thread is never "R").
  private var running = ThreadLook()
  /// Threads that had no Python thread state at the last capture (native worker
  /// threads): stopping them would cost hold time for nothing.
  private var nonPython: Set<ThreadID> = []
  /// Set when the target exec'd: this interpreter was the old program's
  /// (`FollowingStackSource` looks for the new program's and replaces this source).
  private var interpreterLost = false
  /// --native: native stacks captured alongside, merged with the Python frames.
  private let native: NativeStacks?
  private let merge: NativeMerge
  /// Names from the threading module, read after resume and refreshed about once a second.
  private var threadNames: PythonThreadNames
  /// Thread states by TID from the last full walk, so a sample that holds only
  /// a few threads reads just their states while they are held (a pool of 99
  /// idle threads costs nothing then). Refreshed while the target runs.
  private var knownStates: [ThreadID: ThreadState] = [:]
  private var knownStatesTime: UInt64 = 0
  /// The thread-state and frame pages of the recent captures, and the threads
  /// the last one held: the next capture of the same threads reads them again
  /// in one syscall (the GIL moving to another thread would make them a
  /// waste). Code objects' headers stay out: each page costs hold time, and
  /// the code cache checks them after resume, rarely. Worked out after resume.
  private var prefetch = PrefetchPlan()
  /// Frame pages of the last captures, most recent first, with the capture
  /// that last used each: a stack that grows and shrinks between samples finds
  /// its pages in the prefetch instead of paying a read each while held.
  private var recentPages: [(page: UInt64, lastUsed: Int)] = []
  private var captures = 0
  /// Captures in a row that found every page they read in the prefetch; past
  /// `cleanCapturesToWalkAfterResume` the walk leaves the hold. A stack that
  /// moves to new pages often (a retake costs a second stop) never gets there.
  private var cleanCaptures = 0
  static let cleanCapturesToWalkAfterResume = 8
  /// A stopped thread can be caught where its interpreter is half-way through
  /// linking a frame (3.12 points the thread at a new C-level frame record a
  /// few instructions before filling it in): such a sample is taken again a
  /// moment later, read while held, rather than counted as an error; at most
  /// once a second, so a chain that stays unreadable costs no second stop per
  /// sample.
  private var lastMidChangeRetake: UInt64?
  /// The next capture is a retake (of a copy that fell short, or of a chain
  /// caught mid-change): it walks while held and keeps what it finds.
  private var nextCaptureIsRetake = false
  static let midChangeRetakeGapNanos: UInt64 = 1_000_000_000
  /// How many captures a page stays in the prefetch after its last use.
  static let pageMemory = 16
  private var lastStopped: [ThreadID] = []
  /// The pages one capture copies, served to its resolve; one object reset per
  /// capture (a capture is always resolved before the next begins).
  private let pages: PageCache
  /// Threads of recent samples waiting to be named together (at most
  /// `config.namingBatch` samples; Python-only): naming is cold code after
  /// every sleep, and a batch runs it cold once. Only a sample whose code
  /// objects are all in the cache waits; a new one is read at once, while its
  /// thread surely still holds it.
  private var unnamed: [Pending] = []
  private var unnamedSamples = 0
  /// When the first of them was taken: each waited only because every code
  /// object it met was trusted then (checked within `recheckNanos`), and no
  /// check runs until they are named, so they are named as of that moment,
  /// without reading the target again: a batch named after the target has
  /// exited (its last samples) or exec'd loses nothing.
  private var unnamedSince: UInt64 = 0
  /// Set by `prepareCapture` for the capture that follows it: the page cache
  /// is empty already.
  private var preparedForCapture = false
  /// The walk after resume of the copy `prepareCapture` armed for the stop.
  private var stopCopyWalk: PendingStacks?
  /// The copy run at the stop (`StopCopy`); nil where the memory has none.
  private lazy var stopCopy: StopCopy? = memory.makeStopCopy()

  public init(pid: ProcessID, interpreter: PythonInterpreterInfo, memory: RemoteMemory,
              objects: RemoteMemory? = nil, config: SamplerConfig) {
    self.interpreter = interpreter
    self.memory = memory
    self.objects = objects ?? memory
    pages = PageCache(memory)
    self.config = config
    walker = PythonWalker(layout: interpreter.layout, addresses: PythonAddresses(interpreter))
    codes = CodeObjectCache(layout: interpreter.layout, codeType: interpreter.codeType)
    registry = ThreadRegistry(pid: pid)
    native = config.native ? NativeStacks(pid: pid) : nil
    merge = Self.merger(for: interpreter)
    threadNames = PythonThreadNames(layout: interpreter.layout, interpreter: interpreter)
  }

  static func merger(for interpreter: PythonInterpreterInfo) -> NativeMerge {
    let module = interpreter.binaryPath.split(separator: "/").last.map(String.init) ?? interpreter.binaryPath
    return NativeMerge(interpreterModules: [module], pythonMajor: interpreter.version.major)
  }

  public var summary: String { "Python \(interpreter.version)" + (native != nil ? " with native frames" : "") }
  /// Python frames are memory; native ones need registers.
  public var readsLateThreads: Bool { native == nil }
  public var loadingNanos: UInt64 { native?.loadingNanos ?? 0 }

  /// Only running threads can change their Python stack: an idle one is blocked
  /// in the kernel, so it is read without being stopped. Threads that had no
  /// Python thread state last time are not stopped either.
  public func threadsToStop(_ session: TraceSession) -> StopPlan {
    let traced = session.runningThreads
    let flags = registry.look(at: traced)
    running = ThreadLook(threads: traced, running: flags)
    var busy: [ThreadID] = []
    for (tid, isRunning) in zip(traced, flags) where isRunning { busy.append(tid) }
    registry.keepOnly(traced)
    if config.nonblocking { return StopPlan([]) }
    refreshKnownStates(wanted: busy)
    // Native frames need registers, so --native --idle holds idle threads too.
    let holdIdle = native != nil && config.includeIdle
    var chosen: [ThreadID] = []
    chosen.reserveCapacity(traced.count)
    for tid in holdIdle ? traced : busy where !nonPython.contains(tid) { chosen.append(tid) }
    // The sampler only captures when something is stopped; with --idle every
    // sample must be taken even when all threads sleep, so hold one.
    if chosen.isEmpty, config.includeIdle, let first = traced.first { return StopPlan([first]) }
    return StopPlan(chosen, wait: registry.stopWait(for: chosen))
  }

  /// A full walk of the thread list, done while the target runs: at most every
  /// five seconds, or at once when a running thread has no known state. Rarely
  /// is enough: every known state is checked while held (`PythonWalker.refresh`),
  /// and one that no longer matches its thread makes that capture a full walk.
  private func refreshKnownStates(wanted: [ThreadID]) {
    let now = Monotonic.now()
    let stale = now &- knownStatesTime > 5_000_000_000
    let missing = wanted.contains { knownStates[$0] == nil && !nonPython.contains($0) }
    guard stale || missing, !interpreterLost else { return }
    knownStatesTime = now
    guard let states = try? walker.threadStates(objects) else {
      knownStates.removeAll()
      return
    }
    remember(states, at: now)
    markNonPython(states)
  }

  /// The threads the kernel lists that a full walk found no Python state for.
  /// Also after the walks made while the target runs, so a thread marked once
  /// is looked at again within five seconds (a native thread may enter Python
  /// later). A walk that found no state at all (an interpreter still starting
  /// after an exec, or finishing) marks none: it would leave every thread out.
  private func markNonPython(_ walked: [ThreadState]) {
    let python = walked.compactMap { $0.nativeTID.map { ThreadID($0) } }
    nonPython = python.isEmpty ? [] : Set(running.threads).subtracting(python)
  }

  /// The states of a full walk, by TID, for the samples that hold only a few threads.
  private func remember(_ states: [ThreadState], at now: UInt64) {
    knownStates.removeAll(keepingCapacity: true)
    for state in states { if let tid = state.nativeTID { knownStates[ThreadID(tid)] = state } }
    knownStatesTime = now
  }

  /// While held: the states of just the held threads, when every one is known;
  /// nil when a full walk is needed (--idle, an unknown or reused state). The
  /// GIL's holder costs a read of its own, so it is read only for --gil.
  private func heldStates(_ stopped: [ThreadID], _ memory: RemoteMemory) -> [ThreadState]? {
    guard !config.includeIdle, !stopped.isEmpty else { return nil }
    var out: [ThreadState] = []
    out.reserveCapacity(stopped.count)
    var holders: [RemoteAddress: RemoteAddress?] = [:]
    for tid in stopped {
      if nonPython.contains(tid) { continue }
      guard let known = knownStates[tid] else { return nil }
      if config.onlyGIL, holders[known.interp] == nil {
        guard let holder = try? walker.gilHolder(memory, interp: known.interp) else { return nil }
        holders[known.interp] = .some(holder)
      }
      guard let state = try? walker.refresh(known, holder: holders[known.interp] ?? nil, memory) else { return nil }
      out.append(state)
    }
    return out
  }

  /// While held: the thread list and the frame chains of the threads kept. Idle
  /// threads are not stopped but are read now too: a thread waiting for the GIL
  /// cannot get it while its holder is held, but could right after resume.
  /// When the last captures needed nothing but the pages prefetched, the hold
  /// only copies them and the walk runs after resume over that copy; if the
  /// copy falls short after all, resolve asks the sampler to take the sample again.
  /// That copy is usually made by the session at the stop (`prepareCapture`),
  /// and then this only takes it, with the threads already running.
  public func capture(_ session: TraceSession, stopped: [ThreadID], errors: inout SampleErrors) -> PendingStacks {
    let prepared = preparedForCapture
    let walkOfCopy = stopCopyWalk
    preparedForCapture = false
    stopCopyWalk = nil
    if interpreterLost {
      errors.count("python interpreter gone after exec")
      return .empty
    }
    // The usual sample: the prefetch was copied the moment the threads
    // stopped, and they run again already.
    if let copy = stopCopy, copy.state == .copied || copy.state == .failed {
      guard let walk = walkOfCopy, let copied = copy.take() else {
        // Read short (a page gone) with the threads running again: nothing
        // still is left to read, so the sample is taken again, read while held.
        cleanCaptures = 0
        nextCaptureIsRetake = true
        return PendingStacks { _ in nil }
      }
      pages.adopt(prefetch, copied)
      pages.freeze()
      return walk
    }
    // Not copied at the stop (a thread late, or not a bare copy): read while held.
    stopCopy?.disarm()
    if !prepared { pages.reset() }
    let isRetake = nextCaptureIsRetake
    nextCaptureIsRetake = false
    let copied = stopped == lastStopped && pages.prefetch(prefetch)
    if copied, native == nil, !stopped.isEmpty, cleanCaptures >= Self.cleanCapturesToWalkAfterResume {
      pages.freeze()
      return walkAfterResume(stopped, isRetake: isRetake)
    }
    var walkErrors = SampleErrors()
    let walk = walkThreads(stopped, &walkErrors)
    if !isRetake, let walk, caughtMidChange(walk, stopped) { return PendingStacks { [self] _ in askRetake() } }
    errors.add(walkErrors)
    guard let walk else { return .empty }
    return PendingStacks { [self] errors in finish(walk, stopped, copied: copied, &errors) }
  }

  /// While the interrupts land: empties the page cache and, when the coming
  /// capture can be a bare copy (the same threads as last time, and the last
  /// captures found all they needed in the prefetch), sets up its walk.
  public func prepareCapture(_ planned: [ThreadID]) -> StopCopy? {
    pages.reset()
    preparedForCapture = true
    let bareCopy = !interpreterLost && native == nil && !planned.isEmpty && !nextCaptureIsRetake
      && planned == lastStopped && cleanCaptures >= Self.cleanCapturesToWalkAfterResume && prefetch.pageCount > 0
    guard bareCopy, let copy = stopCopy, copy.arm(prefetch.ranges) else { return nil }
    stopCopyWalk = walkAfterResume(planned, isRetake: false)
    return copy
  }

  /// The walk over a bare copy, after resume; a copy that fell short asks for
  /// a retake, which reads while held.
  private func walkAfterResume(_ stopped: [ThreadID], isRetake: Bool) -> PendingStacks {
    PendingStacks { [self] errors in
      var walkErrors = SampleErrors()
      let walk = walkThreads(stopped, &walkErrors)
      if pages.missedCopy {
        cleanCaptures = 0
        nextCaptureIsRetake = true
        return nil
      }
      if !isRetake, let walk, caughtMidChange(walk, stopped) { return askRetake() }
      errors.add(walkErrors)
      return walk.map { finish($0, stopped, copied: true, &errors) } ?? []
    }
  }

  /// Whether a thread's frame chain made no sense (the interpreter was caught
  /// mid-change, see `lastMidChangeRetake`) and a retake is due. The clock is
  /// read only then: this runs while the threads are held.
  private func caughtMidChange(_ walk: Walk, _ stopped: [ThreadID]) -> Bool {
    guard !stopped.isEmpty else { return false }
    let garbled = walk.kept.contains { pending in
      switch pending.error {
      case .corruptData, .badSize, .unreadableMemory: return true
      default: return false
      }
    }
    guard garbled else { return false }
    return lastMidChangeRetake.map { Monotonic.now() &- $0 >= Self.midChangeRetakeGapNanos } ?? true
  }

  /// Asks the sampler to take this sample again; the retake walks while held.
  private func askRetake() -> [ThreadStack]? {
    lastMidChangeRetake = Monotonic.now()
    nextCaptureIsRetake = true
    cleanCaptures = 0
    return nil
  }

  /// The states and frame chains of one capture, and the full walk if one was made.
  private struct Walk {
    var kept: [Pending]
    var walked: [ThreadState]?
  }

  /// Reads the held threads' states and frames through `pages`; nil (counted)
  /// when the thread list itself cannot be read.
  private func walkThreads(_ stopped: [ThreadID], _ errors: inout SampleErrors) -> Walk? {
    var states: [ThreadState]
    // Whether states say who holds the GIL (a full walk always reads it).
    var gilKnown = true
    // A full walk, noted after resume (the bookkeeping need not hold the threads).
    var walked: [ThreadState]?
    if let few = heldStates(stopped, pages) {
      states = few
      gilKnown = config.onlyGIL
    } else {
      do {
        states = try walker.threadStates(pages)
      } catch {
        errors.count(Self.kind(error))
        return nil
      }
      walked = states
    }
    var kept: [Pending] = []
    let held: Set<ThreadID> = native == nil ? [] : Set(stopped)  // only --native asks
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
      var pending = Pending(tid: tid, ident: state.threadID, running: isRunning,
                            holdsGIL: gilKnown ? state.holdsGIL : nil, frames: [], error: state.error)
      if pending.error == nil {
        do { pending.frames = try walker.walkFrames(pages, from: state.topFrame) } catch { pending.error = error }
      }
      if let native, held.contains(tid) {
        let slot = kept.count
        do {
          try native.capture(tid, slot: slot)
          pending.nativeSlot = slot
        } catch {
          errors.count("native capture failed")
        }
      }
      kept.append(pending)
    }
    return Walk(kept: kept, walked: walked)
  }

  /// After resume: the bookkeeping a capture leaves (nothing the hold does not
  /// need happens inside it), then the names, now or with a later batch's.
  private func finish(_ walk: Walk, _ stopped: [ThreadID], copied: Bool, _ errors: inout SampleErrors) -> [ThreadStack] {
    pages.dropCopies()
    lastStopped = stopped
    if let walked = walk.walked {
      remember(walked, at: Monotonic.now())
      markNonPython(walked)
    }
    cleanCaptures = copied && pages.pagesReadOnDemand == 0 ? min(cleanCaptures + 1, 1 << 20) : 0
    if let changed = rememberFramePages(pages.usedPages) { prefetch = PrefetchPlan(changed) }
    unnamed += walk.kept
    unnamedSamples += 1
    // --native stacks are named from registers copied for this capture only.
    let now = Monotonic.now()
    if native == nil, config.namingBatch > 1, allCodesTrusted(walk.kept, at: now) {
      if unnamed.isEmpty { unnamedSince = now }
      unnamed += walk.kept
      unnamedSamples += 1
      return unnamedSamples < config.namingBatch ? [] : drain(&errors)
    }
    // A code object new or due for a check: the batch first, as of its time,
    // then this sample, checked now.
    let earlier = drain(&errors)
    return earlier + resolve(walk.kept, at: now, &errors)
  }

  public func drain(_ errors: inout SampleErrors) -> [ThreadStack] {
    let stacks = unnamed.isEmpty ? [] : resolve(unnamed, at: unnamedSince, &errors)
    unnamed.removeAll(keepingCapacity: true)
    unnamedSamples = 0
    return stacks
  }

  /// One thread between capture and resolve.
  struct Pending {
    var tid: ThreadID
    /// The Python thread ident (pthread_t), the key of threading._active.
    var ident: UInt64
    var running: Bool
    /// nil when not read this sample.
    var holdsGIL: Bool?
    var frames: [CapturedFrame]
    var error: PythonReadError?
    /// --native: where this thread's registers and stack were copied.
    var nativeSlot: Int?
  }

  /// After resume, for one sample's threads or a batch's: code objects looked
  /// up in one go (trusted as of `time`, when the samples were taken), frames
  /// named by identity.
  private func resolve(_ threads: [Pending], at time: UInt64, _ errors: inout SampleErrors) -> [ThreadStack] {
    let infos = codes.lookup(Self.codeAddresses(threads), memory: objects, now: time)
    let pythonNames = threadNames.names(objects, idents: threads.map(\.ident), now: Monotonic.now())
    var out: [ThreadStack] = []
    for thread in threads {
      if let error = thread.error {
        errors.count(Self.kind(error))
        continue
      }
      do {
        var activity = ThreadActivity(running: thread.running, holdsGIL: thread.holdsGIL)
        let name = pythonNames[thread.ident] ?? registry.name(thread.tid)
        if let native, let slot = thread.nativeSlot {
          let groups = try evalCallGroups(thread.frames, infos: infos)
          guard let nativeFrames = try? native.frames(slot: slot) else {
            errors.count("native unwind failed")
            continue
          }
          let merged = merge.merge(native: nativeFrames, python: groups)
          if case .mismatch = merged.outcome { errors.count("native/Python merge mismatch") }
          activity.waitingForGIL = merge.isWaitingForGIL(nativeFrames)
          out.append(ThreadStack(tid: thread.tid.rawValue, name: name, activity: activity, frames: merged.frames))
        } else {
          // Identities, not frames: the sampler labels them from a memo, and
          // building fifty frames a sample cost more than the rest of resolve.
          // Empty when the thread runs no Python code (a C thread holding a
          // thread state, the interpreter's own start or end): kept, so the
          // sampler counts it and a dump shows it.
          let identities = try codes.identities(for: thread.frames, infos: infos)
          out.append(ThreadStack(tid: thread.tid.rawValue, name: name, activity: activity, identities: identities,
                                 catalog: codes))
        }
      } catch {
        errors.count(Self.kind(error))
      }
    }
    return out
  }

  /// This capture's frame pages first, then those used by the last
  /// `pageMemory` captures, at most `PageCache.maxPrefetch`; nil when that list
  /// is the one the prefetch plan was made from (a steady stack: no plan to
  /// sort and merge again).
  private func rememberFramePages(_ used: [UInt64]) -> [UInt64]? {
    captures += 1
    let now = captures
    var kept: [(page: UInt64, lastUsed: Int)] = []
    kept.reserveCapacity(used.count + recentPages.count)
    for page in used { kept.append((page, now)) }
    for old in recentPages where now - old.lastUsed < Self.pageMemory && !used.contains(old.page) {
      kept.append(old)
    }
    if kept.count > PageCache.maxPrefetch { kept.removeLast(kept.count - PageCache.maxPrefetch) }
    let unchanged = kept.count == recentPages.count && zip(kept, recentPages).allSatisfy { $0.page == $1.page }
    recentPages = kept
    return unchanged ? nil : kept.map(\.page)
  }

  /// Whether the cache trusts every code object of these chains now (their
  /// naming can then wait for the batch, and needs no read of the target):
  /// each distinct one looked up once (the first 16 kept in mind), not every
  /// frame: a deep stack has a few code objects, recursion one. No list of
  /// addresses is built for it: this runs every sample.
  private func allCodesTrusted(_ kept: [Pending], at now: UInt64) -> Bool {
    var checked: [RemoteAddress] = []
    checked.reserveCapacity(16)
    for thread in kept {
      var last = RemoteAddress.null
      for frame in thread.frames where frame.code != last {
        last = frame.code
        if checked.contains(frame.code) { continue }
        guard codes.trusts(frame.code, at: now) else { return false }
        if checked.count < 16 { checked.append(frame.code) }
      }
    }
    return true
  }

  /// The code object of every frame of these chains, in order.
  private static func codeAddresses(_ threads: [Pending]) -> [RemoteAddress] {
    var all: [RemoteAddress] = []
    all.reserveCapacity(threads.reduce(0) { $0 + $1.frames.count })
    for thread in threads { for frame in thread.frames { all.append(frame.code) } }
    return all
  }

  /// The Python frames split by the C-level eval call running them, root first:
  /// a group starts at each entry frame (every frame up to 3.10).
  private func evalCallGroups(_ captured: [CapturedFrame], infos: CodeLookup)
    throws(PythonReadError) -> [[Frame]]
  {
    var groups: [[CapturedFrame]] = []
    for frame in captured.reversed() {
      if frame.isEntry || groups.isEmpty { groups.append([]) }
      groups[groups.count - 1].append(frame)
    }
    var out: [[Frame]] = []
    out.reserveCapacity(groups.count)
    // codes.frames takes innermost-first chains, as captured.
    for group in groups { out.append(try codes.frames(for: group.reversed(), infos: infos)) }
    return out
  }

  /// After exec this interpreter is the old program's: nothing of it is read
  /// again (`FollowingStackSource` finds the new program's interpreter, if
  /// any, and samples it with a source of its own).
  public func targetChanged(_ session: TraceSession) {
    unnamed.removeAll()  // drained by the sampler first; never named with the new program's caches
    unnamedSamples = 0
    registry.removeAll()
    nonPython.removeAll()
    knownStates.removeAll()
    recentPages.removeAll()  // the old program's addresses
    prefetch = PrefetchPlan()
    cleanCaptures = 0
    interpreterLost = true
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
