import Testing
@testable import SampCore

/// A small but complete ELF64 shared object: one PT_LOAD, sections
/// (null, .shstrtab, .dynstr, .dynsym, .PyRuntime), two defined symbols.
private func tinyElf() -> [UInt8] {
  var out = [UInt8](repeating: 0, count: 64)
  func put(_ value: UInt64, _ width: Int, at offset: Int, in bytes: inout [UInt8]) {
    for i in 0..<width { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
  }
  let shstr = Array("\0.shstrtab\0.dynstr\0.dynsym\0.PyRuntime\0".utf8)
  let dynstr = Array("\0_PyRuntime\0Py_Version\0".utf8)
  var dynsym = [UInt8](repeating: 0, count: 24 * 3)
  put(1, 4, at: 24, in: &dynsym); put(5, 2, at: 30, in: &dynsym); put(0x4000, 8, at: 32, in: &dynsym)
  put(12, 4, at: 48, in: &dynsym); put(5, 2, at: 54, in: &dynsym); put(0x4100, 8, at: 56, in: &dynsym)
  let phoff = 64
  let shstrOff = phoff + 56
  let dynstrOff = shstrOff + shstr.count
  let dynsymOff = dynstrOff + dynstr.count
  let shoff = dynsymOff + dynsym.count
  out += [UInt8](repeating: 0, count: 56) + shstr + dynstr + dynsym + [UInt8](repeating: 0, count: 64 * 5)
  out[0] = 0x7f; out[1] = 0x45; out[2] = 0x4c; out[3] = 0x46; out[4] = 2; out[5] = 1; out[6] = 1
  put(3, 2, at: 16, in: &out)  // ET_DYN
  put(UInt64(phoff), 8, at: 32, in: &out)
  put(UInt64(shoff), 8, at: 40, in: &out)
  put(64, 2, at: 52, in: &out); put(56, 2, at: 54, in: &out); put(1, 2, at: 56, in: &out)
  put(64, 2, at: 58, in: &out); put(5, 2, at: 60, in: &out); put(1, 2, at: 62, in: &out)
  // PT_LOAD r-x at vaddr 0, the whole file.
  put(1, 4, at: phoff, in: &out); put(5, 4, at: phoff + 4, in: &out)
  put(UInt64(out.count), 8, at: phoff + 32, in: &out); put(UInt64(out.count), 8, at: phoff + 40, in: &out)
  func section(_ index: Int, name: Int, type: UInt32, addr: UInt64, offset: Int, size: Int, link: UInt32) {
    let b = shoff + 64 * index
    put(UInt64(name), 4, at: b, in: &out); put(UInt64(type), 4, at: b + 4, in: &out)
    put(addr, 8, at: b + 16, in: &out); put(UInt64(offset), 8, at: b + 24, in: &out)
    put(UInt64(size), 8, at: b + 32, in: &out); put(UInt64(link), 4, at: b + 40, in: &out)
  }
  section(1, name: 1, type: 3, addr: 0, offset: shstrOff, size: shstr.count, link: 0)
  section(2, name: 11, type: 3, addr: 0, offset: dynstrOff, size: dynstr.count, link: 0)
  section(3, name: 19, type: 11, addr: 0, offset: dynsymOff, size: dynsym.count, link: 2)
  section(4, name: 27, type: 1, addr: 0x4000, offset: 0x3000, size: 0x100, link: 0)
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
