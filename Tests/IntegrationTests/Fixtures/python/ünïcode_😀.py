# Non-ASCII names (Python 3 only): latin-1 (kind 1), CJK (kind 2) and a file
# name with a character outside the BMP (kind 4).
import sys


def spin_grüße():
    while True: pass  # @SPIN


def 函数_outer():
    spin_grüße()  # @OUTER


sys.stdout.write("ready\n")
sys.stdout.flush()
函数_outer()  # @MAIN
