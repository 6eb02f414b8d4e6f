# Python calling into C extensions, for --native: zlib (C frames at the leaf,
# the GIL released) and _json with an object_hook (C frames between Python
# frames). Runs on Python 2.7 and 3.x. Prints "ready" once both loops run.
import json
import sys
import threading
import time
import zlib

DATA = b"sampswift " * 20000 + bytes(bytearray(range(256))) * 200


def hook(obj):
    total = 0
    for i in range(300):
        total += i  # @HOOK
    return obj


def decode_loop():
    doc = json.dumps([{"k": i, "v": [i, i + 1]} for i in range(300)])
    while True:
        json.loads(doc, object_hook=hook)  # @DECODE
        # Let go of the GIL now and then, so the compressor thread runs often.
        time.sleep(0.001)


def compress_loop():
    while True:
        zlib.compress(DATA, 9)  # @COMPRESS


worker = threading.Thread(target=compress_loop, name="compressor")
worker.daemon = True
worker.start()
sys.stdout.write("ready\n")
sys.stdout.flush()
decode_loop()  # @MAIN
