/// A hash map keyed by 64-bit integers, for the memos a sample consults frame
/// by frame (identity -> label, byte offset -> identity). Dictionary runs
/// SipHash over every key, most of such a lookup's cost; this mixes a key with
/// one multiply (Fibonacci hashing: the product's top bits pick the slot), after
/// xoring in a per-process random seed so that no target can choose keys that
/// pile into one slot. Open addressing with linear probing, at most half full.
/// No single removal: memos are bounded by emptying them whole. Storage comes
/// with the first insert: a code object's memo is one of thousands, most small.
struct IntegerMap<Value> {
  private var slots: [(key: UInt64, value: Value)?] = []
  /// 64 less log2 of the slot count.
  private var shift: UInt64 = 64
  private let seed = integerMapSeed
  private(set) var count = 0

  init() {}

  var isEmpty: Bool { count == 0 }

  @inline(__always)
  private func home(_ key: UInt64) -> Int {
    Int(truncatingIfNeeded: ((key ^ seed) &* 0x9E37_79B9_7F4A_7C15) >> shift)
  }

  subscript(key: UInt64) -> Value? {
    guard !slots.isEmpty else { return nil }
    let mask = slots.count - 1
    var i = home(key)
    while let slot = slots[i] {
      if slot.key == key { return slot.value }
      i = (i + 1) & mask
    }
    return nil
  }

  /// Sets the value for `key`, replacing any it had.
  mutating func insert(_ value: Value, for key: UInt64) {
    if (count + 1) * 2 > slots.count { grow() }
    let mask = slots.count - 1
    var i = home(key)
    while let slot = slots[i] {
      if slot.key == key {
        slots[i] = (key, value)
        return
      }
      i = (i + 1) & mask
    }
    slots[i] = (key, value)
    count += 1
  }

  /// Empties the map, keeping its capacity.
  mutating func removeAll() {
    guard count > 0 else { return }
    for i in slots.indices { slots[i] = nil }
    count = 0
  }

  private mutating func grow() {
    let old = slots
    let size = max(8, old.count * 2)
    slots = Array(repeating: nil, count: size)
    shift = 64 - UInt64(size.trailingZeroBitCount)
    count = 0
    for case let (key, value)? in old { insert(value, for: key) }
  }
}

/// One seed for every map of the run.
private let integerMapSeed = UInt64.random(in: .min ... .max)
