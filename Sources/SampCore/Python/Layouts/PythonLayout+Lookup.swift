extension PythonLayout {
  /// The layout for a CPython minor version, or nil when none is known.
  public static func forVersion(major: Int, minor: Int) -> PythonLayout? {
    generated.first { $0.major == major && $0.minor == minor }
  }
}
