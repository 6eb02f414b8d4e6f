// Native unwinding in two phases: copy a thread's registers and the top of its
// stack while it is stopped (microseconds), unwind the copy with libunwind after
// the thread runs again. Only reads: PTRACE_GETREGS and process_vm_readv.
#ifndef CSAMPUNWIND_H
#define CSAMPUNWIND_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct sampswift_capture sampswift_capture;

// One reusable capture buffer; `stack_capacity` bytes of stack are copied.
sampswift_capture *sampswift_capture_create(pid_t pid, size_t stack_capacity);
void sampswift_capture_destroy(sampswift_capture *capture);

// Where the target's [vdso] is mapped (0, 0 if none): its unwind table is read
// from memory, since it has no file.
void sampswift_capture_set_vdso(sampswift_capture *capture, uint64_t start, uint64_t end);

// Phase 1, thread stopped: registers and the stack from SP (red zone included).
// Returns 0, or -errno.
int sampswift_capture_thread(sampswift_capture *capture, pid_t tid);
// Bytes of stack copied by the last capture.
size_t sampswift_capture_stack_size(const sampswift_capture *capture);

// Phase 2, thread running again: unwind the copy into `ips`, innermost first.
// Memory outside the copied stack (unwind tables, code) is read live, which is
// safe because it does not change while the program runs. Returns the frame
// count or a negative libunwind error.
void *sampswift_copy_unwind_space_create(void);
int sampswift_capture_unwind(void *space, sampswift_capture *capture, uint64_t *ips, int max_frames);
// The same from the return address at the top of the stack, as if the
// innermost function had saved nothing yet (its first instruction, or glibc's
// clone3 at its syscall, which has no unwind information): the frames above it.
int sampswift_capture_unwind_from_stack_top(void *space, sampswift_capture *capture, uint64_t *ips, int max_frames);

#endif
