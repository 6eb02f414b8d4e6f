import Testing
import SampSystem
@testable import SampCore

/// Pages of a pattern at any address, counting single reads and batched reads.
private final class PatternMemory: RemoteMemory {
  private(set) var reads = 0
  private(set) var batches = 0
  private(set) var ranges: [(RemoteAddress, Int)] = []
  func read(at address: RemoteAddress, count: Int) throws(SystemError) -> [UInt8] {
    reads += 1
    return (0..<count).map { UInt8(truncatingIfNeeded: (address.rawValue &+ UInt64($0)) &* 7) }
  }
  func read(ranges: [(RemoteAddress, Int)]) throws(SystemError) -> [ArraySlice<UInt8>] {
    batches += 1
    self.ranges = ranges
    var out: [ArraySlice<UInt8>] = []
    for (a, n) in ranges { out.append((0..<n).map { UInt8(truncatingIfNeeded: (a.rawValue &+ UInt64($0)) &* 7) }[...]) }
    return out
  }
  func expected(_ address: UInt64, _ count: Int) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: (address &+ UInt64($0)) &* 7) }
  }
}

@Suite struct PageCacheTests {
  @Test func viewsAndReadsServeTheSameBytesFromOnePageRead() throws {
    let memory = PatternMemory()
    let cache = PageCache(memory)
    let base: UInt64 = 0x7f00_0000_1000
    #expect(try cache.read(at: RemoteAddress(base + 100), count: 64) == memory.expected(base + 100, 64))
    let view = try cache.view(at: RemoteAddress(base + 200), count: 16)
    #expect(view.u64(at: 8) == ByteView(memory.expected(base + 200, 16)).u64(at: 8))
    #expect(view.u64(at: 16) == 0, "a view ends where it was cut")
    #expect(memory.reads == 1)
    // Across a page boundary: both pages, still exact.
    #expect(try cache.read(at: RemoteAddress(base + 4090), count: 12) == memory.expected(base + 4090, 12))
    #expect(memory.reads == 2)
  }

  @Test func prefetchIsOneBatchAndOnlyUsedPagesAreKept() throws {
    let memory = PatternMemory()
    let cache = PageCache(memory)
    // Adjacent pages (in any order) go in one range.
    let plan = PrefetchPlan([0x30000, 0x11000, 0x10000, 0x30000])
    #expect(plan.pageCount == 3)
    #expect(PrefetchPlan([0x11000, 0x10000, 0x11000, 0x10000]).ranges.map(\.1) == [8192], "repeats, in any order")
    cache.prefetch(plan)
    #expect(memory.batches == 1)
    #expect(memory.ranges.map { $0.0.rawValue } == [0x10000, 0x30000] && memory.ranges.map(\.1) == [8192, 4096])
    #expect(try cache.read(at: RemoteAddress(0x10ff8), count: 16) == memory.expected(0x10ff8, 16), "straddles the run's two pages")
    #expect(try cache.view(at: RemoteAddress(0x30020), count: 8).u64(at: 0) == ByteView(memory.expected(0x30020, 8)).u64(at: 0))
    #expect(memory.reads == 0, "every byte from the prefetch")
    _ = try cache.view(at: RemoteAddress(0x50020), count: 8)
    #expect(memory.reads == 1, "only the page not prefetched")
    // Pages that served something, in first-use order: what the next capture prefetches.
    #expect(cache.usedPages == [0x10000, 0x11000, 0x30000, 0x50000])
    // Reset for the next capture: nothing cached, nothing used, reads go out again.
    cache.reset()
    #expect(cache.usedPages.isEmpty)
    _ = try cache.view(at: RemoteAddress(0x30020), count: 8)
    #expect(memory.reads == 2 && cache.usedPages == [0x30000])
  }

  /// Frozen (the walk runs after resume): copied pages still serve, anything
  /// else fails without touching the target and is flagged; reset thaws it.
  @Test func frozenCacheServesOnlyTheCopy() throws {
    let memory = PatternMemory()
    let cache = PageCache(memory)
    #expect(cache.prefetch(PrefetchPlan([0x10000])))
    cache.freeze()
    #expect(try cache.view(at: RemoteAddress(0x10040), count: 8).u64(at: 0) == ByteView(memory.expected(0x10040, 8)).u64(at: 0))
    #expect(!cache.missedCopy)
    #expect(throws: SystemError.self) { try cache.view(at: RemoteAddress(0x20040), count: 8) }
    #expect(throws: SystemError.self) { try cache.read(at: RemoteAddress(0x10000), count: 4096) }
    #expect(cache.missedCopy && memory.reads == 0 && cache.pagesReadOnDemand == 0)
    cache.reset()
    #expect(!cache.missedCopy)
    _ = try cache.view(at: RemoteAddress(0x20040), count: 8)
    #expect(memory.reads == 1 && cache.pagesReadOnDemand == 1)
  }
}
