/// Everything that shapes a recording, independent of the command line.
public struct SamplerConfig: Sendable {
  /// Samples per second.
  public var rate: Double = 100
  /// Seconds to record; nil records until the target exits or the user stops.
  public var duration: Double?
  /// Native frames (with Python frames merged in, for a Python target).
  public var native = false
  /// Keep threads that are not running (waiting in a syscall, idle).
  public var includeIdle = false
  /// Python only: keep only the thread holding the GIL.
  public var onlyGIL = false
  /// Add a root frame per thread: `thread NAME (TID)`.
  public var threadRoots = false
  /// Read without stopping the threads (Python only; a torn read costs a sample).
  public var nonblocking = false
  public var labels = FrameLabeler()
  /// Randomize the interval between samples (uniform in 0.5 to 1.5 of the mean),
  /// so sampling does not alias with periodic work in the target.
  public var jitter = true
  /// How many samples' stacks the source may name together (1: each at once).
  /// Naming runs cold after every sleep (each distinct line of code a cache
  /// miss); a batch pays that once. Only a sampler, which drains the source,
  /// may set more: see `namingBatch(forRate:)`.
  public var namingBatch = 1
  /// Measure the profiler's own CPU time by phase (`CPUPhases`).
  public var cpuPhases = false

  public init() {}

  /// The batch for a recording: at most 100 ms of samples (as long as the code
  /// cache trusts an entry without a look at its header), at most 16.
  public static func namingBatch(forRate rate: Double) -> Int {
    guard rate.isFinite, rate >= 20 else { return 1 }  // also before validation: nan, inf
    return min(16, Int(min(rate, 160) / 10))
  }

  public static let maximumRate: Double = 100_000
  /// Below this (one sample per 1000 s) the interval in nanoseconds would not fit.
  public static let minimumRate: Double = 0.001
  /// About 31 years: beyond it the end time in nanoseconds would not fit.
  public static let maximumDuration: Double = 1e9

  /// What a good --rate and --duration look like, for error hints.
  public static let rateHint = "give samples per second, above 0 and at most 100000: for example --rate 100 (the default) or --rate 250"
  public static let durationHint = "give seconds, above 0 (fractions allowed): for example --duration 30 or --duration 0.5; leave it out to record until the target exits or Ctrl-C"

  /// Checks values a user can get wrong; the CLI calls this before attaching.
  public func validate() throws(SampError) {
    guard rate.isFinite, rate > 0 else {
      throw .invalidOption("--rate must be a positive number of samples per second, not \(rate)", hint: Self.rateHint)
    }
    guard rate <= Self.maximumRate else {
      throw .invalidOption("--rate \(Int(rate)) is above the maximum of \(Int(Self.maximumRate)) samples per second", hint: Self.rateHint)
    }
    guard rate >= Self.minimumRate else {
      throw .invalidOption("--rate \(rate) is below the minimum of \(Self.minimumRate) samples per second", hint: Self.rateHint)
    }
    if let d = duration {
      guard d.isFinite, d > 0 else {
        throw .invalidOption("--duration must be a positive number of seconds, not \(d)", hint: Self.durationHint)
      }
      guard d <= Self.maximumDuration else {
        throw .invalidOption("--duration \(d) is above the maximum of \(Int(Self.maximumDuration)) seconds", hint: Self.durationHint)
      }
    }
  }
}
