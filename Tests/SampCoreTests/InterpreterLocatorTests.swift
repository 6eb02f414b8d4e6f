import Testing
import SampSystem
@testable import SampCore

/// Byte images at fixed addresses; any other read fails. Where images overlap,
/// the one starting closest below the address answers.
private final class ImageMemory: RemoteMemory {
  var regions: [UInt64: [UInt8]] = [:]
  func read(at address: RemoteAddress, count: Int) throws(SystemError) -> [UInt8] {
    for (start, bytes) in regions.sorted(by: { $0.key > $1.key }) where address.rawValue >= start && count >= 0 {
      let offset = address.rawValue - start
      guard offset < UInt64(bytes.count), UInt64(count) <= UInt64(bytes.count) - offset else { continue }
      return Array(bytes[Int(offset)..<Int(offset) + count])
    }
    throw .unreadableMemory(address, count: count)
  }
}

private func le(_ value: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) } }

@Suite struct InterpreterLocatorTests {
  let bias: UInt64 = 0x7f12_3400_0000

  func locate(_ elf: [UInt8], path: String = "/opt/py/lib/libpython3.12.so.1.0", memory: RemoteMemory)
    throws(SampError) -> PythonInterpreterInfo?
  {
    let maps = [MemoryMapping(start: bias, end: bias + 0x1_0000, readable: true, writable: false, executable: true,
                              fileOffset: 0, inode: 1, path: path)]
    guard case .found(let info) = try InterpreterLocator.locate(in: try! ElfFile(bytes: elf), path: path, maps: maps,
                                                                memory: memory)
    else { return nil }
    return info
  }

  /// _PyRuntime (zeros) at bias + 0x4000 and Py_Version at bias + 0x4100 (a longer
  /// runtime image covers Py_Version: the debug-offsets test needs no Py_Version).
  fileprivate func memory(pyVersion: UInt64, runtime: [UInt8] = [UInt8](repeating: 0, count: 0x100)) -> ImageMemory {
    let m = ImageMemory()
    m.regions[bias + 0x4000] = runtime
    m.regions[bias + 0x4100] = le(pyVersion)
    return m
  }

  @Test func findsRuntimeAndVersionInASharedLibrary() throws {
    let info = try #require(try locate(tinyElf(), memory: memory(pyVersion: 0x030c_01f0)))
    #expect(info.version.description == "3.12.1")
    #expect(info.versionSource == "Py_Version")
    #expect(info.loadBias == bias)
    #expect(info.runtime == RemoteAddress(bias + 0x4000))
    #expect(info.interpreterHead == RemoteAddress(bias + 0x4000) + info.layout.runtimeInterpretersHead!)
    #expect(info.summary == "3.12.1 (libpython3.12.so.1.0)")
    #expect(info.warnings.isEmpty)
  }

  @Test func runtimeSectionIsPlacedBySectionAddressNotFileOffset() throws {
    let elf = tinyElf(symbols: [("Py_Version", 0x4100)], runtimeSection: (address: 0x4000, offset: 0x3000))
    let info = try #require(try locate(elf, memory: memory(pyVersion: 0x030c_01f0)))
    #expect(info.runtime == RemoteAddress(bias + 0x4000))
  }

  @Test func staticExecutableHasNoBias() throws {
    let m = ImageMemory()
    m.regions[0x4000] = [UInt8](repeating: 0, count: 0x100)
    m.regions[0x4100] = le(0x030b_02f0)
    let info = try #require(try locate(tinyElf(type: 2), path: "/usr/bin/python3.11", memory: m))
    #expect(info.loadBias == 0)
    #expect(info.runtime == RemoteAddress(0x4000))
    #expect(info.version.description == "3.11.2")
  }

  @Test func versionNewerThanTheTablesIsRefusedByName() {
    do {
      _ = try locate(tinyElf(), path: "/opt/py/lib/libpython3.15.so.1.0", memory: memory(pyVersion: 0x030f_00a3))
      Issue.record("3.15 was accepted")
    } catch {
      guard case .unsupportedPython(let version, _) = error else {
        Issue.record("unexpected \(error)")
        return
      }
      #expect(version == "3.15.0a3")
      #expect(error.message.contains("3.15.0a3"))
    }
  }

  @Test func debugOffsetsVersionComesFirst() throws {
    // A 3.13 cookie at _PyRuntime wins over Py_Version; a table too short to
    // parse is reported and the built-in layout kept.
    let runtime = Array("xdebugpy".utf8) + le(0x030d_00f0) + le(0) + [UInt8](repeating: 0, count: 1000)
    let info = try #require(try locate(tinyElf(), path: "/opt/py/lib/libpython3.13.so.1.0",
                                       memory: memory(pyVersion: 0x030c_01f0, runtime: runtime)))
    #expect(info.version.description == "3.13.0")
    #expect(info.versionSource == "_Py_DebugOffsets")
    #expect(info.layout.minor == 13)
  }

  @Test func fileNameThatDisagreesIsAWarningNotTheVersion() throws {
    let info = try #require(try locate(tinyElf(), path: "/opt/py/lib/libpython3.9.so.1.0", memory: memory(pyVersion: 0x030c_01f0)))
    #expect(info.version.description == "3.12.1")
    #expect(info.warnings.count == 1)
  }

  @Test func noRuntimeSymbolOrSectionIsNotPython() throws {
    let elf = tinyElf(symbols: [("PyCode_Type", 0x4200)], runtimeSection: nil)
    #expect(try locate(elf, memory: memory(pyVersion: 0x030c_01f0)) == nil)
  }
}
