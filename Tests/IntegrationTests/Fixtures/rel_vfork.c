/* A thread that no interrupt can stop for a while: once traced, a worker calls
   vfork and waits for its child, which sleeps MS milliseconds and exits. The
   parent's wait for a vfork child is uninterruptible: PTRACE_INTERRUPT marks
   the thread, but its stop comes only when the child is gone. Meanwhile the
   main thread works. Prints "vfork_ms <wall>" when the wait is over, then
   works 0.3 s more and exits 0.
   Usage: rel_vfork [MS] */
#include "rel_common.h"
#include <pthread.h>
#include <sys/syscall.h>

static struct timespec child_sleep;
static volatile int done;

static void *vforker(void *arg) {
  (void)arg;
  uint64_t start = rel_now_ns();
  pid_t child = vfork();
  if (child == 0) {
    /* The child borrows this thread's memory: no writes, only syscalls. */
    syscall(SYS_nanosleep, &child_sleep, NULL);
    _exit(0);
  }
  printf("vfork_ms %.1f\n", (rel_now_ns() - start) / 1e6);
  fflush(stdout);
  done = 1;
  return NULL;
}

int main(int argc, char **argv) {
  rel_reset_signals();
  long ms = argc > 1 ? atol(argv[1]) : 1000;
  child_sleep.tv_sec = ms / 1000;
  child_sleep.tv_nsec = (ms % 1000) * 1000000L;
  rel_ready();
  rel_wait_traced();
  uint64_t settle = rel_now_ns() + 300000000ull;
  while (rel_now_ns() < settle) rel_outer(1, 50000);
  pthread_t t;
  pthread_create(&t, NULL, vforker, NULL);
  while (!done) rel_outer(2, 50000);
  pthread_join(t, NULL);
  uint64_t until = rel_now_ns() + 300000000ull;
  while (rel_now_ns() < until) rel_outer(3, 50000);
  return 0;
}
