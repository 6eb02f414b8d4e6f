import Foundation
import Testing

/// `--cpu-phases`: the profiler's own CPU time a sample, by phase, as the
/// benchmark reads it beside the floor sampler's.
@Suite(.serialized) struct CPUPhasesTests {
  static let sleep = "import sys, time\nprint('ready'); sys.stdout.flush()\ntime.sleep(600)\n"
  static let phaseNames = ["wake", "plan", "stop", "capture", "resume", "resolve", "record", "flush"]

  /// The phase line parsed: samples counted, µs a phase in order, the total,
  /// and how many samples were copied at the stop.
  struct Phases {
    var samples: Int
    var micros: [(name: String, value: Double)]
    var total: Double
    var copiedAtStop: Int

    init?(_ stderr: String) {
      guard let line = stderr.split(separator: "\n").first(where: { $0.contains("own CPU a sample") }),
        let over = line.range(of: "over "), let colon = line.range(of: "): "), let semicolon = line.range(of: "; total ")
      else { return nil }
      let tail = line[semicolon.upperBound...].split(separator: ";")
      guard let samples = Int(line[over.upperBound...].prefix { $0.isNumber }),
        let total = tail.first.flatMap({ Double($0) }),
        tail.count == 2, tail[1].hasSuffix(" samples copied at the stop"),
        let copied = Int(tail[1].drop { $0 == " " }.prefix { $0.isNumber })
      else { return nil }
      self.samples = samples
      self.total = total
      copiedAtStop = copied
      micros = line[colon.upperBound..<semicolon.lowerBound].split(separator: ", ").compactMap { part in
        let words = part.split(separator: " ")
        guard words.count == 2, let value = Double(words[1]) else { return nil }
        return (String(words[0]), value)
      }
    }

    subscript(_ name: String) -> Double? { micros.first { $0.name == name }?.value }
  }

  /// Starts `script` (it prints "ready") under 3.12 or the newest Python and
  /// records it with `options`; the run must succeed.
  static func record(_ script: String, _ options: [String]) throws -> (Folded, Command.Result) {
    let python = try #require(PythonInterpreter.all.first { $0.name == "3.12" } ?? PythonInterpreter.all.last)
    let target = try TargetProcess(python.path, ["-c", script])
    defer { target.stop() }
    let (folded, result) = try Sampswift.record(pid: target.pid, ["--rate", "100"] + options)
    #expect(result.status == 0, "\(result.stderr)")
    return (folded, result)
  }

  /// A busy thread is stopped, copied and resumed every sample, so those
  /// phases cost something; the phases add up to the total, and a loop that
  /// ran 1.5 s on one thread cannot have used more CPU than that. Its stack
  /// stays put, so once the first eight captures found all they read in the
  /// prefetch, the copy runs at the stop (a retake or a thread caught late
  /// reads while held instead: a few on a busy host, more when other tests
  /// keep both CPUs busy, hence half).
  @Test func aBusyTargetPaysEveryPhase() throws {
    let spin = "import sys\nprint('ready'); sys.stdout.flush()\nwhile True: pass\n"
    let (folded, result) = try Self.record(spin, ["--duration", "1.5", "--cpu-phases"])
    let summary = try #require(Summary(result.stderr), "\(result.stderr)")
    let phases = try #require(Phases(result.stderr), "\(result.stderr)")
    #expect(phases.micros.map(\.name) == Self.phaseNames, "\(result.stderr)")
    #expect(phases.samples == summary.samples - 1, "\(result.stderr)")
    #expect(summary.samples >= 100, "\(result.stderr)")
    for name in ["wake", "plan", "stop", "capture", "resume", "resolve"] {
      #expect((phases[name] ?? 0) > 0, "\(name): \(result.stderr)")
    }
    let sum = phases.micros.reduce(0) { $0 + $1.value }
    #expect(abs(sum - phases.total) <= 0.5, "\(result.stderr)")
    #expect(phases.total * Double(phases.samples) < 1.5e6 * 1.1, "\(result.stderr)")
    #expect(folded.total == summary.stacks, "\(result.stderr)")
    #expect(phases.copiedAtStop >= summary.samples / 2 && phases.copiedAtStop <= summary.samples - 8,
            "\(result.stderr)")
  }

  /// A target whose only thread sleeps is never stopped (Python-only mode):
  /// nothing is charged to stopping, copying or resuming, while its state is
  /// still read every sample.
  @Test func anIdleTargetIsNeverStoppedSoThoseSamplesCostNoStop() throws {
    let (_, result) = try Self.record(Self.sleep, ["--duration", "1", "--cpu-phases"])
    let phases = try #require(Phases(result.stderr), "\(result.stderr)")
    #expect(phases.samples >= 50, "\(result.stderr)")
    #expect(phases["stop"] == 0 && phases["capture"] == 0 && phases["resume"] == 0, "\(result.stderr)")
    #expect(phases.copiedAtStop == 0, "\(result.stderr)")
    #expect((phases["plan"] ?? 0) > 0 && (phases["wake"] ?? 0) > 0, "\(result.stderr)")
  }

  /// Without the flag there is no phase line (and no clock read a phase).
  @Test func noPhaseLineWithoutTheFlag() throws {
    let (_, result) = try Self.record(Self.sleep, ["--duration", "0.3"])
    #expect(Summary(result.stderr) != nil && Phases(result.stderr) == nil, "\(result.stderr)")
  }
}
