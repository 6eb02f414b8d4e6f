import SampSystem

/// Decodes str objects (PEP 393 on Python 3, PyStringObject on Python 2) and
/// bytes objects from memory copied out of the target. Every length is checked
/// before anything is read; bad data gives an error, never a trap.
public enum PythonString {
  /// Longest string accepted by default, in characters: far above any real
  /// function or file name, far below what a garbage length would ask for.
  public static let defaultMaxLength = 64 * 1024

  /// Decodes the str object at `address`.
  ///
  /// - header: bytes already copied from `address` (may be short or empty; what
  ///   is missing is read). Reading `layout.unicodeCompactData` plus a little
  ///   text up front usually makes this a single remote read.
  /// - readData: reads `count` bytes of target memory at an absolute address.
  public static func decode(
    at address: RemoteAddress, header: [UInt8], layout: PythonLayout,
    maxLength: Int = defaultMaxLength,
    readData: (RemoteAddress, Int) throws(SystemError) -> [UInt8]
  ) throws(PythonReadError) -> String {
    switch layout.stringModel {
    case .bytes:
      let raw = try bytes(at: address, header: header, layout: layout, maxLength: maxLength, readData: readData)
      return String(decoding: raw, as: UTF8.self)  // Python 2 names: UTF-8 at best; bad bytes become U+FFFD
    case .pep393:
      return try decodePEP393(at: address, header: header, layout: layout, maxLength: maxLength, readData: readData)
    }
  }

  /// The first API, without the object's address: compact text must then lie
  /// entirely inside `header` (legacy text is still read through its pointer).
  /// The content of the bytes object at `address` (on Python 2 also a str),
  /// e.g. a code object's line table.
  public static func bytes(
    at address: RemoteAddress, header: [UInt8], layout: PythonLayout,
    maxLength: Int = defaultMaxLength,
    readData: (RemoteAddress, Int) throws(SystemError) -> [UInt8]
  ) throws(PythonReadError) -> [UInt8] {
    let fixed = try ensure(layout.varSize + 8, of: header, at: address, readData)
    let size = signed64(fixed, layout.varSize)
    guard size >= 0 && size <= Int64(maxLength) else { throw .badSize(what: "bytes length", value: Int(size)) }
    return try slice(Int(size), at: layout.bytesData, of: fixed, object: address, readData)
  }

  // MARK: PEP 393

  private static func decodePEP393(
    at address: RemoteAddress, header: [UInt8], layout: PythonLayout, maxLength: Int,
    readData: (RemoteAddress, Int) throws(SystemError) -> [UInt8]
  ) throws(PythonReadError) -> String {
    // Only as much as every str has: a compact ASCII object may end right after it.
    var fixed = try ensure(max(layout.unicodeLength + 8, layout.unicodeState + 4), of: header, at: address, readData)
    let length = signed64(fixed, layout.unicodeLength)
    guard length >= 0 && length <= Int64(maxLength) else { throw .badSize(what: "str length", value: Int(length)) }

    let state = UInt32(truncatingIfNeeded: unsigned(fixed, layout.unicodeState, size: 4))
    let kind = Int(state >> UInt32(layout.unicodeKindShift)) & 7
    let compact = state >> UInt32(layout.unicodeCompactBit) & 1 == 1
    let ascii = state >> UInt32(layout.unicodeASCIIBit) & 1 == 1
    // Kind 0 is a legacy string not yet made "ready" (<=3.11); never a code name.
    guard kind == 1 || kind == 2 || kind == 4, !ascii || kind == 1 else {
      throw .corruptData("str state 0x\(String(state, radix: 16)) (kind \(kind))")
    }

    let count = Int(length) * kind
    let data: [UInt8]
    if compact {
      let offset = ascii ? layout.unicodeASCIIData : layout.unicodeCompactData
      data = try slice(count, at: offset, of: fixed, object: address, readData)
    } else {
      fixed = try ensure(layout.unicodeLegacyData + 8, of: fixed, at: address, readData)
      let pointer = RemoteAddress(unsigned(fixed, layout.unicodeLegacyData, size: 8))
      guard !pointer.isNull else { throw .corruptData("legacy str without data") }
      data = try read(pointer, count, readData)
    }
    return text(data, kind: kind)
  }

  /// Code points of `kind` bytes each (latin-1, UCS-2, UCS-4, little endian).
  /// Surrogates and values above U+10FFFF are not characters: U+FFFD instead.
  private static func text(_ data: [UInt8], kind: Int) -> String {
    var scalars = String.UnicodeScalarView()
    scalars.reserveCapacity(data.count / kind)
    var i = 0
    while i + kind <= data.count {
      var value: UInt32 = 0
      for b in 0..<kind { value |= UInt32(data[i + b]) << (8 * UInt32(b)) }
      scalars.append(Unicode.Scalar(value) ?? "\u{FFFD}")
      i += kind
    }
    return String(scalars)
  }

  // MARK: bytes from copied memory

  /// `header` if it holds at least `count` bytes, else `count` bytes read at `address`.
  private static func ensure(
    _ count: Int, of header: [UInt8], at address: RemoteAddress,
    _ readData: (RemoteAddress, Int) throws(SystemError) -> [UInt8]
  ) throws(PythonReadError) -> [UInt8] {
    header.count >= count ? header : try read(address, count, readData)
  }

  /// `count` bytes at `offset` inside the object: from the copy when it has them.
  private static func slice(
    _ count: Int, at offset: Int, of copied: [UInt8], object: RemoteAddress,
    _ readData: (RemoteAddress, Int) throws(SystemError) -> [UInt8]
  ) throws(PythonReadError) -> [UInt8] {
    if offset + count <= copied.count { return Array(copied[offset..<offset + count]) }
    return try read(object + offset, count, readData)
  }

  private static func read(
    _ address: RemoteAddress, _ count: Int,
    _ readData: (RemoteAddress, Int) throws(SystemError) -> [UInt8]
  ) throws(PythonReadError) -> [UInt8] {
    if count == 0 { return [] }
    let bytes: [UInt8]
    do { bytes = try readData(address, count) } catch { throw .unreadableMemory(address, count: count) }
    guard bytes.count >= count else { throw .unreadableMemory(address, count: count) }
    return bytes.count == count ? bytes : Array(bytes.prefix(count))
  }

  /// Little-endian unsigned integer of `size` bytes at `offset`; the caller has
  /// checked that the bytes are there.
  private static func unsigned(_ bytes: [UInt8], _ offset: Int, size: Int) -> UInt64 {
    var value: UInt64 = 0
    for i in 0..<size { value |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
    return value
  }

  private static func signed64(_ bytes: [UInt8], _ offset: Int) -> Int64 {
    Int64(bitPattern: unsigned(bytes, offset, size: 8))
  }
}
