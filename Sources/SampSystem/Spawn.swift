import Glibc

/// Starting `record -- COMMAND`: a child process with the profiler's signal mask
/// restored, so Ctrl-C and SIGTERM reach it as they would without sampswift.
public enum Spawn {
  public static func start(_ arguments: [String]) throws(SystemError) -> ProcessID {
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var empty = sigset_t()
    sigemptyset(&empty)
    posix_spawnattr_setsigmask(&attributes, &empty)
    var defaults = sigset_t()
    sigemptyset(&defaults)
    sigaddset(&defaults, SIGPIPE)
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

    var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
    argv.append(nil)
    defer { for p in argv { free(p) } }
    var pid: pid_t = 0
    let r = posix_spawnp(&pid, arguments[0], nil, &attributes, argv, environ)
    if r != 0 { throw .call("posix_spawnp", Errno(r)) }
    return ProcessID(pid)
  }

  /// Reaps a spawned child that is not traced (or no longer), returning its status.
  public static func reap(_ pid: ProcessID, blocking: Bool) -> Int32? {
    var status: Int32 = 0
    let r = waitpid(pid.rawValue, &status, blocking ? 0 : WNOHANG)
    return r == pid.rawValue ? status : nil
  }
}
