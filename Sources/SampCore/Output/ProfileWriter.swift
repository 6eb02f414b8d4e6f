/// One writer per output format behind one protocol. Writers see only labels
/// and counts; the sampler decides what a stack is.
public protocol ProfileWriter: AnyObject {
  /// The labels stacks are made of, as IDs (see `add`).
  var labels: LabelTable { get }
  /// Adds `count` samples of one stack: IDs from `labels`, root first.
  func add(ids stack: [UInt32], count: Int)
  /// Called about once a second while recording: streaming formats write here.
  func flush() throws(SampError)
  /// Called once at the end, whatever ended the run.
  func finish() throws(SampError)
}

extension ProfileWriter {
  /// Adds a stack given as label text, root first.
  public func add(_ stack: [String], count: Int) {
    add(ids: stack.map { labels.id($0) }, count: count)
  }
}
