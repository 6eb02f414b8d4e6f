/// Everything the walker needs to know about one CPython minor version: byte
/// offsets (generated from that version's headers by Layouts/generate_layouts.py
/// into Layouts/GeneratedLayouts.swift, never typed by hand) plus the few
/// behaviours that are not offsets. The walker branches on these fields, never on
/// version numbers. A nil offset means the field does not exist in that version.
public struct PythonLayout: Sendable, Equatable {
  public var major: Int
  public var minor: Int

  // MARK: _PyRuntime (3.7+); before 3.7 the list head is the `interp_head` symbol.
  public var runtimeInterpretersHead: Int?
  /// 3.7-3.11: the GIL lives in _PyRuntime.ceval.gil (offsets relative to _PyRuntime).
  public var runtimeGILLocked: Int?
  public var runtimeGILLastHolder: Int?
  /// 3.7-3.11: _PyRuntime.gilstate.tstate_current, the thread holding the GIL.
  public var runtimeTstateCurrent: Int?
  /// 3.13+: `_Py_DebugOffsets` inside _PyRuntime (at 0; cookie "xdebugpy").
  public var runtimeDebugOffsets: Int? = nil

  // MARK: before 3.7 (no _PyRuntime): globals found by symbol name.
  /// 2.7, 3.6: `static PyInterpreterState *interp_head`, a local (.symtab-only) symbol.
  public var interpHeadSymbol: String? = nil
  /// 2.7, 3.6: exported `_PyThreadState_Current`, the thread holding the GIL (NULL when none).
  public var tstateCurrentSymbol: String? = nil

  // MARK: PyInterpreterState
  public var interpNext: Int
  /// `tstate_head` (<=3.10) or `threads.head` (3.11+).
  public var interpThreadsHead: Int
  /// 3.12+: `ceval.gil`, a pointer to a struct _gil_runtime_state.
  public var interpGILPointer: Int?
  /// Inside struct _gil_runtime_state (3.12+, through interpGILPointer).
  public var gilLocked: Int
  public var gilLastHolder: Int

  // MARK: PyThreadState
  public var tstateNext: Int
  public var tstateInterp: Int
  /// <=3.10: `frame`, a PyFrameObject*.
  public var tstateFrame: Int?
  /// 3.11-3.12: `cframe`, a _PyCFrame* whose `current_frame` is the top frame.
  public var tstateCFrame: Int?
  public var cframeCurrentFrame: Int?
  /// 3.13+: `current_frame`, a _PyInterpreterFrame*.
  public var tstateCurrentFrame: Int?
  /// pthread_t of the thread (address of glibc's struct pthread).
  public var tstateThreadID: Int
  /// 3.11+: the kernel TID. Before, read the TID from struct pthread (glibcPthreadTIDOffset).
  public var tstateNativeThreadID: Int?
  /// 3.12-3.13: the `_status` bitfield word; `holds_gil` is bit `statusHoldsGILBit` (3.13).
  public var tstateStatus: Int?
  public var statusHoldsGILBit: Int?
  /// 3.14+: `holds_gil`, an int of its own (moved out of `_status`).
  public var tstateHoldsGIL: Int? = nil
  /// 3.11+: the first data-stack chunk (frames live in contiguous chunks).
  public var tstateDatastackChunk: Int?

  // MARK: frames
  public enum FrameModel: Sendable, Equatable {
    /// <=3.10: heap PyFrameObject chain (f_back, f_code, f_lasti).
    case frameObject
    /// 3.11+: _PyInterpreterFrame chain (previous, f_code/f_executable, instr pointer).
    case interpreterFrame
  }
  public var frameModel: FrameModel
  /// f_back (<=3.10) or previous (3.11+).
  public var framePrevious: Int
  /// f_code (<=3.12) or f_executable (3.13+).
  public var frameCode: Int
  /// <=3.10: f_lasti (int).
  public var frameLasti: Int?
  /// 3.10 counts f_lasti in 2-byte code units; earlier versions count bytes.
  public var lastiIsCodeUnits: Bool
  /// 3.11+: prev_instr (3.11-3.12) or instr_ptr (3.13+).
  public var frameInstrPtr: Int?
  /// 3.13+ instr_ptr points at the current instruction; 3.11-3.12 prev_instr at the previous one.
  public var instrPtrIsCurrent: Bool
  /// 3.11+: owner (char).
  public var frameOwner: Int?
  /// 3.11 only: is_entry (bool), marks the first frame of a C-level eval call.
  public var frameIsEntry: Int?
  /// 3.12+: the owner value of C-stack entry (shim) frames, which are skipped.
  public var ownerCStack: Int?
  /// 3.14+: f_executable is a tagged _PyStackRef; mask these low bits off.
  public var executableTagMask: UInt64

  // MARK: PyCodeObject
  public var codeFilename: Int
  public var codeName: Int
  /// 3.11+: co_qualname.
  public var codeQualname: Int?
  public var codeFirstLineNo: Int
  /// co_lnotab (<=3.9) or co_linetable (3.10+), a bytes object.
  public var codeLineTable: Int
  /// 3.11+: start of the inline bytecode (instruction offsets are relative to it).
  public var codeCodeAdaptive: Int?
  /// 3.11+: _co_firsttraceable (frames before it are incomplete and hidden).
  public var codeFirstTraceable: Int?

  public enum LineTableFormat: Sendable, Equatable {
    /// <=3.9: co_lnotab byte pairs; line deltas are unsigned in 2.7, signed from 3.6.
    case lnotab(signedLineDelta: Bool)
    /// 3.10: PEP 626 co_linetable.
    case linetable310
    /// 3.11+: location table (Objects/locations.md).
    case locations311
  }
  public var lineTableFormat: LineTableFormat

  // MARK: objects
  public var objectType: Int
  public var typeName: Int
  public var varSize: Int
  public var bytesData: Int

  public enum StringModel: Sendable, Equatable {
    /// Python 2: co_name/co_filename are PyStringObject (bytes).
    case bytes
    /// 3.3+: PEP 393 compact/legacy unicode.
    case pep393
  }
  public var stringModel: StringModel
  public var unicodeLength: Int
  public var unicodeState: Int
  /// Data offset of a compact ASCII string (sizeof(PyASCIIObject)).
  public var unicodeASCIIData: Int
  /// Data offset of a compact non-ASCII string (sizeof(PyCompactUnicodeObject)).
  public var unicodeCompactData: Int
  /// Offset of the data pointer of a legacy (non-compact) string.
  public var unicodeLegacyData: Int
  /// Bit positions inside the 32-bit `state` word (GCC little-endian bitfields):
  /// `kind` is 3 bits from unicodeKindShift; `compact` and `ascii` are single bits.
  public var unicodeKindShift: Int = 2
  public var unicodeCompactBit: Int = 5
  public var unicodeASCIIBit: Int = 6

  /// glibc x86_64: the `tid` field inside struct pthread (for versions without native_thread_id).
  public static let glibcPthreadTIDOffset = 0x2d0

  public var versionString: String { "\(major).\(minor)" }
}
