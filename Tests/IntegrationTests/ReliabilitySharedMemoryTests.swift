import Foundation
import Testing

extension Reliability {
  /// The target's memory stays as it was: a prefork worker's pages shared
  /// copy-on-write with its master stay shared while it is profiled.
  /// process_vm_readv pins what it reads, and pinning a shared anonymous page
  /// gives the target a private copy of it; the code objects, names and line
  /// tables of a preloaded server are such pages. The fixture's two workers run
  /// the same calls in the same order, so the unprofiled twin's growth is what
  /// the workload alone costs.
  @Suite struct SharedMemoryTests {
    static let interpreters = PythonInterpreter.all.filter { ["2.7", "3.10", "3.12", "3.13"].contains($0.name) }

    @Test(arguments: interpreters)
    func profilingAWorkerLeavesItsSharedPagesShared(_ python: PythonInterpreter) throws {
      let target = try TargetProcess(python.path, [Fixtures.path("python/prefork.py")])
      defer { target.stop() }
      let workers = try #require(target.reported("workers")?.split(separator: " ").compactMap { Int32($0) })
      try #require(workers.count == 2)
      let (profiled, twin) = (workers[0], workers[1])
      let before = (try privateKiB(profiled), try privateKiB(twin))

      let (folded, result) = try Sampswift.record(pid: profiled, ["--rate", "500", "--duration", "3"])
      #expect(result.status == 0, "\(python): \(result.stderr)")
      // The functions were named: their code objects, names and line tables were read.
      let named = Set(folded.lines.flatMap { $0.frames }.filter { $0.hasPrefix("f") && $0.contains("prefork_generated.py") })
      #expect(named.count >= 200, "\(python): \(named.count) distinct functions named")

      let grown = try privateKiB(profiled) - before.0
      let twinGrown = try privateKiB(twin) - before.1
      // Reading through pins would have copied a page per object read (megabytes here).
      #expect(grown - twinGrown <= 128, "\(python): profiled worker +\(grown) KiB private, its twin +\(twinGrown) KiB")
    }

    /// Private_Clean + Private_Dirty from /proc/PID/smaps_rollup: the memory no
    /// other process shares.
    private func privateKiB(_ pid: Int32) throws -> Int {
      let text = try String(contentsOfFile: "/proc/\(pid)/smaps_rollup", encoding: .utf8)
      var total = 0
      for line in text.split(separator: "\n") where line.hasPrefix("Private_Clean:") || line.hasPrefix("Private_Dirty:") {
        total += line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
      }
      return total
    }
  }
}
