/// Turns frames into the labels of the folded format (see Docs/FORMAT.md):
/// Python `NAME (FILE:LINE)`, native `SYMBOL (FILE:LINE)`, `SYMBOL (MODULE)` or
/// `0xADDR (MODULE)`. Labels never contain `;` or a line break.
public struct FrameLabeler: Sendable {
  public enum LineMode: Sendable {
    /// The line being executed.
    case current
    /// The function's first line, so a function aggregates into one frame.
    case functionStart
    /// No line at all.
    case none
  }

  public var lineMode: LineMode
  public var fullFilenames: Bool

  public init(lineMode: LineMode = .current, fullFilenames: Bool = false) {
    self.lineMode = lineMode
    self.fullFilenames = fullFilenames
  }

  public func label(_ frame: Frame) -> String {
    switch frame.kind {
    case .root:
      return Self.sanitize(frame.name ?? "?")
    case .python:
      let name = frame.name ?? "?"
      let file = fullFilenames ? (frame.file ?? "?") : Self.shortPythonPath(frame.file ?? "?")
      return Self.sanitize("\(name) (\(file)\(lineSuffix(frame)))")
    case .native:
      let module = frame.module.map { $0.isEmpty ? "?" : $0 } ?? "?"
      guard let name = frame.name else {
        return Self.sanitize("0x\(String(frame.address, radix: 16)) (\(module))")
      }
      if let file = frame.file, frame.line != nil {
        return Self.sanitize("\(name) (\(file)\(lineSuffix(frame)))")
      }
      return Self.sanitize("\(name) (\(module))")
    }
  }

  private func lineSuffix(_ frame: Frame) -> String {
    switch lineMode {
    case .none: return ""
    case .current: return frame.line.map { ":\($0)" } ?? ""
    case .functionStart: return (frame.firstLine ?? frame.line).map { ":\($0)" } ?? ""
    }
  }

  /// The path a reader recognises: below site-packages/dist-packages, below the
  /// standard library (`lib/pythonX.Y/`), else the file's base name.
  public static func shortPythonPath(_ path: String) -> String {
    for marker in ["/site-packages/", "/dist-packages/"] {
      if let end = path.endOfLast(marker) { return String(path[end...]) }
    }
    if let end = path.endOfLast("/lib/python"), let slash = path[end...].firstIndex(of: "/") {
      return String(path[path.index(after: slash)...])
    }
    if let slash = path.lastIndex(of: "/") { return String(path[path.index(after: slash)...]) }
    return path
  }

  /// Folded lines use `;` between frames and end at a newline.
  public static func sanitize(_ label: String) -> String {
    guard label.contains(where: { $0 == ";" || $0 == "\n" || $0 == "\r" }) else { return label }
    var out = ""
    out.reserveCapacity(label.count)
    for c in label {
      switch c {
      case ";": out.append(":")
      case "\n", "\r", "\r\n": out.append(" ")
      default: out.append(c)
      }
    }
    return out
  }
}

extension String {
  /// The index just past the last occurrence of `needle`, without Foundation.
  /// Compared as UTF-8 bytes: stepping back a Character at a time cost more
  /// than the rest of a frame's label.
  func endOfLast(_ needle: String) -> String.Index? {
    let hay = Array(utf8), pattern = Array(needle.utf8)
    guard !pattern.isEmpty, hay.count >= pattern.count else { return nil }
    for start in stride(from: hay.count - pattern.count, through: 0, by: -1)
    where hay[start..<start + pattern.count].elementsEqual(pattern) {
      return utf8.index(utf8.startIndex, offsetBy: start + pattern.count)
    }
    return nil
  }
}
