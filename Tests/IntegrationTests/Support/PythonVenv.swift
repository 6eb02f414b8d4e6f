import Foundation

/// Virtual environments with packages from PyPI (gevent, Flask, gunicorn, ...),
/// made on first use and kept under .build/test-venvs, so tests profile real
/// frameworks as users run them. pip picks the newest release that supports
/// each interpreter; `versions` reports what was installed.
enum PythonVenv {
  /// Folder of the venvs: beside the package's build products, so a fresh
  /// clone makes its own and `make clean` removes them.
  static let root: URL = {
    let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    return package.appendingPathComponent(".build/test-venvs")
  }()

  private static let lock = NSLock()

  /// The python executable of a venv of `interpreter` with `packages`
  /// installed (an empty list gives a bare venv). Throws when the venv cannot
  /// be made or a package does not install for that interpreter.
  static func python(_ interpreter: PythonInterpreter, packages: [String] = []) throws -> String {
    lock.lock()
    defer { lock.unlock() }
    let name = ([interpreter.name] + packages.sorted()).joined(separator: "-")
      .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "_")
      .replacingOccurrences(of: "<", with: "_").replacingOccurrences(of: ">", with: "_")
    let dir = root.appendingPathComponent(name)
    let python = dir.appendingPathComponent("bin/python").path
    let done = dir.appendingPathComponent(".complete")
    if FileManager.default.fileExists(atPath: done.path) { return python }

    try? FileManager.default.removeItem(at: dir)
    try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    let made: Command.Result
    if interpreter.name == "2.7" {
      // 2.7 has no venv module; its pip installs virtualenv for itself.
      _ = try Command.run(interpreter.path, ["-m", "pip", "install", "-q", "virtualenv<20.22"], timeout: 300)
      made = try Command.run(interpreter.path, ["-m", "virtualenv", "-q", dir.path], timeout: 300)
    } else {
      made = try Command.run(interpreter.path, ["-m", "venv", dir.path], timeout: 300)
    }
    guard made.status == 0 else { throw VenvError.failed("venv for \(interpreter): \(made.stderr)") }
    if !packages.isEmpty {
      let pip = try Command.run(python, ["-m", "pip", "install", "-q", "--disable-pip-version-check"] + packages,
                                timeout: 900)
      guard pip.status == 0 else {
        throw VenvError.failed("pip install \(packages.joined(separator: " ")) for \(interpreter): \(pip.stderr)")
      }
    }
    FileManager.default.createFile(atPath: done.path, contents: Data())
    return python
  }

  /// "name==version" of each installed distribution, for test logs.
  static func versions(_ python: String) -> String {
    (try? Command.run(python, ["-m", "pip", "freeze", "--disable-pip-version-check"], timeout: 60).stdout)?
      .split(separator: "\n").joined(separator: ", ") ?? "?"
  }
}

enum VenvError: Error, CustomStringConvertible {
  case failed(String)
  var description: String {
    switch self {
    case .failed(let s): return s
    }
  }
}
