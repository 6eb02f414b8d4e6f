# A thread that runs no Python code: it was started on a builtin (sum over an
# endless iterator), so it has a thread state but never a frame, and it keeps
# the interpreter lock for good (C code never hands it over). The main thread
# then waits for the lock. Runs on Python 2.7 and 3.6+.
import itertools
import sys
import time

try:
    import _thread as thread
except ImportError:  # 2.7
    import thread

sys.stdout.write("ready\n")
sys.stdout.flush()
thread.start_new_thread(sum, (itertools.repeat(1),))
while True:
    time.sleep(0.1)
