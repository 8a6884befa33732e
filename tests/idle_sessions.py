#!/usr/bin/python3
"""Many idle logged-in XMPP sessions through xmppgate, for
tests/relay_uml_inner.sh (the sessions the relay holds).

    idle_sessions.py PORT CA DOMAIN USER PASSWORD N LIMIT

Opens N client sessions to 127.0.0.1:PORT, 8 at a time: STARTTLS
(the certificate checked against CA for DOMAIN), SASL PLAIN as USER, the
stream restart and a resource bound (idle-1 ... idle-N) with the server
behind xmppgate answering.  Then prints "held N" and waits for a line on
standard input; "check" pings every session once through its whole path
and prints "alive K" (K answered); end of input or "close" closes every
session with </stream:stream> and close_notify and prints "closed N".
Every wait is bounded: all logins together by LIMIT seconds, each read
by 30 s; an error prints "ERROR ..." and exits 1.
"""
import base64
import concurrent.futures
import socket
import ssl
import sys
import time

NS_TLS = "urn:ietf:params:xml:ns:xmpp-tls"
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind"
READ_LIMIT_S = 30
READ_MAX = 1 << 20
CONCURRENT = 8


def header(domain):
    return ("<?xml version='1.0'?><stream:stream to='%s' "
            "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/"
            "streams' version='1.0'>" % domain).encode()


def until(s, token):
    """Bytes read until token; bounded in time and size."""
    buf = b""
    end = time.monotonic() + READ_LIMIT_S
    while token not in buf:
        left = end - time.monotonic()
        if left <= 0 or len(buf) > READ_MAX:
            raise RuntimeError("no %r: %r" % (token, buf[-200:]))
        s.settimeout(left)
        d = s.recv(65536)
        if not d:
            raise RuntimeError("end of file before %r: %r"
                               % (token, buf[-200:]))
        buf += d
    return buf


def login(port, ctx, domain, user, password, i):
    raw = socket.create_connection(("127.0.0.1", port), timeout=READ_LIMIT_S)
    raw.sendall(header(domain))
    until(raw, b"</stream:features>")
    raw.sendall(("<starttls xmlns='%s'/>" % NS_TLS).encode())
    until(raw, b"<proceed")
    s = ctx.wrap_socket(raw, server_hostname=domain)
    s.sendall(header(domain))
    until(s, b"</stream:features>")
    plain = base64.b64encode(b"\0" + user.encode() + b"\0" +
                             password.encode()).decode()
    s.sendall(("<auth xmlns='%s' mechanism='PLAIN'>%s</auth>"
               % (NS_SASL, plain)).encode())
    if b"<success" not in until(s, b"success"):
        raise RuntimeError("login %d refused" % i)
    s.sendall(header(domain))
    until(s, b"</stream:features>")
    s.sendall(("<iq type='set' id='b%d'><bind xmlns='%s'><resource>idle-%d"
               "</resource></bind></iq>" % (i, NS_BIND, i)).encode())
    until(s, b"</iq>")
    return s


def main():
    if len(sys.argv) != 8:
        sys.exit(__doc__)
    port, ca, domain, user, password = (int(sys.argv[1]), sys.argv[2],
                                        sys.argv[3], sys.argv[4],
                                        sys.argv[5])
    n, limit = int(sys.argv[6]), float(sys.argv[7])
    ctx = ssl.create_default_context(cafile=ca)
    t0 = time.monotonic()
    # CONCURRENT logins at a time: one login alone leaves user-mode
    # Linux's one CPU idle about a fifth of the time (a wait of some 45 ms
    # after the TLS handshake, with Prosody alone too); 8 at once keep it
    # busy (16 measured no faster).
    slots = {}
    errors = []

    def one(i):
        if errors or time.monotonic() - t0 > limit:
            raise RuntimeError("time limit (%g s) reached" % limit)
        slots[i] = login(port, ctx, domain, user, password, i)

    with concurrent.futures.ThreadPoolExecutor(CONCURRENT) as ex:
        futs = {ex.submit(one, i): i for i in range(1, n + 1)}
        for f in concurrent.futures.as_completed(futs):
            if f.exception() is not None and not errors:
                errors.append("login %d: %s" % (futs[f], f.exception()))
    if errors:
        print("ERROR %s (%d of %d logged in)" % (errors[0], len(slots), n),
              flush=True)
        sys.exit(1)
    held = [slots[i] for i in sorted(slots)]
    print("held %d in %.1f s" % (len(held), time.monotonic() - t0),
          flush=True)
    for line in sys.stdin:
        if line.strip() == "check":
            alive = 0
            for i, s in enumerate(held):
                try:
                    s.sendall(("<iq type='get' id='p%d'><ping xmlns='urn:"
                               "xmpp:ping'/></iq>" % i).encode())
                    until(s, b"'p%d'" % i)
                    alive += 1
                except Exception as e:  # noqa: BLE001 - counted
                    print("session %d: %s" % (i + 1, e), flush=True)
            print("alive %d" % alive, flush=True)
        else:
            break
    closed = 0
    for s in held:
        try:
            s.settimeout(5)
            s.sendall(b"</stream:stream>")
            s.unwrap()
        except Exception:  # noqa: BLE001 - a cut session still closes
            pass
        s.close()
        closed += 1
    print("closed %d" % closed, flush=True)


if __name__ == "__main__":
    main()
