import Foundation
import Glibc
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

  @Test func schedStatIsThreeNumbers() throws {
    let stat = try #require(SchedStat(parsing: Array("635036130 525740 49\n".utf8)))
    #expect(stat == SchedStat(runNanos: 635_036_130, waitNanos: 525_740, timeslices: 49))
    for garbage in ["", "1 2", "1 2 3 4", "1 -2 3", "1 2 x\n"] {
      #expect(SchedStat(parsing: Array(garbage.utf8)) == nil, "\(garbage)")
    }
  }

  /// This process's own threads: the reader works where CONFIG_SCHED_INFO is
  /// set (it is on this machine's kernel), and time on a CPU only grows.
  @Test func schedStatOfThisThread() throws {
    // "/proc/thread-self" links to "PID/task/TID" for the calling thread.
    let link = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self")
    let tid = try #require(link.split(separator: "/").last.flatMap { Int32($0) })
    let reader = try #require(ThreadSchedStatReader(pid: ProcessID(getpid()), tid: ThreadID(tid)))
    let first = try #require(reader.read())
    // 20 ms on the CPU (this thread's own clock, however loaded the machine):
    // several scheduler ticks, each of which adds run time.
    func cpuNanos() -> Int {
      var ts = timespec()
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
      return ts.tv_sec * 1_000_000_000 + ts.tv_nsec
    }
    let start = cpuNanos()
    while cpuNanos() - start < 20_000_000 {}
    let second = try #require(reader.read())
    #expect(second.runNanos > first.runNanos)
  }

  @Test func thisThreadRunsOnAKnownCPU() throws {
    let cpu = try #require(ProcFS.currentCPU())
    #expect(cpu >= 0)
  }
}
