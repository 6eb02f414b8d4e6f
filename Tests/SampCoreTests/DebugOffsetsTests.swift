import Foundation
import Testing

@testable import SampCore

/// The bytes of one section of an ELF64 little-endian file, found by name.
private func elfSection(_ name: String, inFile path: String) throws -> [UInt8]? {
  let file = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
  func int(_ at: Int, _ size: Int) -> Int {
    (0..<size).reduce(0) { $0 | Int(file[at + $1]) << (8 * $1) }
  }
  guard file.count > 64, file[0..<4] == [0x7f, 0x45, 0x4c, 0x46], file[4] == 2 else { return nil }
  let sectionTable = int(0x28, 8)
  let entrySize = int(0x3a, 2)
  let count = int(0x3c, 2)
  let names = sectionTable + int(0x3e, 2) * entrySize
  let namesOffset = int(names + 24, 8)
  for index in 0..<count {
    let header = sectionTable + index * entrySize
    var nameAt = namesOffset + int(header, 4)
    var sectionName = ""
    while file[nameAt] != 0 {
      sectionName.append(Character(Unicode.Scalar(file[nameAt])))
      nameAt += 1
    }
    if sectionName == name {
      let offset = int(header + 24, 8)
      return Array(file[offset..<offset + int(header + 32, 8)])
    }
  }
  return nil
}

/// A 3.14 table built from the reference's 3.14.0 values (cpython-internals.md
/// §7.2); fields it did not derive get a plausible 8.
private func image314(_ overrides: [String: UInt64] = [:]) -> [UInt8] {
  let values: [String: UInt64] = [
    "version": 0x030e_00f0, "free_threaded": 0,
    "runtime_state.size": 316_536, "runtime_state.finalizing": 784, "runtime_state.interpreters_head": 808,
    "interpreter_state.size": 225_808, "interpreter_state.id": 7280, "interpreter_state.next": 7272,
    "interpreter_state.threads_head": 7344, "interpreter_state.threads_main": 7360,
    "interpreter_state.imports_modules": 7664, "interpreter_state.sysdict": 7648,
    "interpreter_state.builtins": 7656, "interpreter_state.ceval_gil": 16,
    "interpreter_state.gil_runtime_state": 7760, "interpreter_state.gil_runtime_state_enabled": 0,
    "interpreter_state.gil_runtime_state_locked": 7776, "interpreter_state.gil_runtime_state_holder": 7768,
    "interpreter_state.code_object_generation": 7968, "interpreter_state.tlbc_generation": 0,
    "thread_state.size": 824, "thread_state.prev": 0, "thread_state.next": 8, "thread_state.interp": 16,
    "thread_state.current_frame": 72, "thread_state.thread_id": 152, "thread_state.native_thread_id": 160,
    "thread_state.datastack_chunk": 232, "thread_state.status": 32,
    "interpreter_frame.size": 88, "interpreter_frame.previous": 8, "interpreter_frame.executable": 0,
    "interpreter_frame.instr_ptr": 56, "interpreter_frame.localsplus": 80, "interpreter_frame.owner": 74,
    "interpreter_frame.stackpointer": 64, "interpreter_frame.tlbc_index": 0,
    "code_object.size": 216, "code_object.filename": 112, "code_object.name": 120, "code_object.qualname": 128,
    "code_object.linetable": 136, "code_object.firstlineno": 68, "code_object.argcount": 52,
    "code_object.localsplusnames": 96, "code_object.co_code_adaptive": 208, "code_object.co_tlbc": 0,
    "pyobject.size": 16, "pyobject.ob_type": 8, "type_object.tp_name": 24, "type_object.size": 416,
    "type_object.tp_flags": 168, "tuple_object.ob_item": 32, "tuple_object.ob_size": 16,
    "bytes_object.size": 40, "bytes_object.ob_size": 16, "bytes_object.ob_sval": 32,
    "unicode_object.size": 64, "unicode_object.state": 32, "unicode_object.length": 16,
    "unicode_object.asciiobject_size": 40,
  ].merging(overrides) { $1 }
  var bytes = Array("xdebugpy".utf8)
  for name in DebugOffsets.layout314.dropFirst() {
    let value = values[name] ?? 8
    bytes += (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
  }
  return bytes
}

private func setField(_ name: String, _ value: UInt64, in image: inout [UInt8], schema: [String]) {
  guard let index = schema.firstIndex(of: name) else {
    Issue.record("no field \(name)")
    return
  }
  for i in 0..<8 { image[index * 8 + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
}

@Suite struct DebugOffsetsTests {
  /// The 3.13 table as compiled into libpython3.13's initialized `.PyRuntime`
  /// section (reference §7.1), or nil with the test skipped.
  static func libpython313Table() throws -> [UInt8]? {
    let python = LayoutTestPython("3.13")
    guard let prefix = python.prefix,
      let section = try elfSection(".PyRuntime", inFile: prefix + "/lib/libpython3.13.so.1.0")
    else {
      try LayoutTestPython.unavailable("pyenv 3.13 libpython3.13.so.1.0 with a .PyRuntime section")
      return nil
    }
    return Array(section.prefix(584))
  }

  @Test func realTable313MatchesTheGeneratedLayout() throws {
    guard let table = try Self.libpython313Table() else { return }
    #expect(try DebugOffsets.byteCount(header: Array(table.prefix(DebugOffsets.headerSize))) == 584)
    let offsets = try DebugOffsets.parse(table)
    #expect(offsets.version.major == 3 && offsets.version.minor == 13 && offsets.version.micro == 0)
    #expect(offsets.version.hex == 0x030d_00f0)
    #expect(offsets.offset("runtime_state.interpreters_head") == 632)
    let base = try #require(PythonLayout.forVersion(major: 3, minor: 13))
    let (layout, mismatches) = offsets.apply(to: base)
    #expect(mismatches.isEmpty, "\(mismatches)")
    #expect(layout == base)
    let (viaLookup, _) = try offsets.layout()
    #expect(viaLookup == base)
  }

  @Test func table314MatchesThe314Entry() throws {
    let offsets = try DebugOffsets.parse(image314())
    #expect(offsets.versionString == "3.14.0")
    #expect(try DebugOffsets.byteCount(header: image314()) == 760)
    let base = try #require(PythonLayout.forVersion(major: 3, minor: 14))
    let (layout, mismatches) = offsets.apply(to: base)
    #expect(mismatches.isEmpty, "\(mismatches)")
    #expect(layout == base)
  }

  @Test func targetValuesWinAndDifferencesAreReported() throws {
    let base = try #require(PythonLayout.forVersion(major: 3, minor: 14))
    let image = image314([
      "interpreter_frame.owner": 78, "interpreter_frame.size": 96,
      "unicode_object.asciiobject_size": 48,
      "interpreter_state.gil_runtime_state": 8000, "interpreter_state.gil_runtime_state_locked": 8024,
      "interpreter_state.gil_runtime_state_holder": 8016,
    ])
    let (layout, mismatches) = try DebugOffsets.parse(image).apply(to: base)
    #expect(layout.frameOwner == 78)
    #expect(layout.unicodeASCIIData == 48)
    #expect(layout.unicodeCompactData == base.unicodeCompactData + 8)
    #expect(layout.unicodeLegacyData == base.unicodeLegacyData + 8)
    #expect(layout.gilLocked == 24 && layout.gilLastHolder == 16)
    #expect(mismatches.count == 4, "\(mismatches)")
    #expect(mismatches.contains("interpreter_frame.owner: table 74, target 78"))

    let (_, wrongBase) = try DebugOffsets.parse(image314()).apply(to: try #require(PythonLayout.forVersion(major: 3, minor: 13)))
    #expect(wrongBase.first == "layout for 3.13 applied to CPython 3.14.0")
  }

  @Test func corruptImagesAreRefused() throws {
    let good = image314()
    let schema = DebugOffsets.layout314
    func refuses(_ image: [UInt8], _ expected: PythonReadError? = nil, _ comment: Comment? = nil) {
      do {
        _ = try DebugOffsets.parse(image)
        Issue.record("accepted: \(comment ?? "")")
      } catch {
        if let expected { #expect(error == expected, comment) }
      }
    }
    var badCookie = good
    badCookie[0] = UInt8(ascii: "y")
    refuses(badCookie, .badCookie(Array("ydebugpy".utf8)))
    refuses(Array(good.prefix(10)), .badSize(what: "_Py_DebugOffsets copy (bytes)", value: 10))
    refuses(Array(good.prefix(700)), .badSize(what: "_Py_DebugOffsets copy (bytes)", value: 700))
    refuses([], .badSize(what: "_Py_DebugOffsets copy (bytes)", value: 0))

    for (hex, major, minor) in [(0x030c_01f0 as UInt64, 3, 12), (0x030f_00a1, 3, 15), (0x0400_0000, 4, 0)] {
      var image = good
      setField("version", hex, in: &image, schema: schema)
      refuses(image, .unsupportedVersion(major: major, minor: minor))
    }
    var threaded = good
    setField("free_threaded", 1, in: &threaded, schema: schema)
    refuses(threaded, .unsupportedBuild("free-threaded (no GIL) CPython 3.14.0"))
    setField("free_threaded", 7, in: &threaded, schema: schema)
    refuses(threaded)

    let badSizes: [(String, UInt64)] = [
      ("thread_state.size", 0), ("thread_state.size", 1 << 40), ("interpreter_frame.owner", 200),
      ("code_object.co_code_adaptive", UInt64.max), ("runtime_state.interpreters_head", 400_000),
      ("unicode_object.length", 64),
    ]
    for (name, value) in badSizes {
      var image = good
      setField(name, value, in: &image, schema: schema)
      refuses(image, nil, "\(name) = \(value)")
    }
  }

  @Test func garbageAfterAValidHeaderNeverTraps() throws {
    var rng = SplitMix64(seed: 7)
    let good = image314()
    let header = Array(good.prefix(DebugOffsets.headerSize))
    var parsedCount = 0
    for round in 0..<1_000 {
      var image: [UInt8]
      if round % 2 == 0 {  // random bytes after a valid header
        image = header + (0..<Int(rng.next() % 800)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
      } else {  // a valid table with a few bytes changed
        image = good
        for _ in 0..<3 { image[24 + Int(rng.next() % UInt64(good.count - 24))] = UInt8(truncatingIfNeeded: rng.next()) }
      }
      if let parsed = try? DebugOffsets.parse(image), let base = PythonLayout.forVersion(major: 3, minor: 14) {
        _ = parsed.apply(to: base)
        parsedCount += 1
      }
    }
    #expect(parsedCount > 0)  // some damaged tables still pass the checks and are applied
  }
}
