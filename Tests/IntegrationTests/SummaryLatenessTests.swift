import Foundation
import Testing

/// The summary's advice on late samples under --native: loading the symbols
/// and DWARF of code met for the first time is a one-off and not the rate
/// ("lower --rate" would be wrong); sampling that steadily outlasts the
/// interval still gets that advice. The fixture's stack crosses 60 libraries
/// entered only after the first sample, so one later sample meets them all.
/// Serialized: the cases time the profiler, and each other.
@Suite(.serialized) struct SummaryLatenessTests {
  static let links = 60

  /// `native_libchain` and its libraries: one link built once, copied under
  /// a name each (a module each for the profiler).
  static func chain() throws -> (exe: String, libraries: [String]) {
    let exe = try Fixtures.build("native_libchain.c", flags: ["-O1", "-g", "-ldl"], output: "native_libchain")
    let link = try Fixtures.build("native_libchain_link.c", flags: ["-O1", "-g", "-shared", "-fPIC"],
                                  output: "libnative_libchain_link.so")
    let dir = URL(fileURLWithPath: link).deletingLastPathComponent().appendingPathComponent("libchain")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    var libraries: [String] = []
    for i in 0..<links {
      let copy = dir.appendingPathComponent("liblink\(i).so").path
      if !FileManager.default.fileExists(atPath: copy) { try FileManager.default.copyItem(atPath: link, toPath: copy) }
      libraries.append(copy)
    }
    return (exe, libraries)
  }

  /// At 100 Hz the sample that first meets the 60 libraries takes several
  /// intervals; the old summary called that "fell behind ... lower --rate".
  /// The thread sleeps at the end of the chain: --idle samples it, and its
  /// stops come at once, so nothing else makes sampling late.
  @Test func firstLoadsOfSymbolsAreNotTheRate() throws {
    let (exe, libraries) = try Self.chain()
    let target = try TargetProcess(exe, ["3"] + libraries)
    defer { target.stop() }
    let result = try Sampswift.run(["record", "--pid", String(target.pid), "--native", "--idle", "--rate", "100", "--duration", "2"])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(target.outputLines.contains("chain"), "the chain began within the recording: \(target.output)")
    let folded = Folded(result.stdout)
    // The samples really crossed every library.
    let deepest = folded.lines.map { $0.frames.filter { $0.hasPrefix("chain_step (") }.count }.max() ?? 0
    #expect(deepest == Self.links, "chain_step frames in the deepest stack: \(deepest)")
    let summary = result.stderr.split(separator: "\n").last { $0.contains(" samples (") }.map(String.init) ?? ""
    #expect(summary.contains("while loading the symbols and unwind tables of code met for the first time (a one-off, not the rate)"), "\(summary)")
    #expect(!summary.contains("lower --rate"), "\(summary)")
  }

  /// At 20 kHz every sample unwinds and names 60 libraries' frames in well
  /// over the 50 µs interval: the rate is too high, and the summary says so.
  @Test func aRateTooHighStillSaysLowerTheRate() throws {
    let (exe, libraries) = try Self.chain()
    let target = try TargetProcess(exe, ["4"] + libraries)
    defer { target.stop() }
    // Past the chain's start and its first loads.
    let deadline = Date().addingTimeInterval(10)
    while !target.outputLines.contains("chain") && Date() < deadline { usleep(10_000) }
    let result = try Sampswift.run(["record", "--pid", String(target.pid), "--native", "--idle", "--rate", "20000", "--duration", "1.5"])
    #expect(result.status == 0, "\(result.stderr)")
    let summary = result.stderr.split(separator: "\n").last { $0.contains(" samples (") }.map(String.init) ?? ""
    #expect(summary.contains("(sampling took longer than the interval: lower --rate)"), "\(summary)")
  }
}
