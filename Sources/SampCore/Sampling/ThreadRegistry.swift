import SampSystem

/// What /proc says about a target's threads, cached per thread for the life of
/// the thread: whether it is on a CPU (read before stopping: a stopped thread is
/// never "R"), where it last ran, and its comm name. Shared by every stack source.
final class ThreadRegistry {
  private let pid: ProcessID
  private var statReaders: [ThreadID: ThreadStatReader] = [:]
  private var lastCPU: [ThreadID: Int] = [:]
  private var names: [ThreadID: String] = [:]

  init(pid: ProcessID) { self.pid = pid }

  /// Running or runnable now, from /proc/PID/task/TID/stat (one pread).
  func isRunning(_ tid: ThreadID) -> Bool {
    if statReaders[tid] == nil { statReaders[tid] = ThreadStatReader(pid: pid, tid: tid) }
    guard let stat = statReaders[tid]?.state() else { return false }
    lastCPU[tid] = stat.processor
    return stat.isRunning
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
    lastCPU = lastCPU.filter { set.contains($0.key) }
    names = names.filter { set.contains($0.key) }
  }

  func removeAll() {
    statReaders.removeAll()
    lastCPU.removeAll()
    names.removeAll()
  }
}
