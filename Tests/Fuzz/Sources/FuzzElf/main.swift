import FuzzSupport
import SampCore

/// Any bytes as an ELF file: every accessor must throw or answer, never trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt { fuzzElf(fuzzBytes(data, size)) }

@_cdecl("FuzzElf_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
  runFuzzer(argc, argv, testOneInput)
}

func fuzzElf(_ bytes: [UInt8]) -> CInt {
  guard let elf = try? ElfFile(bytes: bytes) else { return 0 }
  _ = elf.programHeaders
  for section in elf.sections.prefix(64) { _ = try? elf.data(of: section) }
  _ = try? elf.symbols(named: ["_PyRuntime", "Py_Version", "PyCode_Type", "interp_head"])
  _ = elf.section(named: ".PyRuntime")
  return 0
}
