import SampSystem

/// One look's answer (`ThreadRegistry.look`): the threads looked at, sorted as
/// `TraceSession.runningThreads` lists them, and whether each was running.
/// Two arrays and a binary search rather than a dictionary rebuilt at every
/// sample: with a pool of a hundred threads the hashing showed in the profile.
struct ThreadLook {
  private(set) var threads: [ThreadID] = []
  private var running: [Bool] = []

  init() {}

  /// `threads` sorted ascending, `running` in the same order (a thread
  /// without an answer counts as not running).
  init(threads: [ThreadID], running: [Bool]) {
    self.threads = threads
    self.running = running
  }

  /// Whether `tid` was running at the look; nil if it was not looked at.
  subscript(tid: ThreadID) -> Bool? {
    var low = 0
    var high = threads.count
    while low < high {
      let mid = (low + high) / 2
      if threads[mid] < tid { low = mid + 1 } else { high = mid }
    }
    guard low < threads.count, threads[low] == tid else { return nil }
    return low < running.count ? running[low] : false
  }
}
