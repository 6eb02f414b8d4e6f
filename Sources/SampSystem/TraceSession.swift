import Glibc

/// How a traced process ended, as the tracer saw it.
public enum ProcessEnd: Equatable, Sendable, CustomStringConvertible {
  case exited(status: Int32)
  case killed(signal: Int32, coreDumped: Bool)
  case execed
  public var description: String {
    switch self {
    case .exited(let s): return "exited with status \(s)"
    case .killed(let sig, let core):
      let name = String(cString: strsignal(sig))
      return "was killed by signal \(sig) (\(name))" + (core ? ", core dumped" : "")
    case .execed: return "replaced its program (exec)"
    }
  }
}

/// All ptrace state of one target process: every thread seized once (PTRACE_SEIZE,
/// never PTRACE_ATTACH), stopped per sample with PTRACE_INTERRUPT and resumed at once.
/// Signals that arrive while traced are passed on, the user's SIGSTOP/SIGCONT keep
/// their meaning (PTRACE_LISTEN), and threads that come and go are followed.
/// If the profiler dies at any instant, the kernel detaches and the target runs on.
public final class TraceSession {
  public enum ThreadState: Equatable, Sendable {
    case running
    /// In a ptrace-stop we asked for (or any stop met while waiting for one).
    case stopped
    /// Stopped by the user's SIGSTOP; kept stopped with PTRACE_LISTEN.
    case groupStopped
    /// Created after attach; its first stop has not been seen yet.
    case starting
  }

  public let pid: ProcessID
  public private(set) var threads: [ThreadID: ThreadState] = [:]
  /// Set once the process has exited, been killed, or exec'd.
  public private(set) var ended: ProcessEnd?
  /// Signals taken from a signal-delivery-stop, passed on with the next resume.
  private var pendingSignals: [ThreadID: Int32] = [:]
  /// Threads that reported their stop as a group-stop (resume with LISTEN).
  private var inGroupStop: Set<ThreadID> = []
  /// Counters for the summary.
  public private(set) var signalsForwarded = 0
  public private(set) var threadsStarted = 0
  public private(set) var threadsExited = 0
  /// Set when the target exec'd: mappings and interpreter must be found again.
  public private(set) var execCount = 0

  /// Seizes every thread of `pid`. Threads created meanwhile are caught by
  /// PTRACE_O_TRACECLONE on their seized parent; the task list is re-read until stable.
  public init(pid: ProcessID) throws(SystemError) {
    self.pid = pid
    let options: Ptrace.Options = [.traceClone, .traceExec]
    try Ptrace.seize(ThreadID(pid.rawValue), options: options)
    threads[ThreadID(pid.rawValue)] = .running
    for _ in 0..<100 {
      var added = false
      let listed = (try? ProcFS.threads(of: pid)) ?? []
      for tid in listed where threads[tid] == nil {
        do {
          try Ptrace.seize(tid, options: options)
          threads[tid] = .running
          added = true
        } catch let error {
          // EPERM for a thread already seized through TRACECLONE; ESRCH if it exited.
          if error.errno == .notPermitted || error.errno == .noSuchProcess { continue }
          detachAll()
          throw error
        }
      }
      if !added { break }
    }
    pollEvents()
  }

  deinit { detachAll() }

  public var isAlive: Bool { ended == nil && !threads.isEmpty }
  public var runningThreads: [ThreadID] { threads.filter { $0.value == .running }.map(\.key).sorted() }

  /// Stops the given threads and returns those now stopped (a thread that exits
  /// or is in group-stop is left out). Callers must `resume` what this returns;
  /// `withStopped` does so on every path.
  public func stop(_ tids: [ThreadID]) -> [ThreadID] {
    var interrupted: [ThreadID] = []
    interrupted.reserveCapacity(tids.count)
    for tid in tids where threads[tid] == .running {
      do {
        try Ptrace.interrupt(tid)
        interrupted.append(tid)
      } catch {
        forget(tid)
      }
    }
    var stopped: [ThreadID] = []
    stopped.reserveCapacity(interrupted.count)
    for tid in interrupted {
      // Any ptrace-stop of this thread means it is stopped: read it now; a late
      // interrupt stop is resumed by pollEvents.
      while true {
        guard let (who, event) = try? Wait.next(tid, blocking: true) else {
          forget(tid)
          break
        }
        if handleStop(who, event, wanted: true) {
          stopped.append(tid)
          break
        }
        if threads[tid] == nil { break }
      }
    }
    return stopped
  }

  /// Resumes threads returned by `stop`, passing on any signal they were to receive.
  public func resume(_ tids: [ThreadID]) {
    for tid in tids where threads[tid] == .stopped {
      continueThread(tid)
    }
  }

  /// Runs `body` with the threads stopped and resumes them whatever happens.
  public func withStopped<T>(_ tids: [ThreadID], _ body: ([ThreadID]) throws -> T) rethrows -> T {
    let stopped = stop(tids)
    defer { resume(stopped) }
    return try body(stopped)
  }

  /// Handles every pending event without blocking: forwards signals, follows new
  /// and exiting threads, keeps group-stops, notices exit and exec.
  public func pollEvents() {
    while let (who, event) = try? Wait.next(nil, blocking: false) {
      if handleStop(who, event, wanted: false) {
        // A stop nobody asked for now (a late PTRACE_INTERRUPT): let it run.
        continueThread(who)
      }
    }
  }

  /// Applies one event; returns true if `tid` is now in a ptrace-stop that the
  /// caller owns (and must resume).
  private func handleStop(_ tid: ThreadID, _ event: TraceEvent, wanted: Bool) -> Bool {
    if threads[tid] == nil, !event.isGone {
      // A new thread's first stop can arrive before its parent's clone event.
      threads[tid] = .starting
      threadsStarted += 1
    }
    switch event {
    case .exited(let status):
      if tid.rawValue == pid.rawValue { ended = ended ?? .exited(status: status) }
      forget(tid)
      threadsExited += 1
      return false
    case .killed(let signal, let core):
      if tid.rawValue == pid.rawValue { ended = ended ?? .killed(signal: signal, coreDumped: core) }
      forget(tid)
      threadsExited += 1
      return false
    case .groupStop:
      inGroupStop.insert(tid)
      threads[tid] = .stopped
      return true
    case .signalDelivery(let signal):
      pendingSignals[tid] = signal
      signalsForwarded += 1
      threads[tid] = .stopped
      return true
    case .cloned(let child):
      if threads[child] == nil {
        threads[child] = .starting
        threadsStarted += 1
      }
      threads[tid] = .stopped
      return true
    case .exec:
      execCount += 1
      // The other threads are gone; the exec'ing thread now has the leader's TID.
      let leader = ThreadID(pid.rawValue)
      for other in threads.keys where other != tid && other != leader { forget(other) }
      if tid != leader {
        forget(tid)
      }
      threads[leader] = .stopped
      if !wanted {
        continueThread(leader)
        return false
      }
      return tid == leader
    case .interrupted, .exiting, .other:
      if threads[tid] == .groupStopped {
        // SIGCONT after PTRACE_LISTEN: the thread may run again.
        threads[tid] = .stopped
        return true
      }
      threads[tid] = .stopped
      return true
    }
  }

  private func continueThread(_ tid: ThreadID) {
    do {
      if inGroupStop.remove(tid) != nil {
        try Ptrace.listen(tid)
        threads[tid] = .groupStopped
      } else {
        let signal = pendingSignals.removeValue(forKey: tid) ?? 0
        try Ptrace.resume(tid, deliver: signal)
        threads[tid] = .running
      }
    } catch {
      forget(tid)
    }
  }

  private func forget(_ tid: ThreadID) {
    threads[tid] = nil
    pendingSignals[tid] = nil
    inGroupStop.remove(tid)
  }

  /// Detaches from every thread, delivering pending signals. A thread that does
  /// not stop within 200 ms is left to the kernel, which detaches it when the
  /// profiler exits: waiting on it could hang the profiler.
  public func detachAll() {
    pollEvents()
    for (tid, state) in threads where state == .stopped {
      let signal = pendingSignals.removeValue(forKey: tid) ?? 0
      if (try? Ptrace.detach(tid, deliver: signal)) != nil { forget(tid) }
    }
    var waiting = Set(threads.keys)
    for tid in waiting where (try? Ptrace.interrupt(tid)) == nil {
      waiting.remove(tid)
      forget(tid)
    }
    let deadline = Monotonic.now() + 200_000_000
    while !waiting.isEmpty, Monotonic.now() < deadline {
      guard let (who, event) = try? Wait.next(nil, blocking: false) else {
        usleep(200)
        continue
      }
      if event.isGone {
        waiting.remove(who)
        forget(who)
        continue
      }
      var signal: Int32 = 0
      if case .signalDelivery(let s) = event { signal = s }
      if case .groupStop(let s) = event { signal = s }
      if let pending = pendingSignals[who], signal == 0 { signal = pending }
      _ = try? Ptrace.detach(who, deliver: signal)
      waiting.remove(who)
      forget(who)
    }
  }
}

/// CLOCK_MONOTONIC in nanoseconds.
public enum Monotonic {
  public static func now() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
  }
}
