import Glibc

/// The calling thread's own CPU time (CLOCK_THREAD_CPUTIME_ID): set against
/// the wall clock, it tells work that took long from work kept off the CPU.
public enum OwnCPUTime {
  /// Nanoseconds of CPU time this thread has used.
  public static func now() -> UInt64 {
    var ts = timespec()
    guard clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0 else { return 0 }
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
  }
}
