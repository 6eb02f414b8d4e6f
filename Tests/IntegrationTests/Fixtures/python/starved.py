# A thread kept from the CPU, as on a busy host: it spins on a CPU of its own
# at the lowest priority (nice 19), and from 0.1 s after "ready" a child
# process spins on that CPU at the highest (nice -20; needs root or
# CAP_SYS_NICE) for HOG seconds (argv[1]). Preempted, the thread waits to run
# again; interrupted meanwhile, it reaches its stop only then. The main thread
# waits in a syscall throughout (it needs the interpreter lock, which the
# starved thread holds, only after the hog), then reports how far the spinner
# got in 0.3 s ("after_hog N"): a thread left stopped would get nowhere.
# Runs on Python 2.7 and 3.6+ (x86-64 Linux). Lines marked "# @NAME" are
# found by the tests.
import ctypes
import os
import sys
import threading
import time
import warnings

warnings.simplefilter("ignore")  # 3.12 warns of fork in a threaded process: the child runs no thread

SYS_GETTID = 186  # x86-64
libc = ctypes.CDLL(None, use_errno=True)
count = [0]
pinned = []


def pin(tid, cpu):
    # Through ctypes: 2.7 has no os.sched_setaffinity.
    mask = ctypes.c_ulong(1 << cpu)
    if libc.sched_setaffinity(tid, ctypes.sizeof(mask), ctypes.byref(mask)) != 0:
        sys.exit("sched_setaffinity: %s" % os.strerror(ctypes.get_errno()))


def starved_spin(cpu):
    tid = libc.syscall(SYS_GETTID)
    pin(tid, cpu)
    if libc.setpriority(0, tid, 19) != 0:  # PRIO_PROCESS, this thread only
        sys.exit("setpriority: %s" % os.strerror(ctypes.get_errno()))
    pinned.append(tid)
    while True: count[0] += 1  # @SPIN


def hog(cpu, seconds):
    time.sleep(0.1)  # the profiler attaches meanwhile
    pin(0, cpu)
    os.nice(-20)
    end = time.time() + seconds
    while time.time() < end:
        pass
    os._exit(0)


def main():
    seconds = float(sys.argv[1])
    cpu = os.sysconf("SC_NPROCESSORS_ONLN") - 1
    spinner = threading.Thread(target=starved_spin, args=(cpu,))
    spinner.daemon = True
    spinner.start()
    while not pinned:
        time.sleep(0.01)
    child = os.fork()
    if child == 0:
        hog(cpu, seconds)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    os.waitpid(child, 0)
    before = count[0]
    time.sleep(0.3)
    sys.stdout.write("after_hog %d\n" % (count[0] - before))
    sys.stdout.flush()
    time.sleep(60)


main()
