import CLibdw
import Glibc

/// A native frame named from ELF symbols and DWARF.
public struct SymbolizedFrame: Hashable, Sendable {
  /// Demangled function name, nil when nothing names the address.
  public var symbol: String?
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
/// Results are cached per address; modules mapped later (dlopen) are found by
/// re-reporting the maps when an address falls outside every known module.
public final class Symbolizer {
  public let pid: ProcessID
  private var dwfl: OpaquePointer?
  private var callbacks: UnsafeMutablePointer<Dwfl_Callbacks>
  private var debugInfoPath: UnsafeMutablePointer<CChar>?
  private var cache: [UInt64: [SymbolizedFrame]] = [:]
  private var lastRefreshMisses = 0
  public private(set) var cacheHits = 0
  public private(set) var cacheMisses = 0

  public init(pid: ProcessID) throws(SystemError) {
    self.pid = pid
    callbacks = .allocate(capacity: 1)
    debugInfoPath = nil
    callbacks.initialize(to: Dwfl_Callbacks(
      find_elf: dwfl_linux_proc_find_elf,
      find_debuginfo: dwfl_standard_find_debuginfo,
      section_address: nil,
      debuginfo_path: nil))
    try report()
  }

  deinit {
    if let dwfl { dwfl_end(dwfl) }
    callbacks.deinitialize(count: 1)
    callbacks.deallocate()
  }

  private func report() throws(SystemError) {
    if let dwfl { dwfl_end(dwfl) }
    guard let handle = dwfl_begin(callbacks) else { throw .debugInfo(Self.lastError()) }
    dwfl = handle
    dwfl_report_begin(handle)
    let r = dwfl_linux_proc_report(handle, pid.rawValue)
    dwfl_report_end(handle, nil, nil)
    if r != 0 { throw .debugInfo(r > 0 ? String(cString: strerror(r)) : Self.lastError()) }
  }

  /// Re-reads the process's mappings (after dlopen) and drops cached names.
  public func refresh() {
    cache.removeAll(keepingCapacity: true)
    try? report()
  }

  /// The frames at `address`, innermost (most inlined) first. For return
  /// addresses pass `isReturnAddress` so the call instruction is looked up.
  public func frames(at address: UInt64, isReturnAddress: Bool) -> [SymbolizedFrame] {
    let lookup = isReturnAddress && address > 0 ? address - 1 : address
    if let hit = cache[lookup] {
      cacheHits += 1
      return hit
    }
    cacheMisses += 1
    var result = resolve(lookup, reported: address)
    if result.first?.module == "" {
      refresh()
      result = resolve(lookup, reported: address)
    }
    cache[lookup] = result
    return result
  }

  private func resolve(_ lookup: UInt64, reported: UInt64) -> [SymbolizedFrame] {
    guard let dwfl, let module = dwfl_addrmodule(dwfl, Dwarf_Addr(lookup)) else {
      return [SymbolizedFrame(symbol: nil, file: nil, line: nil, module: "", address: reported, inlined: false)]
    }
    var moduleName = ""
    if let name = dwfl_module_info(module, nil, nil, nil, nil, nil, nil, nil) {
      moduleName = Self.baseName(String(cString: name))
    }
    var symbol: String?
    if let name = dwfl_module_addrname(module, GElf_Addr(lookup)) {
      symbol = Demangler.demangle(String(cString: name))
    }
    var file: String?
    var line: Int?
    if let source = dwfl_module_getsrc(module, Dwarf_Addr(lookup)) {
      var lineNumber: Int32 = 0
      if let path = dwfl_lineinfo(source, nil, &lineNumber, nil, nil, nil) {
        file = Self.baseName(String(cString: path))
        line = Int(lineNumber)
      }
    }
    return [SymbolizedFrame(symbol: symbol, file: file, line: line, module: moduleName, address: reported, inlined: false)]
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
