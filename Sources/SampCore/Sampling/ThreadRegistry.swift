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
  /// Threads found blocked at the last look, with the schedstat read just before.
  private var blocked: [ThreadID: SchedStat] = [:]
  private var schedReaders: [ThreadID: ThreadSchedStatReader?] = [:]

  init(pid: ProcessID) { self.pid = pid }

  /// Running or runnable now, from /proc/PID/task/TID/stat (one pread). A
  /// thread that was blocked at the last look is first checked in schedstat,
  /// several times cheaper (a pool of idle threads costs that per sample): if
  /// it has not been on a CPU since the schedstat read made just before the
  /// stat that found it blocked, it still is. (A thread woken but not yet on a
  /// CPU by now is taken as blocked for this sample.)
  func isRunning(_ tid: ThreadID) -> Bool {
    var before: SchedStat?
    if let idle = blocked[tid] {
      before = schedReader(tid)?.read()
      if let before, before == idle { return false }
    }
    if statReaders[tid] == nil { statReaders[tid] = ThreadStatReader(pid: pid, tid: tid) }
    statReads += 1
    guard let stat = statReaders[tid]?.state() else {
      blocked[tid] = nil
      return false
    }
    lastCPU[tid] = stat.processor
    // The baseline must come from before the stat: a thread found blocked
    // without one is looked at in full once more, with one.
    blocked[tid] = stat.isRunning ? nil : (before ?? SchedStat.unknown)
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
