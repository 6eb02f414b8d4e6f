import SampSystem

/// Decodes a str (PEP 393) or Python 2 str (bytes) object from bytes copied
/// out of the target.
public enum PythonString {
  /// `header` holds the first bytes of the object (at least
  /// `layout.unicodeCompactData` + some data for compact strings; more is fine).
  /// `readData` reads more target memory when the text lies past the header
  /// or behind a legacy data pointer.
  public static func decode(
    header: [UInt8], layout: PythonLayout,
    readData: (RemoteAddress, Int) throws(SystemError) -> [UInt8]
  ) throws(PythonReadError) -> String {
    throw .corruptData("string decoding not implemented yet")
  }
}
