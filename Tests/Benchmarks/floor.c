// The floor on this machine: what one ptrace stop and one remote read cost at
// the least, so every profiler figure can be read against the limit.
//
// Starts a child (one busy thread, then separately one sleeping thread),
// PTRACE_SEIZEs it, and times PTRACE_INTERRUPT + waitpid + PTRACE_CONT round
// trips, spaced about a millisecond apart as a 1 kHz sampler would space them.
// Also times a 64-byte and a 4 KiB process_vm_readv from the running child and
// a pread of /proc/PID/task/TID/stat (what a profiler reads to tell idle threads),
// and the least a sample of a Python stack holds: the round trip with one 4 KiB
// read, made while the child is stopped, of a page the child keeps writing (the
// first read after a stop and a page hot in the other CPU's cache cost more
// than a read of a quiet page).
//
// Where the two run matters, most of all in a VM (waking an idle vCPU is slow),
// so the busy child is measured on another CPU than the tracer (the usual case:
// the target keeps its core, the profiler runs on another), on the same CPU, and
// on another CPU with the tracer polling waitpid(WNOHANG) instead of sleeping in it.
//
// Prints "name value" lines (nanoseconds) for bench.py. Usage: floor [iterations]
//
// `floor sampler PID RATE` is the least a stopping sampler can do to a single-
// threaded target, run beside the profilers so their own CPU can be read against
// it: each tick it reads the thread's /proc stat (to leave an idle thread alone),
// interrupts it, waits for the stop (polling up to 30 us, then sleeping, as
// sampswift does), copies four pages at the top of its stack in one
// process_vm_readv, and lets it go. No names, no aggregation. Runs until SIGINT
// or SIGTERM, then prints its sample count. `floor sampler PID RATE phases`
// also reads its CPU clock after each step and prints the CPU time a sample
// took in each, under the names of sampswift's `--cpu-phases` (wake, plan,
// stop, capture, resume), so the two can be set side by side.
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char buffer[4096] = "sampswift floor: remote bytes";
// What the busy child writes, a cache line at a time, as an interpreter writes its frames.
static volatile char hot[4096] __attribute__((aligned(4096)));

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int compare(const void *a, const void *b) {
  long long x = *(const long long *)a, y = *(const long long *)b;
  return (x > y) - (x < y);
}

static void report(const char *name, long long *samples, int n) {
  qsort(samples, n, sizeof *samples, compare);
  printf("%s_p50 %lld\n%s_p99 %lld\n", name, samples[n / 2], name, samples[(n * 99) / 100]);
}

static void die(const char *what) {
  perror(what);
  exit(1);
}

static void pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (cpu < 0) {
    for (int i = 0; i < CPU_SETSIZE; i++) CPU_SET(i, &set);
  } else {
    CPU_SET(cpu, &set);
  }
  sched_setaffinity(0, sizeof set, &set);  // best effort: a failed pin only blurs the figure
}

// A child that spins (busy) or sleeps in pause() until killed, on CPU `cpu` (-1: any).
static pid_t start_child(int busy, int cpu) {
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    pin(cpu);
    if (busy)
      for (unsigned long spin = 0;; spin++) hot[(spin * 64) % sizeof hot] = (char)spin;
    for (;;) pause();
  }
  return pid;
}

static void sleep_ns(long ns) {
  struct timespec ts = {0, ns};
  nanosleep(&ts, NULL);
}

// poll: wait for the stop with waitpid(WNOHANG) in a loop rather than blocking.
// read_hot: read the page the child writes while it is stopped.
// cont_delay_ns: other work (a spin) between that read and the continue: an
// idle vCPU is cheap to wake for a few microseconds only, so a continue that
// comes later costs more, the tracer and the stopped child both.
static void round_trips(const char *name, int busy, int tracer_cpu, int child_cpu, int poll, int read_hot,
                        long long cont_delay_ns, int iterations) {
  pin(tracer_cpu);
  pid_t child = start_child(busy, child_cpu);
  usleep(20000);  // let it reach its loop (or its pause)
  if (ptrace(PTRACE_SEIZE, child, 0, 0) != 0) die("PTRACE_SEIZE");
  long long *samples = calloc(iterations, sizeof *samples);
  for (int i = -50; i < iterations; i++) {  // the first 50 warm up
    int status;
    long long t0 = now_ns();
    if (ptrace(PTRACE_INTERRUPT, child, 0, 0) != 0) die("PTRACE_INTERRUPT");
    if (poll) {
      pid_t got;
      while ((got = waitpid(child, &status, __WALL | WNOHANG)) == 0) {
      }
      if (got != child) die("waitpid");
    } else if (waitpid(child, &status, __WALL) != child) {
      die("waitpid");
    }
    if (read_hot) {
      char page[sizeof hot];
      struct iovec here = {page, sizeof page}, there = {(void *)hot, sizeof hot};
      if (process_vm_readv(child, &here, 1, &there, 1, 0) != (ssize_t)sizeof page) die("process_vm_readv");
    }
    for (long long until = now_ns() + cont_delay_ns; cont_delay_ns > 0 && now_ns() < until;) {
    }
    if (ptrace(PTRACE_CONT, child, 0, 0) != 0) die("PTRACE_CONT");
    long long t1 = now_ns();
    if (i >= 0) samples[i] = t1 - t0;
    sleep_ns(1000000);
  }
  report(name, samples, iterations);

  static int reads_done = 0;
  if (busy && !read_hot && !reads_done) {
    // Remote reads and /proc reads from the running child, once.
    reads_done = 1;
    int reads = iterations * 5;
    long long *times = realloc(samples, reads * sizeof *samples);
    char local[4096];
    size_t sizes[2] = {64, 4096};
    const char *names[2] = {"readv64", "readv4k"};
    for (int s = 0; s < 2; s++) {
      struct iovec here = {local, sizes[s]}, there = {buffer, sizes[s]};
      for (int i = 0; i < reads; i++) {
        long long t0 = now_ns();
        if (process_vm_readv(child, &here, 1, &there, 1, 0) != (ssize_t)sizes[s]) die("process_vm_readv");
        times[i] = now_ns() - t0;
      }
      report(names[s], times, reads);
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/stat", child, child);
    int fd = open(path, O_RDONLY);
    if (fd < 0) die("open stat");
    for (int i = 0; i < reads; i++) {
      long long t0 = now_ns();
      if (pread(fd, local, sizeof local, 0) <= 0) die("pread stat");
      times[i] = now_ns() - t0;
    }
    report("procstat", times, reads);
    close(fd);
    samples = times;
  }
  free(samples);
  kill(child, SIGKILL);
  waitpid(child, NULL, __WALL);
  pin(-1);
}

static volatile sig_atomic_t stop_requested = 0;
static void on_stop(int sig) { (void)sig; stop_requested = 1; }

// The last four pages of the target's [stack] mapping (the main thread's frames).
static unsigned long stack_top_pages(pid_t pid) {
  char path[64], line[512];
  snprintf(path, sizeof path, "/proc/%d/maps", pid);
  FILE *maps = fopen(path, "r");
  if (!maps) die("open maps");
  unsigned long start = 0, end = 0;
  while (fgets(line, sizeof line, maps)) {
    if (strstr(line, "[stack]")) {
      sscanf(line, "%lx-%lx", &start, &end);
      break;
    }
  }
  fclose(maps);
  if (end - start < 4 * 4096) die("no [stack] mapping");
  return end - 4 * 4096;
}

static long long thread_cpu_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec * 1000000000LL + t.tv_nsec;
}

enum { WAKE, PLAN, STOP, CAPTURE, RESUME, PHASES };
static const char *phase_names[PHASES] = {"wake", "plan", "stop", "capture", "resume"};
static long long phase_ns[PHASES], phase_last;
static int phases_on;

static void end_phase(int phase) {
  if (!phases_on) return;
  long long now = thread_cpu_ns();
  phase_ns[phase] += now - phase_last;
  phase_last = now;
}

static int sampler(pid_t pid, double rate) {
  struct sigaction action = {0};
  action.sa_handler = on_stop;
  sigaction(SIGINT, &action, NULL);
  sigaction(SIGTERM, &action, NULL);
  unsigned long remote = stack_top_pages(pid);
  char path[64], stat[1024];
  snprintf(path, sizeof path, "/proc/%d/task/%d/stat", pid, pid);
  int stat_fd = open(path, O_RDONLY);
  if (stat_fd < 0) die("open stat");
  if (ptrace(PTRACE_SEIZE, pid, 0, 0) != 0) die("PTRACE_SEIZE");
  fprintf(stderr, "floor sampler attached to PID %d\n", pid);
  static char pages[4 * 4096];
  long long interval = (long long)(1e9 / rate), next = now_ns() + interval;
  long samples = 0;
  if (phases_on) phase_last = thread_cpu_ns();
  while (!stop_requested) {
    struct timespec at = {next / 1000000000LL, next % 1000000000LL};
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL);
    next += interval;
    end_phase(WAKE);
    ssize_t got = pread(stat_fd, stat, sizeof stat - 1, 0);
    if (got <= 0) break;  // the target is gone
    stat[got] = 0;
    char *state = strrchr(stat, ')');
    samples++;
    end_phase(PLAN);
    if (!state || state[2] != 'R') continue;  // idle: nothing to stop
    if (ptrace(PTRACE_INTERRUPT, pid, 0, 0) != 0) break;
    int status;
    pid_t who;
    long long poll_until = now_ns() + 30000;
    while ((who = waitpid(pid, &status, __WALL | WNOHANG)) == 0 && now_ns() < poll_until) {
    }
    if (who == 0) who = waitpid(pid, &status, __WALL);
    if (who != pid || WIFEXITED(status) || WIFSIGNALED(status)) break;
    end_phase(STOP);
    struct iovec here = {pages, sizeof pages}, there = {(void *)remote, sizeof pages};
    process_vm_readv(pid, &here, 1, &there, 1, 0);
    end_phase(CAPTURE);
    // A signal stop is passed on; our interrupt stop just continues.
    int deliver = (status >> 16) == 0 ? WSTOPSIG(status) : 0;
    if (ptrace(PTRACE_CONT, pid, 0, deliver) != 0) break;
    end_phase(RESUME);
  }
  fprintf(stderr, "floor sampler: %ld samples\n", samples);
  if (phases_on && samples > 0) {
    double total = 0;
    fprintf(stderr, "floor sampler own CPU a sample (µs):");
    for (int i = 0; i < PHASES; i++) {
      fprintf(stderr, "%s %s %.1f", i ? "," : "", phase_names[i], phase_ns[i] / 1e3 / samples);
      total += phase_ns[i] / 1e3 / samples;
    }
    fprintf(stderr, "; total %.1f\n", total);
  }
  return 0;
}

int main(int argc, char **argv) {
  if ((argc == 4 || (argc == 5 && strcmp(argv[4], "phases") == 0)) && strcmp(argv[1], "sampler") == 0) {
    phases_on = argc == 5;
    return sampler(atoi(argv[2]), atof(argv[3]));
  }
  int iterations = argc > 1 ? atoi(argv[1]) : 2000;
  if (iterations < 10) iterations = 10;
  int other = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 1 : 0;
  round_trips("roundtrip_busy", 1, 0, other, 0, 0, 0, iterations);
  round_trips("roundtrip_busy_same_cpu", 1, 0, 0, 0, 0, 0, iterations);
  round_trips("roundtrip_busy_polled", 1, 0, other, 1, 0, 0, iterations);
  round_trips("roundtrip_sleeping", 0, 0, other, 0, 0, 0, iterations);
  round_trips("roundtrip_busy_hot_read", 1, 0, other, 0, 1, 0, iterations);
  round_trips("roundtrip_busy_polled_hot_read", 1, 0, other, 1, 1, 0, iterations);
  round_trips("roundtrip_busy_polled_hot_read_late_cont", 1, 0, other, 1, 1, 10000, iterations);
  return 0;
}
