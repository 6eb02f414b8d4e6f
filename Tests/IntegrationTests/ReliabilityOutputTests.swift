import Foundation
import Testing

extension Reliability {
  /// A run cut short by the user (SIGINT, SIGTERM, SIGHUP at a random instant)
  /// leaves complete folded lines only, all samples counted in the summary, and
  /// the target running on untraced. (A run cut by the target's exit is checked
  /// in ReliabilityExitTests.)
  @Suite struct OutputTests {
    @Test(arguments: [SIGINT, SIGTERM, SIGHUP])
    func cutRunLeavesWholeLines(sig: Int32) throws {
      let runs = Soak.pick(ci: 4, soak: 50)
      let exe = try RelFixtures.build("rel_work")
      var random = SeededRandom()
      let target = try TargetProcess(exe, ["1000000"])  // runs far longer than the test
      defer { target.stop() }
      var failures: [String] = []
      var samples = 0
      var slowest = 0.0
      for run in 0..<runs {
        // --threads makes lines long (a root frame per thread): more to cut.
        let profiler = try Background(Sampswift.executable, ["record", "--pid", String(target.pid), "--rate", "1000", "--threads"])
        defer { profiler.signal(SIGKILL) }
        guard profiler.waitForStderr("attached to PID") else {
          failures.append("run \(run): never attached: \(profiler.stderr)")
          continue
        }
        usleep(UInt32.random(in: 0..<1_500_000, using: &random))
        profiler.signal(sig)
        let sent = Date()
        let end = try profiler.wait(timeout: 20)
        // Even a profiler behind schedule must notice the request at its next
      // tick; only the first sample (loading symbols) may delay it noticeably.
        slowest = max(slowest, Date().timeIntervalSince(sent))
        if end.status != 0 || end.signaled { failures.append("run \(run): profiler ended with \(end)") }
        if !profiler.stderr.contains("stopped by \(signalName(sig))") { failures.append("run \(run): \(profiler.stderr)") }
        let problems = profileProblems(profiler.stdout, profiler.stderr)
        if !problems.isEmpty { failures.append("run \(run): \(problems)") }
        if let held = Proc.heldThreads(target.pid, within: 0.2) { failures.append("run \(run): target held: \(held)") }
        samples += Summary(profiler.stderr)?.samples ?? 0
      }
      #expect(target.process.isRunning, "target died: \(target.stderrText)")
      print("[reliability] cut by \(signalName(sig)): \(runs) runs, \(samples) samples, ended at most \(Int(slowest * 1000)) ms after the signal, seed \(random.seed), failures: \(failures.count)")
      #expect(slowest < 5, "the profiler took \(slowest) s to stop")
      #expect(failures.isEmpty, "seed \(random.seed): \(failures.joined(separator: "; "))")
    }

    func signalName(_ sig: Int32) -> String {
      [SIGINT: "SIGINT", SIGTERM: "SIGTERM", SIGHUP: "SIGHUP"][sig] ?? "signal \(sig)"
    }
  }
}
