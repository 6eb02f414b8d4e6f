# A thread stalled in a page fault, and a main thread blocked in a syscall;
# runs on Python 2.7 and 3.6+ (x86-64 Linux). The page belongs to a userfaultfd
# that nobody serves, so the read below never completes: the thread stays in
# the kernel's fault handler, outside any syscall, as a thread does while its
# page comes back from swap or a slow file. Its samples belong to the line that
# faulted. Lines marked "# @NAME" are found by the tests.
import ctypes
import os
import struct
import sys
import threading

SYS_USERFAULTFD = 323        # x86-64
O_CLOEXEC = 0o2000000          # os.O_CLOEXEC, which 2.7 lacks
UFFD_USER_MODE_ONLY = 1      # faults from user mode only: needs no privilege
UFFD_API = 0xAA
UFFDIO_API = 0xC018AA3F      # _IOWR(0xAA, 0x3F, struct uffdio_api)
UFFDIO_REGISTER = 0xC020AA00  # _IOWR(0xAA, 0x00, struct uffdio_register)
UFFDIO_REGISTER_MODE_MISSING = 1
PAGE = 4096

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]


def unserved_page():
    """The address of a page whose first touch blocks until the process ends."""
    uffd = libc.syscall(SYS_USERFAULTFD, O_CLOEXEC | UFFD_USER_MODE_ONLY)
    if uffd < 0:
        sys.exit("userfaultfd: %s" % os.strerror(ctypes.get_errno()))
    ioctl(uffd, UFFDIO_API, struct.pack("QQQ", UFFD_API, 0, 0))
    address = libc.mmap(None, PAGE, 3, 0x22, -1, 0)  # PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS
    ioctl(uffd, UFFDIO_REGISTER, struct.pack("QQQQ", address, PAGE, UFFDIO_REGISTER_MODE_MISSING, 0))
    return address


def ioctl(fd, request, argument):
    # Through ctypes: 2.7's fcntl.ioctl takes neither this request number nor a bytearray.
    if libc.ioctl(fd, ctypes.c_ulong(request), ctypes.create_string_buffer(argument, len(argument))) != 0:
        sys.exit("ioctl %#x: %s" % (request, os.strerror(ctypes.get_errno())))


def stall_in_fault(address):
    # memmove releases the interpreter lock, so the main thread waits in join
    # (a syscall) rather than for the lock.
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    into = ctypes.create_string_buffer(1)
    ctypes.memmove(into, address, 1)  # @FAULT


def main():
    address = unserved_page()
    stalled = threading.Thread(target=stall_in_fault, args=(address,))
    stalled.daemon = True
    stalled.start()
    stalled.join()  # @JOIN


main()  # @MAIN
