# -*- coding: utf-8 -*-
# Threads with known threading names, for reading names from memory. Prints
# "thread IDENT HEX" per threading thread (HEX: the name's UTF-8 bytes, so any
# stdout encoding works), "raw IDENT" for a thread threading never saw, then
# "ready". Once the file named by argv[1] exists (a signal could arrive blocked,
# as the test runner's mask is inherited): renames "dispatcher", replaces
# "worker-1" by a new thread "worker-1b" (glibc often reuses the old ident),
# prints the new list and "changed 1". Runs on Python 2.7 and 3.x.
import binascii
import os
import sys
import threading
import time

try:
    from threading import get_ident
    import _thread as raw_threads
except ImportError:  # Python 2
    from thread import get_ident
    import thread as raw_threads

PY2 = sys.version_info[0] == 2


def native(name):
    # Python 2's Thread stores str(name): give it the UTF-8 bytes.
    return name.encode("utf-8") if PY2 else name


def text(name):
    return name.decode("utf-8") if PY2 and isinstance(name, bytes) else name


lock = threading.Lock()
threads = {}  # name -> (thread, stop event)


def wait_for(stop):
    while not stop.wait(0.5):
        pass


def start(name):
    stop = threading.Event()
    t = threading.Thread(target=wait_for, args=(stop,), name=native(name))
    t.daemon = True
    t.start()
    threads[name] = (t, stop)


raw_ident = []


def raw():
    raw_ident.append(get_ident())
    while True:
        time.sleep(0.5)


def report(tag):
    out = []
    for t in threading.enumerate():
        hexname = binascii.hexlify(text(t.name).encode("utf-8")).decode("ascii")
        out.append("thread %d %s\n" % (t.ident, hexname))
    out.append("raw %d\n" % raw_ident[0])
    out.append(tag + "\n")
    sys.stdout.write("".join(out))
    sys.stdout.flush()


def change():
    t, stop = threads.pop("worker-1")
    stop.set()
    t.join()
    start("worker-1b")
    threads["dispatcher"][0].name = native("dispatcher-1")
    report("changed 1")


def main():
    for name in ["worker-1", "dispatcher", u"\u00fcn\u00ef-\U0001F600"]:
        start(name)
    raw_threads.start_new_thread(raw, ())
    while not raw_ident:
        time.sleep(0.01)
    report("ready")
    trigger = sys.argv[1] if len(sys.argv) > 1 else None
    while not (trigger and os.path.exists(trigger)):
        time.sleep(0.05)
    change()
    while True:
        time.sleep(0.5)


main()
