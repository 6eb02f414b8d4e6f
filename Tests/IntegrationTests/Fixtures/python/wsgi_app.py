# A plain WSGI application for gunicorn, and gunicorn's settings (this file is
# also the config: `gunicorn -c wsgi_app.py wsgi_app:app`): two sync workers on
# a free local port. Each worker prints "worker PID" once booted; the master
# prints "ready" before it starts them.
import sys

workers = 2
worker_class = "sync"
bind = "127.0.0.1:0"


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello\n"]


def when_ready(server):
    print("ready")
    sys.stdout.flush()


def post_worker_init(worker):
    print("worker %d" % worker.pid)
    sys.stdout.flush()
