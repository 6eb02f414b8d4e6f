/* A stack through many libraries, entered only after the profiler attached:
 *   native_libchain SECONDS LIBRARY...
 * dlopens each LIBRARY (copies of native_libchain_link.so), prints "ready",
 * sleeps 0.5 s in main, then calls main -> chain_step of each library in turn,
 * the last one sleeping until SECONDS have passed since the start. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

typedef void (*step_fn)(void **links, int index, int count, long long deadline);

static long long now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc < 3 || argc - 2 > 256) return 2;
  int count = argc - 2;
  void *links[256];
  for (int i = 0; i < count; i++) {
    void *library = dlopen(argv[i + 2], RTLD_NOW | RTLD_LOCAL);
    if (!library) {
      printf("dlopen failed: %s\n", dlerror());
      return 1;
    }
    links[i] = dlsym(library, "chain_step");
    if (!links[i]) return 1;
  }
  long long start = now();
  printf("ready\n");
  fflush(stdout);
  while (now() < start + 500000000LL) usleep(2000);
  printf("chain\n");
  fflush(stdout);
  ((step_fn)links[0])(links, 0, count, start + (long long)(atof(argv[1]) * 1e9));
  printf("exit ok\n");
  fflush(stdout);
  return 0;
}
