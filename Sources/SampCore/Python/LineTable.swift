/// Maps a bytecode byte offset to a source line, for the three CPython line
/// table formats. Pure and bounded: garbage tables give nil or some line, never
/// a trap or an endless loop.
public enum LineTable {
  public static func line(
    forByteOffset offset: Int, table: [UInt8], firstLine: Int, format: PythonLayout.LineTableFormat
  ) -> Int? {
    return nil  // filled in below
  }
}
