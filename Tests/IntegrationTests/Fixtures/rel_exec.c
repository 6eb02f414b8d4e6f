/* Exec while sampled: phase one works in three threads (before_exec), then one
   thread, the main one or a worker, execs this program again as phase two,
   which works in two threads (after_exec), prints "checksum HEX" and exits 0.
   Usage: rel_exec main|thread ROUNDS [untraced]; phase two is internal. */
#include "rel_common.h"
#include <pthread.h>

static int rounds;
static uint64_t sums[3];
static const char *self;
static const char *who;
static volatile int workers_done;

__attribute__((noinline)) static uint64_t before_exec(uint64_t seed) { return rel_outer(seed, 100000) + 1; }
__attribute__((noinline)) static uint64_t after_exec(uint64_t seed) { return rel_outer(seed, 100000) + 2; }

static void exec_phase_two(void) {
  char carry[32];
  snprintf(carry, sizeof carry, "%llu", (unsigned long long)(sums[0] + sums[1] * 3 + sums[2] * 5));
  char rounds_text[16];
  snprintf(rounds_text, sizeof rounds_text, "%d", rounds);
  fflush(stdout);
  execl(self, self, "phase2", rounds_text, carry, (char *)NULL);
  perror("execl");
  _exit(8);
}

static void *phase_one(void *arg) {
  uintptr_t id = (uintptr_t)arg;
  for (int r = 0; r < rounds; r++) sums[id] += before_exec(id * 31 + (uint64_t)r);
  if (__atomic_add_fetch(&workers_done, 1, __ATOMIC_SEQ_CST) == 3 && strcmp(who, "thread") == 0) {
    exec_phase_two();
  }
  /* Keep running until the exec replaces us: exec must cope with busy threads. */
  for (;;) rel_outer(5, 100000);
  return NULL;
}

static void *phase_two(void *arg) {
  uintptr_t id = (uintptr_t)arg;
  for (int r = 0; r < rounds; r++) sums[id] += after_exec(id * 17 + (uint64_t)r);
  return NULL;
}

int main(int argc, char **argv) {
  rel_reset_signals();
  self = argv[0];
  if (argc > 3 && strcmp(argv[1], "phase2") == 0) {
    rounds = atoi(argv[2]);
    uint64_t carry = strtoull(argv[3], NULL, 10);
    pthread_t t[2];
    for (uintptr_t i = 0; i < 2; i++) pthread_create(&t[i], NULL, phase_two, (void *)i);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    printf("checksum %016llx\n", (unsigned long long)(carry ^ (sums[0] * 7 + sums[1])));
    return 0;
  }
  if (argc < 3) { fprintf(stderr, "usage: rel_exec main|thread ROUNDS [untraced]\n"); return 2; }
  who = argv[1];
  rounds = atoi(argv[2]);
  rel_ready();
  if (!(argc > 3 && strcmp(argv[3], "untraced") == 0)) rel_wait_traced();
  pthread_t t[3];
  for (uintptr_t i = 0; i < 3; i++) pthread_create(&t[i], NULL, phase_one, (void *)i);
  if (strcmp(who, "main") == 0) {
    while (__atomic_load_n(&workers_done, __ATOMIC_SEQ_CST) < 3) rel_sleep_us(1000);
    exec_phase_two();
  }
  for (;;) rel_sleep_us(1000000);
}
