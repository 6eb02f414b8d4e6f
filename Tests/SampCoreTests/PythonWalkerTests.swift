import Testing
import SampSystem
@testable import SampCore

/// A target's memory as a few byte images at fixed addresses; any other read fails.
private final class FakeMemory: RemoteMemory {
  var regions: [UInt64: [UInt8]] = [:]
  private(set) var reads = 0

  func read(at address: RemoteAddress, count: Int) throws(SystemError) -> [UInt8] {
    reads += 1
    guard count >= 0 else { throw .unreadableMemory(address, count: count) }
    for (start, bytes) in regions where address.rawValue >= start {
      let offset = address.rawValue - start
      guard offset < UInt64(bytes.count), UInt64(count) <= UInt64(bytes.count) - offset else { continue }
      return Array(bytes[Int(offset)..<Int(offset) + count])
    }
    throw .unreadableMemory(address, count: count)
  }

  func put(_ address: UInt64, _ bytes: [UInt8]) { regions[address] = bytes }

  /// Writes a little-endian value into the region that starts at `base`.
  func set(_ base: UInt64, _ offset: Int, _ value: UInt64, width: Int = 8) {
    for i in 0..<width { regions[base]![offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
  }
}

/// Every address readable, every byte a hash of its address: pointers lead
/// anywhere and lengths are huge, so only the walker's bounds end a walk.
private final class GarbageMemory: RemoteMemory {
  let seed: UInt64
  init(seed: UInt64) { self.seed = seed }
  func read(at address: RemoteAddress, count: Int) throws(SystemError) -> [UInt8] {
    guard count >= 0, count <= 1 << 20 else { throw .unreadableMemory(address, count: count) }
    return (0..<count).map { i in
      var x = (address.rawValue &+ UInt64(i)) ^ seed
      x = (x ^ (x >> 33)) &* 0xff51afd7ed558ccd
      x = (x ^ (x >> 33)) &* 0xc4ceb9fe1a85ec53
      return UInt8(truncatingIfNeeded: x ^ (x >> 33))
    }
  }
}

/// A synthetic CPython 3.12 process image: one interpreter, one thread, frames
/// `outer -> (C-stack shim) -> inner`, laid out with the generated 3.12 layout.
private struct Image312 {
  let layout = PythonLayout.forVersion(major: 3, minor: 12)!
  let memory = FakeMemory()
  let runtime: UInt64 = 0x10_0000
  let interp: UInt64 = 0x20_0000
  let gil: UInt64 = 0x28_0000
  let tstate: UInt64 = 0x30_0000
  let cframe: UInt64 = 0x38_0000
  let innerFrame: UInt64 = 0x40_0000
  let shimFrame: UInt64 = 0x40_1000
  let outerFrame: UInt64 = 0x40_2000
  let codeType: UInt64 = 0x90_0000
  let innerCode: UInt64 = 0x50_0000
  let outerCode: UInt64 = 0x51_0000
  let shimCode: UInt64 = 0x52_0000

  var addresses: PythonAddresses {
    PythonAddresses(interpreterHead: RemoteAddress(runtime) + layout.runtimeInterpretersHead!,
                    runtime: RemoteAddress(runtime), codeType: RemoteAddress(codeType))
  }

  init() {
    let l = layout
    memory.put(runtime, zeros(4096))
    memory.set(runtime, l.runtimeInterpretersHead!, interp)
    memory.put(interp, zeros(4096))
    memory.set(interp, l.interpThreadsHead, tstate)
    memory.set(interp, l.interpGILPointer!, gil)
    memory.put(gil, zeros(256))
    memory.set(gil, l.gilLocked, 1, width: 4)
    memory.set(gil, l.gilLastHolder, tstate)
    memory.put(tstate, zeros(512))
    memory.set(tstate, l.tstateInterp, interp)
    memory.set(tstate, l.tstateThreadID, 0x7f00_0000_1000)
    memory.set(tstate, l.tstateNativeThreadID!, 4242)
    memory.set(tstate, l.tstateCFrame!, cframe)
    memory.put(cframe, zeros(64))
    memory.set(cframe, l.cframeCurrentFrame!, innerFrame)
    memory.put(codeType, zeros(512))

    code(innerCode, name: "inner", qualname: "Engine.inner", file: "/srv/app/engine.py", firstLine: 10,
         // one entry of 8 code units (16 bytes), "no column" form, line delta +2
         table: [0x80 | 13 << 3 | 7, 0x04])
    code(outerCode, name: "outer", qualname: "outer", file: "/srv/app/main.py", firstLine: 3,
         table: [0x80 | 13 << 3 | 7, 0x08])
    code(shimCode, name: "<interpreter trampoline>", qualname: "<interpreter trampoline>", file: "<shim>",
         firstLine: 0, table: [])
    frame(innerFrame, code: innerCode, instrOffset: 4, previous: shimFrame, owner: 0)
    frame(shimFrame, code: shimCode, instrOffset: 0, previous: outerFrame, owner: 3)
    frame(outerFrame, code: outerCode, instrOffset: 6, previous: 0, owner: 0)
  }

  func zeros(_ n: Int) -> [UInt8] { [UInt8](repeating: 0, count: n) }

  func frame(_ at: UInt64, code: UInt64, instrOffset: Int, previous: UInt64, owner: UInt8) {
    let l = layout
    memory.put(at, zeros(128))
    memory.set(at, l.frameCode, code)
    memory.set(at, l.framePrevious, previous)
    memory.set(at, l.frameInstrPtr!, code + UInt64(l.codeCodeAdaptive!) + UInt64(instrOffset))
    memory.set(at, l.frameOwner!, UInt64(owner), width: 1)
  }

  func code(_ at: UInt64, name: String, qualname: String, file: String, firstLine: Int, table: [UInt8]) {
    let l = layout
    memory.put(at, zeros(4096))  // a whole page, as the held copy reads it
    memory.set(at, l.objectType, codeType)
    memory.set(at, l.codeName, string(at + 0x1000, name))
    memory.set(at, l.codeQualname!, string(at + 0x2000, qualname))
    memory.set(at, l.codeFilename, string(at + 0x3000, file))
    memory.set(at, l.codeFirstLineNo, UInt64(firstLine), width: 4)
    memory.set(at, l.codeFirstTraceable!, 0, width: 4)
    memory.set(at, l.codeLineTable, bytes(at + 0x4000, table))
  }

  /// A compact ASCII str object.
  @discardableResult
  func string(_ at: UInt64, _ text: String) -> UInt64 {
    let l = layout
    let utf8 = Array(text.utf8)
    memory.put(at, zeros(l.unicodeASCIIData) + utf8 + [0])
    memory.set(at, l.unicodeLength, UInt64(utf8.count))
    let state = 1 << l.unicodeKindShift | 1 << l.unicodeCompactBit | 1 << l.unicodeASCIIBit
    memory.set(at, l.unicodeState, UInt64(state), width: 4)
    return at
  }

  @discardableResult
  func bytes(_ at: UInt64, _ data: [UInt8]) -> UInt64 {
    memory.put(at, zeros(layout.bytesData) + data + [0])
    memory.set(at, layout.varSize, UInt64(data.count))
    return at
  }

  var walker: PythonWalker { PythonWalker(layout: layout, addresses: addresses) }

  /// Capture then resolve, as the stack source does.
  func stacks(_ cache: CodeObjectCache? = nil) throws -> [[Frame]] {
    let cache = cache ?? CodeObjectCache(layout: layout, codeType: RemoteAddress(codeType))
    let threads = try walker.captureThreads(memory)
    let infos = cache.lookup(threads.flatMap { $0.frames.map(\.code) }, memory: memory)
    return try threads.map { t in
      if let e = t.error { throw e }
      return try cache.frames(for: t.frames, infos: infos)
    }
  }
}

@Suite struct PythonWalkerTests {
  /// A typical chain fits an allocation malloc serves from its per-thread cache.
  @Test func capturedFrameIsSixteenBytes() {
    #expect(MemoryLayout<CapturedFrame>.stride == 16)
    #expect(PythonWalker.framesReserved * 16 + 32 <= 1032)
    #expect(CapturedFrame(code: .null, byteOffset: 1 << 40).byteOffset == Int(Int32.max), "clamped, never a trap")
  }

  @Test func walksSynthetic312Image() throws {
    let image = Image312()
    let threads = try image.walker.captureThreads(image.memory)
    #expect(threads.count == 1)
    let thread = try #require(threads.first)
    #expect(thread.nativeTID == 4242)
    #expect(thread.holdsGIL)
    #expect(thread.error == nil)
    // The shim is skipped and marks the frame run by its C-level call as an entry.
    #expect(thread.frames.map(\.code.rawValue) == [image.innerCode, image.outerCode])
    #expect(thread.frames.map(\.isEntry) == [true, false])

    let stacks = try image.stacks()
    let labeler = FrameLabeler()
    #expect(stacks.first?.map { labeler.label($0) } == ["outer (main.py:7)", "Engine.inner (engine.py:12)"])
  }

  @Test func gilHolderNeedsTheLockTaken() throws {
    let image = Image312()
    image.memory.set(image.gil, image.layout.gilLocked, 0, width: 4)
    let threads = try image.walker.captureThreads(image.memory)
    #expect(threads.first?.holdsGIL == false)
  }

  @Test func cycleInFrameChainCostsTheThreadNotAHang() throws {
    let image = Image312()
    image.memory.set(image.outerFrame, image.layout.framePrevious, image.innerFrame)
    let threads = try image.walker.captureThreads(image.memory)
    #expect(threads.count == 1)
    guard case .corruptData = threads.first?.error else {
      Issue.record("expected a corrupt-data error, got \(String(describing: threads.first?.error))")
      return
    }
  }

  @Test func pointerIntoNowhereIsAnUnreadableError() throws {
    let image = Image312()
    image.memory.set(image.outerFrame, image.layout.framePrevious, 0xdead_0000)
    let threads = try image.walker.captureThreads(image.memory)
    guard case .unreadableMemory(let address, _) = threads.first?.error else {
      Issue.record("expected an unreadable-memory error, got \(String(describing: threads.first?.error))")
      return
    }
    #expect(address == RemoteAddress(0xdead_0000))
    #expect(threads.first?.frames.isEmpty == true)
  }

  @Test func cycleInThreadListThrows() {
    let image = Image312()
    image.memory.set(image.tstate, image.layout.tstateNext, image.tstate)
    #expect(throws: PythonReadError.self) { try image.walker.captureThreads(image.memory) }
  }

  @Test func threadStateOfAnotherInterpreterIsCorrupt() {
    let image = Image312()
    image.memory.set(image.tstate, image.layout.tstateInterp, 0x1234_5678)
    #expect(throws: PythonReadError.self) { try image.walker.captureThreads(image.memory) }
  }

  @Test func cycleInInterpreterListThrows() {
    let image = Image312()
    image.memory.set(image.interp, image.layout.interpNext, image.interp)
    #expect(throws: PythonReadError.self) { try image.walker.captureThreads(image.memory) }
  }

  @Test func longChainStopsAtTheFrameLimit() throws {
    let image = Image312()
    // 300 frames, each pointing at the next; the limit is 100.
    let base: UInt64 = 0x60_0000
    for i in 0..<300 {
      let at = base + UInt64(i) * 0x100
      image.frame(at, code: image.outerCode, instrOffset: 0, previous: i == 299 ? 0 : at + 0x100, owner: 0)
    }
    image.memory.set(image.cframe, image.layout.cframeCurrentFrame!, base)
    var limits = PythonWalker.Limits()
    limits.maxFrames = 100
    let walker = PythonWalker(layout: image.layout, addresses: image.addresses, limits: limits)
    let threads = try walker.captureThreads(image.memory)
    #expect(threads.first?.error == .badSize(what: "frame chain length", value: 101))
    #expect(image.memory.reads < 200)
  }

  @Test func hugeStringLengthIsAnErrorNotAnAllocation() throws {
    let image = Image312()
    let l = image.layout
    // Point inner's qualname at a str claiming 2^60 characters.
    let bad = image.string(0x70_0000, "x")
    image.memory.set(bad, l.unicodeLength, 1 << 60)
    image.memory.set(image.innerCode, l.codeQualname!, bad)
    #expect(throws: PythonReadError.self) { try image.stacks() }
  }

  @Test func hugeLineTableIsAnError() throws {
    let image = Image312()
    let table = image.bytes(0x71_0000, [1, 2])
    image.memory.set(table, image.layout.varSize, UInt64(Int64.max))
    image.memory.set(image.innerCode, image.layout.codeLineTable, table)
    #expect(throws: PythonReadError.self) { try image.stacks() }
  }

  @Test func instructionPointerOutsideItsCodeIsAnError() throws {
    let image = Image312()
    image.memory.set(image.innerFrame, image.layout.frameInstrPtr!, 0x10)
    let threads = try image.walker.captureThreads(image.memory)
    #expect(threads.first?.error != nil)
  }

  @Test func incompleteFramesAreLeftOut() throws {
    let image = Image312()
    // inner has not reached its first traceable instruction (byte 8 > offset 4).
    image.memory.set(image.innerCode, image.layout.codeFirstTraceable!, 4, width: 4)
    let stacks = try image.stacks()
    #expect(stacks.first?.compactMap(\.name) == ["outer"])
  }

  /// Checked on every use (a zero period), another code object at a known
  /// address is decoded anew, and something that is not a code object is an error.
  @Test func reusedCodeAddressIsNeverMislabelled() throws {
    let image = Image312()
    let cache = CodeObjectCache(layout: image.layout, codeType: RemoteAddress(image.codeType), recheckNanos: 0)
    #expect(try image.stacks(cache).first?.compactMap(\.name) == ["outer", "Engine.inner"])
    // The inner code object is freed and another one allocated at its address.
    image.code(image.innerCode, name: "other", qualname: "Other.run", file: "/srv/app/other.py", firstLine: 40,
               table: [0x80 | 13 << 3 | 7, 0x00])
    image.string(image.innerCode + 0x2000, "Other.run")
    #expect(try image.stacks(cache).first?.compactMap(\.name) == ["outer", "Other.run"])
    // Freed and reused as something that is not a code object: an error, not a stale label.
    image.memory.set(image.innerCode, image.layout.objectType, 0x1234)
    #expect(throws: PythonReadError.self) { try image.stacks(cache) }
    #expect(cache.count == 1)
  }

  @Test func cacheIsReusedWhileTheHeaderIsUnchanged() throws {
    let image = Image312()
    let cache = CodeObjectCache(layout: image.layout, codeType: RemoteAddress(image.codeType), recheckNanos: 0)
    for _ in 0..<5 { _ = try image.stacks(cache) }
    #expect(cache.decodes == 2)
    #expect(cache.hits == 8)
    #expect(cache.checks == 10)
  }

  /// Known code objects cost no read until their check is due; then every
  /// code object of the sample is checked in one batch, and a header showing
  /// another object there re-decodes it.
  @Test func knownCodeObjectsAreCheckedOnlyWhenDue() throws {
    let image = Image312()
    let period: UInt64 = 100_000_000
    let cache = CodeObjectCache(layout: image.layout, codeType: RemoteAddress(image.codeType), recheckNanos: period)
    let inner = RemoteAddress(image.innerCode), outer = RemoteAddress(image.outerCode)
    let codes = [inner, outer, inner]
    let start: UInt64 = 1_000_000_000
    let first = cache.lookup(codes, memory: image.memory, now: start)
    #expect(first.codes.count == 2 && cache.decodes == 2 && cache.checks == 2)

    let readsBefore = image.memory.reads
    let second = cache.lookup(codes, memory: image.memory, now: start + period - 1)
    #expect(image.memory.reads == readsBefore, "nothing due: nothing read")
    #expect(cache.decodes == 2 && cache.hits == 2 && cache.checks == 2)
    #expect(try second[inner]?.get() === first[inner]?.get())

    // Another code object at inner's address: trusted until the check is due, then decoded.
    image.code(image.innerCode, name: "other", qualname: "Other.run", file: "/srv/app/other.py", firstLine: 40,
               table: [0x80 | 13 << 3 | 7, 0x00])
    image.string(image.innerCode + 0x2000, "Other.run")
    #expect(try cache.lookup(codes, memory: image.memory, now: start + period - 1)[inner]?.get().name == "Engine.inner")
    let third = cache.lookup(codes, memory: image.memory, now: start + period)
    #expect(try third[inner]?.get().name == "Other.run")
    #expect(try third[outer]?.get() === first[outer]?.get())
    #expect(cache.decodes == 3 && cache.checks == 4)
  }

  /// A frame's identity stands for its name, file and line: equal for the same
  /// decoded code object and line, different once the address holds another object.
  @Test func frameIdentityFollowsTheDecodedCodeObject() throws {
    let image = Image312()
    let cache = CodeObjectCache(layout: image.layout, codeType: RemoteAddress(image.codeType), recheckNanos: 0)
    let a = try #require(try image.stacks(cache).first)
    let b = try #require(try image.stacks(cache).first)
    #expect(a == b)
    #expect(a.allSatisfy { $0.identity != 0 })
    #expect(Set(a.map(\.identity)).count == 2)
    image.code(image.innerCode, name: "other", qualname: "Other.run", file: "/srv/app/other.py", firstLine: 40,
               table: [0x80 | 13 << 3 | 7, 0x00])
    let c = try #require(try image.stacks(cache).first)
    #expect(c[0] == a[0], "outer is unchanged")
    #expect(c[1] != a[1] && c[1].identity != a[1].identity)
  }

  /// Identities name the frames `frames(for:)` builds, stay the same for the
  /// same code object and line, and change with the decoded object; the
  /// catalog still names an identity handed out before the entry was replaced
  /// only until then.
  @Test func identitiesNameTheFramesOfTheDecodedCodeObject() throws {
    let image = Image312()
    let cache = CodeObjectCache(layout: image.layout, codeType: RemoteAddress(image.codeType), recheckNanos: 0)
    let chain = try #require(try image.walker.captureThreads(image.memory).first).frames
    func resolve() throws -> (ids: [UInt64], frames: [Frame]) {
      let infos = cache.lookup(chain.map(\.code), memory: image.memory)
      return (try cache.identities(for: chain, infos: infos), try cache.frames(for: chain, infos: infos))
    }
    let first = try resolve()
    #expect(first.ids.map { cache.frame(identity: $0) } == first.frames)
    #expect(first.frames.compactMap(\.name) == ["outer", "Engine.inner"])
    #expect(try resolve().ids == first.ids)

    image.code(image.innerCode, name: "other", qualname: "Other.run", file: "/srv/app/other.py", firstLine: 40,
               table: [0x80 | 13 << 3 | 7, 0x00])
    let rebuilt = try resolve()
    #expect(rebuilt.ids[0] == first.ids[0] && rebuilt.ids[1] != first.ids[1])
    #expect(rebuilt.frames.compactMap(\.name) == ["outer", "Other.run"])
    #expect(cache.frame(identity: first.ids[1]) == nil, "the replaced entry names nothing")
    let stack = ThreadStack(tid: 1, name: nil, activity: ThreadActivity(running: true), identities: rebuilt.ids,
                            catalog: cache)
    #expect(stack.frames == rebuilt.frames)
  }

  @Test func codeLookupFindsEveryAddressPastTheLinearLimit() {
    var lookup = CodeLookup()
    for i in 1...40 {
      lookup.append(RemoteAddress(UInt64(i * 16)), .failure(.unreadableMemory(RemoteAddress(UInt64(i * 16)), count: i)))
    }
    for i in [1, 32, 33, 40] {
      guard case .failure(.unreadableMemory(_, let count))? = lookup[RemoteAddress(UInt64(i * 16))] else {
        Issue.record("code \(i) not found")
        continue
      }
      #expect(count == i)
    }
    #expect(lookup[RemoteAddress(8)] == nil)
    #expect(lookup.codes.count == 40)
  }

  @Test func distinctCodesKeepFirstSeenOrderPastTheLinearLimit() {
    let few = [5, 3, 5, 9, 3].map { RemoteAddress(UInt64($0)) }
    #expect(CodeObjectCache.distinct(few).map(\.rawValue) == [5, 3, 9])
    let many = (0..<200).map { RemoteAddress(UInt64($0 % 70)) }
    #expect(CodeObjectCache.distinct(many).map(\.rawValue) == (0..<70).map { UInt64($0) })
  }

  @Test(arguments: [(3, 9), (3, 12), (3, 13), (2, 7)])
  func garbageMemoryIsBounded(major: Int, minor: Int) throws {
    let layout = try #require(PythonLayout.forVersion(major: major, minor: minor))
    var limits = PythonWalker.Limits()
    limits.maxFrames = 64
    limits.maxThreads = 16
    limits.maxInterpreters = 4
    for seed in 0..<40 as Range<UInt64> {
      let memory = GarbageMemory(seed: seed &* 0x9e37_79b9_7f4a_7c15)
      let walker = PythonWalker(
        layout: layout, addresses: PythonAddresses(interpreterHead: RemoteAddress(0x1000 + seed * 8)), limits: limits)
      let cache = CodeObjectCache(layout: layout, codeType: nil)
      guard let threads = try? walker.captureThreads(memory) else { continue }
      #expect(threads.count <= 4 * 16)
      for thread in threads {
        #expect(thread.frames.count <= 64)
        let infos = cache.lookup(thread.frames.map(\.code), memory: memory)
        _ = try? cache.frames(for: thread.frames, infos: infos)
      }
    }
  }
}

@Suite struct PythonVersionTests {
  @Test func fromHex() {
    #expect(PythonVersion(hex: 0x030c_01f0)?.description == "3.12.1")
    #expect(PythonVersion(hex: 0x030d_00c2)?.description == "3.13.0rc2")
    #expect(PythonVersion(hex: 0x0000_0000) == nil)
  }

  @Test func scansSysVersion() {
    let text = Array("\u{0}\u{0}xx3.9.18 (main, May  9 2026, 10:00:00) \n[GCC 12.2.0]".utf8)
    #expect(PythonVersion.scan(text)?.description == "3.9.18")
    #expect(PythonVersion.scan(Array("2.7.18 (default, ...".utf8))?.description == "2.7.18")
    #expect(PythonVersion.scan(Array("3.13.0rc2 (main".utf8))?.description == "3.13.0rc2")
    #expect(PythonVersion.scan(Array("13.9.18 (x".utf8)) == nil)
    #expect(PythonVersion.scan(Array("libz 1.2.13 (x".utf8)) == nil)
    #expect(PythonVersion.scan(Array("3.9.18".utf8)) == nil)
  }

  @Test func fileNameCrossCheck() {
    #expect(PythonVersion.fromFileName("libpython3.7m.so.1.0")! == (3, 7))
    #expect(PythonVersion.fromFileName("python3.11")! == (3, 11))
    #expect(PythonVersion.fromFileName("python") == nil)
  }
}
