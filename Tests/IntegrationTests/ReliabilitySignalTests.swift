import Foundation
import Testing

extension Reliability {
  /// Signals sent to a target sampled at 1 kHz reach it exactly as they would
  /// unprofiled: none lost, the same ending, job control still works.
  @Suite struct SignalTests {
    /// Sends `count` SIGUSR1, each only once the previous one was taken by a thread
    /// (no longer pending), so the kernel cannot merge two into one.
    static func burst(_ pid: Int32, count: Int) throws {
      for i in 0..<count {
        kill(pid, SIGUSR1)
        let deadline = Date().addingTimeInterval(5)
        while Proc.isPending(pid, SIGUSR1) {
          if Date() > deadline { throw FixtureError.timeout("SIGUSR1 \(i) never taken by PID \(pid)") }
          usleep(50)
        }
        usleep(200)
      }
    }

    /// Starts the profiler at 1 kHz on `pid` and waits until it samples.
    static func profile(_ pid: Int32, _ extra: [String] = []) throws -> Background {
      let profiler = try Background(Sampswift.executable, ["record", "--pid", String(pid), "--rate", "1000"] + extra)
      guard profiler.waitForStderr("attached to PID") else {
        throw FixtureError.notReady("profiler: \(profiler.stderr)")
      }
      return profiler
    }

    static func counted(_ profiled: Bool, count: Int) throws -> (Int?, Background?) {
      let exe = try RelFixtures.build("rel_signals")
      let target = try TargetProcess(exe, ["count"])
      defer { target.stop() }
      let profiler = profiled ? try profile(target.pid) : nil
      defer { profiler?.signal(SIGKILL) }
      try burst(target.pid, count: count)
      kill(target.pid, SIGUSR2)
      let status = try waitForTarget(target, profiler: profiler, timeout: 30)
      #expect(status == 0)
      if let profiler {
        try profiler.wait(timeout: 30)
        #expect(profiler.stderr.contains("PID \(target.pid) exited with status 0"), "\(profiler.stderr)")
      }
      return (target.awaitReported("usr1").flatMap { Int($0) }, profiler)
    }

    @Test func everySIGUSR1Arrives() throws {
      let count = Soak.pick(ci: 300, soak: 3000)
      let (unprofiled, _) = try Self.counted(false, count: count)
      let (profiled, profiler) = try Self.counted(true, count: count)
      print("[reliability] SIGUSR1 burst of \(count): unprofiled counted \(unprofiled ?? -1), profiled at 1 kHz counted \(profiled ?? -1)")
      #expect(unprofiled == count)
      #expect(profiled == unprofiled, "\(profiler?.stderr ?? "")")
    }

    /// How `rel_signals MODE` ends on `sig`, with and without the profiler.
    static func ending(mode: String, signal sig: Int32, profiled: Bool) throws -> Background.Ending {
      let exe = try RelFixtures.build("rel_signals")
      let target = try TargetProcess(exe, [mode])
      defer { target.stop() }
      let profiler = profiled ? try profile(target.pid) : nil
      defer { profiler?.signal(SIGKILL) }
      usleep(100_000)
      kill(target.pid, sig)
      _ = try waitForTarget(target, profiler: profiler, timeout: 30)
      if let profiler {
        let end = try profiler.wait(timeout: 30)
        #expect(end.status == 0 && !end.signaled, "\(profiler.stderr)")
        let expected = target.ending.signaled ? "was killed by signal \(sig)" : "exited with status \(target.ending.status)"
        #expect(profiler.stderr.contains("PID \(target.pid) \(expected)"), "\(profiler.stderr)")
        #expect(profileProblems(profiler.stdout, profiler.stderr).isEmpty)
      }
      return target.ending
    }

    @Test(arguments: [("default", SIGTERM), ("default", SIGINT), ("handle", SIGTERM), ("handle", SIGINT)])
    func terminationSignalsEndItAsUnprofiled(mode: String, sig: Int32) throws {
      let runs = Soak.pick(ci: 1, soak: 10)
      let unprofiled = try Self.ending(mode: mode, signal: sig, profiled: false)
      for _ in 0..<runs {
        let profiled = try Self.ending(mode: mode, signal: sig, profiled: true)
        #expect(profiled.status == unprofiled.status && profiled.signaled == unprofiled.signaled,
                "\(mode) \(sig): profiled \(profiled), unprofiled \(unprofiled)")
      }
      print("[reliability] \(mode) signal \(sig): unprofiled \(unprofiled), profiled same over \(runs) runs")
    }

    /// The user's SIGSTOP stops the target (no CPU used) and SIGCONT resumes it,
    /// while sampled; the result is unchanged. Returns the states seen while
    /// stopped and the longest time from SIGSTOP until every thread had stopped.
    static func stopAndContinue(profiled: Bool, cycles: Int) throws -> (Set<String>, Double) {
      let exe = try RelFixtures.build("rel_signals")
      let rounds = String(1000 * cycles)  // outlives the stop/continue cycles
      let reference = try RelFixtures.reference(exe, ["work", rounds])
      let target = try TargetProcess(exe, ["work", rounds])
      defer { target.stop() }
      let profiler = profiled ? try profile(target.pid) : nil
      defer { profiler?.signal(SIGKILL) }
      var states = Set<String>()
      var slowest = 0.0
      for _ in 0..<cycles {
        usleep(100_000)
        let sent = Date()
        kill(target.pid, SIGSTOP)
        // A traced thread stops once the tracer passes the SIGSTOP on, so allow
        // for a busy profiler; then it must stay stopped.
        while !Proc.threads(target.pid).allSatisfy({ $0.state == "T" || $0.state == "t" }) {
          if Date().timeIntervalSince(sent) > 10 { break }
          usleep(1_000)
        }
        slowest = max(slowest, Date().timeIntervalSince(sent))
        let before = Proc.cpuTicks(target.pid)
        for _ in 0..<20 {
          for thread in Proc.threads(target.pid) { states.insert(thread.state) }
          usleep(10_000)
        }
        let after = Proc.cpuTicks(target.pid)
        #expect(before != nil && before == after, "target ran while stopped: \(before ?? -1) -> \(after ?? -1) ticks")
        kill(target.pid, SIGCONT)
      }
      let status = try waitForTarget(target, profiler: profiler)
      #expect(status == 0)
      #expect(target.awaitReported("checksum") != nil)
      #expect(target.awaitReported("checksum") == reference.stdout.split(separator: "\n").last { $0.hasPrefix("checksum ") }.map { String($0.dropFirst(9)) })
      if let profiler {
        try profiler.wait(timeout: 30)
        #expect(profiler.stderr.contains("PID \(target.pid) exited with status 0"), "\(profiler.stderr)")
      }
      return (states, slowest)
    }

    @Test func jobControlStopsAndResumes() throws {
      let cycles = Soak.pick(ci: 3, soak: 30)
      let (unprofiled, unprofiledDelay) = try Self.stopAndContinue(profiled: false, cycles: cycles)
      let (profiled, profiledDelay) = try Self.stopAndContinue(profiled: true, cycles: cycles)
      print("[reliability] SIGSTOP/SIGCONT x\(cycles): state while stopped unprofiled \(unprofiled.sorted()) (all stopped within \(Int(unprofiledDelay * 1000)) ms), profiled \(profiled.sorted()) (within \(Int(profiledDelay * 1000)) ms)")
      #expect(unprofiled == ["T"])
      #expect(profiled.isSubset(of: ["T", "t"]) && !profiled.isEmpty)
    }

    /// A thread stopped inside a blocking call resumes it: calls the kernel
    /// restarts never fail with EINTR. epoll_wait cannot be restarted and does
    /// fail (as after SIGSTOP/SIGCONT, signal(7)); counted and documented.
    @Test(arguments: [false, true])
    func blockingCallsResumeUnderSampling(idle: Bool) throws {
      let exe = try RelFixtures.build("rel_eintr")
      let target = try TargetProcess(exe, [String(Soak.pick(ci: 300, soak: 3000))])
      defer { target.stop() }
      let profiler = try Self.profile(target.pid, idle ? ["--idle"] : [])
      defer { profiler.signal(SIGKILL) }
      #expect(try waitForTarget(target, profiler: profiler) == 0)
      try profiler.wait(timeout: 30)
      let counts = try #require(target.awaitReported("eintr")).split(separator: " ")
      var eintr: [String: Int] = [:]
      for i in stride(from: 0, to: counts.count - 1, by: 2) { eintr[String(counts[i])] = Int(counts[i + 1]) }
      print("[reliability] EINTR at 1 kHz\(idle ? " --idle" : ""): \(eintr.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))")
      for call in ["nanosleep", "poll", "sem_timedwait", "read"] {
        #expect(eintr[call] == 0, "\(call) failed with EINTR \(eintr[call] ?? -1) times")
      }
    }

    /// The profiler ends (Ctrl-C) while the user has the target stopped: the target
    /// must stay stopped, untraced, as if never profiled; SIGCONT then resumes it.
    /// Also the same when the profiler is SIGKILLed instead.
    @Test(arguments: [SIGINT, SIGKILL])
    func profilerEndingLeavesUserStopInPlace(profilerSignal: Int32) throws {
      let exe = try RelFixtures.build("rel_signals")
      let target = try TargetProcess(exe, ["work", "3000"])
      defer { target.stop() }
      let profiler = try Self.profile(target.pid)
      defer { profiler.signal(SIGKILL) }
      usleep(100_000)
      kill(target.pid, SIGSTOP)
      // End the profiler once every thread is in the stop (the SIGSTOP passes through it).
      #expect(eventually(within: 10) { Proc.threads(target.pid).allSatisfy { $0.state == "t" || $0.state == "T" } })
      profiler.signal(profilerSignal)
      let end = try profiler.wait(timeout: 10)
      if profilerSignal != SIGKILL { #expect(end.status == 0, "\(profiler.stderr)") }
      // Each thread settles in the user's stop, untraced; one the kernel has just
      // let go may need a moment to get there on a busy machine.
      var threads = Proc.threads(target.pid)
      let settled = eventually(within: 2) {
        threads = Proc.threads(target.pid)
        return !threads.isEmpty && threads.allSatisfy { $0.state == "T" && $0.tracerPID == 0 }
      }
      #expect(settled, "after the profiler ended: \(threads.map { "\($0.tid) \($0.state) \($0.tracerPID)" })")
      let ticks = Proc.cpuTicks(target.pid)
      usleep(200_000)
      #expect(Proc.cpuTicks(target.pid) == ticks, "target ran although stopped")
      kill(target.pid, SIGCONT)
      #expect(try waitForTarget(target, profiler: profiler) == 0)
      #expect(target.awaitReported("checksum") != nil)
    }
  }
}
