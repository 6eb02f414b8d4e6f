import Testing
@testable import SampCore

@Suite struct IntegerMapTests {
  /// Agrees with Dictionary over keys shaped like the ones it serves: aligned
  /// addresses (low bits zero), small offsets, negative offsets, and identities
  /// (a serial in the high half), through growth, replacement and emptying.
  @Test func agreesWithDictionary() {
    var map = IntegerMap<UInt32>()
    #expect(map.isEmpty && map[0] == nil && map[.max] == nil, "an unused map answers without storage")
    var truth: [UInt64: UInt32] = [:]
    var random = SystemRandomNumberGenerator()
    var keys: [UInt64] = []
    for i in 0..<3000 {
      keys.append(0x7f00_0000_0000 + UInt64(i) * 16)
      keys.append(UInt64(i))
      keys.append(UInt64(bitPattern: Int64(-i)))
      keys.append(UInt64(i % 50) << 32 | UInt64(i))
      keys.append(random.next())
    }
    for (n, key) in keys.enumerated() {
      let value = UInt32(truncatingIfNeeded: n)
      map.insert(value, for: key)
      truth[key] = value
    }
    for key in keys.shuffled().prefix(5000) {  // replacing keeps one entry
      map.insert(7, for: key)
      truth[key] = 7
    }
    #expect(map.count == truth.count)
    for (key, value) in truth { #expect(map[key] == value) }
    #expect(map[0xdead_beef_0000_0001] == truth[0xdead_beef_0000_0001])
    map.removeAll()
    #expect(map.isEmpty && map[keys[0]] == nil)
    map.insert(1, for: keys[0])
    #expect(map[keys[0]] == 1 && map.count == 1)
  }
}
