import Testing

@Suite struct SmokeTests {
  @Test func recordsNativeChainOfSmallFixture() throws {
    let exe = try Fixtures.build("smoke.c", flags: ["-O0", "-g"], output: "smoke")
    let target = try TargetProcess(exe)
    defer { target.stop() }
    let (folded, result) = try Sampswift.record(pid: target.pid, ["--duration", "1", "--rate", "200"])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(folded.malformed.isEmpty)
    #expect(folded.total > 20, "\(result.stderr)")
    let top = try #require(folded.merged.max { $0.value < $1.value })
    #expect(Array(Folded.names(top.key).suffix(3)) == ["main", "middle", "leaf"])
  }
}
