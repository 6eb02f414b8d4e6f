/* Deterministic multi-threaded work for the kill-the-profiler test. Four
   workers hash fixed chunks (user code), sleep now and then (nanosleep, restarted
   after a ptrace stop), take a shared lock (futex), and pass values through a
   pipe to a reader thread (read/write). Prints "ready", then "checksum HEX" and
   exits 0; any lost or repeated step changes the checksum.
   Usage: rel_work ROUNDS */
#include "rel_common.h"
#include <pthread.h>

#define WORKERS 4
static int rounds = 400;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t total;
static int pipe_fd[2];

static void *worker(void *arg) {
  uint64_t id = (uint64_t)(uintptr_t)arg;
  for (int r = 0; r < rounds; r++) {
    uint64_t h = rel_outer(id * 100003 + (uint64_t)r, 200000);
    pthread_mutex_lock(&lock);
    total += h;
    pthread_mutex_unlock(&lock);
    if (r % 8 == 0) rel_sleep_us(200);
    if (r % 4 == 0) {
      /* A pipe write of 8 bytes is atomic: the reader sums whole values. */
      if (write(pipe_fd[1], &h, sizeof h) != sizeof h) { perror("write"); exit(4); }
    }
  }
  return NULL;
}

static uint64_t piped;
static void *reader(void *arg) {
  (void)arg;
  uint64_t v;
  for (;;) {
    ssize_t n = read(pipe_fd[0], &v, sizeof v);
    if (n == 0) return NULL;
    if (n != sizeof v) { perror("read"); exit(5); }
    piped += v * 3;
  }
}

int main(int argc, char **argv) {
  rel_reset_signals();
  if (argc > 1) rounds = atoi(argv[1]);
  if (pipe(pipe_fd) != 0) return 6;
  pthread_t workers[WORKERS], rd;
  pthread_create(&rd, NULL, reader, NULL);
  for (uintptr_t i = 0; i < WORKERS; i++) pthread_create(&workers[i], NULL, worker, (void *)i);
  rel_ready();
  for (int i = 0; i < WORKERS; i++) pthread_join(workers[i], NULL);
  close(pipe_fd[1]);
  pthread_join(rd, NULL);
  printf("checksum %016llx\n", (unsigned long long)(total ^ piped));
  return 0;
}
