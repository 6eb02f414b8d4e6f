import Foundation
import Testing

/// A recording in which no thread ever ran (an idle gunicorn master, a
/// process sleeping) used to give an empty profile and a summary of "0
/// stacks" with no word of why: it now says that no thread ran, suggests
/// --idle, and names the process's children, which may do the work.
@Suite(.serialized) struct EmptyProfileTests {
  static let phrase = "ran at any of the"

  /// The explanation line on stderr, "" when absent.
  func explanation(_ stderr: String, pid: Int32) -> String {
    stderr.split(separator: "\n").first { $0.hasPrefix("sampswift: no thread of PID \(pid) ") }.map(String.init) ?? ""
  }

  static let gunicornInterpreters = PythonInterpreter.all.filter { ["3.12", "3.8"].contains($0.name) }

  /// The master of gunicorn with 2 sync workers, a plain WSGI app, no
  /// requests: the master sleeps in its loop, and the hint names the workers.
  @Test(arguments: gunicornInterpreters)
  func idleGunicornMasterNamesItsWorkers(python: PythonInterpreter) throws {
    let venv = try PythonVenv.python(python, packages: ["gunicorn"])
    let app = Fixtures.path("python/wsgi_app.py")
    let target = try TargetProcess(venv, ["-m", "gunicorn", "-c", app, "--chdir", Fixtures.path("python"), "wsgi_app:app"])
    defer { target.stop() }
    let deadline = Date().addingTimeInterval(30)
    var workers: [Int32] = []
    while workers.count < 2 && Date() < deadline {
      workers = target.outputLines.filter { $0.hasPrefix("worker ") }.compactMap { Int32($0.dropFirst(7)) }.sorted()
      usleep(20_000)
    }
    defer { for worker in workers { kill(worker, SIGKILL) } }  // should the master not take them down
    try #require(workers.count == 2, "workers: \(target.output) \(target.stderrText)")
    usleep(300_000)  // past their boot

    let result = try Sampswift.run(["record", "--pid", String(target.pid), "--duration", "1"])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(Folded(result.stdout).total == 0, "the master was idle: \(result.stdout)")
    let line = explanation(result.stderr, pid: target.pid)
    #expect(line.contains(Self.phrase) && line.contains("--idle"), "\(result.stderr)")
    let named = workers.map(String.init).joined(separator: ", ")
    #expect(line.hasSuffix("child processes, which may do the work (a server's workers): \(named); profile one with --pid \(workers[0])"),
            "\(result.stderr)")
    print("[empty] gunicorn \(PythonVenv.versions(venv)) on \(python): \(line)")
  }

  /// A plain Python process asleep: no thread ran, no children to name; with
  /// --idle the same process gives its stack and no such line.
  @Test(arguments: PythonInterpreter.all.filter { ["3.12", "2.7", "debian-3.11"].contains($0.name) })
  func idlePythonProcessSaysNoThreadRan(python: PythonInterpreter) throws {
    let target = try TargetProcess(python.path, [Fixtures.path("python/control_names.py")])
    defer { target.stop() }
    let result = try Sampswift.run(["record", "--pid", String(target.pid), "--duration", "0.5"])
    #expect(result.status == 0, "\(result.stderr)")
    let line = explanation(result.stderr, pid: target.pid)
    #expect(line.hasPrefix("sampswift: no thread of PID \(target.pid) ran at any of the "), "\(result.stderr)")
    #expect(line.hasSuffix("(all were sleeping or blocked): the profile is empty; --idle samples waiting threads too (a wall-clock profile)"),
            "\(result.stderr)")

    let idle = try Sampswift.run(["record", "--pid", String(target.pid), "--duration", "0.5", "--idle"])
    #expect(Folded(idle.stdout).total > 0, "\(idle.stderr)")
    #expect(explanation(idle.stderr, pid: target.pid).isEmpty, "\(idle.stderr)")
  }
}
