import SampSystem
import Synchronization

/// What a code object says about itself, decoded once.
final class CodeInfo {
  /// Unique to this decode in the whole run (never reused, unlike an address),
  /// so `(serial, line)` can stand for a frame's name, file and line.
  let serial: UInt32
  let name: String
  let file: String
  let firstLine: Int
  let lineTable: [UInt8]
  /// 3.11+: frames whose instruction is before this byte offset are incomplete.
  let firstTraceableByte: Int?
  /// The header fields this entry was decoded from; a changed header means the
  /// address now holds another object.
  let fingerprint: [UInt64]
  /// When the header was last found to match (CLOCK_MONOTONIC ns).
  var checkedAt: UInt64
  /// Byte offset -> frame identity, filled as samples ask.
  private var identities = IntegerMap<UInt64>()
  /// The last answer: a caller's frame keeps its offset (the call it waits
  /// in) sample after sample, and recursion repeats it, so most asks are
  /// this one and skip the map.
  private var lastOffset = -1
  private var lastIdentity: UInt64 = 0

  private static let serials = Atomic<UInt32>(0)

  init(name: String, file: String, firstLine: Int, lineTable: [UInt8], firstTraceableByte: Int?, fingerprint: [UInt64],
       checkedAt: UInt64) {
    self.checkedAt = checkedAt
    serial = Self.serials.wrappingAdd(1, ordering: .relaxed).newValue
    self.name = name
    self.file = file
    self.firstLine = firstLine
    self.lineTable = lineTable
    self.firstTraceableByte = firstTraceableByte
    self.fingerprint = fingerprint
  }

  /// The identity of this code's frame at `byteOffset`: the serial and the
  /// line (+1, so that 0 stands for no line), which name the frame for the run.
  func identity(at byteOffset: Int, format: PythonLayout.LineTableFormat) -> UInt64 {
    if byteOffset == lastOffset { return lastIdentity }
    let identity: UInt64
    let key = UInt64(bitPattern: Int64(byteOffset))
    if let known = identities[key] {
      identity = known
    } else {
      let line = LineTable.line(forByteOffset: byteOffset, table: lineTable, firstLine: firstLine, format: format)
      identity = UInt64(serial) << 32 | UInt64(UInt32(truncatingIfNeeded: (line ?? -1) + 1))
      if identities.count >= 512 { identities.removeAll() }
      identities.insert(identity, for: key)
    }
    lastOffset = byteOffset
    lastIdentity = identity
    return identity
  }

  /// The frame an identity from `identity(at:format:)` stands for.
  func frame(identity: UInt64) -> Frame {
    let stored = Int(UInt32(truncatingIfNeeded: identity))
    return .python(name, file: file, line: stored == 0 ? nil : stored - 1, firstLine: firstLine, identity: identity)
  }
}

/// Resolves code objects by address after the threads run again. An entry is
/// checked against the code object's header (its type must be PyCode_Type and
/// the fields it was decoded from unchanged) when first used and then at most
/// `recheckNanos` apart, all of a sample's due entries in one batched read, so
/// a freed and reused address mislabels frames for at most that long. Checking
/// on every use cost a header page in every held read (about 1.5 µs of hold a
/// code object) or a read of its own after resume (about 10 µs a sample), for
/// objects that nearly always live as long as the program.
final class CodeObjectCache: FrameCatalog {
  let layout: PythonLayout
  let codeType: RemoteAddress?
  private var entries: [RemoteAddress: CodeInfo] = [:]
  /// The same entries by serial, to turn a frame identity back into a frame.
  private var bySerial: [UInt32: CodeInfo] = [:]
  static let maxEntries = 32_768
  /// How long an entry is trusted without a look at its header; 0 checks on every use.
  let recheckNanos: UInt64
  static let defaultRecheckNanos: UInt64 = 100_000_000
  static let maxLineTableBytes = 4 << 20

  /// Decodes done, entries reused and headers read, for tests and the benchmark.
  private(set) var decodes = 0
  private(set) var hits = 0
  private(set) var checks = 0

  /// Where the fields that identify a code object's content sit in its header
  /// (refcounts and caches excluded), and how wide they are; worked out once,
  /// since every code address of every sample is checked against them.
  private let identityFields: [(offset: Int, wide: Bool)]
  private let headerSize: Int

  init(layout: PythonLayout, codeType: RemoteAddress?, recheckNanos: UInt64 = CodeObjectCache.defaultRecheckNanos) {
    self.layout = layout
    self.codeType = codeType
    self.recheckNanos = recheckNanos
    var fields = [layout.objectType, layout.codeName, layout.codeQualname, layout.codeFilename, layout.codeLineTable]
      .compactMap { $0 }.map { (offset: $0, wide: true) }
    fields.append((offset: layout.codeFirstLineNo, wide: false))
    if let ft = layout.codeFirstTraceable { fields.append((offset: ft, wide: false)) }
    identityFields = fields
    headerSize = (fields.map(\.offset).max() ?? 0) + 8  // every field read is an identity field
  }

  var count: Int { entries.count }

  /// Whether a lookup at `now` would take the entry for `code` without
  /// reading its header (found within `recheckNanos` before).
  func trusts(_ code: RemoteAddress, at now: UInt64) -> Bool {
    guard let known = entries[code] else { return false }
    return now &- known.checkedAt < recheckNanos
  }

  private func field(_ field: (offset: Int, wide: Bool), _ header: ByteView) -> UInt64 {
    field.wide ? header.u64(at: field.offset) : UInt64(header.u32(at: field.offset))
  }

  private func fingerprint(_ header: ByteView) -> [UInt64] { identityFields.map { field($0, header) } }

  /// Compared in place: no array built for a code object already known.
  private func matches(_ known: CodeInfo, _ header: ByteView) -> Bool {
    for (i, f) in identityFields.enumerated() where known.fingerprint[i] != field(f, header) { return false }
    return true
  }

  /// Infos for every distinct code address. When none is new or due for a
  /// check this reads nothing; otherwise every header is read in one batch
  /// (a due entry's neighbours cost little more in the same syscall, and are
  /// then not due on a sample of their own). An address that is unreadable or
  /// holds no code object maps to the error that says so.
  func lookup(_ codes: [RemoteAddress], memory: RemoteMemory, now: UInt64 = Monotonic.now()) -> CodeLookup {
    let distinct = Self.distinct(codes)
    var out = CodeLookup(capacity: distinct.count)
    var trusted: [CodeInfo] = []
    trusted.reserveCapacity(distinct.count)
    for code in distinct {
      guard let known = entries[code], now &- known.checkedAt < recheckNanos else { break }
      trusted.append(known)
    }
    if trusted.count == distinct.count {
      hits += distinct.count
      for (code, info) in zip(distinct, trusted) { out.append(code, .success(info)) }
      return out
    }
    let size = headerSize
    // Batches stay under IOV_MAX (1024 ranges per process_vm_readv).
    for start in stride(from: 0, to: distinct.count, by: 512) {
      let part = distinct[start..<min(distinct.count, start + 512)]
      let batch = try? memory.read(ranges: part.map { ($0, size) })
      for (i, code) in part.enumerated() {
        guard let header = batch?[i] ?? (try? memory.read(at: code, count: size))?[...] else {
          out.append(code, .failure(.unreadableMemory(code, count: size)))
          continue
        }
        checks += 1
        out.append(code, result(code, ByteView(header), memory, now))
      }
    }
    return out
  }

  /// Each address once, in first-seen order. A sample's frames share a few code
  /// objects: a short list searched linearly beats hashing every frame's address,
  /// up to a point, past which a set takes over.
  static func distinct(_ codes: [RemoteAddress]) -> [RemoteAddress] {
    var out: [RemoteAddress] = []
    out.reserveCapacity(16)
    var seen: Set<RemoteAddress>?
    var last: RemoteAddress?
    for code in codes {
      if code == last { continue }  // recursion: the same code frame after frame
      last = code
      if let set = seen {
        if !set.contains(code) {
          seen!.insert(code)
          out.append(code)
        }
      } else if !out.contains(code) {
        out.append(code)
        if out.count > 32 { seen = Set(out) }
      }
    }
    return out
  }

  private func result(_ code: RemoteAddress, _ header: ByteView, _ memory: RemoteMemory, _ now: UInt64)
    -> Result<CodeInfo, PythonReadError>
  {
    Result { () throws(PythonReadError) -> CodeInfo in try info(code, header: header, memory: memory, now: now) }
  }

  private func info(_ code: RemoteAddress, header: ByteView, memory: RemoteMemory, now: UInt64)
    throws(PythonReadError) -> CodeInfo
  {
    if let codeType, header.pointer(at: layout.objectType) != codeType {
      if let gone = entries.removeValue(forKey: code) { bySerial[gone.serial] = nil }
      throw .corruptData("frame's code pointer does not point at a code object")
    }
    if let known = entries[code], matches(known, header) {
      hits += 1
      known.checkedAt = now
      return known
    }
    let identity = fingerprint(header)
    let nameField = layout.codeQualname ?? layout.codeName
    let name = try string(at: header.pointer(at: nameField), memory)
    let file = try string(at: header.pointer(at: layout.codeFilename), memory)
    let table = try bytesObject(at: header.pointer(at: layout.codeLineTable), memory)
    let info = CodeInfo(
      name: name, file: file, firstLine: Int(header.i32(at: layout.codeFirstLineNo)), lineTable: table,
      firstTraceableByte: layout.codeFirstTraceable.map { Int(header.i32(at: $0)) * 2 }, fingerprint: identity,
      checkedAt: now)
    if entries.count >= Self.maxEntries {
      entries.removeAll(keepingCapacity: true)
      bySerial.removeAll(keepingCapacity: true)
    }
    if let replaced = entries.updateValue(info, forKey: code) { bySerial[replaced.serial] = nil }
    bySerial[info.serial] = info
    decodes += 1
    return info
  }

  // MARK: object readers

  /// Enough for an object header and a short name in one read; shorter if the
  /// object sits at the end of a mapping (the decoder reads what is missing).
  private func header(at address: RemoteAddress, _ memory: RemoteMemory) -> [UInt8] {
    (try? memory.read(at: address, count: 256)) ?? []
  }

  private func string(at address: RemoteAddress, _ memory: RemoteMemory) throws(PythonReadError) -> String {
    guard !address.isNull else { throw .corruptData("NULL string in a code object") }
    return try PythonString.decode(at: address, header: header(at: address, memory), layout: layout) {
      (at: RemoteAddress, count: Int) throws(SystemError) -> [UInt8] in try memory.read(at: at, count: count)
    }
  }

  private func bytesObject(at address: RemoteAddress, _ memory: RemoteMemory) throws(PythonReadError) -> [UInt8] {
    guard !address.isNull else { throw .corruptData("NULL line table") }
    return try PythonString.bytes(
      at: address, header: header(at: address, memory), layout: layout, maxLength: Self.maxLineTableBytes
    ) { (at: RemoteAddress, count: Int) throws(SystemError) -> [UInt8] in try memory.read(at: at, count: count) }
  }
}

extension CodeObjectCache {
  /// Root-first frame identities for one thread's captured chain (innermost
  /// first); `frame(identity:)` names them. Incomplete frames (3.11+: not yet
  /// past the code's first traceable instruction, e.g. the 3.13 __init__
  /// cleanup shim) are left out, as CPython leaves them out of tracebacks.
  func identities(for captured: [CapturedFrame], infos: CodeLookup)
    throws(PythonReadError) -> [UInt64]
  {
    var out: [UInt64] = []
    out.reserveCapacity(captured.count)
    let format = layout.lineTableFormat
    for frame in captured.reversed() {
      guard let result = infos[frame.code] else { throw .corruptData("code object not looked up") }
      let info: CodeInfo
      switch result {
      case .success(let i): info = i
      case .failure(let e): throw e
      }
      if let first = info.firstTraceableByte, !frame.ownedByGenerator, frame.byteOffset < first { continue }
      out.append(info.identity(at: frame.byteOffset, format: format))
    }
    return out
  }

  /// Root-first frames for one thread's captured chain, as `identities` leaves them.
  func frames(for captured: [CapturedFrame], infos: CodeLookup)
    throws(PythonReadError) -> [Frame]
  {
    try identities(for: captured, infos: infos).compactMap { frame(identity: $0) }
  }

  /// The frame for an identity handed out by `identities`, while its code
  /// object's entry stays (entries go only during a lookup).
  func frame(identity: UInt64) -> Frame? {
    bySerial[UInt32(truncatingIfNeeded: identity >> 32)]?.frame(identity: identity)
  }
}

/// One sample's code objects as looked up, in first-seen order. A sample meets
/// a few, so an address is found by a linear search (no dictionary to build
/// every sample); past `indexedAbove` a dictionary takes over.
struct CodeLookup {
  private(set) var codes: [RemoteAddress] = []
  private var results: [Result<CodeInfo, PythonReadError>] = []
  private var index: [RemoteAddress: Int]?
  static let indexedAbove = 32

  init(capacity: Int = 0) {
    codes.reserveCapacity(capacity)
    results.reserveCapacity(capacity)
  }

  mutating func append(_ code: RemoteAddress, _ result: Result<CodeInfo, PythonReadError>) {
    codes.append(code)
    results.append(result)
    if index != nil {
      index![code] = codes.count - 1
    } else if codes.count > Self.indexedAbove {
      index = Dictionary(uniqueKeysWithValues: codes.enumerated().map { ($1, $0) })
    }
  }

  subscript(code: RemoteAddress) -> Result<CodeInfo, PythonReadError>? {
    if let index { return index[code].map { results[$0] } }
    return codes.firstIndex(of: code).map { results[$0] }
  }
}
