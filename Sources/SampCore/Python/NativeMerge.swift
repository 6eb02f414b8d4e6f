/// Merges a thread's native stack with its Python stack for `--native`: each
/// interpreter eval-loop frame is replaced by the Python frames it is running,
/// C extension frames stay where they are, interpreter internals are hidden.
///
/// The Python frames come grouped by the C-level eval call that runs them (one
/// frame per call up to 3.10; from 3.11 a call runs frames up to the next entry
/// frame), root first, so group i belongs to the i-th eval frame from the root.
public struct NativeMerge: Sendable {
  /// File names of the interpreter's own code: libpythonX.Y.so, or the
  /// executable when libpython is linked statically.
  public var interpreterModules: Set<String>
  /// The eval-loop function whose frames stand for Python calls.
  public var evalFunction: String

  public init(interpreterModules: Set<String>, pythonMajor: Int) {
    self.interpreterModules = interpreterModules
    evalFunction = pythonMajor == 2 ? "PyEval_EvalFrameEx" : "_PyEval_EvalFrameDefault"
  }

  public enum Outcome: Equatable, Sendable {
    case merged
    /// Eval frames and Python groups did not pair up; the stack is a best effort.
    case mismatch(evalFrames: Int, pythonGroups: Int)
  }

  /// Native frames root first (inlined frames expanded), Python groups root first.
  public func merge(native all: [Frame], python groups: [[Frame]]) -> (frames: [Frame], outcome: Outcome) {
    // Under greenlet the running greenlet's C stack begins at its g_initialstub:
    // the frames above it are other greenlets' (their Python frames are not in
    // this chain), so they are left out, and their eval frames never take ours.
    let native = Array(all[greenletStart(all)...])
    let evalIndices = native.indices.filter { isEval(native[$0]) }
    var groups = groups
    if evalIndices.count == groups.count + 1, let last = evalIndices.last,
      native[(last + 1)...].allSatisfy({ isInternal($0) })
    {
      // The innermost eval call has not pushed its first Python frame yet (or has
      // just popped its last): a consistent state, caught at the call boundary.
      groups.append([])
    }
    var out: [Frame] = []
    out.reserveCapacity(native.count + groups.reduce(0) { $0 + $1.count })
    if evalIndices.count == groups.count {
      var next = 0
      for frame in native {
        if isEval(frame) {
          out += groups[next]
          next += 1
        } else if !isInternal(frame) {
          out.append(frame)
        }
      }
      return (out, .merged)
    }
    // Best effort: outer native frames, all Python frames, then the native
    // frames above the innermost eval frame (the C code Python called into).
    let innermost = evalIndices.last ?? -1
    for (i, frame) in native.enumerated() where i < innermost && !isEval(frame) && !isInternal(frame) {
      out.append(frame)
    }
    for group in groups { out += group }
    for frame in native[(innermost + 1)...] where !isInternal(frame) { out.append(frame) }
    return (out, .mismatch(evalFrames: evalIndices.count, pythonGroups: groups.count))
  }

  /// True if the native stack shows the thread waiting to take the GIL.
  public func isWaitingForGIL(_ native: [Frame]) -> Bool {
    // take_gil is where a thread blocks for the lock (2.7: PyThread_acquire_lock
    // under PyEval_RestoreThread); only the innermost interpreter frames matter.
    for frame in native.reversed() {
      guard let module = frame.module, interpreterModules.contains(module) else { continue }
      let name = frame.name ?? ""
      if name == "take_gil" || name == "PyEval_RestoreThread" || name == "PyEval_AcquireThread" { return true }
      if isEval(frame) { return false }
    }
    return false
  }

  /// Index of the innermost greenlet bootstrap frame (g_initialstub, else
  /// inner_bootstrap, in a greenlet module), 0 when the thread runs no greenlet.
  func greenletStart(_ native: [Frame]) -> Int {
    var bootstrap: Int?
    for i in native.indices.reversed() {
      let frame = native[i]
      guard frame.kind == .native, let module = frame.module, module.contains("greenlet"), let name = frame.name else { continue }
      let bare = name.split(separator: "(").first.map { $0.split(separator: ":").last.map(String.init) ?? "" } ?? ""
      if bare == "g_initialstub" { return i }
      if bare == "inner_bootstrap", bootstrap == nil { bootstrap = i }
    }
    return bootstrap ?? 0
  }

  func isEval(_ frame: Frame) -> Bool {
    frame.kind == .native && frame.name == evalFunction
  }

  func isInternal(_ frame: Frame) -> Bool {
    frame.kind == .native && frame.module.map { interpreterModules.contains($0) } == true
  }
}
