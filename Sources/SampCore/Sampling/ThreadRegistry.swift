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
  /// a state read found them blocked, how many looks in a row since found it
  /// unchanged, and how many looks to make before checking it again.
  private struct Blocked {
    var baseline: SchedStat
    var quietLooks: Int
    var looksBeforeCheck = 0
  }
  private var blocked: [ThreadID: Blocked] = [:]
  static let quietLooksToTrust = 2
  /// After schedstat showed that a blocked thread ran since its baseline, the
  /// looks made with the state read alone: a thread that wakes between samples
  /// (a GIL waiter, every 5 ms) would pay for both reads at every look.
  static let looksWithoutCheckAfterRun = 3
  /// schedstat files read, for tests.
  private(set) var schedReads = 0
  /// The last look's trusted-blocked threads, and the process's CPU time less
  /// that of every other thread then (nil when not worked out).
  private var quietBaseline: (trusted: [ThreadID], idleNanos: UInt64)?
  private let processClock: ProcessCPUClock
  /// Looks that settled every trusted-blocked thread with the clock, for tests.
  private(set) var looksSettledByClock = 0
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

  init(pid: ProcessID) {
    self.pid = pid
    processClock = ProcessCPUClock(pid: pid)
  }

  /// One look (a sample's) at `tids`: for each, whether it is running or
  /// runnable now. When most of them are trusted blocked (a pool of idle
  /// threads), one read of the process's CPU clock stands for all their
  /// schedstat reads: if it moved by just the other threads' run time, none of
  /// them ran since the last look.
  /// Each thread's entry is looked up once here: with a pool of a hundred
  /// idle threads, these lookups are most of what a settled look costs.
  func look(at tids: [ThreadID]) -> [Bool] {
    // The clock settles anything only where trusted-blocked threads outnumber
    // the others by three: with fewer blocked threads (one busy thread) each
    // thread is read, with no pass to sort them first.
    guard blocked.count >= 3 else {
      quietBaseline = nil
      return tids.map { isRunning($0) }
    }
    var trusted = [Bool](repeating: false, count: tids.count)
    for (i, tid) in tids.enumerated() where isTrusted(tid) { trusted[i] = true }
    let settled = trustedStillBlocked(tids, trusted: trusted)
    if settled { looksSettledByClock += 1 }
    var running = [Bool](repeating: false, count: tids.count)
    for (i, tid) in tids.enumerated() where !(settled && trusted[i]) { running[i] = isRunning(tid) }
    return running
  }

  private func isTrusted(_ tid: ThreadID) -> Bool {
    guard let entry = blocked[tid] else { return false }
    return entry.quietLooks >= Self.quietLooksToTrust
  }

  /// Whether no trusted-blocked thread has run since the last look. Each
  /// thread's run time only grows and the clock is their sum (exited ones
  /// included), so an unchanged sum less the others' run time (both the raw
  /// figures schedstat shows) means none ran; a change, even one from reading
  /// a running thread a tick apart, only sends every thread back to its own read.
  private func trustedStillBlocked(_ tids: [ThreadID], trusted isTrusted: [Bool]) -> Bool {
    var trusted: [ThreadID] = []
    var others: [ThreadID] = []
    for (tid, isTrusted) in zip(tids, isTrusted) {
      if isTrusted { trusted.append(tid) } else { others.append(tid) }
    }
    // Worth it only where it saves more schedstat reads than it makes.
    guard trusted.count > others.count + 2, let total = processClock.read() else {
      quietBaseline = nil
      return false
    }
    var othersNanos: UInt64 = 0
    for tid in others {
      schedReads += 1
      guard let stat = schedReader(tid)?.read() else {
        quietBaseline = nil
        return false
      }
      othersNanos &+= stat.runNanos
    }
    let idleNanos = total &- othersNanos
    defer { quietBaseline = (trusted, idleNanos) }
    guard let last = quietBaseline else { return false }
    return last.trusted == trusted && last.idleNanos == idleNanos
  }

  /// Running or runnable now, from /proc/PID/task/TID/syscall (one pread; see
  /// `ThreadRunStateReader`). A thread that was blocked at the last look is
  /// first checked in schedstat, cheaper still (a pool of idle threads costs
  /// that per sample): once it has stayed off every CPU for `quietLooksToTrust`
  /// looks in a row since the schedstat read made just before a state read found
  /// it blocked, it is taken as still blocked without one. Threads that run now
  /// and then (a GIL waiter wakes every 5 ms) keep being read in full, so a
  /// thread woken but still waiting for a CPU is counted as runnable; only a
  /// long-idle thread woken in the instant before a sample is missed by it.
  /// Those are checked in schedstat only every few looks.
  /// (`look` does not ask about trusted-blocked threads that the process's
  /// CPU clock already showed still.)
  func isRunning(_ tid: ThreadID) -> Bool {
    var before: SchedStat?
    var idle = blocked[tid]
    if var entry = idle, let reader = schedReader(tid) {
      if entry.looksBeforeCheck > 0 {
        entry.looksBeforeCheck -= 1
      } else {
        schedReads += 1
        before = reader.read()
        if before == entry.baseline {
          entry.quietLooks += 1
          if entry.quietLooks >= Self.quietLooksToTrust {
            blocked[tid] = entry
            return false
          }
        } else if entry.baseline != .unknown {
          entry.looksBeforeCheck = Self.looksWithoutCheckAfterRun  // it ran since its baseline
        }
      }
      idle = entry
    }
    if stateReaders[tid] == nil { stateReaders[tid] = ThreadRunStateReader(pid: pid, tid: tid) }
    stateReads += 1
    guard let running = stateReaders[tid]?.isRunning() else {
      blocked[tid] = nil
      return false
    }
    if running {
      blocked[tid] = nil
    } else if let before, before != idle?.baseline {
      // A new baseline, from just before the read that found it blocked.
      blocked[tid] = Blocked(baseline: before, quietLooks: 0, looksBeforeCheck: idle?.looksBeforeCheck ?? 0)
    } else {
      // Found blocked without a schedstat read: one is made at the next look
      // (a first sight has no baseline and is read in full once more); an
      // unchanged one keeps counting quiet looks.
      blocked[tid] = idle ?? Blocked(baseline: .unknown, quietLooks: 0)
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
    guard let cpu = ProcFS.threadStat(pid, tid)?.processor else {
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
