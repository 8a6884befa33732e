"""Clients of a socket helper (xmppgate-auth(5), SOCKET HELPERS) for
tests/t-authsocket.sh, speaking the wire format directly:

    authsock_stall.py login PATH USER PASS [NAME=VALUE ...]
        one PLAIN request (the extra fields added), prints the answer's
        first line, or "closed" when the helper closed without a word;
    authsock_stall.py stall PATH N idle|trickle USER PASS [CLOSED]
        opens N connections that send nothing (idle) or one byte of a
        request a second (trickle) and holds them; meanwhile one login
        must be answered "accept" within 5 s, and every stalled
        connection (but at most CLOSED of them, default 0: those a
        helper may drop when more come than it reads at once) must
        still be open after that answer, so the login neither came
        after them nor waited for them.  Exit 0 and "ok N stalled,
        login in X s", else 1 with the reason;
    authsock_stall.py deadline PATH LIMIT
        trickles a request one byte every half second (a per-read
        timeout never fires) and wants the helper to close it within
        LIMIT seconds: the deadline is for the whole request.
"""
import socket
import sys
import threading
import time

BOUND = 5.0


def request(user, password, extra=()):
    fields = ["XMPPGATE_AUTH_VERSION=1", "AUTH_MECHANISM=PLAIN",
              "AUTH_USER=" + user, "AUTH_DOMAIN=example.org", "AUTH_ATTEMPT=1",
              "PROTO=TCP", "TCPREMOTEIP=127.0.0.1"] + list(extra)
    pw = password.encode()
    head = "".join(f + "\n" for f in fields)
    head += "AUTH_PASSWORD_LENGTH=%d\n\n" % len(pw)
    return head.encode() + pw


def login(path, user, password, extra=(), timeout=20):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    try:
        s.sendall(request(user, password, extra))
        s.shutdown(socket.SHUT_WR)
        got = b""
        while True:
            b = s.recv(4200)
            if not b:
                break
            got += b
    except (ConnectionResetError, BrokenPipeError):
        got = b""
    finally:
        s.close()
    return got.split(b"\n", 1)[0].decode("ascii", "replace") if got else "closed"


def still_open(s):
    """True when the helper has not closed s (no EOF, no reset)."""
    s.setblocking(False)
    try:
        return s.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


def stall(path, n, mode, user, password, may_close=0):
    conns = []
    for _ in range(n):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect(path)
        conns.append(s)
    stop = threading.Event()

    def trickle():
        data = request("mallory", "x")
        for i in range(30):
            if stop.wait(1.0):
                return
            for s in conns:
                try:
                    s.send(data[i:i + 1])
                except OSError:
                    pass

    if mode == "trickle":
        threading.Thread(target=trickle, daemon=True).start()
    time.sleep(1.2)     # the helper has them all, a trickled byte sent
    t0 = time.monotonic()
    answer = login(path, user, password, timeout=BOUND)
    took = time.monotonic() - t0
    stop.set()
    closed = sum(not still_open(s) for s in conns)
    for s in conns:
        s.close()
    if answer != "accept":
        sys.exit("the login while %d stalled: %r after %.2f s" % (n, answer, took))
    if took > BOUND:
        sys.exit("the login took %.2f s" % took)
    if closed > may_close:
        sys.exit("%d of the %d stalled connections were closed before the "
                 "login's answer: the test proves nothing" % (closed, n))
    print("ok %d %s stalled, login in %.2f s" % (n, mode, took))


def deadline(path, limit):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    data = request("mallory", "x")
    t0 = time.monotonic()
    i = 0
    while time.monotonic() - t0 < limit and i < len(data) - 1:
        try:
            s.send(data[i:i + 1])
        except OSError:
            break
        i += 1
        time.sleep(0.5)
        if not still_open(s):
            break
    took = time.monotonic() - t0
    if still_open(s):
        sys.exit("still open after %.1f s of trickling" % took)
    print("ok closed after %.1f s of trickling" % took)


if __name__ == "__main__":
    if sys.argv[1] == "login":
        print(login(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]))
    elif sys.argv[1] == "stall":
        stall(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6],
              int(sys.argv[7]) if len(sys.argv) > 7 else 0)
    elif sys.argv[1] == "deadline":
        deadline(sys.argv[2], float(sys.argv[3]))
    else:
        sys.exit("usage: see the docstring")
