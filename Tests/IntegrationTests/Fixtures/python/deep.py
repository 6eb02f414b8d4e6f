# One thread DEPTH calls deep (10,000 by default: far past Python's default
# recursion limit of 1000, so it is raised) spinning at its bottom, and one
# shallow thread asleep. Runs on Python 2.7 and 3.6+; the deep thread gets a
# large C stack, which interpreters that recurse in C for every Python call
# (up to 3.10) need.
# Lines marked "# @NAME" are found by the tests.
import sys
import threading
import time

DEPTH = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
sys.setrecursionlimit(DEPTH + 1000)
threading.stack_size(512 << 20)
arrived = threading.Semaphore(0)


def spin():
    arrived.release()
    while True: pass  # @SPIN


def recurse(n):
    if n > 1:
        return recurse(n - 1)  # @RECURSE
    spin()  # @BOTTOM


def shallow():
    arrived.release()
    while True: time.sleep(60)  # @SLEEP


threading.Thread(target=recurse, args=(DEPTH,), name="deep").start()
threading.Thread(target=shallow, name="shallow").start()
arrived.acquire()
arrived.acquire()
sys.stdout.write("ready\n")
sys.stdout.flush()
while True:
    time.sleep(60)  # @MAIN
