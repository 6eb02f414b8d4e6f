import Foundation
import SampCore
import SampSystem
import Testing

/// Thread names read from a live interpreter's threading module, on every
/// interpreter on the machine: the fixture's own report of idents and names
/// must be exactly what PythonThreadNames reads, before and after it renames a
/// thread and replaces another (glibc often hands the new thread the old ident).
@Suite(.serialized) struct PythonThreadNameTests {
  @Test(.enabled(if: PythonInterpreter.inCI)) func everyExpectedInterpreterIsInstalled() {
    #expect(PythonInterpreter.missing.isEmpty, "missing: \(PythonInterpreter.missing)")
  }

  @Test(arguments: PythonInterpreter.all)
  func namesFromTheThreadingModule(_ python: PythonInterpreter) throws {
    let trigger = FileManager.default.temporaryDirectory
      .appendingPathComponent("sampswift-thread-names-\(getpid())-\(python.name)").path
    try? FileManager.default.removeItem(atPath: trigger)
    let target = try TargetProcess(python.path, [Fixtures.path("python/thread_names.py"), trigger])
    defer {
      target.stop()
      try? FileManager.default.removeItem(atPath: trigger)
    }
    let before = try Report(target.outputLines, until: "ready")
    #expect(before.names.values.sorted() == ["MainThread", "dispatcher", "worker-1", "ünï-😀"], "\(python)")

    let pid = ProcessID(target.pid)
    let memory = ProcessMemory(pid: pid)
    let info = try #require(try InterpreterLocator.locate(pid: pid, memory: memory), "\(python): no interpreter")
    var reader = PythonThreadNames(layout: info.layout, interpreter: info)
    #expect(reader.isSupported, "\(python)")
    let t0 = Monotonic.now()
    let first = reader.names(memory, idents: before.names.keys, now: t0)
    #expect(first == before.names, "\(python): \(String(describing: reader.lastError))")
    #expect(reader.lastError == nil, "\(python)")

    // Every name belongs to a thread state; the raw _thread thread has a state but no name.
    let states = try PythonWalker(layout: info.layout, addresses: PythonAddresses(info)).threadStates(memory)
    let stateIdents = Set(states.map(\.threadID))
    #expect(Set(first.keys).isSubset(of: stateIdents), "\(python)")
    #expect(stateIdents.contains(before.raw) && first[before.raw] == nil, "\(python)")

    // Asking about the raw thread re-reads once, then it is known to be absent.
    let refreshes = reader.refreshes
    _ = reader.names(memory, idents: [before.raw], now: t0 + 100_000_000)
    _ = reader.names(memory, idents: [before.raw], now: t0 + 200_000_000)
    #expect(reader.refreshes == refreshes + 1, "\(python)")

    // Rename "dispatcher", replace "worker-1": the cache sees both within the longest interval.
    #expect(FileManager.default.createFile(atPath: trigger, contents: nil))
    let after = try Report(waitingFor: "changed 1", in: target)
    #expect(after.names.values.sorted() == ["MainThread", "dispatcher-1", "worker-1b", "ünï-😀"], "\(python)")
    let reused = Set(after.names.keys).isSubset(of: Set(before.names.keys))
    let soon = reader.names(memory, idents: after.names.keys, now: t0 + 300_000_000)
    if reused {
      // Same idents: nothing forces a re-read before the interval (names may be 1-8 s stale).
      #expect(soon == first, "\(python): re-read before the interval without a new ident")
    } else {
      // worker-1b has a new ident: asking about it re-reads at once.
      #expect(soon == after.names, "\(python): a new ident did not force a re-read")
    }
    let fresh = reader.names(memory, idents: [UInt64](), now: t0 + 300_000_000 + reader.options.maxRefreshInterval)
    #expect(fresh == after.names, "\(python): \(String(describing: reader.lastError))")
  }
}

/// The fixture's "thread IDENT HEX" and "raw IDENT" lines up to a tag line.
private struct Report {
  var names: [UInt64: String] = [:]
  var raw: UInt64 = 0

  init(_ lines: [String], until tag: String) throws {
    guard let end = lines.lastIndex(of: tag) else { throw FixtureError.notReady("no '\(tag)' in \(lines)") }
    var start = end
    while start > 0 && (lines[start - 1].hasPrefix("thread ") || lines[start - 1].hasPrefix("raw ")) { start -= 1 }
    for line in lines[start..<end] {
      let parts = line.split(separator: " ")
      if parts.count == 3, parts[0] == "thread", let ident = UInt64(parts[1]) {
        names[ident] = String(decoding: hexBytes(String(parts[2])), as: UTF8.self)
      } else if parts.count == 2, parts[0] == "raw", let ident = UInt64(parts[1]) {
        raw = ident
      }
    }
  }

  init(waitingFor tag: String, in target: TargetProcess, timeout: Double = 20) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while !target.outputLines.contains(tag) {
      guard Date() < deadline else { throw FixtureError.timeout("no '\(tag)': \(target.output)\(target.stderrText)") }
      usleep(5_000)
    }
    try self.init(target.outputLines, until: tag)
  }
}

private func hexBytes(_ hex: String) -> [UInt8] {
  var out: [UInt8] = []
  var chars = Array(hex.utf8)
  if chars.count % 2 == 1 { chars.removeLast() }
  for i in stride(from: 0, to: chars.count, by: 2) {
    if let byte = UInt8(String(decoding: chars[i..<i + 2], as: UTF8.self), radix: 16) { out.append(byte) }
  }
  return out
}
