#!/usr/bin/env python3
"""Static files behind an HTML directory index, every response delayed by a
fixed latency: the server that rclone's :http: remote and httpdirfs mount in
tests/bench/perf.sh, so they see the same collections, with the same round
trip, as collectionsfs sees through the fake providers. Python 3 standard
library only; answers single byte ranges (httpdirfs refuses a server without
them); counts its requests (GET /_count answers the count, uncounted).

    python3 tests/bench/dirserver.py --root DIR --port-file FILE [--latency SECONDS]
"""
import argparse
import functools
import http.server
import os
import re
import sys
import threading
import time


class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real server would
    disable_nagle_algorithm = True  # headers and body are separate writes: no delayed-ACK stall
    latency = 0.0
    lock = threading.Lock()
    count = 0

    def log_message(self, *args):
        pass

    def _delay(self):
        if self.path == "/_count":
            return False
        with self.lock:
            Handler.count += 1
        if self.latency:
            time.sleep(self.latency)
        return True

    def do_GET(self):
        if not self._delay():
            body = b"%d\n" % Handler.count
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        path = self.translate_path(self.path)
        rng = re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers.get("Range", "").strip())
        if rng and os.path.isfile(path) and rng.group(0) != "bytes=-":
            return self._range(path, rng)
        super().do_GET()

    def _range(self, path, rng):
        """A single byte range (httpdirfs refuses a server without them)."""
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            a, b = rng.groups()
            if a == "":                      # the last b bytes
                start, end = max(0, size - int(b)), size - 1
            else:
                start, end = int(a), min(size - 1, int(b)) if b else size - 1
            if start >= size or start > end:
                self.send_response(416)
                self.send_header("Content-Range", "bytes */%d" % size)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            f.seek(start)
            body = f.read(end - start + 1)
        self.send_response(206)
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, size))
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        self.wfile.write(body)

    def do_HEAD(self):
        self._delay()
        super().do_HEAD()


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--latency", type=float, default=0.0, help="seconds before every answer")
    a = ap.parse_args()
    Handler.latency = a.latency
    srv = Server(("127.0.0.1", a.port), functools.partial(Handler, directory=a.root))
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.replace(tmp, a.port_file)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
