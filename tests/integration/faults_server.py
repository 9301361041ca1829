#!/usr/bin/env python3
"""A deliberately hostile "list collections" server for faults_hostile.bats.

tests/fake_providers.py imitates the four real APIs faithfully and has
switchable faults of its own; this one covers what it cannot send: invalid
UTF-8, deep nesting, duplicate ids, totals that move between pages, endless
or dripping bodies, Retry-After as an HTTP date, Fount's rate-limit headers
without Retry-After.  Two endpoints in the wire format of the real APIs:

    GET /scenario/v1/collections?pageSize=&paginationToken=    (cursor)
    GET /fount/api/v2/collections?page=&per_page=              (page numbers)

Each serves COUNT (30) collections, 10 a page, unless the mode says otherwise.
Control (never counted):
    POST /_mode   {"mode": M}       switch mode, zero the counters
    GET  /_stats  {"requests": n, "log": [[t, "GET /path?query", status], ...]}

    python3 faults_server.py --port 0 --port-file FILE [--mode M] [--cert PEM --key PEM]

With --cert and --key it speaks HTTPS (TLS) instead of plain HTTP.

Modes: ok badutf8 deep deep_ok dupids nul_id total_grows total_shrinks
retry_date retry_date_far retry_after_huge retry_after_overflow redirect
fount_remaining0 remaining_max endless drip empty_body
top_array token_huge
"""
import argparse
import email.utils
import json
import os
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

COUNT, PAGE = 30, 10


def item(i, name=None):
    return {"id": "col_%03d" % i, "name": name if name is not None else "Item %03d" % i,
            "createdAt": "2024-01-%02dT00:00:00.000Z" % (1 + i % 28),
            "updatedAt": "2024-02-01T00:00:00.000Z", "assetCount": i}


def fount_item(i, name=None):
    return {"id": i + 1, "name": name if name is not None else "Item %03d" % i,
            "created_at": "2024-01-%02dT00:00:00.000000Z" % (1 + i % 28),
            "updated_at": "2024-02-01T00:00:00.000000Z"}


class State:
    def __init__(self, mode):
        self.lock = threading.Lock()
        self.mode, self.requests, self.log, self.seen = mode, 0, [], set()

    def set_mode(self, mode):
        with self.lock:
            self.mode, self.requests, self.log, self.seen = mode, 0, [], set()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, headers=(), ctype="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        req = json.loads(self.rfile.read(n) or b"{}")
        if self.path == "/_mode":
            self.server.state.set_mode(req.get("mode", "ok"))
            return self.reply(200, {"ok": True})
        self.reply(404, {"message": "not found"})

    def do_GET(self):
        st = self.server.state
        u = urlsplit(self.path)
        q = dict(parse_qsl(u.query, keep_blank_values=True))
        if u.path == "/_stats":
            with st.lock:
                return self.reply(200, {"requests": st.requests, "log": list(st.log)})
        with st.lock:
            st.requests += 1
            mode = st.mode
            first = u.path not in st.seen     # first request for this path since the mode was set
            st.seen.add(u.path)
            st.log.append([time.time(), self.path, None])
            entry = st.log[-1]
        try:
            status = self.route(u.path, q, mode, first)
        except (BrokenPipeError, ConnectionResetError):
            status = -1
        entry[2] = status

    def route(self, path, q, mode, first):
        if path.startswith("/scenario/"):
            return self.scenario(q, mode, first)
        if path.startswith("/fount/"):
            return self.fount(q, mode, first)
        self.reply(404, {"message": "not found"})
        return 404

    # ------------------------------------------------------------- shared faults
    def common(self, mode, first, prov):
        """Faults that do not depend on the API; returns a status when it answered."""
        if mode in ("retry_date", "retry_date_far") and first:
            when = time.time() + (2 if mode == "retry_date" else 3600)
            date = email.utils.formatdate(when, usegmt=True)
            body = {"reason": "Too Many Requests"} if prov == "scenario" else {"message": "Too Many Attempts."}
            self.reply(429, body, [("Retry-After", date)])
            return 429
        if mode == "retry_after_huge" and first:
            # a pause of a year: seconds for Scenario, an HTTP date for Fount
            year = 365 * 86400
            after = str(year) if prov == "scenario" else email.utils.formatdate(time.time() + year, usegmt=True)
            self.reply(429, {"message": "Too Many Attempts."}, [("Retry-After", after)])
            return 429
        if mode == "retry_after_overflow" and first:
            # seconds past what a count of milliseconds can hold
            self.reply(503, {"message": "busy"}, [("Retry-After", "1e17" if prov == "scenario" else "1e400")])
            return 503
        if mode == "redirect":
            # a moved API, with credentials in the Location's userinfo and query;
            # Fount's is relative (resolved against the request's URL)
            if prov == "scenario":
                self.reply(301, {"message": "Moved Permanently"}, [("Location",
                           "https://alice:hunter2@new.example.invalid:8443/v2/collections?pageSize=100&token=SECRET-QUERY")])
                return 301
            self.reply(308, b"", [("Location", "/fount/api/v3/collections?page=1&key=SECRET-QUERY")])
            return 308
        if mode == "endless":          # a 200 whose body never ends, fast
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            send = lambda b: self.wfile.write(b"%x\r\n%s\r\n" % (len(b), b))
            send(b'{"collections": [')
            chunk = b'{"id": "x", "name": "' + b"A" * 65000 + b'"},'
            end = time.time() + 120
            while time.time() < end:
                send(chunk)
            return 200
        if mode == "drip":             # one byte every half second, forever
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            end = time.time() + 120
            while time.time() < end:
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.5)
            return 200
        if mode == "empty_body":
            self.reply(200, b"")
            return 200
        if mode == "top_array":
            self.reply(200, b"[1, 2, 3]")
            return 200
        return None

    # ------------------------------------------------------------- scenario
    def scenario(self, q, mode, first):
        s = self.common(mode, first, "scenario")
        if s is not None:
            return s
        off = int(q.get("paginationToken") or "0") if (q.get("paginationToken") or "0").isdigit() else 0
        rows = [item(i) for i in range(off, min(off + PAGE, COUNT))]
        body = {"collections": rows}
        if off + PAGE < COUNT:
            body["nextPaginationToken"] = str(off + PAGE)
        if mode == "dupids":
            # the same id twice on one page (different names), and again on the next page
            if off == 0:
                rows.append(item(1, "Impostor of 001"))
            if off == PAGE:
                rows.insert(0, item(5, "Impostor of 005"))
        if mode == "nul_id" and off == 0:
            rows[0]["id"] = "col_\u0000evil"
            rows[1]["name"] = "nul\u0000name"
        if mode == "token_huge" and off == 0:
            body["nextPaginationToken"] = "9" * 200000
        text = json.dumps(body).encode()
        if mode == "badutf8" and off == 0:
            # raw invalid bytes inside strings: a lone continuation byte, a cut
            # sequence, an overlong '/', a surrogate, and 0xff
            text = text.replace(b'"Item 000"', b'"bad \x80 \xc3 end"')
            text = text.replace(b'"Item 001"', b'"over\xc0\xaflong"')
            text = text.replace(b'"Item 002"', b'"sur\xed\xa0\x80rogate \xff\xfe"')
        if mode in ("deep", "deep_ok") and off == 0:
            depth = 100000 if mode == "deep" else 200
            nest = b"[" * depth + b"1" + b"]" * depth
            text = text.replace(b'"assetCount": 0', b'"assetCount": 0, "nested": ' + nest, 1)
        self.reply(200, text)
        return 200

    # ------------------------------------------------------------- fount
    def fount(self, q, mode, first):
        s = self.common(mode, first, "fount")
        if s is not None:
            return s
        try:
            page = max(1, int(q.get("page", 1)))
        except ValueError:
            page = 1
        total, per = COUNT, PAGE
        rows = [fount_item(i) for i in range((page - 1) * per, min(page * per, total))]
        if mode == "total_grows":      # each page claims ten times more
            total = COUNT * 10 ** page
        elif mode == "total_shrinks":  # page 1 claims 5 pages, later pages only 2
            total = 5 * per if page == 1 else 2 * per
        last = max(1, -(-total // per))
        body = {"data": rows, "links": {"next": None}, "meta": {
            "current_page": page, "last_page": last, "per_page": per, "total": total,
            "from": (page - 1) * per + 1 if rows else None,
            "to": (page - 1) * per + len(rows) if rows else None}}
        headers = [("X-RateLimit-Limit", "500"), ("X-RateLimit-Remaining", "400")]
        if mode == "remaining_max":    # a count no signed 64-bit sum can grow
            headers = [("X-RateLimit-Remaining", "9223372036854775807")]
        if mode == "fount_remaining0" and first:
            # the first page uses up the minute; no Retry-After anywhere
            reset = int(time.time()) + 2
            self.reply(429, {"message": "Too Many Attempts."},
                       [("X-RateLimit-Limit", "500"), ("X-RateLimit-Remaining", "0"),
                        ("X-RateLimit-Reset", str(reset))])
            return 429
        self.reply(200, body, headers)
        return 200


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--mode", default="ok")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    a = ap.parse_args()
    srv = Server(("127.0.0.1", a.port), Handler)
    if a.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert, a.key)
        # a client that refuses the certificate fails the handshake in accept(),
        # which socketserver takes as a failed request and goes on
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.state = State(a.mode)
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as fh:
            fh.write("%d\n" % srv.server_address[1])
        os.replace(tmp, a.port_file)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
