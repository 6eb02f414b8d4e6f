import Foundation
import Testing

/// Every error a user can meet before profiling starts, through the real CLI:
/// one line "sampswift: error: ...", one line "hint: ...", the documented exit
/// code (Docs/sampswift.1, EXIT STATUS), nothing on stdout, and never a Swift
/// trap or backtrace. Only processes this test started are ever targeted.
/// Serialized: a child spawned while another test's pipes are open inherits
/// them (Foundation's Process), and reading those to their end would then wait
/// for that child.
@Suite(.serialized) struct ErrorCaseTests {
  // The documented exit codes.
  static let usage: Int32 = 64
  static let noSuchProcess: Int32 = 65
  static let cannotProfile: Int32 = 66
  static let permissionDenied: Int32 = 67
  static let alreadyTraced: Int32 = 68

  // MARK: process IDs

  @Test func pidOfAnExitedProcess() throws {
    let pid = try Self.pidOfExitedProcess()
    let result = try Sampswift.run(["record", "--pid", String(pid)])
    expectError(result, "no process with PID \(pid)", code: Self.noSuchProcess)
  }

  @Test(arguments: [["--pid", "0"], ["--pid=-5"], ["--pid", "abc"], ["--pid", "12x"]])
  func pidThatIsNotAProcessID(arguments: [String]) throws {
    let text = arguments.count == 2 ? arguments[1] : "-5"
    let result = try Sampswift.run(["record"] + arguments)
    expectError(result, "'\(text)' is not a process ID", code: Self.usage)
  }

  /// The CLI's own PID is only known once it runs: `exec` keeps the shell's.
  @Test func ownPID() throws {
    let result = try Command.run("/bin/sh", ["-c", "exec \"$0\" record --pid $$", Sampswift.executable])
    let line = result.stderr.split(separator: "\n").first.map(String.init) ?? ""
    #expect(line.hasSuffix(" is sampswift itself"), "\(result.stderr)")
    expectError(result, "PID ", code: Self.cannotProfile)
  }

  @Test(.enabled(if: ErrorCaseTests.kernelThread != nil, "no kernel thread visible (PID namespace)"))
  func kernelThread() throws {
    let (pid, name) = try #require(Self.kernelThread)
    let result = try Sampswift.run(["record", "--pid", String(pid)])
    expectError(result, "PID \(pid) (\(name)) is a kernel thread", code: Self.cannotProfile)
  }

  @Test func zombie() throws {
    let exe = try Fixtures.build("native_zombie.c", flags: ["-O0"], output: "native_zombie")
    let parent = try TargetProcess(exe, ["20"])
    defer { parent.stop() }
    let zombie = try #require(parent.reported("zombie").flatMap { Int32($0) })
    let result = try Sampswift.run(["record", "--pid", String(zombie)])
    expectError(result, "PID \(zombie) is a zombie: it has exited and waits for its parent (PID \(parent.pid))",
                code: Self.cannotProfile)
  }

  @Test func alreadyTraced() throws {
    let exe = try Fixtures.build("native_tracer.c", flags: ["-O0"], output: "native_tracer")
    let tracer = try TargetProcess(exe, ["20"])
    defer { tracer.stop() }
    let tracee = try #require(tracer.reported("tracee").flatMap { Int32($0) })
    let result = try Sampswift.run(["record", "--pid", String(tracee)])
    expectError(result, "PID \(tracee) is already traced by PID \(tracer.pid) (native_tracer)", code: Self.alreadyTraced)
    #expect(tracer.process.isRunning, "the other tracer must be left alone")
  }

  /// An unprivileged user against a root-owned process the test started. The
  /// binary is copied where that user can run it.
  @Test(.enabled(if: getuid() == 0, "needs root to switch to an unprivileged user"))
  func permissionDenied() throws {
    let exe = try Fixtures.build("native_zombie.c", flags: ["-O0"], output: "native_zombie")
    let target = try TargetProcess(exe, ["20"])
    defer { target.stop() }
    let copy = try Self.worldExecutableCopy()
    let result = try Command.run(
      "/usr/bin/setpriv",
      ["--reuid=65534", "--regid=65534", "--clear-groups", copy, "record", "--pid", String(target.pid)])
    expectError(result, "not permitted to trace PID \(target.pid) (owned by UID 0, sampswift runs as UID 65534)",
                code: Self.permissionDenied)
    let hint = result.stderr.split(separator: "\n").first { $0.hasPrefix("hint: ") } ?? ""
    #expect(hint.contains("CAP_SYS_PTRACE"))
    #expect(hint.contains("--cap-add SYS_PTRACE"))
    #expect(hint.contains("seccomp"))
    if let scope = try? String(contentsOfFile: "/proc/sys/kernel/yama/ptrace_scope", encoding: .utf8),
      scope.hasPrefix("1") || scope.hasPrefix("2")
    {
      #expect(hint.contains("kernel.yama.ptrace_scope"))
    }
  }

  // MARK: options

  @Test(arguments: [["--rate", "0"], ["--rate=-5"], ["--rate", "1e9"], ["--rate", "abc"]])
  func invalidRate(arguments: [String]) throws {
    let result = try recordWithOptions(arguments)
    expectError(result, "", code: Self.usage)
    #expect(firstLine(result).contains("--rate"), "\(result.stderr)")
  }

  @Test(arguments: [["--duration=-1"], ["--duration", "0"]])
  func invalidDuration(arguments: [String]) throws {
    let result = try recordWithOptions(arguments)
    expectError(result, "", code: Self.usage)
    #expect(firstLine(result).contains("--duration"), "\(result.stderr)")
  }

  /// Negative values used to be taken for options ("Missing value for
  /// '--duration <seconds>'"), and words got ArgumentParser's own message:
  /// each now names the option, quotes the value and hints at a good one.
  @Test(arguments: [
    (["--duration", "-1"], "--duration must be a positive number of seconds, not '-1'"),
    (["-d", "-1"], "--duration must be a positive number of seconds, not '-1'"),
    (["--duration=-1"], "--duration must be a positive number of seconds, not '-1'"),
    (["--duration", "0"], "--duration must be a positive number of seconds, not '0'"),
    (["--duration", "abc"], "--duration must be a positive number of seconds, not 'abc'"),
    (["--rate", "-5"], "--rate must be a positive number of samples per second, not '-5'"),
    (["--rate", "0"], "--rate must be a positive number of samples per second, not '0'"),
    (["--rate", "abc"], "--rate must be a positive number of samples per second, not 'abc'"),
  ])
  func badNumberIsExplained(arguments: [String], message: String) throws {
    let pid = try Self.pidOfExitedProcess()
    let result = try Sampswift.run(["record", "--pid", String(pid)] + arguments)
    expectError(result, message, code: Self.usage)
    #expect(firstLine(result) == "sampswift: error: \(message)", "\(result.stderr)")
    let hint = result.stderr.split(separator: "\n").dropFirst().first.map(String.init) ?? ""
    let want = arguments[0].hasPrefix("--rate") ? "hint: give samples per second, above 0" : "hint: give seconds, above 0"
    #expect(hint.hasPrefix(want), "\(result.stderr)")
  }

  @Test func negativePIDIsNotTakenForAnOption() throws {
    for command in ["record", "dump"] {
      let result = try Sampswift.run([command, "--pid", "-5"])
      expectError(result, "'-5' is not a process ID", code: Self.usage)
    }
  }

  // MARK: helpers

  /// The contract every error keeps.
  func expectError(_ result: Command.Result, _ messagePrefix: String, code: Int32,
                   sourceLocation: SourceLocation = #_sourceLocation) {
    let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    #expect(!result.signaled, "killed by a signal: \(result.stderr)", sourceLocation: sourceLocation)
    #expect(result.status == code, "exit status \(result.status), want \(code): \(result.stderr)", sourceLocation: sourceLocation)
    #expect(lines.first?.hasPrefix("sampswift: error: \(messagePrefix)") == true,
            "first line: \(lines.first ?? "")", sourceLocation: sourceLocation)
    #expect(lines.count >= 2 && lines[1].hasPrefix("hint: ") && lines[1].count > 10,
            "second line must be the hint: \(result.stderr)", sourceLocation: sourceLocation)
    for trap in ["Fatal error", "Stack dump", "Backtrace", "Current stack trace", "💣", "Program crashed"] {
      #expect(!result.stderr.contains(trap), "\(result.stderr)", sourceLocation: sourceLocation)
    }
    #expect(result.stdout.isEmpty, "stdout: \(result.stdout)", sourceLocation: sourceLocation)
  }

  func firstLine(_ result: Command.Result) -> String {
    result.stderr.split(separator: "\n").first.map(String.init) ?? ""
  }

  /// Option errors come before attaching; should they not, the PID given is
  /// still one of ours, and no longer running.
  func recordWithOptions(_ options: [String]) throws -> Command.Result {
    let pid = try Self.pidOfExitedProcess()
    return try Sampswift.run(["record", "--pid", String(pid), "--duration", "1"] + options)
  }

  /// A PID that was ours a moment ago: the process ran, exited and was reaped.
  static func pidOfExitedProcess() throws -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/true")
    try process.run()
    process.waitUntilExit()
    return process.processIdentifier
  }

  /// kthreadd (PID 2) where visible, else any process /proc shows without
  /// user memory whose parent is kthreadd.
  static let kernelThread: (pid: Int32, name: String)? = {
    func status(_ pid: Int32) -> [String: String]? {
      guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
      var fields: [String: String] = [:]
      for line in text.split(separator: "\n") {
        guard let colon = line.firstIndex(of: ":") else { continue }
        fields[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
      }
      return fields
    }
    func isKernelThread(_ f: [String: String]) -> Bool {
      f["VmSize"] == nil && f["State"]?.hasPrefix("Z") == false && (Int32(f["PPid"] ?? "") ?? 99) <= 2
    }
    if let f = status(2), isKernelThread(f) { return (2, f["Name"] ?? "") }
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    for pid in entries.compactMap(Int32.init).sorted() {
      if let f = status(pid), isKernelThread(f), f["PPid"] == "2" { return (pid, f["Name"] ?? "") }
    }
    return nil
  }()

  /// The CLI copied into a fresh directory any user may enter, mode 755.
  static func worldExecutableCopy() throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sampswift-unprivileged-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir.path)
    let copy = dir.appendingPathComponent("sampswift").path
    if !FileManager.default.fileExists(atPath: copy) {
      try FileManager.default.copyItem(atPath: Sampswift.executable, toPath: copy)
    }
    try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: copy)
    return copy
  }
}
