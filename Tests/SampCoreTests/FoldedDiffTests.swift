import Testing
@testable import SampCore

@Suite struct FoldedDiffTests {
  @Test func unionWithZerosAndSummedRepeats() {
    let before = "a;b 3\na;c 2\na;b 4\n"
    let after = "a;b 1\na;d 5\n"
    let out = FoldedDiff.diff(before: before, after: after, normalize: false)
    #expect(out == "a;b 7 1\na;c 2 0\na;d 0 5\n")
  }

  @Test func normalizeScalesBeforeToAfterTotal() {
    let out = FoldedDiff.diff(before: "x 10\ny 10\n", after: "x 5\ny 5\n", normalize: true)
    #expect(out == "x 5 5\ny 5 5\n")
  }

  @Test func malformedLinesAreCountedNotFatal() {
    let parsed = FoldedDiff.parse("ok 1\nno count\n\n# comment\nbad -x\n")
    #expect(parsed.counts == ["ok": 1])
    #expect(parsed.malformed == 2)
  }
}
