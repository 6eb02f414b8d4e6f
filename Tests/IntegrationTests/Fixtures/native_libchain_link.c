/* One link of native_libchain: a library whose chain_step calls the next
 * link's, the last one sleeping. Copied under many names, so a stack crosses
 * as many modules, each with its own symbol table and DWARF for the profiler
 * to load the first time it meets it; the filler functions make those tables
 * the size of a real library's. */
#include <time.h>

typedef void (*step_fn)(void **links, int index, int count, long long deadline);

static long long now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

#define F(n) __attribute__((noinline, used)) int filler_##n(int x) { return x * n + 1; }
#define F10(n) F(n##0) F(n##1) F(n##2) F(n##3) F(n##4) F(n##5) F(n##6) F(n##7) F(n##8) F(n##9)
#define F100(n) F10(n##0) F10(n##1) F10(n##2) F10(n##3) F10(n##4) F10(n##5) F10(n##6) F10(n##7) F10(n##8) F10(n##9)
F100(1) F100(2) F100(3) F100(4) F100(5) F100(6) F100(7) F100(8) F100(9)

__attribute__((noinline)) void chain_step(void **links, int index, int count, long long deadline) {
  if (index + 1 < count) {
    ((step_fn)links[index + 1])(links, index + 1, count, deadline); /* CALL_NEXT */
  } else {
    struct timespec pause = {0, 2000000};
    while (now() < deadline) nanosleep(&pause, 0); /* SLEEP */
  }
  __asm__ volatile("" ::: "memory"); /* no tail call: every link stays on the stack */
}
