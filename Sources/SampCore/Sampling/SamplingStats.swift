/// What a run measured about itself, for the end summary and the benchmarks.
public struct SamplingStats: Sendable {
  public var samples = 0
  public var stacks = 0
  public var errors = SampleErrors()
  /// Samples taken later than scheduled by more than one interval, by cause:
  /// the profiler's own work (a sample, a flush, the target's events) still
  /// ran when the tick came and would have even with a CPU to itself, so
  /// sampling cannot keep this rate ("fell behind"); or the machine ran the
  /// profiler late, waking it late from its sleep or keeping it off the CPU
  /// while it sampled ("woke late": a busy or stalled host, which a lower
  /// rate does not cure).
  public var overranSamples = 0
  public var lateWakeups = 0
  /// Late samples that the profiler's own work made late only through loading
  /// the symbols of code met for the first time (`StackSource.loadingNanos`):
  /// a one-off, not sampling too slow for the rate.
  public var loadingDelays = 0
  /// The largest delay behind schedule of each kind, in nanoseconds.
  public var maxOverrunLagNanos: UInt64 = 0
  public var maxWakeupLagNanos: UInt64 = 0
  public var maxLoadingLagNanos: UInt64 = 0
  /// Ticks missed while behind (not made up later, so the profile is not skewed).
  public var skippedSamples = 0
  /// Time the target's threads were held stopped, first interrupt to last resume.
  public var holdTotalNanos: UInt64 = 0
  public var hold = Histogram()
  /// Samples taken twice because the copy made while held fell short (the
  /// second hold is counted in the same sample's hold time).
  public var retakes = 0
  /// Threads read while interrupted but not yet at their stop (preempted on
  /// a busy machine): still, so read without waiting for them.
  public var lateThreadReads = 0
  /// Samples whose copy ran the moment their threads stopped, followed at once
  /// by their continue (`StopCopy`), rather than after the stop's bookkeeping.
  public var copiedOnStop = 0
  /// Threads sampled while they ran no Python code (a thread state but no
  /// frame): left out of the profile, which has nothing to name them by.
  public var stacksWithoutPython = 0
  public var startNanos: UInt64 = 0
  public var endNanos: UInt64 = 0
  /// The profiler's own CPU time by phase (only with `--cpu-phases`).
  public var cpuPhases = CPUPhases(enabled: false)

  public init() {}

  public var elapsedSeconds: Double { Double(endNanos &- startNanos) / 1e9 }

  /// Whether work that began at `start` (wall clock, ns) would have run past
  /// `tick` even with a CPU to itself: its CPU time, and the wait for the
  /// target's stops, which is part of sampling (the hold, but at most as long
  /// as a stop is waited for: the rest of a longer hold is the profiler kept
  /// off the CPU). Only then does a lower rate help ("fell behind");
  /// otherwise the machine ran the profiler late ("woke late").
  static func ownWorkMadeLate(start: UInt64, cpuUsed: UInt64, hold: UInt64, longestWait: UInt64, tick: UInt64) -> Bool {
    start &+ cpuUsed &+ min(hold, longestWait) > tick
  }
  public var achievedRate: Double { elapsedSeconds > 0 ? Double(samples) / elapsedSeconds : 0 }
}

/// A fixed-size histogram of durations (flat memory over any run length):
/// 1 µs buckets to 10 ms, then one overflow bucket holding the maximum.
public struct Histogram: Sendable {
  private var buckets = [UInt32](repeating: 0, count: 10_001)
  public private(set) var count = 0
  public private(set) var maxMicros = 0

  public init() {}

  public mutating func record(nanos: UInt64) {
    let micros = Int(nanos / 1000)
    buckets[min(micros, 10_000)] &+= 1
    count += 1
    maxMicros = max(maxMicros, micros)
  }

  /// The value below which `fraction` of the records lie, in microseconds.
  public func percentile(_ fraction: Double) -> Int {
    guard count > 0 else { return 0 }
    let target = max(1, Int((Double(count) * fraction).rounded(.up)))
    var seen = 0
    for (micros, n) in buckets.enumerated() {
      seen += Int(n)
      if seen >= target { return micros == 10_000 ? maxMicros : micros }
    }
    return maxMicros
  }
}
