/// Renders a snapshot: readable text (innermost frame first, like a traceback
/// printed upside down, as py-spy dump does) or JSON for tools.
public enum DumpWriter {
  public static func text(_ s: Snapshot.Result, labeler: FrameLabeler = FrameLabeler()) -> String {
    // Names and labels come from the target: escaped, so none breaks a line.
    var out = "Process \(s.pid): \(s.command.isEmpty ? "?" : TerminalText.escaped(s.command))\n"
    out += "Stacks: \(s.source)\n"
    for t in s.threads {
      out += "\nThread \(t.tid) \"\(TerminalText.escaped(t.name ?? "?"))\" (\(t.activity.description))\n"
      if t.frames.isEmpty { out += "    (no frames)\n" }
      for frame in t.frames.reversed() {
        out += "    \(TerminalText.escaped(labeler.label(frame)))\n"
      }
    }
    if s.errors.total > 0 {
      out += "\n\(s.errors.total) errors: " + s.errors.counts.map { "\($0.value) \($0.key)" }.sorted().joined(separator: ", ") + "\n"
    }
    return out
  }

  public static func json(_ s: Snapshot.Result) -> String {
    var threads: [String] = []
    for t in s.threads {
      let frames = t.frames.reversed().map { f -> String in
        var fields = [
          "\"kind\":\(quote(f.kind == .python ? "python" : f.kind == .native ? "native" : "root"))",
          "\"name\":\(f.name.map(quote) ?? "null")",
          "\"file\":\(f.file.map(quote) ?? "null")",
          "\"line\":\(f.line.map(String.init) ?? "null")",
        ]
        if f.kind == .native {
          fields.append("\"module\":\(f.module.map(quote) ?? "null")")
          fields.append("\"address\":\(quote("0x" + String(f.address, radix: 16)))")
        }
        return "{" + fields.joined(separator: ",") + "}"
      }
      var fields = [
        "\"tid\":\(t.tid)",
        "\"name\":\(t.name.map(quote) ?? "null")",
        "\"running\":\(t.activity.running)",
        "\"holds_gil\":\(t.activity.holdsGIL.map(String.init) ?? "null")",
        "\"waiting_for_gil\":\(t.activity.waitingForGIL.map(String.init) ?? "null")",
      ]
      fields.append("\"state\":\(quote(t.activity.description))")
      fields.append("\"frames\":[" + frames.joined(separator: ",") + "]")
      threads.append("{" + fields.joined(separator: ",") + "}")
    }
    let errors = s.errors.counts.sorted { $0.key < $1.key }.map { "\(quote($0.key)):\($0.value)" }
    return "{\"pid\":\(s.pid),\"command\":\(quote(s.command)),\"stacks\":\(quote(s.source)),"
      + "\"threads\":[" + threads.joined(separator: ",") + "],\"errors\":{" + errors.joined(separator: ",") + "}}\n"
  }

  /// A JSON string literal.
  public static func quote(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      default:
        if scalar.value < 0x20 {
          let hex = String(scalar.value, radix: 16)
          out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        } else {
          out.unicodeScalars.append(scalar)
        }
      }
    }
    return out + "\""
  }
}
