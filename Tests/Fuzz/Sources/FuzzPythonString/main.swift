import FuzzSupport
import SampCore
import SampSystem

/// The input is a fake memory image at address 0x1000: a str object header
/// followed by whatever the decoder asks for. Every version's layout is tried.
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt { fuzzPythonString(fuzzBytes(data, size)) }

@_cdecl("FuzzPythonString_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
  runFuzzer(argc, argv, testOneInput)
}

func fuzzPythonString(_ bytes: [UInt8]) -> CInt {
  let image = bytes
  let base: UInt64 = 0x1000
  let read = { (at: RemoteAddress, count: Int) throws(SystemError) -> [UInt8] in
    guard at.rawValue >= base, at.rawValue - base <= UInt64(image.count), count >= 0,
      count <= image.count - Int(at.rawValue - base)
    else { throw .unreadableMemory(at, count: count) }
    let start = Int(at.rawValue - base)
    return Array(image[start..<start + count])
  }
  for (major, minor) in [(2, 7), (3, 6), (3, 11), (3, 12), (3, 13)] {
    guard let layout = PythonLayout.forVersion(major: major, minor: minor) else { continue }
    let header = Array(image.prefix(80))
    _ = try? PythonString.decode(at: RemoteAddress(base), header: header, layout: layout, maxLength: 4096, readData: read)
    _ = try? PythonString.bytes(at: RemoteAddress(base), header: header, layout: layout, maxLength: 4096, readData: read)
  }
  return 0
}
