/// Frame labels interned as small integers: a stack is aggregated as an array of
/// label IDs, which hashes and compares in a fraction of the time the strings
/// take, and becomes text only when written.
public final class LabelTable {
  private var ids: [String: UInt32] = [:]
  public private(set) var texts: [String] = []
  /// Bumped each time the table is emptied: IDs handed out before are void.
  public private(set) var generation = 0
  /// Past this many labels the table is emptied at the next chance (see `trim`).
  public static let maxLabels = 200_000

  public init() {}

  public func id(_ label: String) -> UInt32 {
    if let known = ids[label] { return known }
    let id = UInt32(texts.count)
    texts.append(label)
    ids[label] = id
    return id
  }

  public subscript(id: UInt32) -> String { texts[Int(id)] }

  public var count: Int { texts.count }

  /// Bounds memory over a long run of ever new stacks: called when no stack
  /// holds IDs (right after a flush); empties the table when it has grown too large.
  public func trim() {
    guard texts.count > Self.maxLabels else { return }
    ids.removeAll()
    texts.removeAll()
    generation += 1
  }
}
