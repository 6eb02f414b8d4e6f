import SampSystem

/// Chooses the stack source for a target: the Python interpreter's frames when
/// one is found (merged with native frames under --native), else native stacks.
public enum StackSources {
  public static func make(pid: ProcessID, config: SamplerConfig, session: TraceSession, log: Log) -> StackSource {
    do {
      return try choose(pid: pid, config: config, log: log)
    } catch {
      // An interpreter we cannot read: say so plainly, then still show what we can.
      log.error(error)
      log.info("profiling native stacks instead")
      return NativeStackSource(pid: pid, includeIdle: config.includeIdle)
    }
  }

  /// Like `make`, but an interpreter of an unsupported version is an error
  /// (SampError.unsupportedPython) rather than a fallback to native stacks.
  public static func choose(pid: ProcessID, config: SamplerConfig, log: Log) throws(SampError) -> StackSource {
    let memory = ProcessMemory(pid: pid)
    guard let interpreter = try InterpreterLocator.locate(pid: pid, memory: memory) else {
      log.info("no Python interpreter found in PID \(pid): profiling native stacks")
      return NativeStackSource(pid: pid, includeIdle: config.includeIdle)
    }
    log.info("Python \(interpreter.summary)")
    for warning in interpreter.warnings { log.warning(warning) }
    if config.native {
      log.info("merging native frames into Python stacks is not available yet: showing Python frames only")
    }
    return PythonStackSource(pid: pid, interpreter: interpreter, memory: memory, config: config)
  }
}
