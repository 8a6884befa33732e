#!/usr/bin/python3
"""The backend's side of xmppgate --s2s-out, by hand, for tests/t-s2s-out.sh:
connect to PORT, send an outgoing s2s stream header (from FROM to TO), and
read what xmppgate answers: the PROXY v2 header, then its stream header
and either its features or a stream error.  Prints one line

    PROXY=proxy src=IP:PORT authority=DOMAIN authed=DOMAIN|- id=ID features=XML
    PROXY=local error=CONDITION text=TEXT

and exits 0 when the exchange was one of those two, 1 otherwise (with
what was read).  It stops at the features, where a backend would go on
(dialback, or stanzas after EXTERNAL).  Every wait is bounded by
--timeout.

usage: s2s_out_raw.py PORT --from DOMAIN --to DOMAIN [--timeout SECONDS]
"""
import argparse
import re
import socket
import struct
import sys
import time

SIG = b"\r\n\r\n\x00\r\nQUIT\n"

p = argparse.ArgumentParser()
p.add_argument("port", type=int)
p.add_argument("--from", dest="frm", required=True)
p.add_argument("--to", required=True)
p.add_argument("--host", default="127.0.0.1")
p.add_argument("--timeout", type=float, default=20.0)
args = p.parse_args()

deadline = time.monotonic() + args.timeout
s = socket.create_connection((args.host, args.port), timeout=args.timeout)
s.sendall(("<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
           "xmlns:stream='http://etherx.jabber.org/streams' "
           "xmlns:db='jabber:server:dialback' from='%s' to='%s' "
           "version='1.0'>" % (args.frm, args.to)).encode())
buf = b""


def bad(why):
    print("BAD %s: %r" % (why, buf[:400]))
    sys.exit(1)


def more():
    global buf
    left = deadline - time.monotonic()
    if left <= 0:
        bad("timeout")
    s.settimeout(left)
    try:
        d = s.recv(65536)
    except socket.timeout:
        bad("timeout")
    except OSError as e:
        bad("recv: %s" % e)
    if not d:
        return False
    buf += d
    return True


while len(buf) < 16:
    if not more():
        bad("closed before a PROXY header")
if buf[:12] != SIG:
    bad("no PROXY v2 signature")
vc, fam, ln = buf[12], buf[13], struct.unpack(">H", buf[14:16])[0]
while len(buf) < 16 + ln:
    if not more():
        bad("closed in the PROXY header")
body, buf = buf[16:16 + ln], buf[16 + ln:]
out = []
if vc == 0x20:
    out.append("PROXY=local")
    if fam != 0 or ln != 0:
        bad("LOCAL with an address")
elif vc == 0x21:
    out.append("PROXY=proxy")
    if fam == 0x11:
        sip = socket.inet_ntop(socket.AF_INET, body[0:4])
        sport = struct.unpack(">H", body[8:10])[0]
        tlv = body[12:]
    elif fam == 0x21:
        sip = socket.inet_ntop(socket.AF_INET6, body[0:16])
        sport = struct.unpack(">H", body[32:34])[0]
        tlv = body[36:]
    else:
        bad("family %#x" % fam)
    out.append("src=%s:%d" % (sip, sport))
    tlvs = {}
    while tlv:
        if len(tlv) < 3:
            bad("short TLV")
        t, n = tlv[0], struct.unpack(">H", tlv[1:3])[0]
        tlvs[t] = tlv[3:3 + n].decode()
        tlv = tlv[3 + n:]
    out.append("authority=%s" % tlvs.get(0x02, "-"))
    out.append("authed=%s" % tlvs.get(0xE0, "-"))
else:
    bad("version/command %#x" % vc)

# The stream header, then features or an error, then (for an error) the end.
while True:
    text = buf.decode("utf-8", "replace")
    hdr = re.search(r"<stream:stream [^>]*>", text)
    feat = re.search(r"<stream:features(/>|>.*?</stream:features>)", text, re.S)
    err = re.search(r"<stream:error><([a-z-]+) [^>]*/>(?:<text [^>]*>(.*?)</text>)?"
                    r"</stream:error>", text, re.S)
    if hdr and feat and vc == 0x21:
        m = re.search(r"\bid='([^']*)'", hdr.group(0))
        out.append("id=%s" % (m.group(1) if m else "-"))
        out.append("features=%s" % feat.group(0))
        break
    if hdr and err and vc == 0x20:
        out.append("error=%s" % err.group(1))
        out.append("text=%s" % (err.group(2) or ""))
        break
    if not more():
        bad("closed before features or a stream error")
print(" ".join(out))
s.close()
