#!/usr/bin/python3
"""A recording TCP relay in front of a real backend, for tests/t-preopen.sh.

    preopen_proxy.py LISTEN_PORT TARGET_PORT EVENTS [kill-first|error-first]

Each connection to 127.0.0.1:LISTEN_PORT is relayed to 127.0.0.1:TARGET_PORT
both ways.  EVENTS gets one line when a connection opens ("open N") and one
when it ends ("close N header=yes|no auth=yes|no secs=S"): did xmppgate
send its stream header, did it send <auth> (the credentials), and how long
the connection lived.  With kill-first, connection 1 is cut as soon as its
stream header has been relayed (a backend that closed an idle connection);
with error-first, connection 1 gets a <stream:error/> after the backend's
features and is kept open, and nothing more is relayed to the backend (a
backend that ended an idle stream and waits for our close).
After 300 seconds SIGALRM ends it.
"""
import signal
import socket
import sys
import threading
import time

TIME_LIMIT_S = 300


def main():
    lport, tport, events = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    kill_first = len(sys.argv) > 4 and sys.argv[4] == "kill-first"
    error_first = len(sys.argv) > 4 and sys.argv[4] == "error-first"
    signal.alarm(TIME_LIMIT_S)
    lock = threading.Lock()
    out = open(events, "a", buffering=1)

    def note(line):
        with lock:
            out.write(line + "\n")

    def serve(n, c):
        start = time.monotonic()
        seen = {"header": False, "auth": False}
        b = socket.create_connection(("127.0.0.1", tport), timeout=30)
        done = threading.Event()
        cut = kill_first and n == 1
        ended = {"yes": False}      # error-first: the stream was ended

        def pump(src, dst, up):
            buf = b""
            try:
                while True:
                    d = src.recv(65536)
                    if not d:
                        break
                    if up:
                        buf = (buf + d)[-4096:]
                        seen["header"] |= b"<stream:stream" in buf
                        seen["auth"] |= b"<auth" in buf
                        if ended["yes"]:
                            continue
                    dst.sendall(d)
                    if not up and error_first and n == 1:
                        buf = (buf + d)[-4096:]
                        if b"</stream:features>" in buf:
                            ended["yes"] = True
                            dst.sendall(b"<stream:error><connection-timeout "
                                        b"xmlns='urn:ietf:params:xml:ns:"
                                        b"xmpp-streams'/></stream:error>")
                            continue
                    if up and cut and seen["header"]:
                        break
            except OSError:
                pass
            done.set()

        threading.Thread(target=pump, args=(c, b, True), daemon=True).start()
        threading.Thread(target=pump, args=(b, c, False), daemon=True).start()
        done.wait()
        for s in (c, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        note("close %d header=%s auth=%s secs=%.1f" % (
            n, "yes" if seen["header"] else "no",
            "yes" if seen["auth"] else "no", time.monotonic() - start))

    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", lport))
    ls.listen(16)
    n = 0
    while True:
        c, _ = ls.accept()
        n += 1
        note("open %d" % n)
        threading.Thread(target=serve, args=(n, c), daemon=True).start()


if __name__ == "__main__":
    main()
