import Testing

@testable import SampCore

struct TerminalTextUnitTests {
  @Test func controlCharactersAreEscaped() {
    #expect(TerminalText.escaped("a\nb\tc\rd\u{1B}[0m\u{7F}\u{85}\u{0}") == #"a\nb\tc\rd\x1b[0m\x7f\x85\x00"#)
  }

  @Test func otherTextIsKept() {
    let text = #"python3 -c 'print("\n")' ünïcode 😀 back\slash"#
    #expect(TerminalText.escaped(text) == text)
  }
}
