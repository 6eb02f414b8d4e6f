import Testing

@testable import SampCore

struct SamplerConfigTests {
  /// 100 ms of samples, at most 16, and never a trap on a rate not yet
  /// validated (`record` works the batch out before it checks its options).
  @Test func namingBatchFollowsTheRate() {
    #expect(SamplerConfig.namingBatch(forRate: 100) == 10)
    #expect(SamplerConfig.namingBatch(forRate: 250) == 16)
    #expect(SamplerConfig.namingBatch(forRate: 1e5) == 16)
    #expect(SamplerConfig.namingBatch(forRate: 10) == 1)
    #expect(SamplerConfig.namingBatch(forRate: 0.001) == 1)
    for odd in [Double.nan, .infinity, -.infinity, -5, 0] { #expect(SamplerConfig.namingBatch(forRate: odd) == 1) }
  }
}
