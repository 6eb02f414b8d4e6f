import SampSystem

/// Thread names as the `threading` module knows them ("MainThread", "worker-3",
/// a custom `name=`), read from the target's memory:
///
///     interp->modules (sys.modules) -> ["threading"] -> md_dict -> ["_active"]
///       -> {ident int: Thread} -> Thread's `_name` (2.7: `_Thread__name`)
///
/// Keys are pthread idents (`threading.get_ident()`, the `thread_id` of the
/// thread state, `CapturedThread.state.threadID`). Threads the module never saw
/// (started with `_thread.start_new_thread` and never asking current_thread())
/// have no entry; callers fall back to the OS name.
///
/// Cached: `_active` is re-read once per interval, or sooner (but not more often
/// than `minimumGap`) when asked about an ident that is neither known nor was
/// absent at the last read. The interval starts at `refreshInterval` and doubles,
/// up to `maxRefreshInterval`, each time a re-read finds the same names (a re-read
/// is some thirty small reads: at 100 Hz, a few microseconds a sample at one a
/// second); a change brings it back. Every re-read reads each Thread's name again,
/// so a renamed thread shows its new name within one interval, and a new thread
/// at once. A failed re-read keeps the previous names.
public struct PythonThreadNames {
  public struct Options: Sendable {
    /// Shortest interval between re-reads (nanoseconds), after a change.
    public var refreshInterval: UInt64 = 1_000_000_000
    /// Longest time a renamed thread may keep its old name (nanoseconds).
    public var maxRefreshInterval: UInt64 = 8_000_000_000
    /// Unknown idents trigger a re-read at most this often (nanoseconds).
    public var minimumGap: UInt64 = 50_000_000
    /// Entries of `_active` read; more is garbage (or a program past any sane size).
    public var maxThreads = 4096
    public var maxInterpreters = 64
    /// Longest name kept, in characters.
    public var maxNameLength = 1024
    public init() {}
  }

  public let layout: PythonLayout
  public let interpreterHead: RemoteAddress
  public var options: Options

  /// The names from the last successful read.
  public private(set) var current: [UInt64: String] = [:]
  /// Why the last read failed (nil after a success).
  public private(set) var lastError: PythonReadError?
  /// Reads attempted, for tests and the summary.
  public private(set) var refreshes = 0

  private var lastAttempt: UInt64?
  /// The current re-read interval (see the type's comment).
  public private(set) var interval: UInt64 = 0
  /// Idents asked about and missing from the last read: they do not trigger re-reads.
  private var absent: Set<UInt64> = []
  /// Type objects whose tp_name was read: builtin types never move.
  private var typeNames: [RemoteAddress: String] = [:]

  public init(layout: PythonLayout, interpreter: PythonInterpreterInfo, options: Options = Options()) {
    self.init(layout: layout, interpreterHead: interpreter.interpreterHead, options: options)
  }

  /// `interpreterHead`: the address of the pointer to the first interpreter.
  public init(layout: PythonLayout, interpreterHead: RemoteAddress, options: Options = Options()) {
    self.layout = layout
    self.interpreterHead = interpreterHead
    self.options = options
    isSupported = PythonDictReader(layout: layout).isSupported && layout.interpModules != nil
      && layout.moduleDict != nil && layout.longDigits != nil && layout.longDigitBits != nil
      && layout.typeFlags != nil && layout.typeDictOffset != nil && layout.threadingNameAttribute != nil
  }

  /// False when this version's layout lacks what the walk needs (e.g. 3.14,
  /// whose dict offsets are not generated here): names() then stays empty.
  /// Worked out once: asked every sample, and working it out copies the layout.
  public let isSupported: Bool

  /// pthread ident -> name, re-read when older than the refresh interval.
  public mutating func names(_ memory: RemoteMemory) -> [UInt64: String] {
    names(memory, idents: [UInt64](), now: Monotonic.now())
  }

  /// pthread ident -> name; `idents` are the threads about to be labelled: one
  /// that is unknown (and was not absent last time) forces an early re-read.
  public mutating func names(_ memory: RemoteMemory, idents: some Sequence<UInt64>, now: UInt64) -> [UInt64: String] {
    guard isSupported else { return [:] }
    let unknown = idents.filter { current[$0] == nil && !absent.contains($0) }
    if let last = lastAttempt {
      let age = now &- last
      let due = age >= max(interval, options.refreshInterval) || (!unknown.isEmpty && age >= options.minimumGap)
      if !due { return current }
    }
    lastAttempt = now
    refreshes += 1
    do {
      let fresh = try read(memory)
      interval = fresh == current ? min(max(interval, options.refreshInterval) * 2, options.maxRefreshInterval)
        : options.refreshInterval
      current = fresh
      lastError = nil
    } catch {
      interval = options.refreshInterval
      lastError = error
    }
    absent = Set(unknown.filter { current[$0] == nil })
    return current
  }

  /// Forgets the cache: the next names() call reads again.
  public mutating func invalidate() {
    lastAttempt = nil
    interval = options.refreshInterval
    absent = []
  }

  // MARK: one uncached read

  /// Reads every interpreter's `threading._active`. An interpreter without
  /// `threading` contributes nothing; the main interpreter (last in the list)
  /// wins when two name the same ident. Throws only when no interpreter could
  /// be read at all.
  public mutating func read(_ memory: RemoteMemory) throws(PythonReadError) -> [UInt64: String] {
    guard isSupported else { throw .unsupportedBuild("no thread-name layout for Python \(layout.versionString)") }
    var interpreters: [RemoteAddress] = []
    var seen = Set<RemoteAddress>()
    var interp = try pointer(memory, interpreterHead)
    while !interp.isNull {
      guard seen.insert(interp).inserted else { throw .corruptData("cycle in the interpreter list") }
      guard seen.count <= options.maxInterpreters else { throw .badSize(what: "interpreter count", value: seen.count) }
      interpreters.append(interp)
      interp = try pointer(memory, interp + layout.interpNext)
    }

    var out: [UInt64: String] = [:]
    var firstError: PythonReadError?
    var anyRead = false
    for interp in interpreters {
      do {
        for (ident, name) in try activeThreads(memory, interp: interp) { out[ident] = name }
        anyRead = true
      } catch {
        firstError = firstError ?? error
      }
    }
    if !anyRead, let firstError { throw firstError }
    return out
  }

  /// One interpreter's `threading._active`, ident -> name.
  private mutating func activeThreads(_ memory: RemoteMemory, interp: RemoteAddress) throws(PythonReadError)
    -> [UInt64: String]
  {
    guard let modulesField = layout.interpModules, let moduleDictField = layout.moduleDict,
      let nameAttribute = layout.threadingNameAttribute
    else { throw .unsupportedBuild("no thread-name layout") }
    let dicts = PythonDictReader(layout: layout)

    let modules = try pointer(memory, interp + modulesField)
    if modules.isNull { return [:] }  // not initialized yet, or finalized
    try expectType(memory, modules, ["dict"], "sys.modules")
    guard let threading = try dicts.value(forKey: "threading", inDict: modules, memory) else { return [:] }
    try expectType(memory, threading, ["module"], "sys.modules['threading']")
    let namespace = try pointer(memory, threading + moduleDictField)
    guard !namespace.isNull else { return [:] }
    guard let active = try dicts.value(forKey: "_active", inDict: namespace, memory) else { return [:] }
    try expectType(memory, active, ["dict"], "threading._active")

    let entries = try dicts.entries(ofDict: active, memory)
    guard entries.count <= options.maxThreads else { throw .badSize(what: "threading._active size", value: entries.count) }
    let identAttribute = layout.threadingIdentAttribute
    let wanted: Set<String> = identAttribute.map { [nameAttribute, $0] } ?? [nameAttribute]

    var out: [UInt64: String] = [:]
    for entry in entries {
      // One bad Thread costs its own name, not the others'.
      guard let ident = try? integer(memory, entry.key),
        let attributes = try? dicts.attributes(of: entry.value, memory)
      else { continue }
      let found = dicts.values(forKeys: wanted, in: attributes, memory)
      guard let nameObject = found[nameAttribute] else { continue }
      // The Thread's own ident must agree with its key (None while starting is fine).
      if let identAttribute, let identObject = found[identAttribute], let own = try? integer(memory, identObject),
        own != ident
      {
        continue
      }
      guard let name = try? string(memory, nameObject) else { continue }
      out[ident] = name
    }
    return out
  }

  // MARK: objects

  /// A non-negative int object (2.7 int or long, 3.x int) that fits 64 bits.
  mutating func integer(_ memory: RemoteMemory, _ object: RemoteAddress) throws(PythonReadError) -> UInt64 {
    guard let digitsField = layout.longDigits, let bits = layout.longDigitBits, bits > 0, bits <= 32 else {
      throw .unsupportedBuild("no int layout")
    }
    let digitSize = layout.longDigitSize ?? 4
    let typeName = try self.typeName(memory, of: object)
    // Python 2's small int: a C long in ob_ival.
    if typeName == "int", let intValue = layout.intValue {
      let value = try bytes(memory, object + intValue, 8).i64(at: 0)
      guard value >= 0 else { throw .corruptData("negative thread ident") }
      return UInt64(value)
    }
    guard typeName == (layout.intValue != nil ? "long" : "int") else {
      throw .corruptData("thread ident is a '\(typeName)' object")
    }
    let maxDigits = (64 + bits - 1) / bits
    let count: Int
    if let tagField = layout.longTag, let shift = layout.longTagSizeShift, let signMask = layout.longTagSignMask,
      let negative = layout.longTagNegative
    {
      // 3.12+: lv_tag = digit count << shift | sign.
      let tag = try bytes(memory, object + tagField, 8).u64(at: 0)
      guard tag & UInt64(signMask) != UInt64(negative) else { throw .corruptData("negative thread ident") }
      let n = tag >> UInt64(shift)
      guard n <= UInt64(maxDigits) else { throw .badSize(what: "int digit count", value: Int(truncatingIfNeeded: n)) }
      count = Int(n)
    } else {
      // ob_size: digit count, negative for negative numbers.
      let n = try bytes(memory, object + layout.varSize, 8).i64(at: 0)
      guard n >= 0, n <= Int64(maxDigits) else { throw .badSize(what: "int ob_size", value: Int(truncatingIfNeeded: n)) }
      count = Int(n)
    }
    if count == 0 { return 0 }
    let digits = try bytes(memory, object + digitsField, count * digitSize)
    var value: UInt64 = 0
    for i in stride(from: count - 1, through: 0, by: -1) {
      let digit = (digitSize == 2 ? UInt64(digits.u16(at: i * 2)) : UInt64(digits.u32(at: i * 4))) & ((1 << bits) - 1)
      guard value >> UInt64(64 - bits) == 0 else { throw .corruptData("thread ident wider than 64 bits") }
      value = value << UInt64(bits) | digit
    }
    return value
  }

  /// A str object's text (2.7: a byte str, UTF-8 by convention). Anything else
  /// (an int put in `_name`, garbage) throws rather than decoding as text.
  private mutating func string(_ memory: RemoteMemory, _ object: RemoteAddress) throws(PythonReadError) -> String {
    try expectType(memory, object, ["str"], "thread name")
    let header = (try? memory.read(at: object, count: max(layout.unicodeCompactData, layout.bytesData) + 32)) ?? []
    return try PythonString.decode(at: object, header: header, layout: layout, maxLength: options.maxNameLength) {
      (address, count) throws(SystemError) -> [UInt8] in try memory.read(at: address, count: count)
    }
  }

  /// tp_name of the object's type; remembered per type address for builtin types.
  private mutating func typeName(_ memory: RemoteMemory, of object: RemoteAddress) throws(PythonReadError) -> String {
    let type = try pointer(memory, object + layout.objectType)
    guard !type.isNull else { throw .corruptData("object without a type") }
    if let known = typeNames[type] { return known }
    let namePointer = try pointer(memory, type + layout.typeName)
    guard !namePointer.isNull else { throw .corruptData("type without a name") }
    let name: String
    do { name = try memory.readCString(at: namePointer, limit: 64) } catch {
      throw .unreadableMemory(namePointer, count: 64)
    }
    // Only the builtin types checked here are remembered: they live in the
    // interpreter's data and never change; other types may be freed and reused.
    if ["dict", "module", "int", "long", "str"].contains(name) && typeNames.count < 64 { typeNames[type] = name }
    return name
  }

  private mutating func expectType(_ memory: RemoteMemory, _ object: RemoteAddress, _ names: Set<String>, _ what: String)
    throws(PythonReadError)
  {
    let name = try typeName(memory, of: object)
    guard names.contains(name) else { throw .corruptData("\(what) is a '\(name)' object") }
  }

  private func pointer(_ memory: RemoteMemory, _ address: RemoteAddress) throws(PythonReadError) -> RemoteAddress {
    try bytes(memory, address, 8).pointer(at: 0)
  }

  private func bytes(_ memory: RemoteMemory, _ address: RemoteAddress, _ count: Int) throws(PythonReadError) -> ByteView {
    guard address.rawValue >= 4096 else { throw .unreadableMemory(address, count: count) }
    let data: [UInt8]
    do { data = try memory.read(at: address, count: count) } catch { throw .unreadableMemory(address, count: count) }
    guard data.count >= count else { throw .unreadableMemory(address, count: count) }
    return ByteView(data)
  }
}
