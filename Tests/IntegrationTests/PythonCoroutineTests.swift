import Testing

/// Coroutines driven by asyncio's event loop show as the await chain that is
/// running: main -> middle -> leaf, with exact lines, on every Python 3.
@Suite(.serialized) struct PythonCoroutineTests {
  @Test(arguments: PythonInterpreter.all.filter { $0.version.major >= 3 })
  func awaitChainIsTheStack(_ python: PythonInterpreter) throws {
    let script = Fixtures.path("python/coroutines.py")
    let line = try FixtureMarkers(script)
    let target = try TargetProcess(python.path, [script])
    defer { target.stop() }
    let (folded, run) = try Sampswift.record(pid: target.pid, ["--duration", "1", "--rate", "200"])
    #expect(run.status == 0, "\(run.stderr)")
    #expect(folded.malformed.isEmpty)
    let chain = ["main (coroutines.py:\(line["MAIN"]))", "middle (coroutines.py:\(line["MIDDLE"]))",
                 "leaf (coroutines.py:\(line["LEAF"]))"]
    let inChain = folded.count { $0.count > chain.count && Array($0.suffix(chain.count)) == chain }
    #expect(folded.total >= 50, "\(run.stderr)")
    // The rest of the time goes to the event loop between steps (asyncio's own
    // frames, which vary by version): the chain must still be the main stack.
    #expect(inChain * 3 >= folded.total, "\(inChain) of \(folded.total)\n\(folded.describeTop())")
  }
}
