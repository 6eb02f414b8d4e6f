#include "CSampShims.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <unistd.h>
#include <libunwind-ptrace.h>

long sampswift_ptrace_seize(pid_t tid, unsigned long options) {
  return ptrace(PTRACE_SEIZE, tid, 0, (void *)options);
}
long sampswift_ptrace_interrupt(pid_t tid) { return ptrace(PTRACE_INTERRUPT, tid, 0, 0); }
long sampswift_ptrace_cont(pid_t tid, int signal) {
  return ptrace(PTRACE_CONT, tid, 0, (void *)(long)signal);
}
long sampswift_ptrace_listen(pid_t tid) { return ptrace(PTRACE_LISTEN, tid, 0, 0); }
long sampswift_ptrace_detach(pid_t tid, int signal) {
  return ptrace(PTRACE_DETACH, tid, 0, (void *)(long)signal);
}
long sampswift_ptrace_geteventmsg(pid_t tid, unsigned long *message) {
  return ptrace(PTRACE_GETEVENTMSG, tid, 0, message);
}
long sampswift_ptrace_getsiginfo_signo(pid_t tid, int *signo) {
  siginfo_t info;
  long r = ptrace(PTRACE_GETSIGINFO, tid, 0, &info);
  if (r == 0) *signo = info.si_signo;
  return r;
}

long sampswift_process_vm_readv(pid_t pid, const struct iovec *local, unsigned long local_count,
                                const struct iovec *remote, unsigned long remote_count) {
  return process_vm_readv(pid, local, local_count, remote, remote_count, 0);
}

int sampswift_sched_getcpu(void) { return sched_getcpu(); }

pid_t sampswift_fork_gated(const char *file, char *const argv[], int gate_read, int gate_write,
                           int report_read, int report_write) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  // The child. Its copy of the gate's write end is closed, so a profiler that
  // dies before opening the gate gives EOF, and the command runs untraced.
  close(gate_write);
  close(report_read);
  char byte;
  while (read(gate_read, &byte, 1) < 0 && errno == EINTR) {}
  signal(SIGPIPE, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  execvp(file, argv);
  int error = errno;
  while (write(report_write, &error, sizeof error) < 0 && errno == EINTR) {}
  _exit(127);
}

const unsigned long sampswift_ptrace_o_traceclone = PTRACE_O_TRACECLONE;
const unsigned long sampswift_ptrace_o_traceexec = PTRACE_O_TRACEEXEC;
const unsigned long sampswift_ptrace_o_traceexit = PTRACE_O_TRACEEXIT;
const int sampswift_ptrace_event_clone = PTRACE_EVENT_CLONE;
const int sampswift_ptrace_event_exec = PTRACE_EVENT_EXEC;
const int sampswift_ptrace_event_exit = PTRACE_EVENT_EXIT;
const int sampswift_ptrace_event_stop = PTRACE_EVENT_STOP;

void sampswift_unw_destroy_address_space(void *space) {
  if (space) unw_destroy_addr_space((unw_addr_space_t)space);
}
void sampswift_unw_flush_cache(void *space) {
  if (space) unw_flush_cache((unw_addr_space_t)space, 0, 0);
}

// Both demanglers live outside C: __cxa_demangle in libstdc++, swift_demangle in
// the Swift runtime the profiler is linked against anyway.
extern char *__cxa_demangle(const char *mangled, char *out, size_t *length, int *status);
extern char *swift_demangle(const char *mangled, size_t length, char *out, size_t *out_length,
                            uint32_t flags);
// SPI of the Swift runtime (Backtrace.cpp), weak so an older runtime still links.
extern char *_swift_backtrace_demangle(const char *mangled, size_t length, char *out,
                                       size_t *out_length) __attribute__((weak));

char *sampswift_demangle_cxx(const char *mangled) {
  int status = 0;
  char *result = __cxa_demangle(mangled, NULL, NULL, &status);
  if (status != 0) { free(result); return NULL; }
  return result;
}
char *sampswift_demangle_swift(const char *mangled) {
  return swift_demangle(mangled, strlen(mangled), NULL, NULL, 0);
}
char *sampswift_demangle_swift_simplified(const char *mangled) {
  if (!_swift_backtrace_demangle) return NULL;
  return _swift_backtrace_demangle(mangled, strlen(mangled), NULL, NULL);
}
