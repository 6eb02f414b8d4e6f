import Foundation
import Testing

extension Reliability {
  /// Bad options and unusable outputs: a one-line error, a hint, a documented exit
  /// code (64 usage, 73 output), never a trap or backtrace, and the target untouched.
  @Suite struct InputTests {
    /// A directory no file can be created in: a mode 0555 one, or for root (whom
    /// permission bits do not stop) the top of sysfs, which refuses new files.
    static let readOnlyDirectory: String = {
      if geteuid() == 0 { return "/sys" }
      let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rel-readonly-\(getpid())").path
      try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
      chmod(dir, 0o555)
      return dir
    }()

    struct Case: CustomStringConvertible, Sendable {
      var arguments: [String]
      var code: Int32
      var message: String
      var description: String { arguments.joined(separator: " ") }
    }

    static let cases: [Case] = [
      Case(arguments: ["--rate", "0"], code: 64, message: "--rate must be a positive number"),
      Case(arguments: ["--rate=-5"], code: 64, message: "--rate must be a positive number"),
      Case(arguments: ["--rate", "-5"], code: 64, message: "--rate must be a positive number of samples per second, not '-5'"),
      Case(arguments: ["--rate", "fast"], code: 64, message: "--rate must be a positive number of samples per second, not 'fast'"),
      Case(arguments: ["--rate", "1e9"], code: 64, message: "above the maximum"),
      Case(arguments: ["--rate", "1e400"], code: 64, message: "--rate must be a positive number"),
      Case(arguments: ["--rate", "nan"], code: 64, message: "--rate must be a positive number"),
      Case(arguments: ["--rate", "1e-300"], code: 64, message: "below the minimum"),
      Case(arguments: ["--duration", "0"], code: 64, message: "--duration must be a positive number"),
      Case(arguments: ["--duration=-1"], code: 64, message: "--duration must be a positive number"),
      Case(arguments: ["--duration", "soon"], code: 64, message: "--duration must be a positive number of seconds, not 'soon'"),
      Case(arguments: ["--duration", "1e300"], code: 64, message: "above the maximum"),
      Case(arguments: ["--format", "xml"], code: 64, message: "'xml' is invalid for '--format"),
      Case(arguments: ["-o", "/proc/nonexistent/x"], code: 73, message: "cannot write to /proc/nonexistent/x"),
      Case(arguments: ["-o", readOnlyDirectory + "/profile.folded"], code: 73, message: "cannot write to \(readOnlyDirectory)/profile.folded"),
      Case(arguments: ["-o", "/"], code: 73, message: "cannot write to /: Is a directory"),
    ]

    @Test(arguments: cases)
    func badInputIsOneClearError(_ input: Case) throws {
      let exe = try RelFixtures.build("rel_signals")
      let target = try TargetProcess(exe, ["default"])
      defer { target.stop() }
      let result = try Sampswift.run(["record", "--pid", String(target.pid)] + input.arguments, timeout: 20)
      let lines = result.stderr.split(separator: "\n").map(String.init)
      #expect(result.status == input.code && !result.signaled, "\(input): status \(result.status)\n\(result.stderr)")
      let errors = lines.filter { $0.hasPrefix("Error: ") || $0.hasPrefix("sampswift: error: ") }
      #expect(errors.count == 1 && errors[0].contains(input.message), "\(input): \(result.stderr)")
      #expect(lines.contains { $0.hasPrefix("hint: ") || $0.contains("--help' for more information") }, "\(input): no hint in \(result.stderr)")
      for trap in ["Fatal error", "Backtracing", "crashed", "Thread 0"] {
        #expect(!result.stderr.contains(trap), "\(input): \(result.stderr)")
      }
      #expect(result.stdout.isEmpty)
      #expect(Proc.heldThreads(target.pid, within: 0) == nil)
      #expect(target.process.isRunning)
    }

    /// `sampswift record ... | head -1`: the profiler sees the closed pipe at its
    /// next flush (about a second), exits 0, and the target runs on untouched.
    @Test func closedStdoutEndsCleanly() throws {
      let exe = try RelFixtures.build("rel_work")
      let rounds = "3000"  // outlives the pipeline (about 2 s) even unloaded
      let expected = RelFixtures.line("checksum", in: try RelFixtures.reference(exe, [rounds]))
      for _ in 0..<Soak.pick(ci: 1, soak: 20) {
        let target = try TargetProcess(exe, [rounds])
        defer { target.stop() }
        let started = Date()
        let script = "\"$0\" record --pid \"$1\" --rate 1000 | head -1; echo \"rc=${PIPESTATUS[0]}\""
        let result = try Command.run("bash", ["-c", script, Sampswift.executable, String(target.pid)], timeout: 30)
        let elapsed = Date().timeIntervalSince(started)
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 2 && Folded(String(lines[0])).malformed.isEmpty && Folded(String(lines[0])).total > 0, "\(result.stdout)")
        #expect(lines.last == "rc=0", "\(result.stdout)\n\(result.stderr)")
        #expect(result.stderr.contains("output closed"), "\(result.stderr)")
        #expect(elapsed < 10, "took \(elapsed) s")
        #expect(Proc.heldThreads(target.pid, within: 0.2) == nil)
        #expect(target.process.isRunning, "target ended early: \(target.output)")
        #expect(try waitForTarget(target, profiler: nil) == 0)
        #expect(target.awaitReported("checksum").map { "checksum " + $0 } == expected)
        print("[reliability] record | head -1: profiler ended \(String(format: "%.1f", elapsed)) s after start, \(lines.last ?? "?")")
      }
    }
  }
}
