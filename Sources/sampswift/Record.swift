import ArgumentParser
import SampCore

struct Record: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Sample a process and write its stacks.",
    discussion: """
      Attach to running processes with --pid, or start one after `--`. Folded stacks \
      (root first, `;`-joined, a space, the count) reach stdout about once a second; \
      a summary goes to stderr at the end.
      """)

  // Values are taken as they come (`.unconditional`), so that `--duration -1`
  // is a negative duration, explained by the checks in `samplerConfig`,
  // rather than a missing value followed by an unknown option `-1`.
  @Option(name: [.short, .long], parsing: .unconditionalSingleValue, help: ArgumentHelp("Process to profile.", valueName: "pid"))
  var pid: [String] = []

  @Option(name: [.short, .long], parsing: .unconditional,
          help: ArgumentHelp("Seconds to record (default: until Ctrl-C or the target exits).", valueName: "seconds"))
  var duration: String?

  @Option(name: [.short, .long], parsing: .unconditional, help: ArgumentHelp("Samples per second.", valueName: "hz"))
  var rate: String = "100"

  @Flag(name: [.short, .long], help: "Include native frames (C, C++, Rust, Swift) merged with Python frames.")
  var native = false

  @Flag(name: [.short, .long], help: "Include threads that are not running (blocked or sleeping).")
  var idle = false

  @Flag(name: [.short, .long], help: "Only the thread holding the GIL (Python).")
  var gil = false

  @Flag(name: [.short, .long], help: "Add a root frame per thread: `thread NAME (TID)`.")
  var threads = false

  @Flag(name: [.short, .customLong("function")], help: "Aggregate by function (its first line) instead of the current line.")
  var function = false

  @Flag(help: "Leave line numbers out of frame labels.")
  var nolineno = false

  @Flag(help: "Show full file paths in Python frames.")
  var fullFilenames = false

  @Flag(help: "Read without stopping the threads (Python): less overhead, some torn samples.")
  var nonblocking = false

  @Flag(help: "Report where the profiler's own CPU time goes, by phase of a sample (for benchmarks: adds a clock read a phase).")
  var cpuPhases = false

  @Option(name: [.customShort("o"), .long], help: ArgumentHelp("Write the profile to this file instead of stdout.", valueName: "file"))
  var output: String?

  @Option(help: ArgumentHelp("Output format: folded.", valueName: "format"))
  var format: OutputFormat = .folded

  @Argument(parsing: .postTerminator, help: ArgumentHelp("A command to start and profile (after `--`).", valueName: "command"))
  var command: [String] = []

  func validate() throws {
    if pid.isEmpty && command.isEmpty {
      throw ValidationError("give --pid PID or a command after `--`")
    }
    if !pid.isEmpty && !command.isEmpty {
      throw ValidationError("give either --pid or a command after `--`, not both")
    }
    if pid.count > 1 {
      throw ValidationError("one --pid at a time for now")
    }
  }

  func samplerConfig() throws(SampError) -> SamplerConfig {
    var config = SamplerConfig()
    config.rate = try Self.positiveNumber(rate, option: "--rate", unit: "samples per second", hint: SamplerConfig.rateHint)
    if let duration {
      config.duration = try Self.positiveNumber(duration, option: "--duration", unit: "seconds", hint: SamplerConfig.durationHint)
    }
    config.native = native
    config.includeIdle = idle
    config.onlyGIL = gil
    config.threadRoots = threads
    config.nonblocking = nonblocking
    config.cpuPhases = cpuPhases
    config.namingBatch = SamplerConfig.namingBatch(forRate: config.rate)
    config.labels = FrameLabeler(
      lineMode: nolineno ? .none : (function ? .functionStart : .current),
      fullFilenames: fullFilenames)
    try config.validate()
    return config
  }

  /// `text` as a positive number, or an error that names the option and quotes what was given.
  static func positiveNumber(_ text: String, option: String, unit: String, hint: String) throws(SampError) -> Double {
    guard let value = Double(text), value.isFinite, value > 0 else {
      throw .invalidOption("\(option) must be a positive number of \(unit), not '\(TerminalText.escaped(text))'", hint: hint)
    }
    return value
  }

  func run() throws {
    let config = try Session.reporting { () throws(SampError) -> SamplerConfig in try samplerConfig() }
    let code = try Session.record(pid: pid.first, command: command, config: config, outputPath: output)
    if code != 0 { throw ExitCode(code) }
  }
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
  case folded
}
