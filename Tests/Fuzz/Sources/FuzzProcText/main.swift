import FuzzSupport
import SampCore
import SampSystem

/// Text sampswift parses: /proc/PID/maps, /proc/PID/status, task stat, schedstat and syscall lines,
/// and folded profiles given to `diff`.
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt { fuzzProcText(fuzzBytes(data, size)) }

@_cdecl("FuzzProcText_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
  runFuzzer(argc, argv, testOneInput)
}

func fuzzProcText(_ bytes: [UInt8]) -> CInt {
  let text = String(decoding: bytes, as: UTF8.self)
  _ = MemoryMapping.parse(text)
  _ = ProcessStatus(parsing: text)
  _ = ThreadStat(parsing: bytes)
  _ = SchedStat(parsing: bytes)
  _ = bytes.withUnsafeBufferPointer { ThreadRunStateReader.parseSyscall($0) }
  _ = FoldedDiff.diff(before: text, after: String(text.reversed()), normalize: true)
  return 0
}
