import Foundation
import Testing

/// `record --native` on real CPython processes: native and Python frames in one
/// stack, C extension frames where they were called, interpreter internals hidden,
/// and no merge failures.
@Suite(.serialized) struct PythonNativeTests {
  @Test(arguments: PythonInterpreter.all)
  func extensionFramesSitBetweenPythonFrames(_ python: PythonInterpreter) throws {
    let script = Fixtures.path("python/native_ext.py")
    let line = try FixtureMarkers(script)
    let target = try TargetProcess(python.path, [script])
    defer { target.stop() }

    let (folded, run) = try Sampswift.record(pid: target.pid, ["--duration", "3", "--native"])
    #expect(run.status == 0, "\(run.stderr)")
    #expect(folded.malformed.isEmpty)
    let summary = try RunSummary(run)
    #expect(summary.samples >= 20, "\(run.stderr)")
    #expect(summary.errors == 0, "merge or unwind errors: \(run.stderr)")
    #expect(run.stderr.contains("with native frames"), "\(run.stderr)")

    let decode = "decode_loop (native_ext.py:\(line["DECODE"]))"
    let hook = "hook (native_ext.py:\(line["HOOK"]))"
    let compress = "compress_loop (native_ext.py:\(line["COMPRESS"]))"
    let interpreterModule = URL(fileURLWithPath: python.path).lastPathComponent
    let stacks = folded.merged

    // Python -> _json's C scanner -> Python hook: the extension's frames between the two.
    let throughJSON = stacks.filter { stack, _ in
      guard let d = stack.firstIndex(of: decode), let h = stack.lastIndex(of: hook), d < h else { return false }
      return stack[(d + 1)..<h].contains { $0.contains("_json") }
    }
    #expect(!throughJSON.isEmpty, "no stack with _json frames between decode_loop and hook\n\(folded.describeTop())")

    // Python -> zlib: native frames of the compressor library after the Python frame.
    let intoZlib = stacks.filter { stack, _ in
      guard let c = stack.firstIndex(of: compress) else { return false }
      return stack[(c + 1)...].contains { $0.contains("libz.so") || $0.contains("zlib") }
    }
    #expect(!intoZlib.isEmpty, "no stack with zlib frames under compress_loop\n\(folded.describeTop())")

    // The eval loop never shows: it was replaced by the Python frames it ran.
    for stack in stacks.keys {
      #expect(!stack.contains { $0.hasPrefix("_PyEval_EvalFrameDefault") || $0.hasPrefix("PyEval_EvalFrameEx") },
              "eval frame left in: \(stack.joined(separator: ";"))")
      #expect(!stack.contains { $0.hasSuffix("(\(interpreterModule))") && $0.hasPrefix("Py") },
              "interpreter internal left in: \(stack.joined(separator: ";"))")
    }
  }

  /// `--threads` roots and `dump` carry the names the threading module knows.
  @Test(arguments: PythonInterpreter.all)
  func threadRootsCarryThreadingNames(_ python: PythonInterpreter) throws {
    let target = try TargetProcess(python.path, [Fixtures.path("python/native_ext.py")])
    defer { target.stop() }
    // --idle: every thread in every sample, whatever it is doing.
    let (folded, run) = try Sampswift.record(pid: target.pid, ["--duration", "1", "--threads", "--idle"])
    #expect(run.status == 0, "\(run.stderr)")
    let roots = Set(folded.lines.compactMap { $0.frames.first })
    #expect(roots.contains("thread MainThread (\(target.pid))"), "\(roots)")
    #expect(roots.contains { $0.hasPrefix("thread compressor (") }, "\(roots)")
    let dump = try Sampswift.run(["dump", "--pid", String(target.pid)])
    #expect(dump.stdout.contains("\"MainThread\""), "\(dump.stdout)")
    #expect(dump.stdout.contains("\"compressor\""), "\(dump.stdout)")
  }

  @Test(arguments: PythonInterpreter.all)
  func dumpShowsNativeAndPythonFramesAsJSON(_ python: PythonInterpreter) throws {
    let script = Fixtures.path("python/native_ext.py")
    let target = try TargetProcess(python.path, [script])
    defer { target.stop() }
    let run = try Sampswift.run(["dump", "--pid", String(target.pid), "--native", "--json"])
    #expect(run.status == 0, "\(run.stderr)")
    let json = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
    let threads = try #require(json["threads"] as? [[String: Any]])
    #expect(threads.count >= 2)
    let kinds = Set(threads.flatMap { ($0["frames"] as? [[String: Any]] ?? []).compactMap { $0["kind"] as? String } })
    #expect(kinds == ["python", "native"], "\(run.stdout.prefix(2000))")
  }
}
