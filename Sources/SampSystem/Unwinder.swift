import CSampShims
import Glibc

/// Remote native unwinding with libunwind, in two phases so the target is held
/// only for copying: `capture` (thread stopped) takes the registers and the top
/// of the stack; `unwind` (thread running again) walks the copy with CFI, so code
/// built without frame pointers unwinds too. Unwind tables are cached across
/// samples. Captures live in reusable slots, one per thread of a sample.
public final class NativeUnwinder {
  public let pid: ProcessID
  public let maxFrames: Int
  public let stackCopyBytes: Int
  private let space: UnsafeMutableRawPointer?
  private var slots: [OpaquePointer] = []
  private var ips: [UInt64]
  /// The target's [vdso] range, read once: its unwind table has no file.
  private lazy var vdso: (UInt64, UInt64) = {
    let maps = (try? ProcFS.maps(of: pid)) ?? []
    guard let m = maps.first(where: { $0.path == "[vdso]" }) else { return (0, 0) }
    return (m.start, m.end)
  }()

  public init(pid: ProcessID, maxFrames: Int = 1024, stackCopyBytes: Int = 64 << 10) {
    self.pid = pid
    self.maxFrames = maxFrames
    self.stackCopyBytes = stackCopyBytes
    space = sampswift_copy_unwind_space_create()
    ips = [UInt64](repeating: 0, count: maxFrames)
  }

  deinit {
    for slot in slots { sampswift_capture_destroy(slot) }
    sampswift_unw_destroy_address_space(space)
  }

  /// Call when the target's mappings changed (dlopen, dlclose, exec).
  public func flushCaches() { sampswift_unw_flush_cache(space) }

  /// Phase 1, with `tid` ptrace-stopped: copy its registers and stack top into `slot`.
  public func capture(_ tid: ThreadID, slot: Int) throws(SystemError) {
    while slots.count <= slot {
      guard let c = sampswift_capture_create(pid.rawValue, stackCopyBytes) else {
        throw .call("malloc", Errno(ENOMEM))
      }
      sampswift_capture_set_vdso(c, vdso.0, vdso.1)
      slots.append(c)
    }
    let r = sampswift_capture_thread(slots[slot], tid.rawValue)
    if r < 0 { throw .call("capture registers and stack", Errno(-r)) }
  }

  /// Phase 2, any time before `slot` is reused: instruction pointers, innermost first.
  public func unwind(slot: Int) throws(SystemError) -> [UInt64] {
    guard slot < slots.count else { throw .unwind(code: -1) }
    let n = unwind(slot, with: sampswift_capture_unwind)
    if n < 0 { throw .unwind(code: n) }
    return Array(ips[0..<Int(n)])
  }

  /// The frames above the innermost, taking the stack's top word as its
  /// return address (see `sampswift_capture_unwind_from_stack_top`); empty
  /// when that gives nothing.
  public func unwindFromStackTop(slot: Int) -> [UInt64] {
    guard slot < slots.count else { return [] }
    let n = unwind(slot, with: sampswift_capture_unwind_from_stack_top)
    return n > 0 ? Array(ips[0..<Int(n)]) : []
  }

  private func unwind(
    _ slot: Int,
    with unwinder: (UnsafeMutableRawPointer?, OpaquePointer?, UnsafeMutablePointer<UInt64>?, Int32) -> Int32
  ) -> Int32 {
    ips.withUnsafeMutableBufferPointer { unwinder(space, slots[slot], $0.baseAddress, Int32($0.count)) }
  }
}
