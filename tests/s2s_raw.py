#!/usr/bin/python3
"""A hand-made remote XMPP server for tests/t-s2s.sh: it opens one
server-to-server stream to PORT the way Prosody does (plaintext header in
jabber:server with xmlns:db, from= and to=, <starttls/>, TLS, the same
header again) and prints what the receiving server answered, as one line:

    stream-error COND TEXT        a stream error (TEXT unescaped, "-" if none)
    features mechanisms=M,... dialback=yes|no starttls=yes|no from=F id=I
    success | failure COND        (--after external)
    db-result TYPE                (--after dbresult: XEP-0344's answer)
    closed                        the connection ended without any of these
    then "closed=yes|no" when the line is a stream error (did the stream and
    the connection end after it, within a second?).

Options:
  --cert CRT --key KEY  the certificate the remote presents in TLS (none:
                        no client certificate at all)
  --ca CA               checks the receiving server's certificate for --to
  --early dbresult|message|auth
                        send that before STARTTLS, instead of <starttls/>,
                        and report the answer
  --after none|external|external-pipelined|dbresult
                        after the features of the restarted stream:
                        nothing, SASL EXTERNAL (authzid = --from) or
                        <db:result> (key "0123456789abcdef")
  --plain               stop before STARTTLS: report the first features
  --no-db               no xmlns:db in our headers (a server without dialback)
  --trace FILE          every byte sent (>) and received (<), repr()
Every wait is bounded (--timeout, default 10 s); exit status 0 when an
answer was read, 2 on a timeout or a TLS failure.
"""
import argparse
import base64
import re
import socket
import ssl
import sys
import time
import xml.etree.ElementTree as ET

STREAMS = "http://etherx.jabber.org/streams"
ERR_NS = "urn:ietf:params:xml:ns:xmpp-streams"

p = argparse.ArgumentParser()
p.add_argument("port", type=int)
p.add_argument("--host", default="127.0.0.1")
p.add_argument("--from", dest="frm", default="a.test")
p.add_argument("--to", default="b.test")
p.add_argument("--cert")
p.add_argument("--key")
p.add_argument("--ca", required=True)
p.add_argument("--early", choices=("dbresult", "message", "auth"))
p.add_argument("--after", choices=("none", "external", "external-pipelined", "dbresult"),
               default="none")
p.add_argument("--plain", action="store_true")
p.add_argument("--no-db", action="store_true")
p.add_argument("--trace")
p.add_argument("--timeout", type=float, default=10.0)
args = p.parse_args()

trace = open(args.trace, "a") if args.trace else None
deadline = time.monotonic() + args.timeout


def note(direction, data):
    if trace:
        trace.write("%s %r\n" % (direction, data))
        trace.flush()


def send(s, data):
    note(">", data)
    s.sendall(data)


def out(line):
    print(line, flush=True)
    if trace:
        trace.write("= %s\n" % line)


def read_until(s, buf, pred):
    """Read until pred(buf) or end of file; returns (buf, eof)."""
    while not pred(buf):
        left = deadline - time.monotonic()
        if left <= 0:
            out("timeout %r" % buf[-300:])
            sys.exit(2)
        s.settimeout(left)
        try:
            d = s.recv(65536)
        except socket.timeout:
            continue
        except (ConnectionResetError, ssl.SSLError) as e:
            note("<", "error %r" % e)
            return buf, True
        note("<", d)
        if not d:
            return buf, True
        buf += d
    return buf, False


def stream_error(buf):
    m = re.search(rb"<stream:error\b.*?</stream:error>", buf, re.S)
    if not m:
        return None
    doc = ET.fromstring(b"<w xmlns:stream='" + STREAMS.encode() + b"'>" +
                        m.group(0) + b"</w>")
    err = doc[0]
    cond, text = None, "-"
    for el in err:
        if el.tag == "{%s}text" % ERR_NS:
            text = el.text or ""
        elif el.tag.startswith("{%s}" % ERR_NS):
            cond = el.tag.split("}", 1)[1]
    return "%s %s" % (cond or "none", text)


def finish_error(s, buf, eof):
    """Report a stream error; then check that the stream and the
    connection end (within a second)."""
    e = stream_error(buf)
    end = time.monotonic() + 1.0
    while not eof and time.monotonic() < end:
        s.settimeout(max(0.01, end - time.monotonic()))
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        except (ConnectionResetError, ssl.SSLError) as x:
            note("<", "error %r" % x)
            eof = True
            break
        note("<", d)
        eof = not d
        buf += d
    closed = "yes" if eof and b"</stream:stream>" in buf else "no"
    out("stream-error %s closed=%s" % (e, closed))
    sys.exit(0)


def header():
    return ("<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
            "xmlns:stream='%s'%s from='%s' to='%s' version='1.0' "
            "xml:lang='en'>" % (STREAMS, "" if args.no_db else
                                " xmlns:db='jabber:server:dialback'",
                                args.frm, args.to)).encode()


def done_or_features(b):
    return (b"</stream:features>" in b or b"</stream:error>" in b or
            b"</stream:stream>" in b)


def features_line(buf):
    h = re.search(rb"<stream:stream\b[^>]*>", buf)
    attrs = dict(re.findall(rb"\s([a-z:]+)=['\"]([^'\"]*)['\"]", h.group(0))) if h else {}
    f = re.search(rb"<stream:features\b.*?</stream:features>", buf, re.S)
    f = f.group(0) if f else b""
    mechs = re.findall(rb"<mechanism>([^<]*)</mechanism>", f)
    return "features mechanisms=%s dialback=%s starttls=%s from=%s id=%s" % (
        ",".join(m.decode() for m in mechs) or "-",
        "yes" if b"urn:xmpp:features:dialback" in f else "no",
        "yes" if b"urn:ietf:params:xml:ns:xmpp-tls" in f else "no",
        attrs.get(b"from", b"-").decode(), attrs.get(b"id", b"-").decode())


s = socket.create_connection((args.host, args.port), timeout=args.timeout)
send(s, header())
buf, eof = read_until(s, b"", done_or_features)
if stream_error(buf) is not None or eof:
    if stream_error(buf) is None:
        out("closed")
        sys.exit(0)
    finish_error(s, buf, eof)
if b"</stream:features>" not in buf:
    finish_error(s, buf, eof)

if args.plain:
    out(features_line(buf))
    sys.exit(0)
if args.early:
    send(s, {
        "dbresult": b"<db:result from='%s' to='%s'>0123456789abcdef</db:result>"
                    % (args.frm.encode(), args.to.encode()),
        "message": b"<message from='alice@%s' to='bob@%s' type='chat'>"
                   b"<body>before TLS</body></message>"
                   % (args.frm.encode(), args.to.encode()),
        "auth": b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
                b"mechanism='EXTERNAL'>=</auth>",
    }[args.early])
    buf, eof = read_until(s, b"", lambda b: b"</stream:error>" in b or
                          b"</stream:stream>" in b or b"</failure>" in b or
                          b"<db:result" in b and b">" in b.split(b"<db:result", 1)[1])
    if stream_error(buf) is not None:
        finish_error(s, buf, eof)
    out("closed" if eof and not buf else "other %r" % buf[-300:])
    sys.exit(0)

send(s, b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
buf, eof = read_until(s, b"", lambda b: b"<proceed" in b or b"</stream:stream>" in b
                      or b"<failure" in b)
if b"<proceed" not in buf:
    if stream_error(buf) is not None:
        finish_error(s, buf, eof)
    out("no-proceed %r" % buf[-300:])
    sys.exit(0)

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations(cafile=args.ca)
ctx.check_hostname = True
if args.cert:
    ctx.load_cert_chain(args.cert, args.key)
try:
    t = ctx.wrap_socket(s, server_hostname=args.to)
except (ssl.SSLError, OSError) as e:
    out("tls-failed %s" % e)
    sys.exit(2)
note("=", "TLS %s %s" % (t.version(), t.cipher()[0]))
send(t, header())
buf, eof = read_until(t, b"", done_or_features)
if stream_error(buf) is not None:
    finish_error(t, buf, eof)
if b"</stream:features>" not in buf:
    out("closed" if eof else "other %r" % buf[-300:])
    sys.exit(0)
if args.after == "none":
    out(features_line(buf))
    sys.exit(0)

if args.after == "external-pipelined":
    # <auth> and the restarted header in one TLS record: xmppgate must pass
    # the whole header on, though it arrived with the element before it.
    send(t, b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>=</auth>" +
         header())
    buf, eof = read_until(t, b"", lambda b: b"</stream:features>" in b.split(b"<success", 1)[-1]
                          and b"<success" in b or b"</failure>" in b or b"</stream:stream>" in b)
    if b"<success" in buf and b"</stream:features>" in buf.split(b"<success", 1)[1]:
        out("success restarted")
    elif stream_error(buf) is not None:
        finish_error(t, buf, eof)
    else:
        out("closed" if eof else "other %r" % buf[-300:])
    sys.exit(0)

if args.after == "external":
    send(t, b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>" +
         base64.b64encode(args.frm.encode()) + b"</auth>")
    buf, eof = read_until(t, b"", lambda b: b"<success" in b or b"</failure>" in b
                          or b"</stream:stream>" in b)
    m = re.search(rb"<failure[^>]*>\s*<([a-z-]+)", buf)
    if b"<success" in buf:
        out("success")
    elif m:
        out("failure %s" % m.group(1).decode())
    elif stream_error(buf) is not None:
        finish_error(t, buf, eof)
    else:
        out("closed" if eof else "other %r" % buf[-300:])
    sys.exit(0)

# --after dbresult: XEP-0344, the receiving server that verified our
# certificate answers without asking anyone.
send(t, b"<db:result from='%s' to='%s'>0123456789abcdef</db:result>" %
     (args.frm.encode(), args.to.encode()))
buf, eof = read_until(t, b"", lambda b: re.search(rb"<db:result\b[^>]*>", b) is not None
                      or b"</stream:stream>" in b)
m = re.search(rb"<db:result\b[^>]*>", buf)
if m:
    ty = re.search(rb"\stype=['\"]([a-z]+)['\"]", m.group(0))
    out("db-result %s" % (ty.group(1).decode() if ty else "none"))
elif stream_error(buf) is not None:
    finish_error(t, buf, eof)
else:
    out("closed" if eof else "other %r" % buf[-300:])
sys.exit(0)
