# A preloading prefork server in small: the master defines COUNT functions
# (their code objects, names and line tables made before the fork), then forks
# two workers that call them in the same pseudo-random order, so each worker
# dirties the same pages of the memory it shares copy-on-write with the master
# and with the other. Prints "workers A B" and, after a short warm-up, "ready".
# A profiler that reads the shared objects of one worker must leave them
# shared: its memory must grow no more than its twin's. Workers exit when the
# master is gone or after LIMIT seconds. Runs on Python 2.7 and 3.6+.
import os
import random
import sys
import time

COUNT = 3000
LIMIT = 120
source = "".join(
    "def f%d(x):\n    y = x + %d\n    for _ in range(3):\n        y = (y * 31 + %d) %% 1000003\n    return y\n"
    % (i, i, i) for i in range(COUNT))
space = {}
exec(compile(source, "/tmp/prefork_generated.py", "exec"), space)
functions = [space["f%d" % i] for i in range(COUNT)]


def serve(master):  # @serve
    rng = random.Random(1)
    x = 0
    end = time.time() + LIMIT
    while time.time() < end and os.getppid() == master:
        for _ in range(1000):
            x = functions[rng.randrange(COUNT)](x)
    os._exit(0)


master = os.getpid()
workers = []
for _ in range(2):
    pid = os.fork()
    if pid == 0:
        serve(master)
    workers.append(pid)
sys.stdout.write("workers %d %d\n" % tuple(workers))
sys.stdout.flush()
time.sleep(0.5)
sys.stdout.write("ready\n")
sys.stdout.flush()
for pid in workers:
    os.waitpid(pid, 0)
