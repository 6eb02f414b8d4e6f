import CSampShims
import Glibc

/// Reads the target's memory. Everything above this works on copied bytes, so a
/// fake image (tests) and a live process are interchangeable.
public protocol RemoteMemory: AnyObject {
  /// Copies `count` bytes at `address`; throws if any byte is unreadable.
  func read(at address: RemoteAddress, count: Int) throws(SystemError) -> [UInt8]
  /// Reads several ranges at once (one syscall on a live process), as slices
  /// of one buffer.
  func read(ranges: [(RemoteAddress, Int)]) throws(SystemError) -> [ArraySlice<UInt8>]
  /// The bytes as a view; a cache may hand out a view of what it holds rather
  /// than a copy (no allocation per read).
  func view(at address: RemoteAddress, count: Int) throws(SystemError) -> ByteView
  /// A read to run the moment threads stop (`StopCopy`); nil where reads are
  /// not one cheap syscall (a fake image, /proc/PID/mem).
  func makeStopCopy() -> StopCopy?
}

extension RemoteMemory {
  public func makeStopCopy() -> StopCopy? { nil }
  public func view(at address: RemoteAddress, count: Int) throws(SystemError) -> ByteView {
    ByteView(try read(at: address, count: count))
  }
  public func read(ranges: [(RemoteAddress, Int)]) throws(SystemError) -> [ArraySlice<UInt8>] {
    try readEach(ranges)
  }
  /// The ranges one read each: the fallback of any batched read.
  public func readEach(_ ranges: [(RemoteAddress, Int)]) throws(SystemError) -> [ArraySlice<UInt8>] {
    var out: [ArraySlice<UInt8>] = []
    out.reserveCapacity(ranges.count)
    for (a, n) in ranges { out.append(try read(at: a, count: n)[...]) }
    return out
  }
  public func readUInt64(at address: RemoteAddress) throws(SystemError) -> UInt64 {
    ByteView(try read(at: address, count: 8)).u64(at: 0)
  }
  public func readPointer(at address: RemoteAddress) throws(SystemError) -> RemoteAddress {
    RemoteAddress(try readUInt64(at: address))
  }
  public func readInt32(at address: RemoteAddress) throws(SystemError) -> Int32 {
    ByteView(try read(at: address, count: 4)).i32(at: 0)
  }
  /// A NUL-terminated string of at most `limit` bytes, read in chunks that do not
  /// cross a page (so a string near the end of a mapping is still readable).
  public func readCString(at address: RemoteAddress, limit: Int = 256) throws(SystemError) -> String {
    var bytes: [UInt8] = []
    var cursor = address
    while bytes.count < limit {
      let toPageEnd = 4096 - Int(cursor.rawValue & 4095)
      let chunk = try read(at: cursor, count: min(toPageEnd, limit - bytes.count))
      if let nul = chunk.firstIndex(of: 0) {
        bytes += chunk[..<nul]
        return String(decoding: bytes, as: UTF8.self)
      }
      bytes += chunk
      cursor = cursor + chunk.count
    }
    return String(decoding: bytes, as: UTF8.self)
  }
}

/// A live process's memory through process_vm_readv(2) or /proc/PID/mem (see
/// `Path`), falling back to /proc/PID/mem where the syscall is unavailable
/// (some seccomp profiles).
public final class ProcessMemory: RemoteMemory {
  /// Which call reads go through. process_vm_readv pins the pages it reads, and
  /// pinning an anonymous page shared copy-on-write with another process (a
  /// prefork server's worker and its master) makes the kernel give the target
  /// a private copy of it first (Linux 5.19 on): each such page read grows the
  /// target's memory for good. A read of /proc/PID/mem does not pin, so it
  /// leaves the sharing alone, and costs about the same for small reads. It is
  /// the path for objects read while the target runs (code objects, names,
  /// line tables, the thread list); the copies made while threads are held,
  /// of memory those threads write themselves, keep process_vm_readv's one
  /// batched call.
  public enum Path: Sendable {
    case vmReadv
    case procMem
  }

  public let pid: ProcessID
  /// The ID reads go through: the process's, until a read by it fails with
  /// ESRCH while the process lives on (its main thread called pthread_exit: a
  /// zombie leader has no memory left), then another thread's, which shares it.
  private var readerID: Int32
  private var memFD: Int32 = -1
  /// Reads go through /proc/PID/mem: asked for, or process_vm_readv is unavailable.
  private var useProcMem: Bool
  private var vmReadvUnavailable = false
  /// The batched reads' buffer, kept between calls: a sample's prefetch is tens
  /// of KiB, and allocating it afresh took malloc's slow path every sample. The
  /// slices handed out share it; reused only once none is left (else copied).
  private var batch: [UInt8] = []
  static let largestKeptBatch = 256 << 10
  /// The batched reads' iovec lists, kept for the same reason.
  private var locals: [iovec] = []
  private var remotes: [iovec] = []

  public init(pid: ProcessID, path: Path = .vmReadv) {
    self.pid = pid
    readerID = pid.rawValue
    useProcMem = path == .procMem
  }
  deinit { if memFD >= 0 { close(memFD) } }

  public func read(at address: RemoteAddress, count: Int) throws(SystemError) -> [UInt8] {
    guard count > 0 else { return [] }
    guard count <= 64 << 20, address.rawValue < 0x8000_0000_0000_0000 else {
      throw .unreadableMemory(address, count: count)
    }
    var buffer = [UInt8](repeating: 0, count: count)
    let got: Int = buffer.withUnsafeMutableBytes { raw in
      if useProcMem, let n = procMemReadFollowingMemory(raw.baseAddress!, count, address) { return n }
      var local = iovec(iov_base: raw.baseAddress, iov_len: count)
      var remote = iovec(iov_base: UnsafeMutableRawPointer(bitPattern: UInt(address.rawValue)), iov_len: count)
      let n = vmRead(&local, 1, &remote, 1)
      if n >= 0 || (errno != ENOSYS && errno != EPERM) { return n }
      useProcMem = true
      vmReadvUnavailable = true
      return procMemRead(raw.baseAddress!, count, address)
    }
    guard got == count else { throw .unreadableMemory(address, count: count) }
    return buffer
  }

  public func read(ranges: [(RemoteAddress, Int)]) throws(SystemError) -> [ArraySlice<UInt8>] {
    if useProcMem || ranges.count <= 1 { return try readEach(ranges) }
    let total = ranges.reduce(0) { $0 + max(0, $1.1) }
    guard total <= 64 << 20 else { throw .unreadableMemory(ranges[0].0, count: total) }
    var flat: [UInt8]
    if total <= Self.largestKeptBatch {
      if batch.count < total { batch = [UInt8](repeating: 0, count: max(total, 64 << 10)) }
      flat = batch
      batch = []  // `flat` is now the only reference, so filling it copies nothing
    } else {
      flat = [UInt8](repeating: 0, count: total)
    }
    Self.remoteIovecs(ranges, into: &remotes)
    let got = readv(ranges, remotes: remotes, into: &flat, locals: &locals)
    if total <= Self.largestKeptBatch { batch = flat }
    // Partial: find out which range failed by reading them one by one.
    guard got == total else { return try readEach(ranges) }
    return Self.slices(of: flat, ranges)
  }

  /// `ranges` as the remote side of a process_vm_readv.
  static func remoteIovecs(_ ranges: [(RemoteAddress, Int)], into remotes: inout [iovec]) {
    remotes.removeAll(keepingCapacity: true)
    for (address, count) in ranges {
      remotes.append(iovec(iov_base: UnsafeMutableRawPointer(bitPattern: UInt(address.rawValue)), iov_len: count))
    }
  }

  /// One process_vm_readv of `ranges` (`remotes`, from `remoteIovecs`) into
  /// `flat`, back to back, which must hold them all; the bytes read, or -1.
  /// `locals` is the caller's scratch list, kept so it is not allocated each time.
  func readv(_ ranges: [(RemoteAddress, Int)], remotes: [iovec], into flat: inout [UInt8],
             locals: inout [iovec]) -> Int {
    locals.removeAll(keepingCapacity: true)
    return flat.withUnsafeMutableBytes { raw -> Int in
      var offset = 0
      for (_, count) in ranges {
        locals.append(iovec(iov_base: raw.baseAddress! + offset, iov_len: count))
        offset += count
      }
      return vmRead(locals, UInt(locals.count), remotes, UInt(remotes.count))
    }
  }

  /// A batched read's buffer cut into one slice a range, in order (no copy).
  static func slices(of flat: [UInt8], _ ranges: [(RemoteAddress, Int)]) -> [ArraySlice<UInt8>] {
    var out: [ArraySlice<UInt8>] = []
    out.reserveCapacity(ranges.count)
    var offset = 0
    for (_, n) in ranges {
      out.append(flat[offset..<offset + n])
      offset += n
    }
    return out
  }

  public func makeStopCopy() -> StopCopy? { useProcMem ? nil : StopCopy(memory: self) }
  /// Whether reads fell back to /proc/PID/mem (one syscall per range).
  var readsProcMem: Bool { useProcMem }

  func vmRead(_ local: UnsafePointer<iovec>, _ localCount: UInt, _ remote: UnsafePointer<iovec>,
              _ remoteCount: UInt) -> Int {
    let n = sampswift_process_vm_readv(readerID, local, localCount, remote, remoteCount)
    guard n < 0, errno == ESRCH, let other = otherThread() else { return n }
    readerID = other
    return sampswift_process_vm_readv(readerID, local, localCount, remote, remoteCount)
  }

  /// A thread of the process other than the one reads went through.
  private func otherThread() -> Int32? {
    guard let threads = try? ProcFS.threads(of: pid) else { return nil }
    return threads.map(\.rawValue).first { $0 != readerID }
  }

  /// Through the reading thread's file: /proc/PID/task/TID/mem reads the
  /// memory all the process's threads share.
  private func procMemRead(_ into: UnsafeMutableRawPointer, _ count: Int, _ address: RemoteAddress) -> Int {
    if memFD < 0 {
      memFD = open("/proc/\(pid.rawValue)/task/\(readerID)/mem", O_RDONLY | O_CLOEXEC)
      if memFD < 0 { return -1 }
    }
    return pread(memFD, into, count, off_t(truncatingIfNeeded: address.rawValue))
  }

  /// A /proc read that follows the memory when its file reads none (0 bytes,
  /// not an error): the old program's after an exec (a file opened now reads
  /// the new one), or an exited leader's (another thread's file reads the same
  /// memory). nil if it still reads none, or the file cannot be opened: the
  /// caller uses process_vm_readv.
  private func procMemReadFollowingMemory(_ into: UnsafeMutableRawPointer, _ count: Int,
                                          _ address: RemoteAddress) -> Int? {
    var n = procMemRead(into, count, address)
    if memFD < 0, !vmReadvUnavailable {
      useProcMem = false  // the file cannot be opened here: process_vm_readv from now on
      return nil
    }
    guard n == 0 else { return n }
    reopenProcMem()
    n = procMemRead(into, count, address)
    if n == 0, let other = otherThread() {
      readerID = other
      reopenProcMem()
      n = procMemRead(into, count, address)
    }
    return n != 0 || vmReadvUnavailable ? n : nil
  }

  private func reopenProcMem() {
    if memFD >= 0 { close(memFD) }
    memFD = -1
  }
}

/// Little-endian field access over copied bytes. Out-of-range reads give zero,
/// never a trap: garbage in the target costs a sample, not the profiler.
public struct ByteView: Sendable {
  /// A slice shares the storage it was cut from: a view into a cached page costs no copy.
  /// Inlinable, as are the reads below: a stack walk makes several per frame.
  @usableFromInline let bytes: ArraySlice<UInt8>
  @inlinable public init(_ bytes: [UInt8]) { self.bytes = bytes[...] }
  @inlinable public init(_ bytes: ArraySlice<UInt8>) { self.bytes = bytes }
  @inlinable public var count: Int { bytes.count }

  @inlinable @inline(__always)
  func load<T: FixedWidthInteger>(_ offset: Int, as: T.Type) -> T {
    guard offset >= 0, offset + MemoryLayout<T>.size <= bytes.count else { return 0 }
    return bytes.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
  }
  @inlinable public func u8(at offset: Int) -> UInt8 { load(offset, as: UInt8.self) }
  @inlinable public func u16(at offset: Int) -> UInt16 { load(offset, as: UInt16.self) }
  @inlinable public func u32(at offset: Int) -> UInt32 { load(offset, as: UInt32.self) }
  @inlinable public func i32(at offset: Int) -> Int32 { load(offset, as: Int32.self) }
  @inlinable public func u64(at offset: Int) -> UInt64 { load(offset, as: UInt64.self) }
  @inlinable public func i64(at offset: Int) -> Int64 { load(offset, as: Int64.self) }
  @inlinable public func pointer(at offset: Int) -> RemoteAddress { RemoteAddress(u64(at: offset)) }
  public func slice(_ offset: Int, _ count: Int) -> [UInt8] {
    guard offset >= 0, count >= 0, offset <= bytes.count else { return [] }
    let start = bytes.startIndex + offset
    return Array(bytes[start..<start + min(bytes.count - offset, count)])
  }
}
