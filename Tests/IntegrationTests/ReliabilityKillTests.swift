import Foundation
import Testing

extension Reliability {
  /// The profiler dies by SIGKILL at random instants: the target must never be
  /// left stopped or traced, and must finish with its own correct result.
  @Suite struct KillTests {
    @Test func killedProfilerNeverLeavesTargetStopped() throws {
      let kills = Soak.pick(ci: 50, soak: 1000)
      let rounds = "1500"  // about 1 s of work unprofiled, on 2 cores
      let exe = try RelFixtures.build("rel_work")
      let reference = try RelFixtures.reference(exe, [rounds])
      #expect(reference.status == 0)
      let expected = try #require(reference.stdout.split(separator: "\n").last { $0.hasPrefix("checksum ") })

      var random = SeededRandom()
      var done = 0
      var targets = 0
      var duringSampling = 0
      var transientlyHeld = 0
      var failures: [String] = []
      while done < kills {
        let target = try TargetProcess(exe, [rounds])
        defer { target.stop() }
        targets += 1
        while done < kills, target.process.isRunning {
          let rate = [10, 100, 250, 500, 1000, 1000][Int.random(in: 0..<6, using: &random)]
          var arguments = ["record", "--pid", String(target.pid), "--rate", String(rate)]
          if Bool.random(using: &random) { arguments.append("--idle") }  // stops sleeping threads too
          let profiler = try Background(Sampswift.executable, arguments, captureOutput: false)
          // Most kills land while sampling; some at any instant from launch (parsing, seizing).
          if Int.random(in: 0..<8, using: &random) > 0 {
            if profiler.waitForStderr("attached to PID", timeout: 10) { duringSampling += 1 }
            usleep(UInt32.random(in: 0..<300_000, using: &random))
          } else {
            usleep(UInt32.random(in: 0..<150_000, using: &random))
          }
          profiler.signal(SIGKILL)
          try profiler.wait(timeout: 10)
          done += 1
          // Immediately after the profiler is reaped the kernel has detached it.
          if Proc.heldThreads(target.pid, within: 0) != nil { transientlyHeld += 1 }
          if let held = Proc.heldThreads(target.pid, within: 0.2) {
            failures.append("kill \(done) (rate \(rate)): still held after 200 ms: \(held)")
          }
        }
        let status = try target.waitForExit(timeout: 60)
        if status != 0 || target.ending.signaled { failures.append("target \(targets) ended with \(status)") }
        if target.awaitReported("checksum").map({ "checksum " + $0 }) != String(expected) {
          failures.append("target \(targets): \(target.awaitReported("checksum") ?? "no checksum"), expected \(expected)")
        }
      }
      print("[reliability] kill: \(done) kills (\(duringSampling) while sampling) over \(targets) targets, seed \(random.seed); held right after reaping: \(transientlyHeld); failures: \(failures.count)")
      #expect(failures.isEmpty, "seed \(random.seed): \(failures.joined(separator: "; "))")
    }
  }
}
