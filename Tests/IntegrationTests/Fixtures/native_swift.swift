// Swift frames that must come out demangled (simplified, as the Swift runtime
// prints them): a class method, a generic method and a struct method.
//   native_swift SECONDS   prints "ready", runs main -> Worker.run(until:) ->
//   Worker.step<A>(_:) -> Mixer.mix(_:), prints "exit ok", exits 0.
import Glibc

func now() -> Int64 {
  var ts = timespec()
  clock_gettime(CLOCK_MONOTONIC, &ts)
  return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}

struct Mixer {
  var scale: Double
  @inline(never) func mix(_ value: Double) -> Double {
    var s = 0.0
    for i in 0..<4000 { s += value * Double(i) * scale }
    return s
  }
}

final class Worker {
  var total = 0.0
  let mixer = Mixer(scale: 0.5)

  @inline(never) func step<T: BinaryFloatingPoint>(_ value: T) -> Double {
    mixer.mix(Double(value))
  }

  @inline(never) func run(until deadline: Int64) {
    while now() < deadline { total += step(Float(1.5)) }
  }
}

let seconds = CommandLine.arguments.count > 1 ? Double(CommandLine.arguments[1]) ?? 5 : 5
let deadline = now() + Int64(seconds * 1e9)
print("ready")
fflush(stdout)
let worker = Worker()
worker.run(until: deadline)
print("exit ok")
fflush(stdout)
