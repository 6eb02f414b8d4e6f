import CSampShims
import Glibc

/// Readable names for linker symbols: C++ (Itanium, `__cxa_demangle`), Swift
/// (the runtime's simplified form, e.g. `Worker.run(count:)`), Rust legacy and
/// Rust v0 (see RustDemangler). Anything else, or anything that fails to
/// demangle, is returned unchanged.
public enum Demangler {
  public static func demangle(_ symbol: String) -> String {
    if isSwift(symbol) {
      if let s = call(sampswift_demangle_swift_simplified, symbol) ?? call(sampswift_demangle_swift, symbol) {
        return s
      }
      return symbol
    }
    if symbol.hasPrefix("_R") {
      return RustDemangler.demangleV0(symbol) ?? symbol
    }
    if symbol.hasPrefix("_Z") {
      // Legacy Rust uses the Itanium `_ZN...E` shape with its own escapes and a hash.
      if let rust = RustDemangler.demangleLegacy(symbol) { return rust }
      return call(sampswift_demangle_cxx, symbol) ?? symbol
    }
    return symbol
  }

  /// An ELF symbol as a person knows it: the version suffix dropped
  /// (`__libc_start_main@@GLIBC_2.34` -> `__libc_start_main`) and compiler
  /// clone suffixes dropped (`work.constprop.0`, `f.cold`, `_ZN...E.llvm.123`),
  /// so a function's clones and parts count as the function.
  public static func cleanELFName(_ name: String) -> String {
    var name = Substring(name)
    if let at = name.firstIndex(of: "@"), at != name.startIndex { name = name[..<at] }
    var search = name.startIndex
    while let dot = name[search...].firstIndex(of: ".") {
      if dot != name.startIndex, isCloneSuffix(name[name.index(after: dot)...]) {
        return String(name[..<dot])
      }
      search = name.index(after: dot)
    }
    return String(name)
  }

  /// Suffixes GCC and LLVM add to copies of a function: one known kind, then
  /// more kinds or numbers (".constprop.0.isra.0", ".cold", ".llvm.12345").
  private static let cloneKinds: Set<Substring> = [
    "constprop", "isra", "part", "cold", "lto_priv", "localalias", "llvm", "clone",
  ]
  private static func isCloneSuffix(_ rest: Substring) -> Bool {
    let parts = rest.split(separator: ".", omittingEmptySubsequences: false)
    guard let first = parts.first, cloneKinds.contains(first) else { return false }
    return parts.dropFirst().allSatisfy { part in
      cloneKinds.contains(part) || (!part.isEmpty && part.allSatisfy { $0.isASCII && $0.isNumber })
    }
  }

  static func isSwift(_ symbol: String) -> Bool {
    for prefix in ["$s", "_$s", "$S", "_$S", "$e", "_$e", "_T0"] where symbol.hasPrefix(prefix) { return true }
    return false
  }

  private static func call(_ fn: (UnsafePointer<CChar>?) -> UnsafeMutablePointer<CChar>?, _ symbol: String) -> String? {
    guard let result = symbol.withCString({ fn($0) }) else { return nil }
    defer { free(result) }
    return String(cString: result)
  }
}
