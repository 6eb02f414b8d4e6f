import Foundation
import Testing

@testable import SampCore

@Suite struct PythonLayoutTests {
  static let minors = [(2, 7), (3, 6), (3, 7), (3, 8), (3, 9), (3, 10), (3, 11), (3, 12), (3, 13), (3, 14)]

  @Test func oneEntryPerMinor() throws {
    #expect(PythonLayout.generated.count == Self.minors.count)
    for (major, minor) in Self.minors {
      let layout = try #require(PythonLayout.forVersion(major: major, minor: minor), "\(major).\(minor)")
      #expect(layout.major == major && layout.minor == minor)
    }
    #expect(PythonLayout.forVersion(major: 3, minor: 5) == nil)
    #expect(PythonLayout.forVersion(major: 3, minor: 15) == nil)
    #expect(PythonLayout.forVersion(major: 4, minor: 0) == nil)
  }

  /// Values from the table in the shared CPython reference (cpython-internals.md §8).
  @Test func knownOffsetsFromTheReference() throws {
    let expected: [(String, (PythonLayout) -> Int?, Int)] = [
      ("3.7 runtimeGILLocked", { $0.runtimeGILLocked }, 1280),
      ("3.7 runtimeGILLastHolder", { $0.runtimeGILLastHolder }, 1272),
      ("3.7 runtimeTstateCurrent", { $0.runtimeTstateCurrent }, 1480),
      ("3.7 runtimeInterpretersHead", { $0.runtimeInterpretersHead }, 24),
      ("3.7 tstateThreadID", { $0.tstateThreadID }, 176),
      ("3.7 frameLasti", { $0.frameLasti }, 104),
      ("3.7 codeLineTable", { $0.codeLineTable }, 112),
      ("3.8 runtimeGILLocked", { $0.runtimeGILLocked }, 1168),
      ("3.8 runtimeTstateCurrent", { $0.runtimeTstateCurrent }, 1368),
      ("3.8 codeFirstLineNo", { $0.codeFirstLineNo }, 40),
      ("3.9 runtimeGILLocked", { $0.runtimeGILLocked }, 368),
      ("3.9 runtimeTstateCurrent", { $0.runtimeTstateCurrent }, 568),
      ("3.10 frameLasti", { $0.frameLasti }, 96),
      ("3.11 frameOwner", { $0.frameOwner }, 69),
      ("3.11 frameIsEntry", { $0.frameIsEntry }, 68),
      ("3.11 framePrevious", { $0.framePrevious }, 48),
      ("3.11 tstateCFrame", { $0.tstateCFrame }, 56),
      ("3.11 cframeCurrentFrame", { $0.cframeCurrentFrame }, 8),
      ("3.11 tstateNativeThreadID", { $0.tstateNativeThreadID }, 160),
      ("3.11 codeCodeAdaptive", { $0.codeCodeAdaptive }, 184),
      ("3.11 codeFirstTraceable", { $0.codeFirstTraceable }, 168),
      ("3.11 unicodeCompactData", { $0.unicodeCompactData }, 72),
      ("3.12 tstateThreadID", { $0.tstateThreadID }, 136),
      ("3.12 tstateNativeThreadID", { $0.tstateNativeThreadID }, 144),
      ("3.12 interpGILPointer", { $0.interpGILPointer }, 384),
      ("3.12 interpThreadsHead", { $0.interpThreadsHead }, 72),
      ("3.12 cframeCurrentFrame", { $0.cframeCurrentFrame }, 0),
      ("3.12 frameOwner", { $0.frameOwner }, 70),
      ("3.12 tstateStatus", { $0.tstateStatus }, 24),
      ("3.12 unicodeASCIIData", { $0.unicodeASCIIData }, 40),
      ("3.12 unicodeCompactData", { $0.unicodeCompactData }, 56),
      ("3.13 runtimeInterpretersHead", { $0.runtimeInterpretersHead }, 632),
      ("3.13 interpNext", { $0.interpNext }, 7264),
      ("3.13 interpThreadsHead", { $0.interpThreadsHead }, 7344),
      ("3.13 interpGILPointer", { $0.interpGILPointer }, 16),
      ("3.13 tstateCurrentFrame", { $0.tstateCurrentFrame }, 72),
      ("3.13 tstateStatus", { $0.tstateStatus }, 32),
      ("3.13 statusHoldsGILBit", { $0.statusHoldsGILBit }, 5),
      ("3.13 codeCodeAdaptive", { $0.codeCodeAdaptive }, 200),
      ("3.13 codeFirstTraceable", { $0.codeFirstTraceable }, 184),
      ("3.14 runtimeInterpretersHead", { $0.runtimeInterpretersHead }, 808),
      ("3.14 interpNext", { $0.interpNext }, 7272),
      ("3.14 frameOwner", { $0.frameOwner }, 74),
      ("3.14 tstateHoldsGIL", { $0.tstateHoldsGIL }, 36),
      ("3.14 codeCodeAdaptive", { $0.codeCodeAdaptive }, 208),
      ("3.14 codeFirstTraceable", { $0.codeFirstTraceable }, 192),
    ]
    for (label, field, value) in expected {
      let version = label.split(separator: " ")[0].split(separator: ".").compactMap { Int($0) }
      let layout = try #require(PythonLayout.forVersion(major: version[0], minor: version[1]))
      #expect(field(layout) == value, "\(label)")
    }
  }

  @Test func pythonTwoAndThreeSixUseSymbolsAndPython2Strings() throws {
    let py27 = try #require(PythonLayout.forVersion(major: 2, minor: 7))
    #expect(py27.stringModel == .bytes)
    #expect(py27.bytesData == 36)  // PyStringObject.ob_sval, after ob_shash and ob_sstate
    #expect(py27.lineTableFormat == .lnotab(signedLineDelta: false))
    #expect(py27.tstateNext == 0 && py27.tstateThreadID == 144)
    let py36 = try #require(PythonLayout.forVersion(major: 3, minor: 6))
    #expect(py36.lineTableFormat == .lnotab(signedLineDelta: true))
    for layout in [py27, py36] {
      #expect(layout.runtimeInterpretersHead == nil)
      #expect(layout.interpHeadSymbol == "interp_head")
      #expect(layout.tstateCurrentSymbol == "_PyThreadState_Current")
    }
  }

  /// The fields the walker branches on must agree with each other in every entry.
  @Test func entriesAreConsistent() {
    for layout in PythonLayout.generated {
      let v = layout.versionString
      let hasRuntime = layout.runtimeInterpretersHead != nil
      #expect(hasRuntime == (layout.interpHeadSymbol == nil), "\(v)")
      #expect((layout.runtimeDebugOffsets != nil) == (layout.major == 3 && layout.minor >= 13), "\(v)")
      switch layout.frameModel {
      case .frameObject:
        #expect(layout.tstateFrame != nil && layout.frameLasti != nil, "\(v)")
        #expect(layout.frameInstrPtr == nil && layout.frameOwner == nil, "\(v)")
        if case .locations311 = layout.lineTableFormat { Issue.record("\(v): frame objects with a 3.11 table") }
      case .interpreterFrame:
        #expect(layout.tstateFrame == nil && layout.frameLasti == nil, "\(v)")
        #expect(layout.frameInstrPtr != nil && layout.frameOwner != nil, "\(v)")
        #expect(layout.codeCodeAdaptive != nil && layout.codeQualname != nil, "\(v)")
        #expect((layout.tstateCFrame != nil) != (layout.tstateCurrentFrame != nil), "\(v)")
        #expect((layout.tstateCFrame != nil) == (layout.cframeCurrentFrame != nil), "\(v)")
        #expect(layout.lineTableFormat == .locations311, "\(v)")
      }
      // One way to find the GIL holder, at most, per version.
      #expect(!(layout.runtimeGILLocked != nil && layout.interpGILPointer != nil), "\(v)")
      #expect(layout.lastiIsCodeUnits == (layout.major == 3 && layout.minor == 10), "\(v)")
      #expect(layout.executableTagMask == (layout.minor >= 14 && layout.major == 3 ? 3 : 0), "\(v)")
    }
  }

  /// Regenerating from the installed headers gives the committed file (about
  /// a second: ten small gcc runs).
  @Test func generatedFileIsUpToDate() throws {
    let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent()
    let script = repo.appendingPathComponent("Sources/SampCore/Python/Layouts/generate_layouts.py").path
    guard FileManager.default.isExecutableFile(atPath: "/usr/bin/gcc") else {
      return try LayoutTestPython.unavailable("gcc")
    }
    let result = try LayoutTestPython.run("python3", [script, "--check"])
    let stderr = String(decoding: result.stderr, as: UTF8.self)
    if result.status != 0 && stderr.contains("no pyenv headers") {
      return try LayoutTestPython.unavailable("pyenv headers (\(stderr))")
    }
    #expect(result.status == 0, "\(stderr)")
  }

  /// Inside each real interpreter, follows every offset of its layout with
  /// ctypes (thread states, frames, code objects, GIL, _PyRuntime) and compares
  /// with what Python itself reports; then decodes the caller's line with
  /// LineTable, as the walker will.
  @Test(arguments: LayoutTestPython.all)
  func liveInterpreterAgreesWithLayout(python: LayoutTestPython) throws {
    guard let executable = python.executable else { return try LayoutTestPython.unavailable("Python \(python)") }
    let layout = try #require(PythonLayout.forVersion(major: python.major, minor: python.minor))
    let result = try LayoutTestPython.run(executable, ["-c", liveLayoutScript, try layoutJSON(layout)])
    try #require(result.status == 0, "\(python): \(String(decoding: result.stderr, as: UTF8.self))")
    let report = try JSONDecoder().decode(LiveReport.self, from: result.stdout)
    #expect(report.checks.count >= 19)
    for check in report.checks {
      guard case .string(let name) = check[0], case .bool(let ok) = check[1], case .string(let detail) = check[2] else {
        Issue.record("malformed check \(check)")
        continue
      }
      #expect(ok, "\(python) \(name): \(detail)")
    }
    let line = report.line
    #expect(
      LineTable.line(forByteOffset: line.offset, table: line.table, firstLine: line.first, format: layout.lineTableFormat)
        == line.line, "\(python)")
  }
}

/// The layout as a JSON object of its Int, Bool and String fields (nil fields left out).
private func layoutJSON(_ layout: PythonLayout) throws -> String {
  var fields: [String: Any] = ["glibcPthreadTIDOffset": PythonLayout.glibcPthreadTIDOffset]
  for child in Mirror(reflecting: layout).children {
    guard let label = child.label else { continue }
    if let value = child.value as? Bool {
      fields[label] = value
    } else if let value = child.value as? Int {
      fields[label] = value
    } else if let value = child.value as? UInt64 {
      fields[label] = Int(value)
    } else if let value = child.value as? String {
      fields[label] = value
    }
  }
  return String(decoding: try JSONSerialization.data(withJSONObject: fields), as: UTF8.self)
}

private struct LiveReport: Decodable {
  enum Value: Decodable {
    case string(String)
    case bool(Bool)
    init(from decoder: Decoder) throws {
      let container = try decoder.singleValueContainer()
      if let b = try? container.decode(Bool.self) { self = .bool(b) } else { self = .string(try container.decode(String.self)) }
    }
  }
  struct Line: Decodable {
    var table: [UInt8]
    var first: Int
    var offset: Int
    var line: Int
  }
  /// [name, ok, detail]
  var checks: [[Value]]
  var line: Line
}

/// Run as `python -c SCRIPT LAYOUT_JSON`; works on 2.7 to 3.13. A second thread
/// waits on an event so thread lists have two entries.
private let liveLayoutScript = #"""
    import sys, json, ctypes, threading, dis
    L = json.loads(sys.argv[1])
    api = ctypes.pythonapi
    api.PyThreadState_Get.restype = ctypes.c_void_p
    api.PyInterpreterState_Head.restype = ctypes.c_void_p
    libc = ctypes.CDLL(None)
    def ptr(a): return ctypes.c_void_p.from_address(a).value or 0
    def i32(a): return ctypes.c_int.from_address(a).value
    def u32(a): return ctypes.c_uint.from_address(a).value
    def i64(a): return ctypes.c_long.from_address(a).value
    def u8(a): return ctypes.c_ubyte.from_address(a).value
    out = {"checks": []}
    def check(name, got, want):
        out["checks"].append([name, got == want, "got %r, want %r" % (got, want)])
    def has(name): return L.get(name) is not None

    started, release = threading.Event(), threading.Event()
    def other():
        started.set(); release.wait()
    t = threading.Thread(target=other)
    t.daemon = True  # never keeps the process alive, whatever happens below
    t.start(); started.wait()

    def never(): pass

    def inner():
        ts = api.PyThreadState_Get()
        interp = api.PyInterpreterState_Head()
        me = sys._getframe(); caller = me.f_back
        check("tstateInterp", ptr(ts + L["tstateInterp"]), interp)
        check("tstateThreadID", ptr(ts + L["tstateThreadID"]), threading.current_thread().ident)
        check("glibcPthreadTIDOffset", i32(threading.current_thread().ident + L["glibcPthreadTIDOffset"]), libc.syscall(186))
        head = ptr(interp + L["interpThreadsHead"])
        check("interpThreadsHead (newest thread)", ptr(head + L["tstateThreadID"]), t.ident)
        check("tstateNext", ptr(head + L["tstateNext"]), ts)
        check("interpNext", ptr(interp + L["interpNext"]), 0)
        if has("runtimeInterpretersHead"):
            runtime = ctypes.addressof(ctypes.c_char.in_dll(api, "_PyRuntime"))
            check("runtimeInterpretersHead", ptr(runtime + L["runtimeInterpretersHead"]), interp)
            if has("runtimeDebugOffsets"):
                check("runtimeDebugOffsets", ctypes.string_at(runtime + L["runtimeDebugOffsets"], 8), b"xdebugpy")
        if has("runtimeGILLocked"):
            check("runtimeGILLocked", i32(runtime + L["runtimeGILLocked"]), 1)
            check("runtimeGILLastHolder", ptr(runtime + L["runtimeGILLastHolder"]), ts)
            check("runtimeTstateCurrent", ptr(runtime + L["runtimeTstateCurrent"]), ts)
        if has("interpGILPointer"):
            gil = ptr(interp + L["interpGILPointer"])
            check("gilLocked", i32(gil + L["gilLocked"]), 1)
            check("gilLastHolder", ptr(gil + L["gilLastHolder"]), ts)
        if has("tstateCurrentSymbol"):
            check("tstateCurrentSymbol", ptr(ctypes.addressof(ctypes.c_char.in_dll(api, L["tstateCurrentSymbol"]))), ts)
        if has("statusHoldsGILBit"):
            check("statusHoldsGILBit (this thread)", (u32(ts + L["tstateStatus"]) >> L["statusHoldsGILBit"]) & 1, 1)
            check("statusHoldsGILBit (other thread)", (u32(head + L["tstateStatus"]) >> L["statusHoldsGILBit"]) & 1, 0)
        if has("tstateNativeThreadID"):
            check("tstateNativeThreadID", i64(ts + L["tstateNativeThreadID"]), libc.syscall(186))
        if has("tstateDatastackChunk"):
            check("tstateDatastackChunk non-null", ptr(ts + L["tstateDatastackChunk"]) != 0, True)
        # frames: this function's, then its caller's
        # Read the top frame inline: a Python helper would be the top frame itself.
        if has("tstateFrame"):
            f = ctypes.c_void_p.from_address(ts + L["tstateFrame"]).value
            check("tstateFrame", f, id(me))
            check("framePrevious", ptr(f + L["framePrevious"]), id(caller))
            f = ptr(f + L["framePrevious"])
            lasti = i32(f + L["frameLasti"]) * (2 if L["lastiIsCodeUnits"] else 1)
        else:
            if has("tstateCFrame"):
                f = ctypes.c_void_p.from_address(
                    ctypes.c_void_p.from_address(ts + L["tstateCFrame"]).value + L["cframeCurrentFrame"]).value
            else:
                f = ctypes.c_void_p.from_address(ts + L["tstateCurrentFrame"]).value
            check("frameCode (this frame)", ptr(f + L["frameCode"]), id(me.f_code))
            check("frameOwner (this frame)", u8(f + L["frameOwner"]), 0)
            if has("frameIsEntry"):
                check("frameIsEntry (this frame)", u8(f + L["frameIsEntry"]), 0)
            f = ptr(f + L["framePrevious"])
            owners, g = [], f
            while g and len(owners) < 50:
                owners.append(u8(g + L["frameOwner"])); last = g; g = ptr(g + L["framePrevious"])
            if has("ownerCStack"):
                check("ownerCStack (bottom frame)", owners[-1], L["ownerCStack"])
            if has("frameIsEntry"):
                check("frameIsEntry (bottom frame)", u8(last + L["frameIsEntry"]), 1)
            code = ptr(f + L["frameCode"])
            lasti = ptr(f + L["frameInstrPtr"]) - (code + L["codeCodeAdaptive"])
        co = caller.f_code
        check("frameCode", ptr(f + L["frameCode"]), id(co))
        check("frameLasti / frameInstrPtr", lasti, caller.f_lasti)
        code = id(co)
        check("codeName", ptr(code + L["codeName"]), id(co.co_name))
        check("codeFilename", ptr(code + L["codeFilename"]), id(co.co_filename))
        check("codeFirstLineNo", i32(code + L["codeFirstLineNo"]), co.co_firstlineno)
        table = co.co_linetable if sys.version_info >= (3, 10) else co.co_lnotab
        tab = ptr(code + L["codeLineTable"])
        check("codeLineTable", tab, id(table))
        check("varSize", i64(tab + L["varSize"]), len(table))
        check("bytesData", ctypes.string_at(tab + L["bytesData"], len(table)), table)
        if has("codeQualname"):
            check("codeQualname", ptr(code + L["codeQualname"]), id(co.co_qualname))
            nc = never.__code__
            check("codeCodeAdaptive", ctypes.string_at(id(nc) + L["codeCodeAdaptive"], len(nc.co_code)), nc.co_code)
            ft = i32(id(nc) + L["codeFirstTraceable"])
            check("codeFirstTraceable", ord(nc.co_code[2 * ft:2 * ft + 1]), dis.opmap["RESUME"])
        check("objectType", ptr(id(co) + L["objectType"]), id(type(co)))
        check("typeName", ctypes.string_at(ptr(id(int) + L["typeName"])), b"int")
        out["line"] = {"table": list(bytearray(table)), "first": co.co_firstlineno, "offset": lasti, "line": caller.f_lineno}

    def outer():
        inner()
    try:
        outer()
    finally:
        release.set(); t.join()
    sys.stdout.write(json.dumps(out))
    """#
