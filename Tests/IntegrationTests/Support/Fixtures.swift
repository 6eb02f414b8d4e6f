import Foundation

/// Fixture programs (Tests/IntegrationTests/Fixtures), compiled on first use into
/// a per-run temporary directory, so tests always profile the source they read.
enum Fixtures {
  static let directory: URL = Bundle.module.resourceURL!.appendingPathComponent("Fixtures")

  static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

  private static let buildDirectory: URL = {
    let dir = FileManager.default.temporaryDirectory
      .appendingPathComponent("sampswift-fixtures-\(getpid())")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
  }()
  private static let lock = NSLock()
  nonisolated(unsafe) private static var built: [String: String] = [:]

  /// Compiles `source` with `compiler` and `flags` once; returns the executable path.
  static func build(_ source: String, compiler: String = "gcc", flags: [String], output: String) throws -> String {
    lock.lock()
    defer { lock.unlock() }
    let key = ([compiler, source, output] + flags).joined(separator: " ")
    if let done = built[key] { return done }
    let out = buildDirectory.appendingPathComponent(output).path
    let result = try Command.run(compiler, [path(source), "-o", out] + flags, timeout: 300)
    guard result.status == 0 else {
      throw FixtureError.buildFailed("\(compiler) \(source): \(result.stderr)")
    }
    built[key] = out
    return out
  }
}

enum FixtureError: Error, CustomStringConvertible {
  case buildFailed(String)
  case notReady(String)
  case timeout(String)
  var description: String {
    switch self {
    case .buildFailed(let s): return "fixture build failed: \(s)"
    case .notReady(let s): return "fixture never printed ready: \(s)"
    case .timeout(let s): return "timed out: \(s)"
    }
  }
}
