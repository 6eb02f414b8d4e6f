import Foundation
import Testing

extension Reliability {
  /// The target ends while sampled at 1 kHz (a status, a signal, a crash): every
  /// sample taken is written, stderr says how it ended, the profiler exits 0, and
  /// the target ends exactly as it does unprofiled.
  @Suite struct ExitTests {
    static let modes: [[String]] = [
      ["status", "3"], ["return"], ["thread-exit", "4"], ["leader-exit", "5"],
      ["signal"], ["segv"], ["abort"], ["kill"],
    ]

    /// The line the profiler must print for an ending seen by the real parent.
    static func endLine(_ pid: Int32, _ ending: Background.Ending) -> String {
      ending.signaled ? "PID \(pid) was killed by signal \(ending.status) (" : "PID \(pid) exited with status \(ending.status)"
    }

    @Test(arguments: modes)
    func targetEndsWhileAttached(mode: [String]) throws {
      let runs = Soak.pick(ci: 1, soak: 10)
      let exe = try RelFixtures.build("rel_exit")
      let reference = try RelFixtures.reference(exe, mode + ["untraced"])
      let unprofiled = Background.Ending(status: reference.status, signaled: reference.signaled)
      for _ in 0..<runs {
        let target = try TargetProcess(exe, mode)
        defer { target.stop() }
        let profiler = try Background(Sampswift.executable, ["record", "--pid", String(target.pid), "--rate", "1000"])
        defer { profiler.signal(SIGKILL) }
        _ = try waitForTarget(target, profiler: profiler, timeout: 30)
        let end = try profiler.wait(timeout: 30)
        let ending = target.ending
        #expect(ending.status == unprofiled.status && ending.signaled == unprofiled.signaled,
                "\(mode): profiled \(ending), unprofiled \(unprofiled)")
        #expect(end.status == 0 && !end.signaled, "\(profiler.stderr)")
        #expect(profiler.stderr.contains(Self.endLine(target.pid, ending)), "\(profiler.stderr)")
        let problems = profileProblems(profiler.stdout, profiler.stderr)
        #expect(problems.isEmpty, "\(mode): \(problems)")
        #expect((Summary(profiler.stderr)?.samples ?? 0) > 0, "\(profiler.stderr)")
        print("[reliability] exit \(mode.joined(separator: " ")): \(profiler.stderr.split(separator: "\n").first { $0.contains("PID \(target.pid) ") && !$0.contains("attached") } ?? "?")")
      }
    }

    /// A thread that never reaches its stop costs its sample, counted: with
    /// --idle the zombie leader (main called pthread_exit; a worker exits 0.2 s
    /// later) is asked to stop, times out once, and is not asked again.
    @Test func aStopThatNeverComesIsCounted() throws {
      let exe = try RelFixtures.build("rel_exit")
      let target = try TargetProcess(exe, ["leader-exit", "5"])
      defer { target.stop() }
      let profiler = try Background(Sampswift.executable, ["record", "--pid", String(target.pid), "--idle", "--rate", "100"])
      defer { profiler.signal(SIGKILL) }
      _ = try waitForTarget(target, profiler: profiler, timeout: 30)
      #expect(try profiler.wait(timeout: 30).status == 0, "\(profiler.stderr)")
      #expect(profiler.stderr.contains("1 thread did not stop within 100 ms"), "\(profiler.stderr)")
    }

    /// A thread whose stop does not come for a while (a vfork parent waits
    /// for its child uninterruptibly) costs every sample it misses, each
    /// counted: one wait of 100 ms, then "still not stopped" until the child
    /// is gone, after which it is sampled again. (A zombie leader, above, is
    /// not counted again: it has no stack left.)
    @Test func aThreadThatStaysUnstoppableIsCountedEverySample() throws {
      let exe = try RelFixtures.build("rel_vfork")
      let target = try TargetProcess(exe, ["1000"])
      defer { target.stop() }
      let profiler = try Background(Sampswift.executable, ["record", "--pid", String(target.pid), "--idle", "--rate", "100"])
      defer { profiler.signal(SIGKILL) }
      _ = try waitForTarget(target, profiler: profiler, timeout: 30)
      #expect(try profiler.wait(timeout: 30).status == 0, "\(profiler.stderr)")
      let waitedMs = try #require(target.reported("vfork_ms").flatMap { Double($0) }, "\(target.output)")
      #expect(profiler.stderr.contains("1 thread did not stop within 100 ms"), "\(profiler.stderr)")
      let missed = Summary.errorCount("thread still not stopped since an earlier sample", in: profiler.stderr)
      // About one a sample for the rest of the wait (100 Hz, jittered).
      let expected = (waitedMs - 100) / 10
      #expect(Double(missed) > expected * 0.5 && Double(missed) < expected * 1.5 + 5,
              "waited \(waitedMs) ms, missed \(missed): \(profiler.stderr)")
      #expect(Folded(profiler.stdout).merged.keys.contains { $0.last?.hasPrefix("rel_leaf ") == true }, "\(profiler.stdout)")
    }

    /// Once the main thread has called pthread_exit, the workers' stacks are
    /// still copied and unwound: through each thread's own ID, since reads by the
    /// process ID fail for a zombie leader (they cost every sample an error).
    @Test func aZombieLeaderLeavesNativeStacksReadable() throws {
      let exe = try RelFixtures.build("rel_exit")
      let target = try TargetProcess(exe, ["leader-exit", "5"])
      defer { target.stop() }
      let profiler = try Background(Sampswift.executable, ["record", "--pid", String(target.pid), "--rate", "1000"])
      defer { profiler.signal(SIGKILL) }
      _ = try waitForTarget(target, profiler: profiler, timeout: 30)
      #expect(try profiler.wait(timeout: 30).status == 0, "\(profiler.stderr)")
      let summary = try #require(Summary(profiler.stderr), "\(profiler.stderr)")
      // The leader may be caught as it exits and never reach its stop: one sample.
      let timeouts = profiler.stderr.contains("1 thread did not stop within 100 ms") ? 1 : 0
      #expect(summary.errors == timeouts, "\(profiler.stderr)")
      #expect(Folded(profiler.stdout).merged.keys.contains { $0.last?.hasPrefix("rel_leaf ") == true }, "\(profiler.stdout)")
    }

    /// The same through `record -- COMMAND`, where the profiler is also the parent.
    /// The command shares stdout, so the profile goes to a file.
    @Test(arguments: [["status", "3"], ["segv"]])
    func launchedCommandEnds(mode: [String]) throws {
      let exe = try RelFixtures.build("rel_exit")
      let file = FileManager.default.temporaryDirectory.appendingPathComponent("rel-launch-\(getpid())-\(mode[0]).folded").path
      defer { try? FileManager.default.removeItem(atPath: file) }
      let result = try Sampswift.run(["record", "--rate", "1000", "-o", file, "--", exe] + mode, timeout: 30)
      #expect(result.status == 0 && !result.signaled, "\(result.stderr)")
      let expected = mode == ["segv"] ? "was killed by signal \(SIGSEGV) (" : "exited with status 3"
      #expect(result.stderr.contains(expected), "\(result.stderr)")
      let profile = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
      let problems = profileProblems(profile, result.stderr)
      #expect(problems.isEmpty, "\(problems)")
    }

    /// The real parent sees the target's exit at once, not when the profiler
    /// next samples: at 0.2 Hz (5 s apart) the gap must stay below a second.
    @Test func parentReapsPromptly() throws {
      let exe = try RelFixtures.build("rel_exit")
      var worst = 0.0
      for _ in 0..<Soak.pick(ci: 3, soak: 20) {
        let target = try TargetProcess(exe, ["status", "0"])
        defer { target.stop() }
        let profiler = try Background(Sampswift.executable, ["record", "--pid", String(target.pid), "--rate", "0.2"])
        defer { profiler.signal(SIGKILL) }
        // The fixture works 0.3 s once traced, then exits; watch its threads go.
        #expect(Proc.waitTraced(target.pid, by: profiler.pid))
        var gone: Date?
        let deadline = Date().addingTimeInterval(20)
        while target.process.isRunning, Date() < deadline {
          if gone == nil, Proc.threads(target.pid).allSatisfy({ $0.state == "Z" || $0.state == "X" }) { gone = Date() }
          usleep(200)
        }
        _ = try waitForTarget(target, profiler: profiler, timeout: 5)
        let gap = Date().timeIntervalSince(gone ?? Date())
        worst = max(worst, gap)
        try profiler.wait(timeout: 10)
      }
      print("[reliability] target exit to parent's reap while sampled at 0.2 Hz: at most \(Int(worst * 1000)) ms")
      #expect(worst < 1)
    }
  }
}
