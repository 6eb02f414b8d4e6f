/* The library native_dlopen loads after it printed "ready". */
#include <time.h>

static volatile double sink;

__attribute__((noinline)) double plugin_spin(double x) {
  double s = 0;
  for (int i = 0; i < 4000; i++) s += x * i; /* PLUGIN_SPIN_BODY */
  return s;
}

__attribute__((noinline)) void plugin_entry(long long deadline) {
  struct timespec ts;
  for (;;) {
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (ts.tv_sec * 1000000000LL + ts.tv_nsec >= deadline) break;
    sink += plugin_spin(1.5); /* CALL_PLUGIN_SPIN */
  }
}
