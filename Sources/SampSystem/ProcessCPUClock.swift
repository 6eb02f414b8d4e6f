import Glibc

/// The CPU time of all of a process's threads, the exited ones included, in
/// one clock_gettime on its CPU-time clock (the kernel sums every thread's
/// run time; no /proc file, no ptrace access check). Another process's clock
/// can be read by anyone; its threads' clocks cannot.
public struct ProcessCPUClock: Sendable {
  private let clock: clockid_t

  public init(pid: ProcessID) {
    // MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED): ~pid << 3, clock 2 (run time in ns).
    clock = clockid_t(truncatingIfNeeded: (~pid.rawValue) << 3 | 2)
  }

  /// Nanoseconds of CPU time so far; nil once the process is gone.
  public func read() -> UInt64? {
    var ts = timespec()
    guard clock_gettime(clock, &ts) == 0 else { return nil }
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
  }
}
