import Foundation
import Testing

/// `sampswift record` on real CPython processes, every interpreter on the machine:
/// exact function names, files and lines, idle/GIL filtering, a wall-time split
/// the fixture measures itself, deep recursion, non-ASCII names.
@Suite(.serialized) struct PythonStackTests {
  /// In CI every expected interpreter must be installed; elsewhere a missing one
  /// only drops its cases from the parameterized tests below.
  @Test(.enabled(if: PythonInterpreter.inCI)) func everyExpectedInterpreterIsInstalled() {
    #expect(PythonInterpreter.missing.isEmpty, "missing: \(PythonInterpreter.missing)")
  }

  @Test(arguments: PythonInterpreter.all)
  func knownStacksIdleAndGIL(_ python: PythonInterpreter) throws {
    let script = Fixtures.path("python/stacks.py")
    let line = try FixtureMarkers(script)
    let v = python.version
    let target = try TargetProcess(python.path, [script])
    defer { target.stop() }

    // --idle: every thread, every sample.
    let (idle, idleRun) = try Sampswift.record(pid: target.pid, ["--duration", "1", "--idle"])
    let summary = try RunSummary(idleRun)
    #expect(idleRun.status == 0, "\(idleRun.stderr)")
    #expect(idle.malformed.isEmpty)
    #expect(idleRun.stderr.contains("sampswift: Python \(v.major).\(v.minor)."), "\(idleRun.stderr)")
    // 600-frame stacks cost the debug build's labelling time, and a loaded
    // machine more: the rate is not the point here, the stacks are.
    #expect(summary.samples >= 5, "\(idleRun.stderr)")
    #expect(summary.errors * 50 <= summary.samples, "\(idleRun.stderr)")

    func q(_ qualified: String, _ plain: String) -> String { v.hasQualname ? qualified : plain }
    func f(_ name: String, _ marker: String) -> String { "\(name) (stacks.py:\(line[marker]))" }
    let lambda = "nested.<locals>.inner.<locals>.<lambda>"
    var shapes = [
      f(q("Worker.method", "method"), "METHOD"), f("nested", "NESTED"),
      f(q("nested.<locals>.inner", "inner"), "INNER"), f(q(lambda, "<lambda>"), "LAMBDA"),
    ]
    // List comprehensions run in a frame of their own only from 3.0 to 3.11 (PEP 709 inlines them).
    if v.major == 3 && v.minor <= 11 { shapes.append(f(q(lambda + ".<locals>.<listcomp>", "<listcomp>"), "LAMBDA")) }
    shapes += [f(q(lambda + ".<locals>.<genexpr>", "<genexpr>"), "LAMBDA"), f("gen", "GEN"), f("sleep_forever", "SLEEP")]
    let deep = Array(repeating: f("recurse", "RECURSE"), count: 600) + [f("recurse", "BOTTOM"), f("sleep_forever", "SLEEP")]
    let ctor = [f("construct", "CONSTRUCT"), f(q("Holder.__init__", "__init__"), "INIT"), f("sleep_forever", "SLEEP")]
    let main = [f("<module>", "MAIN"), f("main_spin", "SPIN")]

    for (what, expected) in [("generator/lambda/comprehension chain", shapes), ("600-deep recursion", deep),
                             ("constructor", ctor)] {
      let seen = idle.count { $0.count > expected.count && Array($0.suffix(expected.count)) == expected }
      #expect(seen * 10 >= summary.samples * 9, "\(what): \(seen) of \(summary.samples) samples\n\(idle.describeTop())")
    }
    #expect(idle.count { $0 == main } * 10 >= summary.samples * 9, "main thread\n\(idle.describeTop())")
    // Thread roots come from threading.py; the fixture's own frames are the suffix checked above.
    #expect(idle.count { $0.count == deep.count + 3 } * 10 >= summary.samples * 9, "deep stack is cut\n\(idle.describeTop())")

    // Default: only running threads, i.e. the spinning main thread.
    let (running, runningRun) = try Sampswift.record(pid: target.pid, ["--duration", "1"])
    #expect(runningRun.status == 0)
    #expect(running.total >= 20, "\(runningRun.stderr)")
    #expect(running.merged.keys.allSatisfy { $0 == main }, "idle threads shown\n\(running.describeTop())")

    // --idle --gil: only the GIL holder, never a thread asleep in time.sleep.
    let (gil, gilRun) = try Sampswift.record(pid: target.pid, ["--duration", "1", "--idle", "--gil"])
    #expect(gilRun.status == 0)
    #expect(gil.total >= 15, "\(gilRun.stderr)")
    #expect(gil.merged.keys.allSatisfy { $0 == main }, "non-holders shown\n\(gil.describeTop())")
  }

  /// The fixture alternates between alpha and beta and measures its own split;
  /// the sampled split must agree within 5 points.
  @Test(arguments: PythonInterpreter.all)
  func wallTimeSplitMatchesTheFixturesClock(_ python: PythonInterpreter) throws {
    let target = try TargetProcess(python.path, [Fixtures.path("python/split.py")])
    defer { target.stop() }
    let (folded, run) = try Sampswift.record(pid: target.pid, ["--duration", "3", "--rate", "500"])
    #expect(run.status == 0, "\(run.stderr)")
    let measured = try #require(target.reported("split").flatMap(Double.init))
    let alpha = folded.count { Folded.names($0).contains("alpha") }
    let beta = folded.count { Folded.names($0).contains("beta") }
    #expect(alpha + beta >= 300, "\(run.stderr)")
    let sampled = Double(alpha) / Double(max(1, alpha + beta))
    #expect(abs(sampled - measured) <= 0.05, "sampled \(sampled), fixture measured \(measured); \(run.stderr)")
  }

  /// The stack jumps 300 frames deeper and back every 0.1 s, onto memory the
  /// last samples did not copy: captures that walk after resume miss their copy
  /// at the switches and are taken again, and no stack comes out torn.
  @Test(arguments: PythonInterpreter.all)
  func movingStackIsTakenAgainNeverTorn(_ python: PythonInterpreter) throws {
    let script = Fixtures.path("python/moving.py")
    let line = try FixtureMarkers(script)
    let target = try TargetProcess(python.path, [script])
    defer { target.stop() }
    let (folded, run) = try Sampswift.record(pid: target.pid, ["--duration", "2", "--rate", "250"])
    #expect(run.status == 0, "\(run.stderr)")
    let summary = try RunSummary(run)
    #expect(summary.takenTwice > 0, "\(run.stderr)")
    #expect(summary.errors * 50 <= summary.samples, "\(run.stderr)")

    func f(_ name: String, _ marker: String) -> String { "\(name) (moving.py:\(line[marker]))" }
    let shallow = [f("<module>", "MAIN"), f("main", "SHALLOW"), f("spin", "SPIN")]
    let deep = [f("<module>", "MAIN"), f("main", "DEEP")] + Array(repeating: f("recurse", "RECURSE"), count: 300)
      + [f("recurse", "BOTTOM"), f("spin", "SPIN")]
    // On the way down or up, or between the phases: <module>, main, then only
    // recurse frames, then at most a spin. Anything else is a torn stack.
    let wellFormed = folded.count { stack in
      let names = Folded.names(stack)
      guard names.count >= 2, names[0] == "<module>", names[1] == "main" else { return false }
      let rest = names.dropFirst(2)
      let recursions = rest.prefix { $0 == "recurse" }.count
      return recursions <= 301 && rest.count - recursions <= 1 && (rest.last == "spin" || rest.count == recursions)
    }
    #expect(wellFormed == folded.total, "\(folded.total - wellFormed) torn stacks\n\(folded.describeTop())")
    for (what, expected) in [("shallow", shallow), ("deep", deep)] {
      let seen = folded.count { $0 == expected }
      #expect(seen * 4 >= folded.total, "\(what): \(seen) of \(folded.total)\n\(folded.describeTop())")
    }
  }

  /// Stacks are named in batches a few samples after they are taken
  /// (SamplerConfig.namingBatch), yet every sample of a lone spinning thread
  /// reaches the profile or is counted as an error, the last batch's too,
  /// whether the run ends by its duration, by Ctrl-C, or by the target's exit
  /// (whose last sample may find the thread gone, and the ones before it the
  /// interpreter being torn down: counted errors).
  @Test(arguments: PythonInterpreter.all.filter { ["2.7", "3.12"].contains($0.name) })
  func everySampleIsNamedWhateverEndsTheRun(_ python: PythonInterpreter) throws {
    // os._exit: the run is to end at the spin's end, not after the
    // interpreter's finalization, whose samples have no Python frame to name
    // (several on a loaded machine).
    let spin = "import os, sys, time\nprint('ready'); sys.stdout.flush()\nend = time.time() + float(sys.argv[1])\nwhile time.time() < end: pass\nos._exit(0)\n"
    func check(_ stdout: String, _ stderr: String, lost: Int = 0) {
      guard let summary = Summary(stderr) else {
        Issue.record("no summary: \(stderr)")
        return
      }
      #expect(summary.samples >= 50, "\(stderr)")
      #expect(summary.samples - summary.stacks - summary.errors <= lost, "\(stderr)")
      #expect(summary.stacks == Folded(stdout).total, "\(stderr)")
    }

    let long = try TargetProcess(python.path, ["-c", spin, "600"])
    defer { long.stop() }
    let (_, timed) = try Sampswift.record(pid: long.pid, ["--duration", "1.57", "--rate", "100"])
    check(timed.stdout, timed.stderr)

    let profiler = try Background(Sampswift.executable, ["record", "--pid", String(long.pid), "--rate", "100"])
    defer { profiler.signal(SIGKILL) }
    #expect(profiler.waitForStderr("attached to PID"))
    usleep(1_330_000)
    profiler.signal(SIGINT)
    let end = try profiler.wait(timeout: 20)
    #expect(end.status == 0 && profiler.stderr.contains("stopped by SIGINT"), "\(profiler.stderr)")
    check(profiler.stdout, profiler.stderr)

    let short = try TargetProcess(python.path, ["-c", spin, "1.45"])
    defer { short.stop() }
    let (_, exited) = try Sampswift.record(pid: short.pid, ["--rate", "100"])
    #expect(exited.stderr.contains("exited"), "\(exited.stderr)")
    check(exited.stdout, exited.stderr, lost: 1)
  }

  /// A thread stalled in a page fault (as while its memory comes back from
  /// swap) runs its own code: every sample shows the line that faulted, and none
  /// the main thread, blocked in a syscall beside it. Sampled as idle, a spinning
  /// thread under memory pressure lost samples without a trace.
  @Test(arguments: PythonInterpreter.all)
  func aThreadStalledInAPageFaultIsRunningItsLine(_ python: PythonInterpreter) throws {
    let script = Fixtures.path("python/fault_stall.py")
    let line = try FixtureMarkers(script)
    let target = try TargetProcess(python.path, [script])
    defer { target.stop() }
    let (folded, run) = try Sampswift.record(pid: target.pid, ["--duration", "1"])
    #expect(run.status == 0, "\(run.stderr)")
    let summary = try #require(Summary(run.stderr), "\(run.stderr)")
    #expect(summary.samples >= 50, "\(run.stderr)")
    #expect(summary.errors == 0, "\(run.stderr)")
    #expect(summary.stacks * 10 >= summary.samples * 9, "\(run.stderr)")
    let fault = "stall_in_fault (fault_stall.py:\(line["FAULT"]))"
    #expect(folded.total == summary.stacks)
    #expect(folded.merged.keys.allSatisfy { $0.last == fault }, "\(folded.describeTop())")
  }

  /// A thread preempted on a busy host (here a nice -20 hog on its CPU) reaches
  /// its stop only when it runs again, but cannot run an instruction of its own
  /// before: it is read without waiting for it, and let go when its stop comes.
  /// It was waited for 100 ms and then left out of every sample, uncounted.
  @Test(.enabled(if: getuid() == 0 && ProcessInfo.processInfo.activeProcessorCount >= 2,
                 "needs root (nice -20) and a CPU of its own for the hog"),
        arguments: PythonInterpreter.all)
  func aThreadWaitingForACPUIsReadWithoutWaitingForIt(_ python: PythonInterpreter) throws {
    let script = Fixtures.path("python/starved.py")
    let line = try FixtureMarkers(script)
    let target = try TargetProcess(python.path, [script, "0.8"])
    defer { target.stop() }
    let (folded, run) = try Sampswift.record(pid: target.pid, ["--duration", "1.5"])
    #expect(run.status == 0, "\(run.stderr)")
    let summary = try #require(Summary(run.stderr), "\(run.stderr)")
    #expect(summary.samples >= 100, "\(run.stderr)")
    #expect(summary.errors == 0, "\(run.stderr)")
    // The hog's 0.8 s is about 80 samples; on a busy host some come late.
    #expect(summary.lateThreadReads >= 40, "\(run.stderr)")
    // Every sample names the spinner at its line, hogged or not (the main
    // thread may be caught once as it wakes after the hog).
    let spin = "starved_spin (starved.py:\(line["SPIN"]))"
    let spinning = folded.merged.filter { $0.key.last == spin }.values.reduce(0, +)
    #expect(spinning >= summary.samples - 2, "\(run.stderr)\n\(folded.describeTop())")
    // Resumed when its stop came: it ran on after the hog, with the profiler attached.
    let deadline = Date().addingTimeInterval(10)
    while target.reported("after_hog") == nil && Date() < deadline { usleep(20_000) }
    let progress = try #require(target.reported("after_hog").flatMap { Int($0) }, "\(target.output)")
    #expect(progress > 0)
  }

  /// A thread started on a builtin runs no Python code: it has a thread state
  /// but no frame. Its samples have nothing to name, so they stay out of the
  /// profile, but the summary counts them (they were lost without a word), and
  /// a dump shows the thread with no frames.
  @Test(arguments: PythonInterpreter.all)
  func aThreadOutsidePythonCodeIsCountedNotLost(_ python: PythonInterpreter) throws {
    let script = Fixtures.path("python/no_frame.py")
    let target = try TargetProcess(python.path, [script])
    defer { target.stop() }
    usleep(100_000)  // the thread started and holds the interpreter lock
    let (folded, run) = try Sampswift.record(pid: target.pid, ["--duration", "1"])
    #expect(run.status == 0, "\(run.stderr)")
    let summary = try #require(Summary(run.stderr), "\(run.stderr)")
    #expect(summary.samples >= 50, "\(run.stderr)")
    #expect(summary.errors == 0, "\(run.stderr)")
    // The main thread, waiting for the lock, may be caught as it wakes to ask.
    #expect(summary.withoutPython >= summary.samples - 2, "\(run.stderr)")
    #expect(folded.total == summary.stacks)
    let dump = try Sampswift.run(["dump", "--pid", String(target.pid)])
    #expect(dump.status == 0, "\(dump.stderr)")
    #expect(dump.stdout.contains("(running, holds the GIL)\n    (no frames)"), "\(dump.stdout)")
  }

  /// The main thread ends with pthread_exit while a worker runs on: a zombie
  /// leader has no memory left, so reads by the process ID fail (ESRCH) and go
  /// through a live thread instead; every sample still names the worker.
  @Test(arguments: PythonInterpreter.all)
  func aZombieLeaderLeavesTheOtherThreadsReadable(_ python: PythonInterpreter) throws {
    let script = Fixtures.path("python/leader_exit.py")
    let line = try FixtureMarkers(script)
    let target = try TargetProcess(python.path, [script])
    defer { target.stop() }
    let (folded, run) = try Sampswift.record(pid: target.pid, ["--duration", "1.5"])
    #expect(run.status == 0, "\(run.stderr)")
    #expect(Proc.state(target.pid) == "Z", "the leader was to have exited")
    let summary = try #require(Summary(run.stderr), "\(run.stderr)")
    #expect(summary.samples >= 50, "\(run.stderr)")
    // The leader may be caught running as it exits: it never reaches its stop
    // (a leader's exit is reported only after the other threads'), so it is
    // read late, without waiting for it.
    #expect(summary.errors == 0, "\(run.stderr)")
    let spin = "spin (leader_exit.py:\(line["SPIN"]))"
    let spinning = folded.merged.filter { $0.key.last == spin }.values.reduce(0, +)
    #expect(spinning * 10 >= summary.samples * 9, "\(run.stderr)\n\(folded.describeTop())")
  }

  /// Python execs into Python while sampled: the new interpreter is found
  /// however early the first look after the exec comes (it may not be loaded
  /// or started yet), and its frames are named to the end.
  @Test(arguments: PythonInterpreter.all)
  func anExecIntoPythonIsFollowed(_ python: PythonInterpreter) throws {
    let target = try TargetProcess(python.path, [Fixtures.path("python/exec_python.py"), "0.8", "1.5"])
    defer { target.stop() }
    // 1 kHz: the first look after the exec comes early, often before the new
    // program has loaded its interpreter.
    let (folded, run) = try Sampswift.record(pid: target.pid, ["--rate", "1000"])
    #expect(run.status == 0, "\(run.stderr)")
    let before = folded.count { $0.contains { $0.hasPrefix("before_exec (exec_python.py:") } }
    let after = folded.count { $0.contains { $0.hasPrefix("after_exec (exec_python.py:") } }
    // 0.8 s and 1.5 s at 1 kHz, less attaching and the new interpreter's start.
    #expect(before >= 400, "\(python): \(run.stderr)\n\(folded.describeTop())")
    #expect(after >= 900, "\(python): \(run.stderr)\n\(folded.describeTop())")
  }

  @Test(arguments: PythonInterpreter.all.filter { $0.version.major >= 3 })
  func nonASCIINamesAndFileName(_ python: PythonInterpreter) throws {
    let file = "ünïcode_😀.py"
    let script = Fixtures.path("python/" + file)
    let line = try FixtureMarkers(script)
    let target = try TargetProcess(python.path, [script])
    defer { target.stop() }
    let (folded, run) = try Sampswift.record(pid: target.pid, ["--duration", "1"])
    #expect(run.status == 0, "\(run.stderr)")
    let expected = ["<module> (\(file):\(line["MAIN"]))", "函数_outer (\(file):\(line["OUTER"]))",
                    "spin_grüße (\(file):\(line["SPIN"]))"]
    let top = try #require(folded.merged.max { $0.value < $1.value })
    #expect(top.key == expected, "\(folded.describeTop())")
    #expect(top.value * 10 >= folded.total * 9)
  }
}

// MARK: helpers

extension PythonInterpreter {
  /// From the name: "3.12" -> (3, 12), "debian-3.11" -> (3, 11).
  var version: (major: Int, minor: Int, hasQualname: Bool) {
    let digits = name.split(separator: "-").last.map(String.init) ?? name
    let parts = digits.split(separator: ".").compactMap { Int($0) }
    let major = parts.first ?? 0
    let minor = parts.count > 1 ? parts[1] : 0
    return (major, minor, major > 3 || (major == 3 && minor >= 11))
  }
}

/// Lines tagged `# @NAME` in a fixture, so tests name lines instead of numbers.
struct FixtureMarkers {
  private var lines: [String: Int] = [:]
  init(_ path: String) throws {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    for (index, line) in text.components(separatedBy: "\n").enumerated() {
      if let at = line.range(of: "# @") { lines[String(line[at.upperBound...]).trimmingCharacters(in: .whitespaces)] = index + 1 }
    }
  }
  subscript(_ name: String) -> Int { lines[name] ?? -1 }
}

/// Numbers from sampswift's summary line on stderr.
struct RunSummary {
  var samples = 0
  var errors = 0
  /// Samples stopped a second time because the copy made while held fell short.
  var takenTwice = 0
  init(_ result: Command.Result) throws {
    let line = try #require(result.stderr.split(separator: "\n").last { $0.contains(" samples (") })
    let words = line.split(separator: " ")
    for (i, w) in words.enumerated() where i > 0 {
      if w == "samples" { samples = Int(words[i - 1]) ?? 0 }
      if w.hasPrefix("errors") { errors = Int(words[i - 1]) ?? 0 }
      if w == "taken", i + 1 < words.count, words[i + 1].hasPrefix("twice") { takenTwice = Int(words[i - 1]) ?? 0 }
    }
  }
}

extension Folded {
  /// The heaviest stacks, for failure messages.
  func describeTop(_ n: Int = 6) -> String {
    merged.sorted { $0.value > $1.value }.prefix(n)
      .map { "\($0.value): " + $0.key.suffix(8).joined(separator: ";") }.joined(separator: "\n")
  }
}
