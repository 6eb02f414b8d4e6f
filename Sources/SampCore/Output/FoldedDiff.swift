/// Differential folded stacks for comparing two profiles: `stack BEFORE AFTER`
/// per line, the union of both, 0 where one lacks the stack. flamegraph.pl draws
/// widths from AFTER and colours by the difference (red grew, blue shrank).
public enum FoldedDiff {
  /// Parses folded text, summing repeated lines (streamed blocks repeat stacks).
  /// Lines that do not end in " COUNT" are counted in `malformed`, not fatal.
  public static func parse(_ text: String) -> (counts: [String: Int], order: [String], malformed: Int) {
    var counts: [String: Int] = [:]
    var order: [String] = []
    var malformed = 0
    for raw in text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
      let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
      if line.isEmpty || line.hasPrefix("#") { continue }
      guard let space = line.lastIndex(of: " "), let n = Int(line[line.index(after: space)...]), n >= 0 else {
        malformed += 1
        continue
      }
      let stack = String(line[..<space])
      if counts[stack] == nil { order.append(stack) }
      counts[stack, default: 0] += n
    }
    return (counts, order, malformed)
  }

  /// The differential lines. With `normalize`, BEFORE is scaled to AFTER's total
  /// (as difffolded.pl -n does), so profiles of different lengths compare by share.
  public static func diff(before: String, after: String, normalize: Bool) -> String {
    let a = parse(before)
    let b = parse(after)
    let totalA = a.counts.values.reduce(0, +)
    let totalB = b.counts.values.reduce(0, +)
    let scale = normalize && totalA > 0 ? Double(totalB) / Double(totalA) : 1
    var out = ""
    var seen = Set<String>()
    for stack in a.order + b.order where seen.insert(stack).inserted {
      let before = Int((Double(a.counts[stack] ?? 0) * scale).rounded())
      out += "\(stack) \(before) \(b.counts[stack] ?? 0)\n"
    }
    return out
  }
}
