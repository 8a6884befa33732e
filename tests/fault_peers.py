"""Peers that misbehave in ways a real server cannot be made to, for
tests/t-faults.sh.  Loopback only; every wait is bounded.

  fault_peers.py backend MODE PORT OUT [STALL BYTES]
      Listen on 127.0.0.1:PORT, serve one connection from xmppgate's
      connect mode, write what happened to OUT, exit.  MODE:
        silent       accept, read, never answer
        garbage      answer the stream header with an HTTP error
        close-login  a stream header and PLAIN offered; close on <auth>
        stall        log in (<success/>, the restart), then read nothing for STALL s,
                     then read BYTES bytes (or to the end) and close; OUT
                     gets "stalled-until T received N" (T on the
                     monotonic clock)
        newline      a server that ends each element with a newline and
                     opens each stream, the restart too, with <?xml?>;
                     after the restart it reads to </stream:stream> and
                     answers with its own 0.3 s later; OUT gets
                     "newline: relayed N"
  fault_peers.py client PORT CA BYTES
      Log in through xmppgate (STARTTLS, PLAIN alice/right), send BYTES
      bytes, then read until the backend's close comes through.
      Prints "login-at T sent-at T end=close_notify|eof" (monotonic).
  fault_peers.py logout PORT CA 1.2|1.3 bye|fin
      Log in through xmppgate with TLS 1.2 or 1.3, then send
      </stream:stream>, close_notify (bye; none: fin) and the TCP FIN in
      one go, without waiting for the answer.  Prints "logout TLSv1.x
      bye|fin".
  fault_peers.py newline-client PORT CA
      Log in as go-sendxmpp 0.5.6 (go-xmpp) does, byte for byte: every
      stream, the restarts too, opens with <?xml?>, and a newline follows
      each tag at stream level.  Prints "newline-client: features=bind".
"""
import base64
import os
import socket
import ssl
import sys
import time

NS_STREAMS = "http://etherx.jabber.org/streams"
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
HEADER = ("<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
          "xmlns:stream='%s' id='fault' from='example.test' version='1.0'>"
          % NS_STREAMS).encode()
FEATURES = ("<stream:features><mechanisms xmlns='%s'><mechanism>PLAIN"
            "</mechanism></mechanisms></stream:features>" % NS_SASL).encode()
# After the login, xmppgate restarts the stream itself and passes these on.
BOUND_FEATURES = (b"<stream:features><bind xmlns='urn:ietf:params:xml:ns:"
                  b"xmpp-bind'/></stream:features>")
LIMIT = 60  # seconds: no run of a case may take longer


def until(sock, token, buf=b""):
    """Read until token is in buf; fail on EOF or after LIMIT s."""
    end = time.monotonic() + LIMIT
    while token not in buf:
        if time.monotonic() > end:
            sys.exit("timed out waiting for %r: %r" % (token, buf[-200:]))
        d = sock.recv(65536)
        if not d:
            sys.exit("EOF waiting for %r: %r" % (token, buf[-200:]))
        buf += d
    return buf


def backend(mode, port, out, stall, want):
    lst = socket.socket()
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lst.bind(("127.0.0.1", port))
    lst.listen(1)
    lst.settimeout(LIMIT)
    c, _ = lst.accept()
    lst.close()
    c.settimeout(LIMIT)
    note = mode
    if mode == "silent":
        until(c, b"<stream:stream")
        # Hold the connection until xmppgate gives up (bounded).
        end = time.monotonic() + LIMIT
        while time.monotonic() < end and c.recv(4096):
            pass
        note = "silent: xmppgate closed"
    elif mode == "garbage":
        until(c, b"<stream:stream")
        c.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    elif mode == "close-login":
        until(c, b"<stream:stream")
        c.sendall(HEADER + FEATURES)
        until(c, b"</auth>")
        note = "close-login: closed on <auth>"
    elif mode == "stall":
        until(c, b"<stream:stream")
        c.sendall(HEADER + FEATURES)
        until(c, b"</auth>")
        c.sendall(("<success xmlns='%s'/>" % NS_SASL).encode())
        until(c, b"<stream:stream")
        c.sendall(HEADER + BOUND_FEATURES)
        time.sleep(stall)
        t = time.monotonic()
        n = 0
        while n < want:
            d = c.recv(1 << 20)
            if not d:
                break
            n += len(d)
        note = "stalled-until %.3f received %d" % (t, n)
    elif mode == "newline":
        until(c, b"<stream:stream")
        c.sendall(HEADER.replace(b"?>", b"?>\n") + b"\n" + FEATURES + b"\n")
        until(c, b"</auth>")
        c.sendall(("<success xmlns='%s'/>\n" % NS_SASL).encode())
        until(c, b"<stream:stream")
        c.sendall(HEADER.replace(b"?>", b"?>\n") + b"\n" +
                  BOUND_FEATURES + b"\n")
        got = until(c, b"</stream:stream>")
        # As a server that takes a moment: by then xmppgate has read
        # whatever the client sent with its closing tag.
        time.sleep(0.3)
        c.sendall(b"</stream:stream>\n")
        note = "newline: relayed %d" % len(got)
    c.close()
    with open(out, "w") as f:
        f.write(note + "\n")


def client(port, ca, nbytes):
    hdr = ("<?xml version='1.0'?><stream:stream to='example.test' "
           "xmlns='jabber:client' xmlns:stream='%s' version='1.0'>"
           % NS_STREAMS).encode()
    s = socket.create_connection(("127.0.0.1", port), timeout=LIMIT)
    s.sendall(hdr)
    until(s, b"</stream:features>")
    s.sendall(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
    until(s, b"<proceed")
    t = ssl.create_default_context(cafile=ca).wrap_socket(
        s, server_hostname="example.test")
    t.sendall(hdr)
    until(t, b"</stream:features>")
    t.sendall(("<auth xmlns='%s' mechanism='PLAIN'>%s</auth>" % (
        NS_SASL, base64.b64encode(b"\0alice\0right").decode())).encode())
    until(t, b"<success")
    t.sendall(hdr)
    until(t, b"</stream:features>")
    login = time.monotonic()
    chunk = b"x" * 65536
    left = nbytes
    while left > 0:
        t.sendall(chunk[:min(left, len(chunk))])
        left -= min(left, len(chunk))
    sent = time.monotonic()
    # The backend reads everything, then closes: xmppgate passes that on
    # as close_notify.
    end = "eof"
    try:
        while t.recv(65536):
            pass
        end = "close_notify"
    except (ssl.SSLEOFError, ConnectionResetError):
        pass
    print("login-at %.3f sent-at %.3f end=%s" % (login, sent, end))


# What go-sendxmpp 0.5.6 (go-xmpp) writes, byte for byte.
GO_HDR = ("<?xml version='1.0'?>\n<stream:stream to='example.test' "
          "xmlns='jabber:client' xmlns:stream='%s' version='1.0'>\n"
          % NS_STREAMS).encode()


def newline_client(port, ca):
    s = socket.create_connection(("127.0.0.1", port), timeout=LIMIT)
    s.sendall(GO_HDR)
    until(s, b"</stream:features>")
    s.sendall(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>\n")
    until(s, b"<proceed")
    t = ssl.create_default_context(cafile=ca).wrap_socket(
        s, server_hostname="example.test")
    t.sendall(GO_HDR)
    until(t, b"</stream:features>")
    t.sendall(("<auth xmlns='%s' mechanism='PLAIN'>%s</auth>\n" % (
        NS_SASL, base64.b64encode(b"\0alice\0right").decode())).encode())
    got = until(t, b"<success")
    t.sendall(GO_HDR)
    got = until(t, b"</stream:features>", got)
    if b"<failure" in got or b"<stream:error" in got:
        sys.exit("refused: %r" % got[-300:])
    feats = "bind" if b"xmpp-bind" in got else "none"
    t.sendall(b"</stream:stream>\n")
    until(t, b"</stream:stream>")
    t.unwrap()
    print("newline-client: features=%s" % feats)


def logout(port, ca, version, how):
    """Log in over TLS 1.2 or 1.3 (memory BIOs), then log out at once,
    as a client that does not wait for the server's closing tag: send
    </stream:stream>, close_notify (how "bye"; none for "fin") and the
    TCP FIN together.  Prints "logout TLSv1.x HOW"."""
    hdr = ("<?xml version='1.0'?><stream:stream to='example.test' "
           "xmlns='jabber:client' xmlns:stream='%s' version='1.0'>"
           % NS_STREAMS).encode()
    s = socket.create_connection(("127.0.0.1", port), timeout=LIMIT)
    s.sendall(hdr)
    until(s, b"</stream:features>")
    s.sendall(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
    until(s, b"<proceed")
    ctx = ssl.create_default_context(cafile=ca)
    ctx.minimum_version = ctx.maximum_version = (
        ssl.TLSVersion.TLSv1_2 if version == "1.2" else ssl.TLSVersion.TLSv1_3)
    inc, outg = ssl.MemoryBIO(), ssl.MemoryBIO()
    t = ctx.wrap_bio(inc, outg, server_hostname="example.test")

    def flush():
        d = outg.read()
        if d:
            s.sendall(d)

    def pull():
        d = s.recv(65536)
        if not d:
            inc.write_eof()
            return False
        inc.write(d)
        return True

    def step(fn, *a):
        while True:
            try:
                r = fn(*a)
                flush()
                return r
            except ssl.SSLWantReadError:
                flush()
                if not pull():
                    raise

    def read_until(token):
        buf = b""
        end = time.monotonic() + LIMIT
        while token not in buf:
            if time.monotonic() > end:
                sys.exit("timed out waiting for %r" % token)
            buf += step(t.read, 65536)
        return buf

    step(t.do_handshake)
    step(t.write, hdr)
    read_until(b"</stream:features>")
    step(t.write, ("<auth xmlns='%s' mechanism='PLAIN'>%s</auth>" % (
        NS_SASL, base64.b64encode(b"\0alice\0right").decode())).encode())
    read_until(b"<success")
    step(t.write, hdr)
    read_until(b"</stream:features>")
    # The closing tag and close_notify: one write to the socket.
    # The closing tag, close_notify unless how is "fin", and the TCP
    # close: one write, then the socket is closed without reading on.
    t.write(b"</stream:stream>")
    if how == "bye":
        try:
            t.unwrap()
        except ssl.SSLWantReadError:
            pass
    s.sendall(outg.read())
    s.shutdown(socket.SHUT_WR)
    print("logout %s %s" % (t.version(), how))
    # The rest of what xmppgate sends is not read; a little time for it
    # to arrive, so that our close is not a reset before it does.
    time.sleep(0.5)
    s.close()


def main():
    if len(sys.argv) >= 5 and sys.argv[1] == "backend":
        backend(sys.argv[2], int(sys.argv[3]), sys.argv[4],
                float(sys.argv[5]) if len(sys.argv) > 5 else 0,
                int(sys.argv[6]) if len(sys.argv) > 6 else 0)
    elif len(sys.argv) == 5 and sys.argv[1] == "client":
        client(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
    elif len(sys.argv) == 4 and sys.argv[1] == "newline-client":
        newline_client(int(sys.argv[2]), sys.argv[3])
    elif len(sys.argv) == 6 and sys.argv[1] == "logout":
        logout(int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
