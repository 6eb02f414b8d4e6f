import Testing
@testable import SampCore

/// A small but complete ELF64 file: one PT_LOAD, sections (null, .shstrtab,
/// .dynstr, .dynsym, .PyRuntime), the given defined symbols.
func tinyElf(type: UInt16 = 3, symbols: [(String, UInt64)] = [("_PyRuntime", 0x4000), ("Py_Version", 0x4100)],
             runtimeSection: (address: UInt64, offset: UInt64)? = (0x4000, 0x3000)) -> [UInt8] {
  func put(_ value: UInt64, _ width: Int, at offset: Int, in bytes: inout [UInt8]) {
    for i in 0..<width { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
  }
  let shstr = Array("\0.shstrtab\0.dynstr\0.dynsym\0.PyRuntime\0".utf8)
  var dynstr: [UInt8] = [0]
  var dynsym = [UInt8](repeating: 0, count: 24 * (symbols.count + 1))
  for (i, (name, value)) in symbols.enumerated() {
    let b = 24 * (i + 1)
    put(UInt64(dynstr.count), 4, at: b, in: &dynsym)
    put(5, 2, at: b + 6, in: &dynsym)  // defined in section 5
    put(value, 8, at: b + 8, in: &dynsym)
    dynstr += Array(name.utf8) + [0]
  }
  let phoff = 64
  let shstrOff = phoff + 56
  let dynstrOff = shstrOff + shstr.count
  let dynsymOff = dynstrOff + dynstr.count
  let shoff = dynsymOff + dynsym.count
  var out = [UInt8](repeating: 0, count: 64 + 56) + shstr + dynstr + dynsym + [UInt8](repeating: 0, count: 64 * 5)
  out[0] = 0x7f; out[1] = 0x45; out[2] = 0x4c; out[3] = 0x46; out[4] = 2; out[5] = 1; out[6] = 1
  put(UInt64(type), 2, at: 16, in: &out)
  put(UInt64(phoff), 8, at: 32, in: &out)
  put(UInt64(shoff), 8, at: 40, in: &out)
  put(64, 2, at: 52, in: &out); put(56, 2, at: 54, in: &out); put(1, 2, at: 56, in: &out)
  put(64, 2, at: 58, in: &out); put(5, 2, at: 60, in: &out); put(1, 2, at: 62, in: &out)
  // PT_LOAD r-x at vaddr 0, the whole file.
  put(1, 4, at: phoff, in: &out); put(5, 4, at: phoff + 4, in: &out)
  put(UInt64(out.count), 8, at: phoff + 32, in: &out); put(UInt64(out.count), 8, at: phoff + 40, in: &out)
  func section(_ index: Int, name: Int, type: UInt32, addr: UInt64, offset: UInt64, size: Int, link: UInt32) {
    let b = shoff + 64 * index
    put(UInt64(name), 4, at: b, in: &out); put(UInt64(type), 4, at: b + 4, in: &out)
    put(addr, 8, at: b + 16, in: &out); put(offset, 8, at: b + 24, in: &out)
    put(UInt64(size), 8, at: b + 32, in: &out); put(UInt64(link), 4, at: b + 40, in: &out)
  }
  section(1, name: 1, type: 3, addr: 0, offset: UInt64(shstrOff), size: shstr.count, link: 0)
  section(2, name: 11, type: 3, addr: 0, offset: UInt64(dynstrOff), size: dynstr.count, link: 0)
  section(3, name: 19, type: 11, addr: 0, offset: UInt64(dynsymOff), size: dynsym.count, link: 2)
  // Without a .PyRuntime section, section 4 is left unnamed.
  section(4, name: runtimeSection == nil ? 0 : 27, type: 1, addr: runtimeSection?.address ?? 0x4000,
          offset: runtimeSection?.offset ?? 0x3000, size: 0x100, link: 0)
  return out
}

@Suite struct ElfFileTests {
  @Test func readsSectionsAndSymbols() throws {
    let elf = try ElfFile(bytes: tinyElf())
    #expect(elf.fileType == .shared)
    #expect(elf.sections.map(\.name) == ["", ".shstrtab", ".dynstr", ".dynsym", ".PyRuntime"])
    #expect(elf.section(named: ".PyRuntime")?.address == 0x4000)
    #expect(elf.section(named: ".PyRuntime")?.offset == 0x3000)
    let symbols = try elf.symbols(named: ["_PyRuntime", "Py_Version", "missing"])
    #expect(symbols["_PyRuntime"]?.value == 0x4000)
    #expect(symbols["Py_Version"]?.value == 0x4100)
    #expect(symbols["missing"] == nil)
    #expect(elf.firstLoad?.vaddr == 0)
  }

  @Test func readsItsOwnExecutable() throws {
    let elf = try ElfFile(path: "/proc/self/exe")
    #expect(elf.section(named: ".text") != nil)
    #expect(elf.firstLoad != nil)
  }

  @Test func notElfAndWrongClassThrow() {
    #expect(throws: ElfError.notElf) { try ElfFile(bytes: Array("hello, world, not an ELF at all, padding to 64 bytes.............".utf8)) }
    var elf32 = tinyElf()
    elf32[4] = 1
    #expect(throws: ElfError.self) { try ElfFile(bytes: elf32) }
    #expect(throws: ElfError.self) { try ElfFile(bytes: []) }
  }

  /// Every truncation and many corruptions: each either parses or throws.
  @Test func truncatedAndCorruptedFilesNeverTrap() {
    let good = tinyElf()
    for length in 0..<good.count {
      let cut = Array(good.prefix(length))
      if let elf = try? ElfFile(bytes: cut) { _ = try? elf.symbols(named: ["_PyRuntime"]) }
    }
    var state: UInt64 = 0x1234_5678
    for _ in 0..<3000 {
      var bytes = good
      for _ in 0..<4 {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        let at = Int(state >> 33) % bytes.count
        bytes[at] = UInt8(truncatingIfNeeded: state >> 17)
      }
      if let elf = try? ElfFile(bytes: bytes) {
        _ = try? elf.symbols(named: ["_PyRuntime", "Py_Version"])
        _ = elf.section(named: ".PyRuntime").map { try? elf.data(of: $0) }
        _ = try? elf.bytes(atVirtualAddress: 0x40, count: 16)
      }
    }
  }

  @Test func hostileCountsAreRejected() {
    var bytes = tinyElf()
    bytes[60] = 0xff; bytes[61] = 0xfe  // 65279 sections
    #expect(throws: ElfError.self) { try ElfFile(bytes: bytes) }
    bytes = tinyElf()
    for i in 40..<48 { bytes[i] = 0xff }  // section headers at 2^64 - 1
    #expect(throws: ElfError.self) { try ElfFile(bytes: bytes) }
  }
}
