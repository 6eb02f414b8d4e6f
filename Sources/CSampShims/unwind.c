// The accessors libunwind calls while unwinding a captured thread. They must be
// C-callable, so they live here rather than in Swift; they only read.
#include "CSampUnwind.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <elf.h>
#include <libunwind-ptrace.h>

// Exported by libunwind but not declared in its public headers: binary search
// of a .eh_frame_hdr table read through the address space's accessors.
extern int _Ux86_64_dwarf_search_unwind_table(unw_addr_space_t as, unw_word_t ip, unw_dyn_info_t *di,
                                              unw_proc_info_t *pi, int need_unwind_info, void *arg);

struct sampswift_capture {
  pid_t pid;
  // The captured thread: its memory is read through its own ID, which works
  // when the process ID does not (a main thread that called pthread_exit
  // leaves a zombie leader, and process_vm_readv by PID fails with ESRCH).
  pid_t tid;
  void *upt;  // libunwind-ptrace state: finds and caches ELF unwind tables by pid
  struct user_regs_struct regs;
  uint64_t stack_start;
  size_t stack_size;
  size_t stack_capacity;
  uint8_t *stack;
  // The target's [vdso]: it has no file for _UPT_find_proc_info to open, so its
  // .eh_frame_hdr is read from the target's memory (see vdso_unwind_info).
  uint64_t vdso_start, vdso_end;
  int vdso_state;  // 0 not tried, 1 ready, -1 unusable
  unw_dyn_info_t vdso_info;
};

// libunwind passes the `arg` given to unw_init_remote to the accessors, but
// _UPT_find_proc_info passes its own: the capture being unwound is kept here.
static __thread sampswift_capture *current;

sampswift_capture *sampswift_capture_create(pid_t pid, size_t stack_capacity) {
  sampswift_capture *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->pid = pid;
  c->stack_capacity = stack_capacity;
  c->stack = malloc(stack_capacity);
  c->upt = _UPT_create(pid);
  if (!c->stack || !c->upt) {
    sampswift_capture_destroy(c);
    return NULL;
  }
  return c;
}

void sampswift_capture_destroy(sampswift_capture *c) {
  if (!c) return;
  if (c->upt) _UPT_destroy(c->upt);
  free(c->stack);
  free(c);
}

size_t sampswift_capture_stack_size(const sampswift_capture *c) { return c->stack_size; }

void sampswift_capture_set_vdso(sampswift_capture *c, uint64_t start, uint64_t end) {
  c->vdso_start = start;
  c->vdso_end = end;
  c->vdso_state = 0;
}

static int read_exact(pid_t pid, void *out, uint64_t address, size_t length) {
  struct iovec local = {out, length};
  struct iovec remote = {(void *)(uintptr_t)address, length};
  return process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)length ? 0 : -1;
}

// The target's memory after the capture: through the captured thread, or by
// PID once that thread has exited.
static int read_target(const sampswift_capture *c, void *out, uint64_t address, size_t length) {
  return read_exact(c->tid, out, address, length) == 0 || read_exact(c->pid, out, address, length) == 0 ? 0 : -1;
}

static long read_remote(pid_t pid, void *local, uint64_t address, size_t length) {
  // Page-sized pieces, so a copy that runs into the end of the stack mapping
  // still returns every readable page before it.
  struct iovec locals[32], remotes[32];
  size_t count = 0, offset = 0;
  while (offset < length && count < 32) {
    size_t chunk = 4096 - ((address + offset) & 4095);
    if (chunk > length - offset) chunk = length - offset;
    locals[count].iov_base = (uint8_t *)local + offset;
    locals[count].iov_len = chunk;
    remotes[count].iov_base = (void *)(uintptr_t)(address + offset);
    remotes[count].iov_len = chunk;
    offset += chunk;
    count++;
  }
  return process_vm_readv(pid, locals, count, remotes, count, 0);
}

int sampswift_capture_thread(sampswift_capture *c, pid_t tid) {
  c->stack_size = 0;
  if (ptrace(PTRACE_GETREGS, tid, 0, &c->regs) != 0) return -errno;
  // 128 bytes below SP are the red zone a leaf function may use.
  c->stack_start = c->regs.rsp - 128;
  c->tid = tid;
  long n = read_remote(tid, c->stack, c->stack_start, c->stack_capacity);
  if (n < 0) return -errno;
  c->stack_size = (size_t)n;
  return 0;
}

static int access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val, int write, void *arg) {
  (void)as;
  (void)arg;
  if (write || !current) return -UNW_EINVAL;
  sampswift_capture *c = current;
  if (addr >= c->stack_start && addr + sizeof *val <= c->stack_start + c->stack_size) {
    memcpy(val, c->stack + (addr - c->stack_start), sizeof *val);
    return 0;
  }
  return read_target(c, val, addr, sizeof *val) == 0 ? 0 : -UNW_EINVAL;
}

static int access_reg(unw_addr_space_t as, unw_regnum_t reg, unw_word_t *val, int write, void *arg) {
  (void)as;
  (void)arg;
  if (write || !current) return -UNW_EINVAL;
  const struct user_regs_struct *r = &current->regs;
  switch (reg) {
    case UNW_X86_64_RAX: *val = r->rax; break;
    case UNW_X86_64_RDX: *val = r->rdx; break;
    case UNW_X86_64_RCX: *val = r->rcx; break;
    case UNW_X86_64_RBX: *val = r->rbx; break;
    case UNW_X86_64_RSI: *val = r->rsi; break;
    case UNW_X86_64_RDI: *val = r->rdi; break;
    case UNW_X86_64_RBP: *val = r->rbp; break;
    case UNW_X86_64_RSP: *val = r->rsp; break;
    case UNW_X86_64_R8: *val = r->r8; break;
    case UNW_X86_64_R9: *val = r->r9; break;
    case UNW_X86_64_R10: *val = r->r10; break;
    case UNW_X86_64_R11: *val = r->r11; break;
    case UNW_X86_64_R12: *val = r->r12; break;
    case UNW_X86_64_R13: *val = r->r13; break;
    case UNW_X86_64_R14: *val = r->r14; break;
    case UNW_X86_64_R15: *val = r->r15; break;
    case UNW_X86_64_RIP: *val = r->rip; break;
    default: return -UNW_EBADREG;
  }
  return 0;
}

static int access_fpreg(unw_addr_space_t as, unw_regnum_t reg, unw_fpreg_t *val, int write, void *arg) {
  (void)as; (void)reg; (void)val; (void)write; (void)arg;
  return -UNW_EBADREG;
}

// Builds a remote-table description of the vDSO's .eh_frame_hdr: the usual
// encodings only (pcrel/sdata4 frame pointer, udata4 count, datarel/sdata4 table).
static int vdso_unwind_info(sampswift_capture *c) {
  if (c->vdso_state != 0) return c->vdso_state;
  c->vdso_state = -1;
  Elf64_Ehdr eh;
  if (read_target(c, &eh, c->vdso_start, sizeof eh) != 0 || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) return -1;
  if (eh.e_phnum == 0 || eh.e_phnum > 64 || eh.e_phentsize != sizeof(Elf64_Phdr)) return -1;
  Elf64_Phdr ph[64];
  if (read_target(c, ph, c->vdso_start + eh.e_phoff, eh.e_phnum * sizeof(Elf64_Phdr)) != 0) return -1;
  uint64_t lowest = UINT64_MAX, hdr_vaddr = 0;
  for (int i = 0; i < eh.e_phnum; i++) {
    if (ph[i].p_type == PT_LOAD && ph[i].p_vaddr < lowest) lowest = ph[i].p_vaddr;
    if (ph[i].p_type == PT_GNU_EH_FRAME) hdr_vaddr = ph[i].p_vaddr;
  }
  if (lowest == UINT64_MAX || hdr_vaddr == 0) return -1;
  uint64_t hdr = c->vdso_start - (lowest & ~0xfffULL) + hdr_vaddr;
  uint8_t head[12];
  if (read_target(c, head, hdr, sizeof head) != 0) return -1;
  // version 1; eh_frame_ptr pcrel|sdata4 (0x1b); fde_count udata4 (0x03); table datarel|sdata4 (0x3b)
  if (head[0] != 1 || head[1] != 0x1b || head[2] != 0x03 || head[3] != 0x3b) return -1;
  uint32_t fde_count;
  memcpy(&fde_count, head + 8, 4);
  if (fde_count == 0 || fde_count > 100000) return -1;
  memset(&c->vdso_info, 0, sizeof c->vdso_info);
  c->vdso_info.format = UNW_INFO_FORMAT_REMOTE_TABLE;
  c->vdso_info.start_ip = c->vdso_start;
  c->vdso_info.end_ip = c->vdso_end;
  c->vdso_info.u.rti.segbase = hdr;
  c->vdso_info.u.rti.table_data = hdr + 12;
  c->vdso_info.u.rti.table_len = fde_count * 8 / sizeof(unw_word_t);
  c->vdso_state = 1;
  return 1;
}

static int find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi, int need, void *arg) {
  if (!current) return -UNW_EINVAL;
  sampswift_capture *c = current;
  if (ip >= c->vdso_start && ip < c->vdso_end && vdso_unwind_info(c) == 1) {
    return _Ux86_64_dwarf_search_unwind_table(as, ip, &c->vdso_info, pi, need, arg);
  }
  return _UPT_find_proc_info(as, ip, pi, need, c->upt);
}

static void put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi, void *arg) {
  (void)arg;
  if (current) _UPT_put_unwind_info(as, pi, current->upt);
}

static int get_dyn_info_list_addr(unw_addr_space_t as, unw_word_t *addr, void *arg) {
  (void)as; (void)addr; (void)arg;
  return -UNW_ENOINFO;
}

static int resume(unw_addr_space_t as, unw_cursor_t *cursor, void *arg) {
  (void)as; (void)cursor; (void)arg;
  return -UNW_EINVAL;  // never: nothing runs in the target
}

static int get_proc_name(unw_addr_space_t as, unw_word_t addr, char *buf, size_t len, unw_word_t *off, void *arg) {
  (void)as; (void)addr; (void)buf; (void)len; (void)off; (void)arg;
  return -UNW_ENOINFO;  // names come from libdw
}

static unw_accessors_t copy_accessors = {
  .find_proc_info = find_proc_info,
  .put_unwind_info = put_unwind_info,
  .get_dyn_info_list_addr = get_dyn_info_list_addr,
  .access_mem = access_mem,
  .access_reg = access_reg,
  .access_fpreg = access_fpreg,
  .resume = resume,
  .get_proc_name = get_proc_name,
};

void *sampswift_copy_unwind_space_create(void) {
  unw_addr_space_t space = unw_create_addr_space(&copy_accessors, 0);
  if (space) unw_set_caching_policy(space, UNW_CACHE_GLOBAL);
  return space;
}

int sampswift_capture_unwind(void *space, sampswift_capture *c, uint64_t *ips, int max_frames) {
  if (!space || c->stack_size == 0) return -UNW_EINVAL;
  current = c;
  unw_cursor_t cursor;
  int count = 0;
  int r = unw_init_remote(&cursor, (unw_addr_space_t)space, c);
  if (r < 0) {
    current = NULL;
    return r;
  }
  do {
    unw_word_t ip = 0;
    if (unw_get_reg(&cursor, UNW_REG_IP, &ip) < 0 || ip == 0) break;
    ips[count++] = (uint64_t)ip;
    r = unw_step(&cursor);
  } while (r > 0 && count < max_frames);
  current = NULL;
  return count;
}

// Whether the bytes before `address` end with a call instruction (x86-64):
// E8 rel32, or FF /2 (through a register or memory, 2 to 7 bytes long).
static int follows_call(const sampswift_capture *c, uint64_t address) {
  uint8_t b[8];
  if (address < sizeof b || read_target(c, b, address - sizeof b, sizeof b) != 0) return 0;
  if (b[3] == 0xE8) return 1;
  for (int length = 2; length <= 7; length++) {
    const uint8_t *call = b + sizeof b - length;
    if (call[0] == 0xFF && ((call[1] >> 3) & 7) == 2) return 1;
  }
  return 0;
}

int sampswift_capture_unwind_from_stack_top(void *space, sampswift_capture *c, uint64_t *ips, int max_frames) {
  // The copy starts 128 bytes (the red zone) below the stack pointer.
  if (c->stack_size < 128 + sizeof(uint64_t)) return -UNW_EINVAL;
  uint64_t return_address;
  memcpy(&return_address, c->stack + 128, sizeof return_address);
  // A word that is no return address (a new thread's stack top) gives nothing.
  if (!follows_call(c, return_address)) return 0;
  struct user_regs_struct saved = c->regs;
  c->regs.rip = return_address;
  c->regs.rsp += sizeof return_address;
  int n = sampswift_capture_unwind(space, c, ips, max_frames);
  c->regs = saved;
  return n;
}
