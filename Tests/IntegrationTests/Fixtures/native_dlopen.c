/* Loads a library only after the profiler attached:
 *   native_dlopen LIBRARY SECONDS
 * prints "ready", spins 0.5 s in main -> before_load, then dlopens LIBRARY,
 * prints "loaded", and runs main -> call_plugin -> plugin_entry -> plugin_spin
 * until SECONDS have passed; prints "exit ok" and exits 0. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static volatile double sink;

static long long now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

__attribute__((noinline)) void before_load(long long deadline) {
  while (now() < deadline)
    for (int i = 0; i < 4000; i++) sink += i;
}

__attribute__((noinline)) void call_plugin(void (*entry)(long long), long long deadline) {
  entry(deadline); /* CALL_ENTRY */
  sink += 1;
}

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  long long start = now();
  long long end = start + (long long)(atof(argv[2]) * 1e9);
  printf("ready\n");
  fflush(stdout);
  before_load(start + 500000000);
  void *library = dlopen(argv[1], RTLD_NOW);
  if (!library) {
    printf("dlopen failed: %s\n", dlerror());
    return 1;
  }
  void (*entry)(long long) = (void (*)(long long))dlsym(library, "plugin_entry");
  if (!entry) return 1;
  printf("loaded\n");
  fflush(stdout);
  call_plugin(entry, end);
  printf("exit ok\n");
  fflush(stdout);
  return 0;
}
