import CSampShims
import Glibc

/// Starting `record -- COMMAND`: a child that waits before its exec until the
/// profiler has seized it (`Held.release`), so the command is traced from its
/// first instruction: its earliest samples, the threads it starts at once, and
/// a command that exits at once are all seen. The child gets the profiler's
/// signal mask restored, so Ctrl-C and SIGTERM reach it as they would without
/// sampswift.
public enum Spawn {
  /// A child forked and waiting at its gate: not yet the command.
  public struct Held {
    public let pid: ProcessID
    fileprivate let gate: Int32
    fileprivate let report: Int32

    /// Lets the child exec the command and waits for the exec to succeed or
    /// fail (its errno comes back through the report pipe; EOF means the new
    /// program is in place). Throws the exec's error; the child then exits 127.
    public func release() throws(SystemError) {
      var byte: UInt8 = 1
      while write(gate, &byte, 1) < 0, errno == EINTR {}
      close(gate)
      defer { close(report) }
      var error: Int32 = 0
      var got = 0
      while got < MemoryLayout<Int32>.size {
        let n = withUnsafeMutableBytes(of: &error) { raw in
          read(report, raw.baseAddress! + got, raw.count - got)
        }
        if n < 0, errno == EINTR { continue }
        if n <= 0 { return }  // EOF: the exec went through
        got += n
      }
      throw .call("execvp", Errno(error))
    }

    /// Ends a child whose command is not to run (it could not be seized):
    /// still at its gate, it has run nothing of the command.
    public func abandon() {
      kill(pid.rawValue, SIGKILL)
      close(gate)
      close(report)
      _ = Spawn.reap(pid, blocking: true)
    }
  }

  /// Forks the child for `arguments` (looked up in PATH, as execvp does); it
  /// runs nothing of the command until `release`.
  public static func startHeld(_ arguments: [String]) throws(SystemError) -> Held {
    let gate = try closeOnExecPipe()
    let report: [Int32]
    do { report = try closeOnExecPipe() } catch {
      close(gate[0])
      close(gate[1])
      throw error
    }
    var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
    argv.append(nil)
    defer { for p in argv { free(p) } }
    let pid = sampswift_fork_gated(arguments[0], argv, gate[0], gate[1], report[0], report[1])
    let forkErrno = errno
    close(gate[0])
    close(report[1])
    guard pid > 0 else {
      close(gate[1])
      close(report[0])
      throw .call("fork", Errno(forkErrno))
    }
    return Held(pid: ProcessID(pid), gate: gate[1], report: report[0])
  }

  /// Both ends close-on-exec: neither reaches the command (the profiler
  /// starts no other process meanwhile, so setting the flag after pipe is safe).
  private static func closeOnExecPipe() throws(SystemError) -> [Int32] {
    var fds: [Int32] = [-1, -1]
    guard pipe(&fds) == 0 else { throw .call("pipe", Errno(errno)) }
    for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    return fds
  }

  /// Reaps a spawned child that is not traced (or no longer), returning its status.
  public static func reap(_ pid: ProcessID, blocking: Bool) -> Int32? {
    var status: Int32 = 0
    let r = waitpid(pid.rawValue, &status, blocking ? 0 : WNOHANG)
    return r == pid.rawValue ? status : nil
  }
}
