import Foundation
import Glibc
import Testing
@testable import SampSystem

/// Names for addresses (on this very process, which needs no ptrace) and the
/// pure parts: demangling, ELF name cleaning, the bounded cache.
@Suite struct SymbolizerTests {
  /// An exported libc function's address in this process.
  func address(of function: String) throws -> UInt64 {
    let pointer = try #require(dlsym(UnsafeMutableRawPointer(bitPattern: 0), function))
    return UInt64(UInt(bitPattern: pointer))
  }

  @Test func secondLookupIsACacheHitWithEqualResult() throws {
    let symbolizer = try Symbolizer(pid: Own.pid)
    let address = try address(of: "qsort")
    let first = symbolizer.frames(at: address, isReturnAddress: false)
    #expect(symbolizer.cacheMisses == 1 && symbolizer.cacheHits == 0)
    let second = symbolizer.frames(at: address, isReturnAddress: false)
    #expect(symbolizer.cacheHits == 1 && symbolizer.cacheMisses == 1)
    #expect(first == second)
    // A return address is looked up one byte earlier: a different entry.
    _ = symbolizer.frames(at: address, isReturnAddress: true)
    #expect(symbolizer.cacheMisses == 2)
  }

  @Test func namesLibcFunctionsWithoutVersions() throws {
    let symbolizer = try Symbolizer(pid: Own.pid)
    for function in ["qsort", "clock_nanosleep", "pthread_create"] {
      let frames = symbolizer.frames(at: try address(of: function), isReturnAddress: false)
      let outer = try #require(frames.last)
      // dlsym's name or one of its aliases, never with a version attached.
      #expect(outer.symbol?.contains("@") == false, "\(frames)")
      #expect(outer.symbol?.hasSuffix(function) == true, "\(frames)")
      #expect(outer.module == "libc.so.6")
      #expect(!outer.inlined)
      #expect(frames.dropLast().allSatisfy { $0.inlined })
    }
  }

  /// An address outside every module (JIT code, a garbage return address) is
  /// looked up after re-reading the maps, but re-reported only when the mapped
  /// files changed: no refresh storm. (On a child: in this process, libdw's own
  /// mappings of the files it reads would change the maps.)
  @Test func unknownAddressesDoNotRefreshUnchangedMaps() throws {
    let child = Process()
    child.executableURL = URL(fileURLWithPath: "/bin/sleep")
    child.arguments = ["10"]
    try child.run()
    defer {
      kill(child.processIdentifier, SIGKILL)  // SIGTERM may be blocked, as in the test runner
      child.waitUntilExit()
    }
    usleep(100_000)  // past exec
    let symbolizer = try Symbolizer(pid: ProcessID(child.processIdentifier))
    for address: UInt64 in [0x10, 0x20, 0x4018_0000_0000_0000] {
      #expect(symbolizer.frames(at: address, isReturnAddress: false).first?.module == "")
    }
    #expect(symbolizer.refresh() == false)
    #expect(symbolizer.refreshes == 0)
  }

  @Test func addressOutsideEveryModuleHasNoName() throws {
    let symbolizer = try Symbolizer(pid: Own.pid)
    for address: UInt64 in [0x10, 0x4018_0000_0000_0000, 0xffff_ffff_ffff_f000] {
      let frames = symbolizer.frames(at: address, isReturnAddress: true)
      #expect(frames == [SymbolizedFrame(symbol: nil, file: nil, line: nil, module: "", address: address, inlined: false)])
    }
  }

  // MARK: demangling

  @Test(arguments: [
    // C++ (Itanium): namespaces, class and function templates, clones.
    ("_ZN8geometry5Scene6renderEx", "geometry::Scene::render(long long)"),
    ("_ZN8geometry11AccumulatorIdE3addEd", "geometry::Accumulator<double>::add(double)"),
    ("_ZN8geometry5blendIdEET_S1_S1_", "double geometry::blend<double>(double, double)"),
    ("_ZNSt6vectorIiSaIiEE9push_backERKi", "std::vector<int, std::allocator<int> >::push_back(int const&)"),
    // Swift: the runtime's simplified form.
    ("$s12native_swift5MixerV3mixyS2dF", "Mixer.mix(_:)"),
    ("$s12native_swift6WorkerC4stepySdxSBRzlF", "Worker.step<A>(_:)"),
    ("$sSa6appendyyxnF", "Array.append(_:)"),
    // Rust legacy: hash dropped, escapes decoded.
    ("_ZN1r6shapes6Circle4grow17h125ef2658365004bE", "r::shapes::Circle::grow"),
    ("_ZN53_$LT$r..shapes..Circle$u20$as$u20$r..shapes..Area$GT$4area17h75092d7bd22efa40E",
     "<r::shapes::Circle as r::shapes::Area>::area"),
    ("_ZN1r4work28_$u7b$$u7b$closure$u7d$$u7d$17heb20283862f75a5eE", "r::work::{{closure}}"),
    // Rust v0 (expected values from c++filt, crate hashes dropped).
    ("_RNvCs6GmmlP4bgsG_1r4main", "r::main"),
    ("_RNvXNtCs6GmmlP4bgsG_1r6shapesNtB2_6CircleNtB2_4Area4area", "<r::shapes::Circle as r::shapes::Area>::area"),
    ("_RINvMs_NtCs6GmmlP4bgsG_1r6shapesNtB5_6Circle4growfEB7_", "<r::shapes::Circle>::grow::<f32>"),
    ("_RNCNvCs6GmmlP4bgsG_1r4main0B3_", "r::main::{closure#0}"),
    ("_RINvMNtCsgEmfK2I1SDS_4core5sliceSh11copy_withinINtNtNtB5_3ops5range14RangeInclusivejEECsfEOYDRpO4Ta_11miniz_oxide",
     "<[u8]>::copy_within::<core::ops::range::RangeInclusive<usize>>"),
    ("_RINvMNtCsgEmfK2I1SDS_4core3stre18trim_start_matchesReECsgY6Mt91CT9J_14rustc_demangle",
     "<str>::trim_start_matches::<&str>"),
    ("_RINvMs2_NtCsgEmfK2I1SDS_4core3fmtNtB6_9Arguments3newKj7_Kj2_ECs6GmmlP4bgsG_1r",
     "<core::fmt::Arguments>::new::<7, 2>"),
    ("_RNvYNCNvCs6GmmlP4bgsG_1r4main0INtNtNtCsgEmfK2I1SDS_4core3ops8function6FnOnceTmEE9call_onceB6_",
     "<r::main::{closure#0} as core::ops::function::FnOnce<(u32,)>>::call_once"),
    // Not mangled, or not understood: unchanged.
    ("main", "main"),
    ("_start", "_start"),
    ("_Rxyz", "_Rxyz"),
    ("_ZN3fooE_garbage", "_ZN3fooE_garbage"),
  ])
  func demangles(mangled: String, readable: String) {
    #expect(Demangler.demangle(mangled) == readable)
  }

  /// Symbol names come from the target's files: hostile input must fail
  /// cleanly (backreferences to themselves, unbounded nesting, truncation).
  @Test(arguments: [
    "_RB_", "_RNvB0_3foo", "_R" + String(repeating: "I", count: 20_000), "_R" + String(repeating: "NvNv", count: 5000),
    "_RNvCs", "_RNvC999999999999999999999foo", "_RINvC3foo3barKc110000_E", "_ZN" + String(repeating: "9", count: 40) + "E",
  ])
  func hostileSymbolsStayMangled(symbol: String) {
    #expect(Demangler.demangle(symbol) == symbol)
  }

  @Test(arguments: [
    ("__libc_start_main@@GLIBC_2.34", "__libc_start_main"),
    ("clock_nanosleep@GLIBC_2.2.5", "clock_nanosleep"),
    ("work_a.constprop.0", "work_a"),
    ("parse.part.0.isra.0", "parse"),
    ("render.cold", "render"),
    ("helper.lto_priv.3", "helper"),
    ("_ZN1r4work17h6df8364497bbd2b9E.llvm.1234567", "_ZN1r4work17h6df8364497bbd2b9E"),
    ("_GLOBAL__sub_I_main.cpp", "_GLOBAL__sub_I_main.cpp"),
    ("name.with.dots", "name.with.dots"),
    ("@weird", "@weird"),
  ])
  func cleansELFNames(raw: String, clean: String) {
    #expect(Demangler.cleanELFName(raw) == clean)
  }

  // MARK: bounded cache

  @Test func cacheStaysWithinItsBound() {
    var cache = BoundedCache<Int, Int>(limit: 100)
    for i in 0..<10_000 { cache[i] = i }
    #expect(cache.count <= 100)
    #expect(cache[9_999] == 9_999)
    #expect(cache[0] == nil)
  }

  @Test func recentlyUsedEntriesSurviveAGenerationChange() {
    var cache = BoundedCache<Int, String>(limit: 10)
    cache[1] = "one"
    for i in 2...5 { cache[i] = "\(i)" }
    // Generation full (5 of 10): the next insert moves these to the old one.
    cache[6] = "6"
    #expect(cache[1] == "one")  // a hit in the old generation moves it back
    for i in 7...11 { cache[i] = "\(i)" }
    #expect(cache[1] == "one")
    #expect(cache[2] == nil)
    #expect(cache.hits == 2 && cache.misses == 1)
  }
}
