# The bundled demo workload: a small request-handling "service". The main
# thread serves requests whose cost is split between parsing (json, a C
# extension) and rendering (pure Python); a "compressor" thread spends its time
# in zlib; a "heartbeat" thread sleeps (idle, left out by default).
import json
import sys
import threading
import time
import zlib

PAYLOAD = json.dumps([{"id": i, "tags": ["a", "b", "c"], "score": i * 0.5} for i in range(400)])


class Handler:
    def parse(self, body):
        return json.loads(body)

    def render(self, items):
        out = []
        for item in items:
            out.append("<li>%s: %s</li>" % (item["id"], ",".join(item["tags"])))
        return "".join(out)

    def handle(self, body):
        return self.render(self.parse(body))


def serve_forever():
    handler = Handler()
    while True:
        handler.handle(PAYLOAD)


def compress_forever():
    blob = PAYLOAD.encode() * 20
    while True:
        zlib.compress(blob, 9)


def heartbeat_forever():
    while True:
        time.sleep(0.5)


threading.Thread(target=compress_forever, name="compressor", daemon=True).start()
threading.Thread(target=heartbeat_forever, name="heartbeat", daemon=True).start()
sys.stdout.write("ready\n")
sys.stdout.flush()
serve_forever()
