import SampSystem

/// Every error a user can meet, with a one-line message, a hint and a documented
/// exit code (Docs/sampswift.1, "EXIT STATUS"). Errors inside one sample are
/// counted in the summary instead.
public enum SampError: Error, Equatable, Sendable {
  case invalidPID(String)
  case noSuchProcess(Int32)
  case ownProcess(Int32)
  case kernelThread(Int32, name: String)
  case zombie(Int32, parentPID: Int32)
  case permissionDenied(Int32, ptraceScope: Int?, targetUID: UInt32?, ownUID: UInt32)
  case alreadyTraced(Int32, tracerPID: Int32, tracerName: String)
  /// A bad option or value; the hint says what a good one looks like.
  case invalidOption(String, hint: String? = nil)
  case cannotStartCommand(String, Errno)
  case output(path: String, Errno)
  case input(path: String, Errno)
  case unsupportedPython(version: String, reason: String)
  case system(SystemError)

  /// Exit codes: 0 success; 64 bad usage; 65 no such process; 66 target cannot be
  /// profiled (kernel thread, zombie, the profiler itself); 67 permission denied;
  /// 68 already traced; 69 unsupported Python; 71 command cannot start; 73 output
  /// unwritable; 74 input unreadable (diff); 70 internal.
  public var exitCode: Int32 {
    switch self {
    case .invalidPID, .invalidOption: return 64
    case .noSuchProcess: return 65
    case .ownProcess, .kernelThread, .zombie: return 66
    case .permissionDenied: return 67
    case .alreadyTraced: return 68
    case .unsupportedPython: return 69
    case .cannotStartCommand: return 71
    case .output: return 73
    case .input: return 74
    case .system: return 70
    }
  }

  public var message: String {
    switch self {
    case .invalidPID(let text): return "'\(text)' is not a process ID"
    case .noSuchProcess(let pid): return "no process with PID \(pid)"
    case .ownProcess(let pid): return "PID \(pid) is sampswift itself"
    case .kernelThread(let pid, let name): return "PID \(pid) (\(TerminalText.escaped(name))) is a kernel thread"
    case .zombie(let pid, let parent):
      return "PID \(pid) is a zombie: it has exited and waits for its parent (PID \(parent)) to collect its status"
    case .permissionDenied(let pid, _, let targetUID, let ownUID):
      let owner = targetUID.map { $0 == ownUID ? "" : " (owned by UID \($0), sampswift runs as UID \(ownUID))" } ?? ""
      return "not permitted to trace PID \(pid)\(owner)"
    case .alreadyTraced(let pid, let tracer, let name):
      return "PID \(pid) is already traced by PID \(tracer) (\(TerminalText.escaped(name)))"
    case .invalidOption(let text, _): return text
    case .cannotStartCommand(let command, let e): return "cannot start '\(TerminalText.escaped(command))': \(e)"
    case .output(let path, let e): return "cannot write to \(path): \(e)"
    case .input(let path, let e): return "cannot read \(path): \(e)"
    case .unsupportedPython(let version, let reason): return "Python \(version) is not supported: \(reason)"
    case .system(let e): return e.description
    }
  }

  public var hint: String? {
    switch self {
    case .invalidPID: return "give a positive process ID, as shown by `ps` or `pgrep`"
    case .noSuchProcess: return "check the PID with `ps -p PID`; the process may have exited, or live in another PID namespace (container)"
    case .ownProcess: return "a profiler cannot trace itself; give the PID of the process to profile"
    case .kernelThread: return "kernel threads have no user stack; profile them with `perf record -a`"
    case .zombie: return "a zombie runs no code and has no stack; profile a live process"
    case .permissionDenied(_, let scope, let targetUID, let ownUID):
      return Self.permissionHint(ptraceScope: scope, targetUID: targetUID, ownUID: ownUID)
    case .alreadyTraced:
      return "a process has only one tracer: stop the other debugger or profiler (gdb, strace, py-spy) first"
    case .invalidOption(_, let hint): return hint ?? "see `sampswift help` and `sampswift help COMMAND` for the options"
    case .cannotStartCommand: return "check that the command exists and is executable"
    case .output: return "choose a writable path with -o, or write to stdout"
    case .input: return "give the path of a folded profile written by `sampswift record`"
    case .unsupportedPython: return "sampswift reads CPython 2.7 and 3.6 to 3.14; `--native` still shows native frames"
    case .system: return "this is likely a bug in sampswift; please report it with the command line used"
    }
  }
}

extension SampError {
  /// Why ptrace was refused and what lifts it, most likely cause first: another
  /// user's process, then Yama's ptrace_scope, then a container's missing
  /// capability or seccomp filter.
  static func permissionHint(ptraceScope scope: Int?, targetUID: UInt32?, ownUID: UInt32) -> String {
    var parts: [String] = []
    if let t = targetUID, t != ownUID, ownUID != 0 {
      parts.append("only root (or a process with CAP_SYS_PTRACE) may trace another user's process: run as UID \(t) or with sudo")
    }
    switch scope {
    case .some(1) where ownUID != 0:
      parts.append("kernel.yama.ptrace_scope is 1 (only a process's ancestors may trace it): run with sudo, give sampswift CAP_SYS_PTRACE (`sudo setcap cap_sys_ptrace+ep $(command -v sampswift)`), or `sudo sysctl kernel.yama.ptrace_scope=0`")
    case .some(2):
      parts.append("kernel.yama.ptrace_scope is 2 (only with CAP_SYS_PTRACE): run with sudo or give sampswift CAP_SYS_PTRACE (`sudo setcap cap_sys_ptrace+ep $(command -v sampswift)`)")
    case .some(3):
      parts.append("kernel.yama.ptrace_scope is 3 (ptrace disabled until reboot): no profiler can attach; start the program under `sampswift record -- COMMAND` after a reboot with a lower scope")
    default:
      if parts.isEmpty {
        parts.append(ownUID == 0
          ? "root without CAP_SYS_PTRACE cannot trace (container runtimes drop it)"
          : "tracing needs CAP_SYS_PTRACE here: run with sudo or give sampswift the capability (`sudo setcap cap_sys_ptrace+ep $(command -v sampswift)`)")
      }
    }
    parts.append("in a container, add the capability (`docker run --cap-add SYS_PTRACE`, Kubernetes `securityContext.capabilities.add: [\"SYS_PTRACE\"]`) and allow ptrace in the seccomp profile (Docker before 19.03: `--security-opt seccomp=unconfined`)")
    return parts.joined(separator: "; ")
  }
}

extension SampError: CustomStringConvertible {
  public var description: String { message }
}
