import SampSystem

/// Native stacks for any process: libunwind-ptrace while the thread is stopped,
/// libdw names after it runs again.
public final class NativeStackSource: StackSource {
  private let pid: ProcessID
  private let includeIdle: Bool
  private let unwinder: NativeUnwinder
  private var symbolizer: Symbolizer?
  private var statReaders: [ThreadID: ThreadStatReader] = [:]
  private var names: [ThreadID: String] = [:]
  private var activity: [ThreadID: ThreadActivity] = [:]

  public init(pid: ProcessID, includeIdle: Bool) {
    self.pid = pid
    self.includeIdle = includeIdle
    unwinder = NativeUnwinder(pid: pid)
    symbolizer = try? Symbolizer(pid: pid)
  }

  public var summary: String { "native" }

  public func threadsToStop(_ session: TraceSession) -> [ThreadID] {
    let running = session.runningThreads
    var chosen: [ThreadID] = []
    activity.removeAll(keepingCapacity: true)
    for tid in running {
      let isRunning = threadIsRunning(tid)
      activity[tid] = ThreadActivity(running: isRunning)
      if includeIdle || isRunning { chosen.append(tid) }
    }
    if statReaders.count > running.count {
      // Threads have exited: close their /proc files.
      let live = Set(running)
      statReaders = statReaders.filter { live.contains($0.key) }
      names = names.filter { live.contains($0.key) }
    }
    return chosen
  }

  /// From /proc/PID/task/TID/stat, read before stopping (a stopped thread is never "R").
  private func threadIsRunning(_ tid: ThreadID) -> Bool {
    if statReaders[tid] == nil { statReaders[tid] = ThreadStatReader(pid: pid, tid: tid) }
    return statReaders[tid]?.state()?.isRunning ?? false
  }

  public func capture(_ session: TraceSession, stopped: [ThreadID], errors: inout SampleErrors) -> PendingStacks {
    // Held: copy registers and stack top only. Unwinding and names come after resume.
    var captured: [(ThreadID, slot: Int)] = []
    captured.reserveCapacity(stopped.count)
    for tid in stopped {
      do {
        try unwinder.capture(tid, slot: captured.count)
        captured.append((tid, captured.count))
      } catch {
        errors.count("native capture failed")
      }
    }
    let activity = self.activity
    return PendingStacks { [self] errors in
      var stacks: [ThreadStack] = []
      for (tid, slot) in captured {
        guard let ips = try? unwinder.unwind(slot: slot), !ips.isEmpty else {
          errors.count("native unwind failed")
          continue
        }
        stacks.append(ThreadStack(
          tid: tid.rawValue, name: threadName(tid),
          activity: activity[tid] ?? ThreadActivity(running: true),
          frames: symbolize(ips)))
      }
      return stacks
    }
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

  private func threadName(_ tid: ThreadID) -> String? {
    if let n = names[tid] { return n }
    let n = ProcFS.threadName(pid, tid)
    names[tid] = n
    return n
  }

  public func targetChanged(_ session: TraceSession) {
    unwinder.flushCaches()
    symbolizer = try? Symbolizer(pid: pid)
    statReaders.removeAll()
    names.removeAll()
  }
}
