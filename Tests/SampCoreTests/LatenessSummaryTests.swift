import Testing

@testable import SampCore

/// The summary's words for late samples: "lower --rate" only when sampling
/// steadily outlasts the interval (one sample in ten or more), not for a few
/// slow ones, and first-time loading in words of its own.
struct LatenessSummaryTests {
  func stats(samples: Int, overran: Int = 0, loading: Int = 0) -> SamplingStats {
    var s = SamplingStats()
    s.samples = samples
    s.overranSamples = overran
    s.maxOverrunLagNanos = overran > 0 ? 30_000_000 : 0
    s.loadingDelays = loading
    s.maxLoadingLagNanos = loading > 0 ? 80_000_000 : 0
    return s
  }

  @Test func steadyOverrunsAskForALowerRate() {
    let text = Recording.lateness(stats(samples: 1000, overran: 100))
    #expect(text == "fell behind 100 times, by at most 30.0 ms (sampling took longer than the interval: lower --rate)")
  }

  @Test func aFewSlowSamplesAreNotTheRate() {
    let text = Recording.lateness(stats(samples: 1000, overran: 99))
    #expect(text == "fell behind 99 times, by at most 30.0 ms (a few slow samples, not the rate)")
  }

  @Test func firstLoadsHaveTheirOwnWords() {
    let text = Recording.lateness(stats(samples: 200, loading: 1))
    #expect(text == "never behind, late 1 times, by at most 80.0 ms, while loading the symbols and unwind tables of code met for the first time (a one-off, not the rate)")
  }
}
