import Glibc

/// The profiler's own signals, handled synchronously: SIGINT, SIGTERM, SIGHUP and
/// SIGCHLD are blocked in every thread and collected with sigtimedwait between
/// samples, so no async handler runs and no event is lost. SIGPIPE is ignored so
/// a closed stdout shows up as EPIPE from write.
public enum ProfilerSignals {
  public enum Wake: Equatable, Sendable {
    case timeout
    /// A traced thread changed state (or a spawned child did).
    case childEvent
    /// The user asked us to stop.
    case stopRequested(signal: Int32)
  }

  private static var set: sigset_t {
    var s = sigset_t()
    sigemptyset(&s)
    for sig in [SIGINT, SIGTERM, SIGHUP, SIGCHLD] { sigaddset(&s, sig) }
    return s
  }

  /// Call first thing in main, before any thread exists, so all inherit the mask.
  public static func install() {
    var s = set
    pthread_sigmask(SIG_BLOCK, &s, nil)
    signal(SIGPIPE, SIG_IGN)
  }

  /// Waits until `deadline` (CLOCK_MONOTONIC ns) or a signal, whichever is first.
  /// A deadline already past still takes what is pending: a sampler that runs
  /// behind schedule must see Ctrl-C and its target's events all the same.
  public static func wait(until deadline: UInt64) -> Wake {
    var s = set
    while true {
      let now = Monotonic.now()
      let left = deadline > now ? deadline - now : 0
      var ts = timespec(tv_sec: Int(left / 1_000_000_000), tv_nsec: Int(left % 1_000_000_000))
      let sig = sigtimedwait(&s, nil, &ts)
      if sig == SIGCHLD { return .childEvent }
      if sig > 0 { return .stopRequested(signal: sig) }
      if errno == EAGAIN { return .timeout }
      // EINTR: retry with the time left.
    }
  }

  /// Waits until a traced thread changes state (SIGCHLD) or `deadline`, whichever
  /// is first. Takes only SIGCHLD: a stop request stays pending for `wait(until:)`.
  public static func waitForChild(until deadline: UInt64) {
    let now = Monotonic.now()
    guard deadline > now else { return }
    let left = deadline - now
    var s = sigset_t()
    sigemptyset(&s)
    sigaddset(&s, SIGCHLD)
    var ts = timespec(tv_sec: Int(left / 1_000_000_000), tv_nsec: Int(left % 1_000_000_000))
    _ = sigtimedwait(&s, nil, &ts)  // EINTR or EAGAIN: the caller checks again
  }

  /// Takes a pending SIGCHLD without waiting. A stop the sampler reaped itself
  /// leaves its SIGCHLD pending; taken before the next drain, it does not wake
  /// the next sleep for nothing (an event after this raises another).
  public static func clearChildSignal() {
    var s = sigset_t()
    sigemptyset(&s)
    sigaddset(&s, SIGCHLD)
    var zero = timespec(tv_sec: 0, tv_nsec: 0)
    _ = sigtimedwait(&s, nil, &zero)
  }

  /// Takes a pending stop request without waiting (checked during long work).
  public static func pendingStopRequest() -> Int32? {
    var pending = sigset_t()
    sigpending(&pending)
    for sig in [SIGINT, SIGTERM, SIGHUP] where sigismember(&pending, sig) == 1 {
      return sig
    }
    return nil
  }

  /// Name of a signal ("SIGTERM").
  public static func name(_ sig: Int32) -> String {
    let names: [Int32: String] = [
      SIGHUP: "SIGHUP", SIGINT: "SIGINT", SIGQUIT: "SIGQUIT", SIGILL: "SIGILL", SIGABRT: "SIGABRT",
      SIGFPE: "SIGFPE", SIGKILL: "SIGKILL", SIGSEGV: "SIGSEGV", SIGPIPE: "SIGPIPE", SIGALRM: "SIGALRM",
      SIGTERM: "SIGTERM", SIGUSR1: "SIGUSR1", SIGUSR2: "SIGUSR2", SIGBUS: "SIGBUS", SIGTRAP: "SIGTRAP",
    ]
    return names[sig] ?? "signal \(sig)"
  }
}

/// Facts about the profiler's own process.
public enum Own {
  public static var pid: ProcessID { ProcessID(getpid()) }
  public static var uid: UInt32 { getuid() }
  /// kernel.yama.ptrace_scope, or nil where Yama is absent.
  public static var ptraceScope: Int? {
    guard let text = try? ProcFS.readText("/proc/sys/kernel/yama/ptrace_scope") else { return nil }
    return Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
  }
}

extension String {
  fileprivate func trimmingCharacters(in _: WhitespaceSet) -> String {
    var s = Substring(self)
    while let c = s.first, c.isWhitespace { s = s.dropFirst() }
    while let c = s.last, c.isWhitespace { s = s.dropLast() }
    return String(s)
  }
}
fileprivate enum WhitespaceSet { case whitespacesAndNewlines }
