/* Thread churn: threads start and end quickly (hundreds to thousands a second),
   in batches of joinable threads plus a detached one now and then, while one
   long-lived thread keeps working. Prints "ready", then "threads N checksum HEX"
   and exits 0. Churns once traced (unless `untraced`).
   Usage: rel_threads TOTAL [untraced] */
#include "rel_common.h"
#include <pthread.h>

#define BATCH 8
static uint64_t results[BATCH];
static volatile int detached_done;
static volatile int stop_background;

static void *short_lived(void *arg) {
  uintptr_t slot = (uintptr_t)arg >> 32, seed = (uintptr_t)arg & 0xffffffff;
  results[slot] = rel_outer(seed, 2000);
  return NULL;
}
static void *detached(void *arg) {
  (void)arg;
  rel_outer(1, 1000);
  __atomic_add_fetch(&detached_done, 1, __ATOMIC_RELAXED);
  return NULL;
}
static void *background(void *arg) {
  (void)arg;
  while (!stop_background) rel_outer(2, 50000);
  return NULL;
}

int main(int argc, char **argv) {
  rel_reset_signals();
  int total = argc > 1 ? atoi(argv[1]) : 2000;
  pthread_t bg;
  pthread_create(&bg, NULL, background, NULL);
  rel_ready();
  if (!(argc > 2 && strcmp(argv[2], "untraced") == 0)) rel_wait_traced();
  uint64_t sum = 0;
  int started = 0, detached_started = 0;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  while (started < total) {
    pthread_t t[BATCH];
    for (uintptr_t i = 0; i < BATCH; i++) {
      uintptr_t arg = (i << 32) | (uintptr_t)(started + (int)i);
      if (pthread_create(&t[i], NULL, short_lived, (void *)arg) != 0) { perror("pthread_create"); return 4; }
    }
    for (int i = 0; i < BATCH; i++) {
      pthread_join(t[i], NULL);
      sum += results[i] * (uint64_t)(i + 1);
    }
    started += BATCH;
    if (started % 64 == 0) {
      pthread_t d;
      if (pthread_create(&d, &attr, detached, NULL) == 0) detached_started++;
    }
  }
  while (detached_done < detached_started) rel_sleep_us(1000);
  stop_background = 1;
  pthread_join(bg, NULL);
  printf("threads %d checksum %016llx\n", started + detached_started, (unsigned long long)sum);
  return 0;
}
