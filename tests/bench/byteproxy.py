#!/usr/bin/env python3
"""A plain TCP relay that counts the bytes each way: tests/bench/perf.sh puts it
between collectionsfs and the fake providers to see the bytes on the wire of a
listing (the fake does not count them), in a run of its own that is never
timed. SIGUSR1 writes "to_server from_server" (bytes so far) to --count-file.
Python 3 standard library only.

    python3 tests/bench/byteproxy.py --target PORT --port-file FILE --count-file FILE
"""
import argparse
import os
import signal
import socket
import sys
import threading

lock = threading.Lock()
totals = [0, 0]  # client -> server, server -> client


def pump(src, dst, way):
    try:
        while True:
            b = src.recv(65536)
            if not b:
                break
            dst.sendall(b)
            with lock:
                totals[way] += len(b)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def serve(conn, target):
    try:
        up = socket.create_connection(("127.0.0.1", target))
    except OSError:
        conn.close()
        return
    for s in (conn, up):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    t = threading.Thread(target=pump, args=(up, conn, 1), daemon=True)
    t.start()
    pump(conn, up, 0)
    t.join()
    conn.close()
    up.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--target", type=int, required=True, help="port on 127.0.0.1 to relay to")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--count-file", required=True)
    a = ap.parse_args()

    def dump(*_):
        with lock:
            text = "%d %d\n" % tuple(totals)
        tmp = a.count_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, a.count_file)

    signal.signal(signal.SIGUSR1, dump)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(128)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % ls.getsockname()[1])
    os.replace(tmp, a.port_file)
    while True:
        try:
            conn, _ = ls.accept()
        except InterruptedError:
            continue
        threading.Thread(target=serve, args=(conn, a.target), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
