/// Text from a target (its command line, a thread's name) made safe to print
/// on one terminal line: control characters, which could break the line,
/// move the cursor or recolour the terminal, are written as escapes instead
/// (`\n`, `\t`, `\r`, else `\xNN`).
public enum TerminalText {
  public static func escaped(_ text: String) -> String {
    guard text.unicodeScalars.contains(where: isControl) else { return text }
    var out = ""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\n": out += "\\n"
      case "\t": out += "\\t"
      case "\r": out += "\\r"
      case _ where isControl(scalar):
        let hex = String(scalar.value, radix: 16, uppercase: false)
        out += "\\x" + (hex.count < 2 ? "0" : "") + hex
      default: out.unicodeScalars.append(scalar)
      }
    }
    return out
  }

  /// C0 controls, DEL and C1 controls (which some terminals act on too).
  private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
    scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
  }
}
