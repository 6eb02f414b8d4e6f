import SampSystem

/// Chooses the stack source for a target: the Python interpreter's frames when
/// one is found (merged with native frames under --native), else native stacks.
public enum StackSources {
  /// An interpreter of an unsupported version is an error (SampError.unsupportedPython,
  /// exit 69) rather than a silent fallback to native stacks.
  public static func choose(pid: ProcessID, config: SamplerConfig, log: Log) throws(SampError) -> StackSource {
    let objects = ProcessMemory(pid: pid, path: .procMem)
    guard let interpreter = try InterpreterLocator.locate(pid: pid, memory: objects) else {
      log.info("no Python interpreter found in PID \(pid): profiling native stacks")
      return NativeStackSource(pid: pid, includeIdle: config.includeIdle)
    }
    log.info("Python \(interpreter.summary)")
    for warning in interpreter.warnings { log.warning(warning) }
    return PythonStackSource(pid: pid, interpreter: interpreter, memory: ProcessMemory(pid: pid), objects: objects,
                             config: config)
  }
}
