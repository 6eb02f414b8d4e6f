/// Rust symbol demangling, both manglings rustc uses:
/// - legacy: `_ZN` length-prefixed path `17h<16 hex>E`, with `$LT$`-style escapes;
///   printed without the hash (`<r::Circle as r::Area>::area`).
/// - v0 (`_R...`, RFC 2603): printed like rustc-demangle's alternate form, without
///   crate disambiguators (`<r::shapes::Circle>::grow::<f32>`). Lifetimes print as
///   `'_`. Punycode identifiers and unstable const forms are not decoded: such a
///   symbol fails as a whole and the caller keeps it mangled.
/// Input is untrusted (it comes from the target's files): every read is bounds
/// checked, backreferences only go backwards and recursion depth is limited.
enum RustDemangler {
  // MARK: legacy

  static func demangleLegacy(_ symbol: String) -> String? {
    let bytes = Array(symbol.utf8)
    guard bytes.starts(with: Array("_ZN".utf8)), bytes.last == UInt8(ascii: "E") else { return nil }
    var i = 3
    var elements: [String] = []
    while i < bytes.count - 1 {
      var length = 0
      let digitsStart = i
      while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39, length < 1 << 20 {
        length = length * 10 + Int(bytes[i] - 0x30)
        i += 1
      }
      guard i > digitsStart, length > 0, i + length <= bytes.count - 1 else { return nil }
      elements.append(String(decoding: bytes[i..<(i + length)], as: UTF8.self))
      i += length
    }
    guard i == bytes.count - 1, let hash = elements.last, isLegacyHash(hash) else { return nil }
    return elements.dropLast().map(unescapeLegacy).joined(separator: "::")
  }

  /// "h" followed by 16 hex digits.
  private static func isLegacyHash(_ s: String) -> Bool {
    let u = Array(s.utf8)
    return u.count == 17 && u[0] == UInt8(ascii: "h") && u.dropFirst().allSatisfy { isHexDigit($0) }
  }

  /// `$LT$` -> `<`, `$u20$` -> ` `, `..` -> `::`, a leading `_$` loses its `_`.
  static func unescapeLegacy(_ element: String) -> String {
    var s = Substring(element)
    if s.hasPrefix("_$") { s = s.dropFirst() }
    var out = ""
    while let c = s.first {
      if c == "$", let end = s.dropFirst().firstIndex(of: "$") {
        let code = s[s.index(after: s.startIndex)..<end]
        if let decoded = legacyEscape(code) {
          out += decoded
          s = s[s.index(after: end)...]
          continue
        }
      }
      if s.hasPrefix("..") {
        out += "::"
        s = s.dropFirst(2)
        continue
      }
      out.append(c)
      s = s.dropFirst()
    }
    return out
  }

  private static func legacyEscape(_ code: Substring) -> String? {
    switch code {
    case "SP": return "@"
    case "BP": return "*"
    case "RF": return "&"
    case "LT": return "<"
    case "GT": return ">"
    case "LP": return "("
    case "RP": return ")"
    case "C": return ","
    default:
      guard code.first == "u", let value = UInt32(code.dropFirst(), radix: 16),
        let scalar = Unicode.Scalar(value)
      else { return nil }
      return String(Character(scalar))
    }
  }

  // MARK: v0

  static func demangleV0(_ symbol: String) -> String? {
    guard symbol.hasPrefix("_R") else { return nil }
    var parser = V0Parser(Array(symbol.utf8.dropFirst(2)))
    return parser.symbol()
  }

  fileprivate static func isHexDigit(_ c: UInt8) -> Bool {
    (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66)
  }
}

/// A recursive-descent reader of one v0 symbol that prints as it parses.
/// Any `nil` means "not a symbol this reader understands".
private struct V0Parser {
  let s: [UInt8]
  var pos = 0
  var depth = 0
  var out = ""
  static let maxDepth = 200

  init(_ bytes: [UInt8]) { s = bytes }

  mutating func symbol() -> String? {
    // Optional encoding version: a decimal number before the path.
    if let c = peek(), c >= 0x30, c <= 0x39 { guard decimal() != nil else { return nil } }
    guard path(inValue: true) else { return nil }
    // An instantiating crate may follow; a vendor suffix ("." or "$") ends it all.
    if let c = peek(), c != UInt8(ascii: "."), c != UInt8(ascii: "$") {
      let printed = out
      guard path(inValue: false) else { return nil }
      out = printed
    }
    return out
  }

  // MARK: reading

  func peek() -> UInt8? { pos < s.count ? s[pos] : nil }
  mutating func next() -> UInt8? {
    guard pos < s.count else { return nil }
    defer { pos += 1 }
    return s[pos]
  }
  mutating func eat(_ c: Character) -> Bool {
    guard peek() == c.asciiValue else { return false }
    pos += 1
    return true
  }

  /// `_` is 0; otherwise digits 0-9a-zA-Z then `_`, value + 1. Crate hashes
  /// use the whole 64 bits.
  mutating func base62() -> UInt64? {
    if eat("_") { return 0 }
    var value: UInt64 = 0
    while let c = next() {
      if c == UInt8(ascii: "_") { return value == .max ? nil : value + 1 }
      let digit: UInt64
      switch c {
      case 0x30...0x39: digit = UInt64(c - 0x30)
      case 0x61...0x7A: digit = UInt64(c - 0x61) + 10
      case 0x41...0x5A: digit = UInt64(c - 0x41) + 36
      default: return nil
      }
      let (m, o1) = value.multipliedReportingOverflow(by: 62)
      let (a, o2) = m.addingReportingOverflow(digit)
      if o1 || o2 { return nil }
      value = a
    }
    return nil
  }

  mutating func decimal() -> Int? {
    guard let first = next(), first >= 0x30, first <= 0x39 else { return nil }
    if first == 0x30 { return 0 }
    var value = Int(first - 0x30)
    while let c = peek(), c >= 0x30, c <= 0x39 {
      pos += 1
      value = value * 10 + Int(c - 0x30)
      if value > 1 << 24 { return nil }
    }
    return value
  }

  /// `s` base62, or 0 when absent.
  mutating func disambiguator() -> UInt64? {
    guard eat("s") else { return 0 }
    guard let value = base62(), value < .max else { return nil }
    return value + 1
  }

  mutating func identifier() -> (name: String, disambiguator: UInt64)? {
    guard let dis = disambiguator() else { return nil }
    // "u" marks Punycode, which this reader does not decode.
    if eat("u") { return nil }
    guard let length = decimal() else { return nil }
    _ = eat("_")
    guard length <= s.count - pos else { return nil }
    let name = String(decoding: s[pos..<(pos + length)], as: UTF8.self)
    pos += length
    return (name, dis)
  }

  /// Runs `body` at the position a backreference points to, then comes back.
  mutating func backref(_ body: (inout V0Parser) -> Bool) -> Bool {
    let start = pos - 1
    guard let target = base62(), target < UInt64(start) else { return false }
    let resume = pos
    pos = Int(target)
    let ok = body(&self)
    pos = resume
    return ok
  }

  mutating func nested(_ body: (inout V0Parser) -> Bool) -> Bool {
    guard depth < Self.maxDepth else { return false }
    depth += 1
    defer { depth -= 1 }
    return body(&self)
  }

  // MARK: grammar

  mutating func path(inValue: Bool) -> Bool {
    nested { p in p.pathBody(inValue: inValue) }
  }

  private mutating func pathBody(inValue: Bool) -> Bool {
    guard let tag = next() else { return false }
    switch tag {
    case UInt8(ascii: "C"):
      guard let ident = identifier() else { return false }
      out += ident.name
      return true
    case UInt8(ascii: "N"):
      guard let ns = next(), path(inValue: inValue), let ident = identifier() else { return false }
      if ns >= 0x41 && ns <= 0x5A {
        // Special namespaces: closures (C), shims (S), others by letter.
        let kind = ns == UInt8(ascii: "C") ? "closure" : ns == UInt8(ascii: "S") ? "shim" : String(UnicodeScalar(ns))
        out += "::{\(kind)" + (ident.name.isEmpty ? "" : ":\(ident.name)") + "#\(ident.disambiguator)}"
      } else if !ident.name.isEmpty {
        out += "::" + ident.name
      }
      return true
    case UInt8(ascii: "M"):
      guard implPath() else { return false }
      out += "<"
      guard type() else { return false }
      out += ">"
      return true
    case UInt8(ascii: "X"):
      guard implPath() else { return false }
      out += "<"
      guard type() else { return false }
      out += " as "
      guard path(inValue: false) else { return false }
      out += ">"
      return true
    case UInt8(ascii: "Y"):
      out += "<"
      guard type() else { return false }
      out += " as "
      guard path(inValue: false) else { return false }
      out += ">"
      return true
    case UInt8(ascii: "I"):
      guard path(inValue: inValue) else { return false }
      out += inValue ? "::<" : "<"
      guard genericArgs() else { return false }
      out += ">"
      return true
    case UInt8(ascii: "B"):
      return backref { p in p.path(inValue: inValue) }
    default:
      return false
    }
  }

  /// The impl's own path is not printed (its type says enough), only skipped.
  private mutating func implPath() -> Bool {
    guard disambiguator() != nil else { return false }
    let printed = out
    defer { out = printed }
    return path(inValue: false)
  }

  /// Arguments up to `E`, comma separated.
  private mutating func genericArgs() -> Bool {
    var first = true
    while !eat("E") {
      if !first { out += ", " }
      first = false
      guard genericArg() else { return false }
    }
    return true
  }

  private mutating func genericArg() -> Bool {
    if eat("L") {
      guard base62() != nil else { return false }
      out += "'_"
      return true
    }
    if eat("K") { return const() }
    return type()
  }

  private static let basicTypes: [UInt8: String] = [
    UInt8(ascii: "a"): "i8", UInt8(ascii: "b"): "bool", UInt8(ascii: "c"): "char",
    UInt8(ascii: "d"): "f64", UInt8(ascii: "e"): "str", UInt8(ascii: "f"): "f32",
    UInt8(ascii: "h"): "u8", UInt8(ascii: "i"): "isize", UInt8(ascii: "j"): "usize",
    UInt8(ascii: "l"): "i32", UInt8(ascii: "m"): "u32", UInt8(ascii: "n"): "i128",
    UInt8(ascii: "o"): "u128", UInt8(ascii: "s"): "i16", UInt8(ascii: "t"): "u16",
    UInt8(ascii: "u"): "()", UInt8(ascii: "v"): "...", UInt8(ascii: "x"): "i64",
    UInt8(ascii: "y"): "u64", UInt8(ascii: "z"): "!", UInt8(ascii: "p"): "_",
  ]

  mutating func type() -> Bool {
    nested { p in p.typeBody() }
  }

  private mutating func typeBody() -> Bool {
    guard let tag = peek() else { return false }
    if let basic = Self.basicTypes[tag] {
      pos += 1
      out += basic
      return true
    }
    switch tag {
    case UInt8(ascii: "A"):
      pos += 1
      out += "["
      guard type() else { return false }
      out += "; "
      guard const() else { return false }
      out += "]"
      return true
    case UInt8(ascii: "S"):
      pos += 1
      out += "["
      guard type() else { return false }
      out += "]"
      return true
    case UInt8(ascii: "T"):
      pos += 1
      out += "("
      var count = 0
      while !eat("E") {
        if count > 0 { out += ", " }
        guard type() else { return false }
        count += 1
      }
      out += count == 1 ? ",)" : ")"
      return true
    case UInt8(ascii: "R"), UInt8(ascii: "Q"):
      pos += 1
      out += "&"
      if eat("L") {
        guard let lifetime = base62() else { return false }
        if lifetime != 0 { out += "'_ " }
      }
      if tag == UInt8(ascii: "Q") { out += "mut " }
      return type()
    case UInt8(ascii: "P"), UInt8(ascii: "O"):
      pos += 1
      out += tag == UInt8(ascii: "P") ? "*const " : "*mut "
      return type()
    case UInt8(ascii: "F"):
      pos += 1
      return fnSig()
    case UInt8(ascii: "D"):
      pos += 1
      return dynBounds()
    case UInt8(ascii: "B"):
      pos += 1
      return backref { p in p.type() }
    default:
      return path(inValue: false)
    }
  }

  private mutating func binder() -> Bool {
    guard eat("G") else { return true }
    return base62() != nil
  }

  private mutating func fnSig() -> Bool {
    guard binder() else { return false }
    if eat("U") { out += "unsafe " }
    if eat("K") {
      if eat("C") {
        out += "extern \"C\" "
      } else {
        guard let length = decimal() else { return false }
        _ = eat("_")
        guard length <= s.count - pos else { return false }
        let abi = String(decoding: s[pos..<(pos + length)], as: UTF8.self).replacingUnderscores()
        pos += length
        out += "extern \"\(abi)\" "
      }
    }
    out += "fn("
    var first = true
    while !eat("E") {
      if !first { out += ", " }
      first = false
      guard type() else { return false }
    }
    out += ")"
    if eat("u") { return true }
    out += " -> "
    return type()
  }

  private mutating func dynBounds() -> Bool {
    guard binder() else { return false }
    out += "dyn "
    var first = true
    while !eat("E") {
      if !first { out += " + " }
      first = false
      guard dynTrait() else { return false }
    }
    // The object lifetime bound.
    guard eat("L"), let lifetime = base62() else { return false }
    if lifetime != 0 { out += " + '_" }
    return true
  }

  /// A trait path with associated-type bindings: `Fn<(u32,), Output = u32>`.
  private mutating func dynTrait() -> Bool {
    guard let open = pathLeavingGenericsOpen() else { return false }
    var isOpen = open
    while eat("p") {
      out += isOpen ? ", " : "<"
      isOpen = true
      guard let length = decimal() else { return false }
      _ = eat("_")
      guard length <= s.count - pos else { return false }
      out += String(decoding: s[pos..<(pos + length)], as: UTF8.self) + " = "
      pos += length
      guard type() else { return false }
    }
    if isOpen { out += ">" }
    return true
  }

  /// Prints a path; for a generic one (`I`, maybe behind a backref) leaves the
  /// closing `>` off so bindings can follow. Returns whether `<` is open.
  private mutating func pathLeavingGenericsOpen() -> Bool? {
    guard depth < Self.maxDepth else { return nil }
    if eat("B") {
      let start = pos - 1
      guard let target = base62(), target < UInt64(start) else { return nil }
      let resume = pos
      pos = Int(target)
      depth += 1
      let result = pathLeavingGenericsOpen()
      depth -= 1
      pos = resume
      return result
    }
    if eat("I") {
      guard path(inValue: false) else { return nil }
      out += "<"
      var first = true
      while !eat("E") {
        if !first { out += ", " }
        first = false
        guard genericArg() else { return nil }
      }
      return true
    }
    return path(inValue: false) ? false : nil
  }

  mutating func const() -> Bool {
    nested { p in p.constBody() }
  }

  private mutating func constBody() -> Bool {
    if eat("p") {
      out += "_"
      return true
    }
    if eat("B") { return backref { p in p.const() } }
    guard let tag = next() else { return false }
    let negative = eat("n")
    var digits: [UInt8] = []
    while let c = next() {
      if c == UInt8(ascii: "_") { break }
      guard RustDemangler.isHexDigit(c) else { return false }
      digits.append(c)
    }
    guard let value = UInt64(String(decoding: digits.isEmpty ? [0x30] : digits, as: UTF8.self), radix: 16)
    else { return false }
    switch tag {
    case UInt8(ascii: "b"):
      guard value <= 1 else { return false }
      out += value == 1 ? "true" : "false"
    case UInt8(ascii: "c"):
      guard let scalar = Unicode.Scalar(UInt32(truncatingIfNeeded: value)), value <= 0x10FFFF else { return false }
      out += "'\(Character(scalar))'"
    case UInt8(ascii: "a"), UInt8(ascii: "s"), UInt8(ascii: "l"), UInt8(ascii: "x"), UInt8(ascii: "n"),
      UInt8(ascii: "i"):
      out += (negative ? "-" : "") + String(value)
    case UInt8(ascii: "h"), UInt8(ascii: "t"), UInt8(ascii: "m"), UInt8(ascii: "y"), UInt8(ascii: "o"),
      UInt8(ascii: "j"):
      guard !negative else { return false }
      out += String(value)
    default:
      return false
    }
    return true
  }
}

extension String {
  /// ABI names are mangled with `_` for `-` ("C_unwind" is "C-unwind").
  fileprivate func replacingUnderscores() -> String {
    String(map { $0 == "_" ? "-" : $0 })
  }
}
