import Foundation
import Testing

/// A target's command line and thread names reach the terminal escaped:
/// control characters in them (a newline, a tab, an escape sequence) used to
/// be printed raw, breaking the attach line and the dump's lines, or acting
/// on the terminal.
@Suite(.serialized) struct TerminalTextTests {
  static let argument = "arg\nwith\tcontrol\u{1B}[2J"
  static let escapedArgument = #"arg\nwith\tcontrol\x1b[2J"#
  static let escapedThread = #"worker\n\t\x1b[31mred"#

  static let interpreters = PythonInterpreter.all.filter { ["3.12", "2.7", "debian-3.11"].contains($0.name) }

  /// Everything printed holds no control character but the line ends.
  func controlCharacters(_ text: String) -> [Unicode.Scalar] {
    text.unicodeScalars.filter { ($0.value < 0x20 && $0 != "\n") || (0x7F...0x9F).contains($0.value) }
  }

  @Test(arguments: interpreters)
  func attachLineEscapesTheCommandLine(python: PythonInterpreter) throws {
    let target = try TargetProcess(python.path, [Fixtures.path("python/control_names.py"), Self.argument])
    defer { target.stop() }
    let result = try Sampswift.run(["record", "--pid", String(target.pid), "--duration", "0.3"])
    #expect(result.status == 0, "\(result.stderr)")
    let attach = result.stderr.split(separator: "\n").first { $0.hasPrefix("sampswift: attached to PID \(target.pid) (") } ?? ""
    #expect(attach.contains("control_names.py \(Self.escapedArgument)): "), "\(result.stderr)")
    #expect(controlCharacters(result.stderr).isEmpty, "\(result.stderr)")
  }

  @Test(arguments: interpreters)
  func dumpEscapesTheCommandLineAndThreadNames(python: PythonInterpreter) throws {
    let target = try TargetProcess(python.path, [Fixtures.path("python/control_names.py"), Self.argument])
    defer { target.stop() }
    let result = try Sampswift.run(["dump", "--pid", String(target.pid)])
    #expect(result.status == 0, "\(result.stderr)")
    let lines = result.stdout.split(separator: "\n").map(String.init)
    #expect(lines.first == "Process \(target.pid): \(python.path) \(Fixtures.path("python/control_names.py")) \(Self.escapedArgument)",
            "\(result.stdout)")
    #expect(lines.contains { $0.hasPrefix("Thread ") && $0.hasSuffix(" \"\(Self.escapedThread)\" (idle)") }, "\(result.stdout)")
    #expect(controlCharacters(result.stdout).isEmpty, "\(result.stdout)")
  }
}
