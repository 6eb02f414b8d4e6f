import Foundation

/// The CPython interpreters on this machine: pyenv's shared-libpython builds and
/// Debian's static, stripped python3.11. In CI a missing one fails the tests.
struct PythonInterpreter: CustomStringConvertible, Sendable, Hashable {
  var name: String
  var path: String
  var description: String { name }

  static let expected = ["2.7", "3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "debian-3.11"]

  static let all: [PythonInterpreter] = {
    var found: [PythonInterpreter] = []
    let root = ProcessInfo.processInfo.environment["PYENV_ROOT"]
      ?? (try? Command.run("pyenv", ["root"], timeout: 10).stdout.trimmingCharacters(in: .whitespacesAndNewlines))
      ?? (NSHomeDirectory() + "/.pyenv")
    let versions = (try? FileManager.default.contentsOfDirectory(atPath: root + "/versions")) ?? []
    for minor in expected where minor != "debian-3.11" {
      if let v = versions.filter({ $0.hasPrefix(minor + ".") }).sorted().last {
        let exe = "\(root)/versions/\(v)/bin/python\(minor)"
        if FileManager.default.isExecutableFile(atPath: exe) { found.append(.init(name: minor, path: exe)) }
      }
    }
    if FileManager.default.isExecutableFile(atPath: "/usr/bin/python3.11") {
      found.append(.init(name: "debian-3.11", path: "/usr/bin/python3.11"))
    }
    return found
  }()

  static var missing: [String] { expected.filter { name in !all.contains { $0.name == name } } }
  static var inCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }
}
