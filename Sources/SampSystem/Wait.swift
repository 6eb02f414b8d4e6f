import CSampShims
import Glibc

/// One state change of a traced thread, decoded from waitpid(2)'s status.
public enum TraceEvent: Equatable, Sendable {
  /// Stopped by our PTRACE_INTERRUPT (or a new thread's first stop): ready to read.
  case interrupted
  /// Group-stop from the user's SIGSTOP/SIGTSTP/SIGTTIN/SIGTTOU: must stay stopped.
  case groupStop(signal: Int32)
  /// A signal is about to be delivered: it must be passed on with the resume.
  case signalDelivery(signal: Int32)
  /// The thread created a new thread, whose TID is given (already traced).
  case cloned(newThread: ThreadID)
  /// The process called execve; the image changed under us.
  case exec
  /// The thread is about to exit (PTRACE_O_TRACEEXIT).
  case exiting
  /// The thread is gone: exited with a status, or killed by a signal.
  case exited(status: Int32)
  case killed(signal: Int32, coreDumped: Bool)
  /// A ptrace stop we do not use (such as syscall stops): resume as is.
  case other(status: Int32)

  public var isGone: Bool {
    switch self {
    case .exited, .killed: return true
    default: return false
    }
  }
}

public enum Wait {
  /// Waits for one state change of `tid` (or any traced thread when nil).
  /// Returns nil when `blocking` is false and nothing is pending.
  public static func next(_ tid: ThreadID?, blocking: Bool) throws(SystemError) -> (ThreadID, TraceEvent)? {
    var status: Int32 = 0
    let flags = __WALL | (blocking ? 0 : WNOHANG)
    while true {
      let r = waitpid(tid?.rawValue ?? -1, &status, flags)
      if r == 0 { return nil }
      if r > 0 {
        let who = ThreadID(r)
        return (who, decode(who, status))
      }
      let e = Errno.current
      if e == .interrupted { continue }
      throw .call("waitpid", e)
    }
  }

  static func decode(_ tid: ThreadID, _ status: Int32) -> TraceEvent {
    let low = status & 0x7f
    if low == 0 { return .exited(status: (status >> 8) & 0xff) }
    if (status & 0xff) != 0x7f {
      return .killed(signal: low, coreDumped: (status & 0x80) != 0)
    }
    let signal = (status >> 8) & 0xff
    let event = (status >> 16) & 0xff
    switch event {
    case 0:
      return .signalDelivery(signal: signal)
    case sampswift_ptrace_event_stop:
      switch signal {
      case SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU: return .groupStop(signal: signal)
      default: return .interrupted
      }
    case sampswift_ptrace_event_clone:
      // If the new TID cannot be read (the thread was killed meanwhile), the new
      // thread is still found by its own first stop; never lose this event.
      guard let child = try? Ptrace.eventMessage(tid) else { return .other(status: status) }
      return .cloned(newThread: ThreadID(Int32(truncatingIfNeeded: child)))
    case sampswift_ptrace_event_exec:
      return .exec
    case sampswift_ptrace_event_exit:
      return .exiting
    default:
      return .other(status: status)
    }
  }
}
