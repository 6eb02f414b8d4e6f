import Foundation

/// A fixture started as a child of the test process (so tracing works under any
/// ptrace_scope), which prints a line "ready" once its known stacks are running.
/// Every later stdout line is kept: fixtures report what they measured.
final class TargetProcess: @unchecked Sendable {
  let process = Process()
  private let out = Pipe()
  private let err = Pipe()
  private let lock = NSLock()
  private var buffer = Data()
  private var errBuffer = Data()
  var pid: Int32 { process.processIdentifier }

  init(_ program: String, _ arguments: [String] = [], environment: [String: String]? = nil,
       readyTimeout: Double = 30) throws {
    process.executableURL = URL(fileURLWithPath: program)
    process.arguments = arguments
    if let environment {
      process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    }
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    out.fileHandleForReading.readabilityHandler = { [weak self] handle in
      let data = handle.availableData
      guard let self else { return }
      self.lock.lock()
      self.buffer.append(data)
      self.lock.unlock()
    }
    err.fileHandleForReading.readabilityHandler = { [weak self] handle in
      let data = handle.availableData
      guard let self else { return }
      self.lock.lock()
      self.errBuffer.append(data)
      self.lock.unlock()
    }
    try process.run()
    let deadline = Date().addingTimeInterval(readyTimeout)
    while !outputLines.contains("ready") {
      if !process.isRunning || Date() > deadline {
        let text = output + stderrText
        stop()
        throw FixtureError.notReady("\(program): \(text)")
      }
      usleep(2_000)
    }
  }

  var output: String {
    lock.lock()
    defer { lock.unlock() }
    return String(decoding: buffer, as: UTF8.self)
  }
  var stderrText: String {
    lock.lock()
    defer { lock.unlock() }
    return String(decoding: errBuffer, as: UTF8.self)
  }
  var outputLines: [String] { output.split(separator: "\n").map(String.init) }

  /// The value of the last line "KEY VALUE" the fixture printed.
  func reported(_ key: String) -> String? {
    outputLines.last { $0.hasPrefix(key + " ") }.map { String($0.dropFirst(key.count + 1)) }
  }

  /// Waits for the fixture to exit by itself; returns its exit status.
  func waitForExit(timeout: Double = 60) throws -> Int32 {
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning {
      if Date() > deadline {
        stop()
        throw FixtureError.timeout("fixture \(pid) did not exit")
      }
      usleep(5_000)
    }
    process.waitUntilExit()
    usleep(20_000)  // let the pipe handlers take the last output
    return process.terminationStatus
  }

  /// The one-letter state from /proc/PID/stat (R, S, T, t, Z...).
  var procState: String? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
      let close = stat.lastIndex(of: ")")
    else { return nil }
    return stat[stat.index(close, offsetBy: 2)...].split(separator: " ").first.map(String.init)
  }

  func stop() {
    if process.isRunning {
      kill(pid, SIGKILL)
      process.waitUntilExit()
    }
    out.fileHandleForReading.readabilityHandler = nil
    err.fileHandleForReading.readabilityHandler = nil
  }

  deinit { stop() }
}
