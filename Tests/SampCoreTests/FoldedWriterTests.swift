import Foundation
import SampSystem
import Testing
@testable import SampCore

@Suite struct FrameLabelerTests {
  @Test func sanitizesSeparators() {
    #expect(FrameLabeler.sanitize("a;b\nc") == "a:b c")
  }

  @Test(arguments: [
    ("/usr/lib/python3.12/site-packages/requests/api.py", "requests/api.py"),
    ("/root/.pyenv/versions/3.12.1/lib/python3.12/threading.py", "threading.py"),
    ("/root/.pyenv/versions/3.12.1/lib/python3.12/asyncio/events.py", "asyncio/events.py"),
    ("/srv/app/worker.py", "worker.py"),
    ("/home/jörg/lib/python3.12/site-packages/größe/x.py", "größe/x.py"),
    ("/home/jörg/größe.py", "größe.py"),
    ("<string>", "<string>"),
  ])
  func shortensPythonPaths(path: String, short: String) {
    #expect(FrameLabeler.shortPythonPath(path) == short)
  }
}

@Suite struct FrameLabelerNativeTests {
  let labeler = FrameLabeler()

  @Test func withDebugInfo() {
    let frame = Frame(kind: .native, name: "work_a", file: "chains.c", line: 42, module: "chains", address: 0x1234)
    #expect(labeler.label(frame) == "work_a (chains.c:42)")
    #expect(FrameLabeler(lineMode: .none).label(frame) == "work_a (chains.c)")
  }

  @Test func withoutDebugInfo() {
    let frame = Frame(kind: .native, name: "work_a", module: "chains", address: 0x1234)
    #expect(labeler.label(frame) == "work_a (chains)")
  }

  @Test func withoutAName() {
    #expect(labeler.label(Frame(kind: .native, name: nil, module: "libfoo.so", address: 0x7f00_dead_beef)) == "0x7f00deadbeef (libfoo.so)")
    #expect(labeler.label(Frame(kind: .native, name: nil, module: "", address: 0x10)) == "0x10 (?)")
  }

  @Test func demangledNamesKeepTheirPunctuation() {
    let frame = Frame(kind: .native, name: "double geometry::blend<double>(double, double)", file: "a.cpp", line: 7, module: "a")
    #expect(labeler.label(frame) == "double geometry::blend<double>(double, double) (a.cpp:7)")
  }

  @Test func namesNeverCarrySeparators() {
    let frame = Frame(kind: .native, name: "operator;\nweird", file: "x;y.c", line: 1, module: "m")
    let label = labeler.label(frame)
    #expect(!label.contains(";") && !label.contains("\n"))
    #expect(label == "operator: weird (x:y.c:1)")
  }
}

/// Folded output: `root;...;leaf COUNT` lines, one per distinct stack per block.
@Suite struct FoldedWriterTests {
  /// A writer on a fresh file, and a way to read back what reached the file.
  final class Harness {
    let path = FileManager.default.temporaryDirectory
      .appendingPathComponent("folded-\(UUID().uuidString).txt").path
    let writer: FoldedWriter
    init() throws { writer = FoldedWriter(output: try OutputFile(creating: path)) }
    var text: String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
    var lines: [String] { text.split(separator: "\n").map(String.init) }
    deinit { try? FileManager.default.removeItem(atPath: path) }
  }

  @Test func lineFormat() throws {
    let h = try Harness()
    h.writer.add(["main", "run (a.c:3)", "leaf (a.c:9)"], count: 12)
    h.writer.add(["only"], count: 1)
    h.writer.add(["naïve → ü"], count: 1234567)
    try h.writer.flush()
    #expect(h.text == "main;run (a.c:3);leaf (a.c:9) 12\nonly 1\nnaïve → ü 1234567\n")
  }

  @Test func aggregatesIdenticalStacksWithinABlock() throws {
    let h = try Harness()
    h.writer.add(["main", "a"], count: 1)
    h.writer.add(["main", "b"], count: 1)
    h.writer.add(["main", "a"], count: 2)
    #expect(h.text.isEmpty, "nothing is written before a flush")
    try h.writer.flush()
    #expect(h.lines == ["main;a 3", "main;b 1"])
    #expect(h.writer.samplesWritten == 4)
  }

  @Test func blocksConcatenateIntoValidFoldedInput() throws {
    let h = try Harness()
    h.writer.add(["main", "a"], count: 2)
    try h.writer.flush()
    h.writer.add(["main", "a"], count: 3)
    h.writer.add(["main", "c"], count: 1)
    try h.writer.flush()
    try h.writer.flush()  // an empty block writes nothing
    #expect(h.lines == ["main;a 2", "main;a 3", "main;c 1"])
    // What flamegraph.pl does with repeated lines: sum them.
    var summed: [String: Int] = [:]
    for line in h.lines {
      let space = try #require(line.lastIndex(of: " "))
      summed[String(line[..<space]), default: 0] += try #require(Int(line[line.index(after: space)...]))
    }
    #expect(summed == ["main;a": 5, "main;c": 1])
    #expect(h.writer.samplesWritten == 6)
  }

  @Test func ignoresEmptyStacksAndZeroCounts() throws {
    let h = try Harness()
    h.writer.add([], count: 5)
    h.writer.add(["main"], count: 0)
    h.writer.add(["main"], count: -1)
    try h.writer.finish()
    #expect(h.text.isEmpty)
    #expect(h.writer.samplesWritten == 0)
  }

  @Test func finishWritesWhatIsPending() throws {
    let h = try Harness()
    h.writer.add(["main", "z"], count: 7)
    try h.writer.finish()
    #expect(h.lines == ["main;z 7"])
  }

  /// Labels made by FrameLabeler never split a line or a frame, whatever the
  /// target's names contain.
  @Test func labelsWithSeparatorsStayOneFrameEach() throws {
    let h = try Harness()
    let labeler = FrameLabeler()
    let frames = [
      Frame(kind: .native, name: "a;b", module: "m"),
      Frame.python("evil\nname", file: "/srv/x;y.py", line: 3, firstLine: 1),
    ]
    h.writer.add(frames.map(labeler.label), count: 1)
    try h.writer.flush()
    #expect(h.lines.count == 1)
    let line = try #require(h.lines.first)
    let stack = line[..<line.lastIndex(of: " ")!]
    #expect(stack.split(separator: ";").count == 2, "\(line)")
    #expect(line.hasSuffix(" 1"))
  }

  @Test func preservesFirstSeenOrder() throws {
    let h = try Harness()
    for name in ["c", "a", "b", "a", "c"] { h.writer.add(["main", name], count: 1) }
    try h.writer.flush()
    #expect(h.lines == ["main;c 2", "main;a 2", "main;b 1"])
  }
}
