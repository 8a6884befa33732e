#!/usr/bin/python3
"""A stand-in for xmppgate in front of contrib/mod_xmppgate_s2s.lua, for
tests/t-s2s-module.sh: connect to the module's PROXY v2 port, send a PROXY
v2 header (or not, or a broken one) and a jabber:server stream header, and
report what came back.

    s2s_proxy_probe.py PORT [options]

    --source ADDR       bind the client socket to ADDR first (127.0.0.2 is
                        loopback too, but not a trusted peer by default)
    --header MODE       proxy (default) | none (XML first) | bad-signature |
                        too-long (length field 0xffff) | truncated (10
                        bytes of a header, then nothing) | bad-tlv (a TLV
                        running past the end) | local (command LOCAL) |
                        unix (family UNIX stream)
    --src IP:PORT       the source address in the header (default
                        192.0.2.7:5555; an IPv6 address gives family TCP6;
                        "unspec" gives family UNSPEC, no addresses)
    --split             the PROXY header in three writes, 0.2 s apart
    --length N          pad the header with a NOOP TLV to length N
    --auth DOMAIN       TLV 0xE0 (xmppgate: DOMAIN authenticated)
    --authority DOMAIN  TLV 0x02 (default: the stream's to)
    --from F --to T     the stream header's from and to (b.test)
    --stanza XML        sent after the features; then read for --linger s
    --linger SECONDS    how long to wait for an answer to the stanza (1)
    --pipeline          send --stanza in the same write as the stream
                        header, without waiting for the features
    --wait-close SECONDS  at the end, how long to wait for the server to
                        close the connection (0.5)
    --timeout SECONDS   the limit for every other wait (10)

Output, one "key value" line each:
    header   the server's stream header, or "-"
    features the <stream:features> element, or "-"
    starttls yes|no           dialback yes|no
    error    CONDITION or "-" (a <stream:error>)
    text     the error's text, or "-"
    after    what came back after --stanza (repr), or "-"
    closed   yes when the server closed the connection (EOF or reset)
Every wait is bounded.
"""
import argparse
import ipaddress
import re
import socket
import struct
import sys
import time

SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def tlv(typ, value):
    return struct.pack("!BH", typ, len(value)) + value


def proxy_header(args):
    tlvs = tlv(0x02, (args.authority or args.to).encode())
    if args.auth is not None:
        tlvs += tlv(0xE0, args.auth.encode())
    if args.header == "unix":
        fam = 0x31
        addrs = b"/run/a".ljust(108, b"\0") + b"/run/b".ljust(108, b"\0")
    elif args.src == "unspec":
        fam, addrs = 0x00, b""
    else:
        host, _, port = args.src.rpartition(":")
        src = ipaddress.ip_address(host.strip("[]"))
        dst = ipaddress.ip_address("127.0.0.1" if src.version == 4 else "::1")
        fam = 0x11 if src.version == 4 else 0x21
        addrs = src.packed + dst.packed + struct.pack("!HH", int(port), 5269)
    body = addrs + tlvs
    if args.length is not None:
        # A NOOP TLV (0x04) makes the length field exactly args.length.
        body += tlv(0x04, b"\0" * (args.length - len(body) - 3))
    if args.header == "bad-tlv":
        body = addrs + struct.pack("!BH", 0xE0, 200) + b"a.test"
    length = 0xFFFF if args.header == "too-long" else len(body)
    h = SIG + bytes([0x20 if args.header == "local" else 0x21, fam]) + struct.pack("!H", length) + body
    if args.header == "bad-signature":
        h = b"\r\n\r\n\x00\r\nQUIZ\n" + h[12:]
    elif args.header == "truncated":
        h = h[:10]
    return h


def stream_header(args):
    return ("<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
            "xmlns:stream='http://etherx.jabber.org/streams' "
            "xmlns:db='jabber:server:dialback' version='1.0' "
            "from='%s' to='%s'>" % (args.frm, args.to)).encode()


class Reader:
    def __init__(self, conn):
        self.conn = conn
        self.buf = b""
        self.closed = False

    def until(self, pattern, seconds):
        """Read until pattern (a regex) matches, EOF, or seconds pass."""
        end = time.monotonic() + seconds
        while not re.search(pattern, self.buf, re.S) and not self.closed:
            left = end - time.monotonic()
            if left <= 0:
                return None
            self.conn.settimeout(left)
            try:
                d = self.conn.recv(65536)
            except socket.timeout:
                return None
            except (ConnectionResetError, BrokenPipeError):
                d = b""
            if not d:
                self.closed = True
            self.buf += d
        return re.search(pattern, self.buf, re.S)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("port", type=int)
    p.add_argument("--source")
    p.add_argument("--header", default="proxy",
                   choices=["proxy", "none", "bad-signature", "too-long",
                            "truncated", "bad-tlv", "local", "unix"])
    p.add_argument("--src", default="192.0.2.7:5555")
    p.add_argument("--split", action="store_true")
    p.add_argument("--length", type=int)
    p.add_argument("--pipeline", action="store_true")
    p.add_argument("--auth")
    p.add_argument("--authority")
    p.add_argument("--from", dest="frm", default="a.test")
    p.add_argument("--to", default="b.test")
    p.add_argument("--stanza")
    p.add_argument("--linger", type=float, default=1.0)
    p.add_argument("--wait-close", type=float, default=0.5)
    p.add_argument("--timeout", type=float, default=10.0)
    args = p.parse_args()

    conn = socket.create_connection(
        ("127.0.0.1", args.port), timeout=args.timeout,
        source_address=(args.source, 0) if args.source else None)
    r = Reader(conn)
    out = []
    try:
        ph = proxy_header(args) if args.header != "none" else b""
        sh = stream_header(args) if args.header != "truncated" else b""
        if args.pipeline and args.stanza:
            sh += args.stanza.encode()
        if args.split:
            # The PROXY header in three pieces, the stream header in the
            # same write as its last piece.
            for piece in (ph[:7], ph[7:20]):
                conn.sendall(piece)
                time.sleep(0.2)
            conn.sendall(ph[20:] + sh)
        else:
            conn.sendall(ph)
            if sh:
                conn.sendall(sh)
    except (ConnectionResetError, BrokenPipeError):
        r.closed = True

    r.until(rb"</stream:features>|</stream:stream>", args.timeout)
    m = re.search(rb"<stream:stream[^>]*>", r.buf)
    out.append(("header", m.group(0).decode() if m else "-"))
    m = re.search(rb"<stream:features.*?</stream:features>|<stream:features/>",
                  r.buf, re.S)
    feats = m.group(0).decode() if m else "-"
    out.append(("features", feats))
    out.append(("starttls", "yes" if "<starttls" in feats else "no"))
    out.append(("dialback", "yes" if "urn:xmpp:features:dialback" in feats
                else "no"))

    after = "-"
    if args.stanza and not args.pipeline and not r.closed and m:
        seen = len(r.buf)
        try:
            conn.sendall(args.stanza.encode())
        except (ConnectionResetError, BrokenPipeError):
            r.closed = True
        r.until(rb"</stream:stream>", args.linger)
        after = repr(r.buf[seen:])
    out.append(("after", after))

    # Whatever is still on its way (a stream error is followed by the close).
    if re.search(rb"<stream:error", r.buf):
        r.until(rb"</stream:stream>", args.timeout)
    m = re.search(rb"<stream:error><([a-z-]+)[^>]*?/?>(?:.*?<text[^>]*>(.*?)</text>)?",
                  r.buf, re.S)
    out.append(("error", m.group(1).decode() if m else "-"))
    out.append(("text", (m.group(2) or b"-").decode() if m else "-"))
    if not r.closed:
        # A closed connection reads EOF at once; an open one does not.
        r.until(rb"(?!)", args.wait_close)
    out.append(("closed", "yes" if r.closed else "no"))
    for k, v in out:
        print(k, v)
    try:
        conn.sendall(b"</stream:stream>")
    except OSError:
        pass
    conn.close()


if __name__ == "__main__":
    sys.exit(main())
