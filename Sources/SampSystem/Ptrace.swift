import CSampShims
import Glibc

/// Typed wrappers over the ptrace requests sampswift uses. There is deliberately no
/// PTRACE_ATTACH (its SIGSTOP can leave a target stopped if the profiler dies) and
/// nothing that writes to the target (no POKE*, no SETREGS).
public enum Ptrace {
  public struct Options: OptionSet, Sendable {
    public let rawValue: UInt
    public init(rawValue: UInt) { self.rawValue = rawValue }
    /// New threads are traced from their first instruction (thread churn).
    public static let traceClone = Options(rawValue: sampswift_ptrace_o_traceclone)
    public static let traceExec = Options(rawValue: sampswift_ptrace_o_traceexec)
    public static let traceExit = Options(rawValue: sampswift_ptrace_o_traceexit)
  }

  /// PTRACE_SEIZE: trace without stopping. If the tracer dies, the kernel detaches.
  public static func seize(_ tid: ThreadID, options: Options) throws(SystemError) {
    try check("ptrace(PTRACE_SEIZE)", sampswift_ptrace_seize(tid.rawValue, options.rawValue))
  }
  /// PTRACE_INTERRUPT: ask a seized thread to stop; completion is seen by `wait`.
  public static func interrupt(_ tid: ThreadID) throws(SystemError) {
    try check("ptrace(PTRACE_INTERRUPT)", sampswift_ptrace_interrupt(tid.rawValue))
  }
  /// PTRACE_CONT, delivering `signal` (0 for none).
  public static func resume(_ tid: ThreadID, deliver signal: Int32 = 0) throws(SystemError) {
    try check("ptrace(PTRACE_CONT)", sampswift_ptrace_cont(tid.rawValue, signal))
  }
  /// PTRACE_LISTEN: leave a thread in group-stop (the user's SIGSTOP) but keep
  /// receiving its events, so SIGCONT resumes it as it would untraced.
  public static func listen(_ tid: ThreadID) throws(SystemError) {
    try check("ptrace(PTRACE_LISTEN)", sampswift_ptrace_listen(tid.rawValue))
  }
  public static func detach(_ tid: ThreadID, deliver signal: Int32 = 0) throws(SystemError) {
    try check("ptrace(PTRACE_DETACH)", sampswift_ptrace_detach(tid.rawValue, signal))
  }
  public static func eventMessage(_ tid: ThreadID) throws(SystemError) -> UInt {
    var message: UInt = 0
    try check("ptrace(PTRACE_GETEVENTMSG)", sampswift_ptrace_geteventmsg(tid.rawValue, &message))
    return message
  }
  /// The signal number of a stop, distinguishing group-stop from PTRACE_INTERRUPT.
  public static func stopSignal(_ tid: ThreadID) throws(SystemError) -> Int32 {
    var signo: Int32 = 0
    try check("ptrace(PTRACE_GETSIGINFO)", sampswift_ptrace_getsiginfo_signo(tid.rawValue, &signo))
    return signo
  }

  private static func check(_ op: String, _ result: Int) throws(SystemError) {
    if result == -1 { throw .call(op, .current) }
  }
}
