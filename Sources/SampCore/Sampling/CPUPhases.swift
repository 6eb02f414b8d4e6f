import SampSystem

/// Where the sampler's own CPU time goes, phase by phase of the sampling loop
/// (`--cpu-phases`): the thread's CPU clock is read at the end of each phase
/// and the difference added to it. For the benchmark, which sets these beside
/// the same phases of the least possible sampler (Tests/Benchmarks/floor.c):
/// what the kernel costs both, and what sampswift adds. Off by default: each
/// read is a syscall (about eight a sample).
public struct CPUPhases: Sendable {
  public enum Phase: Int, CaseIterable, Sendable {
    /// From the end of the last sample to the start of this one: the sleep,
    /// waking from it, and the target's events handled meanwhile.
    case wake
    /// Choosing the threads to stop (their scheduler states read).
    case plan
    /// Interrupting them and waiting for their stops.
    case stop
    /// Copying what the source needs while they are held.
    case capture
    /// Continuing them.
    case resume
    /// After resume: the walk over the copy, naming (in batches), bookkeeping.
    case resolve
    /// Adding the stacks to the profile, and the checks after a sample.
    case record
    /// Writing the profile out (about once a second).
    case flush

    public var name: String { String(describing: self) }
  }

  public let enabled: Bool
  public private(set) var nanos = [UInt64](repeating: 0, count: Phase.allCases.count)
  /// Samples since `restart`, the count the totals are divided by.
  public private(set) var samples = 0
  private var last: UInt64 = 0

  public init(enabled: Bool) { self.enabled = enabled }

  /// Drops what was counted so far and starts the clock anew (after the
  /// first sample, whose symbol loads are warm-up, not a sample's cost).
  mutating func restart() {
    guard enabled else { return }
    nanos = [UInt64](repeating: 0, count: Phase.allCases.count)
    samples = 0
    last = OwnCPUTime.now()
  }

  /// Ends `phase`: the CPU time since the last phase ended is its.
  mutating func end(_ phase: Phase) {
    guard enabled else { return }
    end(phase, at: OwnCPUTime.now())
  }

  /// Ends `phase` at a CPU time read earlier (by the code that ran it).
  mutating func end(_ phase: Phase, at now: UInt64) {
    guard enabled else { return }
    nanos[phase.rawValue] &+= now &- last
    last = now
  }

  mutating func countSample() {
    if enabled { samples += 1 }
  }

  /// Microseconds a sample, by phase.
  public var microsPerSample: [(phase: Phase, micros: Double)] {
    Phase.allCases.map { ($0, samples > 0 ? Double(nanos[$0.rawValue]) / Double(samples) / 1000 : 0) }
  }
}
