#!/usr/bin/python3
"""A client of route mode by hand, for tests/t-route.sh.

    route_probe.py PORT DOMAIN error      the stream error xmppgate sends:
                                          prints "stream-error COND"
    route_probe.py PORT DOMAIN starttls   the header in two pieces, a
                                          pause between, then <starttls/>
                                          in the same write as the
                                          header's end: prints "proceed"
                                          when the backend said so

Every wait is bounded (tests/xmpp_raw.py's until()).
"""
import re
import socket
import sys
import time

from xmpp_raw import header, until, TLS_NS


def main():
    port, domain, what = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    conn = socket.create_connection(("127.0.0.1", port), timeout=30)
    if what == "error":
        conn.sendall(header(domain))
        buf = until(conn, b"</stream:stream>", timeout=20, eof_ok=True)
        m = re.search(rb"<stream:error><([a-z-]+)", buf)
        print("stream-error %s" % (m.group(1).decode() if m else
                                   "none: %r" % buf))
        return
    h = header(domain)
    conn.sendall(h[:40])
    time.sleep(0.3)
    conn.sendall(h[40:] + b"<starttls xmlns='" + TLS_NS + b"'/>")
    buf = until(conn, b"<proceed", b"<failure", b"</stream:stream>",
                timeout=20, eof_ok=True)
    print("proceed" if b"<proceed" in buf else "no proceed: %r" % buf)


if __name__ == "__main__":
    main()
