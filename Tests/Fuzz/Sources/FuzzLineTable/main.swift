import FuzzSupport
import SampCore

/// First byte picks the format, the next two the first line; the rest is the
/// table. Every offset up to twice the table's length is looked up.
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt { fuzzLineTable(fuzzBytes(data, size)) }

@_cdecl("FuzzLineTable_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
  runFuzzer(argc, argv, testOneInput)
}

func fuzzLineTable(_ bytes: [UInt8]) -> CInt {
  guard bytes.count >= 3 else { return 0 }
  let formats: [PythonLayout.LineTableFormat] = [
    .lnotab(signedLineDelta: false), .lnotab(signedLineDelta: true), .linetable310, .locations311,
  ]
  let format = formats[Int(bytes[0]) % formats.count]
  let firstLine = Int(bytes[1]) << 8 | Int(bytes[2])
  let table = Array(bytes[3...])
  for offset in stride(from: -2, through: min(table.count * 2, 4096), by: 1) {
    _ = LineTable.line(forByteOffset: offset, table: table, firstLine: firstLine, format: format)
  }
  return 0
}
