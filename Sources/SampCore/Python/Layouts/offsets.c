/* offsets.c: prints, for the CPython headers it is compiled against, every
 * offset that sampswift's PythonLayout needs, as "fieldName value" lines named
 * after the Swift fields. A field a version does not have is not printed.
 *
 * Built by generate_layouts.py, once per interpreter:
 *   gcc -I<inc> -I<inc>/internal offsets.c      (x86_64 Linux, GCC bitfield order)
 * Supports 2.7 and 3.6 to 3.13. Internal headers need Py_BUILD_CORE.
 */
#define Py_BUILD_CORE 1
#include <Python.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if PY_MAJOR_VERSION < 3 || PY_VERSION_HEX < 0x03070000
#  include "code.h"
#  include "frameobject.h"                /* 2.7, 3.6: no internal headers */
#elif PY_VERSION_HEX < 0x03080000
#  include "internal/pystate.h"          /* 3.7: _PyRuntimeState, _gil_runtime_state */
#  include "frameobject.h"
#elif PY_VERSION_HEX < 0x03090000
#  include "internal/pycore_pystate.h"   /* 3.8 */
#  include "frameobject.h"
#elif PY_VERSION_HEX < 0x030B0000
#  include "internal/pycore_runtime.h"   /* 3.9, 3.10 */
#  include "internal/pycore_interp.h"
#  include "frameobject.h"
#else
#  include "internal/pycore_runtime.h"   /* 3.11+ */
#  include "internal/pycore_interp.h"
#  include "internal/pycore_frame.h"
#  include "internal/pycore_code.h"
#  include "internal/pycore_dict.h"      /* PyDictKeysObject, PyDictValues */
#  include "internal/pycore_object.h"    /* managed dicts, inline values */
#endif
#if PY_VERSION_HEX >= 0x030A0000
#  include "internal/pycore_moduleobject.h"  /* PyModuleObject (private before 3.10) */
#endif
#if PY_VERSION_HEX >= 0x030C0000
#  include "internal/pycore_long.h"      /* SIGN_MASK, SIGN_NEGATIVE of lv_tag */
#endif
#if PY_MAJOR_VERSION < 3
#  include "longintrepr.h"               /* 2.7: PyLongObject is not in Python.h */
#endif

#define FIELD(name, value) printf("%s %zu\n", name, (size_t)(value))
/* Signed values: offsets before the object (managed dicts) are negative. */
#define SFIELD(name, value) printf("%s %ld\n", name, (long)(value))
#define OFF(name, T, member) FIELD(name, offsetof(T, member))

/* Index of the lowest set bit of the 32-bit word at `p` (-1 if none): where
 * GCC placed a one-bit-wide bitfield after we set it to 1 in a zeroed struct. */
static int lowest_bit(const void *p) {
  unsigned int word;
  memcpy(&word, p, sizeof word);
  for (int bit = 0; bit < 32; bit++)
    if (word & (1u << bit)) return bit;
  return -1;
}

/* What reading threading._active needs: sys.modules, module dicts, dicts of
 * every shape, ints, and where an instance keeps its attributes. */

#if PY_MAJOR_VERSION >= 3 && PY_VERSION_HEX < 0x030B0000
/* 3.6-3.10 keep PyDictKeysObject private (Objects/dict-common.h, not installed).
 * Mirrored here with the installed types; the live layout test checks it in
 * each interpreter. */
typedef struct {
  Py_hash_t me_hash;
  PyObject *me_key;
  PyObject *me_value;
} MirrorDictKeyEntry;
typedef struct {
  Py_ssize_t dk_refcnt;
  Py_ssize_t dk_size;
  void *dk_lookup;
  Py_ssize_t dk_usable;
  Py_ssize_t dk_nentries;
  int64_t dk_indices[1];   /* 3.6 declares a union of int8..int64 arrays: same offset */
} MirrorDictKeys;
#endif

#if PY_VERSION_HEX < 0x030A0000
/* Before 3.10 PyModuleObject is private to Objects/moduleobject.c; md_dict
 * follows PyObject_HEAD in every version (2.7 has nothing else). */
typedef struct {
  PyObject_HEAD
  PyObject *md_dict;
} MirrorModule;
#endif

static void thread_name_fields(void) {
  /* sys.modules */
#if PY_VERSION_HEX >= 0x030C0000
  OFF("interpModules", PyInterpreterState, imports.modules);
#else
  OFF("interpModules", PyInterpreterState, modules);
#endif
#if PY_VERSION_HEX >= 0x030A0000
  OFF("moduleDict", PyModuleObject, md_dict);
#else
  OFF("moduleDict", MirrorModule, md_dict);
#endif

  /* dicts */
  OFF("dictUsed", PyDictObject, ma_used);
#if PY_MAJOR_VERSION < 3
  /* 2.7: one open-addressing table of {hash, key, value}. */
  OFF("dictMask", PyDictObject, ma_mask);
  OFF("dictTable", PyDictObject, ma_table);
  FIELD("dictEntrySize", sizeof(PyDictEntry));
  OFF("dictEntryKey", PyDictEntry, me_key);
  OFF("dictEntryValue", PyDictEntry, me_value);
#else
  OFF("dictKeys", PyDictObject, ma_keys);
  OFF("dictValues", PyDictObject, ma_values);
#  if PY_VERSION_HEX < 0x030B0000
  OFF("dictKeysSize", MirrorDictKeys, dk_size);
  OFF("dictKeysNentries", MirrorDictKeys, dk_nentries);
  OFF("dictKeysIndices", MirrorDictKeys, dk_indices);
  FIELD("dictEntrySize", sizeof(MirrorDictKeyEntry));
  OFF("dictEntryKey", MirrorDictKeyEntry, me_key);
  OFF("dictEntryValue", MirrorDictKeyEntry, me_value);
  /* Split tables: ma_values is a plain PyObject *[] */
  FIELD("dictValuesArray", 0);
#  else
  OFF("dictKeysLog2Size", PyDictKeysObject, dk_log2_size);
  OFF("dictKeysLog2IndexBytes", PyDictKeysObject, dk_log2_index_bytes);
  OFF("dictKeysKind", PyDictKeysObject, dk_kind);
  OFF("dictKeysNentries", PyDictKeysObject, dk_nentries);
  OFF("dictKeysIndices", PyDictKeysObject, dk_indices);
  FIELD("dictKindGeneral", DICT_KEYS_GENERAL);
  FIELD("dictEntrySize", sizeof(PyDictKeyEntry));
  OFF("dictEntryKey", PyDictKeyEntry, me_key);
  OFF("dictEntryValue", PyDictKeyEntry, me_value);
  FIELD("dictUnicodeEntrySize", sizeof(PyDictUnicodeEntry));
  OFF("dictUnicodeEntryKey", PyDictUnicodeEntry, me_key);
  OFF("dictUnicodeEntryValue", PyDictUnicodeEntry, me_value);
  OFF("dictValuesArray", PyDictValues, values);
#  endif
#  if PY_VERSION_HEX >= 0x030D0000
  OFF("dictValuesCapacity", PyDictValues, capacity);
  OFF("dictValuesValid", PyDictValues, valid);
#  endif
#endif

  /* ints: the keys of threading._active */
#if PY_MAJOR_VERSION < 3
  OFF("intValue", PyIntObject, ob_ival);
#endif
#if PY_VERSION_HEX >= 0x030C0000
  OFF("longDigits", PyLongObject, long_value.ob_digit);
  OFF("longTag", PyLongObject, long_value.lv_tag);
  FIELD("longTagSizeShift", _PyLong_NON_SIZE_BITS);
  FIELD("longTagSignMask", SIGN_MASK);
  FIELD("longTagNegative", SIGN_NEGATIVE);
#else
  OFF("longDigits", PyLongObject, ob_digit);
#endif
  FIELD("longDigitBits", PyLong_SHIFT);
  FIELD("longDigitSize", sizeof(digit));

  /* where instances keep attributes */
  OFF("typeFlags", PyTypeObject, tp_flags);
  OFF("typeBasicSize", PyTypeObject, tp_basicsize);
  OFF("typeDictOffset", PyTypeObject, tp_dictoffset);
#if PY_MAJOR_VERSION >= 3
  OFF("heapTypeCachedKeys", PyHeapTypeObject, ht_cached_keys);
#endif
#if PY_VERSION_HEX >= 0x030B0000
  FIELD("typeFlagManagedDict", Py_TPFLAGS_MANAGED_DICT);
  {
    /* The header's own accessors on a fake object whose type has the flags
     * they assert, so each offset is what CPython itself computes. */
    static PyTypeObject type;
    static char memory[256];
    PyObject *object = (PyObject *)(memory + 128);
    type.tp_flags = Py_TPFLAGS_MANAGED_DICT;
#  if PY_VERSION_HEX >= 0x030D0000
    type.tp_flags |= Py_TPFLAGS_INLINE_VALUES;
    type.tp_basicsize = sizeof(PyObject);
#  endif
    object->ob_type = &type;
#  if PY_VERSION_HEX < 0x030C0000
    /* 3.11: a values pointer and a dict pointer before the object. */
    SFIELD("objectManagedDict", (char *)_PyObject_ManagedDictPointer(object) - (char *)object);
    SFIELD("objectManagedValues", (char *)_PyObject_ValuesPointer(object) - (char *)object);
#  elif PY_VERSION_HEX < 0x030D0000
    /* 3.12: one slot holding a dict, or values tagged by pointing one byte early. */
    PyDictOrValues *slot = _PyObject_DictOrValuesPointer(object);
    SFIELD("objectManagedDict", (char *)slot - (char *)object);
    PyDictOrValues tagged;
    _PyDictOrValues_SetValues(&tagged, (PyDictValues *)(memory + 64));
    if (!_PyDictOrValues_IsValues(tagged)) { fprintf(stderr, "tagged values not recognised\n"); exit(1); }
    FIELD("managedDictValuesTag", (char *)_PyDictOrValues_GetValues(tagged) - tagged.values);
#  else
    /* 3.13: a dict pointer before the object, values inline after its header. */
    SFIELD("objectManagedDict", (char *)_PyObject_ManagedDictPointer(object) - (char *)object);
    FIELD("typeFlagInlineValues", Py_TPFLAGS_INLINE_VALUES);
    FIELD("objectInlineValues", (char *)_PyObject_InlineValues(object) - (char *)object);
#  endif
  }
#endif
}

int main(void) {
  printf("version %s\n", PY_VERSION);

  /* _PyRuntime (3.7+) */
#if PY_VERSION_HEX >= 0x030D0000
  OFF("runtimeDebugOffsets", _PyRuntimeState, debug_offsets);
#endif
#if PY_VERSION_HEX >= 0x03070000
  OFF("runtimeInterpretersHead", _PyRuntimeState, interpreters.head);
#endif
#if PY_VERSION_HEX >= 0x03070000 && PY_VERSION_HEX < 0x030C0000
  OFF("runtimeGILLocked", _PyRuntimeState, ceval.gil.locked);
  OFF("runtimeGILLastHolder", _PyRuntimeState, ceval.gil.last_holder);
  OFF("runtimeTstateCurrent", _PyRuntimeState, gilstate.tstate_current);
#endif

  /* PyInterpreterState */
  OFF("interpNext", PyInterpreterState, next);
#if PY_VERSION_HEX >= 0x030B0000
  OFF("interpThreadsHead", PyInterpreterState, threads.head);
#else
  OFF("interpThreadsHead", PyInterpreterState, tstate_head);
#endif
#if PY_VERSION_HEX >= 0x030C0000
  OFF("interpGILPointer", PyInterpreterState, ceval.gil);
#endif
#if PY_VERSION_HEX >= 0x03070000
  OFF("gilLocked", struct _gil_runtime_state, locked);
  OFF("gilLastHolder", struct _gil_runtime_state, last_holder);
#endif

  /* PyThreadState */
  OFF("tstateNext", PyThreadState, next);
  OFF("tstateInterp", PyThreadState, interp);
#if PY_VERSION_HEX < 0x030B0000
  OFF("tstateFrame", PyThreadState, frame);
#elif PY_VERSION_HEX < 0x030D0000
  OFF("tstateCFrame", PyThreadState, cframe);
  OFF("cframeCurrentFrame", _PyCFrame, current_frame);
#else
  OFF("tstateCurrentFrame", PyThreadState, current_frame);
#endif
  OFF("tstateThreadID", PyThreadState, thread_id);
#if PY_VERSION_HEX >= 0x030B0000
  OFF("tstateNativeThreadID", PyThreadState, native_thread_id);
  OFF("tstateDatastackChunk", PyThreadState, datastack_chunk);
#endif
#if PY_VERSION_HEX >= 0x030C0000
  OFF("tstateStatus", PyThreadState, _status);
#endif
#if PY_VERSION_HEX >= 0x030D0000
  {
    static PyThreadState ts;
    ts._status.holds_gil = 1;
    FIELD("statusHoldsGILBit", lowest_bit(&ts._status));
  }
#endif

  /* frames */
#if PY_VERSION_HEX < 0x030B0000
  OFF("framePrevious", PyFrameObject, f_back);
  OFF("frameCode", PyFrameObject, f_code);
  OFF("frameLasti", PyFrameObject, f_lasti);
#else
  OFF("framePrevious", _PyInterpreterFrame, previous);
#  if PY_VERSION_HEX < 0x030D0000
  OFF("frameCode", _PyInterpreterFrame, f_code);
  OFF("frameInstrPtr", _PyInterpreterFrame, prev_instr);
#  else
  OFF("frameCode", _PyInterpreterFrame, f_executable);
  OFF("frameInstrPtr", _PyInterpreterFrame, instr_ptr);
#  endif
  OFF("frameOwner", _PyInterpreterFrame, owner);
#  if PY_VERSION_HEX < 0x030C0000
  OFF("frameIsEntry", _PyInterpreterFrame, is_entry);
#  endif
#endif

  /* PyCodeObject */
  OFF("codeFilename", PyCodeObject, co_filename);
  OFF("codeName", PyCodeObject, co_name);
  OFF("codeFirstLineNo", PyCodeObject, co_firstlineno);
#if PY_VERSION_HEX < 0x030A0000
  OFF("codeLineTable", PyCodeObject, co_lnotab);
#else
  OFF("codeLineTable", PyCodeObject, co_linetable);
#endif
#if PY_VERSION_HEX >= 0x030B0000
  OFF("codeQualname", PyCodeObject, co_qualname);
  OFF("codeCodeAdaptive", PyCodeObject, co_code_adaptive);
  OFF("codeFirstTraceable", PyCodeObject, _co_firsttraceable);
#endif

  /* objects */
  OFF("objectType", PyObject, ob_type);
  OFF("typeName", PyTypeObject, tp_name);
  OFF("varSize", PyVarObject, ob_size);
#if PY_MAJOR_VERSION < 3
  OFF("bytesData", PyStringObject, ob_sval);   /* Python 2 str: names, filenames, co_lnotab */
#else
  OFF("bytesData", PyBytesObject, ob_sval);

  /* PEP 393 str */
  OFF("unicodeLength", PyASCIIObject, length);
  OFF("unicodeState", PyASCIIObject, state);
  FIELD("unicodeASCIIData", sizeof(PyASCIIObject));
  FIELD("unicodeCompactData", sizeof(PyCompactUnicodeObject));
  OFF("unicodeLegacyData", PyUnicodeObject, data);
  {
    static PyASCIIObject s;
    memset(&s, 0, sizeof s); s.state.kind = 1;
    FIELD("unicodeKindShift", lowest_bit(&s.state));
    memset(&s, 0, sizeof s); s.state.compact = 1;
    FIELD("unicodeCompactBit", lowest_bit(&s.state));
    memset(&s, 0, sizeof s); s.state.ascii = 1;
    FIELD("unicodeASCIIBit", lowest_bit(&s.state));
  }
#endif

  thread_name_fields();
  return 0;
}
