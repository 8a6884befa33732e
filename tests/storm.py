#!/usr/bin/python3
"""A reconnect storm against an XMPP listener, bounded in count and time.

Opens COUNT TCP connections to HOST:PORT, spread evenly over --within
seconds and over --sources local addresses 127.0.0.2, 127.0.0.3, ... (so
that per-source limits see many clients, as after a network blip).  Each
connection sends a client stream header and waits for the end of the stream
features.  Every connection ends in exactly one of:

  features  </stream:features> arrived (its latency from connect is kept)
  refused   the listener refused it: connection refused, reset, or closed
            before sending a single byte (systemd's MaxConnections= cap,
            inetd's limits: a clean refusal)
  broken    bytes arrived, then the connection ended before the features
  timeout   nothing decided within --deadline seconds of the storm's start

A connection that got its features sends </stream:stream> and is closed at
once (a reconnecting client that goes on to log in would hold it; the
storm measures the listener, not the backend).  With --hold SECS it is
held open SECS seconds first (at most --deadline from the storm's start),
as a client that goes on would, so that a listener's cap on concurrent
connections is reached.  Prints one line:

  storm count=N features=N refused=N broken=N timeout=N p50_ms=X p99_ms=X max_ms=X open_s=X

and exits 0 when no connection timed out or broke (with --min-features N:
and at least N got their features), 1 otherwise, 2 on a usage error.
"""
import argparse
import errno
import resource
import selectors
import socket
import sys
import time

HEADER = ("<?xml version='1.0'?><stream:stream to='%s' xmlns='jabber:client' "
          "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>\n")
FEATURES_END = b"</stream:features>"
READ_MAX = 16384          # bytes kept per connection; features are smaller
HARD_COUNT_MAX = 20000    # the storm is bounded whatever the caller asks
HOLD_MAX = 120.0          # --hold, seconds


class Conn:
    __slots__ = ("sock", "t0", "buf", "state", "sent", "latency")

    def __init__(self, sock, t0):
        self.sock = sock
        self.t0 = t0
        self.buf = b""
        self.state = "connecting"
        self.sent = False
        self.latency = None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--domain", default="example.org")
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--within", type=float, default=2.0)
    ap.add_argument("--sources", type=int, default=200,
                    help="distinct 127.0.0.x source addresses (1..250)")
    ap.add_argument("--deadline", type=float, default=30.0)
    ap.add_argument("--min-features", type=int, default=0)
    ap.add_argument("--hold", type=float, default=0.0,
                    help="seconds a connection with features stays open")
    a = ap.parse_args()
    if not 1 <= a.count <= HARD_COUNT_MAX or not 1 <= a.sources <= 250 \
            or not 0 <= a.within <= 60 or not 0 < a.deadline <= 300 \
            or not 0 <= a.hold <= HOLD_MAX:
        print("storm: bad arguments", file=sys.stderr)
        return 2
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < a.count + 64:
        want = a.count + 64 if hard == resource.RLIM_INFINITY else min(hard, a.count + 64)
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    family = socket.AF_INET6 if ":" in a.host else socket.AF_INET
    header = (HEADER % a.domain).encode()

    sel = selectors.DefaultSelector()
    conns = []
    results = {"features": 0, "refused": 0, "broken": 0, "timeout": 0}
    start = time.monotonic()
    deadline = start + a.deadline
    opened = 0
    pending = 0
    held = []                 # (when to close, socket), in order of time

    def close(sock):
        try:
            sock.send(b"</stream:stream>")
        except OSError:
            pass
        sock.close()

    def finish(c, state):
        nonlocal pending
        if c.state in results:
            return
        try:
            sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass
        if state == "features" and a.hold > 0:
            held.append((min(time.monotonic() + a.hold, deadline), c.sock))
        elif state == "features":
            close(c.sock)
        else:
            c.sock.close()
        c.state = state
        results[state] += 1
        pending -= 1

    def open_one(i):
        nonlocal pending
        s = socket.socket(family, socket.SOCK_STREAM)
        s.setblocking(False)
        if family == socket.AF_INET:
            s.bind(("127.0.0.%d" % (2 + i % a.sources), 0))
        c = Conn(s, time.monotonic())
        conns.append(c)
        pending += 1
        err = s.connect_ex((a.host, a.port))
        if err in (0, errno.EINPROGRESS):
            sel.register(s, selectors.EVENT_WRITE | selectors.EVENT_READ, c)
        else:
            finish(c, "refused")

    while True:
        now = time.monotonic()
        # Open the connections that are due by now (an even pace).
        due = a.count if a.within == 0 else \
            min(a.count, int((now - start) / a.within * a.count) + 1)
        while opened < due and opened < a.count:
            open_one(opened)
            opened += 1
        while held and held[0][0] <= now:
            close(held.pop(0)[1])
        if opened == a.count and pending == 0 and not held:
            break
        if now >= deadline:
            break
        timeout = min(0.01 if opened < a.count else 0.5, deadline - now)
        if held:
            timeout = min(timeout, max(held[0][0] - now, 0))
        for key, ev in sel.select(max(timeout, 0)):
            c = key.data
            if c.state in results:
                continue
            if not c.sent and ev & selectors.EVENT_WRITE:
                err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    finish(c, "refused")
                    continue
                try:
                    c.sock.send(header)
                except OSError:
                    finish(c, "refused" if not c.buf else "broken")
                    continue
                c.sent = True
                sel.modify(c.sock, selectors.EVENT_READ, c)
                continue
            if ev & selectors.EVENT_READ:
                try:
                    data = c.sock.recv(4096)
                except OSError:
                    finish(c, "refused" if not c.buf else "broken")
                    continue
                if not data:
                    finish(c, "refused" if not c.buf else "broken")
                    continue
                c.buf = (c.buf + data)[-READ_MAX:]
                if FEATURES_END in c.buf:
                    c.latency = time.monotonic() - c.t0
                    finish(c, "features")
    for c in conns:
        if c.state not in results:
            finish(c, "timeout")
    for _, sock in held:
        close(sock)
    lat = sorted(c.latency for c in conns if c.latency is not None)

    def pct(p):
        if not lat:
            return "-"
        return "%.1f" % (1000 * lat[min(len(lat) - 1, int(p * len(lat)))])
    print("storm count=%d features=%d refused=%d broken=%d timeout=%d "
          "p50_ms=%s p99_ms=%s max_ms=%s open_s=%.2f" % (
              a.count, results["features"], results["refused"],
              results["broken"], results["timeout"], pct(0.5), pct(0.99),
              "%.1f" % (1000 * lat[-1]) if lat else "-",
              max(c.t0 for c in conns) - start))
    ok = results["timeout"] == 0 and results["broken"] == 0 \
        and results["features"] >= a.min_features
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
