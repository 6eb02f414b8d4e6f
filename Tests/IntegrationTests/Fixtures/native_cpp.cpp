// C++ frames that must come out demangled: a namespaced class method, a class
// template's method and a function template.
//   native_cpp SECONDS   prints "ready", runs main -> Scene::render ->
//   Accumulator<double>::add -> blend<double>, prints "exit ok", exits 0.
#include <cstdio>
#include <cstdlib>
#include <ctime>

static long long now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

namespace geometry {

template <typename T>
__attribute__((noinline)) T blend(T a, T b) {
  T s = 0;
  for (int i = 0; i < 4000; i++) s += a * i + b;
  return s;
}

template <typename T>
struct Accumulator {
  T total{};
  __attribute__((noinline)) void add(T value) {
    total += blend<T>(value, value / 2);
  }
};

class Scene {
 public:
  __attribute__((noinline)) double render(long long deadline) {
    Accumulator<double> acc;
    while (now() < deadline) acc.add(1.5);
    return acc.total;
  }
};

}  // namespace geometry

volatile double sink;

int main(int argc, char **argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 5;
  long long end = now() + (long long)(seconds * 1e9);
  std::printf("ready\n");
  std::fflush(stdout);
  geometry::Scene scene;
  sink = scene.render(end);
  std::printf("exit ok\n");
  return 0;
}
