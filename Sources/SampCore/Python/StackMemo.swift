/// Frames already built for a captured chain. A busy program's stacks recur,
/// and building fifty frames (line lookups, names, then a label lookup each in
/// the sampler) costs more than hashing the chain of code addresses and offsets.
/// Each distinct chain gets a run-wide ID, on which the sampler keys its label
/// IDs. Entries are good while the code cache has replaced no entry
/// (`CodeObjectCache.generation`) and while this sample checked every code
/// object it met.
final class StackMemo {
  private var entries: [[CapturedFrame]: (frames: [Frame], id: Int)] = [:]
  private var generation = 0
  /// Never reused, across clears too: an ID names one frame list for the run.
  private var nextID = 1
  /// A steady program's hot stacks are a few dozen chains; an entry holds up
  /// to a few KiB (the chain and its frames), so this stays under a MiB.
  static let maxEntries = 128

  var count: Int { entries.count }

  /// The frames for `chain`, built with `build` unless known.
  func frames(for chain: [CapturedFrame], generation: Int, build: () throws(PythonReadError) -> [Frame])
    throws(PythonReadError) -> (frames: [Frame], id: Int)
  {
    if generation != self.generation || entries.count >= Self.maxEntries {
      entries.removeAll(keepingCapacity: true)
      self.generation = generation
    }
    if let known = entries[chain] { return known }
    let made = (frames: try build(), id: nextID)
    nextID += 1
    entries[chain] = made
    return made
  }
}
