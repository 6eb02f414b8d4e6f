import Foundation
import Testing

/// `record -- python script.py`: the interpreter is found however the program
/// is started (a shared libpython that ld.so maps after the exec, a pyenv
/// shim's chain of execs, a venv), never "profiling native stacks" instead.
@Suite(.serialized) struct LaunchModeTests {
  /// Short runs per case; `make soak` (SAMPSWIFT_SOAK=1) runs the issue's 50.
  static let runs = ProcessInfo.processInfo.environment["SAMPSWIFT_SOAK"] == nil ? 5 : 50

  struct Case: CustomStringConvertible, Sendable {
    var name: String
    var command: [String]
    var description: String { name }
  }

  static let cases: [Case] = {
    var out: [Case] = []
    for python in PythonInterpreter.all where ["3.11", "3.12", "debian-3.11", "2.7"].contains(python.name) {
      out.append(Case(name: python.name, command: [python.path]))
    }
    // The shim: bash, then `pyenv exec`, then exec of the real interpreter.
    if let shim = try? Command.run("pyenv", ["root"], timeout: 10).stdout.trimmingCharacters(in: .whitespacesAndNewlines),
       FileManager.default.isExecutableFile(atPath: shim + "/shims/python3") {
      out.append(Case(name: "pyenv shim", command: [shim + "/shims/python3"]))
    }
    return out
  }()

  @Test(arguments: cases)
  func pythonIsFoundInEveryShortRun(_ launch: Case) throws {
    try Self.check(launch.command, name: launch.name)
  }

  @Test(arguments: PythonInterpreter.all.filter { $0.name == "3.12" })
  func pythonIsFoundInAVenv(_ python: PythonInterpreter) throws {
    try Self.check([try PythonVenv.python(python)], name: "venv \(python)")
  }

  static func check(_ command: [String], name: String) throws {
    let script = Fixtures.path("python/launch_short.py")
    let line = try FixtureMarkers(script)
    let work = "work (launch_short.py:\(line["WORK"]))"
    var found = 0
    var failures: [String] = []
    for _ in 0..<runs {
      let run = try Sampswift.run(["record", "--rate", "100", "--"] + command + [script], timeout: 60)
      let folded = Folded(run.stdout)
      if run.status == 0, folded.count(where: { $0.last == work }) >= 20,
         !run.stderr.contains("no Python interpreter found") {
        found += 1
      } else {
        failures.append("status \(run.status): \(run.stderr)\n\(folded.describeTop())")
      }
    }
    #expect(found == runs, "\(name): Python found in \(found) of \(runs) runs\n\(failures.prefix(2).joined(separator: "\n"))")
  }
}
