import Glibc
import CSampShims

/// Remote native unwinding with libunwind-ptrace: CFI-based, so code built
/// without frame pointers unwinds too. One per traced process; the address
/// space caches unwind tables across samples.
public final class NativeUnwinder {
  private let space: UnsafeMutableRawPointer?
  private var ips: [UInt64]
  public let maxFrames: Int

  public init(maxFrames: Int = 512) {
    self.maxFrames = maxFrames
    space = sampswift_unw_create_address_space()
    ips = [UInt64](repeating: 0, count: maxFrames)
  }
  deinit { sampswift_unw_destroy_address_space(space) }

  /// Call when the target's mappings changed (dlopen, dlclose).
  public func flushCaches() { sampswift_unw_flush_cache(space) }

  /// The instruction pointers of a ptrace-stopped thread, innermost first.
  public func backtrace(_ tid: ThreadID) throws(SystemError) -> [UInt64] {
    guard let space else { throw .unwind(code: -1) }
    let n = ips.withUnsafeMutableBufferPointer {
      sampswift_unw_backtrace(space, tid.rawValue, $0.baseAddress, Int32($0.count))
    }
    if n < 0 { throw .unwind(code: n) }
    return Array(ips[0..<Int(n)])
  }
}

