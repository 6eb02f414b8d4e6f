import SampSystem

/// One Python frame as copied while its thread was held: only what changes as
/// the program runs. Names, files and lines are resolved later from the code object.
/// 16 bytes: a chain of up to `PythonWalker.framesReserved` fits an allocation
/// malloc serves from its per-thread cache (past 1032 bytes it takes the slow path).
public struct CapturedFrame: Hashable, Sendable {
  public var code: RemoteAddress
  private var offset: Int32
  /// 3.11+: owned by a generator (never "incomplete").
  public var ownedByGenerator: Bool
  /// The first frame of a C-level eval call (every frame up to 3.10, 3.11
  /// is_entry, 3.12+ the frame above a C-stack shim); native merging splits on these.
  public var isEntry: Bool

  /// Byte offset of the current (or previous, 3.11-3.12) instruction into the
  /// bytecode (clamped to Int32: offsets past it are garbage anyway).
  public var byteOffset: Int {
    get { Int(offset) }
    set { offset = Int32(clamping: newValue) }
  }

  public init(code: RemoteAddress, byteOffset: Int, ownedByGenerator: Bool = false, isEntry: Bool = false) {
    self.code = code
    offset = Int32(clamping: byteOffset)
    self.ownedByGenerator = ownedByGenerator
    self.isEntry = isEntry
  }
}

/// One thread state as copied while held: who it is and where its frames start.
public struct ThreadState: Sendable {
  public var tstate: RemoteAddress
  /// The interpreter this thread state belongs to.
  public var interp: RemoteAddress
  /// pthread_t (glibc: the address of the thread's struct pthread).
  public var threadID: UInt64
  /// The kernel TID, nil if it could not be read.
  public var nativeTID: Int32?
  public var holdsGIL: Bool
  /// The innermost frame (NULL when the thread runs no Python code).
  public var topFrame: RemoteAddress
  /// Set when the top frame pointer could not be read.
  public var error: PythonReadError?
}

/// One thread with its frames.
public struct CapturedThread: Sendable {
  public var state: ThreadState
  /// Innermost first. Empty with `error` set when the chain could not be read.
  public var frames: [CapturedFrame]
  public var error: PythonReadError?
  public var nativeTID: Int32? { state.nativeTID }
  public var holdsGIL: Bool { state.holdsGIL }
}

/// Where the walk starts, as found by InterpreterLocator.
public struct PythonAddresses: Sendable {
  public var interpreterHead: RemoteAddress
  public var runtime: RemoteAddress?
  public var tstateCurrent: RemoteAddress?
  public var codeType: RemoteAddress?

  public init(interpreterHead: RemoteAddress, runtime: RemoteAddress? = nil, tstateCurrent: RemoteAddress? = nil,
              codeType: RemoteAddress? = nil) {
    self.interpreterHead = interpreterHead
    self.runtime = runtime
    self.tstateCurrent = tstateCurrent
    self.codeType = codeType
  }

  public init(_ info: PythonInterpreterInfo) {
    self.init(interpreterHead: info.interpreterHead, runtime: info.runtime, tstateCurrent: info.tstateCurrent,
              codeType: info.codeType)
  }
}

/// Walks interpreters -> thread states -> frames through PythonLayout fields
/// only (it branches on which fields exist, never on version numbers). Every
/// loop is bounded and cycle-checked: garbage costs a sample, never a hang.
/// A class: every sample calls it, and a struct this size (the whole layout)
/// was copied for each call made through the stack source's property.
public final class PythonWalker {
  public struct Limits: Sendable {
    public var maxInterpreters = 64
    public var maxThreads = 4096
    public var maxFrames = 4096
    public init() {}
  }

  public let layout: PythonLayout
  public let addresses: PythonAddresses
  public let limits: Limits
  /// Room for this many frames up front: 62 x 16 bytes and the array's header
  /// stay within malloc's per-thread cache.
  static let framesReserved = 62
  /// FRAME_OWNED_BY_GENERATOR: the same value in every version that has owners.
  static let ownedByGenerator = 1

  /// Bytes to read for one thread state and one frame: up to the last field used.
  private let tstateReadSize: Int
  private let frameReadSize: Int

  public init(layout: PythonLayout, addresses: PythonAddresses, limits: Limits = Limits()) {
    self.layout = layout
    self.addresses = addresses
    self.limits = limits
    let tstateFields = [layout.tstateNext, layout.tstateInterp, layout.tstateThreadID, layout.tstateFrame,
                        layout.tstateCFrame, layout.tstateCurrentFrame, layout.tstateNativeThreadID].compactMap { $0 }
    tstateReadSize = (tstateFields.max() ?? 0) + 8
    let frameFields = [layout.framePrevious, layout.frameCode, layout.frameLasti, layout.frameInstrPtr,
                       layout.frameOwner, layout.frameIsEntry].compactMap { $0 }
    frameReadSize = (frameFields.max() ?? 0) + 8
  }

  /// Every thread of every interpreter with its frames.
  public func captureThreads(_ memory: RemoteMemory) throws(PythonReadError) -> [CapturedThread] {
    var out: [CapturedThread] = []
    for state in try threadStates(memory) {
      var thread = CapturedThread(state: state, frames: [], error: state.error)
      if state.error == nil {
        do { thread.frames = try walkFrames(memory, from: state.topFrame) } catch { thread.error = error }
      }
      out.append(thread)
    }
    return out
  }

  /// Every thread state of every interpreter, without frames: enough to decide
  /// which threads to walk. Garbage in the interpreter or thread lists throws.
  public func threadStates(_ memory: RemoteMemory) throws(PythonReadError) -> [ThreadState] {
    var out: [ThreadState] = []
    var seenInterpreters = Set<RemoteAddress>()
    var seenThreads = Set<RemoteAddress>()
    let runtimeHolder = try runtimeGILHolder(memory)
    var interp = try pointer(memory, addresses.interpreterHead)
    while !interp.isNull {
      guard seenInterpreters.insert(interp).inserted else { throw .corruptData("cycle in the interpreter list") }
      guard seenInterpreters.count <= limits.maxInterpreters else {
        throw .badSize(what: "interpreter count", value: seenInterpreters.count)
      }
      let holder = try interpreterGILHolder(memory, interp) ?? runtimeHolder
      var tstate = try pointer(memory, interp + layout.interpThreadsHead)
      while !tstate.isNull {
        guard seenThreads.insert(tstate).inserted else { throw .corruptData("cycle in the thread list") }
        guard seenThreads.count <= limits.maxThreads else { throw .badSize(what: "thread count", value: seenThreads.count) }
        let (state, next) = try threadState(memory, tstate, interp: interp, holder: holder)
        out.append(state)
        tstate = next
      }
      interp = try pointer(memory, interp + layout.interpNext)
    }
    fillPthreadTIDs(memory, &out)
    return out
  }

  // MARK: threads

  private func threadState(_ memory: RemoteMemory, _ tstate: RemoteAddress, interp: RemoteAddress, holder: RemoteAddress?)
    throws(PythonReadError) -> (ThreadState, next: RemoteAddress)
  {
    let view = try self.view(memory, tstate, tstateReadSize)
    // A thread state always points back at its interpreter: anything else is a
    // torn or stale list (or a wrong layout), not a thread.
    guard view.pointer(at: layout.tstateInterp) == interp else {
      throw .corruptData("thread state does not belong to its interpreter")
    }
    var state = ThreadState(
      tstate: tstate, interp: interp, threadID: view.u64(at: layout.tstateThreadID),
      nativeTID: layout.tstateNativeThreadID.map { Int32(truncatingIfNeeded: view.i64(at: $0)) },
      holdsGIL: holder == tstate, topFrame: .null, error: nil)
    do { state.topFrame = try topFrame(memory, view) } catch { state.error = error }
    return (state, view.pointer(at: layout.tstateNext))
  }

  /// One thread state known from an earlier walk, re-read and checked: it must
  /// still belong to `known.interp` and carry the same ident, or it throws (the
  /// thread exited and the memory was reused). The TID is taken from `known`.
  public func refresh(_ known: ThreadState, holder: RemoteAddress?, _ memory: RemoteMemory)
    throws(PythonReadError) -> ThreadState
  {
    var (state, _) = try threadState(memory, known.tstate, interp: known.interp, holder: holder)
    guard state.threadID == known.threadID else { throw .corruptData("thread state reused by another thread") }
    if let tid = state.nativeTID, tid != known.nativeTID { throw .corruptData("thread state reused by another thread") }
    state.nativeTID = known.nativeTID
    return state
  }

  /// The thread state holding the GIL of `interp`, nil when the GIL is free.
  public func gilHolder(_ memory: RemoteMemory, interp: RemoteAddress) throws(PythonReadError) -> RemoteAddress? {
    if let holder = try interpreterGILHolder(memory, interp) { return holder }
    return try runtimeGILHolder(memory)
  }

  /// Before 3.11 the TID lives in glibc's struct pthread, which pthread_t points at.
  private func fillPthreadTIDs(_ memory: RemoteMemory, _ threads: inout [ThreadState]) {
    guard layout.tstateNativeThreadID == nil else { return }
    for i in threads.indices where threads[i].threadID != 0 {
      let at = RemoteAddress(threads[i].threadID) + PythonLayout.glibcPthreadTIDOffset
      if let tid = try? memory.readInt32(at: at), tid > 0 { threads[i].nativeTID = tid }
    }
  }

  /// The innermost frame: tstate->frame (<=3.10), tstate->cframe->current_frame
  /// (3.11-3.12, the cframe lives on the C stack), tstate->current_frame (3.13+).
  private func topFrame(_ memory: RemoteMemory, _ tstate: ByteView) throws(PythonReadError) -> RemoteAddress {
    if let offset = layout.tstateFrame { return tstate.pointer(at: offset) }
    if let offset = layout.tstateCFrame, let inner = layout.cframeCurrentFrame {
      let cframe = tstate.pointer(at: offset)
      return cframe.isNull ? .null : try pointer(memory, cframe + inner)
    }
    if let offset = layout.tstateCurrentFrame { return tstate.pointer(at: offset) }
    throw .corruptData("layout names no frame pointer in PyThreadState")
  }

  // MARK: GIL

  /// 3.7-3.11: _PyRuntime.ceval.gil; before 3.7: _PyThreadState_Current.
  private func runtimeGILHolder(_ memory: RemoteMemory) throws(PythonReadError) -> RemoteAddress? {
    if let runtime = addresses.runtime, let locked = layout.runtimeGILLocked, let last = layout.runtimeGILLastHolder {
      return try readInt32(memory, runtime + locked) != 0 ? try pointer(memory, runtime + last) : nil
    }
    if let runtime = addresses.runtime, let current = layout.runtimeTstateCurrent {
      return try pointer(memory, runtime + current).nonNull
    }
    if let current = addresses.tstateCurrent { return try pointer(memory, current).nonNull }
    return nil
  }

  /// 3.12+: interp->ceval.gil points at the GIL this interpreter uses.
  private func interpreterGILHolder(_ memory: RemoteMemory, _ interp: RemoteAddress) throws(PythonReadError) -> RemoteAddress? {
    guard let offset = layout.interpGILPointer else { return nil }
    let gil = try pointer(memory, interp + offset)
    guard !gil.isNull else { return nil }
    return try readInt32(memory, gil + layout.gilLocked) != 0 ? try pointer(memory, gil + layout.gilLastHolder) : nil
  }

  // MARK: frames

  /// Innermost first. Shim frames (owner >= ownerCStack, 3.12+) are skipped and
  /// mark the frame above them as an entry frame.
  /// Generic so that a capture's walk over its `PageCache` is specialized: the
  /// page lookup and field reads of every frame inline instead of dispatching.
  public func walkFrames<Memory: RemoteMemory>(_ memory: Memory, from first: RemoteAddress) throws(PythonReadError) -> [CapturedFrame] {
    var frames: [CapturedFrame] = []
    frames.reserveCapacity(Self.framesReserved)
    var address = first
    let size = frameReadSize
    // The layout's fields once, not once a frame (the loop calls out to read
    // pages, so the compiler cannot keep them in registers for us).
    let previousOffset = layout.framePrevious, codeOffset = layout.frameCode
    let tagMask = ~layout.executableTagMask
    let maxFrames = limits.maxFrames
    let ownerOffset = layout.frameOwner, cStackOwner = layout.ownerCStack
    let adaptiveOffset = layout.codeCodeAdaptive, instrOffset = layout.frameInstrPtr
    let entryOffset = layout.frameIsEntry
    let lastiOffset = layout.frameLasti, lastiScale = layout.lastiIsCodeUnits ? 2 : 1
    let interpreterFrames = layout.frameModel == .interpreterFrame
    // Brent's cycle check: compare with a frame saved at power-of-two steps; no
    // set to hash into while the target is held.
    var saved = RemoteAddress.null
    var steps = 0
    var sinceSaved = 0
    var power = 1
    while !address.isNull {
      if address == saved { throw .corruptData("cycle in the frame chain") }
      steps += 1
      guard steps <= maxFrames else { throw .badSize(what: "frame chain length", value: steps) }
      sinceSaved += 1
      if sinceSaved == power {
        saved = address
        power *= 2
        sinceSaved = 0
      }
      let view = try self.view(memory, address, size)
      address = view.pointer(at: previousOffset)
      let code = RemoteAddress(view.u64(at: codeOffset) & tagMask)
      guard interpreterFrames else {
        guard let lastiOffset else { throw .corruptData("layout has no f_lasti") }
        // Up to 3.10 every Python call is a C-level eval call of its own.
        frames.append(CapturedFrame(code: code, byteOffset: Int(view.i32(at: lastiOffset)) * lastiScale, isEntry: true))
        continue
      }
      let owner = ownerOffset.map { Int(view.u8(at: $0)) }
      if let owner, let cStackOwner, owner >= cStackOwner {
        if !frames.isEmpty { frames[frames.count - 1].isEntry = true }
        continue
      }
      guard !code.isNull, let adaptiveOffset, let instrOffset else {
        throw .corruptData("interpreter frame without code or instruction pointer")
      }
      let delta = view.pointer(at: instrOffset) - (code + adaptiveOffset)
      guard delta >= -2, delta < 1 << 30 else { throw .corruptData("instruction pointer outside its code object") }
      frames.append(CapturedFrame(
        code: code, byteOffset: Int(delta), ownedByGenerator: owner == Self.ownedByGenerator,
        isEntry: entryOffset.map { view.u8(at: $0) != 0 } ?? false))
    }
    return frames
  }

  // MARK: reads

  private func read(_ memory: RemoteMemory, _ address: RemoteAddress, _ count: Int) throws(PythonReadError) -> [UInt8] {
    do { return try memory.read(at: address, count: count) } catch { throw .unreadableMemory(address, count: count) }
  }
  private func view<Memory: RemoteMemory>(_ memory: Memory, _ address: RemoteAddress, _ count: Int) throws(PythonReadError) -> ByteView {
    do { return try memory.view(at: address, count: count) } catch { throw .unreadableMemory(address, count: count) }
  }
  private func pointer(_ memory: RemoteMemory, _ address: RemoteAddress) throws(PythonReadError) -> RemoteAddress {
    try view(memory, address, 8).pointer(at: 0)
  }
  private func readInt32(_ memory: RemoteMemory, _ address: RemoteAddress) throws(PythonReadError) -> Int32 {
    try view(memory, address, 4).i32(at: 0)
  }
}

extension RemoteAddress {
  var nonNull: RemoteAddress? { isNull ? nil : self }
}
