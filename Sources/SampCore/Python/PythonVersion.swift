/// A CPython version as the target reports it (PY_VERSION_HEX or sys.version).
public struct PythonVersion: Hashable, Sendable, CustomStringConvertible {
  public var major: Int
  public var minor: Int
  public var micro: Int
  /// "" for a final release, else "a", "b" or "rc" followed by the serial.
  public var suffix: String

  public init(major: Int, minor: Int, micro: Int, suffix: String = "") {
    self.major = major
    self.minor = minor
    self.micro = micro
    self.suffix = suffix
  }

  /// From PY_VERSION_HEX: 0xMMmmppLS (level A alpha, B beta, C candidate, F final).
  public init?(hex: UInt64) {
    let h = hex & 0xffff_ffff
    let major = Int(h >> 24)
    guard major == 2 || major == 3, h >> 32 == 0 else { return nil }
    let level = Int((h >> 4) & 0xf)
    let serial = Int(h & 0xf)
    var suffix = ""
    switch level {
    case 0xA: suffix = "a\(serial)"
    case 0xB: suffix = "b\(serial)"
    case 0xC: suffix = "rc\(serial)"
    case 0xF: suffix = ""
    default: return nil
    }
    self.init(major: major, minor: Int((h >> 16) & 0xff), micro: Int((h >> 8) & 0xff), suffix: suffix)
  }

  public var description: String { "\(major).\(minor).\(micro)\(suffix)" }

  /// Finds the start of `sys.version` ("3.9.18 (main, ...") in raw memory:
  /// `M.m.p`, an optional a/b/rc/+ suffix, then " (". The version text must
  /// not be glued to a preceding digit or dot.
  public static func scan(_ bytes: [UInt8]) -> PythonVersion? {
    let n = bytes.count
    var i = 0
    while i + 6 < n {
      defer { i += 1 }
      let c = bytes[i]
      guard c == UInt8(ascii: "2") || c == UInt8(ascii: "3"), bytes[i + 1] == UInt8(ascii: ".") else { continue }
      if i > 0, isDigit(bytes[i - 1]) || bytes[i - 1] == UInt8(ascii: ".") { continue }
      var j = i + 2
      guard let minor = number(bytes, &j), j < n, bytes[j] == UInt8(ascii: ".") else { continue }
      j += 1
      guard let micro = number(bytes, &j) else { continue }
      var suffix = ""
      while j < n, suffix.count < 6, isDigit(bytes[j]) || isLower(bytes[j]) || bytes[j] == UInt8(ascii: "+") {
        suffix.append(Character(Unicode.Scalar(bytes[j])))
        j += 1
      }
      guard j + 1 < n, bytes[j] == UInt8(ascii: " "), bytes[j + 1] == UInt8(ascii: "(") else { continue }
      guard suffix.isEmpty || suffix == "+" || isReleaseSuffix(suffix) else { continue }
      return PythonVersion(major: Int(c - UInt8(ascii: "0")), minor: minor, micro: micro, suffix: suffix)
    }
    return nil
  }

  /// "python3.9", "libpython3.7m.so.1.0" -> (3, 9): only a cross-check, never the source.
  public static func fromFileName(_ name: String) -> (major: Int, minor: Int)? {
    let bytes = Array(name.utf8)
    let key = Array("python".utf8)
    guard bytes.count > key.count else { return nil }
    for start in 0...(bytes.count - key.count) where Array(bytes[start..<start + key.count]) == key {
      var j = start + key.count
      guard let major = number(bytes, &j), j < bytes.count, bytes[j] == UInt8(ascii: ".") else { continue }
      j += 1
      guard let minor = number(bytes, &j) else { continue }
      return (major, minor)
    }
    return nil
  }

  private static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
  private static func isLower(_ b: UInt8) -> Bool { b >= 0x61 && b <= 0x7a }

  /// One or two decimal digits (no version part is longer).
  private static func number(_ bytes: [UInt8], _ j: inout Int) -> Int? {
    var value = 0
    var digits = 0
    while j < bytes.count, isDigit(bytes[j]), digits < 3 {
      value = value * 10 + Int(bytes[j] - 0x30)
      digits += 1
      j += 1
    }
    return digits > 0 && digits <= 2 ? value : nil
  }

  private static func isReleaseSuffix(_ s: String) -> Bool {
    var rest = Substring(s)
    if rest.hasSuffix("+") { rest = rest.dropLast() }
    for prefix in ["rc", "a", "b"] where rest.hasPrefix(prefix) {
      let digits = rest.dropFirst(prefix.count)
      return !digits.isEmpty && digits.allSatisfy(\.isNumber)
    }
    return false
  }
}
