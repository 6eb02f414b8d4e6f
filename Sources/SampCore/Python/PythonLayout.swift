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

  // MARK: thread names (threading._active); nil where a version lacks the field
  /// `modules` (<=3.11) or `imports.modules` (3.12+): the interpreter's sys.modules dict.
  public var interpModules: Int? = nil
  /// PyModuleObject.md_dict, the module's namespace.
  public var moduleDict: Int? = nil

  /// PyDictObject.ma_used (live entries).
  public var dictUsed: Int? = nil
  /// 2.7: one open-addressing table of PyDictEntry, `ma_mask + 1` slots at `ma_table`.
  public var dictMask: Int? = nil
  public var dictTable: Int? = nil
  /// 3.6+: ma_keys (PyDictKeysObject*) and ma_values (split tables; NULL when combined).
  public var dictKeys: Int? = nil
  public var dictValues: Int? = nil
  /// 3.6-3.10: dk_size, the index table's slot count (index width follows from it).
  public var dictKeysSize: Int? = nil
  /// 3.11+: dk_log2_size, dk_log2_index_bytes and dk_kind (uint8 each).
  public var dictKeysLog2Size: Int? = nil
  public var dictKeysLog2IndexBytes: Int? = nil
  public var dictKeysKind: Int? = nil
  /// 3.6+: dk_nentries (entries used, deleted ones included) and dk_indices.
  public var dictKeysNentries: Int? = nil
  public var dictKeysIndices: Int? = nil
  /// 3.11+: DICT_KEYS_GENERAL; every other kind stores PyDictUnicodeEntry {key, value}.
  public var dictKindGeneral: Int? = nil
  /// PyDictEntry (2.7) / PyDictKeyEntry (3.x): {hash, key, value}.
  public var dictEntrySize: Int? = nil
  public var dictEntryKey: Int? = nil
  public var dictEntryValue: Int? = nil
  /// 3.11+: PyDictUnicodeEntry {key, value}.
  public var dictUnicodeEntrySize: Int? = nil
  public var dictUnicodeEntryKey: Int? = nil
  public var dictUnicodeEntryValue: Int? = nil
  /// Where the value pointers start inside ma_values / PyDictValues (3.13 has a header).
  public var dictValuesArray: Int? = nil
  /// 3.13+: PyDictValues.capacity and .valid (uint8 each).
  public var dictValuesCapacity: Int? = nil
  public var dictValuesValid: Int? = nil

  /// 2.7: PyIntObject.ob_ival (a C long).
  public var intValue: Int? = nil
  /// PyLongObject digits; their count and sign are in ob_size (<=3.11) or lv_tag (3.12+).
  public var longDigits: Int? = nil
  /// 3.12+: lv_tag = digit count << longTagSizeShift | sign bits (longTagSignMask).
  public var longTag: Int? = nil
  public var longTagSizeShift: Int? = nil
  public var longTagSignMask: Int? = nil
  public var longTagNegative: Int? = nil
  /// PyLong_SHIFT (bits used per digit) and sizeof(digit).
  public var longDigitBits: Int? = nil
  public var longDigitSize: Int? = nil

  /// PyTypeObject: tp_flags, tp_basicsize, tp_dictoffset.
  public var typeFlags: Int? = nil
  public var typeBasicSize: Int? = nil
  public var typeDictOffset: Int? = nil
  /// 3.x: PyHeapTypeObject.ht_cached_keys, the keys instances share (split dicts, inline values).
  public var heapTypeCachedKeys: Int? = nil
  /// 3.11+: Py_TPFLAGS_MANAGED_DICT; the instance dict (or values) lives before the object.
  public var typeFlagManagedDict: Int? = nil
  /// 3.11+: offset (negative) of the managed dict pointer from the object.
  public var objectManagedDict: Int? = nil
  /// 3.11: offset (negative) of the managed values pointer (PyDictValues*).
  public var objectManagedValues: Int? = nil
  /// 3.12: the managed dict slot holds `values - tag` when it holds values (the tag bit set).
  public var managedDictValuesTag: Int? = nil
  /// 3.13+: Py_TPFLAGS_INLINE_VALUES, and where the inline PyDictValues start.
  public var typeFlagInlineValues: Int? = nil
  public var objectInlineValues: Int? = nil

  /// threading.Thread's attributes for its name and ident (2.7 mangles `self.__name`).
  public var threadingNameAttribute: String? = nil
  public var threadingIdentAttribute: String? = nil

  /// glibc x86_64: the `tid` field inside struct pthread (for versions without native_thread_id).
  public static let glibcPthreadTIDOffset = 0x2d0

  public var versionString: String { "\(major).\(minor)" }
}
