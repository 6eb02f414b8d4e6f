/* Blocking calls while sampled: a thread stopped by PTRACE_INTERRUPT inside a
   system call resumes it, and most calls restart invisibly. A few cannot
   (epoll_wait, like after SIGSTOP/SIGCONT, see signal(7)) and fail with EINTR.
   Makes ROUNDS rounds of short timed waits in each kind, counting EINTR, and
   prints "eintr nanosleep N poll N sem_timedwait N read N epoll_wait N".
   Usage: rel_eintr ROUNDS */
#include "rel_common.h"
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <sys/epoll.h>

static int fds[2];
static int rounds = 300;

/* Makes each blocking read in main wait about 2 ms. */
static void *writer(void *arg) {
  (void)arg;
  for (int i = 0; i < rounds; i++) {
    rel_sleep_us(2000);
    char c = 'x';
    if (write(fds[1], &c, 1) != 1) exit(5);
  }
  return NULL;
}

int main(int argc, char **argv) {
  rel_reset_signals();
  if (argc > 1) rounds = atoi(argv[1]);
  int ep = epoll_create1(0);
  if (ep < 0 || pipe(fds) != 0) return 4;
  sem_t sem;
  sem_init(&sem, 0, 0);
  int n_sleep = 0, n_poll = 0, n_sem = 0, n_read = 0, n_epoll = 0;
  pthread_t w;
  pthread_create(&w, NULL, writer, NULL);
  rel_ready();
  for (int i = 0; i < rounds; i++) {
    struct timespec d = {0, 2000000};
    if (nanosleep(&d, NULL) < 0 && errno == EINTR) n_sleep++;
    struct pollfd p = {fds[0], POLLIN, 0};
    if (poll(&p, 1, 2) < 0 && errno == EINTR) n_poll++;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 2000000;
    if (until.tv_nsec >= 1000000000) { until.tv_sec++; until.tv_nsec -= 1000000000; }
    if (sem_timedwait(&sem, &until) < 0 && errno == EINTR) n_sem++;
    struct epoll_event ev;
    if (epoll_wait(ep, &ev, 1, 2) < 0 && errno == EINTR) n_epoll++;
    char c;
    while (read(fds[0], &c, 1) < 0) {
      if (errno != EINTR) return 6;
      n_read++;
    }
  }
  pthread_join(w, NULL);
  printf("eintr nanosleep %d poll %d sem_timedwait %d read %d epoll_wait %d\n", n_sleep, n_poll, n_sem, n_read, n_epoll);
  return 0;
}
