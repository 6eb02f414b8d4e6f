import Foundation
import Testing

extension Reliability {
  /// Threads that come and go, children forked, the program exec'd: the profiler
  /// neither crashes nor hangs (every run bounded), and the target's output and
  /// exit status are those of an unprofiled run.
  @Suite struct ChurnTests {
    struct Run {
      var target: TargetProcess
      var profiler: Background
      var status: Int32
    }

    /// Runs fixture `name` with `arguments` sampled at 1 kHz until it exits by
    /// itself, and checks it against an unprofiled run (`arguments` + untraced).
    static func profiledMatchesUnprofiled(_ name: String, _ arguments: [String], extra: [String] = [],
                                          resultKey: String) throws -> Run {
      let exe = try RelFixtures.build(name)
      let reference = try RelFixtures.reference(exe, arguments + ["untraced"])
      #expect(reference.status == 0 && !reference.signaled, "\(reference.stdout) \(reference.stderr)")
      let expected = reference.stdout.split(separator: "\n").last { $0.hasPrefix(resultKey + " ") }.map(String.init)
      #expect(expected != nil)

      let target = try TargetProcess(exe, arguments)
      defer { target.stop() }
      let profiler = try Background(Sampswift.executable, ["record", "--pid", String(target.pid), "--rate", "1000"] + extra)
      defer { profiler.signal(SIGKILL) }
      let status = try waitForTarget(target, profiler: profiler, timeout: 90)
      let end = try profiler.wait(timeout: 30)
      #expect(status == 0 && !target.ending.signaled, "target: \(target.output) \(target.stderrText)")
      #expect(target.awaitReported(resultKey).map { resultKey + " " + $0 } == expected, "\(target.output)")
      #expect(end.status == 0 && !end.signaled, "\(profiler.stderr)")
      #expect(profiler.stderr.contains("PID \(target.pid) exited with status 0"), "\(profiler.stderr)")
      let problems = profileProblems(profiler.stdout, profiler.stderr)
      #expect(problems.isEmpty, "\(problems)")
      return Run(target: target, profiler: profiler, status: status)
    }

    @Test(arguments: [false, true])
    func threadChurn(idle: Bool) throws {
      let runs = Soak.pick(ci: 1, soak: 20)
      for _ in 0..<runs {
        let run = try Self.profiledMatchesUnprofiled("rel_threads", ["1500"], extra: idle ? ["--idle"] : [], resultKey: "threads")
        print("[reliability] thread churn\(idle ? " --idle" : ""): \(run.target.awaitReported("threads") ?? "?"); \(Summary(run.profiler.stderr).map { "\($0.samples) samples" } ?? "no summary")")
      }
    }

    /// Threads caught at their first instruction, right after clone, where
    /// glibc leaves no unwind information: each is one frame (__clone3), not a
    /// data address repeated for a hundred frames (what libunwind's guess gave,
    /// one sample of most short threads). The thread that called clone, caught
    /// at the same instruction, is unwound from the return address on top of
    /// its stack: its callers show (it was one frame).
    @Test func newThreadsUnwindToCodeOnly() throws {
      let exe = try RelFixtures.build("rel_threads")
      // The command shares stdout, so the profile goes to a file.
      let file = FileManager.default.temporaryDirectory.appendingPathComponent("rel-new-threads-\(getpid()).folded").path
      defer { try? FileManager.default.removeItem(atPath: file) }
      let result = try Sampswift.run(["record", "--rate", "1000", "--threads", "-o", file, "--", exe, "1500", "untraced"], timeout: 90)
      #expect(result.status == 0 && !result.signaled, "\(result.stderr)")
      let profile = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
      let problems = profileProblems(profile, result.stderr)
      #expect(problems.isEmpty, "\(problems)")
      let folded = Folded(profile)
      #expect(folded.lines.allSatisfy { $0.frames.count <= 20 }, "\(folded.lines.map(\.frames.count).max() ?? 0) frames")
      #expect(folded.lines.contains { $0.frames.last?.hasPrefix("rel_leaf ") == true }, "\(profile.prefix(2000))")
      let creating = folded.lines.filter { line in
        line.frames.last?.hasPrefix("__clone3 ") == true && line.frames.contains { $0.hasPrefix("main (rel_threads.c:") }
      }
      #expect(creating.contains { $0.frames.contains { $0.hasPrefix("pthread_create ") } }, "\(profile.prefix(3000))")
    }

    @Test func forkedChildrenRunUntraced() throws {
      let runs = Soak.pick(ci: 2, soak: 20)
      for _ in 0..<runs {
        let run = try Self.profiledMatchesUnprofiled("rel_fork", ["100"], resultKey: "children")
        print("[reliability] fork churn: \(run.target.awaitReported("children") ?? "?")")
      }
    }

    /// The profiler follows the exec'd program: samples from both images, named.
    @Test(arguments: ["main", "thread"])
    func execIsFollowed(who: String) throws {
      let runs = Soak.pick(ci: 1, soak: 20)
      for _ in 0..<runs {
        let run = try Self.profiledMatchesUnprofiled("rel_exec", [who, "1000"], resultKey: "checksum")
        let folded = Folded(run.profiler.stdout)
        let before = folded.count { Folded.names($0).contains("before_exec") }
        let after = folded.count { Folded.names($0).contains("after_exec") }
        // An address no module claims: a thread unwound after it died (killed by
        // the exec, or ended). Measured, not asserted: see Docs/RELIABILITY.md.
        let unnamed = folded.count { $0.contains { $0.hasPrefix("0x") && $0.hasSuffix("(?)") } }
        print("[reliability] exec from \(who == "main" ? "the main" : "a worker") thread: \(before) samples in before_exec, \(after) in after_exec, \(unnamed) unnamed")
        #expect(before > 0 && after > 0, "\(run.profiler.stdout.prefix(2000))")
      }
    }
  }
}
