import CSampShims
import Glibc

/// Readers for /proc/PID/... Parsing is kept in pure functions (tested without a
/// process); only the file access lives here.
public enum ProcFS {
  /// The whole content of a /proc file (they report size 0, so read until EOF).
  public static func readFile(_ path: String, limit: Int = 16 << 20) throws(SystemError) -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    if fd < 0 { throw .procfs(path: path, .current) }
    defer { close(fd) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while out.count < limit {
      let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if n < 0 {
        if errno == EINTR { continue }
        throw .procfs(path: path, .current)
      }
      if n == 0 { break }
      out += chunk[0..<n]
    }
    return out
  }

  public static func readText(_ path: String) throws(SystemError) -> String {
    String(decoding: try readFile(path), as: UTF8.self)
  }

  /// The CPU the calling thread runs on now (it may move right after), nil if unknown.
  public static func currentCPU() -> Int? {
    let cpu = sampswift_sched_getcpu()
    return cpu >= 0 ? Int(cpu) : nil
  }

  public static func exists(_ pid: ProcessID) -> Bool {
    access("/proc/\(pid.rawValue)", F_OK) == 0
  }

  /// The thread IDs of a process, from /proc/PID/task.
  public static func threads(of pid: ProcessID) throws(SystemError) -> [ThreadID] {
    try numberedEntries("/proc/\(pid.rawValue)/task").map { ThreadID($0) }
  }

  /// The processes whose parent is `pid`, lowest first: from each thread's
  /// /proc/PID/task/TID/children where the kernel has them
  /// (CONFIG_PROC_CHILDREN), else from the parent in every process's status.
  public static func children(of pid: ProcessID) -> [ProcessID] {
    guard let tids = try? threads(of: pid) else { return [] }
    var found: [Int32] = []
    var kernelLists = false
    for tid in tids {
      guard let text = try? readText("/proc/\(pid.rawValue)/task/\(tid.rawValue)/children") else { continue }
      kernelLists = true
      found += parseChildren(text)
    }
    if !kernelLists {
      for other in (try? numberedEntries("/proc")) ?? [] where other != pid.rawValue {
        if (try? status(of: ProcessID(other)))?.parentPID == pid.rawValue { found.append(other) }
      }
    }
    return Set(found).sorted().map { ProcessID($0) }
  }

  /// A children file: PIDs separated by spaces.
  public static func parseChildren(_ text: String) -> [Int32] {
    text.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Int32($0) }
  }

  /// The names of a /proc directory's entries that are numbers, sorted.
  private static func numberedEntries(_ path: String) throws(SystemError) -> [Int32] {
    guard let dir = opendir(path) else { throw .procfs(path: path, .current) }
    defer { closedir(dir) }
    var numbers: [Int32] = []
    while let entry = readdir(dir) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
        String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
      }
      if let value = Int32(name) { numbers.append(value) }
    }
    return numbers.sorted()
  }

  public static func status(of pid: ProcessID) throws(SystemError) -> ProcessStatus {
    ProcessStatus(parsing: try readText("/proc/\(pid.rawValue)/status"))
  }

  public static func maps(of pid: ProcessID) throws(SystemError) -> [MemoryMapping] {
    MemoryMapping.parse(try readText("/proc/\(pid.rawValue)/maps"))
  }

  /// The command line, arguments joined by spaces.
  public static func commandLine(of pid: ProcessID) -> String {
    guard let bytes = try? readFile("/proc/\(pid.rawValue)/cmdline", limit: 4096) else { return "" }
    return bytes.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
  }

  /// How long ago the process started (fork, or clone), in nanoseconds; nil
  /// if its stat cannot be read. The start time has the kernel's clock-tick
  /// resolution (10 ms), rounded down: the age is never under the true one.
  public static func age(of pid: ProcessID) -> UInt64? {
    guard let bytes = try? readFile("/proc/\(pid.rawValue)/stat", limit: 4096),
      let close = bytes.lastIndex(of: UInt8(ascii: ")"))
    else { return nil }
    // Fields after "(comm)": state is the first, starttime (stat field 22) the twentieth.
    let fields = bytes[(close + 1)...].split(separator: UInt8(ascii: " "))
    guard fields.count > 19, let ticks = UInt64(String(decoding: fields[19], as: UTF8.self)) else { return nil }
    let hz = UInt64(max(1, sysconf(Int32(_SC_CLK_TCK))))
    var ts = timespec()
    clock_gettime(CLOCK_BOOTTIME, &ts)
    let now = UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    let started = ticks &* (1_000_000_000 / hz)
    return now > started ? now - started : 0
  }

  /// The thread's /proc stat line, read once (where it runs; the per-sample
  /// state check keeps its file open, see `ThreadRunStateReader`).
  public static func threadStat(_ pid: ProcessID, _ tid: ThreadID) -> ThreadStat? {
    guard let bytes = try? readFile("/proc/\(pid.rawValue)/task/\(tid.rawValue)/stat", limit: 4096) else { return nil }
    return bytes.withUnsafeBufferPointer { ThreadStat(parsing: $0) }
  }

  /// The thread's name (comm), as set by pthread_setname_np / prctl.
  public static func threadName(_ pid: ProcessID, _ tid: ThreadID) -> String? {
    guard let text = try? readText("/proc/\(pid.rawValue)/task/\(tid.rawValue)/comm") else { return nil }
    return text.hasSuffix("\n") ? String(text.dropLast()) : text
  }

  /// The executable's path (the link target of /proc/PID/exe).
  public static func executablePath(of pid: ProcessID) -> String? {
    var buffer = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/\(pid.rawValue)/exe", &buffer, buffer.count - 1)
    guard n > 0 else { return nil }
    return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }
}

/// Fields of /proc/PID/status that decide whether and how a process can be traced.
public struct ProcessStatus: Equatable, Sendable {
  public var name = ""
  /// The one-letter state: R running, S sleeping, D disk, Z zombie, T stopped, t traced, I idle, X dead.
  public var state: Character = "?"
  public var tracerPID: Int32 = 0
  public var parentPID: Int32 = 0
  public var realUID: UInt32 = 0
  public var threadCount = 0
  /// Kernel threads have no memory map: no VmSize line at all.
  public var hasUserMemory = false
  public var isKernelThread: Bool { !hasUserMemory && parentPID <= 2 }

  public init(parsing text: String) {
    for line in text.split(separator: "\n") {
      guard let colon = line.firstIndex(of: ":") else { continue }
      let key = line[..<colon]
      let value = line[line.index(after: colon)...].trimmingPrefix(while: { $0 == " " || $0 == "\t" })
      switch key {
      case "Name": name = String(value)
      case "State": state = value.first ?? "?"
      case "TracerPid": tracerPID = Int32(value) ?? 0
      case "PPid": parentPID = Int32(value) ?? 0
      case "Uid": realUID = UInt32(value.split(separator: "\t").first ?? "") ?? 0
      case "Threads": threadCount = Int(value) ?? 0
      case "VmSize": hasUserMemory = true
      default: break
      }
    }
  }
}

extension Substring {
  fileprivate func trimmingPrefix(while predicate: (Character) -> Bool) -> Substring {
    var s = self
    while let c = s.first, predicate(c) { s = s.dropFirst() }
    return s
  }
}

/// A /proc file kept open, so re-reading it is one pread at offset 0 (the
/// kernel regenerates the text on each read).
final class ProcFileReader {
  private var fd: Int32
  private var buffer: [UInt8]

  init?(_ path: String, capacity: Int) {
    fd = open(path, O_RDONLY | O_CLOEXEC)
    if fd < 0 { return nil }
    buffer = [UInt8](repeating: 0, count: capacity)
  }
  deinit { if fd >= 0 { close(fd) } }

  /// The file's current text, parsed in place; nil if it is gone or empty.
  func read<T>(_ parse: (UnsafeBufferPointer<UInt8>) -> T?) -> T? {
    let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
    guard n > 0 else { return nil }
    return buffer.withUnsafeBufferPointer { parse(UnsafeBufferPointer(rebasing: $0[0..<n])) }
  }
}

/// Whether a thread is on a CPU or waiting for one, before each sample. From
/// /proc/PID/task/TID/syscall ("running", or the call it is blocked in): the
/// same test as stat's "R" (the task's state is TASK_RUNNING) at two thirds of
/// its cost, since the kernel formats one short line instead of fifty fields
/// (23 against 33 µs cold here). Where that file cannot be read (no ptrace
/// access to it, or an architecture without it), stat's state letter instead.
/// Two differences. A thread blocked outside any syscall is stalled in a page
/// fault (swap-in, a file mapping, reclaim or compaction under memory pressure):
/// its own code is what waits, so it counts as running and its samples show the
/// line that faulted (stat says "D" or "S" there, as for a thread waiting in
/// read(2)). And on a fully preemptible kernel, a thread caught preempted in the
/// instant between marking itself asleep and sleeping makes the kernel wait up
/// to a tick for it to settle; stat would answer at once. Rare, and it delays
/// the profiler, never the target.
public final class ThreadRunStateReader {
  private let file: ProcFileReader
  /// False where it fell back to stat.
  public let fromSyscallFile: Bool

  public init?(pid: ProcessID, tid: ThreadID) {
    let task = "/proc/\(pid.rawValue)/task/\(tid.rawValue)/"
    if let file = ProcFileReader(task + "syscall", capacity: 128), file.read({ Self.parseSyscall($0) }) != nil {
      self.file = file
      fromSyscallFile = true
    } else if let file = ProcFileReader(task + "stat", capacity: 1024) {
      self.file = file
      fromSyscallFile = false
    } else {
      return nil
    }
  }

  /// nil if the thread is gone.
  public func isRunning() -> Bool? {
    fromSyscallFile ? file.read { Self.parseSyscall($0) } : file.read { ThreadStat(parsing: $0) }?.isRunning
  }

  private static let noStack = Array("-1 0x0 0x0\n".utf8)

  /// "running\n"; "NR arg1 ... sp pc" for a thread blocked in syscall NR;
  /// "-1 sp pc" for one blocked outside any syscall (a page fault: running,
  /// see above), or "-1 0x0 0x0" when it has no stack left (a zombie leader).
  public static func parseSyscall(_ text: UnsafeBufferPointer<UInt8>) -> Bool? {
    guard let first = text.first else { return nil }
    if first == UInt8(ascii: "r") { return true }
    if first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9") { return false }
    guard first == UInt8(ascii: "-") else { return nil }
    return !text.elementsEqual(noStack)
  }
}

/// /proc/PID/task/TID/schedstat: a fraction of stat's cost, and enough to tell
/// that a blocked thread has not been on a CPU since the last look (it needs
/// CONFIG_SCHED_INFO; nil without).
public final class ThreadSchedStatReader {
  private let file: ProcFileReader

  public init?(pid: ProcessID, tid: ThreadID) {
    guard let file = ProcFileReader("/proc/\(pid.rawValue)/task/\(tid.rawValue)/schedstat", capacity: 128) else {
      return nil
    }
    self.file = file
  }

  /// nil if the thread is gone, the line is not three numbers, or it is
  /// "0 0 0": a kernel that keeps no such accounting (older ones, unless
  /// schedstats or delay accounting is on) shows that for every thread, and it
  /// would never change.
  public func read() -> SchedStat? {
    guard let stat = file.read({ SchedStat(parsing: $0) }),
      stat != SchedStat(runNanos: 0, waitNanos: 0, timeslices: 0)
    else { return nil }
    return stat
  }
}

/// "run_ns wait_ns timeslices": time on a CPU, time runnable but waiting for
/// one, and how many times the thread was put on one. All three stay the same
/// only while the thread stays off every CPU.
public struct SchedStat: Equatable, Sendable {
  public var runNanos: UInt64
  public var waitNanos: UInt64
  public var timeslices: UInt64

  public init(runNanos: UInt64, waitNanos: UInt64, timeslices: UInt64) {
    self.runNanos = runNanos
    self.waitNanos = waitNanos
    self.timeslices = timeslices
  }

  /// One pass, no allocation: it runs for idle threads before every sample.
  public init?(parsing bytes: UnsafeBufferPointer<UInt8>) {
    var values: (UInt64, UInt64, UInt64) = (0, 0, 0)
    var field = 0
    var digits = 0
    for byte in bytes {
      let digit = byte &- UInt8(ascii: "0")
      if digit < 10 {
        switch field {
        case 0: values.0 = values.0 &* 10 &+ UInt64(digit)
        case 1: values.1 = values.1 &* 10 &+ UInt64(digit)
        case 2: values.2 = values.2 &* 10 &+ UInt64(digit)
        default: return nil
        }
        digits += 1
      } else if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") {
        if digits > 0 { field += 1 }
        digits = 0
      } else {
        return nil
      }
    }
    if digits > 0 { field += 1 }
    guard field == 3 else { return nil }
    self.init(runNanos: values.0, waitNanos: values.1, timeslices: values.2)
  }

  public init?(parsing bytes: [UInt8]) {
    guard let parsed = bytes.withUnsafeBufferPointer({ SchedStat(parsing: $0) }) else { return nil }
    self = parsed
  }
}

/// The parts of /proc/.../stat the sampler needs.
public struct ThreadStat: Equatable, Sendable {
  /// R running/runnable, S sleeping, D uninterruptible, T/t stopped, Z zombie.
  public var state: UInt8
  /// User and system CPU ticks: unchanged between samples means the thread did not run.
  public var cpuTicks: UInt64
  /// The CPU the thread last ran on (field 39), nil if the line is too short.
  public var processor: Int?

  public init(state: UInt8, cpuTicks: UInt64, processor: Int? = nil) {
    self.state = state
    self.cpuTicks = cpuTicks
    self.processor = processor
  }

  /// Parses "tid (comm) S ppid ... utime stime ...": comm may hold spaces and
  /// parentheses, so fields are counted after the last ')'.
  public init?<C: Collection>(parsing bytes: C) where C.Element == UInt8 {
    let copy = Array(bytes)
    guard let parsed = copy.withUnsafeBufferPointer({ ThreadStat(parsing: $0) }) else { return nil }
    self = parsed
  }

  /// Through a buffer pointer, indexed: this runs for every thread before every
  /// sample, and a generic slice's iteration cost several times the instructions.
  public init?(parsing bytes: UnsafeBufferPointer<UInt8>) {
    var close = bytes.count - 1
    while close >= 0, bytes[close] != UInt8(ascii: ")") { close -= 1 }
    guard close >= 0 else { return nil }
    // One pass, no allocation, up to the last field wanted.
    var field = -1
    var inField = false
    var state: UInt8 = 0
    var utime: UInt64 = 0
    var stime: UInt64 = 0
    var cpu: UInt64 = 0
    var i = close + 1
    while i < bytes.count {
      let byte = bytes[i]
      i += 1
      if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") {
        inField = false
        if field == 36 { break }
        continue
      }
      if !inField {
        inField = true
        field += 1
        if field == 0 { state = byte }
      }
      let digit = byte &- UInt8(ascii: "0")
      guard digit < 10 else { continue }
      switch field {
      case 11: utime = utime &* 10 &+ UInt64(digit)
      case 12: stime = stime &* 10 &+ UInt64(digit)
      case 36: cpu = cpu &* 10 &+ UInt64(digit)
      default: break
      }
    }
    guard field >= 13 else { return nil }
    self.state = state
    cpuTicks = utime &+ stime
    processor = field >= 36 ? Int(exactly: cpu) : nil
  }

  public var isRunning: Bool { state == UInt8(ascii: "R") }
}
