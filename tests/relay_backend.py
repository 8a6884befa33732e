#!/usr/bin/python3
"""The far end of xmppgate's relay for tests/t-relay.sh (exec mode).

    relay_backend.py RESULTFILE BYTES [DELAY]
    relay_backend.py --listen PORT RESULTFILE BYTES [DELAY]

xmppgate runs it with fds 0 and 1 on one socket (its end of a socketpair)
carrying the plaintext stream after <success/>.  With --listen it is a
connect-mode backend instead (for the hand-off to xmppgate-relay, which
exec mode never does): it listens on 127.0.0.1:PORT, takes one
connection, logs xmppgate in as a server would (features with PLAIN,
<success/> for any <auth>, the restarted stream with <bind/>; no real
server relays arbitrary bytes after that, so this one stands in), and
then carries on as above on that socket, except that it writes nothing
before the first byte from the client has come (a real server speaks
after the client's restarted stream; bytes sent at once could reach
xmppgate with the features, which it refuses as data after them, when
xmppgate runs slowly, as under valgrind).  At the same time it

- reads fd 0 until end of file, counting and hashing (SHA-256), and
- (after DELAY seconds, default 0) writes BYTES pseudo-random bytes
  (random.Random with a fixed seed) to fd 1, hashing them, then closes its
  write side only (shutdown(SHUT_WR)), which xmppgate must pass on to the
  client as a TLS close_notify.

When both are done it writes, atomically (temporary file and rename),

    received=M received_sha256=HEX sent=N sent_sha256=HEX eof=yes

to RESULTFILE and exits 0.  On an error it writes "error=TEXT" instead and
exits 1; after 300 seconds SIGALRM ends it.
"""

import hashlib
import os
import random
import signal
import socket
import sys
import threading
import time

CHUNK = 256 * 1024
READ_MAX = 1024 * 1024
SEED = 0x72656C6179      # "relay"
TIME_LIMIT_S = 300


class Half:
    """One direction's count, digest and first error."""

    def __init__(self):
        self.count = 0
        self.sha = hashlib.sha256()
        self.error = None
        self.done = False


def reader(r, first):
    try:
        while True:
            data = os.read(0, READ_MAX)
            first.set()
            if not data:
                break
            r.sha.update(data)
            r.count += len(data)
        r.done = True
    except Exception as e:  # noqa: BLE001 - reported in the result file
        r.error = f"read after {r.count} bytes: {e!r}"
        first.set()


def writer(w, total, delay, first):
    try:
        first.wait(TIME_LIMIT_S)
        if delay > 0:
            time.sleep(delay)
        rng = random.Random(SEED)
        while w.count < total:
            n = min(CHUNK, total - w.count)
            data = rng.randbytes(n)
            w.sha.update(data)
            view = memoryview(data)
            while view:
                k = os.write(1, view)
                view = view[k:]
            w.count += n
        # Half close: the socket stays open for reading.  A duplicate, so
        # that closing the socket object leaves fd 1 alone.
        s = socket.socket(fileno=os.dup(1))
        try:
            s.shutdown(socket.SHUT_WR)
        finally:
            s.close()
        w.done = True
    except Exception as e:  # noqa: BLE001 - reported in the result file
        w.error = f"write after {w.count} bytes: {e!r}"


def report(path, text):
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(text + "\n")
    os.rename(tmp, path)


def fail(path, err):
    report(path, f"error={err}")
    print(f"relay_backend: {err}", file=sys.stderr, flush=True)
    os._exit(1)


NS_STREAMS = "http://etherx.jabber.org/streams"
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
HEADER = ("<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
          "xmlns:stream='%s' id='relay' from='example.test' version='1.0'>"
          % NS_STREAMS).encode()
FEATURES = ("<stream:features><mechanisms xmlns='%s'><mechanism>PLAIN"
            "</mechanism></mechanisms></stream:features>" % NS_SASL).encode()
BOUND = (b"<stream:features><bind xmlns='urn:ietf:params:xml:ns:"
         b"xmpp-bind'/></stream:features>")
LOGIN_LIMIT_S = 60
LOGIN_MAX = 65536


def read_to(c, token, path):
    """Bytes up to and including token, read one at a time, so that
    nothing after it (the relay's first bytes) is taken; bounded."""
    buf = b""
    while not buf.endswith(token):
        if len(buf) > LOGIN_MAX:
            fail(path, f"login: no {token!r} in {LOGIN_MAX} bytes")
        d = c.recv(1)
        if not d:
            fail(path, f"login: end of file before {token!r}: {buf[-200:]!r}")
        buf += d
    return buf


def listen_login(port, path):
    """One connection on 127.0.0.1:port, logged in: it becomes fds 0, 1."""
    lst = socket.socket()
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lst.bind(("127.0.0.1", port))
    lst.listen(1)
    lst.settimeout(LOGIN_LIMIT_S)
    c, _ = lst.accept()
    lst.close()
    c.settimeout(LOGIN_LIMIT_S)
    read_to(c, b"<stream:stream", path)
    read_to(c, b">", path)
    c.sendall(HEADER + FEATURES)
    read_to(c, b"</auth>", path)
    c.sendall(("<success xmlns='%s'/>" % NS_SASL).encode())
    read_to(c, b"<stream:stream", path)
    read_to(c, b">", path)
    c.sendall(HEADER + BOUND)
    c.settimeout(None)
    os.dup2(c.fileno(), 0)
    os.dup2(c.fileno(), 1)
    c.close()


def main():
    args = sys.argv[1:]
    port = None
    if args[:1] == ["--listen"] and len(args) >= 2:
        port, args = int(args[1]), args[2:]
    if len(args) not in (2, 3):
        sys.exit("usage: relay_backend.py [--listen PORT] RESULTFILE BYTES "
                 "[DELAY]")
    path, total = args[0], int(args[1])
    delay = float(args[2]) if len(args) == 3 else 0.0
    signal.signal(signal.SIGALRM, lambda *_: fail(
        path, f"time limit ({TIME_LIMIT_S} s) reached"))
    signal.alarm(TIME_LIMIT_S)
    if port is not None:
        listen_login(port, path)
    r, w = Half(), Half()
    first = threading.Event()
    if port is None:
        first.set()
    t = threading.Thread(target=reader, args=(r, first), daemon=True)
    t.start()
    writer(w, total, delay, first)
    if w.error is not None:
        fail(path, w.error)     # the reader may never see its end
    t.join()
    err = r.error
    if err is None and not (r.done and w.done):
        err = "unfinished"
    if err is not None:
        fail(path, err)
    report(path, f"received={r.count} received_sha256={r.sha.hexdigest()}"
           f" sent={w.count} sent_sha256={w.sha.hexdigest()} eof=yes")


if __name__ == "__main__":
    main()
