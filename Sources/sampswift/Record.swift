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

  @Option(name: [.short, .long], help: ArgumentHelp("Process to profile.", valueName: "pid"))
  var pid: [String] = []

  @Option(name: [.short, .long], help: ArgumentHelp("Seconds to record (default: until Ctrl-C or the target exits).", valueName: "seconds"))
  var duration: Double?

  @Option(name: [.short, .long], help: ArgumentHelp("Samples per second.", valueName: "hz"))
  var rate: Double = 100

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
    do {
      try samplerConfig().validate()
    } catch {
      throw ValidationError(error.message)
    }
  }

  func samplerConfig() -> SamplerConfig {
    var config = SamplerConfig()
    config.rate = rate
    config.duration = duration
    config.native = native
    config.includeIdle = idle
    config.onlyGIL = gil
    config.threadRoots = threads
    config.nonblocking = nonblocking
    config.cpuPhases = cpuPhases
    config.namingBatch = SamplerConfig.namingBatch(forRate: rate)
    config.labels = FrameLabeler(
      lineMode: nolineno ? .none : (function ? .functionStart : .current),
      fullFilenames: fullFilenames)
    return config
  }

  func run() throws {
    let code = try Session.record(pid: pid.first, command: command, config: samplerConfig(), outputPath: output)
    if code != 0 { throw ExitCode(code) }
  }
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
  case folded
}
