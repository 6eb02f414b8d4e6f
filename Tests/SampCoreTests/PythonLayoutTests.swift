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
}
