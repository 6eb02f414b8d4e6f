import Testing
@testable import SampSystem

/// /proc/PID/task/TID/stat parsing: fields are counted after the last ')' since
/// a thread's comm may hold spaces and parentheses.
@Suite struct ThreadStatTests {
  // A real line (kernel 6.x) for a thread named "a) b (c", running, last on CPU 1.
  static let line = "4242 (a) b (c) R 4200 4242 4200 34816 4242 4194368 172 0 0 0 1234 56 0 0 20 0 3 0 "
    + "77061 25731072 2330 18446744073709551615 1 1 0 0 0 0 0 16781312 2 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n"

  @Test func readsStateTicksAndProcessor() throws {
    let stat = try #require(ThreadStat(parsing: Array(Self.line.utf8)))
    #expect(stat.state == UInt8(ascii: "R"))
    #expect(stat.isRunning)
    #expect(stat.cpuTicks == 1234 + 56)
    #expect(stat.processor == 1)
  }

  @Test func aShortLineHasNoProcessor() throws {
    let stat = try #require(ThreadStat(parsing: Array("1 (x) S 0 1 1 0 -1 0 0 0 0 0 7 8 0\n".utf8)))
    #expect(stat.state == UInt8(ascii: "S"))
    #expect(!stat.isRunning)
    #expect(stat.cpuTicks == 15)
    #expect(stat.processor == nil)
  }

  @Test func garbageIsNil() {
    #expect(ThreadStat(parsing: Array("no parenthesis here".utf8)) == nil)
    #expect(ThreadStat(parsing: Array("1 (x) R".utf8)) == nil)
  }

  @Test func thisThreadRunsOnAKnownCPU() throws {
    let cpu = try #require(ProcFS.currentCPU())
    #expect(cpu >= 0)
  }
}
