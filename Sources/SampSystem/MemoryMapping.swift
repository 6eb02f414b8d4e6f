/// One line of /proc/PID/maps.
public struct MemoryMapping: Equatable, Sendable {
  public var start: UInt64
  public var end: UInt64
  public var readable: Bool
  public var writable: Bool
  public var executable: Bool
  public var fileOffset: UInt64
  public var inode: UInt64
  /// The file path, a pseudo name like "[stack]", or "" for anonymous memory.
  public var path: String

  public init(start: UInt64, end: UInt64, readable: Bool, writable: Bool, executable: Bool,
              fileOffset: UInt64, inode: UInt64, path: String) {
    self.start = start
    self.end = end
    self.readable = readable
    self.writable = writable
    self.executable = executable
    self.fileOffset = fileOffset
    self.inode = inode
    self.path = path
  }

  public func contains(_ address: UInt64) -> Bool { address >= start && address < end }
  public var isFileBacked: Bool { path.hasPrefix("/") }
  /// The file name without directories ("libc.so.6").
  public var moduleName: String {
    if let slash = path.lastIndex(of: "/") { return String(path[path.index(after: slash)...]) }
    return path
  }

  /// Parses the whole maps text; malformed lines are skipped, never fatal.
  /// Format: "start-end perms offset dev inode   path", path may contain spaces
  /// and may end with " (deleted)".
  public static func parse(_ text: String) -> [MemoryMapping] {
    var out: [MemoryMapping] = []
    for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
      if let m = parseLine(line) { out.append(m) }
    }
    return out
  }

  static func parseLine(_ line: Substring) -> MemoryMapping? {
    var fields: [Substring] = []
    var rest = line[...]
    // The first five fields are space-separated; the path is everything after.
    for _ in 0..<5 {
      rest = rest.drop(while: { $0 == " " })
      guard let space = rest.firstIndex(of: " ") else {
        if !rest.isEmpty { fields.append(rest) }
        rest = ""
        break
      }
      fields.append(rest[..<space])
      rest = rest[space...]
    }
    guard fields.count == 5 else { return nil }
    let range = fields[0].split(separator: "-")
    guard range.count == 2,
      let start = UInt64(range[0], radix: 16), let end = UInt64(range[1], radix: 16),
      start <= end,
      let offset = UInt64(fields[2], radix: 16),
      let inode = UInt64(fields[4])
    else { return nil }
    let perms = Array(fields[1].utf8)
    guard perms.count >= 3 else { return nil }
    let path = String(rest.drop(while: { $0 == " " }))
    return MemoryMapping(
      start: start, end: end,
      readable: perms[0] == UInt8(ascii: "r"), writable: perms[1] == UInt8(ascii: "w"),
      executable: perms[2] == UInt8(ascii: "x"), fileOffset: offset, inode: inode, path: path)
  }
}
