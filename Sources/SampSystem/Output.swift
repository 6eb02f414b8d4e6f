import Glibc

/// Where profiles go: stdout or a file, written with write(2) so a closed pipe
/// (`| head -1`) is an error we see (EPIPE), not a signal that kills us.
public final class OutputFile {
  public let path: String
  private let fd: Int32
  private let owned: Bool

  public static func standardOutput() -> OutputFile { OutputFile(fd: 1, path: "<stdout>", owned: false) }
  public static func standardError() -> OutputFile { OutputFile(fd: 2, path: "<stderr>", owned: false) }

  private init(fd: Int32, path: String, owned: Bool) {
    self.fd = fd
    self.path = path
    self.owned = owned
  }

  public init(creating path: String) throws(SystemError) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    if fd < 0 { throw .call("open(\(path))", .current) }
    self.fd = fd
    self.path = path
    self.owned = true
  }

  deinit { if owned { close(fd) } }

  public var isTerminal: Bool { isatty(fd) == 1 }

  public func write(_ text: String) throws(SystemError) {
    var text = text
    let failure: Errno? = text.withUTF8 { buffer in
      var offset = 0
      while offset < buffer.count {
        let n = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
        if n < 0 {
          if errno == EINTR { continue }
          return Errno.current
        }
        offset += n
      }
      return nil
    }
    if let failure { throw .call("write(\(path))", failure) }
  }
}
