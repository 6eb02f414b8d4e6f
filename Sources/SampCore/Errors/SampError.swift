import SampSystem

/// Every error a user can meet, with a one-line message, a hint and a documented
/// exit code (Docs/sampswift.1, "EXIT STATUS"). Errors inside one sample are
/// counted in the summary instead.
public enum SampError: Error, Equatable, Sendable {
  case invalidPID(String)
  case noSuchProcess(Int32)
  case ownProcess(Int32)
  case kernelThread(Int32, name: String)
  case zombie(Int32)
  case permissionDenied(Int32, ptraceScope: Int?, targetUID: UInt32?, ownUID: UInt32)
  case alreadyTraced(Int32, tracerPID: Int32, tracerName: String)
  case invalidOption(String)
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
    case .kernelThread(let pid, let name): return "PID \(pid) (\(name)) is a kernel thread"
    case .zombie(let pid): return "PID \(pid) is a zombie: it has exited and waits for its parent"
    case .permissionDenied(let pid, _, _, _): return "not permitted to trace PID \(pid)"
    case .alreadyTraced(let pid, let tracer, let name):
      return "PID \(pid) is already traced by PID \(tracer) (\(name))"
    case .invalidOption(let text): return text
    case .cannotStartCommand(let command, let e): return "cannot start '\(command)': \(e)"
    case .output(let path, let e): return "cannot write to \(path): \(e)"
    case .input(let path, let e): return "cannot read \(path): \(e)"
    case .unsupportedPython(let version, let reason): return "Python \(version) is not supported: \(reason)"
    case .system(let e): return e.description
    }
  }

  public var hint: String? {
    switch self {
    case .invalidPID: return "give a positive process ID, as shown by `ps` or `pgrep`"
    case .noSuchProcess: return "check the PID with `ps -p PID`; the process may have exited"
    case .ownProcess: return "give the PID of the process to profile"
    case .kernelThread: return "kernel threads have no user stack; profile them with `perf record -a`"
    case .zombie: return "a zombie runs no code; profile a live process"
    case .permissionDenied(_, let scope, let targetUID, let ownUID):
      var parts: [String] = []
      if let t = targetUID, t != ownUID, ownUID != 0 {
        parts.append("the target belongs to UID \(t): run as that user or with sudo")
      }
      if let scope, scope >= 1, ownUID != 0 {
        parts.append("kernel.yama.ptrace_scope is \(scope): run with sudo, grant CAP_SYS_PTRACE (setcap cap_sys_ptrace+ep), or `sysctl kernel.yama.ptrace_scope=0`")
      }
      parts.append("in a container, add the capability: `docker run --cap-add SYS_PTRACE` (Kubernetes: securityContext.capabilities.add: [SYS_PTRACE]); a seccomp profile may also block ptrace")
      return parts.joined(separator: "; ")
    case .alreadyTraced:
      return "a process has only one tracer: stop the other debugger or profiler (gdb, strace, py-spy) first"
    case .invalidOption: return "see `sampswift help record`"
    case .cannotStartCommand: return "check that the command exists and is executable"
    case .output: return "choose a writable path with -o, or write to stdout"
    case .input: return "give the path of a folded profile written by `sampswift record`"
    case .unsupportedPython: return "sampswift reads CPython 2.7 and 3.6 to 3.14; `--native` still shows native frames"
    case .system: return "this is likely a bug in sampswift; please report it with the command line used"
    }
  }
}

extension SampError: CustomStringConvertible {
  public var description: String { message }
}
