import Glibc

/// A batched read set up before a stop and run by `TraceSession.stop` the
/// moment the threads it waits for are stopped, followed at once by their
/// continue. Why: a thread stopped on another CPU leaves that CPU idle, and on
/// a virtual machine an idle CPU is cheap to wake for a few microseconds only;
/// a continue that comes later costs the profiler several times more (3 µs
/// against 11 to 15 here, measured with the floor sampler by delaying its
/// continue) and the target waits that long for it too. So nothing but the copy
/// sits between the stop and the continue: the setup comes before (while the
/// stops land), the bookkeeping after.
public final class StopCopy {
  public enum State: Equatable, Sendable {
    /// Nothing to copy at the next stop.
    case idle
    /// Ranges set: the next `TraceSession.stop` given it runs it.
    case armed
    /// Copied while the threads were stopped; they run again.
    case copied
    /// The read came back short (a page gone); the threads run again anyway.
    case failed
  }

  public private(set) var state = State.idle
  /// For `--cpu-phases`: the profiler thread's CPU clock when the copy began,
  /// when it ended, and when the threads were continued (one syscall each, so
  /// off unless asked).
  public var clocksPhases = false
  public private(set) var phaseCPU: (stopped: UInt64, copied: UInt64, resumed: UInt64) = (0, 0, 0)
  private let memory: ProcessMemory
  private var ranges: [(RemoteAddress, Int)] = []
  private var total = 0
  /// Kept between copies, as `ProcessMemory`'s batch buffer is; the slices
  /// `take` hands out share it, and it is reused once they are let go.
  private var buffer: [UInt8] = []
  private var locals: [iovec] = []
  private var remotes: [iovec] = []

  init(memory: ProcessMemory) { self.memory = memory }

  /// Sets the ranges the next stop copies; returns false (and stays idle) for
  /// none, or more than a batched read takes.
  public func arm(_ ranges: [(RemoteAddress, Int)]) -> Bool {
    state = .idle
    let total = ranges.reduce(0) { $0 + max(0, $1.1) }
    guard !memory.readsProcMem, total > 0, total <= ProcessMemory.largestKeptBatch else { return false }
    self.ranges = ranges
    self.total = total
    ProcessMemory.remoteIovecs(ranges, into: &remotes)
    state = .armed
    return true
  }

  /// Leaves the copy unrun (the threads are read while held instead).
  public func disarm() {
    if state == .armed { state = .idle }
  }

  /// The copy, one syscall; called by `TraceSession.stop` with the threads stopped.
  func run() {
    guard state == .armed else { return }
    if clocksPhases { phaseCPU.stopped = OwnCPUTime.now() }
    var flat = buffer
    buffer = []  // `flat` is now the only reference, so filling it copies nothing
    if flat.count < total { flat = [UInt8](repeating: 0, count: max(total, 64 << 10)) }
    let got = memory.readv(ranges, remotes: remotes, into: &flat, locals: &locals)
    buffer = flat
    state = got == total ? .copied : .failed
    if clocksPhases { phaseCPU.copied = OwnCPUTime.now() }
  }

  /// Called by `TraceSession.stop` once it has continued the threads.
  func resumed() {
    if clocksPhases { phaseCPU.resumed = OwnCPUTime.now() }
  }

  /// The copied ranges, as slices of one buffer in the order armed; nil unless
  /// `state` is `.copied`. Back to idle either way.
  public func take() -> [ArraySlice<UInt8>]? {
    defer { state = .idle }
    guard state == .copied else { return nil }
    return ProcessMemory.slices(of: buffer, ranges)
  }
}
