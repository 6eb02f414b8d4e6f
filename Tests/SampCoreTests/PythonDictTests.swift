import Testing
import SampSystem
@testable import SampCore

// MARK: a synthetic process image, laid out by a generated layout

/// One contiguous heap of target memory; reads outside it fail.
private final class Heap: RemoteMemory {
  let base: UInt64 = 0x10_0000
  var bytes = [UInt8](repeating: 0, count: 4 << 20)
  var top = 0x1000
  private(set) var reads = 0

  func read(at address: RemoteAddress, count: Int) throws(SystemError) -> [UInt8] {
    reads += 1
    guard count >= 0, address.rawValue >= base, address.rawValue - base <= UInt64(bytes.count),
      UInt64(count) <= UInt64(bytes.count) - (address.rawValue - base)
    else { throw .unreadableMemory(address, count: count) }
    let start = Int(address.rawValue - base)
    return Array(bytes[start..<start + count])
  }

  func alloc(_ size: Int) -> UInt64 {
    let address = base + UInt64(top)
    top += (size + 15) & ~15
    precondition(top <= bytes.count, "test heap full")
    return address
  }

  func set(_ address: UInt64, _ value: UInt64, width: Int = 8) {
    let start = Int(address - base)
    for i in 0..<width { bytes[start + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
  }

  func set(_ address: UInt64, signed value: Int64) { set(address, UInt64(bitPattern: value)) }

  func put(_ address: UInt64, _ data: [UInt8]) {
    let start = Int(address - base)
    bytes.replaceSubrange(start..<start + data.count, with: data)
  }

  func get(_ address: UInt64) -> UInt64 { ByteView(Array(bytes[Int(address - base)..<Int(address - base) + 8])).u64(at: 0) }
}

/// Builds CPython objects the way `layout` says they look.
private struct ImageBuilder {
  let layout: PythonLayout
  let heap = Heap()
  var types: [String: UInt64] = [:]

  init(_ layout: PythonLayout) {
    self.layout = layout
    for name in ["str", "dict", "module", "int", "long", "Thread"] { types[name] = makeType(name) }
  }

  var l: PythonLayout { layout }
  var isManaged: Bool { l.objectManagedDict != nil }

  func cString(_ s: String) -> UInt64 {
    let a = heap.alloc(s.utf8.count + 1)
    heap.put(a, Array(s.utf8) + [0])
    return a
  }

  func makeType(_ name: String, flags: UInt64 = 0, dictOffset: Int64 = 0) -> UInt64 {
    let t = heap.alloc(1024)
    heap.set(t + UInt64(l.typeName), cString(name))
    heap.set(t + UInt64(l.typeFlags!), flags)
    heap.set(t + UInt64(l.typeDictOffset!), signed: dictOffset)
    heap.set(t + UInt64(l.typeBasicSize!), 16)
    return t
  }

  func object(_ type: String, size: Int) -> UInt64 {
    let o = heap.alloc(size)
    heap.set(o + UInt64(l.objectType), types[type]!)
    return o
  }

  func str(_ s: String) -> UInt64 {
    if l.stringModel == .bytes {
      let utf8 = Array(s.utf8)
      let o = object("str", size: l.bytesData + utf8.count + 1)
      heap.set(o + UInt64(l.varSize), UInt64(utf8.count))
      heap.put(o + UInt64(l.bytesData), utf8)
      return o
    }
    let scalars = s.unicodeScalars.map(\.value)
    let top = scalars.max() ?? 0
    let ascii = top < 0x80
    let kind = top <= 0xff ? 1 : top <= 0xffff ? 2 : 4
    let dataAt = ascii ? l.unicodeASCIIData : l.unicodeCompactData
    let o = object("str", size: dataAt + (scalars.count + 1) * kind)
    heap.set(o + UInt64(l.unicodeLength), UInt64(scalars.count))
    var state = UInt64(kind) << UInt64(l.unicodeKindShift) | 1 << UInt64(l.unicodeCompactBit)
    if ascii { state |= 1 << UInt64(l.unicodeASCIIBit) }
    heap.set(o + UInt64(l.unicodeState), state, width: 4)
    for (i, v) in scalars.enumerated() { heap.set(o + UInt64(dataAt + i * kind), UInt64(v), width: kind) }
    return o
  }

  func int(_ value: UInt64) -> UInt64 {
    if let ival = l.intValue, value <= UInt64(Int64.max) {
      let o = object("int", size: ival + 8)
      heap.set(o + UInt64(ival), value)
      return o
    }
    var digits: [UInt64] = []
    var rest = value
    while rest != 0 {
      digits.append(rest & ((1 << 30) - 1))
      rest >>= 30
    }
    let o = object(l.intValue != nil ? "long" : "int", size: l.longDigits! + max(1, digits.count) * 4)
    if let tag = l.longTag {
      heap.set(o + UInt64(tag), UInt64(digits.count) << UInt64(l.longTagSizeShift!) | (digits.isEmpty ? 1 : 0))
    } else {
      heap.set(o + UInt64(l.varSize), UInt64(digits.count))
    }
    for (i, d) in digits.enumerated() { heap.set(o + UInt64(l.longDigits! + i * 4), d, width: 4) }
    return o
  }

  /// A keys object; `values` nil leaves entry values NULL (shared keys).
  func keysObject(_ keys: [UInt64], values: [UInt64]?, unicode: Bool) -> UInt64 {
    var slots = 8
    while keys.count * 3 >= slots * 2 { slots *= 2 }
    let general = l.dictKeysSize != nil || !unicode
    let entrySize = general ? l.dictEntrySize! : l.dictUnicodeEntrySize!
    let keyAt = general ? l.dictEntryKey! : l.dictUnicodeEntryKey!
    let valueAt = general ? l.dictEntryValue! : l.dictUnicodeEntryValue!
    let width = slots <= 0xff ? 1 : slots <= 0xffff ? 2 : 4
    let entriesAt = l.dictKeysIndices! + slots * width
    let k = heap.alloc(entriesAt + keys.count * entrySize)
    heap.set(k, 1)
    if let size = l.dictKeysSize {
      heap.set(k + UInt64(size), UInt64(slots))
    } else {
      let log2 = slots.trailingZeroBitCount
      heap.set(k + UInt64(l.dictKeysLog2Size!), UInt64(log2), width: 1)
      heap.set(k + UInt64(l.dictKeysLog2IndexBytes!), UInt64(log2 + width.trailingZeroBitCount), width: 1)
      heap.set(k + UInt64(l.dictKeysKind!), UInt64(general ? l.dictKindGeneral! : l.dictKindGeneral! + 1), width: 1)
    }
    heap.set(k + UInt64(l.dictKeysNentries!), UInt64(keys.count))
    for (i, key) in keys.enumerated() {
      let e = k + UInt64(entriesAt + i * entrySize)
      heap.set(e + UInt64(keyAt), key)
      if let values { heap.set(e + UInt64(valueAt), values[i]) }
    }
    return k
  }

  func valuesArray(_ values: [UInt64]) -> UInt64 {
    let v = heap.alloc(l.dictValuesArray! + values.count * 8)
    if let capacity = l.dictValuesCapacity { heap.set(v + UInt64(capacity), UInt64(values.count), width: 1) }
    if let valid = l.dictValuesValid { heap.set(v + UInt64(valid), 1, width: 1) }
    for (i, value) in values.enumerated() { heap.set(v + UInt64(l.dictValuesArray! + i * 8), value) }
    return v
  }

  func dict(_ entries: [(UInt64, UInt64)], unicode: Bool = true) -> UInt64 {
    if let mask = l.dictMask {
      var slots = 8
      while entries.count * 3 >= slots * 2 { slots *= 2 }
      let table = heap.alloc(slots * l.dictEntrySize!)
      // Even slots first, then odd ones: empty slots sit between live ones.
      for (i, (key, value)) in entries.enumerated() {
        let slot = i * 2 < slots ? i * 2 : (i * 2 - slots) + 1
        let e = table + UInt64(slot * l.dictEntrySize!)
        heap.set(e + UInt64(l.dictEntryKey!), key)
        heap.set(e + UInt64(l.dictEntryValue!), value)
      }
      let d = object("dict", size: l.dictTable! + 64)
      heap.set(d + UInt64(mask), UInt64(slots - 1))
      heap.set(d + UInt64(l.dictUsed!), UInt64(entries.count))
      heap.set(d + UInt64(l.dictTable!), table)
      return d
    }
    let keys = keysObject(entries.map(\.0), values: entries.map(\.1), unicode: unicode)
    let d = object("dict", size: l.dictValues! + 16)
    heap.set(d + UInt64(l.dictKeys!), keys)
    heap.set(d + UInt64(l.dictUsed!), UInt64(entries.count))
    return d
  }

  func splitDict(keys: UInt64, values: [UInt64]) -> UInt64 {
    let d = object("dict", size: l.dictValues! + 16)
    heap.set(d + UInt64(l.dictKeys!), keys)
    heap.set(d + UInt64(l.dictValues!), valuesArray(values))
    heap.set(d + UInt64(l.dictUsed!), UInt64(values.filter { $0 != 0 }.count))
    return d
  }

  /// A Thread-like instance whose attributes live where this version keeps them.
  mutating func instance(_ attributes: [(String, UInt64)]) -> UInt64 {
    let names = attributes.map { str($0.0) }
    let values = attributes.map(\.1)
    guard isManaged else {
      // <=3.10: __dict__ at tp_dictoffset (a split table from 3.x, as CPython makes them).
      let type = makeType("Thread", dictOffset: 16)
      let o = heap.alloc(32)
      heap.set(o + UInt64(l.objectType), type)
      if l.dictKeys != nil {
        heap.set(o + 16, splitDict(keys: keysObject(names, values: nil, unicode: true), values: values))
      } else {
        heap.set(o + 16, dict(Array(zip(names, values))))
      }
      return o
    }
    let inline = l.typeFlagInlineValues
    let type = makeType("Thread", flags: UInt64(l.typeFlagManagedDict!) | UInt64(inline ?? 0), dictOffset: -1)
    heap.set(type + UInt64(l.heapTypeCachedKeys!), keysObject(names, values: nil, unicode: true))
    let pre = 32
    let block = heap.alloc(pre + 16 + 8 + values.count * 8)
    let o = block + UInt64(pre)
    heap.set(o + UInt64(l.objectType), type)
    if let valuesSlot = l.objectManagedValues {
      heap.set(o &+ UInt64(bitPattern: Int64(valuesSlot)), valuesArray(values))
    } else if let tag = l.managedDictValuesTag {
      heap.set(o &+ UInt64(bitPattern: Int64(l.objectManagedDict!)), valuesArray(values) - UInt64(tag))
    } else if let at = l.objectInlineValues {
      let v = o + UInt64(at)
      heap.set(v + UInt64(l.dictValuesCapacity!), UInt64(values.count), width: 1)
      heap.set(v + UInt64(l.dictValuesValid!), 1, width: 1)
      for (i, value) in values.enumerated() { heap.set(v + UInt64(l.dictValuesArray! + i * 8), value) }
    }
    return o
  }

  func module(_ namespace: UInt64) -> UInt64 {
    let m = object("module", size: l.moduleDict! + 16)
    heap.set(m + UInt64(l.moduleDict!), namespace)
    return m
  }

  /// Interpreter(s) whose sys.modules is `modules`; returns the head pointer's address.
  func interpreters(_ modules: [UInt64]) -> UInt64 {
    let size = max(l.interpModules!, l.interpNext) + 8
    var next: UInt64 = 0
    for m in modules.reversed() {
      let interp = heap.alloc(size)
      heap.set(interp + UInt64(l.interpModules!), m)
      heap.set(interp + UInt64(l.interpNext), next)
      next = interp
    }
    let head = heap.alloc(8)
    heap.set(head, next)
    return head
  }
}

/// Every address readable, every byte a hash of its address: pointers lead
/// anywhere and sizes are huge, so only the readers' own bounds end a walk.
private final class NoiseMemory: RemoteMemory {
  let seed: UInt64
  private(set) var bytesRead = 0
  init(seed: UInt64) { self.seed = seed }
  func read(at address: RemoteAddress, count: Int) throws(SystemError) -> [UInt8] {
    guard count >= 0, count <= 64 << 20 else { throw .unreadableMemory(address, count: count) }
    bytesRead += count
    return (0..<count).map { i in
      var x = (address.rawValue &+ UInt64(i)) ^ seed
      x = (x ^ (x >> 33)) &* 0xff51afd7ed558ccd
      x = (x ^ (x >> 33)) &* 0xc4ceb9fe1a85ec53
      return UInt8(truncatingIfNeeded: x ^ (x >> 33))
    }
  }
}

private let testedLayouts = PythonLayout.generated.filter { !($0.major == 3 && $0.minor >= 14) }

/// A process with threading imported and three named threads.
private struct ThreadImage {
  var b: ImageBuilder
  let head: UInt64
  let active: UInt64
  let threads: [UInt64]
  static let idents: [UInt64] = [0x7f12_3456_7000, 0x7f12_3400_0640, 0x7fff_ffff_fffe_0000]
  static let names = ["MainThread", "worker-1", "ünï-😀"]

  init(_ layout: PythonLayout) {
    b = ImageBuilder(layout)
    let nameKey = layout.threadingNameAttribute!
    let identKey = layout.threadingIdentAttribute!
    var threads: [UInt64] = []
    var pairs: [(UInt64, UInt64)] = []
    for (ident, name) in zip(Self.idents, Self.names) {
      // Key and attribute as two equal int objects (2.7's _DummyThread does so), so
      // a test can patch one without the other.
      let t = b.instance([("_target", 0x1), (nameKey, b.str(name)), ("_daemonic", 0x2), (identKey, b.int(ident))])
      threads.append(t)
      pairs.append((b.int(ident), t))
    }
    self.threads = threads
    active = b.dict(pairs, unicode: false)
    var namespace: [(UInt64, UInt64)] = []
    for i in 0..<30 { namespace.append((b.str("name\(i)"), b.int(UInt64(i)))) }
    namespace.append((b.str("_active"), active))
    namespace.append((b.str("_limbo"), b.dict([])))
    let threading = b.module(b.dict(namespace))
    let modules = b.dict([(b.str("sys"), b.module(b.dict([]))), (b.str("threadingx"), 0x3), (b.str("threading"), threading)])
    head = b.interpreters([modules])
  }

  var expected: [UInt64: String] { Dictionary(uniqueKeysWithValues: zip(Self.idents, Self.names)) }

  func reader(_ options: PythonThreadNames.Options = .init()) -> PythonThreadNames {
    PythonThreadNames(layout: b.layout, interpreterHead: RemoteAddress(head), options: options)
  }
}

// MARK: tests

@Suite struct PythonDictTests {
  @Test(arguments: testedLayouts)
  func entriesOfEveryShape(layout: PythonLayout) throws {
    var b = ImageBuilder(layout)
    let reader = PythonDictReader(layout: layout)
    #expect(reader.isSupported)
    let memory = b.heap

    // str keys (a unicode-kind table on 3.11+), int keys (general), empty, large.
    let strPairs = (0..<20).map { (b.str("key\($0)"), b.int(UInt64($0))) }
    let intPairs = (0..<300).map { (b.int(UInt64($0) << 20), b.str("v\($0)")) }
    for (what, pairs, unicode) in [("str", strPairs, true), ("int", intPairs, false), ("empty", [], true)] {
      let d = b.dict(pairs, unicode: unicode)
      let got = try reader.entries(ofDict: RemoteAddress(d), memory)
      #expect(Set(got.map { [$0.key.rawValue, $0.value.rawValue] }) == Set(pairs.map { [$0.0, $0.1] }),
              "\(layout.versionString) \(what)")
    }

    // Split tables: shared keys, values elsewhere; a NULL value is a missing entry.
    if layout.dictKeys != nil {
      let keys = b.keysObject([b.str("a"), b.str("b"), b.str("c")], values: nil, unicode: true)
      let d = b.splitDict(keys: keys, values: [0x11, 0, 0x33])
      let got = try reader.entries(ofDict: RemoteAddress(d), memory)
      #expect(got.map(\.value.rawValue) == [0x11, 0x33], "\(layout.versionString)")
    }

    // Lookup by str key, including non-ASCII keys.
    let special = b.str("ünï-😀")
    let d = b.dict(strPairs + [(special, 0x4242)])
    let values = reader.values(forKeys: ["key7", "ünï-😀", "absent", "key"], in: try reader.entries(ofDict: RemoteAddress(d), memory), memory)
    #expect(values == ["key7": RemoteAddress(strPairs[7].1), "ünï-😀": RemoteAddress(0x4242)], "\(layout.versionString)")

    // Attributes wherever this version keeps them.
    let object = b.instance([("alpha", 0x51), ("beta", 0x52)])
    let attributes = try reader.attributes(of: RemoteAddress(object), memory)
    let found = reader.values(forKeys: ["alpha", "beta"], in: attributes, memory)
    #expect(found == ["alpha": RemoteAddress(0x51), "beta": RemoteAddress(0x52)], "\(layout.versionString)")
  }

  /// Sizes from garbage are refused before anything is read with them.
  @Test(arguments: testedLayouts)
  func hugeAndInconsistentSizesThrow(layout: PythonLayout) throws {
    let b = ImageBuilder(layout)
    let reader = PythonDictReader(layout: layout)
    let d = b.dict([(b.str("a"), 1), (b.str("b"), 2)])
    func expectThrows(_ what: String) {
      #expect(throws: PythonReadError.self, "\(layout.versionString): \(what)") {
        _ = try reader.entries(ofDict: RemoteAddress(d), b.heap)
      }
    }
    if let mask = layout.dictMask {
      b.heap.set(d + UInt64(mask), 1 << 40)
      expectThrows("huge ma_mask")
      b.heap.set(d + UInt64(mask), 6)  // not 2^n - 1
      expectThrows("ma_mask not a power of two minus one")
      b.heap.set(d + UInt64(mask), 7)
      b.heap.set(d + UInt64(layout.dictTable!), 0xdead_0000)
      expectThrows("wild table pointer")
      return
    }
    let keys = b.heap.get(d + UInt64(layout.dictKeys!))
    let nentries = keys + UInt64(layout.dictKeysNentries!)
    b.heap.set(nentries, UInt64.max)
    expectThrows("negative dk_nentries")
    b.heap.set(nentries, 1 << 40)
    expectThrows("huge dk_nentries")
    b.heap.set(nentries, 2)
    if let size = layout.dictKeysSize {
      b.heap.set(keys + UInt64(size), 1 << 50)
      expectThrows("huge dk_size")
      b.heap.set(keys + UInt64(size), 12)
      expectThrows("dk_size not a power of two")
      b.heap.set(keys + UInt64(size), 8)
    } else {
      b.heap.set(keys + UInt64(layout.dictKeysLog2Size!), 200, width: 1)
      expectThrows("huge dk_log2_size")
      b.heap.set(keys + UInt64(layout.dictKeysLog2Size!), 3, width: 1)
      b.heap.set(keys + UInt64(layout.dictKeysLog2IndexBytes!), 9, width: 1)
      expectThrows("dk_log2_index_bytes disagrees with dk_log2_size")
      b.heap.set(keys + UInt64(layout.dictKeysLog2IndexBytes!), 3, width: 1)
    }
    #expect(try reader.entries(ofDict: RemoteAddress(d), b.heap).count == 2, "\(layout.versionString) restored")
    b.heap.set(d + UInt64(layout.dictKeys!), 0xdead_0000)
    expectThrows("wild keys pointer")
    b.heap.set(d + UInt64(layout.dictKeys!), 0)
    expectThrows("NULL keys")
    // Nothing at all there.
    #expect(throws: PythonReadError.self) { _ = try reader.entries(ofDict: RemoteAddress(0x10), b.heap) }
    #expect(throws: PythonReadError.self) { _ = try reader.attributes(of: RemoteAddress(0xdead_0000), b.heap) }
  }

  /// Random bytes everywhere: every read is bounded, and nothing traps.
  @Test(arguments: testedLayouts)
  func noiseNeverTrapsAndStaysBounded(layout: PythonLayout) {
    let reader = PythonDictReader(layout: layout)
    for seed in 0..<200 as Range<UInt64> {
      let memory = NoiseMemory(seed: seed &* 0x9e37_79b9_7f4a_7c15)
      let address = RemoteAddress(0x5555_0000_0000 &+ seed &* 4096)
      if let entries = try? reader.entries(ofDict: address, memory) {
        #expect(entries.count <= reader.limits.maxEntries)
        _ = reader.values(forKeys: ["_active", "threading"], in: entries, memory)
      }
      _ = try? reader.attributes(of: address, memory)
      // 2.7 tables: 24 bytes a slot; 3.x: entries plus values; never more than a few MB a dict.
      #expect(memory.bytesRead <= 32 << 20, "\(layout.versionString) seed \(seed): \(memory.bytesRead) bytes")
    }
  }
}

@Suite struct PythonThreadNamesUnitTests {
  @Test(arguments: testedLayouts)
  func namesFromASyntheticImage(layout: PythonLayout) throws {
    let image = ThreadImage(layout)
    var reader = image.reader()
    #expect(reader.isSupported)
    #expect(try reader.read(image.b.heap) == image.expected, "\(layout.versionString)")
    #expect(reader.names(image.b.heap, idents: [UInt64](), now: 1) == image.expected, "\(layout.versionString)")
  }

  @Test(arguments: testedLayouts)
  func integersOfEveryWidth(layout: PythonLayout) throws {
    let b = ImageBuilder(layout)
    var reader = PythonThreadNames(layout: layout, interpreterHead: .null)
    for value: UInt64 in [0, 1, (1 << 30) - 1, 1 << 30, 0x7f12_3456_7890, 1 << 60, UInt64.max] {
      #expect(try reader.integer(b.heap, RemoteAddress(b.int(value))) == value, "\(layout.versionString) \(value)")
    }
    // A 65-bit value, a negative one and a str are refused.
    let wide = b.int(UInt64.max)
    if let tag = layout.longTag {
      b.heap.set(wide + UInt64(tag), 3 << UInt64(layout.longTagSizeShift!) | UInt64(layout.longTagNegative!))
      #expect(throws: PythonReadError.self) { try reader.integer(b.heap, RemoteAddress(wide)) }
    } else if layout.intValue == nil {
      b.heap.set(wide + UInt64(layout.varSize), signed: -3)
      #expect(throws: PythonReadError.self) { try reader.integer(b.heap, RemoteAddress(wide)) }
    }
    let big = b.int(UInt64.max)
    let digitsAt = big + UInt64(layout.longDigits!)
    b.heap.set(digitsAt + 8, 0x3fff_ffff, width: 4)  // top digit of 30 bits: 90-bit value
    #expect(throws: PythonReadError.self) { try reader.integer(b.heap, RemoteAddress(big)) }
    #expect(throws: PythonReadError.self) { try reader.integer(b.heap, RemoteAddress(b.str("12"))) }
  }

  @Test(arguments: testedLayouts)
  func badThreadsCostOnlyTheirOwnNames(layout: PythonLayout) throws {
    let image = ThreadImage(layout)
    // Thread 0's own ident disagrees with its key; thread 1's name is not a str.
    try patchValue(image.b.heap, layout: layout, object: image.threads[0], key: layout.threadingIdentAttribute!,
                   to: image.b.int(42))
    try patchValue(image.b.heap, layout: layout, object: image.threads[1], key: layout.threadingNameAttribute!,
                   to: image.b.int(7))
    var reader = image.reader()
    #expect(try reader.read(image.b.heap) == [ThreadImage.idents[2]: ThreadImage.names[2]], "\(layout.versionString)")
    // Thread 2's attributes pointing nowhere: it goes too, the read still succeeds.
    let type = image.b.heap.get(image.threads[2] + UInt64(layout.objectType))
    image.b.heap.set(image.threads[2] + UInt64(layout.objectType), 0xdead_0000)
    #expect(try reader.read(image.b.heap).isEmpty, "\(layout.versionString)")
    image.b.heap.set(image.threads[2] + UInt64(layout.objectType), type)
  }

  @Test(arguments: testedLayouts)
  func garbageAroundTheModuleChainThrows(layout: PythonLayout) throws {
    // A cycle in the interpreter list.
    var image = ThreadImage(layout)
    let interp = image.b.heap.get(image.head)
    image.b.heap.set(interp + UInt64(layout.interpNext), interp)
    var reader = image.reader()
    #expect(throws: PythonReadError.self) { try reader.read(image.b.heap) }
    #expect(reader.names(image.b.heap).isEmpty)
    #expect(reader.lastError != nil)

    // sys.modules that is not a dict, a threading that is not a module.
    image = ThreadImage(layout)
    let modules = image.b.heap.get(image.b.heap.get(image.head) + UInt64(layout.interpModules!))
    image.b.heap.set(modules + UInt64(layout.objectType), image.b.types["module"]!)
    reader = image.reader()
    #expect(throws: PythonReadError.self) { try reader.read(image.b.heap) }

    // No threading imported yet: no names, no error.
    image = ThreadImage(layout)
    let emptyModules = image.b.dict([(image.b.str("sys"), 0x10)])
    image.b.heap.set(image.b.heap.get(image.head) + UInt64(layout.interpModules!), emptyModules)
    reader = image.reader()
    #expect(try reader.read(image.b.heap).isEmpty)

    // Too many threads for the limit.
    image = ThreadImage(layout)
    var options = PythonThreadNames.Options()
    options.maxThreads = 2
    reader = image.reader(options)
    #expect(throws: PythonReadError.self) { try reader.read(image.b.heap) }
  }

  @Test(arguments: testedLayouts)
  func noiseNeverTraps(layout: PythonLayout) {
    for seed in 0..<100 as Range<UInt64> {
      let memory = NoiseMemory(seed: seed &* 0x9e37_79b9_7f4a_7c15 &+ 1)
      var reader = PythonThreadNames(layout: layout, interpreterHead: RemoteAddress(0x4000_0000 &+ seed << 12))
      let names = reader.names(memory, idents: [1, 2, 3], now: 1)
      #expect(names.count <= reader.options.maxThreads)
      #expect(memory.bytesRead <= 256 << 20, "\(layout.versionString) seed \(seed): \(memory.bytesRead) bytes")
    }
  }

  @Test func cacheRefreshesOnTimeOnNewIdentsAndKeepsNamesOnFailure() throws {
    let layout = PythonLayout.forVersion(major: 3, minor: 12)!
    let image = ThreadImage(layout)
    var reader = image.reader()
    let second: UInt64 = 1_000_000_000
    #expect(reader.names(image.b.heap, idents: [UInt64](), now: 10 * second) == image.expected)
    #expect(reader.refreshes == 1)

    // Rename thread 1 in memory: seen only once the interval has passed.
    try patchValue(image.b.heap, layout: layout, object: image.threads[1], key: "_name", to: image.b.str("renamed"))
    #expect(reader.names(image.b.heap, idents: ThreadImage.idents, now: 10 * second + 500_000_000)[ThreadImage.idents[1]] == "worker-1")
    #expect(reader.refreshes == 1)
    #expect(reader.names(image.b.heap, idents: [UInt64](), now: 11 * second)[ThreadImage.idents[1]] == "renamed")
    #expect(reader.refreshes == 2)

    // An unknown ident re-reads early (after the minimum gap), once; then it is known absent.
    _ = reader.names(image.b.heap, idents: [0x1234], now: 11 * second + 10_000_000)
    #expect(reader.refreshes == 2, "within the minimum gap")
    _ = reader.names(image.b.heap, idents: [0x1234], now: 11 * second + 100_000_000)
    #expect(reader.refreshes == 3)
    _ = reader.names(image.b.heap, idents: [0x1234], now: 11 * second + 200_000_000)
    #expect(reader.refreshes == 3, "absent idents do not re-read")

    // A failed re-read keeps the last names and reports why (the early re-read
    // found the same names, so the interval is 2 s now).
    image.b.heap.set(image.head, 0xdead_0000)
    _ = reader.names(image.b.heap, idents: [UInt64](), now: 13 * second)
    #expect(reader.refreshes == 3)
    let kept = reader.names(image.b.heap, idents: [UInt64](), now: 13 * second + 100_000_000)
    #expect(kept[ThreadImage.idents[0]] == "MainThread")
    #expect(reader.lastError != nil)
    #expect(reader.refreshes == 4)

    reader.invalidate()
    _ = reader.names(image.b.heap, idents: [UInt64](), now: 13 * second + 100_000_001)
    #expect(reader.refreshes == 5)
  }

  /// While nothing changes the interval doubles up to its cap; a rename brings it
  /// back to the shortest, and a new thread is read at once whatever the interval.
  @Test func refreshBacksOffWhileNamesStayTheSame() throws {
    let layout = PythonLayout.forVersion(major: 3, minor: 12)!
    let image = ThreadImage(layout)
    var reader = image.reader()
    let second: UInt64 = 1_000_000_000
    var now = 10 * second
    _ = reader.names(image.b.heap, idents: [UInt64](), now: now)
    var intervals: [UInt64] = []
    for _ in 0..<5 {
      now += reader.interval
      _ = reader.names(image.b.heap, idents: [UInt64](), now: now)
      intervals.append(reader.interval / second)
    }
    #expect(intervals == [2, 4, 8, 8, 8])
    #expect(reader.refreshes == 6)
    _ = reader.names(image.b.heap, idents: [UInt64](), now: now + 7 * second)
    #expect(reader.refreshes == 6, "not due yet")

    try patchValue(image.b.heap, layout: layout, object: image.threads[1], key: "_name", to: image.b.str("renamed"))
    now += 8 * second
    #expect(reader.names(image.b.heap, idents: [UInt64](), now: now)[ThreadImage.idents[1]] == "renamed")
    #expect(reader.interval == second)
    _ = reader.names(image.b.heap, idents: [0x4321], now: now + 100_000_000)
    #expect(reader.refreshes == 8, "an unknown ident is read within the minimum gap")
  }

  @Test func unsupportedLayoutGivesNothing() {
    let layout = PythonLayout.forVersion(major: 3, minor: 14)!
    var reader = PythonThreadNames(layout: layout, interpreterHead: RemoteAddress(0x1000))
    #expect(!reader.isSupported)
    #expect(reader.names(NoiseMemory(seed: 1)).isEmpty)
    #expect(reader.refreshes == 0)
    #expect(throws: PythonReadError.self) { try reader.read(NoiseMemory(seed: 1)) }
  }
}

/// Points the attribute `key` of `object` at `value`, wherever the layout keeps
/// that attribute's value (dict entry, split values, managed or inline values).
private func patchValue(_ heap: Heap, layout: PythonLayout, object: UInt64, key: String, to value: UInt64) throws {
  let reader = PythonDictReader(layout: layout)
  let entries = try reader.attributes(of: RemoteAddress(object), heap)
  let old = try #require(reader.values(forKeys: [key], in: entries, heap)[key])
  // The value pointer appears once near the object's attribute storage: find and replace it.
  var replaced = 0
  var offset = 0
  let needle = old.rawValue
  while offset + 8 <= heap.top {
    let address = heap.base + UInt64(offset)
    if heap.get(address) == needle {
      heap.set(address, value)
      replaced += 1
    }
    offset += 8
  }
  #expect(replaced == 1, "\(layout.versionString): \(key) stored \(replaced) times")
}
