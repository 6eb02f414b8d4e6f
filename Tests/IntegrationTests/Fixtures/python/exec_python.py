# Execs Python into Python: spins in before_exec for BEFORE seconds (argv[1]),
# then execs the same interpreter on this script with "after", which spins in
# after_exec for AFTER seconds (argv[2]) and exits. A profiler attached before
# the exec must find the new interpreter, however early it looks after the
# exec. Prints "ready" once spinning. Runs on Python 2.7 and 3.6+.
import os
import sys
import time


def spin(seconds):
    end = time.time() + seconds
    while time.time() < end:
        pass


def before_exec(seconds):
    spin(seconds)


def after_exec(seconds):
    spin(seconds)


if sys.argv[1] == "after":
    after_exec(float(sys.argv[2]))
else:
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    before_exec(float(sys.argv[1]))
    os.execv(sys.executable, [sys.executable, os.path.abspath(__file__), "after", sys.argv[2]])
