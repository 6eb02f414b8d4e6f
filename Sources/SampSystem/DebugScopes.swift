import CLibdw
import Glibc

struct SourceLocation: Hashable {
  var file: String
  var line: Int
}

/// One DWARF compile unit and the bias between its addresses and the process's.
struct CompileUnit {
  var die: Dwarf_Die
  var bias: Dwarf_Addr

  /// The source line of the instruction at `address`, from the line table.
  func location(of address: UInt64) -> SourceLocation? {
    var cu = die
    guard let line = dwarf_getsrc_die(&cu, Dwarf_Addr(address) &- bias) else { return nil }
    var number: Int32 = 0
    guard dwarf_lineno(line, &number) == 0, number > 0, let path = dwarf_linesrc(line, nil, nil) else { return nil }
    return SourceLocation(file: Symbolizer.baseName(String(cString: path)), line: Int(number))
  }

  /// The functions whose code covers `address`, innermost first: inlined
  /// subroutines (each with the call site in its caller), then the subprogram.
  func functions(at address: UInt64) -> [DebugFunction] {
    var cu = die
    var scopes: UnsafeMutablePointer<Dwarf_Die>?
    let n = dwarf_getscopes(&cu, Dwarf_Addr(address) &- bias, &scopes)
    guard n > 0, let scopes else { return [] }
    // dwarf_getscopes may mix in scopes of abstract definitions; the physical
    // nesting comes from the innermost DIE's parents (as eu-addr2line -i does).
    var innermost = scopes[0]
    free(scopes)
    var chain: UnsafeMutablePointer<Dwarf_Die>?
    let count = dwarf_getscopes_die(&innermost, &chain)
    guard count > 0, let chain else { return [] }
    defer { free(chain) }
    var files: OpaquePointer?
    var fileCount = 0
    if dwarf_getsrcfiles(&cu, &files, &fileCount) != 0 { files = nil }
    var functions: [DebugFunction] = []
    for i in 0..<Int(count) {
      let scope = chain + i
      switch Int(dwarf_tag(scope)) {
      case DW_TAG_inlined_subroutine:
        functions.append(DebugFunction(
          name: Self.name(scope), isInlined: true, callSite: Self.callSite(scope, files, fileCount),
          declaration: Self.declaration(scope)))
      case DW_TAG_subprogram:
        functions.append(DebugFunction(
          name: Self.name(scope), isInlined: false, callSite: nil, declaration: Self.declaration(scope)))
        return functions
      default:
        continue
      }
    }
    return functions
  }

  /// The linkage name demangled, else the plain name; both may live on the
  /// abstract origin or the declaration (dwarf_attr_integrate follows them).
  private static func name(_ die: UnsafeMutablePointer<Dwarf_Die>) -> String? {
    var attribute = Dwarf_Attribute()
    for kind in [DW_AT_linkage_name, DW_AT_MIPS_linkage_name] {
      if dwarf_attr_integrate(die, UInt32(kind), &attribute) != nil, let s = dwarf_formstring(&attribute) {
        return Demangler.demangle(String(cString: s))
      }
    }
    if dwarf_attr_integrate(die, UInt32(DW_AT_name), &attribute) != nil, let s = dwarf_formstring(&attribute) {
      return String(cString: s)
    }
    return nil
  }

  /// Where the function is declared (through its abstract origin).
  private static func declaration(_ die: UnsafeMutablePointer<Dwarf_Die>) -> SourceLocation? {
    var line: Int32 = 0
    guard let path = dwarf_decl_file(die), dwarf_decl_line(die, &line) == 0, line > 0 else { return nil }
    return SourceLocation(file: Symbolizer.baseName(String(cString: path)), line: Int(line))
  }

  private static func callSite(_ die: UnsafeMutablePointer<Dwarf_Die>, _ files: OpaquePointer?, _ fileCount: Int) -> SourceLocation? {
    var attribute = Dwarf_Attribute()
    var fileIndex: Dwarf_Word = 0
    var line: Dwarf_Word = 0
    guard let files,
      dwarf_formudata(dwarf_attr(die, UInt32(DW_AT_call_file), &attribute), &fileIndex) == 0,
      fileIndex < fileCount,
      dwarf_formudata(dwarf_attr(die, UInt32(DW_AT_call_line), &attribute), &line) == 0,
      line > 0, line < Int32.max,
      let path = dwarf_filesrc(files, Int(fileIndex), nil, nil)
    else { return nil }
    return SourceLocation(file: Symbolizer.baseName(String(cString: path)), line: Int(line))
  }
}

struct DebugFunction {
  var name: String?
  var isInlined: Bool
  /// For an inlined function: where its caller calls it.
  var callSite: SourceLocation?
  /// The function's own first line: stands in where the line table says
  /// "line 0" (code the compiler made up, common in Swift).
  var declaration: SourceLocation?
}

/// Finds the compile unit holding an address. libdw (before 0.191) finds it only
/// through .debug_aranges, which clang, swiftc and rustc do not emit; for such
/// modules the units' own address ranges are indexed once, on first need.
struct CompileUnitFinder {
  private var indexes: [OpaquePointer: CompileUnitRanges] = [:]

  mutating func unit(in module: OpaquePointer, containing address: UInt64) -> CompileUnit? {
    var bias: Dwarf_Addr = 0
    if let die = dwfl_module_addrdie(module, Dwarf_Addr(address), &bias) {
      return CompileUnit(die: die.pointee, bias: bias)
    }
    if indexes[module] == nil { indexes[module] = CompileUnitRanges(module) }
    return indexes[module]?.unit(containing: address)
  }
}

/// A module's compile units sorted by address range (module addresses, unbiased).
struct CompileUnitRanges {
  private struct Range {
    var low: Dwarf_Addr
    var high: Dwarf_Addr
    var unit: Int
  }
  private var ranges: [Range] = []
  private var units: [Dwarf_Die] = []
  private var bias: Dwarf_Addr = 0
  /// Bounds the work on a module with garbage or enormous DWARF.
  static let maxRanges = 1_000_000

  init(_ module: OpaquePointer) {
    var previous: UnsafeMutablePointer<Dwarf_Die>?
    while ranges.count < Self.maxRanges, let cu = dwfl_module_nextcu(module, previous, &bias) {
      previous = cu
      units.append(cu.pointee)
      var offset = 0
      var base: Dwarf_Addr = 0
      var start: Dwarf_Addr = 0
      var end: Dwarf_Addr = 0
      while ranges.count < Self.maxRanges {
        offset = dwarf_ranges(cu, offset, &base, &start, &end)
        if offset <= 0 { break }
        if start < end { ranges.append(Range(low: start, high: end, unit: units.count - 1)) }
      }
    }
    ranges.sort { $0.low < $1.low }
  }

  func unit(containing address: UInt64) -> CompileUnit? {
    let pc = Dwarf_Addr(address) &- bias
    // The last range starting at or below pc; ranges rarely overlap, so a
    // short look further back covers units nested inside another's range.
    var lo = 0
    var hi = ranges.count
    while lo < hi {
      let mid = (lo + hi) / 2
      if ranges[mid].low <= pc { lo = mid + 1 } else { hi = mid }
    }
    var i = lo - 1
    var looked = 0
    while i >= 0, looked < 8 {
      if pc < ranges[i].high { return CompileUnit(die: units[ranges[i].unit], bias: bias) }
      i -= 1
      looked += 1
    }
    return nil
  }
}
