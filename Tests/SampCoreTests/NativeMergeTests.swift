import Testing
@testable import SampCore

@Suite struct NativeMergeTests {
  let merger = NativeMerge(interpreterModules: ["libpython3.12.so.1.0"], pythonMajor: 3)

  func n(_ name: String, _ module: String = "libpython3.12.so.1.0") -> Frame {
    Frame(kind: .native, name: name, module: module)
  }
  func py(_ name: String) -> Frame { .python(name, file: "app.py", line: 1, firstLine: 1) }

  @Test func replacesEvalFramesAndHidesInternals() {
    let native = [
      n("_start", "python3.12"), n("Py_BytesMain"), n("_PyEval_EvalFrameDefault"), n("_PyFunction_Vectorcall"),
      n("cfunction_vectorcall_O"), n("zlib_compress_impl", "zlib.cpython-312-x86_64-linux-gnu.so"),
      n("_PyEval_EvalFrameDefault"), n("deflate", "libz.so.1"),
    ]
    let groups = [[py("<module>"), py("main")], [py("callback")]]
    let (frames, outcome) = merger.merge(native: native, python: groups)
    #expect(outcome == .merged)
    #expect(frames.map { $0.name ?? "" } == ["_start", "<module>", "main", "zlib_compress_impl", "callback", "deflate"])
  }

  @Test func innermostEvalCallWithoutFramesYetIsNotAMismatch() {
    let native = [n("_start", "python3.12"), n("_PyEval_EvalFrameDefault"), n("_json_scan", "_json.so"),
                  n("_PyEval_EvalFrameDefault")]
    let (frames, outcome) = merger.merge(native: native, python: [[py("decode")]])
    #expect(outcome == .merged)
    #expect(frames.map { $0.name ?? "" } == ["_start", "decode", "_json_scan"])
  }

  @Test func mismatchKeepsEveryFrameAndSaysSo() {
    let native = [n("_start", "python3.12"), n("_PyEval_EvalFrameDefault"), n("deflate", "libz.so.1")]
    let (frames, outcome) = merger.merge(native: native, python: [[py("a")], [py("b")], [py("c")]])
    #expect(outcome == .mismatch(evalFrames: 1, pythonGroups: 3))
    #expect(frames.map { $0.name ?? "" } == ["_start", "a", "b", "c", "deflate"])
  }

  /// A gevent worker greenlet: the hub's frames above its g_initialstub (the
  /// hub's eval frame among them) must not take the worker's Python frames.
  @Test func greenletFramesStartAtTheirOwnBootstrap() {
    let g = "_greenlet.cpython-312-x86_64-linux-gnu.so"
    let native = [
      n("greenlet::UserGreenlet::g_switch()", g), n("greenlet::UserGreenlet::g_initialstub(void*)", g),
      n("greenlet::UserGreenlet::inner_bootstrap(_greenlet*, _object*)", g), n("_PyEval_EvalFrameDefault"),
      n("loop_run", "corecext.so"), n("green_switch(_greenlet*, _object*, _object*)", g),
      n("greenlet::UserGreenlet::g_switch()", g), n("greenlet::UserGreenlet::g_initialstub(void*)", g),
      n("greenlet::UserGreenlet::inner_bootstrap(_greenlet*, _object*)", g), n("Greenlet_run", "cgreenlet.so"),
      n("_PyEval_EvalFrameDefault"), n("method_vectorcall"), n("_PyEval_EvalFrameDefault"),
    ]
    let (frames, outcome) = merger.merge(native: native, python: [[py("handle_and_close")], [py("handle"), py("burn")]])
    #expect(outcome == .merged)
    #expect(frames.map { $0.name ?? "" } == ["greenlet::UserGreenlet::g_initialstub(void*)",
      "greenlet::UserGreenlet::inner_bootstrap(_greenlet*, _object*)", "Greenlet_run", "handle_and_close", "handle", "burn"])
  }

  /// One eval frame too many is the innermost call at its boundary only when
  /// nothing but interpreter code runs below it.
  @Test func anExtraEvalFrameAboveCCodeIsAMismatch() {
    let native = [n("_start", "python3.12"), n("_PyEval_EvalFrameDefault"), n("_PyEval_EvalFrameDefault"),
                  n("deflate", "libz.so.1")]
    #expect(merger.merge(native: native, python: [[py("a")]]).outcome == .mismatch(evalFrames: 2, pythonGroups: 1))
  }

  @Test func detectsGILWait() {
    #expect(merger.isWaitingForGIL([n("_PyEval_EvalFrameDefault"), n("PyEval_RestoreThread"), n("take_gil"), n("pthread_cond_timedwait", "libc.so.6")]))
    #expect(!merger.isWaitingForGIL([n("_PyEval_EvalFrameDefault"), n("deflate", "libz.so.1")]))
  }
}
