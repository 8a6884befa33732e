#!/usr/bin/python3
"""A sender of hand-offs to xmppgate-relay(8), for tests/t-relayd.sh.

It plays the per-connection process: it makes a "client" and a "backend"
TCP connection over loopback (the test holds the far end of each), hands
the near ends to the relay (one SOCK_SEQPACKET datagram, the message and
the fds by SCM_RIGHTS), prints the relay's answer and closes its copies,
as xmppgate --relay does after "OK".  Every wait is bounded.

  relayd_send.py SOCK answer CASE      one hand-off; prints the answer
        (CASE: good, bad, one, three, pipe, long, none)
  relayd_send.py SOCK flow MIB         a session; MIB each way, checked
  relayd_send.py SOCK idle SECONDS     a session with idle=SECONDS that
        must be ended by the relay (EOF at both far ends) in time
  relayd_send.py SOCK hold N READY     N idle sessions; READY is written
        once all are held; waits (bounded) until the relay ends them all
  relayd_send.py SOCK stall MIB READY [N [GO]]  N sessions (default 1)
        whose backends never read; writes to each until it blocks,
        touches READY, (waits, bounded, until the file GO exists,) then
        checks that another session moves MIB each way meanwhile
  relayd_send.py SOCK linger          client sockets with SO_LINGER
        {1, 20 s} and bytes their peer does not read: one in a refused
        hand-off, one in a session that the idle timeout ends; prints how
        long the relay took to answer the next hand-off after each
  relayd_send.py SOCK blockflag       a session whose sender keeps a copy
        of the client socket and clears O_NONBLOCK on it after "OK";
        checks that a byte still moves and the next hand-off is answered
  relayd_send.py SOCK silent          connects and sends nothing; prints
        how long until the relay closed the connection
  relayd_send.py SOCK knock N         N hand-offs in a row; prints how
        many were closed without an answer
"""
import fcntl
import hashlib
import os
import select
import socket
import struct
import sys
import threading
import time

RX, TX, AGE = 1000, 2000, 1500
FIELDS = ("client=127.0.0.1:4242 domain=example.org user=alice "
          "backend=127.0.0.1:5322")
MSG_ID = [0]


def message(idle=0):
    MSG_ID[0] += 1
    return ("XGRELAY1 id=%x rx=%d tx=%d age=%d idle=%d\n%s" %
            (0xa0000 + MSG_ID[0] + os.getpid() * 0x10000, RX, TX, AGE, idle,
             FIELDS)).encode()


def pair(listener):
    """A connected TCP pair over loopback: (near, far)."""
    near = socket.create_connection(listener.getsockname(), timeout=10)
    far, _ = listener.accept()
    far.settimeout(60)
    return near, far


def handoff(path, data, fds):
    """One hand-off: the relay's answer, or '' when it closed without one."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(10)
    try:
        s.connect(path)
    except OSError as e:
        s.close()
        return "(cannot connect: %s)" % e.strerror
    try:
        socket.send_fds(s, [data], fds)
        ans = s.recv(256)
    except (ConnectionResetError, BrokenPipeError):
        ans = b""
    s.close()
    return ans.decode(errors="replace")


class Session:
    """A client pair and a backend pair, the near ends handed over."""

    def __init__(self, path, listener, idle=0):
        cn, self.client = pair(listener)
        bn, self.backend = pair(listener)
        self.answer = handoff(path, message(idle), [cn.fileno(), bn.fileno()])
        # The sender's copies go, as xmppgate's do after "OK".
        cn.close()
        bn.close()

    def close(self):
        self.client.close()
        self.backend.close()


def listener():
    l = socket.socket()
    l.bind(("127.0.0.1", 0))
    l.listen(1024)
    l.settimeout(10)
    return l


def pump(src, dst, nbytes, seed, out):
    """src sends nbytes (then SHUT_WR); dst reads to EOF: out[seed]."""
    sent = hashlib.sha256()
    got = hashlib.sha256()
    res = {}

    def send():
        block = hashlib.sha256(seed.encode()).digest() * 2048  # 64 KiB
        n = 0
        while n < nbytes:
            chunk = block[: min(len(block), nbytes - n)]
            src.sendall(chunk)
            sent.update(chunk)
            n += len(chunk)
        src.shutdown(socket.SHUT_WR)

    def recv():
        n = 0
        while True:
            b = dst.recv(65536)
            if not b:
                break
            got.update(b)
            n += len(b)
        res["n"] = n

    t1 = threading.Thread(target=send)
    t2 = threading.Thread(target=recv)
    t1.start()
    t2.start()
    t1.join(120)
    t2.join(120)
    out[seed] = (res.get("n"), sent.hexdigest() == got.hexdigest())


def flow(path, mib, l=None):
    l = l or listener()
    s = Session(path, l)
    print("answer", s.answer, flush=True)
    if s.answer != "OK":
        return 1
    n = mib * 1024 * 1024
    out = {}
    a = threading.Thread(target=pump, args=(s.client, s.backend, n, "c2b", out))
    b = threading.Thread(target=pump, args=(s.backend, s.client, n, "b2c", out))
    a.start()
    b.start()
    a.join(150)
    b.join(150)
    ok = True
    for k in ("c2b", "b2c"):
        got, same = out.get(k, (None, False))
        print(k, "bytes", got, "sha256", "same" if same else "DIFFERENT",
              flush=True)
        ok = ok and got == n and same
    s.close()
    print("expect rx=%d tx=%d" % (RX + n, TX + n), flush=True)
    return 0 if ok else 1


def answer(path, case):
    l = listener()
    cn, cf = pair(l)
    bn, bf = pair(l)
    fds = [cn.fileno(), bn.fileno()]
    data = message()
    r, w = os.pipe()
    if case == "bad":
        data = b"hello relay"
    elif case == "long":
        data = data + b"x" * 2000
    elif case == "one":
        fds = fds[:1]
    elif case == "three":
        fds = fds + [r]
    elif case == "pipe":
        fds = [r, bn.fileno()]
    elif case == "none":
        fds = []
    print(handoff(path, data, fds) or "(closed without an answer)",
          flush=True)
    return 0


def idle(path, secs):
    l = listener()
    s = Session(path, l, idle=secs)
    print("answer", s.answer, flush=True)
    t0 = time.monotonic()
    for end in (s.client, s.backend):
        end.settimeout(secs + 10)
        if end.recv(1) != b"":
            print("data on an idle session")
            return 1
    print("ended after %.1f s" % (time.monotonic() - t0), flush=True)
    return 0


def hold(path, n, ready):
    l = listener()
    ss = [Session(path, l) for _ in range(n)]
    bad = [s.answer for s in ss if s.answer != "OK"]
    print("held", n - len(bad), "refused", len(bad), flush=True)
    open(ready, "w").close()
    ends = [e for s in ss for e in (s.client, s.backend)]
    left = set(ends)
    t0 = time.monotonic()
    while left and time.monotonic() - t0 < 60:
        r, _, _ = select.select(list(left), [], [], 1)
        for e in r:
            if e.recv(1) == b"":
                left.discard(e)
            else:
                print("data on an idle session")
                return 1
    print("ended", len(ends) - len(left), "of", len(ends), "ends",
          flush=True)
    return 0 if not bad and not left else 1


def stall_one(path, l):
    """A session whose backend never reads, written to until it blocks."""
    s = Session(path, l)
    print("stalled session", s.answer, flush=True)
    s.client.setblocking(False)
    total, last = 0, time.monotonic()
    chunk = b"s" * 65536
    while time.monotonic() - last < 1.5 and total < 512 * 1024 * 1024:
        _, w, _ = select.select([], [s.client], [], 0.5)
        if not w:
            continue
        try:
            total += s.client.send(chunk)
            last = time.monotonic()
        except BlockingIOError:
            pass
    return s, total


def stall(path, mib, ready, n=1, go=None):
    l = listener()
    held = []
    for _ in range(n):
        s, total = stall_one(path, l)
        held.append(s)
        print("stalled after", total, "bytes", flush=True)
    open(ready, "w").close()
    t0 = time.monotonic()
    while go and not os.path.exists(go) and time.monotonic() - t0 < 30:
        time.sleep(0.1)
    rc = flow(path, mib, l)
    for s in held:
        s.close()
    return rc


def timed_handoff(path, l):
    """A fresh good hand-off: (answer, seconds until it came)."""
    cn, cf = pair(l)
    bn, bf = pair(l)
    t0 = time.monotonic()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(15)
    s.connect(path)
    socket.send_fds(s, [message()], [cn.fileno(), bn.fileno()])
    try:
        ans = s.recv(256).decode(errors="replace")
    except socket.timeout:
        ans = "(no answer)"
    dt = time.monotonic() - t0
    for x in (s, cn, cf, bn, bf):
        x.close()
    return ans, dt


def lingering(l):
    """A client pair whose near end has SO_LINGER {1, 20} and bytes
    queued that the far end never reads (so a close() would wait)."""
    near, far = pair(l)
    near.setblocking(False)
    total, t0 = 0, time.monotonic()
    while time.monotonic() - t0 < 3:
        try:
            total += near.send(b"x" * 65536)
        except BlockingIOError:
            break
    near.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                    struct.pack("ii", 1, 20))
    return near, far, total


def linger(path):
    l = listener()
    keep = []
    # A refused hand-off (three fds): the relay's copies are the last.
    near, far, total = lingering(l)
    bn, bf = pair(l)
    r, w = socket.socketpair()
    keep += [far, bf, w]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(15)
    s.connect(path)
    socket.send_fds(s, [message()], [near.fileno(), bn.fileno(), r.fileno()])
    # Ours closed before the answer: the relay's copies are the last.
    near.close()
    bn.close()
    r.close()
    ans = s.recv(256).decode(errors="replace")
    s.close()
    print("refused:", ans, "with", total, "bytes unsent", flush=True)
    ans, dt = timed_handoff(path, l)
    print("after the refusal: %s after %.1f s" % (ans, dt), flush=True)
    # A session with idle=1, ended by the sweep.
    near, far, total = lingering(l)
    bn, bf = pair(l)
    keep += [far, bf]
    ans = handoff(path, message(idle=1), [near.fileno(), bn.fileno()])
    near.close()
    bn.close()
    print("idle session:", ans, "with", total, "bytes unsent", flush=True)
    bf.settimeout(10)
    try:
        bf.recv(1)        # EOF: the sweep ended it (and closed the client)
    except socket.timeout:
        print("the idle session was not ended in 10 s", flush=True)
        return 1
    ans, dt = timed_handoff(path, l)
    print("after the idle end: %s after %.1f s" % (ans, dt), flush=True)
    for x in keep:
        x.close()
    return 0


def blockflag(path):
    l = listener()
    cn, cf = pair(l)
    bn, bf = pair(l)
    ans = handoff(path, message(), [cn.fileno(), bn.fileno()])
    print("answer", ans, flush=True)
    time.sleep(0.3)
    # cn is still ours: the same open file as the relay's copy.
    fl = fcntl.fcntl(cn.fileno(), fcntl.F_GETFL)
    fcntl.fcntl(cn.fileno(), fcntl.F_SETFL, fl & ~os.O_NONBLOCK)
    cf.sendall(b"x")      # the relay reads the client: it must not block
    bf.settimeout(5)
    try:
        got = bf.recv(10)
    except socket.timeout:
        got = b"(nothing)"
    print("backend got", got.decode(errors="replace"), flush=True)
    ans, dt = timed_handoff(path, l)
    print("next hand-off: %s after %.1f s" % (ans, dt), flush=True)
    fcntl.fcntl(cn.fileno(), fcntl.F_SETFL,
                fcntl.fcntl(cn.fileno(), fcntl.F_GETFL) & ~os.O_NONBLOCK)
    bf.sendall(b"y")      # the relay writes the client, reads it again
    cf.settimeout(5)
    try:
        got = cf.recv(10)
    except socket.timeout:
        got = b"(nothing)"
    print("client got", got.decode(errors="replace"), flush=True)
    ans, dt = timed_handoff(path, l)
    print("next hand-off: %s after %.1f s" % (ans, dt), flush=True)
    for x in (cn, cf, bn, bf):
        x.close()
    return 0


def silent(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(20)
    s.connect(path)
    t0 = time.monotonic()
    got = s.recv(256)
    print("closed after %.1f s%s" % (time.monotonic() - t0,
                                     ", answer %r" % got if got else ""),
          flush=True)
    return 0


def knock(path, n):
    l = listener()
    cn, _ = pair(l)
    bn, _ = pair(l)
    closed = sum(1 for _ in range(n)
                 if handoff(path, message(), [cn.fileno(), bn.fileno()]) == "")
    print("closed without an answer", closed, "of", n, flush=True)
    return 0


def main():
    path, cmd = sys.argv[1], sys.argv[2]
    args = sys.argv[3:]
    if cmd == "answer":
        return answer(path, args[0])
    if cmd == "flow":
        return flow(path, int(args[0]))
    if cmd == "idle":
        return idle(path, int(args[0]))
    if cmd == "hold":
        return hold(path, int(args[0]), args[1])
    if cmd == "stall":
        return stall(path, int(args[0]), args[1],
                     int(args[2]) if len(args) > 2 else 1,
                     args[3] if len(args) > 3 else None)
    if cmd == "linger":
        return linger(path)
    if cmd == "blockflag":
        return blockflag(path)
    if cmd == "silent":
        return silent(path)
    if cmd == "knock":
        return knock(path, int(args[0]))
    print("unknown command", cmd)
    return 2


if __name__ == "__main__":
    sys.exit(main())
