#!/usr/bin/env python3
"""A stand-in for systemd's notification socket (sd_notify(3)), for
server_notify.bats: binds an AF_UNIX datagram socket at --socket and writes
one line per datagram to --out:

    msg PID KEY=VALUE|KEY=VALUE...

PID is the sender's, from the kernel (SO_PASSCRED), not from the message.
When a datagram holds READY=1 it checks the mount at that instant, before
reading on, and writes

    ready-mountinfo FSTYPE      the type /proc/self/mountinfo gives MOUNTPOINT
                                ("none" when nothing is mounted there)
    ready-statfs TYPE           what `stat -f -c %T MOUNTPOINT` says (bounded)

so the test can tell "ready" from "mounted a moment later". It exits on a
datagram holding TEST_END=1 (the test sends one after the daemon ended: a
datagram socket keeps the order, so everything the daemon sent came before)
or after --timeout seconds (status 3).
"""
import argparse
import os
import socket
import subprocess
import sys


def mount_type(want):
    """The type of the filesystem on top at path want, from mountinfo, or "none"."""
    found = "none"
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            # octal escapes (\040 for a space) in the mount point field
            point = left.split()[4].encode().decode("unicode_escape")
            if point == want:
                found = right.split()[0]  # a later line is mounted over an earlier one
    return found


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--socket", required=True)
    ap.add_argument("--mountpoint", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--timeout", type=float, default=60)
    a = ap.parse_args()
    # resolved now: looking up a FUSE mount point later would ask the daemon
    mnt = os.path.realpath(a.mountpoint)

    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    s.bind(a.socket + ".tmp")
    os.rename(a.socket + ".tmp", a.socket)  # present means listening
    s.settimeout(a.timeout)
    creds_len = socket.CMSG_SPACE(12)  # struct ucred: pid, uid, gid
    with open(a.out, "a", buffering=1) as out:
        while True:
            try:
                data, anc, _, _ = s.recvmsg(4096, creds_len)
            except socket.timeout:
                out.write("timeout\n")
                return 3
            pid = "?"
            for level, typ, blob in anc:
                if level == socket.SOL_SOCKET and typ == socket.SCM_CREDENTIALS:
                    pid = str(int.from_bytes(blob[0:4], sys.byteorder))
            fields = data.decode("utf-8", "replace").split("\n")
            if "READY=1" in fields:
                mi = mount_type(mnt)
                try:
                    st = subprocess.run(["stat", "-f", "-c", "%T", a.mountpoint],
                                        capture_output=True, text=True, timeout=10)
                    sf = st.stdout.strip() if st.returncode == 0 else "error"
                except subprocess.TimeoutExpired:
                    sf = "hung"
            out.write("msg %s %s\n" % (pid, "|".join(f for f in fields if f)))
            if "READY=1" in fields:
                out.write("ready-mountinfo %s\nready-statfs %s\n" % (mi, sf))
            if "TEST_END=1" in fields:
                return 0


if __name__ == "__main__":
    sys.exit(main())
