/// One writer per output format behind one protocol. Writers see only labels
/// and counts; the sampler decides what a stack is.
public protocol ProfileWriter: AnyObject {
  /// Adds `count` samples of one stack (labels root first).
  func add(_ stack: [String], count: Int)
  /// Called about once a second while recording: streaming formats write here.
  func flush() throws(SampError)
  /// Called once at the end, whatever ended the run.
  func finish() throws(SampError)
}
