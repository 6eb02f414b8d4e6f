import Foundation
import Testing

@testable import SampCore

/// The CPython interpreters these tests compare against: every pyenv minor the
/// layouts cover, plus Debian's /usr/bin/python3.11. In CI (CI=true) a missing
/// one fails the test; elsewhere the test is skipped with a message.
struct LayoutTestPython: CustomStringConvertible, Sendable {
  var name: String
  var major: Int
  var minor: Int
  var description: String { name }

  static let names = ["2.7", "3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "debian-3.11"]

  static let pyenvRoot: String = {
    if let root = ProcessInfo.processInfo.environment["PYENV_ROOT"] { return root }
    if let out = try? run("pyenv", ["root"]), out.status == 0 {
      return String(decoding: out.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
    return NSHomeDirectory() + "/.pyenv"
  }()

  /// The install prefix (pyenv) or nil for Debian's system build.
  var prefix: String? {
    guard name != "debian-3.11" else { return nil }
    let versions = (try? FileManager.default.contentsOfDirectory(atPath: Self.pyenvRoot + "/versions")) ?? []
    let patch = versions.filter { $0.hasPrefix(name + ".") && $0.split(separator: ".").count == 3 }
      .sorted { $0.compare($1, options: .numeric) == .orderedAscending }.last
    return patch.map { Self.pyenvRoot + "/versions/" + $0 }
  }

  var executable: String? {
    let path: String
    if name == "debian-3.11" {
      path = "/usr/bin/python3.11"
    } else if let prefix {
      path = prefix + "/bin/python" + name
    } else {
      return nil
    }
    return FileManager.default.isExecutableFile(atPath: path) ? path : nil
  }

  init(_ name: String) {
    self.name = name
    let parts = name.replacingOccurrences(of: "debian-", with: "").split(separator: ".")
    major = Int(parts[0]) ?? 0
    minor = Int(parts[1]) ?? 0
  }

  static var all: [LayoutTestPython] { names.map(LayoutTestPython.init) }

  /// Skips (or, in CI, fails) the current test because `what` is missing.
  static func unavailable(_ what: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    if ProcessInfo.processInfo.environment["CI"] == "true" {
      Issue.record("\(what) is missing; CI needs every interpreter", sourceLocation: sourceLocation)
      return
    }
    #if compiler(>=6.3)
      try Test.cancel("skipped: \(what) is not installed", sourceLocation: sourceLocation)
    #else
      print("skipped: \(what) is not installed")
    #endif
  }

  static func run(_ executable: String, _ arguments: [String], stdin: String? = nil) throws
    -> (status: Int32, stdout: Data, stderr: Data)
  {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable.hasPrefix("/") ? executable : "/usr/bin/env")
    process.arguments = executable.hasPrefix("/") ? arguments : [executable] + arguments
    let out = Pipe()
    let err = Pipe()
    let input = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = input
    try process.run()
    input.fileHandleForWriting.write(Data((stdin ?? "").utf8))
    try input.fileHandleForWriting.close()
    // Drain stderr concurrently so a chatty child cannot block on a full pipe.
    nonisolated(unsafe) var errData = Data()
    let errDone = DispatchSemaphore(value: 0)
    DispatchQueue.global().async {
      errData = err.fileHandleForReading.readDataToEndOfFile()
      errDone.signal()
    }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    errDone.wait()
    process.waitUntilExit()
    return (process.terminationStatus, outData, errData)
  }
}

/// Dumps, for every code object of a few stdlib modules, the raw line table,
/// co_firstlineno and CPython's own line for every instruction offset: from
/// dis.findlinestarts (<=3.9) or co_lines() (3.10+), co_positions() (3.11+) and
/// the C function PyCode_Addr2Line through ctypes. Runs on 2.7 to 3.13.
private let lineTableDumpScript = #"""
import sys, json, dis, types, importlib, binascii
try:
    import ctypes
    addr2line = ctypes.pythonapi.PyCode_Addr2Line
    addr2line.argtypes = [ctypes.py_object, ctypes.c_int]
    addr2line.restype = ctypes.c_int
except Exception:
    addr2line = None

def codes(co):
    found = [co]
    for c in co.co_consts:
        if isinstance(c, types.CodeType):
            found.extend(codes(c))
    return found

V = sys.version_info
step = 1 if V[0] < 3 else 2
out = []
for name in ["argparse", "threading", "json.decoder", "collections"]:
    path = importlib.import_module(name).__file__
    if path.endswith(".pyc"):
        path = path[:-1]
    with open(path, "rb") as f:
        source = f.read()
    for co in codes(compile(source, path, "exec")):
        offsets = list(range(0, len(co.co_code), step))
        entry = {"name": co.co_name, "first": co.co_firstlineno, "step": step}
        if V < (3, 10):
            entry["table"] = binascii.hexlify(co.co_lnotab).decode("ascii")
            starts = sorted(dis.findlinestarts(co))
            line, i, lines = co.co_firstlineno, 0, []
            for off in offsets:
                while i < len(starts) and starts[i][0] <= off:
                    line = starts[i][1]
                    i += 1
                lines.append(line)
        else:
            entry["table"] = binascii.hexlify(co.co_linetable).decode("ascii")
            by_offset = {}
            for start, end, line in co.co_lines():
                for off in range(start, end, 2):
                    by_offset[off] = line
            lines = [by_offset.get(off) for off in offsets]
        entry["lines"] = lines
        if V >= (3, 11):
            entry["positions"] = [p[0] for p in co.co_positions()]
        if addr2line is not None:
            entry["addr2line"] = [None if l < 0 else l for l in (addr2line(co, off) for off in [-2] + offsets)]
        out.append(entry)
sys.stdout.write(json.dumps(out))
"""#

private struct DumpedCode: Decodable {
  var name: String
  var first: Int
  var step: Int
  var table: String
  var lines: [Int?]
  var positions: [Int?]?
  /// PyCode_Addr2Line for offset -2, then for every offset of `lines`.
  var addr2line: [Int?]?

  var tableBytes: [UInt8] {
    var bytes: [UInt8] = []
    var index = table.startIndex
    while index < table.endIndex {
      let next = table.index(index, offsetBy: 2)
      bytes.append(UInt8(table[index..<next], radix: 16) ?? 0)
      index = next
    }
    return bytes
  }
}

@Suite struct PythonLineTableTests {
  @Test(arguments: LayoutTestPython.all)
  func decoderAgreesWithCPython(python: LayoutTestPython) throws {
    guard let executable = python.executable else { return try LayoutTestPython.unavailable("Python \(python)") }
    let layout = try #require(PythonLayout.forVersion(major: python.major, minor: python.minor))
    let result = try LayoutTestPython.run(executable, ["-"], stdin: lineTableDumpScript)
    try #require(result.status == 0, "\(python): \(String(decoding: result.stderr, as: UTF8.self))")
    let codes = try JSONDecoder().decode([DumpedCode].self, from: result.stdout)
    #expect(codes.count > 100)

    var checked = 0
    var mismatches: [String] = []
    for code in codes {
      let table = code.tableBytes
      func decoded(_ offset: Int) -> Int? {
        LineTable.line(forByteOffset: offset, table: table, firstLine: code.first, format: layout.lineTableFormat)
      }
      func compare(_ offset: Int, _ expected: Int?, _ source: String) {
        checked += 1
        let got = decoded(offset)
        if got != expected && mismatches.count < 10 {
          mismatches.append("\(code.name) offset \(offset): got \(got.map(String.init) ?? "nil"), \(source) says \(expected.map(String.init) ?? "nil")")
        }
      }
      for (index, expected) in code.lines.enumerated() {
        compare(index * code.step, expected, "dis/co_lines")
      }
      for (unit, expected) in (code.positions ?? []).enumerated() {
        compare(unit * 2, expected, "co_positions")
      }
      if let viaC = code.addr2line, let atStart = viaC.first {
        compare(-2, atStart, "PyCode_Addr2Line")
        for (index, expected) in viaC.dropFirst().enumerated() {
          compare(index * code.step, expected, "PyCode_Addr2Line")
        }
      }
    }
    #expect(mismatches.isEmpty, "\(python): \(mismatches.joined(separator: "\n"))")
    #expect(checked > 10_000)
    print("\(python): \(checked) offset lookups over \(codes.count) code objects, \(mismatches.count) mismatches")
  }

  // MARK: hand-made tables

  @Test func lnotabSignedAndUnsigned() {
    // (addr +0, line +1), (addr +4, line -1 / +255)
    let table: [UInt8] = [0, 1, 4, 0xff]
    let signed = PythonLayout.LineTableFormat.lnotab(signedLineDelta: true)
    let unsigned = PythonLayout.LineTableFormat.lnotab(signedLineDelta: false)
    #expect(LineTable.line(forByteOffset: 0, table: table, firstLine: 10, format: signed) == 11)
    #expect(LineTable.line(forByteOffset: 4, table: table, firstLine: 10, format: signed) == 10)
    #expect(LineTable.line(forByteOffset: 4, table: table, firstLine: 10, format: unsigned) == 266)
    #expect(LineTable.line(forByteOffset: -2, table: table, firstLine: 10, format: signed) == 10)
  }

  @Test func linetable310NoLineMarker() {
    // [0,4) line +1; [4,6) no line; [6,10) line +2 (relative to the last real line)
    let table: [UInt8] = [4, 1, 2, 0x80, 4, 2]
    let f = PythonLayout.LineTableFormat.linetable310
    #expect(LineTable.line(forByteOffset: 2, table: table, firstLine: 1, format: f) == 2)
    #expect(LineTable.line(forByteOffset: 4, table: table, firstLine: 1, format: f) == nil)
    #expect(LineTable.line(forByteOffset: 8, table: table, firstLine: 1, format: f) == 4)
    #expect(LineTable.line(forByteOffset: 10, table: table, firstLine: 1, format: f) == nil)
  }

  @Test func locationsAllEntryKinds() {
    let table: [UInt8] = [
      0x80 | (13 << 3) | 0, 2,  // no columns, line +1, 1 unit: [0,2)
      0x80 | (11 << 3) | 1, 4, 9,  // one-line form, line +1, 2 units: [2,6)
      0x80 | (3 << 3) | 0, 7,  // short form, same line: [6,8)
      0x80 | (15 << 3) | 0,  // no location: [8,10)
      0x80 | (14 << 3) | 0, 0x45, 0x00, 0, 1, 2,  // long form, line -2 (svarint 5, in two chunks): [10,12)
    ]
    let f = PythonLayout.LineTableFormat.locations311
    let lines = stride(from: 0, to: 14, by: 2).map {
      LineTable.line(forByteOffset: $0, table: table, firstLine: 100, format: f)
    }
    #expect(lines == [101, 102, 102, 102, nil, 100, nil])
  }

  // MARK: garbage

  @Test(arguments: [PythonLayout.LineTableFormat.lnotab(signedLineDelta: true), .lnotab(signedLineDelta: false), .linetable310, .locations311])
  func garbageNeverTraps(format: PythonLayout.LineTableFormat) {
    var rng = SplitMix64(seed: 0x5eed)
    for round in 0..<2_000 {
      let count = Int(rng.next() % 64)
      let table = (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
      let firstLine = round % 7 == 0 ? Int.max - 3 : Int(rng.next() % 5000)
      for offset in [-4, 0, 1, 2, 30, 1 << 20, Int.max / 2] {
        _ = LineTable.line(forByteOffset: offset, table: table, firstLine: firstLine, format: format)
      }
    }
  }

  @Test func truncatedLocationEntriesGiveNil() {
    let f = PythonLayout.LineTableFormat.locations311
    // Long form whose varints run off the end; one-line form missing its columns;
    // a varint that never ends; a byte without the entry-start bit.
    let tables: [[UInt8]] = [
      [0x80 | (14 << 3), 0x41],
      [0x80 | (11 << 3), 1],
      [0x80 | (13 << 3)] + Array(repeating: 0x7f, count: 40),
      [0x05, 0x80 | (13 << 3), 2],
    ]
    for table in tables {
      #expect(LineTable.line(forByteOffset: 0, table: table, firstLine: 1, format: f) == nil)
    }
    #expect(LineTable.line(forByteOffset: 0, table: [], firstLine: 1, format: f) == nil)
    #expect(LineTable.line(forByteOffset: 0, table: [], firstLine: 1, format: .linetable310) == nil)
    #expect(LineTable.line(forByteOffset: 0, table: [7], firstLine: 1, format: .lnotab(signedLineDelta: true)) == 1)
  }
}
