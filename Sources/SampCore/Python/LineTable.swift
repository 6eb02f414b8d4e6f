/// Maps a bytecode byte offset to a source line, for the three CPython line
/// table formats. Mirrors CPython's own `PyCode_Addr2Line`: a negative offset
/// (a frame that has not started) gives the first line; an offset the table
/// does not cover, or marked "no line", gives nil.
///
/// Pure and bounded: every step consumes at least one table byte, arithmetic
/// wraps instead of trapping, and malformed entries give nil.
public enum LineTable {
  public static func line(
    forByteOffset offset: Int, table: [UInt8], firstLine: Int, format: PythonLayout.LineTableFormat
  ) -> Int? {
    if offset < 0 { return firstLine }
    switch format {
    case .lnotab(let signed):
      return lnotabLine(offset, table, firstLine, signedLineDelta: signed)
    case .linetable310:
      return linetable310Line(offset, table, firstLine)
    case .locations311:
      return locationsLine(offset, table, firstLine)
    }
  }

  /// <=3.9 `co_lnotab`: (address increment, line increment) byte pairs; the
  /// line of an offset is the one in force at the last address <= offset.
  private static func lnotabLine(_ offset: Int, _ table: [UInt8], _ firstLine: Int, signedLineDelta: Bool) -> Int {
    var line = firstLine
    var address = 0
    var i = 0
    while i + 1 < table.count {
      address += Int(table[i])
      if address > offset { break }
      let delta = table[i + 1]
      line &+= signedLineDelta ? Int(Int8(bitPattern: delta)) : Int(delta)
      i += 2
    }
    return line
  }

  /// 3.10 `co_linetable` (PEP 626): (byte length, signed line delta) pairs, each
  /// pair a half-open range [start, end); a line delta of -128 means "no line".
  private static func linetable310Line(_ offset: Int, _ table: [UInt8], _ firstLine: Int) -> Int? {
    var line = firstLine
    var end = 0
    var i = 0
    while i + 1 < table.count {
      let start = end
      end += Int(table[i])
      let delta = Int8(bitPattern: table[i + 1])
      if delta != -128 { line &+= Int(delta) }
      if start <= offset && offset < end { return delta == -128 ? nil : line }
      i += 2
    }
    return nil
  }

  /// 3.11+ location table (CPython's Objects/locations.md). Each entry starts
  /// with a byte with bit 7 set: bits 3-6 a code, bits 0-2 the length in code
  /// units minus one; the code says how the line changes and how many bytes of
  /// column data follow.
  private static func locationsLine(_ offset: Int, _ table: [UInt8], _ firstLine: Int) -> Int? {
    var line = firstLine
    var start = 0
    var i = 0
    while i < table.count {
      let first = table[i]
      i += 1
      guard first & 0x80 != 0 else { return nil }  // not an entry start: corrupt
      let code = Int(first >> 3) & 15
      let length = (Int(first & 7) + 1) * 2
      var delta = 0
      switch code {
      case 15:  // no location
        break
      case 14:  // long form: line delta, end line delta, column, end column
        guard let d = readSignedVarint(table, &i),
          readVarint(table, &i) != nil, readVarint(table, &i) != nil, readVarint(table, &i) != nil
        else { return nil }
        delta = d
      case 13:  // no column info
        guard let d = readSignedVarint(table, &i) else { return nil }
        delta = d
      case 10...12:  // one-line form: two column bytes
        delta = code - 10
        i += 2
      default:  // short form: one column byte
        i += 1
      }
      guard i <= table.count else { return nil }  // entry cut short
      line &+= delta
      if start <= offset && offset < start + length { return code == 15 ? nil : line }
      start += length
    }
    return nil
  }

  /// Unsigned varint: 6-bit chunks, least significant first, bit 6 = more.
  private static func readVarint(_ table: [UInt8], _ i: inout Int) -> Int? {
    var value = 0
    var shift = 0
    while i < table.count && shift <= 60 {
      let byte = table[i]
      i += 1
      value |= Int(byte & 63) << shift
      if byte & 64 == 0 { return value }
      shift += 6
    }
    return nil  // truncated, or too long to be a real varint
  }

  /// Signed varint: a varint whose bit 0 is the sign.
  private static func readSignedVarint(_ table: [UInt8], _ i: inout Int) -> Int? {
    guard let raw = readVarint(table, &i) else { return nil }
    return raw & 1 != 0 ? -(raw >> 1) : raw >> 1
  }
}
