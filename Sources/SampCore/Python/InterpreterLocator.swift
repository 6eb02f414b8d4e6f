import SampSystem

/// Where a CPython interpreter's state lives in a target, and how to read it.
public struct PythonInterpreterInfo: Sendable {
  public var version: PythonVersion
  /// Where the version came from ("_Py_DebugOffsets", "Py_Version", "sys.version in memory").
  public var versionSource: String
  public var layout: PythonLayout
  /// The executable or library that holds the runtime state.
  public var binaryPath: String
  public var loadBias: UInt64
  /// `_PyRuntime` (3.7+), nil before.
  public var runtime: RemoteAddress?
  /// The address of the pointer to the first interpreter: `_PyRuntime.interpreters.head`
  /// or, before 3.7, the `interp_head` global.
  public var interpreterHead: RemoteAddress
  /// Before 3.7: `_PyThreadState_Current`, the thread state holding the GIL (NULL if none).
  public var tstateCurrent: RemoteAddress?
  /// `PyCode_Type`: a frame's code pointer is trusted only if its ob_type is this.
  public var codeType: RemoteAddress?
  /// Things worth one line on stderr (debug-offset mismatches, a file name that disagrees).
  public var warnings: [String]

  /// "3.12.1 (libpython3.12.so.1.0)".
  public var summary: String {
    let file = binaryPath.split(separator: "/").last.map(String.init) ?? binaryPath
    return "\(version) (\(file))"
  }
}

/// Finds the interpreter in a process: the executable or a mapped libpython that
/// defines `_PyRuntime` (or `.PyRuntime`, or `interp_head` before 3.7), the load
/// bias, the version read from the target, and the layout for that version
/// (for 3.13+ checked against, and overridden by, the target's `_Py_DebugOffsets`).
public enum InterpreterLocator {
  /// nil when the process has no CPython interpreter; throws when it has one this
  /// profiler cannot read (an unknown version).
  public static func locate(pid: ProcessID, memory: RemoteMemory) throws(SampError) -> PythonInterpreterInfo? {
    var rejected: Set<String> = []
    guard case .found(let info) = try look(pid: pid, memory: memory, starting: false, rejected: &rejected) else {
      return nil
    }
    return info
  }

  /// What one look found.
  public enum Look: Sendable {
    case found(PythonInterpreterInfo)
    /// A file that defines the interpreter is mapped but cannot be read yet
    /// (ld.so still mapping it, or, while `starting`, a version that the
    /// interpreter has not written yet): look again.
    case notYet
    /// No mapped file defines an interpreter (yet: one may be loaded later).
    case absent
  }

  /// A look for the interpreter in a program that may still be starting
  /// (`starting`: a version not readable yet is `notYet`, not an error).
  /// `rejected` keeps the files found to define no interpreter, which are not
  /// opened again by later looks at the same program.
  public static func look(pid: ProcessID, memory: RemoteMemory, starting: Bool, rejected: inout Set<String>)
    throws(SampError) -> Look
  {
    guard let maps = try? ProcFS.maps(of: pid) else { return .absent }
    let exe = ProcFS.executablePath(of: pid)
    var outcome = Look.absent
    for path in candidates(maps: maps, executable: exe) where !rejected.contains(path) {
      guard let elf = openElf(path, pid: pid) else { continue }
      switch try locate(in: elf, path: path, maps: maps, memory: memory, starting: starting) {
      case .found(let info): return .found(info)
      case .notYet: outcome = .notYet
      case .absent: rejected.insert(path)
      }
    }
    return outcome
  }

  /// The executable first (static builds such as Debian's /usr/bin/python3.X),
  /// then every mapped libpython (pyenv's --enable-shared builds, embedders).
  static func candidates(maps: [MemoryMapping], executable: String?) -> [String] {
    var out: [String] = []
    if let executable { out.append(executable) }
    for m in maps where m.isFileBacked && m.moduleName.hasPrefix("libpython") && !out.contains(m.path) {
      out.append(m.path)
    }
    return out
  }

  /// Opens the file by its path, else through the target's root (containers).
  static func openElf(_ path: String, pid: ProcessID) -> ElfFile? {
    for candidate in [path, "/proc/\(pid.rawValue)/root\(path)"] {
      if let elf = try? ElfFile(path: candidate) { return elf }
    }
    return nil
  }

  static let symbolNames: Set<String> = [
    "_PyRuntime", "interp_head", "_PyThreadState_Current", "Py_Version", "PyCode_Type",
  ]

  static func locate(in elf: ElfFile, path: String, maps: [MemoryMapping], memory: RemoteMemory,
                     starting: Bool = false) throws(SampError) -> Look {
    guard let symbols = try? elf.symbols(named: symbolNames) else { return .absent }
    let runtimeSection = elf.section(named: ".PyRuntime")
    guard symbols["_PyRuntime"] != nil || runtimeSection != nil || symbols["interp_head"] != nil else { return .absent }
    guard let bias = loadBias(elf, path: path, maps: maps) else { return .notYet }
    func address(_ name: String) -> RemoteAddress? { symbols[name].map { RemoteAddress($0.value &+ bias) } }
    // The section address, never its file offset (reference §1.2).
    let runtime = address("_PyRuntime") ?? runtimeSection.map { RemoteAddress($0.address &+ bias) }

    var warnings: [String] = []
    let debugOffsetsBytes = runtime.flatMap { try? memory.read(at: $0, count: 1024) }
      ?? runtime.flatMap { try? memory.read(at: $0, count: 24) }
    guard let (version, source) = readVersion(elf: elf, bias: bias, runtime: runtime, debugOffsets: debugOffsetsBytes,
                                              pyVersion: address("Py_Version"), memory: memory)
    else {
      // Before 3.11 the version is only in memory once the interpreter has written it.
      if starting { return .notYet }
      throw .unsupportedPython(version: "unknown", reason: "cannot read the interpreter version from \(path)")
    }
    let fileName = path.split(separator: "/").last.map(String.init) ?? path
    if let named = PythonVersion.fromFileName(fileName), named.major != version.major || named.minor != version.minor {
      warnings.append("\(fileName) is named for Python \(named.major).\(named.minor) but reports \(version)")
    }

    guard var layout = PythonLayout.forVersion(major: version.major, minor: version.minor) else {
      throw .unsupportedPython(version: version.description, reason: "no memory layout is known for Python \(version.major).\(version.minor)")
    }
    if layout.runtimeDebugOffsets != nil || source == debugOffsetsSource, let bytes = debugOffsetsBytes {
      let base = layout.runtimeDebugOffsets ?? 0
      do {
        var copy = Array(bytes.dropFirst(base))
        let needed = try DebugOffsets.byteCount(header: copy)
        if copy.count < needed, let runtime, let more = try? memory.read(at: runtime + base, count: needed) { copy = more }
        let table = try DebugOffsets.parse(copy)
        let (applied, mismatches) = table.apply(to: layout)
        layout = applied
        if !mismatches.isEmpty {
          warnings.append("the target's _Py_DebugOffsets differ from the built-in table (\(mismatches.joined(separator: ", "))); using the target's")
        }
      } catch .unsupportedBuild(let why) {
        throw .unsupportedPython(version: version.description, reason: why)
      } catch {
        warnings.append("cannot use the target's _Py_DebugOffsets (\(error)); using the built-in table")
      }
    }

    let head: RemoteAddress
    var tstateCurrent: RemoteAddress?
    if let offset = layout.runtimeInterpretersHead, let runtime {
      head = runtime + offset
    } else {
      // Before 3.7 the list head and the GIL holder are plain globals.
      let names = Set([layout.interpHeadSymbol ?? "interp_head", layout.tstateCurrentSymbol ?? "_PyThreadState_Current"])
      let found = (try? elf.symbols(named: names)) ?? [:]
      guard let headSymbol = found[layout.interpHeadSymbol ?? "interp_head"] else {
        throw .unsupportedPython(version: version.description, reason: "\(fileName) has no interp_head symbol (stripped?)")
      }
      head = RemoteAddress(headSymbol.value &+ bias)
      tstateCurrent = found[layout.tstateCurrentSymbol ?? "_PyThreadState_Current"].map { RemoteAddress($0.value &+ bias) }
    }
    return .found(PythonInterpreterInfo(
      version: version, versionSource: source, layout: layout, binaryPath: path, loadBias: bias,
      runtime: runtime, interpreterHead: head, tstateCurrent: tstateCurrent, codeType: address("PyCode_Type"),
      warnings: warnings))
  }

  /// ET_EXEC: 0. ET_DYN: where the first PT_LOAD is mapped minus its page-aligned vaddr.
  static func loadBias(_ elf: ElfFile, path: String, maps: [MemoryMapping]) -> UInt64? {
    if elf.fileType == .executable { return 0 }
    guard let load = elf.firstLoad else { return nil }
    let pageOffset = load.offset & ~0xfff
    guard let mapping = maps.first(where: { sameFile($0.path, path) && $0.fileOffset == pageOffset }) else { return nil }
    return mapping.start &- (load.vaddr & ~0xfff)
  }

  /// maps shows " (deleted)" after a replaced file.
  static func sameFile(_ mapped: String, _ path: String) -> Bool {
    mapped == path || mapped == path + " (deleted)"
  }

  static let debugOffsetsSource = "_Py_DebugOffsets"

  /// Read from the target, most authoritative first: the debug-offsets table
  /// (3.13+), `Py_Version` (3.11+), else `sys.version` in the binary's data.
  static func readVersion(elf: ElfFile, bias: UInt64, runtime: RemoteAddress?, debugOffsets: [UInt8]?,
                          pyVersion: RemoteAddress?, memory: RemoteMemory) -> (PythonVersion, String)? {
    if let bytes = debugOffsets, bytes.count >= 24, Array(bytes[0..<8]) == Array("xdebugpy".utf8),
      let v = PythonVersion(hex: ByteView(bytes).u64(at: 8))
    {
      return (v, debugOffsetsSource)
    }
    if let pyVersion, let hex = try? memory.readUInt64(at: pyVersion), let v = PythonVersion(hex: hex & 0xffff_ffff) {
      return (v, "Py_Version")
    }
    if let v = scanWritableData(elf: elf, bias: bias, memory: memory) {
      return (v, "sys.version in memory")
    }
    return nil
  }

  /// `sys.version` is formatted at startup into a static buffer (.bss) of the
  /// binary; scan its writable segments in the target, page-sized chunks so an
  /// unreadable page only skips itself.
  static func scanWritableData(elf: ElfFile, bias: UInt64, memory: RemoteMemory) -> PythonVersion? {
    let chunk = 64 * 1024
    let overlap = 64
    var budget = 64 << 20
    for ph in elf.programHeaders where ph.isLoad && ph.isWritable {
      var address = (ph.vaddr &+ bias) & ~0xfff
      let end = ph.vaddr &+ bias &+ ph.memorySize
      while address < end, budget > 0 {
        let count = Int(min(UInt64(chunk + overlap), end &- address))
        if let bytes = try? memory.read(at: RemoteAddress(address), count: count), let v = PythonVersion.scan(bytes) {
          return v
        }
        budget -= count
        address &+= UInt64(chunk)
      }
    }
    return nil
  }
}
