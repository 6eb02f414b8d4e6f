import Foundation
import Testing

/// `sampswift dump`: one look at every thread, whatever one thread's chain holds.
@Suite(.serialized) struct DumpTests {
  /// One thread 10,000 calls deep (past the walk's bound): its chain asks for
  /// the sample to be taken again, and the dump used to print no thread at all
  /// (header lines only, exit 0, nothing on stderr). The other threads are
  /// listed with their frames, and what could not be read is counted.
  @Test(arguments: PythonInterpreter.all)
  func aDeepThreadLeavesTheOtherThreadsListed(_ python: PythonInterpreter) throws {
    let script = Fixtures.path("python/deep.py")
    let line = try FixtureMarkers(script)
    let target = try TargetProcess(python.path, [script], readyTimeout: 60)
    defer { target.stop() }
    let dump = try Sampswift.run(["dump", "--pid", String(target.pid)])
    #expect(dump.status == 0, "\(dump.stderr)")
    #expect(dump.stdout.contains("\"shallow\""), "\(dump.stdout)\n\(dump.stderr)")
    #expect(dump.stdout.contains("shallow (deep.py:\(line["SLEEP"]))"), "\(dump.stdout)")
    #expect(dump.stdout.contains("<module> (deep.py:\(line["MAIN"]))"), "\(dump.stdout)")
    #expect(dump.stdout.contains("errors:"), "the deep thread's chain is counted: \(dump.stdout)")
  }
}
