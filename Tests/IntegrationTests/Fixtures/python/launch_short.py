# A short program for launch mode (`record -- python launch_short.py`): it
# works 0.4 s in one function, then 0.1 s in a last one, and exits. Lines
# marked "# @NAME" are found by the tests.
import time


def work(seconds):
    end = time.time() + seconds
    while time.time() < end: pass  # @WORK


def last_phase(seconds):
    end = time.time() + seconds
    while time.time() < end: pass  # @LAST


work(0.4)
last_phase(0.1)
