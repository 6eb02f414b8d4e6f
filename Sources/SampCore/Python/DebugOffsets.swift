/// The `_Py_DebugOffsets` table that CPython 3.13+ keeps at the start of
/// `_PyRuntime` (cookie "xdebugpy"): the target's own offsets, filled in by its
/// compiler. Parsed from a byte copy, checked, then laid over the generated
/// table for that minor version; disagreements are reported, not hidden.
///
/// Reading it from a target takes two steps: copy `headerSize` bytes and ask
/// `byteCount(header:)` how many bytes the whole table has, then copy those and
/// call `parse`.
public struct DebugOffsets: Sendable {
  public let version: (major: Int, minor: Int, micro: Int, hex: UInt64)
  /// Every field by its CPython name, e.g. "thread_state.current_frame".
  public let fields: [String: UInt64]

  /// cookie, version, free_threaded.
  public static let headerSize = 24

  /// Size of the whole table for the version named in `header`.
  public static func byteCount(header: [UInt8]) throws(PythonReadError) -> Int {
    try schema(forHeader: header).count * 8
  }

  public static func parse(_ bytes: [UInt8]) throws(PythonReadError) -> DebugOffsets {
    let names = try schema(forHeader: bytes)
    guard bytes.count >= names.count * 8 else {
      throw .badSize(what: "_Py_DebugOffsets copy (bytes)", value: bytes.count)
    }
    var fields: [String: UInt64] = [:]
    for (index, name) in names.enumerated() where index > 0 {  // 0 is the cookie
      fields[name] = load64(bytes, index * 8)
    }
    let hex = load64(bytes, 8)
    let offsets = DebugOffsets(
      version: (Int(hex >> 24 & 0xff), Int(hex >> 16 & 0xff), Int(hex >> 8 & 0xff), hex), fields: fields)
    switch fields["free_threaded"] {
    case 0: break
    case 1: throw .unsupportedBuild("free-threaded (no GIL) CPython \(offsets.versionString)")
    default: throw .corruptData("_Py_DebugOffsets.free_threaded is \(fields["free_threaded"] ?? 0)")
    }
    try offsets.checkSizes()
    return offsets
  }

  public var versionString: String { "\(version.major).\(version.minor).\(version.micro)" }

  /// A field as an offset, nil when absent or beyond any plausible struct.
  public func offset(_ name: String) -> Int? {
    guard let raw = fields[name], raw <= Self.maxStructSize else { return nil }
    return Int(raw)
  }

  /// The generated layout for this version with the target's values laid over it.
  public func layout() throws(PythonReadError) -> (PythonLayout, mismatches: [String]) {
    guard let base = PythonLayout.forVersion(major: version.major, minor: version.minor) else {
      throw .unsupportedVersion(major: version.major, minor: version.minor)
    }
    return apply(to: base)
  }

  /// `base` with every field the table carries replaced by the target's value,
  /// and one line per field where the two disagreed.
  public func apply(to base: PythonLayout) -> (PythonLayout, mismatches: [String]) {
    var layout = base
    var mismatches: [String] = []
    if base.major != version.major || base.minor != version.minor {
      mismatches.append("layout for \(base.versionString) applied to CPython \(versionString)")
    }
    func overlay(_ name: String, _ path: WritableKeyPath<PythonLayout, Int>, adjust: Int = 0) {
      guard let value = offset(name).map({ $0 - adjust }) else { return }
      if layout[keyPath: path] != value {
        mismatches.append("\(name): table \(layout[keyPath: path]), target \(value)")
        layout[keyPath: path] = value
      }
    }
    func overlay(_ name: String, _ path: WritableKeyPath<PythonLayout, Int?>) {
      guard let value = offset(name) else { return }
      if layout[keyPath: path] != value {
        mismatches.append("\(name): table \(layout[keyPath: path].map(String.init) ?? "none"), target \(value)")
        layout[keyPath: path] = value
      }
    }
    overlay("runtime_state.interpreters_head", \.runtimeInterpretersHead)
    overlay("interpreter_state.next", \.interpNext)
    overlay("interpreter_state.threads_head", \.interpThreadsHead)
    overlay("interpreter_state.ceval_gil", \.interpGILPointer)
    // The table gives the GIL fields relative to the interpreter (inside its own
    // _gil); the layout wants them relative to struct _gil_runtime_state.
    if let gil = offset("interpreter_state.gil_runtime_state") {
      overlay("interpreter_state.gil_runtime_state_locked", \.gilLocked, adjust: gil)
      overlay("interpreter_state.gil_runtime_state_holder", \.gilLastHolder, adjust: gil)
    }
    overlay("thread_state.next", \.tstateNext)
    overlay("thread_state.interp", \.tstateInterp)
    overlay("thread_state.current_frame", \.tstateCurrentFrame)
    overlay("thread_state.thread_id", \.tstateThreadID)
    overlay("thread_state.native_thread_id", \.tstateNativeThreadID)
    overlay("thread_state.datastack_chunk", \.tstateDatastackChunk)
    overlay("thread_state.status", \.tstateStatus)
    overlay("interpreter_frame.previous", \.framePrevious)
    overlay("interpreter_frame.executable", \.frameCode)
    overlay("interpreter_frame.instr_ptr", \.frameInstrPtr)
    overlay("interpreter_frame.owner", \.frameOwner)
    overlay("code_object.filename", \.codeFilename)
    overlay("code_object.name", \.codeName)
    overlay("code_object.qualname", \.codeQualname)
    overlay("code_object.linetable", \.codeLineTable)
    overlay("code_object.firstlineno", \.codeFirstLineNo)
    overlay("code_object.co_code_adaptive", \.codeCodeAdaptive)
    overlay("pyobject.ob_type", \.objectType)
    overlay("type_object.tp_name", \.typeName)
    overlay("bytes_object.ob_size", \.varSize)
    overlay("bytes_object.ob_sval", \.bytesData)
    overlay("unicode_object.state", \.unicodeState)
    overlay("unicode_object.length", \.unicodeLength)
    // The table has sizeof(PyASCIIObject) but not sizeof(PyCompactUnicodeObject):
    // the compact and legacy data offsets follow it at the same distance.
    let asciiBefore = layout.unicodeASCIIData
    overlay("unicode_object.asciiobject_size", \.unicodeASCIIData)
    layout.unicodeCompactData += layout.unicodeASCIIData - asciiBefore
    layout.unicodeLegacyData += layout.unicodeASCIIData - asciiBefore
    return (layout, mismatches)
  }

  // MARK: checks

  /// No struct CPython has is anywhere near this; bigger values are garbage.
  static let maxStructSize: UInt64 = 16 << 20

  /// Each struct the walker reads must have a plausible size that holds the
  /// fields read from it (CPython's own reader checks the same).
  private func checkSizes() throws(PythonReadError) {
    let reads: [(String, [(String, Int)])] = [
      ("runtime_state", [("interpreters_head", 8)]),
      ("interpreter_state", [("next", 8), ("threads_head", 8), ("ceval_gil", 8),
                             ("gil_runtime_state_locked", 4), ("gil_runtime_state_holder", 8)]),
      ("thread_state", [("next", 8), ("interp", 8), ("current_frame", 8), ("thread_id", 8),
                        ("native_thread_id", 8), ("datastack_chunk", 8), ("status", 4)]),
      ("interpreter_frame", [("previous", 8), ("executable", 8), ("instr_ptr", 8), ("owner", 1)]),
      ("code_object", [("filename", 8), ("name", 8), ("qualname", 8), ("linetable", 8),
                       ("firstlineno", 4), ("co_code_adaptive", 0)]),
      ("pyobject", [("ob_type", 8)]),
      ("type_object", [("tp_name", 8)]),
      ("bytes_object", [("ob_size", 8), ("ob_sval", 0)]),
      ("unicode_object", [("state", 4), ("length", 8), ("asciiobject_size", 0)]),
    ]
    for (structName, members) in reads {
      let sizeName = structName + ".size"
      guard let size = offset(sizeName), size > 0 else {
        throw .badSize(what: "_Py_DebugOffsets." + sizeName, value: Int(truncatingIfNeeded: fields[sizeName] ?? 0))
      }
      for (member, width) in members {
        let name = structName + "." + member
        guard let at = offset(name), at + width <= size else {
          throw .badSize(what: "_Py_DebugOffsets." + name, value: Int(truncatingIfNeeded: fields[name] ?? 0))
        }
      }
    }
  }

  // MARK: table layouts

  /// Field names in table order for the version in `header`; every field is a
  /// uint64 except the 8-byte cookie, so field i sits at byte 8 * i.
  private static func schema(forHeader header: [UInt8]) throws(PythonReadError) -> [String] {
    guard header.count >= headerSize else { throw .badSize(what: "_Py_DebugOffsets copy (bytes)", value: header.count) }
    guard Array(header[0..<8]) == Array("xdebugpy".utf8) else { throw .badCookie(Array(header[0..<8])) }
    let hex = load64(header, 8)
    let major = Int(hex >> 24 & 0xff)
    let minor = Int(hex >> 16 & 0xff)
    switch (major, minor) {
    case (3, 13): return layout313
    case (3, 14): return layout314
    default: throw .unsupportedVersion(major: major, minor: minor)
    }
  }

  private static func group(_ name: String, _ members: [String]) -> [String] {
    members.map { name + "." + $0 }
  }

  /// Include/internal/pycore_runtime.h of 3.13 (584 bytes).
  static let layout313: [String] =
    ["cookie", "version", "free_threaded"]
    + group("runtime_state", ["size", "finalizing", "interpreters_head"])
    + group("interpreter_state", [
      "size", "id", "next", "threads_head", "gc", "imports_modules", "sysdict", "builtins",
      "ceval_gil", "gil_runtime_state", "gil_runtime_state_enabled", "gil_runtime_state_locked",
      "gil_runtime_state_holder",
    ])
    + group("thread_state", [
      "size", "prev", "next", "interp", "current_frame", "thread_id", "native_thread_id",
      "datastack_chunk", "status",
    ])
    + group("interpreter_frame", ["size", "previous", "executable", "instr_ptr", "localsplus", "owner"])
    + group("code_object", [
      "size", "filename", "name", "qualname", "linetable", "firstlineno", "argcount",
      "localsplusnames", "localspluskinds", "co_code_adaptive",
    ])
    + group("pyobject", ["size", "ob_type"])
    + group("type_object", ["size", "tp_name", "tp_repr", "tp_flags"])
    + group("tuple_object", ["size", "ob_item", "ob_size"])
    + group("list_object", ["size", "ob_item", "ob_size"])
    + group("dict_object", ["size", "ma_keys", "ma_values"])
    + group("float_object", ["size", "ob_fval"])
    + group("long_object", ["size", "lv_tag", "ob_digit"])
    + group("bytes_object", ["size", "ob_size", "ob_sval"])
    + group("unicode_object", ["size", "state", "length", "asciiobject_size"])
    + group("gc", ["size", "collecting"])

  /// Include/internal/pycore_debug_offsets.h of 3.14.0 (760 bytes).
  static let layout314: [String] =
    ["cookie", "version", "free_threaded"]
    + group("runtime_state", ["size", "finalizing", "interpreters_head"])
    + group("interpreter_state", [
      "size", "id", "next", "threads_head", "threads_main", "gc", "imports_modules", "sysdict",
      "builtins", "ceval_gil", "gil_runtime_state", "gil_runtime_state_enabled",
      "gil_runtime_state_locked", "gil_runtime_state_holder", "code_object_generation",
      "tlbc_generation",
    ])
    + group("thread_state", [
      "size", "prev", "next", "interp", "current_frame", "thread_id", "native_thread_id",
      "datastack_chunk", "status",
    ])
    + group("interpreter_frame", [
      "size", "previous", "executable", "instr_ptr", "localsplus", "owner", "stackpointer",
      "tlbc_index",
    ])
    + group("code_object", [
      "size", "filename", "name", "qualname", "linetable", "firstlineno", "argcount",
      "localsplusnames", "localspluskinds", "co_code_adaptive", "co_tlbc",
    ])
    + group("pyobject", ["size", "ob_type"])
    + group("type_object", ["size", "tp_name", "tp_repr", "tp_flags"])
    + group("tuple_object", ["size", "ob_item", "ob_size"])
    + group("list_object", ["size", "ob_item", "ob_size"])
    + group("set_object", ["size", "used", "table", "mask"])
    + group("dict_object", ["size", "ma_keys", "ma_values"])
    + group("float_object", ["size", "ob_fval"])
    + group("long_object", ["size", "lv_tag", "ob_digit"])
    + group("bytes_object", ["size", "ob_size", "ob_sval"])
    + group("unicode_object", ["size", "state", "length", "asciiobject_size"])
    + group("gc", ["size", "collecting"])
    + group("gen_object", ["size", "gi_name", "gi_iframe", "gi_frame_state"])
    + group("llist_node", ["next", "prev"])
    + group("debugger_support", [
      "eval_breaker", "remote_debugger_support", "remote_debugging_enabled",
      "debugger_pending_call", "debugger_script_path", "debugger_script_path_size",
    ])

  /// Little-endian uint64 at `offset`; callers have checked the length.
  private static func load64(_ bytes: [UInt8], _ offset: Int) -> UInt64 {
    var value: UInt64 = 0
    for i in 0..<8 { value |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
    return value
  }
}
