# Threads that start and end all the time (each runs a few Python calls and
# exits), next to a main thread that spins in Python: a dump may catch a
# thread state half set up or torn down, yet must always show the main thread.
# Runs on Python 2.7 and 3.6+. Lines marked "# @NAME" are found by the tests.
import sys
import threading


def work(n):
    return sum(i * i for i in range(n))


def short():
    work(200)


def spawner():
    while True:
        threads = [threading.Thread(target=short) for _ in range(8)]
        for t in threads: t.start()
        for t in threads: t.join()


def main_spin():
    while True:
        work(50)  # @SPIN


t = threading.Thread(target=spawner, name="spawner")
t.daemon = True
t.start()
sys.stdout.write("ready\n")
sys.stdout.flush()
main_spin()  # @MAIN
