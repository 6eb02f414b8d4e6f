import SampSystem

/// What /proc says about a target's threads, cached per thread for the life of
/// the thread: whether it is on a CPU (read before stopping: a stopped thread is
/// never running), where it runs, and its comm name. Shared by every stack source.
final class ThreadRegistry {
  private let pid: ProcessID
  private var stateReaders: [ThreadID: ThreadRunStateReader] = [:]
  private var names: [ThreadID: String] = [:]
  /// Full state reads (syscall or stat file), for tests.
  private(set) var stateReads = 0
  /// Threads found blocked at the last look: the schedstat read just before
  /// that state read, and how many looks in a row since found it unchanged.
  private struct Blocked {
    var baseline: SchedStat
    var quietLooks: Int
  }
  private var blocked: [ThreadID: Blocked] = [:]
  static let quietLooksToTrust = 2
  private var schedReaders: [ThreadID: ThreadSchedStatReader?] = [:]
  /// Where a thread ran when its stat was last read, and where the profiler
  /// did then. Threads seldom move: stat (the one file that says) is read again
  /// once a second, or at once when the profiler itself has moved.
  private struct Placement {
    var cpu: Int
    var profilerCPU: Int
    var readAt: UInt64
  }
  private var placements: [ThreadID: Placement] = [:]
  static let placementMaxAgeNanos: UInt64 = 1_000_000_000

  init(pid: ProcessID) { self.pid = pid }

  /// Running or runnable now, from /proc/PID/task/TID/syscall (one pread; see
  /// `ThreadRunStateReader`). A thread that was blocked at the last look is
  /// first checked in schedstat, cheaper still (a pool of idle threads costs
  /// that per sample): once it has stayed off every CPU for `quietLooksToTrust`
  /// looks in a row since the schedstat read made just before a state read found
  /// it blocked, it is taken as still blocked without one. Threads that run now
  /// and then (a GIL waiter wakes every 5 ms) keep being read in full, so a
  /// thread woken but still waiting for a CPU is counted as runnable; only a
  /// long-idle thread woken in the instant before a sample is missed by it.
  func isRunning(_ tid: ThreadID) -> Bool {
    var before: SchedStat?
    if var idle = blocked[tid], let reader = schedReader(tid) {
      before = reader.read()
      if before == idle.baseline {
        idle.quietLooks += 1
        blocked[tid] = idle
        if idle.quietLooks >= Self.quietLooksToTrust { return false }
      }
    }
    if stateReaders[tid] == nil { stateReaders[tid] = ThreadRunStateReader(pid: pid, tid: tid) }
    stateReads += 1
    guard let running = stateReaders[tid]?.isRunning() else {
      blocked[tid] = nil
      return false
    }
    if running {
      blocked[tid] = nil
    } else if before == nil || before != blocked[tid]?.baseline {
      // A new baseline, from before the read that found it blocked (a thread
      // found blocked without one is read in full once more, with one); an
      // unchanged one keeps counting quiet looks.
      blocked[tid] = Blocked(baseline: before ?? .unknown, quietLooks: 0)
    }
    return running
  }

  private func schedReader(_ tid: ThreadID) -> ThreadSchedStatReader? {
    if let reader = schedReaders[tid] { return reader }
    let reader = ThreadSchedStatReader(pid: pid, tid: tid)
    schedReaders[tid] = reader  // nil stays nil: no schedstat, stat every time
    return reader
  }

  /// How to wait for `tids` to stop, from the CPUs they run on. Polling beats
  /// sleeping when they run elsewhere (waking an idle vCPU costs more than the
  /// stop), but a poll on a thread's own CPU keeps it from reaching its stop,
  /// so then (or when unsure) the profiler sleeps.
  func stopWait(for tids: [ThreadID]) -> StopWait {
    guard let here = ProcFS.currentCPU() else { return .sleep }
    let now = Monotonic.now()
    for tid in tids {
      guard let cpu = cpu(of: tid, profilerCPU: here, now: now), cpu != here else { return .sleep }
    }
    return .poll
  }

  /// The CPU `tid` last ran on, from a stat read at most a second old and made
  /// while the profiler was on the CPU it is on now.
  private func cpu(of tid: ThreadID, profilerCPU: Int, now: UInt64) -> Int? {
    if let known = placements[tid], known.profilerCPU == profilerCPU, now &- known.readAt < Self.placementMaxAgeNanos {
      return known.cpu
    }
    guard let cpu = ThreadStatReader(pid: pid, tid: tid)?.state()?.processor else {
      placements[tid] = nil
      return nil
    }
    placements[tid] = Placement(cpu: cpu, profilerCPU: profilerCPU, readAt: now)
    return cpu
  }

  /// The thread's comm name (pthread_setname_np), read once.
  func name(_ tid: ThreadID) -> String? {
    if let n = names[tid] { return n }
    let n = ProcFS.threadName(pid, tid)
    names[tid] = n
    return n
  }

  /// Forgets threads that are gone, closing their /proc files.
  func keepOnly(_ live: [ThreadID]) {
    guard stateReaders.count > live.count || names.count > live.count || placements.count > live.count else { return }
    let set = Set(live)
    stateReaders = stateReaders.filter { set.contains($0.key) }
    schedReaders = schedReaders.filter { set.contains($0.key) }
    blocked = blocked.filter { set.contains($0.key) }
    placements = placements.filter { set.contains($0.key) }
    names = names.filter { set.contains($0.key) }
  }

  func removeAll() {
    stateReaders.removeAll()
    schedReaders.removeAll()
    blocked.removeAll()
    placements.removeAll()
    names.removeAll()
  }
}

private extension SchedStat {
  /// Found blocked without a schedstat read first: never equal to a real read.
  static let unknown = SchedStat(runNanos: .max, waitNanos: .max, timeslices: .max)
}
