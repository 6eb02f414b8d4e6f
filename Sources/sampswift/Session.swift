import ArgumentParser
import SampCore
import SampSystem

/// Glue between the parsed command line and SampCore; turns SampError into the
/// one-line message, hint and exit code the user sees.
enum Session {
  typealias Target = Recording.Target

  static func installSignalHandling() { ProfilerSignals.install() }

  static func record(pid: String?, command: [String], config: SamplerConfig, outputPath: String?) throws -> Int32 {
    try reporting { () throws(SampError) -> Int32 in
      var target = Target.launch(command)
      if let pid { target = .attach(try TargetCheck.parsePID(pid)) }
      return try Recording.run(target: target, config: config, outputPath: outputPath)
    }
  }

  /// Runs `body`, printing a SampError as message and hint and exiting with its code.
  static func reporting<T>(_ body: () throws(SampError) -> T) throws -> T {
    do {
      return try body()
    } catch {
      Log.shared.error(error)
      throw ExitCode(error.exitCode)
    }
  }
}

enum SampswiftVersion {
  static let string = "0.1.0"
}
