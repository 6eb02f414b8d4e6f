/* Fork churn: the profiler follows threads, not children. Each child checks that
   it is not traced (exit 99 if it is), works, and exits with a status the parent
   expects; every tenth child runs another program (/bin/sh -c 'exit 7') instead.
   A worker thread keeps the parent busy meanwhile. Prints "ready", then
   "children N ok M checksum HEX" and exits 0 (1 if any child was wrong).
   Starts once traced (unless `untraced`). Usage: rel_fork CHILDREN [untraced] */
#include "rel_common.h"
#include <pthread.h>
#include <sys/wait.h>

static volatile int stop_worker;
static void *worker(void *arg) {
  (void)arg;
  while (!stop_worker) rel_outer(3, 50000);
  return NULL;
}

int main(int argc, char **argv) {
  rel_reset_signals();
  int children = argc > 1 ? atoi(argv[1]) : 100;
  pthread_t w;
  pthread_create(&w, NULL, worker, NULL);
  rel_ready();
  if (!(argc > 2 && strcmp(argv[2], "untraced") == 0)) rel_wait_traced();
  int ok = 0;
  uint64_t sum = 0;
  for (int i = 0; i < children; i++) {
    int execs = i % 10 == 9;
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); return 4; }
    if (pid == 0) {
      if (rel_tracer_pid() != 0) _exit(99);
      if (execs) {
        execl("/bin/sh", "sh", "-c", "exit 7", (char *)NULL);
        _exit(98);
      }
      _exit((int)(rel_outer((uint64_t)i, 200000) % 50));
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {}
    int expected = execs ? 7 : (int)(rel_outer((uint64_t)i, 200000) % 50);
    if (WIFEXITED(status) && WEXITSTATUS(status) == expected) ok++;
    else fprintf(stderr, "child %d: status %#x, expected exit %d\n", i, status, expected);
    sum = sum * 31 + (uint64_t)expected;
  }
  stop_worker = 1;
  pthread_join(w, NULL);
  printf("children %d ok %d checksum %016llx\n", children, ok, (unsigned long long)sum);
  return ok == children ? 0 : 1;
}
