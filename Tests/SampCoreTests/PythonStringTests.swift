import Foundation
import SampSystem
import Testing

@testable import SampCore

/// Target memory for the tests: a few byte regions at fixed addresses.
private struct FakeMemory {
  var regions: [UInt64: [UInt8]] = [:]

  func read(_ address: RemoteAddress, _ count: Int) throws(SystemError) -> [UInt8] {
    for (start, bytes) in regions
    where address.rawValue >= start && address.rawValue + UInt64(count) <= start + UInt64(bytes.count) {
      let from = Int(address.rawValue - start)
      return Array(bytes[from..<from + count])
    }
    throw .unreadableMemory(address, count: count)
  }
}

private func le(_ value: UInt64, _ size: Int) -> [UInt8] {
  (0..<size).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
}

/// A str object image as `layout` describes it: PyASCIIObject fields, then the
/// text where a compact string keeps it, or a data pointer for a legacy one.
private func strObject(
  _ text: String, kind: Int, layout: PythonLayout, compact: Bool = true, ascii: Bool? = nil,
  length: Int64? = nil, legacyData: UInt64 = 0
) -> [UInt8] {
  let isASCII = ascii ?? (kind == 1 && text.unicodeScalars.allSatisfy { $0.value < 128 })
  var object = [UInt8](repeating: 0, count: compact ? (isASCII ? layout.unicodeASCIIData : layout.unicodeCompactData) : layout.unicodeLegacyData + 8)
  func put(_ bytes: [UInt8], at offset: Int) { object.replaceSubrange(offset..<offset + bytes.count, with: bytes) }
  put(le(UInt64(bitPattern: length ?? Int64(text.unicodeScalars.count)), 8), at: layout.unicodeLength)
  let state = UInt64(kind) << layout.unicodeKindShift | (compact ? 1 : 0) << layout.unicodeCompactBit
    | (isASCII ? 1 : 0) << layout.unicodeASCIIBit
  put(le(state, 4), at: layout.unicodeState)
  if compact {
    object += strData(text, kind: kind) + [UInt8](repeating: 0, count: kind)
  } else {
    put(le(legacyData, 8), at: layout.unicodeLegacyData)
  }
  return object
}

private func strData(_ text: String, kind: Int) -> [UInt8] {
  text.unicodeScalars.flatMap { le(UInt64($0.value), kind) }
}

private func layout(_ major: Int, _ minor: Int) throws -> PythonLayout {
  try #require(PythonLayout.forVersion(major: major, minor: minor))
}

@Suite struct PythonStringTests {
  static let address = RemoteAddress(0x7f00_0000_1000)

  private func decode(_ object: [UInt8], _ layout: PythonLayout, header: Int? = nil, memory: FakeMemory? = nil)
    throws(PythonReadError) -> String
  {
    var memory = memory ?? FakeMemory()
    memory.regions[Self.address.rawValue] = object
    let copied = Array(object.prefix(header ?? object.count))
    return try PythonString.decode(at: Self.address, header: copied, layout: layout, readData: memory.read)
  }

  @Test(arguments: [(3, 6), (3, 11), (3, 12), (3, 13), (3, 14)])
  func compactKinds(major: Int, minor: Int) throws {
    let l = try layout(major, minor)
    #expect(try decode(strObject("hello", kind: 1, layout: l), l) == "hello")
    #expect(try decode(strObject("spin_grüße", kind: 1, layout: l), l) == "spin_grüße")
    #expect(try decode(strObject("函数_gen", kind: 2, layout: l), l) == "函数_gen")
    #expect(try decode(strObject("target_😀.py", kind: 4, layout: l), l) == "target_😀.py")
    #expect(try decode(strObject("", kind: 1, layout: l), l) == "")
  }

  @Test func textPastTheHeaderIsRead() throws {
    let l = try layout(3, 12)
    let long = String(repeating: "/very/long/path", count: 40) + "/函数.py"
    #expect(try decode(strObject(long, kind: 2, layout: l), l, header: l.unicodeCompactData) == long)
    #expect(try decode(strObject(long, kind: 2, layout: l), l, header: 0) == long)
    #expect(try decode(strObject("abc", kind: 1, layout: l), l, header: 20) == "abc")
  }

  @Test func legacyStringsFollowTheirDataPointer() throws {
    let data: UInt64 = 0x5555_0000_0000
    for l in [try layout(3, 11), try layout(3, 12)] {
      var memory = FakeMemory()
      memory.regions[data] = strData("legacy_函数", kind: 2)
      let object = strObject("legacy_函数", kind: 2, layout: l, compact: false, legacyData: data)
      #expect(try decode(object, l, memory: memory) == "legacy_函数")
      let noData = strObject("x", kind: 1, layout: l, compact: false, legacyData: 0)
      #expect(throws: PythonReadError.self) { try decode(noData, l) }
    }
  }

  @Test func python2Bytes() throws {
    let l = try layout(2, 7)
    func object(_ bytes: [UInt8]) -> [UInt8] {
      var o = [UInt8](repeating: 0, count: l.bytesData)
      o.replaceSubrange(l.varSize..<l.varSize + 8, with: le(UInt64(bytes.count), 8))
      return o + bytes + [0]
    }
    #expect(try decode(object(Array("worker.py".utf8)), l) == "worker.py")
    #expect(try decode(object(Array("café".utf8)), l) == "café")
    #expect(try decode(object([0x61, 0xff, 0x62]), l) == "a\u{FFFD}b")
    #expect(try decode(object(Array("x".utf8)), l, header: 4) == "x")
  }

  @Test func invalidCodePointsAreReplaced() throws {
    let l = try layout(3, 12)
    var object = strObject("ab", kind: 2, layout: l)
    object.replaceSubrange(l.unicodeCompactData..<l.unicodeCompactData + 2, with: le(0xD800, 2))
    #expect(try decode(object, l) == "\u{FFFD}b")
    var wide = strObject("ab", kind: 4, layout: l)
    wide.replaceSubrange(l.unicodeCompactData + 4..<l.unicodeCompactData + 8, with: le(0x11_0000, 4))
    #expect(try decode(wide, l) == "a\u{FFFD}")
  }

  @Test func absurdLengthsAndKindsAreRefused() throws {
    let l = try layout(3, 12)
    for length: Int64 in [-1, 1 << 40, Int64(PythonString.defaultMaxLength) + 1] {
      #expect(throws: PythonReadError.badSize(what: "str length", value: Int(length))) {
        try decode(strObject("abc", kind: 1, layout: l, length: length), l)
      }
    }
    for kind in [0, 3, 7] {
      #expect(throws: PythonReadError.self) { try decode(strObject("abc", kind: kind, layout: l), l) }
    }
    // ascii flag on a kind 2 string
    #expect(throws: PythonReadError.self) { try decode(strObject("ab", kind: 2, layout: l, ascii: true), l) }
    // text that is not there
    #expect(throws: PythonReadError.unreadableMemory(Self.address + l.unicodeASCIIData, count: 500)) {
      try decode(strObject("abc", kind: 1, layout: l, length: 500), l)
    }
    // a caller's own, lower bound
    #expect(throws: PythonReadError.badSize(what: "str length", value: 6)) {
      try PythonString.decode(
        at: Self.address, header: strObject("abcdef", kind: 1, layout: l), layout: l, maxLength: 4,
        readData: FakeMemory().read)
    }
  }

  @Test func garbageNeverTraps() throws {
    var rng = SplitMix64(seed: 42)
    for l in [try layout(2, 7), try layout(3, 11), try layout(3, 12)] {
      for _ in 0..<3_000 {
        let count = Int(rng.next() % 96)
        let object = (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        var memory = FakeMemory()
        memory.regions[Self.address.rawValue] = object
        _ = try? PythonString.decode(at: Self.address, header: object, layout: l, readData: memory.read)
        _ = try? PythonString.bytes(at: Self.address, header: object, layout: l, readData: memory.read)
      }
    }
  }

  @Test func bytesObjects() throws {
    let l = try layout(3, 11)
    var object = [UInt8](repeating: 0, count: l.bytesData)
    object.replaceSubrange(l.varSize..<l.varSize + 8, with: le(3, 8))
    object += [1, 2, 3, 0]
    var memory = FakeMemory()
    memory.regions[Self.address.rawValue] = object
    #expect(try PythonString.bytes(at: Self.address, header: object, layout: l, readData: memory.read) == [1, 2, 3])
    #expect(try PythonString.bytes(at: Self.address, header: [], layout: l, readData: memory.read) == [1, 2, 3])
    object.replaceSubrange(l.varSize..<l.varSize + 8, with: le(UInt64.max, 8))
    #expect(throws: PythonReadError.self) {
      try PythonString.bytes(at: Self.address, header: object, layout: l, readData: memory.read)
    }
  }

  /// Real str objects copied out of each interpreter with ctypes.string_at,
  /// decoded with that version's layout.
  @Test(arguments: LayoutTestPython.all)
  func realObjects(python: LayoutTestPython) throws {
    guard let executable = python.executable else { return try LayoutTestPython.unavailable("Python \(python)") }
    let l = try layout(python.major, python.minor)
    let script = #"""
      import sys, ctypes, binascii, json
      if sys.version_info[0] < 3:
          samples = ["hello", "caf\xc3\xa9", "x" * 300]
      else:
          samples = ["hello", "spin_gr\u00fc\u00dfe", "\u51fd\u6570_gen", "target_\U0001F600.py", "p/" * 300]
      out = []
      for s in samples:
          raw = ctypes.string_at(id(s), sys.getsizeof(s))
          utf8 = s if sys.version_info[0] < 3 else s.encode("utf-8")
          out.append([id(s), binascii.hexlify(raw).decode("ascii"), binascii.hexlify(utf8).decode("ascii")])
      sys.stdout.write(json.dumps(out))
      """#
    let result = try LayoutTestPython.run(executable, ["-c", script])
    try #require(result.status == 0, "\(String(decoding: result.stderr, as: UTF8.self))")
    let samples = try JSONDecoder().decode([[Dumped]].self, from: result.stdout)
    #expect(samples.count >= 3)
    for sample in samples {
      guard case .number(let id) = sample[0], case .hex(let object) = sample[1], case .hex(let utf8) = sample[2] else {
        Issue.record("bad sample \(sample)")
        continue
      }
      let text = try PythonString.decode(at: RemoteAddress(id), header: object, layout: l) {
        (address, count) throws(SystemError) -> [UInt8] in throw .unreadableMemory(address, count: count)
      }
      #expect(text == String(decoding: utf8, as: UTF8.self), "\(python)")
    }
  }
}

/// A JSON array element of the realObjects dump: an address or a hex string.
private enum Dumped: Decodable {
  case number(UInt64)
  case hex([UInt8])
  init(from decoder: Decoder) throws {
    let container = try decoder.singleValueContainer()
    if let n = try? container.decode(UInt64.self) {
      self = .number(n)
      return
    }
    let s = try container.decode(String.self)
    var bytes: [UInt8] = []
    var i = s.startIndex
    while i < s.endIndex, let j = s.index(i, offsetBy: 2, limitedBy: s.endIndex) {
      bytes.append(UInt8(s[i..<j], radix: 16) ?? 0)
      i = j
    }
    self = .hex(bytes)
  }
}
