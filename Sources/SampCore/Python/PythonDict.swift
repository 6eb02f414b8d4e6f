import SampSystem

/// Reads dict entries out of the target through PythonLayout fields only:
/// 2.7 open-addressing tables, 3.6-3.10 compact dicts (dk_size), 3.11+ keys
/// objects (dk_log2_size, general or unicode entries), split tables, and an
/// instance's attributes wherever its version keeps them (tp_dictoffset, 3.11
/// managed values, 3.12 tagged values, 3.13 inline values).
///
/// Every size read from the target is checked before anything is read with it,
/// and no pointer chain is followed more than a fixed number of hops: garbage
/// throws PythonReadError, never traps, never loops.
public struct PythonDictReader {
  public struct Limits: Sendable {
    /// Index-table slots (2.7 `ma_mask + 1`, 3.x dk_size): sys.modules of a very
    /// large program has ~16k; beyond this the size is garbage.
    public var maxSlots = 1 << 18
    /// Entries read from one dict (3.x dk_nentries).
    public var maxEntries = 1 << 16
    /// Longest str key decoded when looking keys up.
    public var maxKeyLength = 1024
    public init() {}
  }

  /// One live entry: both pointers non-NULL (deleted and empty slots are skipped).
  public struct Entry: Hashable, Sendable {
    public var key: RemoteAddress
    public var value: RemoteAddress
    public init(key: RemoteAddress, value: RemoteAddress) {
      self.key = key
      self.value = value
    }
  }

  public let layout: PythonLayout
  public let limits: Limits

  public init(layout: PythonLayout, limits: Limits = Limits()) {
    self.layout = layout
    self.limits = limits
  }

  /// True when the layout has every field a dict read needs.
  public var isSupported: Bool {
    guard layout.dictUsed != nil, layout.dictEntrySize != nil, layout.dictEntryKey != nil,
      layout.dictEntryValue != nil
    else { return false }
    if layout.dictMask != nil { return layout.dictTable != nil }
    guard layout.dictKeys != nil, layout.dictValues != nil, layout.dictKeysNentries != nil,
      layout.dictKeysIndices != nil, layout.dictValuesArray != nil
    else { return false }
    if layout.dictKeysSize != nil { return true }
    return layout.dictKeysLog2Size != nil && layout.dictKeysLog2IndexBytes != nil && layout.dictKeysKind != nil
      && layout.dictKindGeneral != nil && layout.dictUnicodeEntrySize != nil && layout.dictUnicodeEntryKey != nil
      && layout.dictUnicodeEntryValue != nil
  }

  // MARK: dicts

  /// The live entries of the dict object at `dict`, in table order.
  public func entries(ofDict dict: RemoteAddress, _ memory: RemoteMemory) throws(PythonReadError) -> [Entry] {
    guard isSupported, let used = layout.dictUsed else { throw unsupported }
    if let mask = layout.dictMask, let table = layout.dictTable {
      let header = try read(memory, dict, max(mask, table, used) + 8)
      return try openAddressingEntries(header, mask: mask, table: table, used: used, memory)
    }
    guard let keysField = layout.dictKeys, let valuesField = layout.dictValues else { throw unsupported }
    let header = try read(memory, dict, max(keysField, valuesField, used) + 8)
    let usedCount = header.i64(at: used)
    guard usedCount >= 0, usedCount <= Int64(limits.maxEntries) else {
      throw .badSize(what: "dict ma_used", value: Int(truncatingIfNeeded: usedCount))
    }
    let keys = header.pointer(at: keysField)
    guard !keys.isNull else { throw .corruptData("dict without keys") }
    let values = header.pointer(at: valuesField)
    return try entries(keys: keys, values: values.isNull ? nil : values, memory)
  }

  /// The entries of a keys object; with `values` (a split table's ma_values, or
  /// an instance's managed/inline PyDictValues) the values come from there.
  public func entries(keys: RemoteAddress, values: RemoteAddress?, _ memory: RemoteMemory) throws(PythonReadError)
    -> [Entry]
  {
    guard isSupported, let nentriesField = layout.dictKeysNentries, let indices = layout.dictKeysIndices,
      let entrySize = layout.dictEntrySize, let keyField = layout.dictEntryKey,
      let valueField = layout.dictEntryValue
    else { throw unsupported }
    let header = try read(memory, keys, indices)

    // Where the entries start (past the index table) and how big each is.
    var slots: Int
    var indexBytes: Int
    var size = entrySize, keyAt = keyField, valueAt = valueField
    if let sizeField = layout.dictKeysSize {
      let dkSize = header.i64(at: sizeField)
      guard dkSize >= 1, dkSize <= Int64(limits.maxSlots), dkSize & (dkSize - 1) == 0 else {
        throw .badSize(what: "dict dk_size", value: Int(truncatingIfNeeded: dkSize))
      }
      slots = Int(dkSize)
      // DK_IXSIZE (Objects/dict-common.h): the narrowest int that holds an index.
      let width = slots <= 0xff ? 1 : slots <= 0xffff ? 2 : slots <= 0xffff_ffff ? 4 : 8
      indexBytes = slots * width
    } else if let log2Field = layout.dictKeysLog2Size, let log2IndexField = layout.dictKeysLog2IndexBytes,
      let kindField = layout.dictKeysKind, let general = layout.dictKindGeneral,
      let unicodeSize = layout.dictUnicodeEntrySize, let unicodeKey = layout.dictUnicodeEntryKey,
      let unicodeValue = layout.dictUnicodeEntryValue
    {
      let log2 = Int(header.u8(at: log2Field))
      let log2Index = Int(header.u8(at: log2IndexField))
      guard log2 < 40, 1 << log2 <= limits.maxSlots else { throw .badSize(what: "dict dk_log2_size", value: log2) }
      // new_keys_object(): indices are 1, 2, 4 or 8 bytes wide as the size needs.
      let widthLog2 = log2 < 8 ? 0 : log2 < 16 ? 1 : log2 < 32 ? 2 : 3
      guard log2Index == log2 + widthLog2 else {
        throw .corruptData("dict dk_log2_index_bytes \(log2Index) for dk_log2_size \(log2)")
      }
      slots = 1 << log2
      indexBytes = 1 << log2Index
      if Int(header.u8(at: kindField)) != general {
        size = unicodeSize
        keyAt = unicodeKey
        valueAt = unicodeValue
      }
    } else {
      throw unsupported
    }

    let nentries = header.i64(at: nentriesField)
    guard nentries >= 0, nentries <= Int64(slots), nentries <= Int64(limits.maxEntries) else {
      throw .badSize(what: "dict dk_nentries", value: Int(truncatingIfNeeded: nentries))
    }
    var count = Int(nentries)
    if count == 0 { return [] }

    var valuePointers: ByteView?
    if let values {
      let array = layout.dictValuesArray ?? 0
      if let capacityField = layout.dictValuesCapacity {
        // 3.13: the values array has a capacity of its own; never read past it.
        let capacity = Int(try read(memory, values, capacityField + 1).u8(at: capacityField))
        count = min(count, capacity)
        if count == 0 { return [] }
      }
      valuePointers = try read(memory, values + array, count * 8)
    }

    let table = try read(memory, keys + (indices + indexBytes), count * size)
    var out: [Entry] = []
    out.reserveCapacity(count)
    for i in 0..<count {
      let key = table.pointer(at: i * size + keyAt)
      let value = valuePointers.map { $0.pointer(at: i * 8) } ?? table.pointer(at: i * size + valueAt)
      if !key.isNull && !value.isNull { out.append(Entry(key: key, value: value)) }
    }
    return out
  }

  /// 2.7: `ma_mask + 1` slots of {hash, key, value}; deleted slots hold the
  /// dummy key with a NULL value.
  private func openAddressingEntries(
    _ header: ByteView, mask: Int, table: Int, used: Int, _ memory: RemoteMemory
  ) throws(PythonReadError) -> [Entry] {
    guard let size = layout.dictEntrySize, let keyAt = layout.dictEntryKey, let valueAt = layout.dictEntryValue
    else { throw unsupported }
    let maskValue = header.i64(at: mask)
    guard maskValue >= 0, maskValue < Int64(limits.maxSlots), (maskValue + 1) & maskValue == 0 else {
      throw .badSize(what: "dict ma_mask", value: Int(truncatingIfNeeded: maskValue))
    }
    let slots = Int(maskValue) + 1
    let usedCount = header.i64(at: used)
    guard usedCount >= 0, usedCount <= Int64(slots) else {
      throw .badSize(what: "dict ma_used", value: Int(truncatingIfNeeded: usedCount))
    }
    if usedCount == 0 { return [] }
    let tableAddress = header.pointer(at: table)
    guard !tableAddress.isNull else { throw .corruptData("dict without a table") }
    let bytes = try read(memory, tableAddress, slots * size)
    var out: [Entry] = []
    for i in 0..<slots {
      let key = bytes.pointer(at: i * size + keyAt)
      let value = bytes.pointer(at: i * size + valueAt)
      if !key.isNull && !value.isNull { out.append(Entry(key: key, value: value)) }
    }
    return out
  }

  // MARK: instance attributes

  /// The attributes of the object at `object` (its __dict__ wherever its type
  /// keeps it). Empty when the object has no attributes yet.
  public func attributes(of object: RemoteAddress, _ memory: RemoteMemory) throws(PythonReadError) -> [Entry] {
    guard isSupported, let flagsField = layout.typeFlags, let dictOffsetField = layout.typeDictOffset else {
      throw unsupported
    }
    let type = try read(memory, object + layout.objectType, 8).pointer(at: 0)
    guard !type.isNull else { throw .corruptData("object without a type") }
    let typeHeader = try read(memory, type, max(flagsField, dictOffsetField, layout.heapTypeCachedKeys ?? 0) + 8)
    let flags = typeHeader.u64(at: flagsField)

    if let managed = layout.typeFlagManagedDict, let dictSlot = layout.objectManagedDict,
      flags & UInt64(managed) != 0
    {
      let slot = try read(memory, object + dictSlot, 8).u64(at: 0)
      // 3.12: the slot holds `values - tag` (low bit set) instead of a dict.
      if let tag = layout.managedDictValuesTag, tag > 0, slot & UInt64(tag) != 0 {
        return try sharedKeysEntries(typeHeader, values: RemoteAddress(slot &+ UInt64(tag)), memory)
      }
      if slot != 0 { return try entries(ofDict: RemoteAddress(slot), memory) }
      // 3.11: values before the object, used while no dict was materialized.
      if let valuesSlot = layout.objectManagedValues {
        let values = try read(memory, object + valuesSlot, 8).pointer(at: 0)
        return values.isNull ? [] : try sharedKeysEntries(typeHeader, values: values, memory)
      }
      // 3.13: values inline after the object header, while marked valid.
      if let inline = layout.typeFlagInlineValues, let inlineAt = layout.objectInlineValues,
        flags & UInt64(inline) != 0
      {
        let values = object + inlineAt
        if let validField = layout.dictValuesValid {
          guard try read(memory, values + validField, 1).u8(at: 0) != 0 else { return [] }
        }
        return try sharedKeysEntries(typeHeader, values: values, memory)
      }
      return []
    }

    // Up to 3.10 (and for non-managed types): the dict pointer at tp_dictoffset.
    let dictOffset = typeHeader.i64(at: dictOffsetField)
    if dictOffset == 0 { return [] }
    // A negative offset counts from the end of a variable-size object; Thread
    // objects never are, so this reader does not follow it.
    guard dictOffset > 0, dictOffset < 1 << 16, dictOffset % 8 == 0 else {
      throw .badSize(what: "tp_dictoffset", value: Int(truncatingIfNeeded: dictOffset))
    }
    let dict = try read(memory, object + Int(dictOffset), 8).pointer(at: 0)
    return dict.isNull ? [] : try entries(ofDict: dict, memory)
  }

  /// Values shared-key style: keys from the type's ht_cached_keys.
  private func sharedKeysEntries(_ typeHeader: ByteView, values: RemoteAddress, _ memory: RemoteMemory)
    throws(PythonReadError) -> [Entry]
  {
    guard let cached = layout.heapTypeCachedKeys else { throw unsupported }
    let keys = typeHeader.pointer(at: cached)
    guard !keys.isNull else { throw .corruptData("instance values without the type's cached keys") }
    return try entries(keys: keys, values: values, memory)
  }

  // MARK: str keys

  /// For each name in `names`, the value of the entry whose key is a str equal
  /// to it (absent names are left out). Keys are compared by length first, so
  /// only candidates are decoded.
  public func values(forKeys names: Set<String>, in entries: [Entry], _ memory: RemoteMemory) -> [String: RemoteAddress] {
    let bytesModel = layout.stringModel == .bytes
    func length(_ name: String) -> Int { bytesModel ? name.utf8.count : name.unicodeScalars.count }
    let wanted = Set(names.map(length))
    guard let longest = wanted.max(), longest <= limits.maxKeyLength, !entries.isEmpty else { return [:] }
    let lengthField = bytesModel ? layout.varSize : layout.unicodeLength
    // Enough for the compact text of the longest wanted name, so a match needs no second read.
    let headerSize =
      bytesModel ? layout.bytesData + longest + 1 : max(layout.unicodeCompactData, layout.unicodeASCIIData) + longest * 4
    let minimalSize = max(lengthField, bytesModel ? 0 : layout.unicodeState) + 8

    var found: [String: RemoteAddress] = [:]
    for start in stride(from: 0, to: entries.count, by: 512) {
      let part = entries[start..<min(entries.count, start + 512)]
      let headers = readHeaders(part.map(\.key), size: headerSize, fallback: minimalSize, memory)
      for (entry, header) in zip(part, headers) {
        guard let header, header.count >= lengthField + 8 else { continue }
        let count = ByteView(header).i64(at: lengthField)
        guard count >= 0, count <= Int64(longest), wanted.contains(Int(count)) else { continue }
        let key = try? PythonString.decode(
          at: entry.key, header: header, layout: layout, maxLength: limits.maxKeyLength
        ) { (address, n) throws(SystemError) -> [UInt8] in try memory.read(at: address, count: n) }
        if let key, names.contains(key), found[key] == nil {
          found[key] = entry.value
          if found.count == names.count { return found }
        }
      }
    }
    return found
  }

  /// The value for the str key `name` in the dict at `dict`; nil when absent.
  public func value(forKey name: String, inDict dict: RemoteAddress, _ memory: RemoteMemory) throws(PythonReadError)
    -> RemoteAddress?
  {
    values(forKeys: [name], in: try entries(ofDict: dict, memory), memory)[name]
  }

  /// Headers of `addresses`, batched; an address whose full header is unreadable
  /// (an object at the end of a mapping) gets the minimal one, else nil.
  private func readHeaders(_ addresses: [RemoteAddress], size: Int, fallback: Int, _ memory: RemoteMemory)
    -> [[UInt8]?]
  {
    if let batch = try? memory.read(ranges: addresses.map { ($0, size) }), batch.count == addresses.count {
      return batch.map { $0.count >= size ? Array($0) : nil }
    }
    return addresses.map { address in
      (try? memory.read(at: address, count: size)) ?? (try? memory.read(at: address, count: fallback))
    }
  }

  // MARK: reads

  private var unsupported: PythonReadError {
    .unsupportedBuild("no dict layout for Python \(layout.versionString)")
  }

  private func read(_ memory: RemoteMemory, _ address: RemoteAddress, _ count: Int) throws(PythonReadError) -> ByteView {
    guard !address.isNull, address.rawValue >= 4096 else { throw .unreadableMemory(address, count: count) }
    do {
      let bytes = try memory.read(at: address, count: count)
      guard bytes.count >= count else { throw PythonReadError.unreadableMemory(address, count: count) }
      return ByteView(bytes)
    } catch {
      throw .unreadableMemory(address, count: count)
    }
  }
}
