import Glibc

/// Where profiles go: stdout or a file, written with write(2) so a closed pipe
/// (`| head -1`) is an error we see (EPIPE), not a signal that kills us.
///
/// Profile output never blocks the sampler: while a process is traced, its
/// signals, new threads and exit all wait for the tracer, so a profiler stuck
/// in write(2) behind a reader that stopped reading (`| less`, a stalled pipe)
/// would freeze the target. Bytes the output cannot take at once are kept and
/// written as it takes them; what is left at the end is written, waiting as
/// long as needed, when the OutputFile goes away (after the target is let go).
public final class OutputFile {
  public let path: String
  private let fd: Int32
  private let owned: Bool
  /// False for stderr: a few log lines, written at once (blocking) so none is lost.
  private let buffered: Bool
  /// Accepted but not yet written: `pending[written...]`.
  private var pending: [UInt8] = []
  private var written = 0
  /// Beyond this much unwritten output the reader has stalled for long:
  /// `write` fails (EAGAIN) so recording stops instead of growing without end.
  public static let maximumPending = 16 << 20
  /// The most written at once: a pipe or terminal that polls writable takes
  /// PIPE_BUF bytes without blocking; a regular file takes anything.
  private let chunk: Int

  public static func standardOutput() -> OutputFile { OutputFile(fd: 1, path: "<stdout>", owned: false, buffered: true) }
  public static func standardError() -> OutputFile { OutputFile(fd: 2, path: "<stderr>", owned: false, buffered: false) }

  private init(fd: Int32, path: String, owned: Bool, buffered: Bool) {
    self.fd = fd
    self.path = path
    self.owned = owned
    self.buffered = buffered
    chunk = Self.chunkSize(fd)
  }

  private static func chunkSize(_ fd: Int32) -> Int {
    var info = stat()
    return fstat(fd, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG ? Int.max : Int(PIPE_BUF)
  }

  public init(creating path: String) throws(SystemError) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    if fd < 0 { throw .call("open(\(path))", .current) }
    self.fd = fd
    self.path = path
    self.owned = true
    self.buffered = true
    chunk = Self.chunkSize(fd)
  }

  deinit {
    try? drain(waiting: true)
    if owned { close(fd) }
  }

  public var isTerminal: Bool { isatty(fd) == 1 }

  /// Bytes accepted by `write` and not yet taken by the output.
  public var unwritten: Int { pending.count - written }

  /// Writes `text`, or as much as the output takes now and the rest later.
  /// Throws when the output is closed (EPIPE) or has taken nothing for so long
  /// that `maximumPending` is reached (EAGAIN).
  public func write(_ text: String) throws(SystemError) {
    try write(bytes: text.utf8)
  }

  /// Writes UTF-8 bytes, as `write(_:)` does text.
  public func write(bytes: some Sequence<UInt8>) throws(SystemError) {
    pending.append(contentsOf: bytes)
    try drain(waiting: !buffered)
    if unwritten > Self.maximumPending { throw .call("write(\(path))", Errno(EAGAIN)) }
  }

  /// Writes pending bytes while the output takes them; `waiting` waits for it
  /// (giving up on a second Ctrl-C, or when the output is closed).
  private func drain(waiting: Bool) throws(SystemError) {
    defer {
      // Drop what is written; rarely, so a long backlog is not moved chunk by chunk.
      if written == pending.count {
        pending.removeAll(keepingCapacity: true)
        written = 0
      } else if written > 1 << 20 {
        pending.removeFirst(written)
        written = 0
      }
    }
    while written < pending.count {
      var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
      let ready = poll(&p, 1, waiting ? 200 : 0)
      if ready < 0 {
        if errno == EINTR { continue }
        throw .call("poll(\(path))", .current)
      }
      if ready == 0 {
        if waiting, ProfilerSignals.pendingStopRequest() == nil { continue }
        return
      }
      let n = pending.withUnsafeBytes { bytes in
        Glibc.write(fd, bytes.baseAddress! + written, min(bytes.count - written, chunk))
      }
      if n < 0 {
        if errno == EINTR { continue }
        if errno == EAGAIN || errno == EWOULDBLOCK {
          // An inherited non-blocking descriptor that is full after all: later.
          if !waiting { return }
          usleep(1_000)
          continue
        }
        let failure = Errno.current
        written = pending.count  // closed: nothing more can go out
        throw .call("write(\(path))", failure)
      }
      written += n
    }
  }
}
