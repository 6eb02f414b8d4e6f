/* An always_inline function inside a real one, for inline frames at -O2:
 *   main -> outer -> mix (inlined into outer)
 *   native_inline SECONDS   prints "ready", then "exit ok" and exits 0. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static volatile double sink;

static long long now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline __attribute__((always_inline)) double mix(double x) {
  double s = 0;
  for (int i = 0; i < 4000; i++) s += x * i + (double)(i & 7); /* MIX_BODY */
  return s;
}

__attribute__((noinline)) double outer(long long deadline) {
  double total = 0;
  while (now() < deadline) total += mix(total * 1e-9 + 1.0); /* CALL_MIX */
  return total;
}

int main(int argc, char **argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 5;
  long long end = now() + (long long)(seconds * 1e9);
  printf("ready\n");
  fflush(stdout);
  sink = outer(end); /* CALL_OUTER */
  printf("exit ok\n");
  fflush(stdout);
  return 0;
}
