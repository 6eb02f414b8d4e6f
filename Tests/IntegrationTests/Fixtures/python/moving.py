# A stack that keeps moving to memory it did not use a moment ago: the main
# thread alternates between a shallow spin and one 300 frames deeper every
# 0.1 s. A sampler that copies the pages its last samples needed is wrong at
# every switch, and must still report only whole, exact stacks.
import sys
import time

sys.setrecursionlimit(10000)


def spin(until):
    while time.time() < until:  # @SPIN
        pass


def recurse(n, until):
    if n == 0:
        spin(until)  # @BOTTOM
    else:
        recurse(n - 1, until)  # @RECURSE


def main():
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    deep = False
    while True:
        until = time.time() + 0.1
        if deep:
            recurse(300, until)  # @DEEP
        else:
            spin(until)  # @SHALLOW
        deep = not deep


main()  # @MAIN
