import SampSystem

/// Before attaching: turn what /proc says into the clear error a user needs,
/// instead of a bare EPERM from ptrace.
public enum TargetCheck {
  public static func parsePID(_ text: String) throws(SampError) -> ProcessID {
    guard let value = Int32(text.trimmingCharacters()), value > 0 else { throw .invalidPID(text) }
    return ProcessID(value)
  }

  public static func check(_ pid: ProcessID) throws(SampError) {
    guard pid.rawValue > 0 else { throw .invalidPID(String(pid.rawValue)) }
    if pid == Own.pid { throw .ownProcess(pid.rawValue) }
    let status: ProcessStatus
    do {
      status = try ProcFS.status(of: pid)
    } catch {
      throw .noSuchProcess(pid.rawValue)
    }
    // A leader that exited while other threads run shows "Z" but is still a live
    // process: only a zombie without other threads is refused.
    if (status.state == "Z" || status.state == "X") && status.threadCount <= 1 { throw .zombie(pid.rawValue, parentPID: status.parentPID) }
    if status.isKernelThread { throw .kernelThread(pid.rawValue, name: status.name) }
    if status.tracerPID != 0, status.tracerPID != Own.pid.rawValue {
      let tracer = ProcessID(status.tracerPID)
      let name = (try? ProcFS.status(of: tracer).name) ?? "unknown"
      throw .alreadyTraced(pid.rawValue, tracerPID: status.tracerPID, tracerName: name)
    }
  }

  /// Classifies a failed PTRACE_SEIZE.
  public static func attachError(_ pid: ProcessID, _ error: SystemError) -> SampError {
    switch error.errno {
    case .some(.noSuchProcess):
      return .noSuchProcess(pid.rawValue)
    case .some(.notPermitted), .some(.accessDenied):
      let status = try? ProcFS.status(of: pid)
      if let status, status.tracerPID != 0 {
        let name = (try? ProcFS.status(of: ProcessID(status.tracerPID)).name) ?? "unknown"
        return .alreadyTraced(pid.rawValue, tracerPID: status.tracerPID, tracerName: name)
      }
      return .permissionDenied(pid.rawValue, ptraceScope: Own.ptraceScope, targetUID: status?.realUID, ownUID: Own.uid)
    default:
      return .system(error)
    }
  }
}

extension String {
  func trimmingCharacters() -> String {
    var s = Substring(self)
    while let c = s.first, c.isWhitespace { s = s.dropFirst() }
    while let c = s.last, c.isWhitespace { s = s.dropLast() }
    return String(s)
  }
}
