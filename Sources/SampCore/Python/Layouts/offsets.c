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
#endif

#define FIELD(name, value) printf("%s %zu\n", name, (size_t)(value))
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
  return 0;
}
