"""Misbehaving socket helpers for tests/t-authsocket.sh (xmppgate-auth(5),
SOCKET HELPERS), each on its own UNIX socket:

    authsock_peers.py MODE PATH LOG

MODE: silent   accepts, reads the request, never answers (--auth-timeout)
      garbage  answers a first line that is no verdict
      oversize "accept" and 10000 bytes of reply lines
      close    reads the request and closes without a word
      refuse   binds PATH and closes the socket: nothing listens there

Every request is checked against the wire format (the same parser the
Python sample uses) and "request ok MECH USER LEN" or "request bad: WHY"
is appended to LOG.  At most 50 connections, 60 s each; then it exits.
"""
import os
import select
import socket
import sys
import time

import xmppgate_auth

mode, path, logf = sys.argv[1], sys.argv[2], sys.argv[3]


def log(line):
    with open(logf, "a") as f:
        f.write(line + "\n")


s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
os.chmod(path, 0o666)
if mode == "refuse":
    s.close()
    time.sleep(60)
    sys.exit(0)
s.listen(8)
for _ in range(50):
    conn, _ = s.accept()
    try:
        req = xmppgate_auth.read_request(conn, timeout=10)
        log("request ok %s %s %d" % (req.mechanism, req.user, len(req.password)))
    except Exception as e:  # noqa: BLE001 - logged, the test reads it
        log("request bad: %s" % e)
    if mode == "silent":
        # Until xmppgate gives up and closes the connection: POLLHUP (its
        # shutdown for writing after the request is only POLLRDHUP).
        p = select.poll()
        p.register(conn, select.POLLHUP)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if any(ev & select.POLLHUP for _, ev in p.poll(1000)):
                break
    elif mode == "garbage":
        conn.sendall(b"HTTP/1.1 200 OK\r\n\r\naccept\n")
    elif mode == "oversize":
        conn.sendall(b"accept\n" + (b"user=" + b"u" * 995 + b"\n") * 10)
    conn.close()
