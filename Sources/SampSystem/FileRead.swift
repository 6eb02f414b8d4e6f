import Glibc

/// A regular file opened read-only, read by offset (pread), so a parser can copy
/// just the parts it needs (ELF headers, symbol tables) out of a large binary.
public final class FileReader {
  public let path: String
  /// The file's size when it was opened.
  public let size: Int
  private let fd: Int32

  public init(path: String) throws(SystemError) {
    self.path = path
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    if fd < 0 { throw .call("open(\(path))", .current) }
    var st = stat()
    if fstat(fd, &st) != 0 {
      let e = Errno.current
      close(fd)
      throw .call("fstat(\(path))", e)
    }
    self.fd = fd
    self.size = Int(st.st_size)
  }

  deinit { close(fd) }

  /// Exactly `count` bytes at `offset`; throws if the file is shorter.
  public func read(at offset: Int, count: Int) throws(SystemError) -> [UInt8] {
    guard count > 0 else { return [] }
    guard offset >= 0, count <= 1 << 30, offset <= size, count <= size - offset else {
      throw .call("pread(\(path)) past end of file", .ioError)
    }
    var buffer = [UInt8](repeating: 0, count: count)
    var done = 0
    while done < count {
      let n = buffer.withUnsafeMutableBytes { raw in
        pread(fd, raw.baseAddress! + done, count - done, off_t(offset + done))
      }
      if n < 0 {
        if errno == EINTR { continue }
        throw .call("pread(\(path))", .current)
      }
      if n == 0 { throw .call("pread(\(path)) short read", .ioError) }
      done += n
    }
    return buffer
  }
}
