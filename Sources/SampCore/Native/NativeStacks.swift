import SampSystem

/// Native stacks of one process in two phases, shared by the native and the
/// Python (--native) sources: `capture` copies registers and the stack top while
/// a thread is held; `frames` unwinds the copy and names it after resume.
public final class NativeStacks {
  private let pid: ProcessID
  private var unwinder: NativeUnwinder
  private var symbolizer: Symbolizer?
  private let code: CodeRanges

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
    var ips = code.trim(try unwinder.unwind(slot: slot))
    if ips.isEmpty { throw .unwind(code: 0) }
    if ips.count == 1 {
      // Stopped where the unwind information gives no caller: try the stack's
      // top word as the return address (right for a function that has saved
      // nothing yet, such as clone3 at its syscall in the thread that called it;
      // a new thread's top word is no code address, and adds nothing).
      ips = code.trim(ips + unwinder.unwindFromStackTop(slot: slot))
    }
    return symbolize(ips)
  }

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
    unwinder = NativeUnwinder(pid: pid)
    symbolizer = try? Symbolizer(pid: pid)
    code.reset()
  }
}
