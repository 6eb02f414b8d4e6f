import SampSystem

/// What /proc says about a target's threads, cached per thread for the life of
/// the thread: whether it is on a CPU (read before stopping: a stopped thread is
/// never "R"), where it last ran, and its comm name. Shared by every stack source.
final class ThreadRegistry {
  private let pid: ProcessID
  private var statReaders: [ThreadID: ThreadStatReader] = [:]
  private var lastCPU: [ThreadID: Int] = [:]
  private var names: [ThreadID: String] = [:]
  /// stat files read, for tests.
  private(set) var statReads = 0
  /// Threads found blocked at the last look: the schedstat read just before
  /// that stat, and how many looks in a row since found it unchanged.
  private struct Blocked {
    var baseline: SchedStat
    var quietLooks: Int
  }
  private var blocked: [ThreadID: Blocked] = [:]
  static let quietLooksToTrust = 2
  private var schedReaders: [ThreadID: ThreadSchedStatReader?] = [:]

  init(pid: ProcessID) { self.pid = pid }

  /// Running or runnable now, from /proc/PID/task/TID/stat (one pread). A
  /// thread that was blocked at the last look is first checked in schedstat,
  /// several times cheaper (a pool of idle threads costs that per sample):
  /// once it has stayed off every CPU for `quietLooksToTrust` looks in a row
  /// since the schedstat read made just before a stat found it blocked, it is
  /// taken as still blocked without a stat. Threads that run now and then (a
  /// GIL waiter wakes every 5 ms) keep being read in full, so a thread woken
  /// but still waiting for a CPU is counted as stat counts it, runnable; only a
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
    if statReaders[tid] == nil { statReaders[tid] = ThreadStatReader(pid: pid, tid: tid) }
    statReads += 1
    guard let stat = statReaders[tid]?.state() else {
      blocked[tid] = nil
      return false
    }
    lastCPU[tid] = stat.processor
    if stat.isRunning {
      blocked[tid] = nil
    } else if before == nil || before != blocked[tid]?.baseline {
      // A new baseline, from before the stat that found it blocked (a thread
      // found blocked without one is read in full once more, with one); an
      // unchanged one keeps counting quiet looks.
      blocked[tid] = Blocked(baseline: before ?? .unknown, quietLooks: 0)
    }
    return stat.isRunning
  }

  private func schedReader(_ tid: ThreadID) -> ThreadSchedStatReader? {
    if let reader = schedReaders[tid] { return reader }
    let reader = ThreadSchedStatReader(pid: pid, tid: tid)
    schedReaders[tid] = reader  // nil stays nil: no schedstat, stat every time
    return reader
  }

  /// How to wait for `tids` to stop, from the CPUs `isRunning` saw them on last.
  /// Polling beats sleeping when they run elsewhere (waking an idle vCPU costs
  /// more than the stop), but a poll on a thread's own CPU keeps it from
  /// reaching its stop, so then (or when unsure) the profiler sleeps.
  func stopWait(for tids: [ThreadID]) -> StopWait {
    guard let here = ProcFS.currentCPU() else { return .sleep }
    for tid in tids {
      guard let cpu = lastCPU[tid], cpu != here else { return .sleep }
    }
    return .poll
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
    guard statReaders.count > live.count || names.count > live.count else { return }
    let set = Set(live)
    statReaders = statReaders.filter { set.contains($0.key) }
    schedReaders = schedReaders.filter { set.contains($0.key) }
    blocked = blocked.filter { set.contains($0.key) }
    lastCPU = lastCPU.filter { set.contains($0.key) }
    names = names.filter { set.contains($0.key) }
  }

  func removeAll() {
    statReaders.removeAll()
    schedReaders.removeAll()
    blocked.removeAll()
    lastCPU.removeAll()
    names.removeAll()
  }
}

private extension SchedStat {
  /// Found blocked without a schedstat read first: never equal to a real read.
  static let unknown = SchedStat(runNanos: .max, waitNanos: .max, timeslices: .max)
}
