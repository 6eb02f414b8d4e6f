# The main thread ends with pthread_exit once a tracer is attached, leaving a
# zombie leader while a worker spins on (process_vm_readv by the process ID
# fails then: the leader's memory is gone). Runs on Python 2.7 and 3.6+.
# Lines marked "# @NAME" are found by the tests.
import ctypes
import sys
import threading
import time


def traced():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("TracerPid:"):
                return int(line.split()[1]) != 0
    return False


def spin():
    end = time.time() + 30
    while time.time() < end: pass  # @SPIN


worker = threading.Thread(target=spin)
worker.daemon = True
worker.start()
sys.stdout.write("ready\n")
sys.stdout.flush()
while not traced(): time.sleep(0.001)
time.sleep(0.2)  # some samples with the leader alive, then the rest without it
ctypes.CDLL(None).pthread_exit(None)  # @EXIT
