/// Frame labels interned as small integers: a stack is aggregated as an array of
/// label IDs, which hashes and compares in a fraction of the time the strings
/// take, and becomes text only when written.
public final class LabelTable {
  private var ids: [String: UInt32] = [:]
  /// Every label's UTF-8, back to back, and where each one ends: a flush
  /// copies a label's bytes in one append instead of going through its String.
  private var utf8: [UInt8] = []
  private var ends: [Int] = []
  /// Bumped each time the table is emptied: IDs handed out before are void.
  public private(set) var generation = 0
  /// Past this many labels the table is emptied at the next chance (see `trim`).
  public static let maxLabels = 200_000

  public init() {}

  public func id(_ label: String) -> UInt32 {
    if let known = ids[label] { return known }
    let id = UInt32(ends.count)
    utf8.append(contentsOf: label.utf8)
    ends.append(utf8.count)
    ids[label] = id
    return id
  }

  /// The label's UTF-8.
  public func bytes(_ id: UInt32) -> ArraySlice<UInt8> {
    let i = Int(id)
    return utf8[(i == 0 ? 0 : ends[i - 1])..<ends[i]]
  }

  public subscript(id: UInt32) -> String { String(decoding: bytes(id), as: UTF8.self) }

  public var count: Int { ends.count }

  /// Bounds memory over a long run of ever new stacks: called when no stack
  /// holds IDs (right after a flush); empties the table when it has grown too large.
  public func trim() {
    guard ends.count > Self.maxLabels else { return }
    ids.removeAll()
    utf8.removeAll()
    ends.removeAll()
    generation += 1
  }
}
