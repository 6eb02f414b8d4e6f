/// The `_Py_DebugOffsets` table that CPython 3.13+ keeps at the start of
/// `_PyRuntime` (placeholder; parsing follows).
public struct DebugOffsets: Sendable {
  public let version: (major: Int, minor: Int, micro: Int, hex: UInt64)

  public static func parse(_ bytes: [UInt8]) throws(PythonReadError) -> DebugOffsets {
    throw .corruptData("not implemented yet")
  }

  public func apply(to base: PythonLayout) -> (PythonLayout, mismatches: [String]) {
    (base, [])
  }
}
