import SampSystem

/// Why a recording came out empty, when the reason is that no thread ever
/// ran at a sample (an idle gunicorn master, a server waiting for requests):
/// said on stderr after the summary instead of an empty profile and silence,
/// with what would show something: --idle, or the process's children, which
/// may be the ones doing the work.
enum EmptyProfile {
  /// How many child PIDs to name.
  static let childrenNamed = 8

  /// nil unless samples were taken, none gave a stack, and none failed (an
  /// error or a thread outside Python code has its own words in the summary).
  static func explanation(_ s: SamplingStats, config: SamplerConfig, pid: ProcessID,
                          children: () -> [ProcessID]) -> String? {
    guard s.samples > 0, s.stacks == 0, s.errors.total == 0, s.stacksWithoutPython == 0, !config.includeIdle else {
      return nil
    }
    let what = config.onlyGIL ? "no thread of PID \(pid) ran holding the GIL" : "no thread of PID \(pid) ran"
    var text = "\(what) at any of the \(s.samples) samples (all were sleeping or blocked): the profile is empty;"
      + " --idle samples waiting threads too (a wall-clock profile)"
    let kids = children()
    if let first = kids.first {
      let named = kids.prefix(childrenNamed).map { String($0.rawValue) }.joined(separator: ", ")
      let more = kids.count > childrenNamed ? " and \(kids.count - childrenNamed) more" : ""
      text += "; PID \(pid) has \(kids.count == 1 ? "a child process" : "child processes"), which may do the work"
        + " (a server's workers): \(named)\(more); profile one with --pid \(first)"
    }
    return text
  }
}
