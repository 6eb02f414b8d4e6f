import SampSystem

/// When to look for a Python interpreter in a program that has none yet: one
/// just launched or exec'd, whose ld.so has not mapped libpython yet, or whose
/// interpreter has not made its first thread state yet (a static build's
/// runtime is there from the exec on, but empty). While the program is
/// young (`startingNanos`) it is looked at before every sample, at most every
/// `startingGapNanos`; after that, less and less often, down to once a second
/// (a program that loads an interpreter late, or never: it costs that).
struct InterpreterSearch {
  /// ld.so maps libpython in a program's first milliseconds, and CPython makes
  /// its first thread state a few milliseconds later; a program still without
  /// one after this long is taken as one without Python (for now).
  static let startingNanos: UInt64 = 1_000_000_000
  /// The shortest gap between looks while starting: every sample up to 500 Hz.
  static let startingGapNanos: UInt64 = 2_000_000
  static let firstBackoffNanos: UInt64 = 10_000_000
  static let longestBackoffNanos: UInt64 = 1_000_000_000

  /// When the program started (CLOCK_MONOTONIC ns): its exec, or the
  /// process's start for one attached to.
  let programStart: UInt64
  /// How it started, for messages: "exec" or "start".
  let startedBy: String
  private(set) var nextLook: UInt64
  private var backoff = firstBackoffNanos
  /// Files of this program found to hold no interpreter (see `InterpreterLocator.look`).
  var rejected: Set<String> = []
  /// Samples taken while looking: native stacks.
  var samplesBefore = 0
  /// Whether "no Python interpreter found" was said for this program.
  var saidAbsent = false

  init(programStart: UInt64, startedBy: String, now: UInt64) {
    self.programStart = programStart
    self.startedBy = startedBy
    nextLook = now
  }

  func isStarting(at now: UInt64) -> Bool { now &- programStart < Self.startingNanos }
  func isDue(at now: UInt64) -> Bool { now >= nextLook }

  /// After a look that found nothing (or nothing running yet).
  mutating func missed(at now: UInt64) {
    if isStarting(at: now) {
      nextLook = now + Self.startingGapNanos
    } else {
      nextLook = now + backoff
      backoff = min(backoff * 2, Self.longestBackoffNanos)
    }
  }

  /// "9 ms after its exec", "2.3 s after its start".
  func sinceStart(at now: UInt64) -> String {
    let nanos = now &- programStart
    let text = nanos < 1_000_000_000 ? "\(nanos / 1_000_000) ms" : "\(String(format1: Double(nanos) / 1e9)) s"
    return "\(text) after its \(startedBy)"
  }
}
