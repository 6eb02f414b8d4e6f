import SampSystem

/// Folded ("collapsed") stacks: `root;...;leaf COUNT`, one line per distinct
/// stack. Counts are kept only since the last flush and written about once a
/// second, so lines reach a pipe while recording and an interrupted run still
/// has every sample; flame graph tools sum the repeated lines of later blocks.
public final class FoldedWriter: ProfileWriter {
  private let output: OutputFile
  public let labels = LabelTable()
  private var pending: [[UInt32]: Int] = [:]
  private var order: [[UInt32]] = []
  public private(set) var samplesWritten = 0

  public init(output: OutputFile) { self.output = output }

  public func add(ids stack: [UInt32], count: Int) {
    guard !stack.isEmpty, count > 0 else { return }
    // One hash of the stack when it is already pending (the usual case).
    if let index = pending.index(forKey: stack) {
      pending.values[index] += count
    } else {
      pending[stack] = count
      order.append(stack)
    }
  }

  public func flush() throws(SampError) {
    guard !order.isEmpty else { return }
    // Bytes appended straight from the labels: joining strings per line cost
    // more than everything else a flush does.
    var bytes: [UInt8] = []
    bytes.reserveCapacity(order.count * 256)
    var samples = 0
    for stack in order {
      let count = pending[stack] ?? 0
      for (i, id) in stack.enumerated() {
        if i > 0 { bytes.append(UInt8(ascii: ";")) }
        let label = labels[id].utf8
        if label.withContiguousStorageIfAvailable({ bytes.append(contentsOf: $0) }) == nil {
          bytes.append(contentsOf: label)
        }
      }
      bytes.append(UInt8(ascii: " "))
      Self.appendDecimal(count, to: &bytes)
      bytes.append(UInt8(ascii: "\n"))
      samples += count
    }
    pending.removeAll(keepingCapacity: true)
    order.removeAll(keepingCapacity: true)
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
