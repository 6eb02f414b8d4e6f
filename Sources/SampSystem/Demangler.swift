import CSampShims
import Glibc

/// Demangling of C++ (and legacy Rust, which uses the Itanium scheme) and Swift symbols.
public enum Demangler {
  public static func demangle(_ symbol: String) -> String {
    if symbol.hasPrefix("$s") || symbol.hasPrefix("_$s") || symbol.hasPrefix("$S") || symbol.hasPrefix("_T0") {
      if let s = call(sampswift_demangle_swift, symbol) { return s }
    }
    if symbol.hasPrefix("_Z") {
      if let s = call(sampswift_demangle_cxx, symbol) { return stripRustHash(s) }
    }
    return symbol
  }

  /// Legacy Rust symbols end in a hash segment ("::h0123456789abcdef"): drop it.
  static func stripRustHash(_ s: String) -> String {
    let chars = Array(s.utf8)
    guard chars.count > 19 else { return s }
    let start = chars.count - 19
    guard chars[start] == UInt8(ascii: ":"), chars[start + 1] == UInt8(ascii: ":"),
      chars[start + 2] == UInt8(ascii: "h"),
      chars[(start + 3)...].allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) })
    else { return s }
    return String(decoding: chars[..<start], as: UTF8.self)
  }

  private static func call(_ fn: (UnsafePointer<CChar>?) -> UnsafeMutablePointer<CChar>?, _ symbol: String) -> String? {
    guard let result = symbol.withCString({ fn($0) }) else { return nil }
    defer { free(result) }
    return String(cString: result)
  }
}
