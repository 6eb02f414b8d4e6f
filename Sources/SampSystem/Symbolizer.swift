import CLibdw
import Glibc

/// A native frame named from ELF symbols and DWARF.
public struct SymbolizedFrame: Hashable, Sendable {
  /// Demangled function name, nil when nothing names the address.
  public var symbol: String?
  /// The source file's base name ("demo.c"), from debug info.
  public var file: String?
  public var line: Int?
  /// The module's file name ("libc.so.6"), or "" when no mapping holds the address.
  public var module: String
  public var address: UInt64
  /// True for a function inlined into the frame below it.
  public var inlined: Bool

  public init(symbol: String?, file: String?, line: Int?, module: String, address: UInt64, inlined: Bool) {
    self.symbol = symbol
    self.file = file
    self.line = line
    self.module = module
    self.address = address
    self.inlined = inlined
  }
}

/// Names addresses of one process with libdw (Dwfl over /proc/PID/maps).
///
/// An address becomes one frame per function active there: the functions
/// inlined at that point (innermost first, `inlined: true`, each with the line
/// it is at) and then the function that holds the code. Results are cached per
/// address, in a bounded cache. Modules mapped later (dlopen) are found by
/// re-reading the maps when an address falls outside every known module.
public final class Symbolizer {
  public let pid: ProcessID
  private var dwfl: OpaquePointer?
  private var callbacks: UnsafeMutablePointer<Dwfl_Callbacks>
  private var cache: BoundedCache<CacheKey, [SymbolizedFrame]>
  private var compileUnits = CompileUnitFinder()
  /// The file mappings last reported to libdw. Re-reporting only when they
  /// changed keeps an address outside every module (JIT code, a garbage return
  /// address) from costing a refresh, and the heap growing from clearing the cache.
  private var reportedModules: [ModuleMapping] = []

  private struct ModuleMapping: Equatable {
    var start: UInt64
    var end: UInt64
    var path: String
  }
  public var cacheHits: Int { cache.hits }
  public var cacheMisses: Int { cache.misses }
  /// How many times the maps were re-reported after attach.
  public private(set) var refreshes = 0
  /// CPU time (ns) spent naming addresses in a module or compile unit met for
  /// the first time, or after re-reading the maps: libdw then loads that
  /// module's symbol table or that unit's DWARF and line table, which later
  /// addresses there reuse. A one-off cost, not the steady cost of a sample.
  public private(set) var loadingNanos: UInt64 = 0
  /// The (module, compile unit) pairs named so far.
  private var unitsSeen: Set<UnitKey> = []

  private struct UnitKey: Hashable {
    var module: UInt
    var unitOffset: UInt64
  }

  private struct CacheKey: Hashable {
    var address: UInt64
    var isReturnAddress: Bool
  }

  /// `cacheLimit` bounds the addresses remembered (about 200 bytes each).
  public init(pid: ProcessID, cacheLimit: Int = 100_000) throws(SystemError) {
    self.pid = pid
    cache = BoundedCache(limit: cacheLimit)
    callbacks = .allocate(capacity: 1)
    callbacks.initialize(to: Dwfl_Callbacks(
      find_elf: dwfl_linux_proc_find_elf,
      find_debuginfo: dwfl_standard_find_debuginfo,
      section_address: nil,
      debuginfo_path: nil))
    guard let handle = dwfl_begin(callbacks) else {
      callbacks.deallocate()
      throw .debugInfo(Self.lastError())
    }
    dwfl = handle
    reportedModules = currentModules() ?? []
    try report()
  }

  deinit {
    if let dwfl { dwfl_end(dwfl) }
    callbacks.deinitialize(count: 1)
    callbacks.deallocate()
  }

  /// (Re-)reports the process's modules. Modules reported again keep their
  /// loaded ELF and DWARF; modules no longer mapped are dropped.
  private func report() throws(SystemError) {
    guard let dwfl else { return }
    dwfl_report_begin(dwfl)
    let r = dwfl_linux_proc_report(dwfl, pid.rawValue)
    dwfl_report_end(dwfl, nil, nil)
    if r != 0 { throw .debugInfo(r > 0 ? String(cString: strerror(r)) : Self.lastError()) }
  }

  /// Re-reads the process's mappings (after dlopen or dlclose) if its mapped
  /// files changed, dropping cached names. Returns whether anything changed.
  @discardableResult
  public func refresh() -> Bool {
    guard let modules = currentModules(), modules != reportedModules else { return false }
    reportedModules = modules
    refreshes += 1
    cache.removeAll()
    compileUnits = CompileUnitFinder()
    unitsSeen.removeAll()
    try? report()
    return true
  }

  /// The mappings libdw makes modules of: files, and the vDSO.
  private func currentModules() -> [ModuleMapping]? {
    guard let maps = try? ProcFS.maps(of: pid) else { return nil }
    return maps.filter { $0.isFileBacked || $0.path == "[vdso]" }
      .map { ModuleMapping(start: $0.start, end: $0.end, path: $0.path) }
  }

  /// The frames at `address`, innermost (most inlined) first. For return
  /// addresses pass `isReturnAddress` so the call instruction is looked up.
  public func frames(at address: UInt64, isReturnAddress: Bool) -> [SymbolizedFrame] {
    let key = CacheKey(address: address, isReturnAddress: isReturnAddress)
    if let hit = cache[key] { return hit }
    let started = OwnCPUTime.now()
    let lookup = isReturnAddress && address > 0 ? address - 1 : address
    var firstInUnit = false
    var result = resolve(lookup, reported: address, firstInUnit: &firstInUnit)
    if result.first?.module == "", refresh() {
      firstInUnit = true  // the maps were re-read and re-reported
      result = resolve(lookup, reported: address, firstInUnit: &firstInUnit)
    }
    if firstInUnit { loadingNanos &+= OwnCPUTime.now() &- started }
    cache[key] = result
    return result
  }

  private func resolve(_ lookup: UInt64, reported: UInt64, firstInUnit: inout Bool) -> [SymbolizedFrame] {
    let unknown = [SymbolizedFrame(symbol: nil, file: nil, line: nil, module: "", address: reported, inlined: false)]
    guard let dwfl, let module = dwfl_addrmodule(dwfl, Dwarf_Addr(lookup)) else { return unknown }
    // libdw can answer with the last module for an address far above it (a
    // garbage return address): only trust a module that really spans it.
    var low: Dwarf_Addr = 0
    var high: Dwarf_Addr = 0
    guard let name = dwfl_module_info(module, nil, &low, &high, nil, nil, nil, nil),
      lookup >= low, lookup < high
    else { return unknown }
    let moduleName = Self.moduleName(String(cString: name))
    var elfSymbol: String?
    if let name = dwfl_module_addrname(module, GElf_Addr(lookup)) {
      elfSymbol = Demangler.demangle(Demangler.cleanELFName(String(cString: name)))
    }
    let unit = compileUnits.unit(in: module, containing: lookup)
    var unitOffset = UInt64.max  // no DWARF: the module's symbol table only
    if var die = unit?.die { unitOffset = dwarf_dieoffset(&die) }
    if unitsSeen.insert(UnitKey(module: UInt(bitPattern: module), unitOffset: unitOffset)).inserted {
      firstInUnit = true
    }
    let functions = unit?.functions(at: lookup) ?? []
    var location = unit?.location(of: lookup) ?? functions.first?.declaration
    var frames: [SymbolizedFrame] = []
    var outerName: String?
    for scope in functions {
      if scope.isInlined {
        frames.append(SymbolizedFrame(
          symbol: scope.name, file: location?.file, line: location?.line,
          module: moduleName, address: reported, inlined: true))
        location = scope.callSite
      } else {
        outerName = scope.name
        break
      }
    }
    // The holding function: its ELF symbol (the name the linker knows, e.g.
    // `clock_nanosleep` rather than DWARF's `__clock_nanosleep`), else DWARF's.
    frames.append(SymbolizedFrame(
      symbol: elfSymbol ?? outerName, file: location?.file, line: location?.line,
      module: moduleName, address: reported, inlined: false))
    return frames
  }

  /// The file name of a module; libdw names the vDSO "[vdso: PID]", which
  /// would make labels differ between runs.
  static func moduleName(_ path: String) -> String {
    path.hasPrefix("[vdso") ? "[vdso]" : baseName(path)
  }

  static func baseName(_ path: String) -> String {
    if let slash = path.lastIndex(of: "/") { return String(path[path.index(after: slash)...]) }
    return path
  }

  static func lastError() -> String {
    guard let message = dwfl_errmsg(-1) else { return "unknown libdw error" }
    return String(cString: message)
  }
}

/// A cache with a size bound: two generations, the older dropped when the
/// newer fills, so the addresses of a long run stay bounded in memory while
/// those still seen survive (a hit in the old generation moves to the new).
struct BoundedCache<Key: Hashable, Value> {
  private var current: [Key: Value] = [:]
  private var previous: [Key: Value] = [:]
  let limit: Int
  private(set) var hits = 0
  private(set) var misses = 0

  init(limit: Int) { self.limit = max(2, limit) }

  var count: Int { current.count + previous.count }

  subscript(key: Key) -> Value? {
    mutating get {
      if let value = current[key] {
        hits += 1
        return value
      }
      if let value = previous.removeValue(forKey: key) {
        hits += 1
        insert(key, value)
        return value
      }
      misses += 1
      return nil
    }
    set {
      if let newValue { insert(key, newValue) } else { current[key] = nil; previous[key] = nil }
    }
  }

  private mutating func insert(_ key: Key, _ value: Value) {
    if current.count >= limit / 2 {
      previous = current
      current = [:]
    }
    current[key] = value
  }

  mutating func removeAll() {
    current.removeAll()
    previous.removeAll()
  }
}
