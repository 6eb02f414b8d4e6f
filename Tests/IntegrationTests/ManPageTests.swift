import Foundation
import Testing

/// Docs/sampswift.1 names only commands and flags the program has, and every
/// command the program has is in it (the page once listed a `top` that did not exist).
@Suite struct ManPageTests {
  static let page: String = {
    let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Docs/sampswift.1")
    return (try? String(contentsOf: docs, encoding: .utf8)) ?? ""
  }()

  /// Subcommands from `sampswift --help`'s SUBCOMMANDS list.
  static func subcommands() throws -> [String] {
    let help = try Sampswift.run(["--help"]).stdout
    guard let start = help.range(of: "SUBCOMMANDS:") else { return [] }
    // The list ends at its first blank line (a "See 'sampswift help'" line follows).
    let list = help[start.upperBound...].split(separator: "\n", omittingEmptySubsequences: false)
      .dropFirst().prefix { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
    return list.compactMap { line in
      let words = line.split(separator: " ")
      guard line.hasPrefix("  "), !line.hasPrefix("    "), let first = words.first else { return nil }
      return String(first)
    }.filter { $0 != "help" }
  }

  @Test func everyCommandOnThePageExistsAndEveryCommandIsOnIt() throws {
    #expect(!Self.page.isEmpty)
    let real = try Self.subcommands()
    #expect(real.contains("record"), "\(real)")
    let named = Set(Self.page.split(separator: "\n").filter { $0.hasPrefix(".Cm ") }.map { String($0.dropFirst(4)) })
    #expect(named.subtracting(real).isEmpty, "on the page but not a command: \(named.subtracting(real))")
    #expect(Set(real).subtracting(named).isEmpty, "commands missing from the page: \(Set(real).subtracting(named))")
  }

  @Test func everyLongFlagOnThePageIsInSomeHelp() throws {
    var help = ""
    for command in try Self.subcommands() { help += try Sampswift.run([command, "--help"]).stdout }
    let flags = Set(Self.page.split(separator: "\n").flatMap { line -> [String] in
      line.components(separatedBy: "Fl \\-").dropFirst().compactMap { rest in
        let name = rest.prefix { $0.isLetter || $0 == "\\" || $0 == "-" }.replacingOccurrences(of: "\\-", with: "-")
        return name.isEmpty ? nil : "--" + name
      }
    })
    #expect(!flags.isEmpty)
    let missing = flags.filter { !help.contains($0) }
    #expect(missing.isEmpty, "flags on the page that no --help knows: \(missing.sorted())")
  }
}
