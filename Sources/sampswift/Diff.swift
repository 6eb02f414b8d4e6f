import ArgumentParser
import SampCore
import SampSystem

struct Diff: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Compare two folded profiles.",
    discussion: """
      Writes differential folded stacks (`stack BEFORE AFTER`) for flamegraph.pl, which \
      sizes frames by AFTER and colours them by the change:

        sampswift diff before.folded after.folded | flamegraph.pl > diff.svg
      """)

  @Argument(help: "The profile before the change (folded).")
  var before: String

  @Argument(help: "The profile after the change (folded).")
  var after: String

  @Flag(name: [.short, .long], help: "Scale BEFORE to AFTER's total sample count, to compare shares.")
  var normalize = false

  func run() throws {
    let text = try Session.reporting { () throws(SampError) -> String in
      FoldedDiff.diff(before: try read(before), after: try read(after), normalize: normalize)
    }
    try? OutputFile.standardOutput().write(text)
  }

  private func read(_ path: String) throws(SampError) -> String {
    do {
      return String(decoding: try ProcFS.readFile(path, limit: 1 << 30), as: UTF8.self)
    } catch {
      throw .input(path: path, error.errno ?? .ioError)
    }
  }
}
