import Foundation
import Glibc
import Synchronization
import Testing
import SampSystem
@testable import SampCore

/// The TID of a test thread, published by the thread itself once it runs.
private final class PublishedTID: Sendable {
  private let value = Atomic<Int32>(0)

  /// Called on the thread: "/proc/thread-self" links to "PID/task/TID".
  func publish() {
    let link = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self")) ?? ""
    value.store(link.split(separator: "/").last.flatMap { Int32($0) } ?? -1, ordering: .releasing)
  }

  func wait() -> ThreadID {
    while value.load(ordering: .acquiring) == 0 { usleep(1000) }
    return ThreadID(value.load(ordering: .acquiring))
  }
}

/// One of this process's threads, blocked in read(2) on a pipe until told to
/// spin, so its scheduler state is known.
private final class ParkedThread: Sendable {
  let tid = PublishedTID()
  let done = Atomic<Bool>(false)
  let pipe: (read: Int32, write: Int32)

  init() {
    var fds: [Int32] = [0, 0]
    precondition(Glibc.pipe(&fds) == 0)
    pipe = (fds[0], fds[1])
    Thread { [self] in
      tid.publish()
      var byte: UInt8 = 0
      _ = read(pipe.read, &byte, 1)  // blocked here until woken
      while !done.load(ordering: .relaxed) {}
      close(pipe.read)
    }.start()
  }

  func waitForTID() -> ThreadID { tid.wait() }

  func wake() {
    var byte: UInt8 = 1
    _ = write(pipe.write, &byte, 1)
  }

  func finish() {
    done.store(true, ordering: .relaxed)
    close(pipe.write)
  }
}

/// One of this process's threads that sleeps a millisecond at a time: blocked
/// at almost any instant, yet on a CPU between any two looks 5 ms apart.
private final class NappingThread: Sendable {
  let tid = PublishedTID()
  let done = Atomic<Bool>(false)

  init() {
    Thread { [self] in
      tid.publish()
      while !done.load(ordering: .relaxed) { usleep(1000) }
    }.start()
  }

  func waitForTID() -> ThreadID { tid.wait() }

  func finish() { done.store(true, ordering: .relaxed) }
}

@Suite struct ThreadRegistryTests {
  /// A blocked thread is confirmed blocked by schedstat alone once schedstat
  /// has stayed unchanged for a few looks since a state read found it blocked
  /// (with a schedstat baseline taken before that read); once it runs,
  /// schedstat moves and the state read says so.
  @Test func blockedThreadIsRecheckedBySchedstatAndSeenOnceItRuns() throws {
    let parked = ParkedThread()
    defer { parked.finish() }
    let tid = parked.waitForTID()
    try #require(tid.rawValue > 0)
    // Until it sits in read(2) (a loaded machine may take a while to get it there).
    let probe = ThreadRegistry(pid: ProcessID(getpid()))
    var tries = 0
    while probe.isRunning(tid), tries < 2000 {
      usleep(1000)
      tries += 1
    }
    let registry = ThreadRegistry(pid: ProcessID(getpid()))
    #expect(!registry.isRunning(tid))
    #expect(!registry.isRunning(tid), "blocked, now with a baseline")
    // Quiet for fewer looks than trusted: still read in full.
    for _ in 1..<ThreadRegistry.quietLooksToTrust { #expect(!registry.isRunning(tid)) }
    #expect(registry.stateReads == 1 + ThreadRegistry.quietLooksToTrust)
    let reads = registry.stateReads
    #expect(!registry.isRunning(tid))
    #expect(!registry.isRunning(tid))
    #expect(registry.stateReads == reads, "schedstat alone said it has not run")

    parked.wake()
    var seenRunning = false
    for _ in 0..<200 where !seenRunning {
      usleep(1000)
      seenRunning = registry.isRunning(tid)
    }
    #expect(seenRunning)
    #expect(registry.stateReads > reads)
  }

  /// A thread that keeps waking between looks is read in full at every look
  /// (it is never trusted blocked), and schedstat, which only says it ran
  /// again, is read at a fraction of them.
  @Test func aThreadThatKeepsWakingIsCheckedInSchedstatOnlyNowAndThen() throws {
    let napper = NappingThread()
    defer { napper.finish() }
    let tid = napper.waitForTID()
    try #require(tid.rawValue > 0)
    let registry = ThreadRegistry(pid: ProcessID(getpid()))
    let looks = 24
    for _ in 0..<looks {
      _ = registry.isRunning(tid)
      usleep(5000)
    }
    #expect(registry.stateReads >= looks - 2)
    #expect(registry.schedReads > 0)
    #expect(registry.schedReads <= looks / 2, "\(registry.schedReads) schedstat reads in \(looks) looks")
  }
}

@Suite struct ThreadRunStateTests {
  private func parse(_ text: String) -> Bool? {
    Array(text.utf8).withUnsafeBufferPointer { ThreadRunStateReader.parseSyscall($0) }
  }

  @Test func syscallLinesSayRunningOrBlocked() {
    #expect(parse("running\n") == true)
    #expect(parse("232 0x4 0x7ffd 0x400 0xffffffff 0x0 0x0 0x7ffd1230 0x7f12ab34\n") == false)
    #expect(parse("-1 0x7ffd1230 0x7f12ab34\n") == true, "stalled in a page fault: its own code waits")
    #expect(parse("-1 0x0 0x0\n") == false, "no stack left: a zombie leader")
    #expect(parse("") == nil)
    #expect(parse("garbage") == nil)
  }

  /// A real thread of this process, blocked in read(2), then spinning.
  @Test func aBlockedThreadIsNotRunningAndASpinningOneIs() throws {
    let parked = ParkedThread()
    defer { parked.finish() }
    let tid = parked.waitForTID()
    try #require(tid.rawValue > 0)
    let reader = try #require(ThreadRunStateReader(pid: ProcessID(getpid()), tid: tid))
    #expect(reader.fromSyscallFile, "this machine's kernel has /proc/PID/task/TID/syscall")
    var tries = 0
    while reader.isRunning() != false, tries < 2000 {  // until it sits in read(2)
      usleep(1000)
      tries += 1
    }
    #expect(reader.isRunning() == false)
    parked.wake()
    var seenRunning = false
    for _ in 0..<2000 where !seenRunning {
      usleep(1000)
      seenRunning = reader.isRunning() == true
    }
    #expect(seenRunning)
  }
}

/// A child Python process whose threads all block: twelve on an event, the main
/// thread on another, and one on a line from stdin, after which it spins.
private final class BlockedPool {
  let process = Process()
  private let input = Pipe()
  private let output = Pipe()

  init() throws {
    let script = """
      import sys, threading
      def spin():
          sys.stdin.readline()
          while True:
              pass
      for _ in range(12):
          threading.Thread(target=threading.Event().wait, daemon=True).start()
      threading.Thread(target=spin, daemon=True).start()
      print("ready", flush=True)
      threading.Event().wait()
      """
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script]
    process.standardInput = input
    process.standardOutput = output
    try process.run()
    _ = output.fileHandleForReading.availableData  // "ready": every thread started
  }

  var pid: ProcessID { ProcessID(process.processIdentifier) }

  func threads() throws -> [ThreadID] {
    try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid.rawValue)/task")
      .compactMap { Int32($0) }.sorted().map { ThreadID($0) }
  }

  func wakeSpinner() { input.fileHandleForWriting.write(Data("go\n".utf8)) }

  func stop() {
    kill(process.processIdentifier, SIGKILL)  // it inherits the test runner's blocked signals, SIGTERM among them
    process.waitUntilExit()
  }
}

@Suite struct ThreadRegistryPoolTests {
  /// Once a pool of blocked threads is trusted blocked, a look settles them
  /// all with the process's CPU clock instead of a schedstat read each; a
  /// thread that then wakes and runs is still seen running.
  @Test func aBlockedPoolIsSettledByTheProcessClockUntilAThreadRuns() throws {
    let pool = try BlockedPool()
    defer { pool.stop() }
    let tids = try pool.threads()
    try #require(tids.count == 14)
    let registry = ThreadRegistry(pid: pool.pid)
    for _ in 0..<6 {  // first sight, baseline, two quiet looks, the clock's first reading
      _ = registry.look(at: tids)
      usleep(5000)
    }
    let reads = registry.schedReads
    let settled = registry.looksSettledByClock
    for _ in 0..<5 {
      #expect(registry.look(at: tids).allSatisfy { !$0 })
      usleep(5000)
    }
    #expect(registry.looksSettledByClock - settled >= 4)
    #expect(registry.schedReads - reads <= tids.count, "at most one look read them one by one")

    pool.wakeSpinner()
    var seenRunning = false
    for _ in 0..<400 where !seenRunning {
      usleep(5000)
      seenRunning = registry.look(at: tids).contains(true)
    }
    #expect(seenRunning)
  }
}
