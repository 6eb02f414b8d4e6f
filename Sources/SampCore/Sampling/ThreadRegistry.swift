import SampSystem

/// What /proc says about a target's threads, cached per thread for the life of
/// the thread: whether it is on a CPU (read before stopping: a stopped thread is
/// never "R") and its comm name. Shared by every stack source.
final class ThreadRegistry {
  private let pid: ProcessID
  private var statReaders: [ThreadID: ThreadStatReader] = [:]
  private var names: [ThreadID: String] = [:]

  init(pid: ProcessID) { self.pid = pid }

  /// Running or runnable now, from /proc/PID/task/TID/stat (one pread).
  func isRunning(_ tid: ThreadID) -> Bool {
    if statReaders[tid] == nil { statReaders[tid] = ThreadStatReader(pid: pid, tid: tid) }
    return statReaders[tid]?.state()?.isRunning ?? false
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
    names = names.filter { set.contains($0.key) }
  }

  func removeAll() {
    statReaders.removeAll()
    names.removeAll()
  }
}
