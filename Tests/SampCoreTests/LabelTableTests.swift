import Foundation
import Testing
import SampSystem
@testable import SampCore

@Suite struct LabelTableTests {
  @Test func idsAreStableAndTextComesBack() {
    let table = LabelTable()
    let a = table.id("main (a.py:1)")
    let b = table.id("run (a.py:9)")
    #expect(a != b)
    #expect(table.id("main (a.py:1)") == a)
    #expect(table[a] == "main (a.py:1)" && table[b] == "run (a.py:9)")
    let c = table.id("größe (ü.py:3)")
    #expect(Array(table.bytes(c)) == Array("größe (ü.py:3)".utf8) && table[c] == "größe (ü.py:3)")
    #expect(Array(table.bytes(a)) == Array("main (a.py:1)".utf8))
    table.trim()
    #expect(table.generation == 0 && table.count == 3, "a small table is kept")
  }

  /// Memory stays bounded over a run of ever new labels; IDs handed out before
  /// the reset are void, which the generation tells.
  @Test func anOversizedTableIsEmptiedAtTrim() {
    let table = LabelTable()
    for i in 0...LabelTable.maxLabels { _ = table.id("f\(i)") }
    table.trim()
    #expect(table.generation == 1 && table.count == 0)
    #expect(table.id("again") == 0)
  }

  @Test func writerAddsByTextOrIDAlike() throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("labels-\(UUID().uuidString).txt").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    let writer = FoldedWriter(output: try OutputFile(creating: path))
    writer.add(["main", "a"], count: 2)
    writer.add(ids: [writer.labels.id("main"), writer.labels.id("a")], count: 3)
    try writer.finish()
    #expect(try String(contentsOfFile: path, encoding: .utf8) == "main;a 5\n")
  }

  /// Frames with an identity compare by it alone; frames without compare every
  /// field; the two kinds never equal each other (so hashing stays consistent).
  @Test func frameIdentityStandsForTheFields() {
    let plain = Frame.python("run", file: "a.py", line: 3, firstLine: 1)
    let named = Frame.python("run", file: "a.py", line: 3, firstLine: 1, identity: 7 << 32 | 4)
    #expect(plain == Frame.python("run", file: "a.py", line: 3, firstLine: 1))
    #expect(plain != Frame.python("run", file: "a.py", line: 4, firstLine: 1))
    #expect(named == Frame.python("run", file: "a.py", line: 3, firstLine: 1, identity: 7 << 32 | 4))
    #expect(named != plain)
    #expect(named != Frame.python("run", file: "a.py", line: 3, firstLine: 1, identity: 8 << 32 | 4))
    let set: Set<Frame> = [plain, named, Frame.python("run", file: "a.py", line: 3, firstLine: 1, identity: 7 << 32 | 4)]
    #expect(set.count == 2)
  }
}
