import SampSystem

/// Reads whole pages and serves small reads from them, for the span of one
/// capture. Frames of 3.11+ sit side by side in the thread's data stack, and
/// older frame objects often do, so a deep stack costs a few page reads instead
/// of one syscall per frame. A page is mapped or not as a whole, so reading the
/// page around readable bytes never fails where the exact read would succeed.
/// Reset it before the next capture: the target changes once it runs again.
final class PageCache: RemoteMemory {
  static let pageSize = 4096
  /// Reads larger than this bypass the cache.
  static let largestCachedRead = 1024
  /// Bounds the copy for one capture (wild pointers must not fill memory).
  static let maxPages = 4096

  /// At most this many pages are prefetched: past it a capture is a full
  /// thread walk, not worth repeating blind.
  static let maxPrefetch = 32

  private let memory: RemoteMemory
  /// Runs of adjacent pages copied by `prefetch`; a capture has a few.
  private var prefetched: [(start: UInt64, bytes: ArraySlice<UInt8>)] = []
  /// Pages read one by one.
  private var pages: [UInt64: ArraySlice<UInt8>] = [:]
  /// Pages that served a read, in first-use order (prefetched pages that
  /// served none are not worth reading again).
  private(set) var usedPages: [UInt64] = []
  /// The page of the last read: frames sit side by side, so most reads hit it
  /// again and skip the dictionary's hashing.
  private var lastStart: UInt64 = .max
  private var lastPage: ArraySlice<UInt8> = []
  /// Set once the threads run again while the copy is still being walked: a
  /// byte not copied while they were held would come from the running target,
  /// out of step with the rest, so reading it fails and `missedCopy` says so.
  private(set) var frozen = false
  private(set) var missedCopy = false
  /// Pages this capture read on demand, outside the prefetch.
  private(set) var pagesReadOnDemand = 0

  init(_ memory: RemoteMemory) {
    self.memory = memory
    usedPages.reserveCapacity(16)  // one allocation, not one per doubling
  }

  /// Empties the cache for the next capture, keeping its storage (and letting
  /// go of the pages, so the memory's batch buffer can be reused).
  func reset() {
    dropCopies()
    usedPages.removeAll(keepingCapacity: true)
    frozen = false
    missedCopy = false
    pagesReadOnDemand = 0
  }

  /// Lets go of the copied bytes once the walk is done, keeping what the
  /// capture learned (`usedPages`, `pagesReadOnDemand`): the memory's batch
  /// buffer is then free for the reads resolve makes.
  func dropCopies() {
    prefetched.removeAll(keepingCapacity: true)
    pages.removeAll(keepingCapacity: true)
    lastStart = .max
    lastPage = []
  }

  /// From now on serve only what is already copied (see `frozen`).
  func freeze() { frozen = true }

  func read(at address: RemoteAddress, count: Int) throws(SystemError) -> [UInt8] {
    guard count > 0, count <= Self.largestCachedRead, pages.count < Self.maxPages else {
      try refuseIfFrozen(address, count)
      return try memory.read(at: address, count: count)
    }
    let (first, offset) = Self.split(address)
    let page = try self.page(first)
    let start = page.startIndex + offset
    if offset + count <= Self.pageSize { return Array(page[start..<start + count]) }
    // Straddles two pages.
    let (next, overflow) = first.addingReportingOverflow(UInt64(Self.pageSize))
    if overflow { throw .unreadableMemory(address, count: count) }
    let second = try self.page(next)
    var bytes: [UInt8] = []
    bytes.reserveCapacity(count)
    bytes.append(contentsOf: page[start...])
    bytes.append(contentsOf: second.prefix(offset + count - Self.pageSize))
    return bytes
  }

  /// Within one page (frames, thread states): a view of the cached page, no copy.
  func view(at address: RemoteAddress, count: Int) throws(SystemError) -> ByteView {
    let (first, offset) = Self.split(address)
    guard count > 0, offset + count <= Self.pageSize, pages.count < Self.maxPages else {
      return ByteView(try read(at: address, count: count))
    }
    // Frames sit side by side: most reads are in the page of the last one.
    let page = first == lastStart ? lastPage : try self.page(first)
    let start = page.startIndex + offset
    return ByteView(page[start..<start + count])
  }

  /// Copies the planned pages (usually the last capture's: a stack changes
  /// little between samples) in one syscall instead of one each. Best effort:
  /// a page that is gone now just leaves the set to be read page by page.
  @discardableResult
  func prefetch(_ plan: PrefetchPlan) -> Bool {
    guard plan.pageCount > 0, let got = try? memory.read(ranges: plan.ranges) else { return false }
    adopt(plan, got)
    return true
  }

  /// Takes bytes copied for `plan` elsewhere (at the stop: `StopCopy`) as
  /// its prefetch, one slice a range.
  func adopt(_ plan: PrefetchPlan, _ copied: [ArraySlice<UInt8>]) {
    for (range, bytes) in zip(plan.ranges, copied) { prefetched.append((range.0.rawValue, bytes)) }
  }

  /// The page an address falls in and its offset there.
  private static func split(_ address: RemoteAddress) -> (page: UInt64, offset: Int) {
    let page = address.rawValue & ~UInt64(pageSize - 1)
    return (page, Int(address.rawValue - page))
  }

  private func page(_ start: UInt64) throws(SystemError) -> ArraySlice<UInt8> {
    if start == lastStart { return lastPage }
    let bytes: ArraySlice<UInt8>
    if let copied = prefetchedPage(start) {
      bytes = copied
    } else if let cached = pages[start] {
      bytes = cached
    } else {
      try refuseIfFrozen(RemoteAddress(start), Self.pageSize)
      bytes = try memory.read(at: RemoteAddress(start), count: Self.pageSize)[...]
      pages[start] = bytes
      pagesReadOnDemand += 1
    }
    // Bounded: past maxPrefetch pages nothing is prefetched anyway.
    if usedPages.count <= Self.maxPrefetch, !usedPages.contains(start) { usedPages.append(start) }
    lastStart = start
    lastPage = bytes
    return bytes
  }

  private func refuseIfFrozen(_ address: RemoteAddress, _ count: Int) throws(SystemError) {
    guard frozen else { return }
    missedCopy = true
    throw .unreadableMemory(address, count: count)
  }

  private func prefetchedPage(_ start: UInt64) -> ArraySlice<UInt8>? {
    for run in prefetched where start >= run.start && start - run.start < UInt64(run.bytes.count) {
      let from = run.bytes.startIndex + Int(start - run.start)
      return run.bytes[from..<from + Self.pageSize]
    }
    return nil
  }
}

/// The pages a capture will copy first, as ranges of adjacent pages (a data
/// stack's chunk, a C stack): the kernel pins a range's pages in one call,
/// cheaper than a range each. Worked out after resume, so the hold only reads.
struct PrefetchPlan {
  private(set) var ranges: [(RemoteAddress, Int)] = []
  private(set) var pageCount = 0

  init(_ starts: [UInt64] = []) {
    let size = UInt64(PageCache.pageSize)
    var runs: [(start: UInt64, pages: Int)] = []
    runs.reserveCapacity(starts.count)
    for start in starts.sorted() {
      if let last = runs.last {
        let end = last.start &+ UInt64(last.pages) &* size
        if start < end { continue }  // a page listed twice
        if start == end {
          runs[runs.count - 1].pages += 1
          continue
        }
      }
      runs.append((start, 1))
    }
    ranges = runs.map { (RemoteAddress($0.start), $0.pages * PageCache.pageSize) }
    pageCount = runs.reduce(0) { $0 + $1.pages }
  }
}
