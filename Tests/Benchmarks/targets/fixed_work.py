"""Benchmark target: a fixed amount of pure-Python work that times itself.

Protocol (so the profiler is attached before the clock starts):
  1. prints "ready <pid>" and waits for a line on stdin (or EOF);
  2. does the work, timing it with perf_counter;
  3. prints "work_seconds <wall>" and exits.

The work runs at a chosen stack depth, in one thread or split across several
busy threads, optionally beside idle pool threads. With --seconds it works for
that long instead of a fixed number of units (for tests that need a steady
target rather than a fixed amount of work). With --progress it works until
killed and prints "progress <CLOCK_MONOTONIC s> <units done>" every 50 ms, for
a benchmark that attaches and detaches while it runs. Runs on Python 3.6+ (no
newer syntax).
"""

import argparse
import random
import sys
import threading
import time


def unit():
    # One unit of work: pure bytecode, holds the GIL, no allocation to speak of.
    total = 0
    for i in range(1000):
        total += i * i % 7
    return total


# Units done by each busy thread (its own slot: no lost updates), for --progress.
DONE = [0]


def work_loop(units, deadline, slot):
    if deadline is None:
        for _ in range(units):
            unit()
    else:
        while time.perf_counter() < deadline:
            for _ in range(20):
                unit()
            DONE[slot] += 20


def dive(depth, units, deadline, slot=0):
    # Recursion to put the work `depth` Python frames deep.
    if depth > 0:
        return dive(depth - 1, units, deadline, slot)
    return work_loop(units, deadline, slot)


def report_progress():
    while True:
        time.sleep(0.05)
        print("progress %.6f %d" % (time.monotonic(), sum(DONE)), flush=True)


def varied(max_depth, deadline):
    # Many distinct stacks (random depth and line) for the memory test.
    while time.perf_counter() < deadline:
        d = random.randint(1, max_depth)
        if random.random() < 0.5:
            branch_a(d, deadline)
        else:
            branch_b(d, deadline)


def branch_a(depth, deadline):
    if depth > 0:
        return branch_b(depth - 1, deadline) if depth % 3 else branch_a(depth - 1, deadline)
    for _ in range(5):
        unit()


def branch_b(depth, deadline):
    if depth > 0:
        return branch_a(depth - 1, deadline) if depth % 2 else branch_b(depth - 1, deadline)
    for _ in range(5):
        unit()


def schedstat():
    """(on-CPU ns, runnable-but-waiting ns) of this thread, or None."""
    try:
        with open("/proc/thread-self/schedstat") as f:
            fields = f.read().split()
        return int(fields[0]), int(fields[1])
    except (OSError, ValueError, IndexError):
        return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=2000, help="work units in total")
    parser.add_argument("--seconds", type=float, help="work for this long instead of --units")
    parser.add_argument("--busy", type=int, default=1, help="busy threads (1: the main thread)")
    parser.add_argument("--idle", type=int, default=0, help="idle pool threads beside them")
    parser.add_argument("--depth", type=int, default=10, help="Python frames above the work")
    parser.add_argument("--vary", action="store_true", help="many distinct stacks (with --seconds)")
    parser.add_argument("--progress", action="store_true", help="work until killed, reporting units done")
    args = parser.parse_args()
    if args.progress:
        args.seconds = 1e9
    sys.setrecursionlimit(max(1000, args.depth * 3 + 100))

    stop_idle = threading.Event()
    idlers = [threading.Thread(target=stop_idle.wait, daemon=True) for _ in range(args.idle)]
    for t in idlers:
        t.start()

    workers = []
    if args.busy > 1:
        # Workers are started, then released together once the clock runs, so
        # thread creation is not timed and they all start on an equal footing.
        release = threading.Event()
        share = args.units // args.busy

        DONE[:] = [0] * args.busy

        def worker(slot):
            release.wait()
            dive(args.depth, share, deadline, slot)

        workers = [threading.Thread(target=worker, args=(i,)) for i in range(args.busy)]
        for t in workers:
            t.start()

    print("ready", flush=True)
    sys.stdin.readline()
    sched_start = schedstat()
    start = time.perf_counter()
    deadline = start + args.seconds if args.seconds is not None else None
    if args.progress:
        threading.Thread(target=report_progress, daemon=True).start()
    if args.vary:
        varied(args.depth, deadline if deadline is not None else start + 10)
    elif args.busy <= 1:
        dive(args.depth, args.units, deadline)
    else:
        release.set()
        for t in workers:
            t.join()
    elapsed = time.perf_counter() - start
    sched_end = schedstat()
    stop_idle.set()
    print("work_seconds %.6f" % elapsed, flush=True)
    if sched_start and sched_end and args.busy <= 1:
        # The main thread did all the work: how long it waited for a CPU while
        # runnable (other load on the machine, not the profiler's stops).
        print("run_delay_seconds %.6f" % ((sched_end[1] - sched_start[1]) / 1e9), flush=True)


if __name__ == "__main__":
    main()
