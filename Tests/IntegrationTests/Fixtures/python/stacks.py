# Known stacks for the Python walker tests; runs on Python 2.7 and 3.6+.
# Lines marked "# @NAME" are found by the tests, so edits here need no test edits.
import sys
import threading
import time

arrived = threading.Semaphore(0)


def sleep_forever():
    arrived.release()
    while True: time.sleep(60)  # @SLEEP


def gen():
    yield sleep_forever()  # @GEN


class Worker(object):
    def method(self):
        return nested()  # @METHOD


def nested():
    def inner():
        f = lambda: [x for x in (y for y in gen())]  # @LAMBDA
        return f()  # @INNER
    return inner()  # @NESTED


def recurse(n):
    if n > 0:
        return recurse(n - 1)  # @RECURSE
    sleep_forever()  # @BOTTOM


class Holder(object):
    def __init__(self, wait):
        if wait:
            sleep_forever()  # @INIT


def construct():
    # Warm the call site first: 3.13 then specializes it and runs __init__
    # below a cleanup shim frame, which must not show.
    for i in range(100):
        Holder(i == 99)  # @CONSTRUCT


def main_spin():
    while True: pass  # @SPIN


threading.Thread(target=Worker().method, name="shapes").start()
threading.Thread(target=recurse, args=(600,), name="deep").start()
threading.Thread(target=construct, name="ctor").start()
for _ in range(3):
    arrived.acquire()
sys.stdout.write("ready\n")
sys.stdout.flush()
main_spin()  # @MAIN
