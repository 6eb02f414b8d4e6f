import SampSystem

/// Why an ELF file could not be read. Every malformed input ends here: the
/// reader never traps, whatever the bytes (a fuzz target relies on it).
public enum ElfError: Error, Hashable, Sendable, CustomStringConvertible {
  case notElf
  /// Only 64-bit little-endian files are read (the profiler runs on x86_64 Linux).
  case unsupported(String)
  /// A header, table or string points outside the file.
  case truncated(String)
  /// A count or size is beyond what any real file has.
  case implausible(String)
  /// Reading the underlying file failed.
  case io(String)

  public var description: String {
    switch self {
    case .notElf: return "not an ELF file"
    case .unsupported(let s): return "unsupported ELF file: \(s)"
    case .truncated(let s): return "truncated ELF file: \(s)"
    case .implausible(let s): return "implausible ELF file: \(s)"
    case .io(let s): return "cannot read ELF file: \(s)"
    }
  }
}

/// Where the ELF bytes come from: a whole copied file, or a file read on demand
/// so that only headers and symbol tables are copied out of a 30 MB library.
public protocol ElfByteSource {
  var size: Int { get }
  /// Exactly `count` bytes at `offset` (already checked to lie inside `size`).
  func bytes(at offset: Int, count: Int) throws(ElfError) -> [UInt8]
}

/// A file already copied into memory.
public struct ElfBytes: ElfByteSource {
  public let data: [UInt8]
  public init(_ data: [UInt8]) { self.data = data }
  public var size: Int { data.count }
  public func bytes(at offset: Int, count: Int) throws(ElfError) -> [UInt8] {
    guard offset >= 0, count >= 0, offset <= data.count, count <= data.count - offset else {
      throw .truncated("\(count) bytes at \(offset)")
    }
    return Array(data[offset..<offset + count])
  }
}

/// A minimal ELF64 reader: program headers, section headers, symbol lookup by
/// name, section by name. Every offset and count read from the file is checked
/// against the file size and against fixed limits before it is used.
public struct ElfFile {
  public enum FileType: Equatable, Sendable {
    case executable  // ET_EXEC: addresses are absolute
    case shared  // ET_DYN: PIE executable or shared library, loaded at a bias
    case other(UInt16)
  }

  public struct ProgramHeader: Equatable, Sendable {
    public var type: UInt32
    public var flags: UInt32
    public var offset: UInt64
    public var vaddr: UInt64
    public var fileSize: UInt64
    public var memorySize: UInt64
    public var isLoad: Bool { type == 1 }
    public var isWritable: Bool { flags & 2 != 0 }
  }

  public struct Section: Equatable, Sendable {
    public var name: String
    public var type: UInt32
    public var flags: UInt64
    public var address: UInt64
    public var offset: UInt64
    public var size: UInt64
    public var link: UInt32
    public var entrySize: UInt64
    /// SHT_NOBITS (.bss): occupies no bytes in the file.
    public var hasNoBits: Bool { type == 8 }
  }

  public struct Symbol: Equatable, Sendable {
    public var name: String
    public var value: UInt64
    public var size: UInt64
    public var sectionIndex: UInt16
  }

  // Limits no real file reaches; beyond them the file is treated as hostile.
  public static let maxHeaders = 65_535
  public static let maxTableBytes = 256 << 20

  public let source: any ElfByteSource
  public let fileType: FileType
  public let programHeaders: [ProgramHeader]
  public let sections: [Section]

  public init(bytes: [UInt8]) throws(ElfError) {
    try self.init(source: ElfBytes(bytes))
  }

  public init(source: any ElfByteSource) throws(ElfError) {
    self.source = source
    let header = ByteView(try Self.read(source, 0, 64, "ELF header"))
    guard header.u8(at: 0) == 0x7f, header.u8(at: 1) == 0x45, header.u8(at: 2) == 0x4c, header.u8(at: 3) == 0x46 else {
      throw .notElf
    }
    guard header.u8(at: 4) == 2 else { throw .unsupported("not 64-bit") }
    guard header.u8(at: 5) == 1 else { throw .unsupported("not little-endian") }
    switch header.u16(at: 16) {
    case 2: fileType = .executable
    case 3: fileType = .shared
    case let t: fileType = .other(t)
    }
    programHeaders = try Self.readProgramHeaders(source, header)
    sections = try Self.readSections(source, header)
  }

  // MARK: queries

  public func section(named name: String) -> Section? {
    sections.first { $0.name == name }
  }

  /// The bytes of a section (empty for .bss-like sections).
  public func data(of section: Section, limit: Int = ElfFile.maxTableBytes) throws(ElfError) -> [UInt8] {
    if section.hasNoBits { return [] }
    guard section.size <= UInt64(limit) else { throw .implausible("section \(section.name) of \(section.size) bytes") }
    return try Self.read(source, section.offset, Int(section.size), "section \(section.name)")
  }

  /// The first loadable segment: its page-aligned vaddr is what the loader maps
  /// at the bias (reference §1.2).
  public var firstLoad: ProgramHeader? { programHeaders.first { $0.isLoad } }

  /// Looks up several names in one pass over each symbol table: .dynsym first
  /// (kept in stripped files), then .symtab. Undefined symbols and zero values
  /// are skipped; the first definition found wins.
  public func symbols(named names: Set<String>) throws(ElfError) -> [String: Symbol] {
    var found: [String: Symbol] = [:]
    let byBytes = Dictionary(names.map { (Array($0.utf8), $0) }, uniquingKeysWith: { a, _ in a })
    let maxLength = byBytes.keys.map(\.count).max() ?? 0
    for tableName in [".dynsym", ".symtab"] where found.count < names.count {
      // A file may lack either table, or (stripped) have only .dynsym.
      guard let table = section(named: tableName), table.type == 2 || table.type == 11 else { continue }
      guard Int(table.link) < sections.count else { throw .truncated("\(tableName) string table index") }
      let strings = try data(of: sections[Int(table.link)])
      let entries = ByteView(try data(of: table))
      let count = entries.count / 24
      for i in 0..<count {
        let base = i * 24
        let nameOffset = Int(entries.u32(at: base))
        let shndx = entries.u16(at: base + 6)
        let value = entries.u64(at: base + 8)
        guard nameOffset > 0, shndx != 0, value != 0 else { continue }
        guard let bytes = Self.cString(strings, at: nameOffset, limit: maxLength + 1),
          let name = byBytes[bytes], found[name] == nil
        else { continue }
        found[name] = Symbol(name: name, value: value, size: entries.u64(at: base + 16), sectionIndex: shndx)
      }
    }
    return found
  }

  public func symbol(named name: String) throws(ElfError) -> Symbol? {
    try symbols(named: [name])[name]
  }

  /// File bytes backing a virtual address range of initialized data (for data
  /// that is the same on disk and in memory, like a version string).
  public func bytes(atVirtualAddress address: UInt64, count: Int) throws(ElfError) -> [UInt8] {
    for ph in programHeaders where ph.isLoad && address >= ph.vaddr {
      let delta = address - ph.vaddr
      guard delta < ph.fileSize, UInt64(count) <= ph.fileSize - delta else { continue }
      return try Self.read(source, ph.offset &+ delta, count, "data at vaddr \(address)")
    }
    throw .truncated("no file bytes for vaddr 0x\(String(address, radix: 16))")
  }

  // MARK: parsing

  private static func readProgramHeaders(_ source: any ElfByteSource, _ h: ByteView) throws(ElfError) -> [ProgramHeader] {
    let offset = h.u64(at: 32)
    let entrySize = Int(h.u16(at: 54))
    let count = Int(h.u16(at: 56))
    guard count > 0 else { return [] }
    guard entrySize >= 56 else { throw .implausible("program header size \(entrySize)") }
    let table = ByteView(try read(source, offset, entrySize * count, "program headers"))
    return (0..<count).map { i in
      let b = i * entrySize
      return ProgramHeader(
        type: table.u32(at: b), flags: table.u32(at: b + 4), offset: table.u64(at: b + 8), vaddr: table.u64(at: b + 16),
        fileSize: table.u64(at: b + 32), memorySize: table.u64(at: b + 40))
    }
  }

  private static func readSections(_ source: any ElfByteSource, _ h: ByteView) throws(ElfError) -> [Section] {
    let offset = h.u64(at: 40)
    let entrySize = Int(h.u16(at: 58))
    var count = Int(h.u16(at: 60))
    var nameIndex = Int(h.u16(at: 62))
    guard offset != 0 else { return [] }  // no section headers (allowed; stripped hard)
    guard entrySize >= 64 else { throw .implausible("section header size \(entrySize)") }
    if count == 0 || nameIndex == 0xffff {
      // Extended numbering: the real values live in section 0 (sh_size, sh_link).
      let first = ByteView(try read(source, offset, 64, "section header 0"))
      if count == 0 { count = Int(clamping: first.u64(at: 32)) }
      if nameIndex == 0xffff { nameIndex = Int(first.u32(at: 40)) }
    }
    guard count <= maxHeaders else { throw .implausible("\(count) sections") }
    guard count > 0 else { return [] }
    let table = ByteView(try read(source, offset, entrySize * count, "section headers"))
    var raw: [Section] = []
    raw.reserveCapacity(count)
    var nameOffsets: [Int] = []
    for i in 0..<count {
      let b = i * entrySize
      nameOffsets.append(Int(table.u32(at: b)))
      raw.append(Section(
        name: "", type: table.u32(at: b + 4), flags: table.u64(at: b + 8), address: table.u64(at: b + 16),
        offset: table.u64(at: b + 24), size: table.u64(at: b + 32), link: table.u32(at: b + 40),
        entrySize: table.u64(at: b + 56)))
    }
    guard nameIndex < count else { throw .truncated("section name table index \(nameIndex)") }
    let nameTable = raw[nameIndex]
    guard nameTable.size <= UInt64(maxTableBytes), !nameTable.hasNoBits else {
      throw .implausible("section name table of \(nameTable.size) bytes")
    }
    let names = try read(source, nameTable.offset, Int(nameTable.size), "section names")
    for i in 0..<count {
      let bytes = cString(names, at: nameOffsets[i], limit: 4096) ?? []
      raw[i].name = String(decoding: bytes, as: UTF8.self)
    }
    return raw
  }

  /// Bounds-checked read: offsets come from the file and are never trusted.
  static func read(_ source: any ElfByteSource, _ offset: UInt64, _ count: Int, _ what: String) throws(ElfError) -> [UInt8] {
    guard count >= 0, count <= maxTableBytes else { throw .implausible("\(what) of \(count) bytes") }
    guard offset <= UInt64(source.size), UInt64(count) <= UInt64(source.size) - offset else {
      throw .truncated("\(what): \(count) bytes at \(offset), file has \(source.size)")
    }
    return try source.bytes(at: Int(offset), count: count)
  }

  /// The NUL-terminated bytes at `offset`, or nil if out of range or longer than `limit`.
  static func cString(_ table: [UInt8], at offset: Int, limit: Int) -> [UInt8]? {
    guard offset >= 0, offset < table.count else { return nil }
    let end = min(table.count, offset + limit)
    var i = offset
    while i < end {
      if table[i] == 0 { return Array(table[offset..<i]) }
      i += 1
    }
    return nil
  }
}

/// An ELF file on disk, read on demand.
public struct ElfFileOnDisk: ElfByteSource {
  let file: FileReader
  public init(path: String) throws(ElfError) {
    do { file = try FileReader(path: path) } catch { throw .io(error.description) }
  }
  public var size: Int { file.size }
  public func bytes(at offset: Int, count: Int) throws(ElfError) -> [UInt8] {
    do { return try file.read(at: offset, count: count) } catch { throw .io(error.description) }
  }
}

extension ElfFile {
  /// Opens a file on disk; only the headers are read now.
  public init(path: String) throws(ElfError) {
    try self.init(source: try ElfFileOnDisk(path: path))
  }
}
