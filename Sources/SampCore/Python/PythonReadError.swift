import SampSystem

/// Why reading the interpreter's state failed. One sample may fail with these
/// (counted, not fatal); attaching fails with them when the version is unknown.
public enum PythonReadError: Error, Hashable, Sendable, CustomStringConvertible {
  /// `_Py_DebugOffsets` does not start with "xdebugpy".
  case badCookie([UInt8])
  /// No layout is known for this interpreter version.
  case unsupportedVersion(major: Int, minor: Int)
  /// A size read from the target is outside what this version allows.
  case badSize(what: String, value: Int)
  /// A remote read failed.
  case unreadableMemory(RemoteAddress, count: Int)
  /// Bytes were read but make no sense (torn frame, garbage pointer, bad kind).
  case corruptData(String)
  /// The interpreter is a build this profiler cannot read (e.g. free-threaded).
  case unsupportedBuild(String)

  public var description: String {
    switch self {
    case .badCookie(let bytes):
      return "no _Py_DebugOffsets cookie (found \(bytes.prefix(8).map { String($0, radix: 16) }))"
    case .unsupportedVersion(let major, let minor):
      return "unsupported Python version \(major).\(minor)"
    case .badSize(let what, let value):
      return "implausible \(what): \(value)"
    case .unreadableMemory(let address, let count):
      return "cannot read \(count) bytes at \(address)"
    case .corruptData(let why):
      return "corrupt interpreter data: \(why)"
    case .unsupportedBuild(let why):
      return "unsupported Python build: \(why)"
    }
  }
}
