/// One frame of a stack, Python or native, before it is turned into a label.
public struct Frame: Hashable, Sendable {
  public enum Kind: Hashable, Sendable {
    case python
    case native
    /// A synthetic root: `thread NAME (TID)` or `process PID (COMMAND)`.
    case root
  }

  public var kind: Kind
  /// Python: qualified name where the interpreter has one. Native: the demangled
  /// symbol, or nil when nothing names the address.
  public var name: String?
  /// Python: the code object's file name as the interpreter has it. Native: the
  /// source file from debug info.
  public var file: String?
  public var line: Int?
  /// Python: the function's first line (for `--function`).
  public var firstLine: Int?
  /// Native: the module's file name ("libc.so.6").
  public var module: String?
  /// Native: the instruction address.
  public var address: UInt64
  /// Non-zero: a key that stands for all the fields above (Python frames: the
  /// decoded code object and the line), so that the sampler's label memo
  /// hashes one integer instead of names and file paths.
  public var identity: UInt64 = 0

  public init(kind: Kind, name: String?, file: String? = nil, line: Int? = nil,
              firstLine: Int? = nil, module: String? = nil, address: UInt64 = 0) {
    self.kind = kind
    self.name = name
    self.file = file
    self.line = line
    self.firstLine = firstLine
    self.module = module
    self.address = address
  }

  public static func python(_ name: String, file: String, line: Int?, firstLine: Int?, identity: UInt64 = 0) -> Frame {
    var frame = Frame(kind: .python, name: name, file: file, line: line, firstLine: firstLine)
    frame.identity = identity
    return frame
  }

  public static func root(_ label: String) -> Frame { Frame(kind: .root, name: label) }
}

/// What the scheduler and the interpreter said about a thread at sample time.
public struct ThreadActivity: Hashable, Sendable {
  /// Running, runnable, or stalled in a page fault (not waiting in a syscall).
  public var running: Bool
  /// Holds the interpreter lock (Python targets only).
  public var holdsGIL: Bool?
  /// Blocked waiting to take the interpreter lock (known from native frames).
  public var waitingForGIL: Bool?
  public init(running: Bool, holdsGIL: Bool? = nil, waitingForGIL: Bool? = nil) {
    self.running = running
    self.holdsGIL = holdsGIL
    self.waitingForGIL = waitingForGIL
  }

  /// "running", "idle", "running, holds the GIL", "idle, waiting for the GIL".
  public var description: String {
    var parts = [running ? "running" : "idle"]
    if holdsGIL == true { parts.append("holds the GIL") }
    if waitingForGIL == true { parts.append("waiting for the GIL") }
    return parts.joined(separator: ", ")
  }
}

/// Names frames by `Frame.identity` alone, for stacks a source gives as identities.
public protocol FrameCatalog: AnyObject {
  func frame(identity: UInt64) -> Frame?
}

/// One thread's stack in one sample, root first.
public struct ThreadStack {
  public var tid: Int32
  public var name: String?
  public var activity: ThreadActivity
  /// Set instead of built frames by a source whose frames all have an identity
  /// (Python-only stacks): the sampler labels a stack by its identities, and
  /// the frames are built only where they are asked for.
  public let identities: [UInt64]?
  private let catalog: FrameCatalog?
  private let built: [Frame]

  public init(tid: Int32, name: String?, activity: ThreadActivity, frames: [Frame]) {
    self.tid = tid
    self.name = name
    self.activity = activity
    built = frames
    identities = nil
    catalog = nil
  }

  public init(tid: Int32, name: String?, activity: ThreadActivity, identities: [UInt64], catalog: FrameCatalog) {
    self.tid = tid
    self.name = name
    self.activity = activity
    built = []
    self.identities = identities
    self.catalog = catalog
  }

  /// Root first.
  public var frames: [Frame] {
    guard let identities, let catalog else { return built }
    return identities.compactMap { catalog.frame(identity: $0) }
  }

  /// The frame of one identity from `identities`.
  public func frame(identity: UInt64) -> Frame? { catalog?.frame(identity: identity) }
}
