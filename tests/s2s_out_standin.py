#!/usr/bin/python3
"""A stand-in for `xmppgate --s2s-out` behind contrib/mod_xmppgate_s2s.lua,
for tests/t-s2s-out-module.sh, and a plain c2s client that makes Prosody
open an outgoing s2s stream.

    s2s_out_standin.py gate PORT READYFILE --mode MODE [--timeout S]
        Listen on 127.0.0.1:PORT (then create READYFILE), accept one
        connection from Prosody, read its stream header, answer as MODE:
          external    PROXY v2 with TLV 0xE0 = the stream's to, a stream
                      header and an empty <stream:features/>, then read
          dialback    PROXY v2 without TLV 0xE0, features with dialback
          split       as external, the header in three writes 0.2 s apart
          wrong-auth  PROXY v2 with TLV 0xE0 = c.test
          wrong-authority  TLV 0x02 = c.test
          local       LOCAL, a stream header and a <stream:error>
          local-features  LOCAL, then stream features (a broken gate)
          none        no PROXY header: the stream header at once
          silent      nothing at all
          forge       as dialback, then (as a remote could, through the
                      relay) features offering EXTERNAL mid-stream and
                      <success/> to Prosody's <auth/>: must not
                      authenticate the stream (only TLV 0xE0 may)
        then read until Prosody closes or --timeout.  Prints "key value"
        lines: backend-header (the backend's stream header), message
        (yes when a <message> arrived), db-result (yes when <db:result>
        arrived), closed (yes when Prosody closed the connection).

    s2s_out_standin.py send PORT JID PASSWORD TO [--timeout S]
        Log in over plain c2s (PLAIN; Prosody allows it in the test), send
        TO a chat message and wait for an error reply.  Prints "error
        CONDITION TEXT" or "error -".

Every wait is bounded by --timeout.
"""
import argparse
import base64
import re
import socket
import struct
import sys
import time

SIG = b"\r\n\r\n\x00\r\nQUIT\n"
REMOTE_SRC = ("192.0.2.8", 5269)


def tlv(typ, value):
    return struct.pack("!BH", typ, len(value)) + value


def proxy_v2(local_addr, authority, auth):
    body = socket.inet_aton(REMOTE_SRC[0]) + socket.inet_aton(local_addr[0])
    body += struct.pack("!HH", REMOTE_SRC[1], local_addr[1])
    body += tlv(0x02, authority.encode())
    if auth is not None:
        body += tlv(0xE0, auth.encode())
    return SIG + bytes([0x21, 0x11]) + struct.pack("!H", len(body)) + body


def local_v2():
    return SIG + bytes([0x20, 0x00]) + struct.pack("!H", 0)


def read_until(sock, buf, pattern, deadline):
    """Read until pattern (a compiled bytes regex) matches buf; returns
    (match or None, buf, closed)."""
    while True:
        m = pattern.search(buf)
        if m:
            return m, buf, False
        left = deadline - time.monotonic()
        if left <= 0:
            return None, buf, False
        sock.settimeout(left)
        try:
            data = sock.recv(65536)
        except socket.timeout:
            return None, buf, False
        except ConnectionResetError:
            return None, buf, True
        if not data:
            return None, buf, True
        buf += data


def attr(header, name):
    m = re.search(rb"\s" + name.encode() + rb"=(['\"])([^'\"]*)\1", header)
    return m.group(2).decode() if m else ""


def gate(args):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", args.port))
    srv.listen(1)
    open(args.readyfile, "w").close()
    deadline = time.monotonic() + args.timeout
    srv.settimeout(args.timeout)
    try:
        conn, _ = srv.accept()
    except socket.timeout:
        print("backend-header -")
        return 1
    srv.close()
    m, buf, closed = read_until(conn, b"", re.compile(rb"<stream:stream[^>]*>"), deadline)
    if not m:
        print("backend-header -")
        return 1
    header = m.group(0)
    print("backend-header " + header.decode(errors="replace"))
    frm, to = attr(header, "from"), attr(header, "to")
    local = conn.getsockname()
    stream = ("<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
              "xmlns:stream='http://etherx.jabber.org/streams' "
              "xmlns:db='jabber:server:dialback' from='%s' to='%s' "
              "id='standin-1' version='1.0'>" % (to, frm)).encode()
    mode = args.mode
    if mode in ("external", "split"):
        out = proxy_v2(local, to, to) + stream + b"<stream:features/>"
    elif mode == "dialback":
        out = proxy_v2(local, to, None) + stream + (
            b"<stream:features><dialback xmlns='urn:xmpp:features:dialback'/>"
            b"</stream:features>")
    elif mode == "wrong-auth":
        out = proxy_v2(local, to, "c.test") + stream + b"<stream:features/>"
    elif mode == "wrong-authority":
        out = proxy_v2(local, "c.test", to) + stream + b"<stream:features/>"
    elif mode == "local":
        out = local_v2() + stream + (
            b"<stream:error><remote-connection-failed "
            b"xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
            b"<text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>"
            b"a.test: no address (NXDOMAIN)</text></stream:error>")
    elif mode == "local-features":
        out = local_v2() + stream + (
            b"<stream:features><dialback xmlns='urn:xmpp:features:dialback'/>"
            b"</stream:features>")
    elif mode == "forge":
        out = proxy_v2(local, to, None) + stream + (
            b"<stream:features><dialback xmlns='urn:xmpp:features:dialback'/>"
            b"</stream:features>"
            b"<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
            b"<mechanism>EXTERNAL</mechanism></mechanisms></stream:features>")
    elif mode == "none":
        out = stream + b"<stream:features/>"
    else:
        out = b""
    if mode == "split":
        for piece in (out[:7], out[7:20], out[20:]):
            conn.sendall(piece)
            time.sleep(0.2)
    elif out:
        conn.sendall(out)
    # Read whatever Prosody sends until it closes or the time is up.
    rest = buf[m.end():]
    if mode == "forge":
        m2, rest, closed = read_until(conn, rest, re.compile(rb"<auth[\s>]"), deadline)
        print("auth " + ("yes" if m2 else "no"))
        if m2:
            conn.sendall(b"<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>")
            m3, rest, closed = read_until(conn, rest[m2.end():],
                                          re.compile(rb"<stream:stream[^>]*>"), deadline)
            if m3:
                conn.sendall(stream + b"<stream:features/>")
                rest = rest[m3.end():]
    pat = re.compile(rb"</stream:stream>")
    _, rest, closed = read_until(conn, rest, pat, deadline)
    if not closed:
        # After </stream:stream>, or at the deadline: a moment for the close.
        _, rest, closed = read_until(conn, rest, re.compile(rb"(?!x)x"),
                                     min(deadline, time.monotonic() + 1))
    print("message " + ("yes" if re.search(rb"<message[\s>]", rest) else "no"))
    print("db-result " + ("yes" if re.search(rb"<db:result[\s>]", rest) else "no"))
    print("closed " + ("yes" if closed else "no"))
    print("received %r" % rest[:400])
    conn.close()
    return 0


def send(args):
    deadline = time.monotonic() + args.timeout
    user, domain = args.jid.split("@", 1)
    s = socket.create_connection(("127.0.0.1", args.port), timeout=args.timeout)
    opener = ("<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
              "xmlns:stream='http://etherx.jabber.org/streams' to='%s' "
              "version='1.0'>" % domain).encode()
    features = re.compile(rb"</stream:features>")
    s.sendall(opener)
    m, buf, _ = read_until(s, b"", features, deadline)
    if not m:
        print("error no-features")
        return 1
    cred = base64.b64encode(b"\0" + user.encode() + b"\0" + args.password.encode())
    s.sendall(b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>"
              + cred + b"</auth>")
    m, buf, _ = read_until(s, buf[m.end():], re.compile(rb"<success|<failure"), deadline)
    if not m or m.group(0) != b"<success":
        print("error login-failed")
        return 1
    s.sendall(opener)
    m, buf, _ = read_until(s, b"", features, deadline)
    s.sendall(b"<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>")
    m, buf, _ = read_until(s, buf, re.compile(rb"id='b1'.*?</iq>|id=\"b1\".*?</iq>", re.S), deadline)
    if not m:
        print("error bind-failed")
        return 1
    buf = buf[m.end():]
    s.sendall(("<message type='chat' id='m1' to='%s'><body>hello through xmppgate</body>"
               "</message>" % args.to).encode())
    m, buf, _ = read_until(s, buf, re.compile(rb"<message[^>]*type=['\"]error['\"].*?</message>", re.S),
                           deadline)
    if not m:
        print("error -")
    else:
        err = m.group(0)
        cond = re.search(rb"<([a-z-]+) xmlns=['\"]urn:ietf:params:xml:ns:xmpp-stanzas['\"]", err)
        text = re.search(rb"<text[^>]*>([^<]*)</text>", err)
        print("error %s %s" % (cond.group(1).decode() if cond else "?",
                               text.group(1).decode() if text else "-"))
    s.close()
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gate")
    g.add_argument("port", type=int)
    g.add_argument("readyfile")
    g.add_argument("--mode", required=True)
    g.add_argument("--timeout", type=float, default=10)
    c = sub.add_parser("send")
    c.add_argument("port", type=int)
    c.add_argument("jid")
    c.add_argument("password")
    c.add_argument("to")
    c.add_argument("--timeout", type=float, default=10)
    args = p.parse_args()
    return gate(args) if args.cmd == "gate" else send(args)


if __name__ == "__main__":
    sys.exit(main())
