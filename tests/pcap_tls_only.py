#!/usr/bin/python3
"""Nothing but TLS between two front doors, for tests/t-s2s-out.sh.

Reads a capture (tcpdump -w, IPv4 on loopback) and, for every TCP
connection to one of PORTS, puts each direction's bytes back in order.
Each direction must be an XMPP server-to-server STARTTLS preamble and
then TLS records to its very end:

  initiator:  [<?xml ...?>]<stream:stream ...><starttls xmlns=.../>
  receiver:   [<?xml ...?>]<stream:stream ...><stream:features>...
              </stream:features><proceed xmlns=.../>

with no other element in the plaintext (no stanza, no dialback, no SASL),
followed by records whose type is 20 to 23, whose version is 3.x and whose
length is at most 2^14 + 256, which end exactly where the direction ends.
A connection that ends before its TLS starts fails too.  Prints one line
per connection and exits 0 only when there was at least --min of them
and every one passed.

usage: pcap_tls_only.py FILE PORT [PORT ...] [--min N]
"""
import argparse
import re
import struct
import sys

p = argparse.ArgumentParser()
p.add_argument("file")
p.add_argument("ports", type=int, nargs="+")
p.add_argument("--min", type=int, default=1)
args = p.parse_args()

data = open(args.file, "rb").read()
if len(data) < 24:
    sys.exit("pcap_tls_only: %s: not a capture" % args.file)
magic = data[:4]
if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
    end = "<"
elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
    end = ">"
else:
    sys.exit("pcap_tls_only: %s: not a pcap file" % args.file)
linktype = struct.unpack(end + "I", data[20:24])[0]
LINK = {0: 4, 1: 14, 113: 16, 276: 20}
if linktype not in LINK:
    sys.exit("pcap_tls_only: link type %d not handled" % linktype)

# (src, sport, dst, dport) -> {seq: payload}, and the first SYN's seq.
segs = {}
isn = {}
off = 24
while off + 16 <= len(data):
    incl = struct.unpack(end + "I", data[off + 8:off + 12])[0]
    pkt = data[off + 16:off + 16 + incl]
    off += 16 + incl
    ip = pkt[LINK[linktype]:]
    if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 6:
        continue
    ihl = (ip[0] & 15) * 4
    total = struct.unpack(">H", ip[2:4])[0]
    tcp = ip[ihl:total]
    if len(tcp) < 20:
        continue
    sport, dport, seq = struct.unpack(">HHI", tcp[:8])
    flags = tcp[13]
    doff = (tcp[12] >> 4) * 4
    key = (ip[12:16], sport, ip[16:20], dport)
    if sport not in args.ports and dport not in args.ports:
        continue
    if flags & 0x02:		# SYN: the payload starts at seq + 1
        isn[key] = seq + 1
        segs.setdefault(key, {})
        continue
    payload = tcp[doff:]
    if payload:
        segs.setdefault(key, {}).setdefault(seq, payload)


def stream(key):
    """The direction's bytes in order; None if a piece is missing."""
    out = b""
    nxt = isn.get(key)
    if nxt is None:
        return None
    pieces = segs.get(key, {})
    while True:
        got = False
        for seq, payload in pieces.items():
            d = (nxt - seq) & 0xFFFFFFFF
            if d < len(payload):	# starts at or before nxt, reaches past it
                out += payload[d:]
                nxt = (seq + len(payload)) & 0xFFFFFFFF
                got = True
        if not got:
            break
    total = sum(len(v) for v in pieces.values())
    return out if total >= len(out) else None


PRE_INIT = re.compile(rb"^\s*(<\?xml[^>]*\?>)?\s*<stream:stream [^>]*>\s*"
                      rb"<starttls xmlns=['\"]urn:ietf:params:xml:ns:xmpp-tls['\"]\s*/>")
PRE_RECV = re.compile(rb"^\s*(<\?xml[^>]*\?>)?\s*<stream:stream [^>]*>\s*"
                      rb"<stream:features>.*?</stream:features>\s*"
                      rb"<proceed xmlns=['\"]urn:ietf:params:xml:ns:xmpp-tls['\"]\s*/>",
                      re.S)


def records(b):
    """None when b is TLS records to its end, else why not."""
    i = n = 0
    while i < len(b):
        if len(b) - i < 5:
            return "%d bytes at the end are not a whole record header" % (len(b) - i)
        t, major, ln = b[i], b[i + 1], struct.unpack(">H", b[i + 3:i + 5])[0]
        if t not in (20, 21, 22, 23) or major != 3 or ln > 16384 + 256:
            return "no TLS record at byte %d: %r" % (i, b[i:i + 16])
        if i + 5 + ln > len(b):
            return "the last record is cut"
        i += 5 + ln
        n += 1
    return None if n > 0 else "no TLS record"


ok = True
count = 0
for key in sorted(k for k in segs if k[3] in args.ports):
    rev = (key[2], key[3], key[0], key[1])
    name = "127.0.0.1:%d->%d" % (key[1], key[3])
    a, b = stream(key), stream(rev)
    if a is None or b is None:
        print("FAIL %s: a piece of the capture is missing" % name)
        ok = False
        continue
    count += 1
    why = None
    ma, mb = PRE_INIT.match(a), PRE_RECV.match(b)
    if not ma:
        why = "initiator's plaintext is not a header and <starttls/>: %r" % a[:200]
    elif not mb:
        why = "receiver's plaintext is not a header, features and <proceed/>: %r" % b[:300]
    else:
        why = records(a[ma.end():]) or records(b[mb.end():])
    if why:
        print("FAIL %s: %s" % (name, why))
        ok = False
    else:
        print("OK %s: %d + %d plaintext bytes of STARTTLS, then %d + %d bytes of TLS records"
              % (name, ma.end(), mb.end(), len(a) - ma.end(), len(b) - mb.end()))
if count < args.min:
    print("FAIL %d connection(s) to %s in the capture, %d wanted"
          % (count, args.ports, args.min))
    ok = False
sys.exit(0 if ok else 1)
