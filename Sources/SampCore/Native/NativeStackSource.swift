import SampSystem

/// Native stacks for any process: registers and stack copied while the thread
/// is stopped, unwound and named with libdw after it runs again.
public final class NativeStackSource: StackSource {
  private let pid: ProcessID
  private let includeIdle: Bool
  private let stacks: NativeStacks
  private let registry: ThreadRegistry
  private var activity: [ThreadID: ThreadActivity] = [:]

  public init(pid: ProcessID, includeIdle: Bool) {
    self.pid = pid
    self.includeIdle = includeIdle
    stacks = NativeStacks(pid: pid)
    registry = ThreadRegistry(pid: pid)
  }

  public var summary: String { "native" }
  /// Unwinding starts from registers, which only a stopped thread gives.
  public var readsLateThreads: Bool { false }
  public var loadingNanos: UInt64 { stacks.loadingNanos }

  public func threadsToStop(_ session: TraceSession) -> StopPlan {
    let running = session.runningThreads
    var chosen: [ThreadID] = []
    activity.removeAll(keepingCapacity: true)
    for (tid, isRunning) in zip(running, registry.look(at: running)) {
      activity[tid] = ThreadActivity(running: isRunning)
      if includeIdle || isRunning { chosen.append(tid) }
    }
    registry.keepOnly(running)
    return StopPlan(chosen, wait: registry.stopWait(for: chosen))
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
          tid: tid.rawValue, name: registry.name(tid),
          activity: activity[tid] ?? ThreadActivity(running: true), frames: frames))
      }
      return out
    }
  }

  public func targetChanged(_ session: TraceSession) {
    stacks.reset()
    registry.removeAll()
  }
}
