import ArgumentParser
import SampCore
import SampSystem

struct Dump: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Print every thread's stack once.",
    discussion: "Each thread with its name, TID and state (running, idle, holds the GIL, waiting for it).")

  @Option(name: [.short, .long], parsing: .unconditional, help: ArgumentHelp("Process to inspect.", valueName: "pid"))
  var pid: String

  @Flag(name: [.short, .long], help: "Include native frames.")
  var native = false

  @Flag(name: [.short, .long], help: "Print JSON instead of text.")
  var json = false

  @Flag(help: "Show full file paths in Python frames.")
  var fullFilenames = false

  func run() throws {
    let text = try Session.reporting { () throws(SampError) -> String in
      let result = try Snapshot.take(pid: try TargetCheck.parsePID(pid), native: native)
      return json ? DumpWriter.json(result) : DumpWriter.text(result, labeler: FrameLabeler(fullFilenames: fullFilenames))
    }
    try? OutputFile.standardOutput().write(text)
  }
}
