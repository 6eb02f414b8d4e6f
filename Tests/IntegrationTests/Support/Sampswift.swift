import Foundation

/// Runs the sampswift executable built alongside the tests.
enum Sampswift {
  static let executable: String = {
    if let path = ProcessInfo.processInfo.environment["SAMPSWIFT_BIN"] { return path }
    let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for candidate in [dir, dir.deletingLastPathComponent()] {
      let path = candidate.appendingPathComponent("sampswift").path
      if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    // swift-testing's runner may live elsewhere; fall back to the build folder.
    let build = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent(".build/debug/sampswift").path
    return build
  }()

  static func run(_ arguments: [String], timeout: Double = 120) throws -> Command.Result {
    try Command.run(executable, arguments, timeout: timeout)
  }

  /// `sampswift record --pid PID ...` parsed as folded stacks.
  static func record(pid: Int32, _ extra: [String] = [], timeout: Double = 120) throws -> (Folded, Command.Result) {
    let result = try run(["record", "--pid", String(pid)] + extra, timeout: timeout)
    return (Folded(result.stdout), result)
  }
}

/// Folded output parsed back: each line's frames (root first) and count.
struct Folded {
  struct Line {
    var frames: [String]
    var count: Int
  }
  var lines: [Line] = []
  /// Lines that did not parse (must stay empty: the output is never corrupt).
  var malformed: [String] = []

  init(_ text: String) {
    for raw in text.split(separator: "\n", omittingEmptySubsequences: false) where !raw.isEmpty {
      guard let space = raw.lastIndex(of: " "), let count = Int(raw[raw.index(after: space)...]), count > 0 else {
        malformed.append(String(raw))
        continue
      }
      lines.append(Line(frames: raw[..<space].split(separator: ";").map(String.init), count: count))
    }
  }

  var total: Int { lines.reduce(0) { $0 + $1.count } }

  /// Samples whose stack satisfies `predicate`.
  func count(where predicate: ([String]) -> Bool) -> Int {
    lines.filter { predicate($0.frames) }.reduce(0) { $0 + $1.count }
  }

  /// Share (0...1) of samples whose stack contains a frame starting with `prefix`.
  func share(containing prefix: String) -> Double {
    total == 0 ? 0 : Double(count { $0.contains { $0.hasPrefix(prefix) } }) / Double(total)
  }

  /// Distinct stacks with their summed counts (duplicate lines from later blocks merged).
  var merged: [[String]: Int] {
    var out: [[String]: Int] = [:]
    for l in lines { out[l.frames, default: 0] += l.count }
    return out
  }

  /// Frame names without their "(file:line)" part.
  static func names(_ frames: [String]) -> [String] {
    frames.map { f in f.range(of: " (").map { String(f[..<$0.lowerBound]) } ?? f }
  }
}
