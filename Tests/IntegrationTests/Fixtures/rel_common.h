/* Shared by the rel_* reliability fixtures: deterministic work with a known
   stack (rel_outer -> rel_middle -> rel_leaf), and "wait until traced" so a test
   can be sure the profiler is attached before the interesting part starts. */
#ifndef REL_COMMON_H
#define REL_COMMON_H
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

static volatile uint64_t rel_sink;

__attribute__((noinline, unused)) static uint64_t rel_leaf(uint64_t x, int n) {
  for (int i = 0; i < n; i++) { x ^= x << 13; x ^= x >> 7; x ^= x << 17; }
  rel_sink = x;
  return x;
}
__attribute__((noinline, unused)) static uint64_t rel_middle(uint64_t x, int n) { return rel_leaf(x, n) * 31 + 7; }
/* One chunk of deterministic work: the result depends only on `seed`. */
__attribute__((noinline, unused)) static uint64_t rel_outer(uint64_t seed, int n) {
  return rel_middle(seed * 0x9E3779B97F4A7C15ull + 1, n);
}

static inline uint64_t rel_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void rel_sleep_us(long us) {
  struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
  while (nanosleep(&ts, &ts) != 0) {}
}

/* TracerPid from /proc/self/status (0 when not traced). */
static inline int rel_tracer_pid(void) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  int tracer = -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "TracerPid: %d", &tracer) == 1) break;
  fclose(f);
  return tracer;
}

/* Blocks until a tracer is attached (at most 20 s, then exits 3: the test failed). */
static inline void rel_wait_traced(void) {
  uint64_t deadline = rel_now_ns() + 20000000000ull;
  while (rel_tracer_pid() <= 0) {
    if (rel_now_ns() > deadline) { fprintf(stderr, "never traced\n"); exit(3); }
    rel_sleep_us(1000);
  }
}

/* A fixture must see signals as a program started from a shell does: the test
   runner starts it from a thread that blocks signals, and a child inherits the
   mask (and ignored dispositions). Every fixture starts from a clean slate. */
static inline void rel_reset_signals(void) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  for (int sig = 1; sig < 32; sig++)
    if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
}

/* Call once threads that matter are running (after rel_reset_signals in main). */
static inline void rel_ready(void) {
  printf("ready\n");
  fflush(stdout);
}
#endif
