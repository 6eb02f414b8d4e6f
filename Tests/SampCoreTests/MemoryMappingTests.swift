import Testing
@testable import SampSystem

/// /proc/PID/maps parsing: every kind of line the kernel writes, and lines it
/// should not (a malformed line is skipped, never fatal).
@Suite struct MemoryMappingTests {
  @Test func parsesAFileBackedLine() throws {
    let m = try #require(MemoryMapping.parse(
      "55d0c6a00000-55d0c6a02000 r-xp 00002000 fe:00 1234                       /usr/bin/cat\n").first)
    #expect(m.start == 0x55d0_c6a0_0000)
    #expect(m.end == 0x55d0_c6a0_2000)
    #expect(m.readable && !m.writable && m.executable)
    #expect(m.fileOffset == 0x2000)
    #expect(m.inode == 1234)
    #expect(m.path == "/usr/bin/cat")
    #expect(m.isFileBacked)
    #expect(m.moduleName == "cat")
  }

  @Test func keepsSpacesInPaths() throws {
    let m = try #require(MemoryMapping.parse(
      "7f0000000000-7f0000001000 r--p 00000000 08:01 42   /opt/my app/lib x  y.so\n").first)
    #expect(m.path == "/opt/my app/lib x  y.so")
    #expect(m.moduleName == "lib x  y.so")
  }

  /// The kernel appends " (deleted)" to a file replaced or removed since it was
  /// mapped; the parser keeps the text as the kernel wrote it.
  @Test func keepsTheDeletedMarker() throws {
    let m = try #require(MemoryMapping.parse(
      "7f0000000000-7f0000001000 r-xp 00001000 08:01 77 /usr/lib/libfoo.so.1 (deleted)").first)
    #expect(m.path == "/usr/lib/libfoo.so.1 (deleted)")
    #expect(m.isFileBacked)
  }

  @Test(arguments: ["[stack]", "[heap]", "[vdso]", "[vvar]", "[vsyscall]", "[anon:libc_malloc]", "[stack:1234]"])
  func pseudoPathsAreNotFiles(path: String) throws {
    let m = try #require(MemoryMapping.parse("7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0    \(path)").first)
    #expect(m.path == path)
    #expect(!m.isFileBacked)
  }

  @Test func anonymousMappingsHaveNoPath() throws {
    let maps = """
      7f1234560000-7f1234570000 rw-p 00000000 00:00 0
      7f1234570000-7f1234580000 ---p 00000000 00:00 0 \n
      """
    let parsed = MemoryMapping.parse(maps)
    #expect(parsed.count == 2)
    #expect(parsed.allSatisfy { $0.path.isEmpty && !$0.isFileBacked && $0.inode == 0 })
    #expect(!parsed[1].readable && !parsed[1].writable && !parsed[1].executable)
  }

  @Test(arguments: [
    "",
    "garbage",
    "7f00-7f10 r-xp",
    "7f00-7f10 r-xp 00000000 08:01",
    "7f00+7f10 r-xp 00000000 08:01 5 /lib/a.so",
    "zz00-7f10 r-xp 00000000 08:01 5 /lib/a.so",
    "7f10-7f00 r-xp 00000000 08:01 5 /lib/a.so",
    "7f00-7f10 r- 00000000 08:01 5 /lib/a.so",
    "7f00-7f10 r-xp 0000zz00 08:01 5 /lib/a.so",
    "7f00-7f10 r-xp 00000000 08:01 -5 /lib/a.so",
    "7f00-7f10-7f20 r-xp 00000000 08:01 5 /lib/a.so",
    "ffffffffffffffffff-7f10 r-xp 00000000 08:01 5 /lib/a.so",
  ])
  func skipsMalformedLines(line: String) {
    let maps = "1000-2000 r-xp 00000000 08:01 1 /bin/before\n\(line)\n3000-4000 r-xp 00000000 08:01 2 /bin/after\n"
    let parsed = MemoryMapping.parse(maps)
    #expect(parsed.map(\.path) == ["/bin/before", "/bin/after"])
  }

  @Test func containsIsHalfOpen() throws {
    let m = try #require(MemoryMapping.parse("1000-2000 r-xp 00000000 08:01 1 /bin/x").first)
    #expect(m.contains(0x1000))
    #expect(m.contains(0x1fff))
    #expect(!m.contains(0x2000))
    #expect(!m.contains(0xfff))
  }

  @Test func parsesThisProcess() throws {
    let maps = try ProcFS.maps(of: Own.pid)
    #expect(maps.count > 5)
    #expect(maps.contains { $0.path.hasSuffix("/libc.so.6") && $0.executable })
    #expect(maps.contains { $0.path == "[stack]" })
    #expect(zip(maps, maps.dropFirst()).allSatisfy { $0.start < $1.start })
  }
}
