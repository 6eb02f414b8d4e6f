# A thread whose threading name holds control characters (a newline, a tab,
# an escape sequence); the test adds more to the command line. Prints "ready"
# once the thread runs, then sleeps. Runs on Python 2.7 and 3.x.
import threading
import time

worker = threading.Thread(target=time.sleep, args=(60,), name="worker\n\t\x1b[31mred")
worker.daemon = True
worker.start()
print("ready")
import sys
sys.stdout.flush()
time.sleep(60)
