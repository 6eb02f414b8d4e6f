import Testing

@testable import SampCore

/// Which late ticks the summary blames on the sampler ("fell behind": lower
/// --rate) and which on the machine ("woke late"), at 100 Hz: a sample began
/// at 0 and the next tick counts as late from 20 ms.
struct SamplingStatsTests {
  let tick: UInt64 = 20_000_000
  let pythonWait: UInt64 = 1_000_000
  let nativeWait: UInt64 = 100_000_000

  @Test func aSampleThatUsedTheIntervalOfCPUFellBehind() {
    #expect(SamplingStats.ownWorkMadeLate(start: 0, cpuUsed: 21_000_000, hold: 50_000, longestWait: pythonWait, tick: tick))
  }

  @Test func aShortSampleKeptOffTheCPUIsTheMachines() {
    // 200 µs of CPU and a 60 µs hold in a sample that took 35 ms of wall time.
    #expect(!SamplingStats.ownWorkMadeLate(start: 0, cpuUsed: 200_000, hold: 60_000, longestWait: pythonWait, tick: tick))
  }

  @Test func aHoldCountsOnlyAsLongAsAStopIsWaitedFor() {
    // The profiler preempted inside a 30 ms hold: Python stops are waited for
    // 1 ms at most, so the rest was the machine's.
    #expect(!SamplingStats.ownWorkMadeLate(start: 0, cpuUsed: 300_000, hold: 30_000_000, longestWait: pythonWait, tick: tick))
    // Native stacks wait up to 100 ms for a stop: such a hold is sampling's own.
    #expect(SamplingStats.ownWorkMadeLate(start: 0, cpuUsed: 300_000, hold: 30_000_000, longestWait: nativeWait, tick: tick))
  }

  @Test func workThatBeganLateCountsFromWhereItBegan() {
    #expect(SamplingStats.ownWorkMadeLate(start: 19_000_000, cpuUsed: 1_500_000, hold: 0, longestWait: pythonWait, tick: tick))
    #expect(!SamplingStats.ownWorkMadeLate(start: 10_000_000, cpuUsed: 1_500_000, hold: 0, longestWait: pythonWait, tick: tick))
  }
}
