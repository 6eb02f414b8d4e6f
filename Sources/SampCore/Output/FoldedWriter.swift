import SampSystem

/// Folded ("collapsed") stacks: `root;...;leaf COUNT`, one line per distinct
/// stack. Counts are kept only since the last flush and written about once a
/// second, so lines reach a pipe while recording and an interrupted run still
/// has every sample; flame graph tools sum the repeated lines of later blocks.
public final class FoldedWriter: ProfileWriter {
  private let output: OutputFile
  public let labels = LabelTable()
  /// The stacks added since the last flush, in first-seen order, with their
  /// counts, and where each one is in them.
  private var stacks: [[UInt32]] = []
  private var counts: [Int] = []
  private var places: [StackKey: Int] = [:]
  public private(set) var samplesWritten = 0

  public init(output: OutputFile) { self.output = output }

  public func add(ids stack: [UInt32], count: Int) {
    guard !stack.isEmpty, count > 0 else { return }
    let key = StackKey(stack)
    if let place = places[key] {
      counts[place] += count
    } else {
      places[key] = stacks.count
      stacks.append(stack)
      counts.append(count)
    }
  }

  public func flush() throws(SampError) {
    guard !stacks.isEmpty else { return }
    // Bytes appended straight from the labels: joining strings per line cost
    // more than everything else a flush does.
    var bytes: [UInt8] = []
    bytes.reserveCapacity(stacks.count * 256)
    var samples = 0
    for (stack, count) in zip(stacks, counts) {
      for (i, id) in stack.enumerated() {
        if i > 0 { bytes.append(UInt8(ascii: ";")) }
        bytes.append(contentsOf: labels.bytes(id))
      }
      bytes.append(UInt8(ascii: " "))
      Self.appendDecimal(count, to: &bytes)
      bytes.append(UInt8(ascii: "\n"))
      samples += count
    }
    stacks.removeAll(keepingCapacity: true)
    counts.removeAll(keepingCapacity: true)
    places.removeAll(keepingCapacity: true)
    labels.trim()
    do {
      try output.write(bytes: bytes)
    } catch {
      throw .output(path: output.path, error.errno ?? .ioError)
    }
    samplesWritten += samples
  }

  public func finish() throws(SampError) { try flush() }

  /// `value` (not negative) in decimal.
  static func appendDecimal(_ value: Int, to bytes: inout [UInt8]) {
    if value >= 10 { appendDecimal(value / 10, to: &bytes) }
    bytes.append(UInt8(ascii: "0") + UInt8(value % 10))
  }
}

/// A stack of label IDs as a dictionary key, mixed once in a cheap pass (FNV-1a
/// over the IDs) rather than fed to the hasher an ID at a time: a deep stack
/// cost a hasher round per frame, every sample.
private struct StackKey: Hashable {
  let ids: [UInt32]
  let mix: UInt64

  init(_ ids: [UInt32]) {
    var mix: UInt64 = 0xcbf2_9ce4_8422_2325
    for id in ids { mix = (mix ^ UInt64(id)) &* 0x0000_0100_0000_01b3 }
    self.ids = ids
    self.mix = mix
  }

  func hash(into hasher: inout Hasher) { hasher.combine(mix) }
  static func == (a: StackKey, b: StackKey) -> Bool { a.mix == b.mix && a.ids == b.ids }
}
