/* Two known call chains sharing the time in a split the fixture measures itself.
 *
 *   native_chains SECONDS THREADS
 *
 * THREADS 0: main -> run_a -> work_a and main -> run_b -> work_b, alternating
 * slices of busy work. THREADS N > 0: N threads each alternate worker -> run_a
 * -> work_a / worker -> run_b -> work_b, then sleep 100 ms (two threads keep one
 * CPU busy and leave the profiler one), while main sleeps.
 *
 * What a recording without --idle samples is the time a thread is runnable: on
 * a CPU or waiting for one. So that is what the fixture measures per chain (CPU
 * time plus run-queue wait), and what bounds the slices: 70 ms and 30 ms of it.
 * Time the profiler holds the thread stopped is not runnable: it is not in the
 * truth, and it does not end a slice, so after a long stall the thread goes on
 * in the chain it was in, where the samples the profiler takes to catch up land
 * too. (Slices bounded by wall time would end during the stall and send those
 * samples to the other chain: a bias towards the shorter one.)
 *
 * Prints "ready"; then every 100 ms or so "progress T A B": CLOCK_MONOTONIC now
 * and the runnable time so far in chain a and in chain b (all in ns), so a test
 * can take the split over exactly the window it profiled; at the end "split_a F"
 * (chain a's share over the whole run), "wall_split_a F" (the same in wall time)
 * and "exit ok", then exits 0. Markers like CALL_WORK_A name lines the tests
 * look up. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile double sink;
static _Atomic long long ran_a, ran_b, wall_a, wall_b;
static long long end_time;

static long long now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* This thread's time on a CPU plus time waiting for one, in ns: the CPU clock
 * (a plain system call, not the vDSO, whose frames the profiler cannot always
 * unwind) and the run-queue wait from /proc/thread-self/schedstat. */
static long long runnable_ns(void) {
  static __thread int fd = -1;
  if (fd < 0) fd = open("/proc/thread-self/schedstat", O_RDONLY);
  char text[128];
  ssize_t n = fd < 0 ? -1 : pread(fd, text, sizeof text - 1, 0);
  if (n <= 0) return 0;
  text[n] = 0;
  long long on_cpu = 0, waiting = 0;
  sscanf(text, "%lld %lld", &on_cpu, &waiting);
  struct timespec ts;
  if (syscall(SYS_clock_gettime, CLOCK_THREAD_CPUTIME_ID, &ts) == 0) on_cpu = ts.tv_sec * 1000000000LL + ts.tv_nsec;
  return on_cpu + waiting;
}

/* Busy for `budget` ns of runnable time; mostly arithmetic, so samples land
 * here. Runnable time is read every 1 ms of wall time and added to the chain's
 * total as it goes, so a test's window sees it to within about a millisecond.
 * A macro, not a function: a helper would be one more frame (or, inlined, one
 * more inline frame) in the chains the tests check. */
#define BUSY(budget, ran, factor)                                      \
  double s = 0;                                                        \
  long long start = runnable_ns(), mark = start;                       \
  long long next = now() + 1000000;                                    \
  for (;;) {                                                           \
    for (int i = 0; i < 4000; i++) s += i * (factor);                  \
    if (now() >= next) {                                               \
      long long r = runnable_ns();                                     \
      ran += r - mark;                                                 \
      mark = r;                                                        \
      if (r - start >= (budget)) break;                                \
      next = now() + 1000000;                                          \
    }                                                                  \
  }                                                                    \
  return s

__attribute__((noinline)) double work_a(long long budget) { BUSY(budget, ran_a, 0.5); }

__attribute__((noinline)) double work_b(long long budget) { BUSY(budget, ran_b, 0.25); }

/* The stores after each call keep it a real call (no tail call at -O2). */
__attribute__((noinline)) void run_a(void) {
  long long start = now();
  sink += work_a(70000000); /* CALL_WORK_A */
  wall_a += now() - start;
}

__attribute__((noinline)) void run_b(void) {
  long long start = now();
  sink += work_b(30000000); /* CALL_WORK_B */
  wall_b += now() - start;
}

static void print_progress(void) {
  printf("progress %lld %lld %lld\n", now(), (long long)ran_a, (long long)ran_b);
  fflush(stdout);
}

static double share(long long a, long long b) { return a + b > 0 ? (double)a / (double)(a + b) : 0.0; }

static void print_split(void) {
  printf("split_a %.4f\nwall_split_a %.4f\n", share(ran_a, ran_b), share(wall_a, wall_b));
  fflush(stdout);
}

__attribute__((noinline)) void *worker(void *arg) {
  (void)arg;
  while (now() < end_time) {
    run_a(); /* WORKER_CALL_RUN_A */
    run_b();
    struct timespec pause = {0, 100000000};
    nanosleep(&pause, NULL);
  }
  return NULL;
}

int main(int argc, char **argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 5;
  int threads = argc > 2 ? atoi(argv[2]) : 0;
  if (threads > 16) threads = 16;
  end_time = now() + (long long)(seconds * 1e9);
  printf("ready\n");
  fflush(stdout);
  print_progress();
  if (threads == 0) {
    long long next_print = now() + 100000000;
    while (now() < end_time) {
      run_a(); /* MAIN_CALL_RUN_A */
      run_b();
      if (now() >= next_print) {
        print_progress();
        next_print += 100000000;
      }
    }
  } else {
    pthread_t ids[16];
    for (int i = 0; i < threads; i++) pthread_create(&ids[i], NULL, worker, NULL);
    while (now() < end_time) {
      struct timespec pause = {0, 100000000};
      nanosleep(&pause, NULL);
      print_progress();
    }
    for (int i = 0; i < threads; i++) pthread_join(ids[i], NULL);
  }
  print_progress();
  print_split();
  printf("exit ok\n");
  fflush(stdout);
  return 0;
}
