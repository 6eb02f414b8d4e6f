import SampSystem

/// Native stacks for any process: registers and stack copied while the thread
/// is stopped, unwound and named with libdw after it runs again.
public final class NativeStackSource: StackSource {
  private let pid: ProcessID
  private let includeIdle: Bool
  private let stacks: NativeStacks
  private var statReaders: [ThreadID: ThreadStatReader] = [:]
  private var names: [ThreadID: String] = [:]
  private var activity: [ThreadID: ThreadActivity] = [:]

  public init(pid: ProcessID, includeIdle: Bool) {
    self.pid = pid
    self.includeIdle = includeIdle
    stacks = NativeStacks(pid: pid)
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
        try stacks.capture(tid, slot: captured.count)
        captured.append((tid, captured.count))
      } catch {
        errors.count("native capture failed")
      }
    }
    let activity = self.activity
    return PendingStacks { [self] errors in
      var out: [ThreadStack] = []
      for (tid, slot) in captured {
        guard let frames = try? stacks.frames(slot: slot) else {
          errors.count("native unwind failed")
          continue
        }
        out.append(ThreadStack(
          tid: tid.rawValue, name: threadName(tid),
          activity: activity[tid] ?? ThreadActivity(running: true), frames: frames))
      }
      return out
    }
  }

  private func threadName(_ tid: ThreadID) -> String? {
    if let n = names[tid] { return n }
    let n = ProcFS.threadName(pid, tid)
    names[tid] = n
    return n
  }

  public func targetChanged(_ session: TraceSession) {
    stacks.reset()
    statReaders.removeAll()
    names.removeAll()
  }
}
