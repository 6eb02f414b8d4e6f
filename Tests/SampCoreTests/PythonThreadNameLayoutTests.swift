import Foundation
import Testing

@testable import SampCore

/// The thread-name fields of each layout, followed with ctypes inside the real
/// interpreter: sys.modules, a module's md_dict, dicts of every shape this
/// version makes (str keys, int keys, deletions, 1/2/4-byte index tables, split
/// tables), instance attributes where the version keeps them (tp_dictoffset,
/// 3.11 managed values, 3.12 tagged values, 3.13 inline values, materialized
/// dicts), ints (ob_size / lv_tag, 2.7 ob_ival) and threading._active itself.
@Suite struct PythonThreadNameLayoutTests {
  @Test(arguments: LayoutTestPython.all)
  func liveInterpreterAgreesWithThreadNameFields(python: LayoutTestPython) throws {
    guard let executable = python.executable else { return try LayoutTestPython.unavailable("Python \(python)") }
    let layout = try #require(PythonLayout.forVersion(major: python.major, minor: python.minor))
    #expect(PythonThreadNames(layout: layout, interpreterHead: .null).isSupported, "\(python)")
    let result = try LayoutTestPython.run(executable, ["-c", threadNameLayoutScript, try fieldsJSON(layout)])
    try #require(result.status == 0, "\(python): \(String(decoding: result.stderr, as: UTF8.self))")
    let report = try JSONDecoder().decode(Report.self, from: result.stdout)
    #expect(report.checks.count >= 20, "\(python): \(report.checks.count) checks")
    for check in report.checks {
      #expect(check.ok, "\(python) \(check.name): \(check.detail)")
    }
  }

  /// The rule-table values and the generated ones that are easy to state.
  @Test func fieldsPerVersion() throws {
    for layout in PythonLayout.generated where !(layout.major == 3 && layout.minor >= 14) {
      let v = layout.versionString
      #expect(PythonThreadNames(layout: layout, interpreterHead: .null).isSupported, "\(v)")
      #expect(layout.threadingNameAttribute == (layout.major == 2 ? "_Thread__name" : "_name"), "\(v)")
      #expect(layout.threadingIdentAttribute == (layout.major == 2 ? "_Thread__ident" : "_ident"), "\(v)")
      #expect(layout.longDigitBits == 30 && layout.longDigitSize == 4, "\(v)")
      // Exactly one dict model per version.
      let models = [layout.dictMask != nil, layout.dictKeysSize != nil, layout.dictKeysLog2Size != nil]
      #expect(models.filter { $0 }.count == 1, "\(v)")
      #expect((layout.dictMask != nil) == (layout.major == 2), "\(v)")
      #expect((layout.dictKeysLog2Size != nil) == (layout.major == 3 && layout.minor >= 11), "\(v)")
      #expect((layout.longTag != nil) == (layout.major == 3 && layout.minor >= 12), "\(v)")
      #expect((layout.intValue != nil) == (layout.major == 2), "\(v)")
      // Managed dicts from 3.11; values: 3.11 own slot, 3.12 tagged, 3.13 inline.
      let managed = layout.major == 3 && layout.minor >= 11
      #expect((layout.objectManagedDict != nil) == managed, "\(v)")
      #expect((layout.objectManagedValues != nil) == (layout.major == 3 && layout.minor == 11), "\(v)")
      #expect((layout.managedDictValuesTag != nil) == (layout.major == 3 && layout.minor == 12), "\(v)")
      #expect((layout.objectInlineValues != nil) == (layout.major == 3 && layout.minor >= 13), "\(v)")
    }
    // The reference table (cpython-internals.md §8): modules / imports.modules.
    let modules = [(3, 7, 40), (3, 8, 56), (3, 9, 856), (3, 10, 856), (3, 11, 888), (3, 12, 944), (3, 13, 7656)]
    for (major, minor, offset) in modules {
      #expect(PythonLayout.forVersion(major: major, minor: minor)?.interpModules == offset, "\(major).\(minor)")
    }
    // 3.14 has no generated dict layout: names are reported unsupported, not guessed.
    let py314 = try #require(PythonLayout.forVersion(major: 3, minor: 14))
    #expect(!PythonThreadNames(layout: py314, interpreterHead: .null).isSupported)
  }
}

/// The layout's Int, Bool and String fields as JSON (nil fields left out).
private func fieldsJSON(_ layout: PythonLayout) throws -> String {
  var fields: [String: Any] = [:]
  for child in Mirror(reflecting: layout).children {
    guard let label = child.label else { continue }
    if let value = child.value as? Bool {
      fields[label] = value
    } else if let value = child.value as? Int {
      fields[label] = value
    } else if let value = child.value as? UInt64 {
      fields[label] = Int(value)
    } else if let value = child.value as? String {
      fields[label] = value
    }
  }
  return String(decoding: try JSONSerialization.data(withJSONObject: fields), as: UTF8.self)
}

private struct Report: Decodable {
  struct Check: Decodable {
    var name: String
    var ok: Bool
    var detail: String
  }
  var checks: [Check]
}

/// Run as `python -c SCRIPT LAYOUT_JSON`; works on 2.7 to 3.13. Reads only
/// through the layout's fields, the way the Swift reader does, and compares with
/// what Python itself says.
private let threadNameLayoutScript = #"""
    import sys, json, ctypes, threading
    L = json.loads(sys.argv[1])
    intern = getattr(sys, "intern", None) or __builtins__.intern
    for field in ("threadingNameAttribute", "threadingIdentAttribute"):
        L[field] = intern(str(L[field]))  # attribute names are interned: compare by identity
    api = ctypes.pythonapi
    api.PyInterpreterState_Head.restype = ctypes.c_void_p
    def ptr(a): return ctypes.c_void_p.from_address(a).value or 0
    def i64(a): return ctypes.c_long.from_address(a).value
    def u64(a): return ctypes.c_ulong.from_address(a).value
    def u8(a): return ctypes.c_ubyte.from_address(a).value
    def u32(a): return ctypes.c_uint.from_address(a).value
    def has(name): return L.get(name) is not None
    out = {"checks": []}
    def check(name, got, want):
        out["checks"].append({"name": name, "ok": got == want, "detail": "got %r, want %r" % (got, want)})

    def keys_entries(keys, values):
        n = i64(keys + L["dictKeysNentries"])
        if has("dictKeysSize"):
            size = i64(keys + L["dictKeysSize"])
            width = 1 if size <= 0xff else 2 if size <= 0xffff else 4 if size <= 0xffffffff else 8
            start = keys + L["dictKeysIndices"] + size * width
            esize, ka, va = L["dictEntrySize"], L["dictEntryKey"], L["dictEntryValue"]
        else:
            log2, log2i = u8(keys + L["dictKeysLog2Size"]), u8(keys + L["dictKeysLog2IndexBytes"])
            width = 0 if log2 < 8 else 1 if log2 < 16 else 2 if log2 < 32 else 3
            assert log2i == log2 + width, (log2, log2i)
            start = keys + L["dictKeysIndices"] + (1 << log2i)
            if u8(keys + L["dictKeysKind"]) == L["dictKindGeneral"]:
                esize, ka, va = L["dictEntrySize"], L["dictEntryKey"], L["dictEntryValue"]
            else:
                esize, ka, va = L["dictUnicodeEntrySize"], L["dictUnicodeEntryKey"], L["dictUnicodeEntryValue"]
        if values and has("dictValuesCapacity"):
            n = min(n, u8(values + L["dictValuesCapacity"]))
        pairs = set()
        for i in range(n):
            e = start + i * esize
            k = ptr(e + ka)
            v = ptr(values + L["dictValuesArray"] + 8 * i) if values else ptr(e + va)
            if k and v: pairs.add((k, v))
        return pairs

    def dict_entries(d):
        if has("dictMask"):
            mask, table = i64(d + L["dictMask"]), ptr(d + L["dictTable"])
            pairs = set()
            for i in range(mask + 1):
                e = table + i * L["dictEntrySize"]
                k, v = ptr(e + L["dictEntryKey"]), ptr(e + L["dictEntryValue"])
                if k and v: pairs.add((k, v))
            return pairs
        return keys_entries(ptr(d + L["dictKeys"]), ptr(d + L["dictValues"]))

    def attributes(obj):
        """(pairs, how) following the layout, as PythonDictReader.attributes does."""
        tp = ptr(obj + L["objectType"])
        flags = u64(tp + L["typeFlags"])
        if has("typeFlagManagedDict") and flags & L["typeFlagManagedDict"]:
            slot = u64(obj + L["objectManagedDict"])
            cached = ptr(tp + L["heapTypeCachedKeys"])
            if has("managedDictValuesTag") and slot & L["managedDictValuesTag"]:
                return keys_entries(cached, slot + L["managedDictValuesTag"]), "tagged values"
            if slot:
                return dict_entries(slot), "managed dict"
            if has("objectManagedValues"):
                values = ptr(obj + L["objectManagedValues"])
                return (keys_entries(cached, values) if values else set()), "managed values"
            if has("typeFlagInlineValues") and flags & L["typeFlagInlineValues"]:
                values = obj + L["objectInlineValues"]
                if not u8(values + L["dictValuesValid"]): return set(), "invalid inline values"
                return keys_entries(cached, values), "inline values"
            return set(), "no dict"
        off = i64(tp + L["typeDictOffset"])
        d = ptr(obj + off) if off > 0 else 0
        return (dict_entries(d) if d else set()), "tp_dictoffset"

    def integer(obj):
        if has("intValue") and type(obj) is int:
            return i64(id(obj) + L["intValue"])
        a = id(obj)
        if has("longTag"):
            tag = u64(a + L["longTag"])
            n, negative = tag >> L["longTagSizeShift"], (tag & L["longTagSignMask"]) == L["longTagNegative"]
        else:
            n = i64(a + L["varSize"]); negative = n < 0; n = abs(n)
        value = 0
        for i in reversed(range(n)):
            value = (value << L["longDigitBits"]) | (u32(a + L["longDigits"] + i * L["longDigitSize"]) & ((1 << L["longDigitBits"]) - 1))
        return -value if negative else value

    def items(d): return set((id(k), id(v)) for k, v in d.items())

    # sys.modules and a module's namespace
    interp = api.PyInterpreterState_Head()
    check("interpModules", ptr(interp + L["interpModules"]), id(sys.modules))
    check("moduleDict", ptr(id(threading) + L["moduleDict"]), id(threading.__dict__))
    check("dictUsed", i64(id(sys.modules) + L["dictUsed"]), len(sys.modules))
    check("entries of sys.modules", dict_entries(id(sys.modules)), items(sys.modules))
    check("entries of threading.__dict__", dict_entries(id(threading.__dict__)), items(threading.__dict__))

    # dicts of several shapes: int keys, deletions, mixed keys, index widths 1/2/4 bytes
    shapes = {"empty": {}, "ints": dict((i, str(i)) for i in range(40)),
              "mixed": {1: "a", "b": 2, (3,): None, 4.5: []}}
    for k in range(0, 40, 3): del shapes["ints"][k]
    for n in (200, 3000, 70000):
        shapes["str%d" % n] = dict(("k%d" % i, i) for i in range(n))
    for name, d in sorted(shapes.items()):
        check("entries of %s dict" % name, dict_entries(id(d)), items(d))

    # instance attributes, before and after the dict is materialized
    class Plain(object):
        def __init__(self):
            self.alpha = "A"; self.beta = ["B"]
    p, q = Plain(), Plain()
    want = set([(id("alpha"), id(p.alpha)), (id("beta"), id(p.beta))])
    got, how = attributes(id(p))
    check("attributes (%s)" % how, got, want)
    expected_how = ("inline values" if has("objectInlineValues") else "tagged values" if has("managedDictValuesTag")
                    else "managed values" if has("objectManagedValues") else "tp_dictoffset")
    check("attribute model", how, expected_how)
    qd = q.__dict__  # materializes the dict on 3.11+
    got, how = attributes(id(q))
    check("attributes after __dict__ (%s)" % how, got, items(qd))
    if has("dictKeys"):
        # Instance dicts share the type's keys: a split table (ma_values set).
        check("instance dict is split", ptr(id(qd) + L["dictValues"]) != 0, True)
    qd["gamma"] = 3; del qd["alpha"]
    got, how = attributes(id(q))
    check("attributes after changes (%s)" % how, got, items(q.__dict__))

    # ints, as thread idents and beyond
    for value in (0, 1, 5, 2 ** 30 - 1, 2 ** 30, 2 ** 47 + 12345, 2 ** 63 + 7, 2 ** 64 - 1, -5, -(2 ** 40)):
        check("int %d" % value, integer(value), value)
    if has("intValue"):
        check("2.7 long", integer(long(2 ** 40)), 2 ** 40)

    # threading._active: ident -> Thread, and each Thread's name and ident attributes
    started, release = threading.Event(), threading.Event()
    def other():
        started.set(); release.wait()
    t = threading.Thread(target=other, name="other-thread")
    t.daemon = True
    t.start(); started.wait()
    try:
        mod = ptr(id(threading) + L["moduleDict"])
        active = [v for k, v in dict_entries(mod) if k == id("_active")]
        check("_active found", active, [id(threading._active)])
        pairs = dict_entries(id(threading._active))
        check("entries of _active", pairs, items(threading._active))
        names = {}
        for k, v in pairs:
            thread = ctypes.cast(v, ctypes.py_object).value
            attrs = dict(attributes(v)[0])
            name = attrs.get(id(L["threadingNameAttribute"]))
            ident = attrs.get(id(L["threadingIdentAttribute"]))
            key = integer(ctypes.cast(k, ctypes.py_object).value)
            check("ident attribute of %s" % thread.name, integer(ctypes.cast(ident, ctypes.py_object).value), key)
            names[key] = ctypes.cast(name, ctypes.py_object).value
        want = dict((th.ident, th.name) for th in threading.enumerate())
        check("thread names", names, want)
        check("thread count", len(names), 2)
    finally:
        release.set(); t.join()
    sys.stdout.write(json.dumps(out))
    """#
