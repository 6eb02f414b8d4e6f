/* Signals sent to a sampled target must reach it as they would unprofiled.
   Three busy worker threads plus main, all able to take the signals.
   Usage:
     rel_signals count     counts SIGUSR1 (sigaction handler); on SIGUSR2 prints
                           "usr1 N" and exits 0
     rel_signals default   no handlers: SIGTERM/SIGINT end it by the signal
     rel_signals handle    handlers: SIGINT exits 42, SIGTERM exits 43
     rel_signals work R    fixed work (R rounds), then "checksum HEX", exit 0;
                           for SIGSTOP/SIGCONT, which must not change the result
   Every mode but `work` gives up after 60 s (exit 9) so nothing outlives a test. */
#include "rel_common.h"
#include <pthread.h>
#include <signal.h>

static volatile sig_atomic_t usr1_count;
static volatile sig_atomic_t finish;

static void on_usr1(int sig) {
  (void)sig;
  /* Several threads may run this handler at once: an atomic add keeps each one. */
  __atomic_add_fetch(&usr1_count, 1, __ATOMIC_RELAXED);
}
static void on_usr2(int sig) { (void)sig; finish = 1; }
static void on_int(int sig) { (void)sig; _exit(42); }
static void on_term(int sig) { (void)sig; _exit(43); }

static void handle(int sig, void (*fn)(int)) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = fn;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(sig, &sa, NULL);
}

static int rounds = -1;
static uint64_t sums[3];
static void *spin(void *arg) {
  uintptr_t id = (uintptr_t)arg;
  for (int r = 0; rounds < 0 || r < rounds; r++) {
    sums[id] += rel_outer(id * 7919 + (uint64_t)r, 100000);
    if (r % 16 == 0) rel_sleep_us(100);
  }
  return NULL;
}

int main(int argc, char **argv) {
  rel_reset_signals();
  const char *mode = argc > 1 ? argv[1] : "count";
  if (strcmp(mode, "count") == 0) {
    handle(SIGUSR1, on_usr1);
    handle(SIGUSR2, on_usr2);
  } else if (strcmp(mode, "handle") == 0) {
    handle(SIGINT, on_int);
    handle(SIGTERM, on_term);
  } else if (strcmp(mode, "work") == 0) {
    rounds = argc > 2 ? atoi(argv[2]) : 1000;
  }
  pthread_t t[3];
  for (uintptr_t i = 0; i < 3; i++) pthread_create(&t[i], NULL, spin, (void *)i);
  rel_ready();
  if (rounds >= 0) {
    for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
    printf("checksum %016llx\n", (unsigned long long)(sums[0] ^ (sums[1] * 3) ^ (sums[2] * 5)));
    return 0;
  }
  uint64_t deadline = rel_now_ns() + 60000000000ull;
  while (!finish) {
    if (rel_now_ns() > deadline) return 9;
    rel_sleep_us(1000);
  }
  /* A SIGUSR1 dequeued just before SIGUSR2 may still be in its handler on another thread. */
  rel_sleep_us(200000);
  printf("usr1 %d\n", (int)usr1_count);
  fflush(stdout);
  return 0;
}
