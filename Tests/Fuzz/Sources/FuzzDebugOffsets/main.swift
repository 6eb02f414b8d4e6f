import FuzzSupport
import SampCore

/// Any bytes as a _Py_DebugOffsets table read from a target.
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt { fuzzDebugOffsets(fuzzBytes(data, size)) }

@_cdecl("FuzzDebugOffsets_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
  runFuzzer(argc, argv, testOneInput)
}

func fuzzDebugOffsets(_ bytes: [UInt8]) -> CInt {
  _ = try? DebugOffsets.byteCount(header: Array(bytes.prefix(DebugOffsets.headerSize)))
  if let table = try? DebugOffsets.parse(bytes) { _ = try? table.layout() }
  return 0
}
