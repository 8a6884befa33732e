#!/usr/bin/python3
"""Hostile clients against xmppgate, one process per case (tests/t-hostile.sh).

Each case starts xmppgate the way inetd does: the test connects to itself
over 127.0.0.1 (listen on port 0, connect, accept) and gives the accepted
socket to xmppgate as its standard input and output; standard error goes to
CASE.log.  Cases run in exec mode (-- /bin/sh EXEC_PROG), except those
that need SASL2 offered (connect=True): they run in connect mode with
--backend naming a loopback port that is bound and never listened on.  The test plays the client on the other end, so it sees the exact
bytes the client gets, the exit status, the summary line, how long the
process took to go away, and whether anything it started is still running.

Every case asserts, where they apply:
  - the whole transcript, byte for byte (the random stream id and the TLS
    alert description are the only patterns): the stream error condition
    and its <text/>, or the SASL <failure/>, then </stream:stream>, then
    the end of the connection (a TLS close_notify once TLS is up), and
    nothing after it;
  - the exit status (0 ok, 1 refused, 111 temporary: xmppgate(8));
  - exactly one summary line, for this client's address and port, with
    outcome= following the exit status, the expected reason="...", and
    tx= equal to the XMPP bytes the client read;
  - other log lines that must be there (bytes discarded after STARTTLS);
  - that the process exited within a bound once the client was done, and
    that nothing of its session (helpers, their children, the exec'd
    program) is left running;
  - whether the auth helper ran (each run appends its XMPPGATE_CONN_ID to
    helper-runs) and what the exec'd program received.

The doc/bad-input.md table is the contract; each of its rows names the
cases below that check it.

usage: hostile.py --dir DIR --ca CA --cert CERT --key KEY --helper H
                  --slow-helper H --exec-prog P [--jobs N] [--only NAME ...]
                  [--list] [--show]
The binary is $XG_BIN (lib.sh; a valgrind wrapper in checked runs), else
$top_builddir/xmppgate; $XG_TIME_FACTOR stretches the client-side bounds.
"""
import argparse
import base64
import concurrent.futures
import os
import re
import select
import socket
import ssl
import subprocess
import sys
import time

DOMAIN = "example.test"
OTHER = "other.test"            # also served (--domain), for the restart case
NS_CLIENT = "jabber:client"
NS_STREAMS = "http://etherx.jabber.org/streams"
NS_TLS = "urn:ietf:params:xml:ns:xmpp-tls"
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_ERR = "urn:ietf:params:xml:ns:xmpp-streams"

# Limits from src/xmppgate.h (doc/bad-input.md lists them).
XG_TAG_MAX = 4096
XG_NAME_MAX = 64
XG_ATTRS_MAX = 16
XG_ATTR_VALUE_MAX = 1024
XG_NS_MAX = 8
XG_SASL_B64_MAX = 8192

FACTOR = max(1, int(os.environ.get("XG_TIME_FACTOR", "1") or 1))
CASE_SECS = 20 * FACTOR         # the client's whole conversation
EXIT_SECS = 5 * FACTOR          # xmppgate gone after the client is done
LEFT_SECS = 2 * FACTOR          # its session empty after it exited

OPT = None                      # parsed arguments


class Bad(Exception):
    """The client saw something it should not have."""


# ---------------------------------------------------------------- client

def plain_b64(user, pw, authzid=""):
    return base64.b64encode(("%s\0%s\0%s" % (authzid, user, pw)).encode())


def header(to=DOMAIN, version="1.0", xmlns=NS_CLIENT, stream_ns=NS_STREAMS,
           extra="", decl=True):
    s = "<?xml version='1.0'?>" if decl else ""
    s += "<stream:stream"
    if to is not None:
        s += " to='%s'" % to
    if version is not None:
        s += " version='%s'" % version
    if xmlns is not None:
        s += " xmlns='%s'" % xmlns
    if stream_ns is not None:
        s += " xmlns:stream='%s'" % stream_ns
    return (s + extra + ">").encode()


HDR = header()
STARTTLS = ("<starttls xmlns='%s'/>" % NS_TLS).encode()


def auth(user="alice", pw="right", data=None):
    if data is None:
        data = plain_b64(user, pw)
    return (b"<auth xmlns='" + NS_SASL.encode() + b"' mechanism='PLAIN'>" +
            data + b"</auth>")


def client_hello():
    """A real ClientHello from Python's ssl, as bytes to send ourselves."""
    ctx = ssl.create_default_context(cafile=OPT.ca)
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname=DOMAIN)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = out.read()
    if not hello or hello[0] != 0x16:
        raise Bad("Python's ssl produced no ClientHello: %r" % hello[:16])
    return hello, obj, inc


class Client:
    """One client connection: what it sent and what it got, per phase
    (0: plaintext, 1: inside TLS)."""

    def __init__(self, sock, deadline):
        self.s = sock
        self.tls = False
        self.got = [bytearray()]
        self.end = None                 # how the connection ended for us
        self.deadline = deadline
        self.done_at = None             # when the client was done
        self.notes = []                 # extra facts for the report

    def left(self):
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise Bad("the case's time limit (%d s) passed" % CASE_SECS)
        return left

    @property
    def buf(self):
        return self.got[-1]

    def send(self, data):
        self.s.settimeout(self.left())
        self.s.sendall(data)

    def _recv(self, secs):
        """One read: bytes, b"" at the end (self.end says how), or None
        when nothing came within secs."""
        self.s.settimeout(max(0.01, min(secs, self.left())))
        try:
            d = self.s.recv(65536)
        except socket.timeout:
            return None
        except ssl.SSLEOFError:
            self.end = "EOF without close_notify"
            return b""
        except ssl.SSLError as e:
            self.end = "TLS error: %s" % (e.reason or e)
            return b""
        except ConnectionResetError:
            self.end = "reset"
            return b""
        if d == b"":
            self.end = "close_notify" if self.tls else "EOF"
            return b""
        self.buf.extend(d)
        return d

    def recv_until(self, token, secs=10):
        end = time.monotonic() + secs * FACTOR
        while token not in self.buf:
            left = end - time.monotonic()
            if left <= 0:
                raise Bad("no %r within %d s; got %r" % (token, secs, bytes(self.buf)))
            if self._recv(left) == b"":
                raise Bad("%s while waiting for %r; got %r" % (self.end, token, bytes(self.buf)))

    def read_to_eof(self, secs=10):
        end = time.monotonic() + secs * FACTOR
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise Bad("connection not closed within %d s; got %r" % (secs, bytes(self.buf)))
            if self._recv(left) == b"":
                self.close()
                return

    def wait_readable(self, secs):
        if self.tls and self.s.pending():
            return True
        r, _, _ = select.select([self.s], [], [], secs)
        return bool(r)

    def trickle(self, data, interval=1.0):
        """Send one byte per interval until the server says something or
        goes away; returns how many bytes went out."""
        for i in range(len(data)):
            try:
                self.send(data[i:i + 1])
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                return i
            if self.wait_readable(min(interval, self.left())):
                return i + 1
        return len(data)

    def starttls(self):
        ctx = ssl.create_default_context(cafile=OPT.ca)
        self.s.settimeout(self.left())
        self.s = ctx.wrap_socket(self.s, server_hostname=DOMAIN,
                                 suppress_ragged_eofs=False)
        self.tls = True
        self.got.append(bytearray())
        self.notes.append(self.s.version())

    def unwrap(self):
        """Our close_notify, then the server's; back to plain TCP."""
        self.s.settimeout(self.left())
        self.s = self.s.unwrap()
        self.tls = False
        self.end = "close_notify"

    def close(self, reset=False):
        if self.done_at is None:
            self.done_at = time.monotonic()
        try:
            if reset:
                self.s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                  b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.s.close()
        except OSError:
            pass


# Common openings.
def hello(c, hdr=HDR):
    c.send(hdr)
    c.recv_until(b"</stream:features>")


def to_tls(c):
    hello(c)
    c.send(STARTTLS)
    c.recv_until(b"<proceed")
    c.starttls()


def tls_hello(c, hdr=HDR):
    to_tls(c)
    c.send(hdr)
    c.recv_until(b"</stream:features>")


def send_then_eof(data):
    def run(c):
        c.send(data)
        c.read_to_eof()
    return run


def hello_then(data):
    def run(c):
        hello(c)
        c.send(data)
        c.read_to_eof()
    return run


def tls_then(data):
    def run(c):
        tls_hello(c)
        c.send(data)
        c.read_to_eof()
    return run


# ------------------------------------------------------- expected output

def lit(b):
    return re.escape(b if isinstance(b, bytes) else b.encode())


def HDR_OUT(frm=True):
    return (lit("<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                "xmlns:stream='http://etherx.jabber.org/streams' id='") +
            rb"[0-9a-f]{24}'" + (lit(" from='%s'" % DOMAIN) if frm else b"") +
            lit(" version='1.0' xml:lang='en'>"))


FEAT_TLS = lit("<stream:features><starttls xmlns='%s'><required/></starttls>"
               "</stream:features>" % NS_TLS)
# After TLS in exec mode: PLAIN, by RFC 6120 SASL and by XEP-0388 SASL2
# (nothing inline: the program binds); FEAT_SASL1 with --no-sasl2.
FEAT_SASL = lit("<stream:features><mechanisms xmlns='%s'><mechanism>PLAIN"
                "</mechanism></mechanisms><authentication xmlns='urn:xmpp:sasl:2'>"
                "<mechanism>PLAIN</mechanism></authentication></stream:features>" % NS_SASL)
FEAT_SASL1 = lit("<stream:features><mechanisms xmlns='%s'><mechanism>PLAIN"
                 "</mechanism></mechanisms></stream:features>" % NS_SASL)
PROCEED = lit("<proceed xmlns='%s'/>" % NS_TLS)
SUCCESS = lit("<success xmlns='%s'/>" % NS_SASL)
CLOSE = lit("</stream:stream>")
TLS_ALERT = rb"\x15\x03[\x01-\x04]\x00\x02\x02[\x00-\xff]"   # one fatal alert


def xml_text(s):
    """As xmppgate escapes a <text/> (xml_escape() in src/xml.c)."""
    for a, b in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"),
                 ("'", "&apos;")):
        s = s.replace(a, b)
    return s


def ERR(cond, text):
    return lit("<stream:error><%s xmlns='%s'/><text xmlns='%s'>%s</text>"
               "</stream:error></stream:stream>" % (cond, NS_ERR, NS_ERR, xml_text(text)))


def FAILURE(cond):
    return lit("<failure xmlns='%s'><%s/></failure>" % (NS_SASL, cond))


PLAIN_OK = [HDR_OUT(), FEAT_TLS, PROCEED]        # up to TLS
TLS_OK = [HDR_OUT(), FEAT_SASL]                  # after the restart
RESTRICTED = "restricted XML (comment, PI, DTD, CDATA or entity)"
LIMIT = "size limit exceeded"


def describe(data):
    """A short account of what came back, for the report line."""
    pats = [
        (re.compile(rb"<\?xml version='1\.0'\?><stream:stream [^>]*?( from='[^']*')?"
                    rb" version='1\.0' xml:lang='en'>"),
         lambda m: "<stream%s>" % (m.group(1) or b"").decode()),
        (re.compile(FEAT_TLS), lambda m: "<features starttls/>"),
        (re.compile(FEAT_SASL), lambda m: "<features PLAIN sasl2/>"),
        (re.compile(FEAT_SASL1), lambda m: "<features PLAIN/>"),
        (re.compile(PROCEED), lambda m: "<proceed/>"),
        (re.compile(rb"<stream:error><([a-z-]+) xmlns='[^']*'/>(?:<text [^>]*>([^<]*)</text>)?"
                    rb"</stream:error>"),
         lambda m: "<stream:error %s %r>" % (m.group(1).decode(),
                                               (m.group(2) or b"").decode())),
        (re.compile(rb"<failure xmlns='urn:xmpp:sasl:2'><([a-z-]+) xmlns='[^']*'/></failure>"),
         lambda m: "<failure2 %s>" % m.group(1).decode()),
        (re.compile(rb"<failure xmlns='[^']*'><([a-z-]+)/></failure>"),
         lambda m: "<failure %s>" % m.group(1).decode()),
        (re.compile(rb"<challenge xmlns='urn:xmpp:sasl:2'/>"), lambda m: "<challenge2/>"),
        (re.compile(rb"<stream:features><mechanisms [^>]*><mechanism>PLAIN</mechanism>"
                    rb"</mechanisms><authentication .*?</authentication>"
                    rb"(<sasl-channel-binding .*?</sasl-channel-binding>)?</stream:features>"),
         lambda m: "<features PLAIN sasl2%s/>" % (" fast" if b"<fast " in m.group(0)
                                                  else "")),
        (re.compile(SUCCESS), lambda m: "<success/>"),
        (re.compile(CLOSE), lambda m: "</stream>"),
        (re.compile(TLS_ALERT), lambda m: "[TLS alert %d]" % m.group(0)[-1]),
    ]
    out, i = [], 0
    while i < len(data):
        for p, f in pats:
            m = p.match(data, i)
            if m:
                out.append(f(m))
                i = m.end()
                break
        else:
            out.append(repr(bytes(data[i:i + 40])))
            break
    return " ".join(out) or "nothing"


# ----------------------------------------------------------------- cases

class Case:
    def __init__(self, name, klass, sent, run, plain, tls=None, exit=1,
                 reason=None, args=(), log=(), helper_runs=0,
                 end="auto", exec_out=None, helper="helper", min_secs=None,
                 check_tx=True, journal=False, connect=False):
        self.name, self.klass, self.sent, self.run = name, klass, sent, run
        self.plain, self.tls = plain, tls
        self.exit, self.reason, self.args, self.log = exit, reason, list(args), log
        self.helper_runs, self.exec_out = helper_runs, exec_out
        self.helper, self.min_secs, self.check_tx = helper, min_secs, check_tx
        self.journal = journal          # JOURNAL_STREAM names the log
        # Connect mode (--backend to a closed loopback port) instead of
        # exec mode: SASL2 is offered there.  The backend's pre-open
        # connect fails quietly; these cases end before any login.
        self.connect = connect
        if end == "auto":
            end = "close_notify" if tls is not None else "EOF"
        self.end = end


CASES = []


def case(*a, **k):
    CASES.append(Case(*a, **k))


def err_case(name, klass, sent, data, cond, text, reason, frm=False, **k):
    """Bytes sent as the first thing; the answer is our header (with from=
    when the domain was already known) and the stream error."""
    case(name, klass, sent, send_then_eof(data),
         [HDR_OUT(frm), ERR(cond, text)], reason="%s: %s" % (cond, reason), **k)


def after_hello(name, klass, sent, data, cond, text, reason, **k):
    case(name, klass, sent, hello_then(data),
         [HDR_OUT(), FEAT_TLS, ERR(cond, text)],
         reason="%s: %s" % (cond, reason), **k)


def after_tls(name, klass, sent, data, cond, text, reason, **k):
    case(name, klass, sent, tls_then(data), PLAIN_OK,
         tls=TLS_OK + [ERR(cond, text)], reason="%s: %s" % (cond, reason), **k)


def header_ok(name, klass, sent, hdr, **k):
    """A header that must be taken: the features, then our close."""
    def run(c):
        hello(c, hdr)
        c.send(b"</stream:stream>")
        c.read_to_eof()
    case(name, klass, sent, run, [HDR_OUT(), FEAT_TLS, CLOSE], exit=0,
         reason="client closed the stream before authenticating", **k)


# -- bytes that are not XML
err_case("http-request", "not XML", "an HTTP request",
         b"GET / HTTP/1.1\r\nHost: example.test\r\n\r\n",
         "not-well-formed", "expected a stream header", "expected a stream header")
err_case("binary", "not XML", "NUL and other binary bytes",
         b"\x00\x01\x02\x03\xfe",
         "not-well-formed", "a character XML forbids", "a character XML forbids")
err_case("broken-tag", "not XML", "'<<>>'", b"<<>>",
         "not-well-formed", "not well-formed XML", "not well-formed XML")
err_case("utf8-bom", "not XML", "a UTF-8 BOM before the header (RFC 6120 11.6: U+FEFF is text)",
         b"\xef\xbb\xbf" + HDR,
         "not-well-formed", "expected a stream header", "expected a stream header")
after_hello("stream-text", "not XML", "text at stream level after the header",
            b"hello", "bad-format", "text at stream level", "text at stream level")
after_hello("second-decl", "not XML", "an XML declaration after the header",
            b"<?xml version='1.0'?>", "not-well-formed", "misplaced XML declaration",
            "misplaced XML declaration")
def nested_in_auth(c):
    tls_hello(c)
    c.send(b"<auth xmlns='" + NS_SASL.encode() + b"' mechanism='PLAIN'><x/></auth>")
    c.read_to_eof()


case("nested-in-auth", "not XML", "an element inside <auth> (after TLS)", nested_in_auth,
     PLAIN_OK, tls=TLS_OK + [ERR("bad-format", "unexpected child element")],
     reason="bad-format: unexpected child element")
after_hello("mismatched-end", "not XML", "</foo> at stream level",
            b"</foo>", "not-well-formed", "mismatched end tag", "mismatched end tag")

# -- not UTF-8
err_case("utf8-ff", "not UTF-8", "0xFF as the first byte", b"\xff" + HDR,
         "unsupported-encoding", "invalid UTF-8", "invalid UTF-8")
err_case("utf16-bom", "not UTF-8", "a UTF-16 stream (FE FF BOM)",
         b"\xfe\xff" + HDR.decode().encode("utf-16-be"),
         "unsupported-encoding", "invalid UTF-8", "invalid UTF-8")
err_case("utf8-overlong", "not UTF-8", "overlong C0 AF in 'to'",
         HDR.replace(b"to='example.test'", b"to='example\xc0\xaftest'"),
         "unsupported-encoding", "invalid UTF-8", "invalid UTF-8")
after_hello("utf8-overlong3", "not UTF-8", "overlong E0 80 BC ('<') at stream level",
            b"\xe0\x80\xbc", "unsupported-encoding", "invalid UTF-8", "invalid UTF-8")
err_case("utf8-surrogate", "not UTF-8", "a UTF-8 encoded surrogate ED A0 80 in 'to'",
         HDR.replace(b"to='example.test'", b"to='ex\xed\xa0\x80ample.test'"),
         "unsupported-encoding", "invalid UTF-8", "invalid UTF-8")
err_case("utf8-truncated", "not UTF-8", "a truncated sequence E2 82 in 'to'",
         HDR.replace(b"to='example.test'", b"to='example.test\xe2\x82'"),
         "unsupported-encoding", "invalid UTF-8", "invalid UTF-8")
after_hello("utf8-above-max", "not UTF-8", "F4 90 80 80 (above U+10FFFF) at stream level",
            b"\xf4\x90\x80\x80", "unsupported-encoding", "invalid UTF-8", "invalid UTF-8")
err_case("encoding-latin1", "not UTF-8", "<?xml encoding='ISO-8859-1'?>",
         b"<?xml version='1.0' encoding='ISO-8859-1'?>" + HDR[len(b"<?xml version='1.0'?>"):],
         "unsupported-encoding", "only UTF-8 is supported", "only UTF-8 is supported")

# -- characters XML forbids
err_case("ctrl-in-header", "forbidden character", "U+0001 in 'to'",
         HDR.replace(b"to='example.test'", b"to='exa\x01mple.test'"),
         "not-well-formed", "a character XML forbids", "a character XML forbids")
after_hello("ctrl-stream-level", "forbidden character", "U+000C at stream level",
            b"\x0c", "not-well-formed", "a character XML forbids", "a character XML forbids")
err_case("charref-nul", "forbidden character", "&#0; in 'to'",
         HDR.replace(b"to='example.test'", b"to='&#0;example.test'"),
         "not-well-formed", "a character XML forbids", "a character XML forbids")
err_case("charref-surrogate", "forbidden character", "&#xD800; in 'to'",
         HDR.replace(b"to='example.test'", b"to='&#xD800;example.test'"),
         "not-well-formed", "a character XML forbids", "a character XML forbids")
after_hello("charref-above-max", "forbidden character", "&#x110000; at stream level",
            b"&#x110000;", "not-well-formed", "a character XML forbids",
            "a character XML forbids")

# -- restricted XML (RFC 6120 11.1)
err_case("comment-first", "restricted XML", "a comment before the header",
         b"<!-- hello -->" + HDR, "restricted-xml", RESTRICTED, RESTRICTED)
after_hello("comment-later", "restricted XML", "a comment after the header",
            b"<!-- hello -->", "restricted-xml", RESTRICTED, RESTRICTED)
err_case("pi", "restricted XML", "a processing instruction <?foo bar?>",
         b"<?foo bar?>" + HDR, "restricted-xml", RESTRICTED, RESTRICTED)
err_case("pi-xml-stylesheet", "restricted XML", "<?xml-stylesheet href='x'?>",
         b"<?xml-stylesheet href='x'?>" + HDR, "restricted-xml", RESTRICTED, RESTRICTED)
BILLION_LAUGHS = (b"<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'>" +
                  b"".join(b"<!ENTITY lol%d '%s'>" % (i, (b"&lol%d;" % (i - 1) if i > 1
                                                           else b"&lol;") * 10)
                           for i in range(1, 10)) +
                  b"]><stream:stream to='&lol9;' version='1.0' xmlns='jabber:client' "
                  b"xmlns:stream='http://etherx.jabber.org/streams'>")
err_case("billion-laughs", "restricted XML", "a DOCTYPE with nested ENTITY declarations",
         BILLION_LAUGHS, "restricted-xml", RESTRICTED, RESTRICTED)
err_case("doctype-external", "restricted XML", "<!DOCTYPE ... SYSTEM 'file:///etc/passwd'>",
         b"<!DOCTYPE stream:stream SYSTEM 'file:///etc/passwd'>" + HDR,
         "restricted-xml", RESTRICTED, RESTRICTED)
err_case("entity-in-header", "restricted XML", "to='&xxe;'",
         HDR.replace(b"to='example.test'", b"to='&xxe;'"),
         "restricted-xml", RESTRICTED, RESTRICTED)
after_hello("entity-stream-level", "restricted XML", "&foo; at stream level",
            b"&foo;", "restricted-xml", RESTRICTED, RESTRICTED)
after_tls("entity-in-auth", "restricted XML", "&foo; inside <auth> (after TLS)",
          auth(data=b"AGFsaWNl&foo;"), "restricted-xml", RESTRICTED, RESTRICTED)
after_hello("cdata", "restricted XML", "a CDATA section after the header",
            b"<![CDATA[x]]>", "restricted-xml", RESTRICTED, RESTRICTED)

# -- sizes: one past each limit refused, the limit itself taken
case("name-element-over", "oversized", "an element name of %d characters" % (XG_NAME_MAX + 1),
     hello_then(b"<" + b"a" * (XG_NAME_MAX + 1) + b" xmlns='urn:x'/>"),
     [HDR_OUT(), FEAT_TLS, ERR("policy-violation", LIMIT)],
     reason="policy-violation: " + LIMIT)
case("name-element-max", "oversized", "an element name of %d characters (the limit)" % XG_NAME_MAX,
     hello_then(b"<" + b"a" * XG_NAME_MAX + b" xmlns='urn:x'/>"),
     [HDR_OUT(), FEAT_TLS, ERR("unsupported-stanza-type",
                               "element not allowed before authentication")],
     reason="unsupported-stanza-type: element not allowed before authentication")
err_case("name-attr-over", "oversized", "an attribute name of %d characters" % (XG_NAME_MAX + 1),
         header(extra=" %s='1'" % ("a" * (XG_NAME_MAX + 1))),
         "policy-violation", LIMIT, LIMIT)
header_ok("name-attr-max", "oversized", "an attribute name of %d characters (the limit)" % XG_NAME_MAX,
          header(extra=" %s='1'" % ("a" * XG_NAME_MAX)))
err_case("value-over", "oversized", "an attribute value of %d bytes" % (XG_ATTR_VALUE_MAX + 1),
         header(extra=" x='%s'" % ("v" * (XG_ATTR_VALUE_MAX + 1))),
         "policy-violation", LIMIT, LIMIT)
header_ok("value-max", "oversized", "an attribute value of %d bytes" % (XG_ATTR_VALUE_MAX - 3),
          header(extra=" x='%s'" % ("v" * (XG_ATTR_VALUE_MAX - 3))))


def padded_header(total):
    h = header(decl=False)
    return h[:-1] + b" " * (total - len(h)) + b">"


err_case("tag-over", "oversized", "a stream header of %d bytes" % (XG_TAG_MAX + 1),
         padded_header(XG_TAG_MAX + 1), "policy-violation", LIMIT, LIMIT)
header_ok("tag-max", "oversized", "a stream header of %d bytes (the limit)" % XG_TAG_MAX,
          padded_header(XG_TAG_MAX))
err_case("header-big-values", "oversized", "a header of 5 attributes of 1000 bytes",
         header(extra="".join(" a%d='%s'" % (i, "v" * 1000) for i in range(5))),
         "policy-violation", LIMIT, LIMIT)
after_tls("b64-over", "oversized", "<auth> with %d bytes of base64" % (XG_SASL_B64_MAX + 1),
          auth(data=b"A" * (XG_SASL_B64_MAX + 1)),
          "policy-violation", "SASL data too long", "SASL data too long")


def b64_max(c):
    tls_hello(c)
    c.send(auth(data=b"A" * XG_SASL_B64_MAX))
    c.recv_until(b"</failure>")
    c.send(b"</stream:stream>")
    c.read_to_eof()


case("b64-max", "oversized", "<auth> with %d bytes of base64 (the limit), then </stream>" % XG_SASL_B64_MAX,
     b64_max, PLAIN_OK, tls=TLS_OK + [FAILURE("malformed-request"), CLOSE],
     reason="client closed the stream after 1 failed attempt")
after_hello("auth-plain-over", "oversized",
            "<auth> with %d bytes of base64 before TLS" % (XG_SASL_B64_MAX + 1),
            auth(data=b"A" * (XG_SASL_B64_MAX + 1)),
            "policy-violation", "SASL data too long", "SASL data too long")

# -- SASL: bad <auth> contents get a <failure/>; the stream stays open, and
# the client's </stream:stream> after it ends the connection as refused.


def sasl_case(name, sent, data, cond, why, runs=0):
    def run(c):
        tls_hello(c)
        c.send(data)
        c.recv_until(b"</failure>")
        c.send(b"</stream:stream>")
        c.read_to_eof()
    case(name, "SASL", sent, run, PLAIN_OK, tls=TLS_OK + [FAILURE(cond), CLOSE],
         reason="client closed the stream after 1 failed attempt", helper_runs=runs,
         log=[r"authentication attempt 1 failed: %s$" % re.escape(why)])


PW_MAX = "p" * 1023
sasl_case("sasl-bad-base64", "<auth> with text that is not base64",
          auth(data=b"!!!not base64!!!"), "incorrect-encoding", "bad base64")
sasl_case("sasl-mechanism", "<auth mechanism='DIGEST-MD5'>",
          auth().replace(b"'PLAIN'", b"'DIGEST-MD5'"), "invalid-mechanism",
          "mechanism 'DIGEST-MD5'")
sasl_case("sasl-malformed", "PLAIN without its NUL separators",
          auth(data=base64.b64encode(b"alice right")), "malformed-request",
          "malformed PLAIN")
sasl_case("sasl-field-over", "a PLAIN password of 1024 bytes (XG_SASL_FIELD_MAX 1023)",
          auth(pw="p" * 1024), "malformed-request", "malformed PLAIN")
sasl_case("sasl-field-max", "a PLAIN password of 1023 bytes: the helper decides",
          auth(pw=PW_MAX), "not-authorized", "helper rejected", runs=1)
sasl_case("sasl-authzid", "an authzid naming another user",
          auth(data=plain_b64("alice", "right", authzid="bob@example.test")),
          "invalid-authzid", "foreign authzid")
# User names: prepared with Nodeprep (src/localpart.c); one that fails it
# is no account's, so not-authorized, and the helper does not run.
NODEPREP = "user name refused by Nodeprep"
sasl_case("sasl-user-utf8", "a PLAIN user name that is not UTF-8 (al FF ice)",
          auth(data=base64.b64encode(b"\0al\xffice\0right")), "not-authorized", NODEPREP)
sasl_case("sasl-user-rlo", "a PLAIN user name with a right-to-left override (U+202E)",
          auth(data=base64.b64encode("\0ali\u202eecila\0right".encode())),
          "not-authorized", NODEPREP)
sasl_case("sasl-user-control", "a PLAIN user name with a newline",
          auth(data=base64.b64encode(b"\0alice\n\0right")), "not-authorized", NODEPREP)
sasl_case("sasl-user-empty", "a PLAIN user name that Nodeprep maps to nothing (U+200B)",
          auth(data=base64.b64encode("\0\u200b\0right".encode())), "not-authorized",
          NODEPREP)
sasl_case("sasl-abort", "<abort/> instead of <auth>",
          ("<abort xmlns='%s'/>" % NS_SASL).encode(), "aborted", "aborted")


# -- log lines: client text is escaped in every line (log.c), so a
# character reference cannot end a line and forge another, in the journal
# with a priority of the client's choosing.  Every case checks that each
# log line is one of ours (run_case); these put a newline in each place a
# client string is logged.
FORGE = "&#10;&lt;0>conn=000000000000 summary"
FORGED = "\\x0a<0>conn=000000000000 summary"


def forge_mech(c):
    tls_hello(c)
    c.send(auth().replace(b"'PLAIN'", b"'X" + FORGE.encode() + b"'"))
    c.recv_until(b"</failure>")
    c.send(b"</stream:stream>")
    c.read_to_eof()


for name, journal in (("log-forge-mechanism", False), ("log-forge-journal", True)):
    case(name, "log injection",
         "mechanism='X&#10;&lt;0>conn=... summary'" +
         (" with JOURNAL_STREAM (<N> prefixes)" if journal else ""),
         forge_mech, PLAIN_OK, tls=TLS_OK + [FAILURE("invalid-mechanism"), CLOSE],
         reason="client closed the stream after 1 failed attempt", journal=journal,
         log=[r"authentication attempt 1 failed: mechanism 'X%s'$" % re.escape(FORGED)])
err_case("log-forge-to", "log injection", "to='x&#10;&lt;0>conn=... summary', -v",
         header(to="x" + FORGE), "host-unknown", "this domain is not served here",
         "unknown domain", args=["-v"], journal=True,
         log=[r"client: stream header to=x%s version=1\.0$" % re.escape(FORGED)])
err_case("log-forge-version", "log injection", "version='1&#10;&lt;0>x', -v",
         header(version="1&#10;&lt;0>x"), "unsupported-version", "version 1.0 required",
         "unsupported stream version", frm=True, args=["-v"], journal=True,
         log=[r"client: stream header to=example\.test version=1\\x0a<0>x$"])

# -- SCRAM (--auth-scram): bad messages get a <failure/>; the helper runs
# only once the client-first message is taken.  Its credentials are for
# another password, so no proof here can be right.
SCRAM_MECHS = b"".join(lit("<mechanism>%s</mechanism>" % m) for m in (
    "SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"))
FEAT_SCRAM = (lit("<stream:features><mechanisms xmlns='%s'>" % NS_SASL) + SCRAM_MECHS +
              lit("</mechanisms><authentication xmlns='urn:xmpp:sasl:2'>") + SCRAM_MECHS +
              lit("</authentication><sasl-channel-binding xmlns='urn:xmpp:sasl-cb:0'>") +
              rb"(<channel-binding type='[a-z-]+'/>)+" +
              lit("</sasl-channel-binding></stream:features>"))
CHALLENGE = (lit("<challenge xmlns='%s'>" % NS_SASL) + rb"[A-Za-z0-9+/]+=*" +
             lit("</challenge>"))


def scram_auth(mech, first):
    return ("<auth xmlns='%s' mechanism='%s'>%s</auth>" % (
        NS_SASL, mech, base64.b64encode(first).decode())).encode()


def scram_case(name, sent, mech, first, cond, why, final=None):
    """first is the client-first message; final, given the server's nonce,
    the client-final message."""
    def run(c):
        tls_hello(c)
        c.send(scram_auth(mech, first))
        if final is not None:
            c.recv_until(b"</challenge>")
            m = re.search(rb"<challenge[^>]*>([^<]+)</challenge>", bytes(c.buf))
            sfirst = base64.b64decode(m.group(1))
            nonce = dict(a.split(b"=", 1) for a in sfirst.split(b","))[b"r"]
            c.send(("<response xmlns='%s'>%s</response>" % (
                NS_SASL, base64.b64encode(final(nonce)).decode())).encode())
        c.recv_until(b"</failure>")
        c.send(b"</stream:stream>")
        c.read_to_eof()
    case(name, "SCRAM", sent, run, PLAIN_OK,
         tls=[HDR_OUT(), FEAT_SCRAM] + ([CHALLENGE] if final else []) +
         [FAILURE(cond), CLOSE],
         reason="client closed the stream after 1 failed attempt",
         helper_runs=1 if final else 0, args=["--auth-scram"],
         log=[r"authentication attempt 1 failed: SCRAM: %s$" % re.escape(why)])


PROOF0 = b",p=" + base64.b64encode(bytes(32))
scram_case("scram-malformed", "a client-first with a mandatory extension (m=)",
           "SCRAM-SHA-256", b"n,,m=ext,n=alice,r=abc", "malformed-request",
           "malformed message")
scram_case("scram-flag", "p=tls-exporter with SCRAM-SHA-256 (not -PLUS)",
           "SCRAM-SHA-256", b"p=tls-exporter,,n=alice,r=abc", "malformed-request",
           "malformed message")
scram_case("scram-downgrade", "the 'y' flag while -PLUS was offered",
           "SCRAM-SHA-256", b"y,,n=alice,r=abc", "not-authorized",
           "client says we cannot bind to the channel, but -PLUS was offered "
           "(a downgrade?)")
scram_case("scram-cb-type", "tls-unique on TLS 1.3", "SCRAM-SHA-256-PLUS",
           b"p=tls-unique,,n=alice,r=abc", "not-authorized",
           "channel binding type not offered on this connection")
scram_case("scram-bad-proof", "a wrong proof", "SCRAM-SHA-256",
           b"n,,n=alice,r=abc", "not-authorized", "wrong password (bad proof)",
           final=lambda n: b"c=biws,r=" + n + PROOF0)
scram_case("scram-replay", "a client-final with another exchange's nonce",
           "SCRAM-SHA-256", b"n,,n=alice,r=abc", "not-authorized",
           "nonce is not this exchange's (a replay?)",
           final=lambda n: b"c=biws,r=abcOTHERSERVERNONCE" + PROOF0)
scram_case("scram-bad-binding", "another channel's tls-server-end-point data",
           "SCRAM-SHA-256-PLUS", b"p=tls-server-end-point,,n=alice,r=abc",
           "not-authorized", "channel binding data is not this connection's",
           final=lambda n: b"c=" + base64.b64encode(
               b"p=tls-server-end-point,," + bytes(32)) + b",r=" + n + PROOF0)


def too_many_attempts(c):
    tls_hello(c)
    for i in range(2):
        c.send(auth(pw="wrong%d" % i))
        if i == 0:
            c.recv_until(b"</failure>")
    c.read_to_eof()


case("sasl-attempts", "SASL", "two wrong passwords, --max-attempts 2", too_many_attempts,
     PLAIN_OK, tls=TLS_OK + [FAILURE("not-authorized"), FAILURE("not-authorized"),
                             ERR("policy-violation", "too many failed authentication attempts")],
     reason="policy-violation: 2 failed attempts (last: helper rejected)", helper_runs=2,
     args=["--max-attempts", "2"])

# -- SASL2 (XEP-0388), with Bind2 (XEP-0386), inline stream management
# (XEP-0198) and FAST (XEP-0484) inside <authenticate>.  The parser reads
# an <authenticate> in any mode, so what it refuses is refused in exec
# mode too (a stream error before SASL2's offer is even looked at); what
# the session decides needs SASL2 offered: connect mode (connect=True).
NS_SASL2 = "urn:xmpp:sasl:2"
NS_BIND2 = "urn:xmpp:bind:0"
NS_SM = "urn:xmpp:sm:3"
NS_FAST = "urn:xmpp:fast:0"

# Limits from src/xmppgate.h (doc/bad-input.md lists them).
XG_SASL2_DEPTH_MAX = 3          # <authenticate> is depth 1
XG_SASL2_ELEMS_MAX = 32         # elements inside one <authenticate>
XG_SASL2_UA_ID_MAX = 64
XG_SASL2_UA_TEXT_MAX = 64
XG_BIND2_TAG_MAX = 64
XG_SM_ID_MAX = 256

# The features after TLS in connect mode: <mechanisms/>, then SASL2's
# offer with the same mechanisms and what may come inline; with --fast
# also the HT-* mechanisms this channel binds to (NONE always) and
# XEP-0440's binding types.
SASL2_OFFER = ("<authentication xmlns='%s'><mechanism>PLAIN</mechanism><inline>"
               "<bind xmlns='%s'><inline><feature var='%s'/></inline></bind>"
               "<sm xmlns='%s'/>" % (NS_SASL2, NS_BIND2, NS_SM, NS_SM))
FEAT_SASL2 = lit("<stream:features><mechanisms xmlns='%s'><mechanism>PLAIN"
                 "</mechanism></mechanisms>%s</inline></authentication>"
                 "</stream:features>" % (NS_SASL, SASL2_OFFER))
FEAT_FAST = (lit("<stream:features><mechanisms xmlns='%s'><mechanism>PLAIN"
                 "</mechanism></mechanisms>%s<fast xmlns='%s'>" % (
                     NS_SASL, SASL2_OFFER, NS_FAST)) +
             rb"(<mechanism>HT-SHA-256-(EXPR|UNIQ|ENDP)</mechanism>)*" +
             lit("<mechanism>HT-SHA-256-NONE</mechanism></fast></inline>"
                 "</authentication><sasl-channel-binding xmlns='urn:xmpp:sasl-cb:0'>") +
             rb"(<channel-binding type='[a-z-]+'/>)+" +
             lit("</sasl-channel-binding></stream:features>"))
CHALLENGE2 = lit("<challenge xmlns='%s'/>" % NS_SASL2)


def FAILURE2(cond):
    """XEP-0388's failure; the condition keeps RFC 6120's namespace."""
    return lit("<failure xmlns='%s'><%s xmlns='%s'/></failure>" % (NS_SASL2, cond, NS_SASL))


def authenticate(inner=b"", mech="PLAIN"):
    inner = inner if isinstance(inner, bytes) else inner.encode()
    return (("<authenticate xmlns='%s' mechanism='%s'>" % (NS_SASL2, mech)).encode() +
            inner + b"</authenticate>")


def ir(data):
    return "<initial-response>%s</initial-response>" % data.decode()


WRONG_IR = ir(plain_b64("alice", "wrong"))
UA = "<user-agent id='d4565fa7-4d72-4749-b3d3-740edbf87770'/>"


def ua_with(child):
    return "<user-agent id='d4565fa7-4d72-4749-b3d3-740edbf87770'>%s</user-agent>" % child


def bind2(inner=""):
    return "<bind xmlns='%s'>%s</bind>" % (NS_BIND2, inner)


def resume(attrs):
    return "<resume xmlns='%s'%s/>" % (NS_SM, attrs)


def sasl2_refused(name, klass, sent, inner, cond, text, mech="PLAIN"):
    """The parser refuses the request (exec mode: it reads <authenticate>
    whatever was offered); reason and <text/> are the same."""
    after_tls(name, klass, sent, authenticate(inner, mech), cond, text, text)


def sasl2_case(name, klass, sent, data, cond, why, runs=0, fast=False, args=()):
    """Connect mode: the SASL2 <failure/>, the stream stays open, and the
    client's </stream:stream> ends the connection as refused."""
    case(name, klass, sent, send_fail_close(data), PLAIN_OK,
         tls=[HDR_OUT(), FEAT_FAST if fast else FEAT_SASL2, FAILURE2(cond), CLOSE],
         reason="client closed the stream after 1 failed attempt", helper_runs=runs,
         connect=True, args=(["--fast"] if fast else []) + list(args),
         log=[r"authentication attempt 1 failed: %s$" % re.escape(why)])


def send_fail_close(data):
    def run(c):
        tls_hello(c)
        c.send(data)
        c.recv_until(b"</failure>")
        c.send(b"</stream:stream>")
        c.read_to_eof()
    return run


def sasl2_taken(name, sent, inner, fast=False):
    """At a limit: the parser takes it, and the wrong password in it goes
    to the helper, which rejects it."""
    sasl2_case(name, "SASL2 at the limits", sent, authenticate(inner + WRONG_IR),
               "not-authorized", "helper rejected", runs=1, fast=fast)


# Sizes: one past each limit refused by the parser, the limit itself taken.
OVER = "SASL2 oversized"
sasl2_refused("sasl2-ua-id-over", OVER,
              "<user-agent id> of %d characters" % (XG_SASL2_UA_ID_MAX + 1),
              "<user-agent id='%s'/>" % ("u" * (XG_SASL2_UA_ID_MAX + 1)),
              "policy-violation", "user-agent id too long")
sasl2_taken("sasl2-ua-id-max", "<user-agent id> of %d characters (the limit)" %
            XG_SASL2_UA_ID_MAX, "<user-agent id='%s'/>" % ("u" * XG_SASL2_UA_ID_MAX))
sasl2_refused("sasl2-software-over", OVER,
              "<software> of %d characters" % (XG_SASL2_UA_TEXT_MAX + 1),
              ua_with("<software>%s</software>" % ("s" * (XG_SASL2_UA_TEXT_MAX + 1))),
              "policy-violation", "user-agent software too long")
sasl2_refused("sasl2-device-over", OVER,
              "<device> of %d characters" % (XG_SASL2_UA_TEXT_MAX + 1),
              ua_with("<device>%s</device>" % ("d" * (XG_SASL2_UA_TEXT_MAX + 1))),
              "policy-violation", "user-agent device too long")
sasl2_taken("sasl2-ua-text-max", "<software> and <device> of %d characters (the limit)" %
            XG_SASL2_UA_TEXT_MAX,
            ua_with("<software>%s</software><device>%s</device>" % (
                "s" * XG_SASL2_UA_TEXT_MAX, "d" * XG_SASL2_UA_TEXT_MAX)))
sasl2_refused("sasl2-tag-over", OVER, "a Bind2 <tag> of %d characters" % (XG_BIND2_TAG_MAX + 1),
              bind2("<tag>%s</tag>" % ("t" * (XG_BIND2_TAG_MAX + 1))),
              "policy-violation", "bind tag too long")
sasl2_taken("sasl2-tag-max", "a Bind2 <tag> of %d characters (the limit)" % XG_BIND2_TAG_MAX,
            bind2("<tag>%s</tag>" % ("t" * XG_BIND2_TAG_MAX)))
sasl2_refused("sasl2-previd-over", OVER, "a <resume previd> of %d characters" % (XG_SM_ID_MAX + 1),
              resume(" previd='%s' h='0'" % ("p" * (XG_SM_ID_MAX + 1))),
              "policy-violation", "resume previd too long")
sasl2_taken("sasl2-previd-max", "a <resume previd> of %d characters (the limit), h='4294967295'" %
            XG_SM_ID_MAX, resume(" previd='%s' h='4294967295'" % ("p" * XG_SM_ID_MAX)))
sasl2_refused("sasl2-token-mech-over", OVER,
              "<request-token mechanism> of %d characters" % (XG_NAME_MAX + 1),
              "<request-token xmlns='%s' mechanism='%s'/>" % (NS_FAST, "M" * (XG_NAME_MAX + 1)),
              "policy-violation", "request-token mechanism too long")
sasl2_refused("sasl2-ir-over", OVER,
              "<initial-response> with %d bytes of base64" % (XG_SASL_B64_MAX + 1),
              ir(b"A" * (XG_SASL_B64_MAX + 1)), "policy-violation", "SASL data too long")
sasl2_case("sasl2-ir-max", "SASL2 at the limits",
           "<initial-response> with %d bytes of base64 (the limit)" % XG_SASL_B64_MAX,
           authenticate(ir(b"A" * XG_SASL_B64_MAX)), "malformed-request", "malformed PLAIN")
DEEP = "<x xmlns='urn:x'><y>%s</y></x>"
sasl2_refused("sasl2-depth-over", OVER, "an element at depth %d (<authenticate> is 1)" %
              (XG_SASL2_DEPTH_MAX + 1), DEEP % "<z/>",
              "policy-violation", "SASL2 request too deep")
sasl2_taken("sasl2-depth-max", "an unknown element at depth %d (the limit)" % XG_SASL2_DEPTH_MAX,
            DEEP % "")
sasl2_refused("sasl2-elems-over", OVER, "%d elements inside <authenticate>" %
              (XG_SASL2_ELEMS_MAX + 1), "<x xmlns='urn:x'/>" * (XG_SASL2_ELEMS_MAX + 1),
              "policy-violation", "SASL2 request too large")
sasl2_taken("sasl2-elems-max", "%d elements inside <authenticate> (the limit)" %
            XG_SASL2_ELEMS_MAX, "<x xmlns='urn:x'/>" * (XG_SASL2_ELEMS_MAX - 1))

# One of each known child at most.
for what, inner in (("bind", bind2() * 2),
                    ("initial-response", WRONG_IR * 2),
                    ("resume", resume(" previd='a' h='0'") * 2),
                    ("user-agent", UA * 2)):
    sasl2_refused("sasl2-dup-" + what, "SASL2 duplicate element", "<%s> twice" % what, inner,
                  "policy-violation", "duplicate <%s>" % what)

# Text, elements and attributes where they do not belong.
BADF = "SASL2 bad element or attribute"
sasl2_refused("sasl2-text", BADF, "text directly inside <authenticate>", "hello",
              "bad-format", "unexpected text")
sasl2_refused("sasl2-nested-ir", BADF, "an element inside <initial-response>",
              "<initial-response><x/></initial-response>", "bad-format", "unexpected child element")
for name, inner, text in (
        ("enable-resume", bind2("<enable xmlns='%s' resume='yes'/>" % NS_SM),
         "bad 'resume' on <enable>"),
        ("enable-max", bind2("<enable xmlns='%s' max='-1'/>" % NS_SM), "bad 'max' on <enable>"),
        ("resume-no-previd", resume(" h='0'"), "<resume> without 'previd'"),
        ("resume-no-h", resume(" previd='a'"), "<resume> without 'h'"),
        ("resume-h-text", resume(" previd='a' h='x'"), "bad 'h' on <resume>"),
        ("resume-h-over", resume(" previd='a' h='4294967296'"), "bad 'h' on <resume>"),
        ("token-no-mech", "<request-token xmlns='%s'/>" % NS_FAST,
         "<request-token> without 'mechanism'"),
        ("fast-invalidate", "<fast xmlns='%s' invalidate='maybe'/>" % NS_FAST,
         "bad 'invalidate' on <fast>"),
        ("fast-count", "<fast xmlns='%s' count='x'/>" % NS_FAST, "bad 'count' on <fast>")):
    sasl2_refused("sasl2-" + name, BADF, inner, inner, "bad-format", text)
sasl2_refused("sasl2-mismatched-end", "SASL2 not XML", "<user-agent></bind> inside <authenticate>",
              "<user-agent></bind>", "not-well-formed", "mismatched end tag")
sasl2_refused("sasl2-undeclared-prefix", "SASL2 not XML", "<x:foo/> (x undeclared) inside it",
              "<x:foo/>", "not-well-formed", "undeclared prefix")
for what in ("next", "success"):
    after_tls("sasl2-client-" + what, "SASL2 not from a client",
              "<%s xmlns='%s'/> from the client" % (what, NS_SASL2),
              ("<%s xmlns='%s'/>" % (what, NS_SASL2)).encode(), "unsupported-stanza-type",
              "element not allowed before authentication",
              "element not allowed before authentication")

# Log injection through <authenticate mechanism>: escaped as for <auth>.
case("log-forge-mechanism2", "log injection",
     "<authenticate mechanism='X&#10;&lt;0>conn=... summary'> (connect mode)",
     send_fail_close(authenticate(WRONG_IR, mech="X" + FORGE)),
     PLAIN_OK, tls=[HDR_OUT(), FEAT_SASL2, FAILURE2("invalid-mechanism"), CLOSE],
     reason="client closed the stream after 1 failed attempt", connect=True,
     log=[r"authentication attempt 1 failed: mechanism 'X%s'$" % re.escape(FORGED)])

# -- SASL2 in the session: where it is offered, what each attempt gets.
S2 = "SASL2"
case("sasl2-not-offered", S2, "<authenticate mechanism='PLAIN'> with --no-sasl2 (exec mode)",
     tls_then(authenticate(ir(plain_b64("alice", "right")))), PLAIN_OK,
     tls=[HDR_OUT(), FEAT_SASL1, ERR("unsupported-stanza-type", "SASL2 is not offered here")],
     reason="unsupported-stanza-type: <authenticate> where SASL2 was not offered",
     args=["--no-sasl2"])
case("sasl2-abort-not-offered", S2, "<abort xmlns='%s'/> with --no-sasl2 (exec mode)" % NS_SASL2,
     tls_then(("<abort xmlns='%s'/>" % NS_SASL2).encode()), PLAIN_OK,
     tls=[HDR_OUT(), FEAT_SASL1, ERR("unsupported-stanza-type", "SASL2 is not offered here")],
     reason="unsupported-stanza-type: <abort> of SASL2 where SASL2 was not offered",
     args=["--no-sasl2"])


def not_offered_connect(c):
    tls_hello(c)
    c.send(authenticate(ir(plain_b64("alice", "right"))))
    c.read_to_eof()


case("sasl2-no-sasl2", S2, "<authenticate mechanism='PLAIN'> with --no-sasl2 (connect mode)",
     not_offered_connect, PLAIN_OK,
     tls=[HDR_OUT(), FEAT_SASL1, ERR("unsupported-stanza-type", "SASL2 is not offered here")],
     reason="unsupported-stanza-type: <authenticate> where SASL2 was not offered",
     connect=True, args=["--no-sasl2"])
sasl2_case("sasl2-mechanism", S2, "<authenticate mechanism='DIGEST-MD5'>",
           authenticate(WRONG_IR, mech="DIGEST-MD5"), "invalid-mechanism",
           "mechanism 'DIGEST-MD5'")
sasl2_case("sasl2-wrong-password", S2, "PLAIN with a wrong password in <initial-response>",
           authenticate(ua_with("<software>hostile.py</software>") + bind2() + WRONG_IR),
           "not-authorized", "helper rejected", runs=1)
sasl2_case("sasl2-abort", S2, "<abort xmlns='%s'/> instead of <authenticate>" % NS_SASL2,
           ("<abort xmlns='%s'/>" % NS_SASL2).encode(), "aborted", "aborted")
sasl2_case("sasl2-token-no-fast", S2, "<request-token/> without --fast",
           authenticate(UA + "<request-token xmlns='%s' mechanism='HT-SHA-256-NONE'/>" %
                        NS_FAST + WRONG_IR),
           "malformed-request", "<request-token/> where FAST is not offered")
sasl2_case("sasl2-ht-no-fast", S2, "mechanism='HT-SHA-256-NONE' without --fast",
           authenticate(UA + ir(base64.b64encode(b"alice\0" + bytes(32))),
                        mech="HT-SHA-256-NONE"),
           "invalid-mechanism", "mechanism 'HT-SHA-256-NONE'")


def response_mixed(c):
    tls_hello(c)
    c.send(authenticate())
    c.recv_until(b"<challenge")
    c.send(("<response xmlns='%s'>" % NS_SASL).encode() + plain_b64("alice", "right") +
           b"</response>")
    c.read_to_eof()


case("sasl2-mixed-response", S2,
     "<authenticate> without <initial-response>, then a classic <response>",
     response_mixed, PLAIN_OK,
     tls=[HDR_OUT(), FEAT_SASL2, CHALLENGE2,
          ERR("policy-violation", "SASL and SASL2 elements mixed")],
     reason="policy-violation: a <response/> of the other SASL profile", connect=True)


def auth_mixed(c):
    tls_hello(c)
    c.send(auth().replace(b"'PLAIN'", b"'DIGEST-MD5'"))
    c.recv_until(b"</failure>")
    c.send(authenticate(WRONG_IR))
    c.read_to_eof()


case("sasl2-mixed-auth", S2, "a classic <auth> (DIGEST-MD5) failure, then <authenticate>",
     auth_mixed, PLAIN_OK,
     tls=[HDR_OUT(), FEAT_SASL2, FAILURE("invalid-mechanism"),
          ERR("policy-violation", "SASL and SASL2 elements mixed")],
     reason="policy-violation: <authenticate> after the other SASL profile's", connect=True)

# -- FAST (--fast): the request is checked before the helper is asked.
FAST = "SASL2 FAST"
HT_NONE = "HT-SHA-256-NONE"
sasl2_case("fast-no-ua", FAST, "HT-SHA-256-NONE without <user-agent id>",
           authenticate(ir(base64.b64encode(b"alice\0" + bytes(32))), mech=HT_NONE),
           "malformed-request", "FAST without <user-agent id='...'>", fast=True)
sasl2_case("fast-empty-ua", FAST, "HT-SHA-256-NONE with <user-agent id=''>",
           authenticate("<user-agent id=''/>" + ir(base64.b64encode(b"alice\0" + bytes(32))),
                        mech=HT_NONE),
           "malformed-request",
           "FAST without <user-agent id='...'> (empty, or a control character in it)", fast=True)
sasl2_case("fast-ctl-ua", FAST, "HT-SHA-256-NONE with a tab in <user-agent id> (&#9;)",
           authenticate("<user-agent id='a&#9;b'/>" + ir(base64.b64encode(b"alice\0" + bytes(32))),
                        mech=HT_NONE),
           "malformed-request",
           "FAST without <user-agent id='...'> (empty, or a control character in it)", fast=True)
sasl2_case("fast-with-plain", FAST, "<fast/> with mechanism PLAIN",
           authenticate(UA + "<fast xmlns='%s'/>" % NS_FAST + WRONG_IR),
           "malformed-request", "<fast/> with PLAIN, not a FAST mechanism", fast=True)
sasl2_case("fast-token-mech", FAST, "<request-token mechanism> not offered (HT-SHA-256-FOO)",
           authenticate(UA + "<request-token xmlns='%s' mechanism='HT-SHA-256-FOO'/>" %
                        NS_FAST + WRONG_IR),
           "malformed-request", "<request-token/> for HT-SHA-256-FOO, which is not offered",
           fast=True)
for name, resp, sent in (("fast-no-nul", b"alice" + bytes(range(1, 33)), "no NUL"),
                         ("fast-hmac-31", b"alice\0" + bytes(31), "an HMAC of 31 bytes"),
                         ("fast-hmac-33", b"alice\0" + bytes(33), "an HMAC of 33 bytes")):
    sasl2_case(name, FAST, "HT-SHA-256-NONE, an initial response with %s" % sent,
               authenticate(UA + ir(base64.b64encode(resp)), mech=HT_NONE),
               "malformed-request", "malformed FAST response (user NUL 32-byte HMAC)",
               fast=True)
sasl2_case("fast-hmac-32", FAST, "HT-SHA-256-NONE with a 32-byte HMAC: the helper decides",
           authenticate(UA + ir(base64.b64encode(b"alice\0" + bytes(32))),
                        mech=HT_NONE),
           "not-authorized", "helper rejected", runs=1, fast=True)

# -- attributes: too many, duplicates
err_case("attrs-over", "too many attributes", "a header with %d attributes" % (XG_ATTRS_MAX + 1),
         header(extra="".join(" a%d='1'" % i for i in range(XG_ATTRS_MAX + 1 - 4))),
         "policy-violation", LIMIT, LIMIT)
header_ok("attrs-max", "too many attributes", "a header with %d attributes (the limit)" % XG_ATTRS_MAX,
          header(extra="".join(" a%d='1'" % i for i in range(XG_ATTRS_MAX - 4))))
after_tls("attrs-over-auth", "too many attributes", "<auth> with %d attributes" % (XG_ATTRS_MAX + 1),
          b"<auth xmlns='" + NS_SASL.encode() + b"' mechanism='PLAIN'" +
          b"".join(b" a%d='1'" % i for i in range(XG_ATTRS_MAX - 1)) + b">AGFsaWNlAHJpZ2h0</auth>",
          "policy-violation", LIMIT, LIMIT)
err_case("ns-over", "too many attributes",
         "%d namespace declarations on the header (XG_NS_MAX %d)" % (XG_NS_MAX + 1, XG_NS_MAX),
         header(extra="".join(" xmlns:p%d='urn:p%d'" % (i, i) for i in range(XG_NS_MAX - 1))),
         "policy-violation", LIMIT, LIMIT)
err_case("dup-attr", "duplicate attributes", "to='...' twice",
         header(extra=" to='example.test'"),
         "not-well-formed", "not well-formed XML", "not well-formed XML")
err_case("dup-xmlns", "duplicate attributes", "xmlns:stream declared twice",
         header(extra=" xmlns:stream='%s'" % NS_STREAMS),
         "not-well-formed", "not well-formed XML", "not well-formed XML")
err_case("dup-attr-prefixes", "duplicate attributes",
         "a:x and b:x with a and b bound to one URI (XML Namespaces 6.3)",
         header(extra=" xmlns:a='urn:x' xmlns:b='urn:x' a:x='1' b:x='2'"),
         "not-well-formed", "duplicate attribute", "duplicate attribute")
after_hello("dup-attr-prefixes-child", "duplicate attributes",
            "a:x and b:x (one URI) on <starttls/>",
            b"<starttls xmlns='" + NS_TLS.encode() +
            b"' xmlns:a='urn:x' xmlns:b='urn:x' a:x='1' b:x='2'/>",
            "not-well-formed", "duplicate attribute", "duplicate attribute")

# -- namespaces
err_case("ns-stream-wrong", "namespace", "xmlns:stream='http://etherx.jabber.org/streamz'",
         header(stream_ns=NS_STREAMS + "z"), "invalid-namespace",
         "stream namespace must be " + NS_STREAMS, "stream namespace must be " + NS_STREAMS)
err_case("ns-default-missing", "namespace", "a header without xmlns='jabber:client'",
         header(xmlns=None), "invalid-namespace", "content namespace must be jabber:client",
         "content namespace must be jabber:client")
err_case("ns-jabber-server", "namespace", "xmlns='jabber:server' on the client port",
         header(xmlns="jabber:server"), "invalid-namespace",
         "content namespace must be jabber:client", "content namespace must be jabber:client")
err_case("ns-undeclared-prefix", "namespace", "<foo:stream> with foo undeclared",
         ("<foo:stream to='%s' version='1.0' xmlns='jabber:client' xmlns:stream='%s'>"
          % (DOMAIN, NS_STREAMS)).encode(),
         "not-well-formed", "undeclared prefix", "undeclared prefix")
err_case("ns-undeclared-attr", "namespace", "an attribute foo:x with foo undeclared",
         header(extra=" foo:x='1'"), "not-well-formed", "bad namespace declaration",
         "bad namespace declaration")
err_case("ns-unbind", "namespace", "xmlns:a='' (undeclaring a prefix, Namespaces 1.0)",
         header(extra=" xmlns:a=''"), "not-well-formed", "bad namespace declaration",
         "bad namespace declaration")
err_case("ns-local-name", "namespace", "<stream:foo> in the streams namespace",
         header().replace(b"<stream:stream", b"<stream:foo"), "bad-format",
         "expected a stream header", "expected a stream header")
after_hello("ns-undeclared-child", "namespace", "<x:starttls/> with x undeclared",
            b"<x:starttls/>", "not-well-formed", "undeclared prefix", "undeclared prefix")
after_hello("ns-starttls-wrong", "namespace", "<starttls/> in jabber:client (no xmlns)",
            b"<starttls/>", "unsupported-stanza-type",
            "element not allowed before authentication",
            "element not allowed before authentication")
err_case("empty-stream", "namespace", "<stream:stream .../> (empty element)",
         header()[:-1] + b"/>", "bad-format", "empty stream element", "empty stream element")

# -- to
err_case("to-unknown", "to", "to='unknown.test'", header(to="unknown.test"),
         "host-unknown", "this domain is not served here", "unknown domain")
err_case("to-missing", "to", "a header without 'to'", header(to=None),
         "host-unknown", "no 'to' attribute", "stream header without 'to'")
err_case("to-too-long", "to", "a 'to' of 254 characters (a DNS name has at most 253)",
         header(to="a" * 250 + ".com"),
         "host-unknown", "this domain is not served here", "unknown domain")
err_case("to-bad-name", "to", "to='exa mple.test'", header(to="exa mple.test"),
         "host-unknown", "this domain is not served here", "unknown domain")
def restart_to_other(c):
    to_tls(c)
    c.send(header(to=OTHER))
    c.read_to_eof()


case("to-changed", "to", "a restart header naming another domain served here",
     restart_to_other, PLAIN_OK,
     tls=[HDR_OUT(), ERR("host-unknown", "this domain is not served here")],
     reason="host-unknown: unknown domain")

# -- version
err_case("version-missing", "version", "a header without 'version'", header(version=None),
         "unsupported-version", "version 1.0 required", "unsupported stream version", frm=True)
err_case("version-0.9", "version", "version='0.9'", header(version="0.9"),
         "unsupported-version", "version 1.0 required", "unsupported stream version", frm=True)
err_case("version-2.0", "version", "version='2.0'", header(version="2.0"),
         "unsupported-version", "version 1.0 required", "unsupported stream version", frm=True)
header_ok("version-1.5", "version", "version='1.5' (a later minor version: answered with 1.0)",
          header(version="1.5"))

# -- order: what comes before TLS, and twice
after_hello("auth-before-tls", "order", "<auth> before <starttls/>", auth(),
            "policy-violation", "STARTTLS is required", "<auth> before STARTTLS")
after_hello("stanza-before-tls", "order", "<message/> before <starttls/>",
            b"<message to='bob@example.test'><body>hi</body></message>",
            "not-authorized", "authenticate first", "<message/> before authentication")
after_tls("starttls-after-tls", "order", "<starttls/> again on the TLS stream", STARTTLS,
          "policy-violation", "unexpected element", "<starttls> during SASL")


def pipelined_after_starttls(extra, close=True):
    def run(c):
        hello(c)
        c.send(STARTTLS + extra)
        c.recv_until(b"<proceed")
        c.starttls()
        c.send(HDR)
        c.recv_until(b"</stream:features>")
        c.send(b"</stream:stream>")
        c.read_to_eof()
    return run


DISCARD_AUTH = auth()
case("starttls-twice-pipelined", "order", "<starttls/><starttls/> in one write",
     pipelined_after_starttls(STARTTLS), PLAIN_OK, tls=TLS_OK + [CLOSE], exit=0,
     reason="client closed the stream before authenticating",
     log=[r"discarded %d plaintext bytes sent after <starttls/>" % len(STARTTLS)])
case("auth-pipelined-after-starttls", "order",
     "<starttls/><auth>alice/right</auth> in one write",
     pipelined_after_starttls(DISCARD_AUTH), PLAIN_OK, tls=TLS_OK + [CLOSE], exit=0,
     reason="client closed the stream before authenticating",
     log=[r"discarded %d plaintext bytes sent after <starttls/>" % len(DISCARD_AUTH)])


def hello_pipelined(c):
    hello(c)
    ch, _, _ = client_hello()
    c.send(STARTTLS + ch)
    c.read_to_eof()


case("clienthello-pipelined", "order", "<starttls/> and a ClientHello in one write",
     hello_pipelined, PLAIN_OK, reason="TLS handshake timed out",
     args=["--handshake-timeout", "2"],
     log=[r"discarded \d+ plaintext bytes sent after <starttls/>"])


def plaintext_after_proceed(c):
    hello(c)
    c.send(STARTTLS)
    c.recv_until(b"<proceed")
    c.send(DISCARD_AUTH)
    c.read_to_eof()


case("plaintext-after-proceed", "order", "<auth> in plaintext after <proceed/>",
     plaintext_after_proceed, PLAIN_OK + [TLS_ALERT],
     reason=re.compile(r"TLS handshake failed: .+"), check_tx=False)


def pipelined_after_auth_fail(c):
    tls_hello(c)
    c.send(auth(pw="wrong") + b"<message to='bob@example.test'><body>hi</body></message>")
    c.read_to_eof()


case("pipelined-after-auth-failure", "order",
     "<auth>alice/wrong</auth><message/> in one write",
     pipelined_after_auth_fail, PLAIN_OK,
     tls=TLS_OK + [FAILURE("not-authorized"), ERR("not-authorized", "authenticate first")],
     reason="not-authorized: <message/> before authentication", helper_runs=1)
RESTART = header(decl=True)


def pipelined_after_auth_ok(c):
    tls_hello(c)
    c.send(auth() + RESTART)
    c.recv_until(b"<success")
    c.unwrap()
    c.read_to_eof()


case("pipelined-after-auth-success", "order",
     "<auth>alice/right</auth> and the restart header in one write (exec mode)",
     pipelined_after_auth_ok, PLAIN_OK, tls=TLS_OK + [SUCCESS], exit=0,
     reason="client closed first", helper_runs=1, exec_out=RESTART, end="EOF")

# go-sendxmpp 0.5.6 (go-xmpp), byte for byte: <?xml?> opens every stream,
# the restarts too, and a newline follows each tag at stream level.  The
# newline after <starttls/> and after </auth> ends the old stream; the
# program gets the restarted stream without it (issue 19).
GO_HDR = ("<?xml version='1.0'?>\n<stream:stream to='%s' xmlns='%s' "
          "xmlns:stream='%s' version='1.0'>\n" % (DOMAIN, NS_CLIENT, NS_STREAMS)).encode()


def newline_restart(c):
    hello(c, GO_HDR)
    c.send(STARTTLS + b"\n")
    c.recv_until(b"<proceed")
    c.starttls()
    c.send(GO_HDR)
    c.recv_until(b"</stream:features>")
    c.send(auth() + b"\n" + GO_HDR)
    c.recv_until(b"<success")
    c.unwrap()
    c.read_to_eof()


case("newline-restart", "order",
     "a newline after each tag, <?xml?> opening each restart (go-sendxmpp, exec mode)",
     newline_restart, PLAIN_OK, tls=TLS_OK + [SUCCESS], exit=0,
     reason="client closed first", helper_runs=1, exec_out=GO_HDR, end="EOF")


def upper_user(c):
    tls_hello(c)
    c.send(auth(user="ALICE") + RESTART)
    c.recv_until(b"<success")
    c.unwrap()
    c.read_to_eof()


case("sasl-user-case", "SASL", "PLAIN as ALICE: prepared to alice, whom the helper accepts",
     upper_user, PLAIN_OK, tls=TLS_OK + [SUCCESS], exit=0,
     reason="client closed first", helper_runs=1, exec_out=RESTART, end="EOF",
     log=[r" summary client=\S+ domain=example\.test user=alice "])

# -- Direct TLS on the STARTTLS port


def direct_tls(c):
    hello_bytes, obj, inc = client_hello()
    c.send(hello_bytes)
    c.read_to_eof()
    # What a real TLS client makes of the answer.
    inc.write(bytes(c.got[0]))
    try:
        obj.do_handshake()
        c.notes.append("the TLS client accepted it?!")
    except ssl.SSLError as e:
        c.notes.append("TLS client: %s" % (e.reason or e))


case("direct-tls", "Direct TLS", "a real ClientHello as the first bytes, --starttls-only",
     direct_tls,
     [HDR_OUT(False), ERR("not-well-formed",
                          "TLS is not spoken here before STARTTLS (Direct TLS is not enabled)")],
     reason="not-well-formed: TLS ClientHello on the STARTTLS port (Direct TLS is not enabled)",
     args=["--starttls-only"])


def plain_header(c):
    c.send(HDR)
    c.read_to_eof()


case("plaintext-direct-only", "Direct TLS", "a plaintext stream header, --direct-tls-only",
     plain_header,
     [HDR_OUT(False), ERR("policy-violation", "only Direct TLS (XEP-0368) is spoken here")],
     reason="policy-violation: plaintext on a --direct-tls-only port",
     args=["--direct-tls-only"])

# -- slow clients


def slow_header(c):
    n = c.trickle(HDR)
    c.notes.append("%d of %d header bytes sent" % (n, len(HDR)))
    c.read_to_eof()


case("slowloris-header", "slowloris", "the header at one byte a second, --header-timeout 3",
     slow_header, [HDR_OUT(False), ERR("connection-timeout", "no stream header in time")],
     reason="connection-timeout: no stream header within 3 s",
     args=["--header-timeout", "3"], min_secs=3)


def idle(c):
    c.read_to_eof()


case("idle", "slowloris", "nothing at all, --header-timeout 2", idle,
     [HDR_OUT(False), ERR("connection-timeout", "no stream header in time")],
     reason="connection-timeout: no stream header within 2 s",
     args=["--header-timeout", "2"], min_secs=2)


def slow_after_header(c):
    hello(c)
    c.trickle(STARTTLS)
    c.read_to_eof()


case("slowloris-total", "slowloris",
     "header at once, then <starttls/> at one byte a second, --timeout 4",
     slow_after_header, [HDR_OUT(), FEAT_TLS, ERR("connection-timeout", "too slow")],
     reason="connection-timeout: pre-authentication timeout (4 s)",
     args=["--timeout", "4", "--header-timeout", "3"], min_secs=4)


def slow_restart(c):
    to_tls(c)
    c.trickle(HDR)
    c.read_to_eof()


case("slowloris-restart", "slowloris",
     "the restart header after TLS at one byte a second, --header-timeout 3",
     slow_restart, PLAIN_OK, tls=[HDR_OUT(), ERR("connection-timeout", "no stream header in time")],
     reason="connection-timeout: no stream header within 3 s",
     args=["--header-timeout", "3"], min_secs=3)

# -- a TLS handshake that never ends


def proceed_then(what):
    def run(c):
        hello(c)
        c.send(STARTTLS)
        c.recv_until(b"<proceed")
        ch, _, _ = client_hello()
        if what == "half":
            c.send(ch[:len(ch) // 2])
        elif what == "trickle":
            c.trickle(ch)
        c.read_to_eof()
    return run


for what, sent in (("silent", "nothing after <proceed/>"),
                   ("half", "half a ClientHello after <proceed/>"),
                   ("trickle", "the ClientHello at one byte a second")):
    case("handshake-" + what, "TLS handshake never ends", sent + ", --handshake-timeout 2",
         proceed_then(what), PLAIN_OK, reason="TLS handshake timed out",
         args=["--handshake-timeout", "2"], min_secs=2)

# -- clients that disappear at every step (reason: "closed" or "reset")
CLOSED = "client closed the connection before authenticating"


def vanish(step, reset=False):
    def run(c):
        if step == "connect":
            pass
        elif step == "mid-header":
            c.send(HDR[:40])
            time.sleep(0.2)
        elif step == "header":
            hello(c)
        elif step == "starttls":
            hello(c)
            c.send(STARTTLS)
            c.recv_until(b"<proceed")
        elif step == "mid-handshake":
            hello(c)
            c.send(STARTTLS)
            c.recv_until(b"<proceed")
            ch, _, _ = client_hello()
            c.send(ch)
            time.sleep(0.2)
        elif step == "tls":
            to_tls(c)
        elif step == "mid-auth":
            tls_hello(c)
            c.send(auth()[:60])
            time.sleep(0.2)
        elif step == "helper":
            tls_hello(c)
            c.send(auth(pw="wrong"))
            time.sleep(0.5)         # the helper sleeps 2 s
        elif step == "helper-right":
            tls_hello(c)
            c.send(auth())
            time.sleep(0.5)
        elif step == "failure":
            tls_hello(c)
            c.send(auth(pw="wrong"))
            c.recv_until(b"</failure>")
        c.close(reset=reset)
    return run


TLS_GONE = re.compile(r"TLS handshake failed: .+")
VANISH = [
    ("connect", "right after connecting", [], None, CLOSED, 0),
    ("mid-header", "in the middle of the header", [], None, CLOSED, 0),
    ("header", "after the header and features", [HDR_OUT(), FEAT_TLS], None, CLOSED, 0),
    ("starttls", "after <proceed/>", PLAIN_OK, None, TLS_GONE, 0),
    ("mid-handshake", "after its ClientHello", PLAIN_OK, None, TLS_GONE, 0),
    ("tls", "once TLS is up, before the restart", PLAIN_OK, [], CLOSED, 0),
    ("mid-auth", "in the middle of <auth>", PLAIN_OK, TLS_OK, CLOSED, 0),
    ("helper", "while the helper runs (it sleeps 2 s; wrong password)", PLAIN_OK, TLS_OK,
     CLOSED, 1),
    ("failure", "after the SASL <failure/>", PLAIN_OK, TLS_OK + [FAILURE("not-authorized")],
     CLOSED, 1),
]
for step, sent, plain, tls, reason, runs in VANISH:
    # The transcript holds what came before the client left; the client
    # never reads to the end, so the end and tx are not checked.
    case("vanish-" + step, "client disappears", "closes " + sent, vanish(step), plain,
         tls=tls, reason=reason, helper_runs=runs, end=None, check_tx=False,
         helper="helper-slow" if step == "helper" else "helper")

# The same with a reset instead of a FIN where the read sees it.
RESET = re.compile(r"client read: .+")
case("reset-header", "client disappears", "resets (RST) after the header",
     vanish("header", reset=True), [HDR_OUT(), FEAT_TLS], reason=RESET, end=None,
     check_tx=False)
case("reset-tls", "client disappears", "resets (RST) once TLS is up",
     vanish("tls", reset=True), PLAIN_OK, tls=[], reason=RESET,
     end=None, check_tx=False)


# Right password, client gone while the helper decides: the exec'd program
# is started and sees the end at once; the session counts as the user's.
case("vanish-helper-accepts", "client disappears",
     "closes while the helper runs (it sleeps 2 s; right password)",
     vanish("helper-right"), PLAIN_OK, tls=TLS_OK, exit=0,
     reason="client closed first",
     helper_runs=1, helper="helper-slow", end=None, check_tx=False, exec_out=b"")


# ----------------------------------------------------------------- runner

def session_procs(sid):
    """Live processes of session sid (zombies are not running)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        rest = st.rsplit(")", 1)[1].split()
        if rest[0] != "Z" and int(rest[3]) == sid:
            out.append(int(d))
    return out


def proc_cmd(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


SUMMARY = re.compile(r"^xmppgate\[(\d+)\]: conn=([0-9a-f]{12}) summary client=(\S+) "
                     r"domain=(\S+) user=(\S+) backend=(\S+) rx=(\d+) tx=(\d+) "
                     r"duration=(\d+\.\d{3}) outcome=(ok|refused|tempfail) "
                     r'reason="([^"]*)"$')
OUTCOME = {0: "ok", 1: "refused", 111: "tempfail"}


class Result:
    pass


def helper_runs_for(conn_id):
    try:
        with open(os.path.join(OPT.dir, "helper-runs")) as f:
            return sum(1 for l in f if l.split()[:1] == [conn_id])
    except OSError:
        return 0


def run_case(cs):
    res = Result()
    res.case, res.problems, res.notes = cs, [], []
    log = os.path.join(OPT.dir, cs.name + ".log")
    execout = os.path.join(OPT.dir, cs.name + ".exec")
    helper = OPT.slow_helper if cs.helper == "helper-slow" else OPT.helper
    closed = None
    if cs.connect:
        # A port bound and never listened on refuses every connect, and
        # stays ours (no other socket gets it) until the case is over.
        closed = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        closed.bind(("127.0.0.1", 0))
        mode = ["--backend", "127.0.0.1:%d" % closed.getsockname()[1]]
    else:
        mode = ["--", "/bin/sh", OPT.exec_prog, execout]
    argv = [OPT.bin, "--cert", OPT.cert, "--key", OPT.key, "--domain", DOMAIN,
            "--domain", OTHER, "--auth", helper, "--auth-delay", "0"] + \
        (["--user", "root"] if os.geteuid() == 0 and "--user" not in cs.args
         else []) + cs.args + mode
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LISTEN_", "REMOTE_", "TCPREMOTE", "TCPLOCAL"))
           and k not in ("JOURNAL_STREAM", "NOTIFY_SOCKET")}

    lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lst.bind(("127.0.0.1", 0))
    lst.listen(1)
    cli = socket.create_connection(lst.getsockname(), timeout=5)
    srv, _ = lst.accept()
    lst.close()
    port = cli.getsockname()[1]
    t0 = time.monotonic()
    with open(log, "wb") as lf:
        if cs.journal:
            st = os.fstat(lf.fileno())
            env["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino)
        p = subprocess.Popen(argv, stdin=srv.fileno(), stdout=srv.fileno(), stderr=lf,
                             env=env, start_new_session=True, close_fds=True)
    srv.close()
    c = Client(cli, t0 + CASE_SECS)
    try:
        cs.run(c)
    except Bad as e:
        res.problems.append("client: %s" % e)
    except Exception as e:      # a socket error the case did not expect
        res.problems.append("client: %s: %s; got %r" % (type(e).__name__, e,
                                                         [bytes(g) for g in c.got]))
    c.close()
    res.client_secs = c.done_at - t0
    res.notes += c.notes

    # The process must go away on its own, soon.
    try:
        res.exit = p.wait(timeout=EXIT_SECS)
    except subprocess.TimeoutExpired:
        res.problems.append("xmppgate still running %g s after the client was done" % EXIT_SECS)
        p.kill()
        res.exit = p.wait()
    res.exit_secs = time.monotonic() - c.done_at
    if closed is not None:
        closed.close()
    left = []
    end = time.monotonic() + LEFT_SECS
    while True:
        left = session_procs(p.pid)
        if not left or time.monotonic() > end:
            break
        time.sleep(0.05)
    if left:
        res.problems.append("left running in its session: %s" %
                            "; ".join("%d %s" % (q, proc_cmd(q)) for q in left))
        for q in left:
            try:
                os.kill(q, 9)
            except OSError:
                pass

    # The transcript, byte for byte.
    res.got = [bytes(g) for g in c.got]
    res.end = c.end
    want = [cs.plain] + ([cs.tls] if cs.tls is not None else [])
    if len(res.got) != len(want):
        res.problems.append("expected %s, got %s" % (
            "TLS" if cs.tls is not None else "no TLS",
            "TLS" if len(res.got) > 1 else "no TLS"))
    for i, (pieces, got) in enumerate(zip(want, res.got)):
        pat = b"".join(p if isinstance(p, bytes) else p.encode() for p in pieces)
        if not re.fullmatch(pat, got, re.S):
            res.problems.append("%s transcript differs:\n        got:      %r\n"
                                "        expected: %s" % (
                                    ("plaintext", "TLS")[i], got,
                                    describe_pattern(pieces)))
    if cs.end is not None and res.end != cs.end:
        res.problems.append("the connection should end with %s, it ended with %s" %
                            (cs.end, res.end))

    # Exit status and the summary line.
    if res.exit != cs.exit:
        res.problems.append("exit status %s, expected %s" % (res.exit, cs.exit))
    with open(log, errors="replace") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    res.log = lines
    # Each line is one of ours: no client text made a line of its own.
    # In the journal format the <N> prefix must be ours too (a client's
    # can only be LOG_EMERG..LOG_CRIT, which xmppgate never uses).
    ours = (re.compile(r"^<([3-7])>conn=\S+ ") if cs.journal else
            re.compile(r"^xmppgate\[%d\]: conn=\S+ " % p.pid))
    for l in lines:
        if not ours.match(l):
            res.problems.append("a log line that is not xmppgate's: %r" % l)
    if cs.journal:
        lines = ["xmppgate[%d]: %s" % (p.pid, re.sub(r"^<[0-7]>", "", l))
                 for l in lines]
    sums = [l for l in lines if re.match(r"xmppgate\[\d+\]: conn=\S+ summary ", l)]
    res.reason = None
    conn_ids = {m.group(1) for m in (re.search(r" conn=([0-9a-f]{12}) ", l) for l in lines) if m}
    if len(conn_ids) != 1:
        res.problems.append("log lines of %d connections, expected one: %s" % (
            len(conn_ids), " ".join(sorted(conn_ids))))
    if len(sums) != 1:
        res.problems.append("%d summary lines, expected 1" % len(sums))
    for l in sums[:1]:
        m = SUMMARY.match(l)
        if not m:
            res.problems.append("summary line malformed: %s" % l)
            continue
        res.reason = m.group(11)
        if int(m.group(1)) != p.pid:
            res.problems.append("summary from pid %s, xmppgate was %d" % (m.group(1), p.pid))
        if m.group(3) != "127.0.0.1:%d" % port:
            res.problems.append("summary client=%s, expected 127.0.0.1:%d" % (m.group(3), port))
        if m.group(10) != OUTCOME.get(cs.exit):
            res.problems.append("summary outcome=%s, expected %s" % (m.group(10),
                                                                    OUTCOME.get(cs.exit)))
        ok = (cs.reason.fullmatch(res.reason) if hasattr(cs.reason, "fullmatch")
              else res.reason == cs.reason)
        if not ok:
            res.problems.append('summary reason="%s", expected "%s"' % (
                res.reason, getattr(cs.reason, "pattern", cs.reason)))
        if cs.check_tx and int(m.group(8)) != sum(len(g) for g in res.got):
            res.problems.append("summary tx=%s, the client read %d bytes" % (
                m.group(8), sum(len(g) for g in res.got)))
        if cs.min_secs is not None and float(m.group(9)) < cs.min_secs - 0.05:
            res.problems.append("ended after %s s, before its %d s limit" % (
                m.group(9), cs.min_secs))
    for pat in cs.log:
        if not any(re.search(pat, l) for l in lines):
            res.problems.append("no log line matches %r" % pat)

    # What ran: the helper, the exec'd program.
    runs = sum(helper_runs_for(i) for i in conn_ids)
    if runs != cs.helper_runs:
        res.problems.append("the auth helper ran %d time(s), expected %d" % (runs, cs.helper_runs))
    if cs.exec_out is None and os.path.exists(execout):
        res.problems.append("the exec'd program ran")
    elif cs.exec_out is not None:
        try:
            with open(execout, "rb") as f:
                got = f.read()
        except OSError:
            got = None
        if got != cs.exec_out:
            res.problems.append("the exec'd program got %r, expected %r" % (got, cs.exec_out))
    return res


def describe_pattern(pieces):
    out = []
    for p in pieces:
        p = p if isinstance(p, bytes) else p.encode()
        if p == HDR_OUT(True):
            out.append("<our header from=%s>" % DOMAIN)
        elif p == HDR_OUT(False):
            out.append("<our header, no from>")
        else:
            out.append(re.sub(rb"\\(.)", rb"\1", p).decode(errors="replace"))
    return " ".join(out)


def report(res):
    cs = res.case
    got = " | TLS: ".join(describe(g) for g in res.got)
    end = res.end or "client left"
    line = "[%s] %s: sent %s -> %s, %s; exit %s; reason=\"%s\"; exited %.1f s after the client" % (
        cs.klass, cs.name, cs.sent, got, end, res.exit, res.reason, res.exit_secs)
    if res.notes:
        line += " (%s)" % "; ".join(res.notes)
    status = "FAIL" if res.problems else "PASS"
    print("%s %s" % (status, line))
    for pr in res.problems:
        print("    %s" % pr)
    if status == "FAIL" or (OPT.show and res.problems):
        for l in res.log[-12:]:
            print("    log: %s" % l)
    return status


def main():
    global OPT
    ap = argparse.ArgumentParser()
    for a in ("--dir", "--ca", "--cert", "--key", "--helper", "--slow-helper", "--exec-prog"):
        ap.add_argument(a)
    ap.add_argument("--jobs", type=int, default=8)
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--show", action="store_true", help="log lines of every failed case")
    OPT = ap.parse_args()
    OPT.bin = os.environ.get("XG_BIN") or os.path.join(
        os.environ.get("top_builddir", "."), "xmppgate")
    names = [c.name for c in CASES]
    dups = {n for n in names if names.count(n) > 1}
    if dups:
        sys.exit("hostile.py: duplicate case names: %s" % " ".join(sorted(dups)))
    if OPT.list:
        for c in CASES:
            print("%-30s %-26s %s" % (c.name, c.klass, c.sent))
        return 0
    for a in ("dir", "ca", "cert", "key", "helper", "slow_helper", "exec_prog"):
        if not getattr(OPT, a):
            sys.exit("hostile.py: --%s is required" % a.replace("_", "-"))
    cases = CASES
    if OPT.only:
        unknown = set(OPT.only) - set(names)
        if unknown:
            sys.exit("hostile.py: no such case: %s" % " ".join(sorted(unknown)))
        cases = [c for c in CASES if c.name in OPT.only]
    # The slow cases first, so that the pool is busy with the quick ones
    # while they wait.
    order = sorted(cases, key=lambda c: 0 if (c.min_secs or "helper-slow" == c.helper
                                               or "--handshake-timeout" in c.args) else 1)
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=OPT.jobs) as ex:
        futs = {c.name: ex.submit(run_case, c) for c in order}
        results = [futs[c.name].result() for c in cases]
    counts = {}
    for r in results:
        s = report(r)
        counts[s] = counts.get(s, 0) + 1
    print("hostile.py: %d cases in %.1f s: %s" % (
        len(results), time.monotonic() - t0,
        ", ".join("%d %s" % (n, s) for s, n in sorted(counts.items()))))
    return 1 if counts.get("FAIL", 0) else 0


if __name__ == "__main__":
    sys.exit(main())
