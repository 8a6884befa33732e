#!/bin/bash
# Plaintext transcripts before TLS: our stream header and features, and the
# stream errors for protocol violations.  Every error must be followed by
# </stream:stream> and the end of the connection, and be logged as a
# summary line with outcome=refused.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

DOMAIN=example.test
make_certs "$XG_TMP" "$DOMAIN"
write_helper "$XG_TMP/helper-reject" 'cat >/dev/null; exit 1'

cat >"$XG_TMP/raw.py" <<'EOF'
import os, socket, sys, time
import xml.etree.ElementTree as ET

# Seconds to wait for xmppgate: stretched when it runs under valgrind.
WAIT = 5 * int(os.environ.get("XG_TIME_FACTOR", "1"))

port, case = int(sys.argv[1]), sys.argv[2]
NS_STREAM = "{http://etherx.jabber.org/streams}"
NS_ERR = "{urn:ietf:params:xml:ns:xmpp-streams}"
NS_TLS = "{urn:ietf:params:xml:ns:xmpp-tls}"
NS_SASL = "{urn:ietf:params:xml:ns:xmpp-sasl}"

def header(to="example.test", xmlns="jabber:client"):
    return ("<?xml version='1.0'?><stream:stream to='%s' xmlns='%s' "
            "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"
            % (to, xmlns)).encode()

def bad(msg):
    print("BAD " + msg)
    sys.exit(1)

s = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
s.settimeout(WAIT)
parser = ET.XMLPullParser(("start", "end"))
raw = b""
depth = 0
got = {"header": None, "features": None, "error": None, "close": False,
       "eof": False, "after_close": b""}

def pump(until, secs=WAIT):
    """Read and parse until until() is true or EOF; bounded."""
    global raw, depth
    end = time.monotonic() + secs
    while not until():
        if got["eof"]:
            return
        left = end - time.monotonic()
        if left <= 0:
            bad("timeout waiting; received so far: %r" % raw)
        s.settimeout(left)
        try:
            data = s.recv(65536)
        except socket.timeout:
            bad("timeout waiting; received so far: %r" % raw)
        except ConnectionResetError:
            data = b""
        if not data:
            got["eof"] = True
            return
        raw += data
        if got["close"]:
            got["after_close"] += data
            continue
        try:
            parser.feed(data)
            evs = list(parser.read_events())
        except ET.ParseError as e:
            bad("server sent XML that does not parse (%s): %r" % (e, raw))
        for ev, el in evs:
            if ev == "start":
                depth += 1
                if depth == 1:
                    got["header"] = dict(el.attrib, tag=el.tag)
            else:
                depth -= 1
                if depth == 0:
                    got["close"] = True
                elif depth == 1 and el.tag == NS_STREAM + "features":
                    got["features"] = el
                elif depth == 1 and el.tag == NS_STREAM + "error":
                    got["error"] = el
                elif depth == 1:
                    bad("unexpected element %s: %r" % (el.tag, raw))

def expect_error(conditions):
    pump(lambda: got["close"])
    if got["error"] is None:
        bad("no stream error before the end; received: %r" % raw)
    conds = [c.tag[len(NS_ERR):] for c in got["error"]
             if c.tag.startswith(NS_ERR) and c.tag != NS_ERR + "text"]
    if len(conds) != 1:
        bad("stream error should have exactly one condition: %r" % raw)
    if conds[0] not in conditions:
        bad("expected stream error %s, got %s: %r"
            % ("|".join(conditions), conds[0], raw))
    if not got["close"]:
        bad("no </stream:stream> after the error: %r" % raw)
    pump(lambda: False, WAIT)  # until EOF
    if got["after_close"].strip():
        bad("data after </stream:stream>: %r" % got["after_close"])
    print("OK stream error <%s/> then </stream:stream> and EOF" % conds[0])

def check_header(expect_from=True):
    h = got["header"]
    if h is None or h["tag"] != NS_STREAM + "stream":
        bad("no stream header: %r" % raw)
    if not raw.lstrip().startswith((b"<?xml", b"<stream:stream")):
        bad("reply does not start with a stream header: %r" % raw)
    if h.get("version") != "1.0":
        bad("header version should be 1.0: %r" % raw)
    if not h.get("id"):
        bad("header without id: %r" % raw)
    if expect_from and h.get("from") != "example.test":
        bad("header from should be example.test: %r" % raw)
    # the default namespace of the stream is jabber:client
    if b"xmlns='jabber:client'" not in raw and b'xmlns="jabber:client"' not in raw:
        bad("header without xmlns='jabber:client': %r" % raw)

def features_ok():
    pump(lambda: got["features"] is not None or got["close"])
    check_header()
    f = got["features"]
    if f is None:
        bad("no stream features: %r" % raw)
    kids = list(f)
    if [k.tag for k in kids] != [NS_TLS + "starttls"]:
        bad("features should be exactly <starttls/>: %r" % raw)
    if [k.tag for k in kids[0]] != [NS_TLS + "required"]:
        bad("<starttls/> should contain exactly <required/>: %r" % raw)
    if b"mechanisms" in raw or f.find(NS_SASL + "mechanisms") is not None:
        bad("SASL mechanisms offered before TLS: %r" % raw)
    print("OK header from=%s id=%s version=1.0, features <starttls><required/>, "
          "no <mechanisms>" % (got["header"].get("from"), got["header"].get("id")))

if case == "features":
    s.sendall(header())
    features_ok()
    s.sendall(b"</stream:stream>")
    pump(lambda: got["close"])
    if not got["close"]:
        bad("no </stream:stream> after ours: %r" % raw)
    pump(lambda: False, WAIT)
    print("OK our </stream:stream> answered with </stream:stream> and EOF")
elif case == "auth-before-tls":
    s.sendall(header())
    features_ok()
    s.sendall(b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
              b"mechanism='PLAIN'>AGFsaWNlAHNlY3JldA==</auth>")
    expect_error(["policy-violation"])
    if b"<success" in raw or b"<failure" in raw:
        bad("SASL answered before TLS: %r" % raw)
elif case == "comment":
    s.sendall(header())
    features_ok()
    s.sendall(b"<!-- -->")
    expect_error(["restricted-xml"])
elif case == "unknown-to":
    s.sendall(header(to="nowhere.test"))
    pump(lambda: got["close"])
    check_header(expect_from=False)
    if got["header"].get("from") not in (None, ""):
        bad("header for an unknown domain should not claim it: %r" % raw)
    expect_error(["host-unknown"])
elif case == "bad-namespace":
    s.sendall(header(xmlns="jabber:server"))
    expect_error(["invalid-namespace"])
elif case == "not-utf8":
    # a stream header whose attribute value is not UTF-8
    s.sendall(header().replace(b"version='1.0'",
                               b"version='1.0' xml:lang='\xff\xfe\xc3\x28'"))
    # RFC 6120 4.9.3.22: improperly encoded UTF-8
    expect_error(["unsupported-encoding"])
elif case == "processing-instruction":
    s.sendall(header())
    features_ok()
    s.sendall(b"<?foo bar?>")
    expect_error(["restricted-xml"])
elif case == "dtd":
    s.sendall(b"<?xml version='1.0'?><!DOCTYPE lol [<!ENTITY lol 'lol'>]>"
              + header()[len(b"<?xml version='1.0'?>"):])
    expect_error(["restricted-xml"])
elif case == "unknown-element":
    s.sendall(header())
    features_ok()
    s.sendall(b"<foo xmlns='urn:example:foo'/>")
    expect_error(["unsupported-stanza-type"])
elif case == "stanza-before-auth":
    s.sendall(header())
    features_ok()
    s.sendall(b"<message to='bob@example.test'><body>hi</body></message>")
    expect_error(["not-authorized"])
elif case == "oversized-name":
    s.sendall(header())
    features_ok()
    s.sendall(b"<" + b"a" * 5000 + b"/>")
    expect_error(["policy-violation"])
elif case == "starttls-injection":
    # Plaintext pipelined after <starttls/> must be thrown away, never
    # read as if it had come over TLS (the STARTTLS injection class).
    import base64, ssl
    s.sendall(header())
    features_ok()
    inj = ("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>"
           + base64.b64encode(b"\0alice\0secret").decode() + "</auth>")
    s.sendall(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
              + header() + inj.encode())
    buf = b""
    while b"<proceed" not in buf or not buf.rstrip().endswith(b"/>"):
        d = s.recv(1)
        if not d:
            bad("EOF before <proceed/>: %r" % buf)
        buf += d
    ctx = ssl.create_default_context(cafile=sys.argv[3])
    t = ctx.wrap_socket(s, server_hostname="example.test")
    t.settimeout(WAIT)
    t.sendall(header())
    got_tls = b""
    end = time.monotonic() + WAIT
    while b"</stream:features>" not in got_tls:
        if time.monotonic() > end:
            bad("no features after TLS: %r" % got_tls)
        d = t.recv(65536)
        if not d:
            bad("EOF after TLS: %r" % got_tls)
        got_tls += d
    if b"<failure" in got_tls or b"<success" in got_tls or b"error" in got_tls:
        bad("the injected plaintext was acted upon: %r" % got_tls)
    if b"<mechanism>PLAIN</mechanism>" not in got_tls:
        bad("fresh SASL features expected after TLS: %r" % got_tls)
    t.sendall(b"</stream:stream>")
    print("OK plaintext after <starttls/> discarded; after TLS only fresh features")
else:
    bad("unknown case " + case)
s.close()
EOF

PORT=$(free_port)
start_gate "$PORT" --cert "$XG_TMP/cert.pem" --key "$XG_TMP/key.pem" \
	--domain "$DOMAIN" --auth "$XG_TMP/helper-reject" \
	--backend "127.0.0.1:$(free_port)" --timeout $((10 * XG_TIME_FACTOR)) --auth-delay 0 --verbose

n=0
for c in features auth-before-tls comment unknown-to bad-namespace not-utf8 \
	processing-instruction dtd unknown-element stanza-before-auth \
	oversized-name starttls-injection; do
	check "transcript: $c"
	if ! out=$($XG_PY "$XG_TMP/raw.py" "$PORT" "$c" "$XG_TMP/ca.pem" 2>&1); then
		printf '%s\n' "$out" | sed 's/^/    /'
		fail "transcript $c"
	fi
	printf '%s\n' "$out" | sed 's/^/    /'
	n=$((n + 1))
	lines=$(wait_summaries "$n" 10)
	line=$(printf '%s\n' "$lines" | tail -n 1)
	printf '    summary: %s\n' "$line"
	case $c in
	features | starttls-injection) ;;	# the client closed its stream
	*) expect_summary "$line" outcome=refused ;;
	esac
	pass "transcript: $c"
done

check "exactly one summary line per connection"
c=$(summaries | wc -l)
[ "$c" -eq "$n" ] || { show_log "$XG_GATE_LOG"; fail "$c summary lines for $n connections"; }
pass "$c summary lines for $n connections"

check "the injected plaintext was logged as discarded"
grep -q 'discarded [0-9]* plaintext bytes sent after <starttls/>' "$XG_GATE_LOG" ||
	{ show_log "$XG_GATE_LOG"; fail "no 'discarded ... plaintext bytes' line"; }
pass "discard logged"

check "no password or auth payload in the log"
if grep -q 'AGFsaWNlAHNlY3JldA==\|secret' "$XG_GATE_LOG"; then
	fail "the log contains the auth payload"
fi
pass "log clean"

check "no xmppgate left running"
assert_no_leftovers 5
pass "no leftovers"
