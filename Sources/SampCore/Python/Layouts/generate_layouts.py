#!/usr/bin/env python3
"""Generates GeneratedLayouts.swift: one PythonLayout per CPython minor version.

    python3 Sources/SampCore/Python/Layouts/generate_layouts.py          # (make layouts)
    python3 Sources/SampCore/Python/Layouts/generate_layouts.py --check  # exit 1 if stale

Every offset comes from offsetof(): offsets.c is compiled with gcc against each
installed interpreter's own headers (pyenv 2.7 and 3.6-3.13) and run. What is
not an offset (line table format, lasti units, owner values...) comes from the
small rule table `behaviour()` below, each rule with its reason. Two structs
that are private before 3.10/3.11 (PyModuleObject, PyDictKeysObject) are
mirrored in offsets.c from the C sources and checked live by the layout tests.
3.14 has no
headers on this machine: its entry is the hand-written INPUT_3_14 table, copied
from the shared CPython reference (3.14 is read mainly through the target's
own _Py_DebugOffsets at run time, which the profiler checks against it).

Debian's /usr/include/python3.11 is compiled too, as a cross-check: it must give
exactly the pyenv 3.11 numbers, since one 3.11 entry serves both builds.
"""
import glob
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
OFFSETS_C = os.path.join(HERE, "offsets.c")
OUTPUT = os.path.join(HERE, "GeneratedLayouts.swift")
STRUCT = os.path.join(HERE, "..", "PythonLayout.swift")

MINORS = [(2, 7), (3, 6), (3, 7), (3, 8), (3, 9), (3, 10), (3, 11), (3, 12), (3, 13)]


def behaviour(v):
    """Facts that are not offsets, for version v = (major, minor)."""
    if v < (3, 0):
        # 2.7 lnotab line increments are unsigned bytes (Objects/lnotab_notes.txt, 2.7).
        line_table = ".lnotab(signedLineDelta: false)"
    elif v < (3, 10):
        # 3.6 made lnotab line increments signed (bpo-26107).
        line_table = ".lnotab(signedLineDelta: true)"
    elif v == (3, 10):
        # PEP 626: co_linetable of (start delta, line delta) pairs.
        line_table = ".linetable310"
    else:
        # PEP 657: the location table of Objects/locations.md.
        line_table = ".locations311"
    legacy = v < (3, 7)
    return {
        # 3.11 replaced heap PyFrameObjects by _PyInterpreterFrame records (bpo-44590).
        "frameModel": ".interpreterFrame" if v >= (3, 11) else ".frameObject",
        # 3.10 counts f_lasti in 2-byte code units (bpo-27129); earlier versions in bytes.
        "lastiIsCodeUnits": v == (3, 10),
        # 3.13 replaced prev_instr (last executed) by instr_ptr (current) (reference §2, §5.3).
        "instrPtrIsCurrent": v >= (3, 13),
        # 3.12+ _PyEval_EvalFrameDefault pushes an entry frame with owner 3
        # (FRAME_OWNED_BY_CSTACK; 3.14 calls 3 FRAME_OWNED_BY_INTERPRETER, same use) (reference §2.1).
        "ownerCStack": "3" if v >= (3, 12) else "nil",
        # 3.14 f_executable is a _PyStackRef whose two low bits are tags (Py_TAG_BITS, reference §5.4).
        "executableTagMask": "3" if v >= (3, 14) else "0",
        "lineTableFormat": line_table,
        # Python 2 names are PyStringObject; 3.3+ str follows PEP 393.
        "stringModel": ".bytes" if v < (3, 0) else ".pep393",
        # Before 3.7 there is no _PyRuntime; these globals take its place (reference §1.3).
        "interpHeadSymbol": '"interp_head"' if legacy else "nil",
        "tstateCurrentSymbol": '"_PyThreadState_Current"' if legacy else "nil",
        # threading.Thread keeps its name and ident in `self.__name` / `self.__ident`
        # on 2.7 (stored mangled as _Thread__name), `self._name` / `self._ident` on 3.x
        # (Lib/threading.py of each version).
        "threadingNameAttribute": '"_Thread__name"' if v < (3, 0) else '"_name"',
        "threadingIdentAttribute": '"_Thread__ident"' if v < (3, 0) else '"_ident"',
    }


# Non-optional Swift fields that do not exist in some versions. They get 0 and
# the walker never reads them there (it branches on the optional fields instead).
NOT_APPLICABLE = {
    # 2.7 and 3.6 have no struct _gil_runtime_state (3.6 keeps static gil_locked /
    # gil_last_holder, 2.7 a lock object); the GIL holder is _PyThreadState_Current.
    (2, 7): ["gilLocked", "gilLastHolder",
             # Python 2 names are bytes (stringModel .bytes): no PEP 393 str.
             "unicodeLength", "unicodeState", "unicodeASCIIData", "unicodeCompactData",
             "unicodeLegacyData", "unicodeKindShift", "unicodeCompactBit", "unicodeASCIIBit"],
    (3, 6): ["gilLocked", "gilLastHolder"],
}

# 3.14.0, default (GIL) build. No 3.14 headers exist here, so these are typed in
# from the shared reference (cpython-internals.md §5.4, §7.2 and the 3.14 column
# of §8; derived there from py-spy's bindgen layout of v3.14.0 and cross-checked
# against pystack's 3.14 tables). At run time the target's _Py_DebugOffsets
# overrides every field it carries, and disagreements are reported.
INPUT_3_14 = {
    "runtimeDebugOffsets": 0,
    "runtimeInterpretersHead": 808,
    "interpNext": 7272,
    "interpThreadsHead": 7344,
    "interpGILPointer": 16,
    "gilLocked": 16,
    "gilLastHolder": 8,
    "tstateNext": 8,
    "tstateInterp": 16,
    "tstateCurrentFrame": 72,
    "tstateThreadID": 152,
    "tstateNativeThreadID": 160,
    "tstateDatastackChunk": 232,
    "tstateStatus": 32,
    "tstateHoldsGIL": 36,          # an int of its own in 3.14, no longer a _status bit
    "framePrevious": 8,
    "frameCode": 0,
    "frameInstrPtr": 56,
    "frameOwner": 74,
    "codeFilename": 112,
    "codeName": 120,
    "codeQualname": 128,
    "codeFirstLineNo": 68,
    "codeLineTable": 136,
    "codeCodeAdaptive": 208,
    "codeFirstTraceable": 192,
    "objectType": 8,
    "typeName": 24,
    "varSize": 16,
    "bytesData": 32,
    "unicodeLength": 16,
    "unicodeState": 32,
    "unicodeASCIIData": 40,
    "unicodeCompactData": 56,
    "unicodeLegacyData": 56,
    "unicodeKindShift": 2,
    "unicodeCompactBit": 5,
    "unicodeASCIIBit": 6,
}


def fail(message):
    sys.exit("generate_layouts: " + message)


def struct_fields():
    """(name, type) of PythonLayout's stored properties, in declaration order."""
    fields = []
    with open(STRUCT) as f:
        for line in f:
            m = re.match(r"\s*public var (\w+): ([^={]+?)\s*(=.*)?$", line)
            if m and "{" not in line:
                fields.append((m.group(1), m.group(2).strip()))
    if not fields:
        fail("no fields found in " + STRUCT)
    return fields


def pyenv_root():
    try:
        return subprocess.run(["pyenv", "root"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))


def pyenv_include_dirs():
    """{(major, minor): (patch version, [include dirs])} for plain X.Y.Z pyenv builds."""
    found = {}
    for path in sorted(glob.glob(os.path.join(pyenv_root(), "versions", "*"))):
        m = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", os.path.basename(path))
        if not m:
            continue
        major, minor, patch = map(int, m.groups())
        incs = glob.glob(os.path.join(path, "include", "python%d.%d*" % (major, minor)))
        if len(incs) != 1:
            continue
        if (major, minor) not in found or patch > found[(major, minor)][0]:
            found[(major, minor)] = (patch, [incs[0], os.path.join(incs[0], "internal")])
    return found


def debian_311_include_dirs():
    base = "/usr/include/python3.11"
    if not os.path.isfile(os.path.join(base, "Python.h")):
        return None
    arch = subprocess.run(["gcc", "-print-multiarch"], capture_output=True, text=True).stdout.strip()
    return [base, os.path.join(base, "internal"), "/usr/include/%s/python3.11" % arch]


def run_offsets(include_dirs, workdir, name):
    """Compiles offsets.c against include_dirs, runs it: (version, {field: int})."""
    binary = os.path.join(workdir, name)
    cmd = ["gcc", "-O0", "-w", "-o", binary, OFFSETS_C] + ["-I" + d for d in include_dirs]
    built = subprocess.run(cmd, capture_output=True, text=True)
    if built.returncode != 0:
        fail("gcc failed for %s:\n%s" % (name, built.stderr[-2000:]))
    out = subprocess.run([binary], capture_output=True, text=True, check=True).stdout
    version, values = None, {}
    for line in out.splitlines():
        key, value = line.split()
        if key == "version":
            version = value
        else:
            values[key] = int(value)
    return version, values


def swift_value(value):
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def render_entry(fields, v, values, source):
    rules = behaviour(v)
    lines = ["    // %s" % source, "    PythonLayout("]
    args = []
    for name, swift_type in fields:
        if name == "major":
            value = str(v[0])
        elif name == "minor":
            value = str(v[1])
        elif name in rules:
            value = swift_value(rules[name])
        elif name in values:
            value = swift_value(values[name])
        elif name in NOT_APPLICABLE.get(v, []):
            value = "0"
        elif swift_type.endswith("?"):
            value = "nil"
        else:
            fail("%d.%d: no value for non-optional field %s" % (v + (name,)))
        args.append("      %s: %s" % (name, value))
    unknown = set(values) - {n for n, _ in fields}
    if unknown:
        fail("%d.%d: offsets.c printed fields PythonLayout lacks: %s" % (v + (sorted(unknown),)))
    lines.append(",\n".join(args))
    lines.append("    ),")
    return "\n".join(lines)


def generate():
    fields = struct_fields()
    found = pyenv_include_dirs()
    missing = [v for v in MINORS if v not in found]
    if missing:
        fail("no pyenv headers for " + ", ".join("%d.%d" % v for v in missing)
             + " under " + os.path.join(pyenv_root(), "versions"))
    entries, notes = [], []
    with tempfile.TemporaryDirectory() as work:
        measured = {}
        for v in MINORS:
            version, values = run_offsets(found[v][1], work, "offsets_%d_%d" % v)
            measured[v] = values
            entries.append(render_entry(fields, v, values, "%s: offsetof() against pyenv headers" % version))
        debian = debian_311_include_dirs()
        if debian:
            version, values = run_offsets(debian, work, "offsets_debian_3_11")
            if values != measured[(3, 11)]:
                diff = sorted(k for k in set(values) | set(measured[(3, 11)])
                              if values.get(k) != measured[(3, 11)].get(k))
                fail("Debian %s headers differ from pyenv 3.11 in %s" % (version, diff))
            notes.append("// Debian's %s headers (/usr/include/python3.11) give exactly the 3.11 entry." % version)
        else:
            print("generate_layouts: /usr/include/python3.11 not found, Debian cross-check skipped",
                  file=sys.stderr)
    entries.append(render_entry(fields, (3, 14), INPUT_3_14,
                                "3.14.0: INPUT_3_14 in generate_layouts.py (no headers here; from the reference)"))
    header = [
        "// GENERATED by generate_layouts.py (make layouts). Do not edit by hand.",
        "// Offsets: offsetof() in offsets.c against each interpreter's headers, except 3.14.",
        "// Behaviours (line tables, lasti units, owners, string model): behaviour() in the script.",
    ] + notes
    return "\n".join(header + [
        "extension PythonLayout {",
        "  static let generated: [PythonLayout] = [",
    ] + entries + ["  ]", "}", ""])


def main():
    text = generate()
    if "--check" in sys.argv[1:]:
        with open(OUTPUT) as f:
            if f.read() != text:
                fail("GeneratedLayouts.swift is stale: run `make layouts`")
        print("GeneratedLayouts.swift is up to date")
        return
    with open(OUTPUT, "w") as f:
        f.write(text)
    print("wrote " + os.path.relpath(OUTPUT))


if __name__ == "__main__":
    main()
