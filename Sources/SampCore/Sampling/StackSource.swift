import SampSystem

/// Where stacks come from: native unwinding, the Python interpreter's frames, or
/// both merged. The sampler owns timing and stopping; a source decides what to
/// stop and what to read, in two phases so that only cheap copying happens while
/// the target is held and everything else (symbols, names, lines) after resume.
public protocol StackSource: AnyObject {
  /// A short description for the start line ("native", "Python 3.12.1").
  var summary: String { get }
  /// Threads to stop for this sample (none: read without stopping) and how to
  /// wait for their stops.
  func threadsToStop(_ session: TraceSession) -> StopPlan
  /// Whether `capture` can read a thread interrupted but not yet at its stop
  /// (`TraceSession.Held.late`): memory yes, registers no.
  var readsLateThreads: Bool { get }
  /// The profiler's time (ns, over the run) spent loading what unwinding and
  /// naming need the first time they meet new code (unwind tables, symbol
  /// tables, DWARF): a sample slowed by it does not say the rate is too high.
  var loadingNanos: UInt64 { get }
  /// Called once the planned threads are interrupted, while their stops are on
  /// the way: setup done here is not done while they are held. A copy
  /// returned runs the moment they are stopped, and they are continued
  /// right after it, before `capture` (see `StopCopy`).
  func prepareCapture(_ planned: [ThreadID]) -> StopCopy?
  /// Runs while `stopped` are held still (stopped, or late if the source
  /// reads late threads): copy what may change and return the work to
  /// finish after they are resumed. Per-thread failures are counted in `errors`.
  func capture(_ session: TraceSession, stopped: [ThreadID], errors: inout SampleErrors) -> PendingStacks
  /// The target exec'd or its mappings changed in a way that needs a rescan.
  /// The sampler drains the source first.
  func targetChanged(_ session: TraceSession)
  /// The stacks of earlier samples whose naming was put off
  /// (`SamplerConfig.namingBatch`), named now: the sampler calls this before
  /// every flush, at the end, and before `targetChanged`.
  func drain(_ errors: inout SampleErrors) -> [ThreadStack]
  /// Set when the source cannot go on (the program exec'd into a Python it
  /// cannot read): the sampler ends the run, and the recording reports it.
  var failure: SampError? { get }
}

extension StackSource {
  /// Sources with nothing to set up ahead do it all in `capture`.
  public func prepareCapture(_ planned: [ThreadID]) -> StopCopy? { nil }
  /// Sources that load nothing on first use.
  public var loadingNanos: UInt64 { 0 }
  /// Sources that name every sample at once have nothing to drain.
  public func drain(_ errors: inout SampleErrors) -> [ThreadStack] { [] }
  /// Sources bound to one program never fail later than their creation.
  public var failure: SampError? { nil }
}

/// What to hold for one sample.
public struct StopPlan {
  public var threads: [ThreadID]
  public var wait: StopWait
  public init(_ threads: [ThreadID], wait: StopWait = .sleep) {
    self.threads = threads
    self.wait = wait
  }
}

/// The second half of a sample, run after the threads are resumed. nil asks
/// for the sample to be taken again, a moment later: what was copied while
/// held fell short of what resolve needed, or a thread was caught where its
/// frames are half-changed (the source then reads while held, and keeps what
/// it finds).
public struct PendingStacks {
  public var resolve: (inout SampleErrors) -> [ThreadStack]?
  public init(_ resolve: @escaping (inout SampleErrors) -> [ThreadStack]?) { self.resolve = resolve }
  public static let empty = PendingStacks { _ in [] }
}

/// Errors inside samples: counted by kind, shown in the summary, never fatal.
public struct SampleErrors: Sendable {
  public private(set) var counts: [String: Int] = [:]
  public init() {}
  public mutating func count(_ kind: String, _ n: Int = 1) { counts[kind, default: 0] += n }
  public mutating func add(_ other: SampleErrors) { for (kind, n) in other.counts { count(kind, n) } }
  public var total: Int { counts.values.reduce(0, +) }
}
