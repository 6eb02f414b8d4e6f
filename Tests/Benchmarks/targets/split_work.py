"""Benchmark target for accuracy: busy time split between two functions,
measured by the target itself.

Same protocol as fixed_work.py: prints "ready", waits for a line on stdin,
then for --seconds alternates between phase_a and phase_b in chunks of random
length (so no chunk length lines up with the sampling interval), and prints
"split_a <seconds in phase_a> split_b <seconds in phase_b>".
"""

import argparse
import random
import sys
import time


def spin(seconds):
    # Busy for about `seconds` of wall time, in pure bytecode.
    end = time.perf_counter() + seconds
    total = 0
    while time.perf_counter() < end:
        for i in range(100):
            total += i * i % 7
    return total


def phase_a(seconds):
    return spin(seconds)


def phase_b(seconds):
    return spin(seconds)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--share-a", type=float, default=0.3, help="intended share of phase_a")
    args = parser.parse_args()
    print("ready", flush=True)
    sys.stdin.readline()

    rng = random.Random(1)
    spent = {"a": 0.0, "b": 0.0}
    start = time.perf_counter()
    while time.perf_counter() - start < args.seconds:
        chunk = rng.uniform(0.0005, 0.02)
        name = "a" if rng.random() < args.share_a else "b"
        t0 = time.perf_counter()
        if name == "a":
            phase_a(chunk)
        else:
            phase_b(chunk)
        spent[name] += time.perf_counter() - t0
    print("split_a %.6f split_b %.6f" % (spent["a"], spent["b"]), flush=True)


if __name__ == "__main__":
    main()
