import SampSystem

/// Native stacks for any process: libunwind-ptrace while the thread is stopped,
/// libdw names after it runs again.
public final class NativeStackSource: StackSource {
  private let pid: ProcessID
  private let includeIdle: Bool
  private let unwinder = NativeUnwinder()
  private var symbolizer: Symbolizer?
  private var statReaders: [ThreadID: ThreadStatReader] = [:]
  private var names: [ThreadID: String] = [:]
  private var activity: [ThreadID: ThreadActivity] = [:]

  public init(pid: ProcessID, includeIdle: Bool) {
    self.pid = pid
    self.includeIdle = includeIdle
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
    return chosen
  }

  /// From /proc/PID/task/TID/stat, read before stopping (a stopped thread is never "R").
  private func threadIsRunning(_ tid: ThreadID) -> Bool {
    if statReaders[tid] == nil { statReaders[tid] = ThreadStatReader(pid: pid, tid: tid) }
    return statReaders[tid]?.state()?.isRunning ?? false
  }

  public func capture(_ session: TraceSession, stopped: [ThreadID], errors: inout SampleErrors) -> PendingStacks {
    var captured: [(ThreadID, [UInt64])] = []
    captured.reserveCapacity(stopped.count)
    for tid in stopped {
      do {
        let ips = try unwinder.backtrace(tid)
        if ips.isEmpty { errors.count("empty native stack") } else { captured.append((tid, ips)) }
      } catch {
        errors.count("native unwind failed")
      }
    }
    let activity = self.activity
    return PendingStacks { [self] _ in
      captured.map { tid, ips in
        ThreadStack(
          tid: tid.rawValue, name: threadName(tid),
          activity: activity[tid] ?? ThreadActivity(running: true),
          frames: symbolize(ips))
      }
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
