import SampSystem

/// Native stacks of one process in two phases, shared by the native and the
/// Python (--native) sources: `capture` copies registers and the stack top while
/// a thread is held; `frames` unwinds the copy and names it after resume.
public final class NativeStacks {
  private let pid: ProcessID
  private var unwinder: NativeUnwinder
  private var symbolizer: Symbolizer?
  private let code: CodeRanges
  /// First-time loading not in the current symbolizer's count: unwinding
  /// through newly met code, and the symbolizers replaced by `reset`.
  private var otherLoadingNanos: UInt64 = 0

  public init(pid: ProcessID) {
    self.pid = pid
    unwinder = NativeUnwinder(pid: pid)
    symbolizer = try? Symbolizer(pid: pid)
    code = CodeRanges(pid: pid)
  }

  /// While `tid` is held: copy what unwinding needs into `slot`.
  public func capture(_ tid: ThreadID, slot: Int) throws(SystemError) {
    try unwinder.capture(tid, slot: slot)
  }

  /// After resume: the frames of `slot`, root first, inlined functions expanded.
  public func frames(slot: Int) throws(SystemError) -> [Frame] {
    // The wall clock: a vDSO read, where a CPU clock read is a syscall; an
    // unwind does not sleep.
    let unwindStart = Monotonic.now()
    var ips = code.trim(try unwinder.unwind(slot: slot))
    if ips.isEmpty { throw .unwind(code: 0) }
    if ips.count == 1 {
      // Stopped where the unwind information gives no caller: try the stack's
      // top word as the return address (right for a function that has saved
      // nothing yet, such as clone3 at its syscall in the thread that called it;
      // a new thread's top word is no code address, and adds nothing).
      ips = code.trim(ips + unwinder.unwindFromStackTop(slot: slot))
    }
    let unwindNanos = Monotonic.now() &- unwindStart
    let missesBefore = symbolizer?.cacheMisses ?? 0
    let frames = symbolize(ips)
    // Addresses never named before are ones libunwind met for the first time
    // too: it found and read their module's unwind table (opening the file).
    // Their share of the unwind is loading, not the steady cost of a sample.
    let newAddresses = (symbolizer?.cacheMisses ?? 0) - missesBefore
    if newAddresses > 0 { otherLoadingNanos &+= unwindNanos / UInt64(ips.count) &* UInt64(newAddresses) }
    return frames
  }

  /// The profiler's time spent on code met for the first time, over the
  /// run: loading its symbols and DWARF (`Symbolizer.loadingNanos`) and its
  /// unwind tables.
  public var loadingNanos: UInt64 { otherLoadingNanos &+ (symbolizer?.loadingNanos ?? 0) }

  /// Root-first frames for innermost-first instruction pointers.
  public func symbolize(_ ips: [UInt64]) -> [Frame] {
    var frames: [Frame] = []
    frames.reserveCapacity(ips.count + 4)
    for (index, ip) in ips.enumerated().reversed() {
      // Every frame but the innermost holds a return address.
      let named = symbolizer?.frames(at: ip, isReturnAddress: index > 0)
        ?? [SymbolizedFrame(symbol: nil, file: nil, line: nil, module: "", address: ip, inlined: false)]
      // `named` is innermost first; root-first order wants the outer function first.
      for f in named.reversed() {
        frames.append(Frame(kind: .native, name: f.symbol, file: f.file, line: f.line, module: f.module, address: f.address))
      }
    }
    return frames
  }

  /// After exec or a change of mappings: drop caches built for the old image.
  public func reset() {
    otherLoadingNanos = loadingNanos
    unwinder = NativeUnwinder(pid: pid)
    symbolizer = try? Symbolizer(pid: pid)
    code.reset()
  }
}
