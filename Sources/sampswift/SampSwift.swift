import ArgumentParser
import SampCore

@main
struct SampSwift: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sampswift",
    abstract: "A sampling profiler for running Python and native processes on Linux.",
    discussion: """
      Attaches with ptrace (PTRACE_SEIZE; the target is never left stopped), samples \
      its threads' stacks and streams folded stacks to stdout:

        sampswift record --pid 1234 --duration 60 | flamegraph.pl > profile.svg
      """,
    version: SampswiftVersion.string,
    subcommands: [Record.self, Dump.self, Diff.self],
    defaultSubcommand: nil)

  static func main() {
    // Before any thread exists: our signals are taken synchronously (see ProfilerSignals).
    Session.installSignalHandling()
    do {
      var command = try parseAsRoot()
      try command.run()
    } catch {
      // Bad values get the same one-line error and hint as every other error;
      // help, version and usage requests keep ArgumentParser's own output.
      if !(error is ExitCode), exitCode(for: error) == .validationFailure {
        let message = self.message(for: error).split(separator: "\n").first.map(String.init) ?? "invalid usage"
        Log.shared.error(.invalidOption(message))
        exit(withError: ExitCode.validationFailure)
      }
      exit(withError: error)
    }
  }
}
