# Alternates between two busy functions in short slices and reports, by its
# own clock, the share of wall time spent in alpha: "split 0.6200".
import sys
import time

ALPHA = 0.0031
BETA = 0.0019


def burn(until):
    while time.time() < until: pass


def alpha():
    burn(time.time() + ALPHA)


def beta():
    burn(time.time() + BETA)


def main():
    spent_alpha = spent_beta = 0.0
    next_report = time.time()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        t0 = time.time()
        alpha()
        t1 = time.time()
        beta()
        t2 = time.time()
        spent_alpha += t1 - t0
        spent_beta += t2 - t1
        if t2 >= next_report:
            sys.stdout.write("split %.4f\n" % (spent_alpha / (spent_alpha + spent_beta)))
            sys.stdout.flush()
            next_report = t2 + 0.1


main()
