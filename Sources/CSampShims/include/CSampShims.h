// C that Swift cannot call directly: variadic ptrace, libunwind's macro-renamed
// unw_* API, the C++/Swift demanglers, and the few calls a forked child makes
// before its exec. Thin wrappers, no logic.
#ifndef CSAMPSHIMS_H
#define CSAMPSHIMS_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

#include "CSampUnwind.h"

// ptrace(2) is variadic; these return -1 and set errno on failure.
// Only reading requests exist here: nothing may ever write to the target.
long sampswift_ptrace_seize(pid_t tid, unsigned long options);
long sampswift_ptrace_interrupt(pid_t tid);
long sampswift_ptrace_cont(pid_t tid, int signal);
long sampswift_ptrace_listen(pid_t tid);
long sampswift_ptrace_detach(pid_t tid, int signal);
long sampswift_ptrace_geteventmsg(pid_t tid, unsigned long *message);
long sampswift_ptrace_getsiginfo_signo(pid_t tid, int *signo);

// process_vm_readv(2) needs _GNU_SOURCE, which Swift's Glibc module does not set.
struct iovec;
long sampswift_process_vm_readv(pid_t pid, const struct iovec *local, unsigned long local_count,
                                const struct iovec *remote, unsigned long remote_count);

// sched_getcpu(3) needs _GNU_SOURCE too: the CPU this thread runs on now, or -1.
int sampswift_sched_getcpu(void);

// `record -- COMMAND`: forks a child that waits at a gate (reads one byte, or
// EOF, from gate_read) before it execs `file`, so the profiler can seize it
// first and trace the new program from its first instruction. The child only
// calls async-signal-safe functions: code after fork in a threaded process
// must not touch the Swift runtime. Between the gate and the exec it restores
// SIGPIPE's default and an empty signal mask; if the exec fails it writes its
// errno (an int) to report_write and exits 127. Returns the child's PID, or -1
// (errno set) if fork failed. All four descriptors should be close-on-exec.
pid_t sampswift_fork_gated(const char *file, char *const argv[], int gate_read, int gate_write,
                           int report_read, int report_write);

// Option and event constants (macros or enums Swift may not see).
extern const unsigned long sampswift_ptrace_o_traceclone;
extern const unsigned long sampswift_ptrace_o_traceexec;
extern const unsigned long sampswift_ptrace_o_traceexit;
extern const int sampswift_ptrace_event_clone;
extern const int sampswift_ptrace_event_exec;
extern const int sampswift_ptrace_event_exit;
extern const int sampswift_ptrace_event_stop;

// libunwind address spaces (see CSampUnwind.h for the capture-then-unwind path).
void sampswift_unw_destroy_address_space(void *space);
void sampswift_unw_flush_cache(void *space);

// Demanglers. Return a malloc'ed string the caller frees, or NULL.
char *sampswift_demangle_cxx(const char *mangled);
char *sampswift_demangle_swift(const char *mangled);
// The Swift runtime's simplified form ("Worker.run(count:)"), as its backtracer
// prints it; NULL when this runtime does not export it (before Swift 5.9).
char *sampswift_demangle_swift_simplified(const char *mangled);

#endif
