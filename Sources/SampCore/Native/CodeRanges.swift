import SampSystem

/// The target's executable mappings, to tell a return address from a guess.
/// Where an instruction has no unwind information (a new thread's first one,
/// right after clone, which glibc leaves without on purpose), libunwind falls
/// back to reading the stack as return addresses, and can repeat a data
/// address for a hundred frames; an unwind ends at the first address outside
/// code instead. Read again on a miss, at most once a second (a library
/// loaded since, a JIT's new code).
final class CodeRanges {
  private let pid: ProcessID
  private var ranges: [(start: UInt64, end: UInt64)] = []
  private var readAt: UInt64?
  static let rereadGapNanos: UInt64 = 1_000_000_000

  init(pid: ProcessID) { self.pid = pid }

  func contains(_ address: UInt64) -> Bool {
    if readAt == nil { reread() }
    if find(address) { return true }
    guard let last = readAt, Monotonic.now() &- last >= Self.rereadGapNanos else { return false }
    reread()
    return find(address)
  }

  /// The mappings are gone after an exec.
  func reset() {
    ranges = []
    readAt = nil
  }

  /// `ips` innermost first, cut before the first one outside code (the
  /// innermost is where the thread is, whatever it is).
  func trim(_ ips: [UInt64]) -> [UInt64] {
    guard let stray = ips.indices.dropFirst().first(where: { !contains(ips[$0]) }) else { return ips }
    return Array(ips[..<stray])
  }

  private func reread() {
    readAt = Monotonic.now()
    // An unreadable maps file (the target exiting) keeps the last ranges.
    guard let maps = try? ProcFS.maps(of: pid) else { return }
    ranges = maps.filter(\.executable).map { ($0.start, $0.end) }.sorted { $0.start < $1.start }
  }

  private func find(_ address: UInt64) -> Bool {
    var low = 0, high = ranges.count
    while low < high {
      let mid = (low + high) / 2
      if ranges[mid].end <= address { low = mid + 1 } else { high = mid }
    }
    return low < ranges.count && ranges[low].start <= address
  }
}
