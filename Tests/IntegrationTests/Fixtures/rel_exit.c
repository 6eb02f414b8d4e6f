/* The target ends while sampled. Three busy workers; once traced (unless
   `untraced`), it works about 0.3 s more and then ends as MODE says:
     status N       exit(N) from main
     return         main returns 0 while the workers still run
     thread-exit N  exit(N) called by a worker thread
     leader-exit N  main calls pthread_exit; a worker later calls exit(N)
     signal         raise(SIGTERM)
     segv           a NULL write (SIGSEGV)
     abort          abort() (SIGABRT)
     kill           raise(SIGKILL)
   Core dumps are disabled so crashes leave no files.
   Usage: rel_exit MODE [N] [untraced] */
#include "rel_common.h"
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>

static const char *mode;
static int code;
static volatile int go_exit;

static void *worker(void *arg) {
  uintptr_t id = (uintptr_t)arg;
  for (;;) {
    rel_outer(id, 50000);
    if (id == 1 && go_exit) exit(code);
  }
}

static void *delayed_exit(void *arg) {
  (void)arg;
  rel_sleep_us(200000);
  go_exit = 1;
  return NULL;
}

int main(int argc, char **argv) {
  rel_reset_signals();
  struct rlimit no_core = {0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  mode = argc > 1 ? argv[1] : "status";
  int untraced = 0;
  for (int i = 2; i < argc; i++) {
    if (strcmp(argv[i], "untraced") == 0) untraced = 1;
    else code = atoi(argv[i]);
  }
  pthread_t t[3];
  for (uintptr_t i = 0; i < 3; i++) pthread_create(&t[i], NULL, worker, (void *)i);
  rel_ready();
  if (!untraced) rel_wait_traced();
  uint64_t until = rel_now_ns() + 300000000ull;
  while (rel_now_ns() < until) rel_outer(9, 50000);
  fflush(stdout);
  if (strcmp(mode, "status") == 0) exit(code);
  if (strcmp(mode, "return") == 0) return 0;
  if (strcmp(mode, "thread-exit") == 0) { go_exit = 1; for (;;) rel_sleep_us(1000); }
  if (strcmp(mode, "leader-exit") == 0) {
    /* A worker exits 0.2 s after the leader is gone (a zombie leader while threads run). */
    pthread_t timer;
    pthread_create(&timer, NULL, delayed_exit, NULL);
    pthread_exit(NULL);
  }
  if (strcmp(mode, "signal") == 0) raise(SIGTERM);
  if (strcmp(mode, "segv") == 0) *(volatile int *)0 = 1;
  if (strcmp(mode, "abort") == 0) abort();
  if (strcmp(mode, "kill") == 0) raise(SIGKILL);
  fprintf(stderr, "unknown mode %s\n", mode);
  return 2;
}
