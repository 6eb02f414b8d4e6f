import SampSystem

/// The human side on stderr: start line, progress (only on a terminal), summary.
public final class Log: @unchecked Sendable {
  public static let shared = Log()
  private let stderr = OutputFile.standardError()
  public var quiet = false
  private var progressShown = false

  public var isTerminal: Bool { stderr.isTerminal }

  public func info(_ line: String) {
    guard !quiet else { return }
    endProgress()
    try? stderr.write("sampswift: \(line)\n")
  }

  public func warning(_ line: String) {
    endProgress()
    try? stderr.write("sampswift: warning: \(line)\n")
  }

  public func error(_ error: SampError) {
    endProgress()
    var text = "sampswift: error: \(error.message)\n"
    if let hint = error.hint { text += "hint: \(hint)\n" }
    try? stderr.write(text)
  }

  /// Overwrites one status line (terminal only).
  public func progress(_ line: String) {
    guard !quiet, isTerminal else { return }
    try? stderr.write("\r\u{1B}[2K\(line)")
    progressShown = true
  }

  public func endProgress() {
    if progressShown {
      try? stderr.write("\r\u{1B}[2K")
      progressShown = false
    }
  }
}
