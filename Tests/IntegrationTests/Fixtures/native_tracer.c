/* Traces its own child, as a debugger would, so another tracer is refused.
 *   native_tracer SECONDS
 * Forks a child that sleeps, seizes it with PTRACE_SEIZE, prints "tracee PID"
 * and "ready", passes on any signal the child gets, and after SECONDS kills the
 * child, prints "exit ok" and exits 0. The child dies with it in any case. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 10;
  pid_t child = fork();
  if (child < 0) return 1;
  if (child == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    for (;;) pause();
  }
  if (ptrace(PTRACE_SEIZE, child, 0, 0) != 0) {
    perror("PTRACE_SEIZE");
    kill(child, SIGKILL);
    return 1;
  }
  printf("tracee %d\nready\n", (int)child);
  fflush(stdout);
  time_t end = time(NULL) + (time_t)seconds;
  while (time(NULL) < end) {
    int status;
    if (waitpid(child, &status, WNOHANG) > 0 && WIFSTOPPED(status))
      ptrace(PTRACE_CONT, child, 0, (void *)(long)WSTOPSIG(status));
    usleep(10000);
  }
  kill(child, SIGKILL);
  waitpid(child, NULL, 0);
  printf("exit ok\n");
  return 0;
}
