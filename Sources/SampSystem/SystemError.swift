import Glibc

/// An errno value kept typed, with the failing operation named.
public struct Errno: Hashable, Sendable, CustomStringConvertible {
  public var code: Int32
  public init(_ code: Int32) { self.code = code }
  public static var current: Errno { Errno(errno) }
  public var description: String { String(cString: strerror(code)) }

  public static let noSuchProcess = Errno(ESRCH)
  public static let notPermitted = Errno(EPERM)
  public static let accessDenied = Errno(EACCES)
  public static let fault = Errno(EFAULT)
  public static let interrupted = Errno(EINTR)
  public static let noChild = Errno(ECHILD)
  public static let notImplemented = Errno(ENOSYS)
  public static let ioError = Errno(EIO)
}

/// What can go wrong below SampCore, classified where the syscall fails.
public enum SystemError: Error, Hashable, Sendable, CustomStringConvertible {
  /// A system call failed; `operation` names it ("ptrace(PTRACE_SEIZE)").
  case call(_ operation: String, Errno)
  /// A file under /proc could not be read.
  case procfs(path: String, Errno)
  /// A remote read failed or returned fewer bytes than asked.
  case unreadableMemory(RemoteAddress, count: Int)
  /// libunwind reported an error code.
  case unwind(code: Int32)
  /// libdw/libelf reported an error.
  case debugInfo(String)

  public var description: String {
    switch self {
    case .call(let op, let e): return "\(op) failed: \(e)"
    case .procfs(let path, let e): return "cannot read \(path): \(e)"
    case .unreadableMemory(let a, let n): return "cannot read \(n) bytes at \(a)"
    case .unwind(let code): return "unwinder error \(code)"
    case .debugInfo(let message): return "debug info: \(message)"
    }
  }

  public var errno: Errno? {
    switch self {
    case .call(_, let e), .procfs(_, let e): return e
    default: return nil
    }
  }
}
