import Foundation
import Testing

@testable import SampCore

// Shared by the Reliability*Tests: run lengths (CI vs soak), the rel_* fixtures,
// a profiler running in the background that a test can signal, and /proc checks.

/// Every reliability suite is nested here and runs one test at a time: they
/// measure timing and stop states, which parallel runs on 2 cores would blur.
@Suite(.serialized) enum Reliability {}

/// `make test` runs the short form; `make soak` sets SAMPSWIFT_SOAK=1 for the long one.
enum Soak {
  static let enabled = ProcessInfo.processInfo.environment["SAMPSWIFT_SOAK"] == "1"
  static func pick<T>(ci: T, soak: T) -> T { enabled ? soak : ci }
}

enum RelFixtures {
  /// Builds Fixtures/NAME.c (which includes rel_common.h) once per test run.
  static func build(_ name: String) throws -> String {
    try Fixtures.build("\(name).c", flags: ["-O1", "-g", "-pthread", "-Wall"], output: name)
  }

  private static let lock = NSLock()
  nonisolated(unsafe) private static var references: [[String]: Command.Result] = [:]

  /// Runs a fixture unprofiled to completion (the reference a profiled run must
  /// match), once per test run for the same arguments.
  static func reference(_ exe: String, _ arguments: [String], timeout: Double = 60) throws -> Command.Result {
    let key = [exe] + arguments
    lock.lock()
    let known = references[key]
    lock.unlock()
    if let known { return known }
    let result = try Command.run(exe, arguments, timeout: timeout)
    lock.lock()
    references[key] = result
    lock.unlock()
    return result
  }

  /// The last "KEY ..." line of a reference run's stdout.
  static func line(_ key: String, in result: Command.Result) -> String? {
    result.stdout.split(separator: "\n").last { $0.hasPrefix(key + " ") }.map(String.init)
  }
}

/// A process started in the background with both streams collected, which a test
/// can signal and wait for with a bound. Used for the profiler itself.
final class Background: @unchecked Sendable {
  let process = Process()
  private let lock = NSLock()
  private var out = Data()
  private var err = Data()
  private let outPipe = Pipe()
  private let errPipe = Pipe()
  private let group = DispatchGroup()

  var pid: Int32 { process.processIdentifier }

  /// `captureOutput: false` sends stdout to /dev/null (runs that only matter for
  /// the target). `stalledReader: true` gives stdout a one-page pipe that nobody
  /// reads until `startReading()`: a consumer that stopped reading.
  init(_ program: String, _ arguments: [String], captureOutput: Bool = true, stalledReader: Bool = false) throws {
    process.executableURL = URL(fileURLWithPath: program)
    process.arguments = arguments
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = captureOutput ? outPipe : FileHandle.nullDevice
    process.standardError = errPipe
    if stalledReader {
      _ = fcntl(outPipe.fileHandleForWriting.fileDescriptor, 1031 /* F_SETPIPE_SZ */, 4096)
    }
    try process.run()
    if captureOutput && !stalledReader { startReading() }
    drain(errPipe) { self.err.append($0) }
  }

  /// Starts collecting stdout (done at once unless the reader was to stall).
  func startReading() { drain(outPipe) { self.out.append($0) } }

  /// Reads a pipe to its end on a background thread.
  private func drain(_ pipe: Pipe, into append: @escaping (Data) -> Void) {
    group.enter()
    DispatchQueue.global().async {
      let handle = pipe.fileHandleForReading
      while true {
        let data = handle.availableData
        if data.isEmpty { break }
        self.lock.lock()
        append(data)
        self.lock.unlock()
      }
      self.group.leave()
    }
  }

  var stdout: String {
    lock.lock()
    defer { lock.unlock() }
    return String(decoding: out, as: UTF8.self)
  }
  var stderr: String {
    lock.lock()
    defer { lock.unlock() }
    return String(decoding: err, as: UTF8.self)
  }

  func signal(_ sig: Int32) { if process.isRunning { kill(pid, sig) } }

  /// Waits until stderr contains `text`; false if the process ended or time ran out first.
  func waitForStderr(_ text: String, timeout: Double = 20) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
      if stderr.contains(text) { return true }
      if !process.isRunning { return stderr.contains(text) }
      usleep(1_000)
    }
    return false
  }

  struct Ending {
    var status: Int32
    var signaled: Bool
  }

  /// Waits for the process to end; SIGKILLs it and throws after `timeout`.
  @discardableResult
  func wait(timeout: Double = 30) throws -> Ending {
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning {
      if Date() > deadline {
        kill(pid, SIGKILL)
        process.waitUntilExit()
        throw FixtureError.timeout("\(process.executableURL?.lastPathComponent ?? "?") \(process.arguments?.joined(separator: " ") ?? "") (pid \(pid)) after \(timeout) s")
      }
      usleep(1_000)
    }
    process.waitUntilExit()
    _ = group.wait(timeout: .now() + 5)
    return Ending(status: process.terminationStatus, signaled: process.terminationReason == .uncaughtSignal)
  }

  deinit {
    if process.isRunning {
      kill(pid, SIGKILL)
      process.waitUntilExit()
    }
  }
}

/// What /proc says about a target's threads.
enum Proc {
  struct ThreadInfo {
    var tid: Int32
    var state: String
    var tracerPID: Int32
  }

  /// Every thread of `pid` with its state letter and TracerPid (empty once it is gone).
  static func threads(_ pid: Int32) -> [ThreadInfo] {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
    return tasks.compactMap { name -> ThreadInfo? in
      guard let tid = Int32(name),
        let status = try? String(contentsOfFile: "/proc/\(pid)/task/\(tid)/status", encoding: .utf8)
      else { return nil }
      var info = ThreadInfo(tid: tid, state: "?", tracerPID: 0)
      for line in status.split(separator: "\n") {
        if line.hasPrefix("State:") {
          info.state = line.dropFirst(6).trimmingCharacters(in: .whitespaces).prefix(1).description
        } else if line.hasPrefix("TracerPid:") {
          info.tracerPID = Int32(line.dropFirst(10).trimmingCharacters(in: .whitespaces)) ?? 0
        }
      }
      return info
    }
  }

  /// Threads stopped (T/t) or still traced, or nil when none within `within` seconds.
  /// A zombie or exited target counts as fine: it is not held by anyone.
  static func heldThreads(_ pid: Int32, within: Double) -> String? {
    let deadline = Date().addingTimeInterval(within)
    while true {
      let held = threads(pid).filter { $0.state == "t" || $0.state == "T" || $0.tracerPID != 0 }
      if held.isEmpty { return nil }
      if Date() > deadline {
        return held.map { "tid \($0.tid) state \($0.state) tracer \($0.tracerPID)" }.joined(separator: ", ")
      }
      usleep(1_000)
    }
  }

  /// The process state letter from /proc/PID/stat.
  static func state(_ pid: Int32) -> String? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
      let close = stat.lastIndex(of: ")")
    else { return nil }
    return stat[stat.index(close, offsetBy: 2)...].split(separator: " ").first.map(String.init)
  }

  /// utime + stime of the whole process, in clock ticks.
  static func cpuTicks(_ pid: Int32) -> Int? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
      let close = stat.lastIndex(of: ")")
    else { return nil }
    let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
    guard fields.count > 13, let u = Int(fields[11]), let s = Int(fields[12]) else { return nil }
    return u + s
  }

  static func tracerPID(_ pid: Int32) -> Int32 {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("TracerPid:") {
      return Int32(line.dropFirst(10).trimmingCharacters(in: .whitespaces)) ?? 0
    }
    return 0
  }

  /// Whether `sig` is pending for the process as a whole (ShdPnd), i.e. not yet
  /// taken by any thread.
  static func isPending(_ pid: Int32, _ sig: Int32) -> Bool {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return false }
    for line in status.split(separator: "\n") where line.hasPrefix("ShdPnd:") {
      let mask = UInt64(line.dropFirst(7).trimmingCharacters(in: .whitespaces), radix: 16) ?? 0
      return mask & (1 << UInt64(sig - 1)) != 0
    }
    return false
  }

  /// Waits until `pid` is traced by `tracer` (the profiler has seized it).
  static func waitTraced(_ pid: Int32, by tracer: Int32, timeout: Double = 20) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
      if tracerPID(pid) == tracer { return true }
      usleep(1_000)
    }
    return false
  }
}

/// The numbers of the end summary on stderr: "N samples (M stacks) in ...; E errors".
struct Summary {
  var samples: Int
  var stacks: Int
  var errors = 0
  /// Late samples by cause: the profiler's own work ran past the tick ("fell
  /// behind"), or the machine woke it late ("woke late").
  var fellBehind = 0
  var wokeLate = 0
  var late: Int { fellBehind + wokeLate }
  /// The largest delay of each kind, in milliseconds.
  var fellBehindMaxMs = 0.0
  var wokeLateMaxMs = 0.0
  /// Threads read before their stop came (they waited for a CPU).
  var lateThreadReads = 0
  /// Threads sampled outside Python code, left out of the profile.
  var withoutPython = 0

  init?(_ stderr: String) {
    guard let line = stderr.split(separator: "\n").last(where: { $0.contains(" samples (") && $0.contains(" stacks)") })
    else { return nil }
    let words = line.split(separator: " ")
    guard let i = words.firstIndex(of: "samples"), i > 0, let samples = Int(words[i - 1]),
      i + 1 < words.count, let stacks = Int(words[i + 1].dropFirst())
    else { return nil }
    self.samples = samples
    self.stacks = stacks
    if let e = words.firstIndex(where: { $0.hasPrefix("error") }), e > 0 { errors = Int(words[e - 1]) ?? 0 }
    (fellBehind, fellBehindMaxMs) = Self.lateness(after: "fell behind ", in: line)
    (wokeLate, wokeLateMaxMs) = Self.lateness(after: "woke late ", in: line)
    if let r = words.firstIndex(of: "threads"), r > 0, words[r...].starts(with: ["threads", "read", "before"]) {
      lateThreadReads = Int(words[r - 1]) ?? 0
    }
    if let w = words.firstIndex(of: "without"), w > 1, words[(w - 1)...].starts(with: ["stacks", "without", "a", "Python"]) {
      withoutPython = Int(words[w - 2]) ?? 0
    }
  }

  /// The count of one kind of error ("N KIND" in the summary's errors), 0 when absent.
  static func errorCount(_ kind: String, in stderr: String) -> Int {
    guard let range = stderr.range(of: " " + kind) else { return 0 }
    let digits = stderr[..<range.lowerBound].reversed().prefix { $0.isNumber }
    return Int(String(digits.reversed())) ?? 0
  }

  /// "PHRASE N times, by at most X ms" -> (N, X); (0, 0) when absent.
  private static func lateness(after phrase: String, in line: Substring) -> (Int, Double) {
    guard let rest = line.components(separatedBy: phrase).dropFirst().first else { return (0, 0) }
    let times = Int(rest.prefix { $0.isNumber }) ?? 0
    let lag = rest.components(separatedBy: "by at most ").dropFirst().first
      .flatMap { Double($0.prefix { $0.isNumber || $0 == "." }) } ?? 0
    return (times, lag)
  }
}

/// Checks that a profile is whole: every line parses, the text ends with a newline,
/// and the folded counts add up to the summary's stack count.
func profileProblems(_ stdout: String, _ stderr: String) -> [String] {
  var problems: [String] = []
  let folded = Folded(stdout)
  if !folded.malformed.isEmpty { problems.append("malformed lines: \(folded.malformed.prefix(3))") }
  if !stdout.isEmpty && !stdout.hasSuffix("\n") { problems.append("output ends mid-line") }
  // The fixtures have symbols: an unnamed address three times in a row is an
  // unwinder's guess (a data address read as return addresses), not a stack.
  let guessed = folded.lines.filter { line in
    line.frames.indices.dropFirst(2).contains { i in
      line.frames[i].hasSuffix(" (?)") && line.frames[i] == line.frames[i - 1] && line.frames[i] == line.frames[i - 2]
    }
  }
  if !guessed.isEmpty { problems.append("\(guessed.count) stacks repeat an unnamed address: \(guessed[0].frames.suffix(4))") }
  if let summary = Summary(stderr) {
    if summary.stacks != folded.total {
      problems.append("summary says \(summary.stacks) stacks, output has \(folded.total)")
    }
  } else {
    problems.append("no summary line on stderr")
  }
  return problems
}

extension TargetProcess {
  /// The value of the last "KEY VALUE" line, waiting a little for output still
  /// in the pipe after the fixture exited (a loaded machine can be slow to drain it).
  func awaitReported(_ key: String, timeout: Double = 3) -> String? {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
      if let value = reported(key) { return value }
      usleep(5_000)
    }
    return reported(key)
  }

  /// How the fixture ended, as its real parent (this test) saw it.
  var ending: Background.Ending {
    Background.Ending(status: process.terminationStatus, signaled: process.terminationReason == .uncaughtSignal)
  }
}

/// A reproducible random source for a run, seeded from the clock unless
/// SAMPSWIFT_SEED is set (the seed is printed so a failure can be replayed).
struct SeededRandom: RandomNumberGenerator {
  private var generator: SplitMix64
  let seed: UInt64
  init() {
    seed = ProcessInfo.processInfo.environment["SAMPSWIFT_SEED"].flatMap { UInt64($0) }
      ?? UInt64(Date().timeIntervalSince1970 * 1000)
    generator = SplitMix64(seed: seed)
  }
  mutating func next() -> UInt64 { generator.next() }
}

/// Polls `condition` every millisecond until it holds (true) or `within` seconds pass (false).
func eventually(within seconds: Double, _ condition: () -> Bool) -> Bool {
  let deadline = Date().addingTimeInterval(seconds)
  while !condition() {
    if Date() > deadline { return false }
    usleep(1_000)
  }
  return true
}

/// Waits for the target to end by itself and returns its exit status. On timeout
/// the profiler is killed first (the parent cannot reap a traced target until
/// its tracer lets go, so waiting on the target alone could hang the test),
/// then the target, and a timeout is thrown.
func waitForTarget(_ target: TargetProcess, profiler: Background?, timeout: Double = 60) throws -> Int32 {
  let deadline = Date().addingTimeInterval(timeout)
  while target.process.isRunning {
    if Date() > deadline {
      profiler?.signal(SIGKILL)
      _ = try? profiler?.wait(timeout: 5)
      target.stop()
      throw FixtureError.timeout("target \(target.pid) did not end within \(timeout) s")
    }
    usleep(2_000)
  }
  return try target.waitForExit(timeout: 5)
}
