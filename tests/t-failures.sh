#!/bin/bash
# Failure paths: wrong password, the attempt limit, a hanging and a crashing
# helper, an unreachable backend, and clients that vanish mid-handshake.
# Nothing may hang and no process may be left behind.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

DOMAIN=example.test
require_xmppgate
make_certs "$XG_TMP" "$DOMAIN"
DEAD_PORT=$(free_port)	# nothing listens there

write_helper "$XG_TMP/helper-check" '
pw=$(cat)
[ "$AUTH_USER" = alice ] && [ "$pw" = right ] && exit 0
exit 1'
write_helper "$XG_TMP/helper-hang" "
cat >/dev/null
echo \$\$ >'$XG_TMP/hang.pid'
sleep 60 &
echo \$! >'$XG_TMP/hang-child.pid'
wait"
write_helper "$XG_TMP/helper-crash" '
ulimit -c 0
cat >/dev/null
kill -SEGV $$
exit 0'

# gate NAME HELPER [ARGS...]: a fresh xmppgate listener with its own log;
# sets GPORT.
gate() {
	local name=$1 helper=$2
	shift 2
	new_gate "$name" --auth "$XG_TMP/$helper" --timeout 15 \
		--handshake-timeout 5 "$@"
}

# client ARGS...: run the slixmpp client, print its result, fail on mismatch.
client() {
	local out
	out=$($XG_CLIENT --host 127.0.0.1 --port "$GPORT" --ca "$XG_TMP/ca.pem" "$@") ||
		fail "client $*: $out"
	echo "    $out"
	CLIENT_OUT=$out
}

# elapsed_below SECONDS: the last client reported time=T below SECONDS.
elapsed_below() {
	local t
	t=$(printf '%s\n' "$CLIENT_OUT" | sed -n 's/.* time=\([0-9.]*\).*/\1/p')
	awk -v t="$t" -v m="$1" 'BEGIN { exit !(t != "" && t < m) }' ||
		fail "took ${t:-?} s, should be below $1 s"
}

cat >"$XG_TMP/rawtls.py" <<'EOF'
import base64, socket, ssl, sys, time
port, mode, ca = int(sys.argv[1]), sys.argv[2], sys.argv[3]
arg = int(sys.argv[4]) if len(sys.argv) > 4 else 0
HDR = (b"<?xml version='1.0'?><stream:stream to='example.test' "
       b"xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'"
       b" version='1.0'>")

def bad(m):
    print("BAD " + m)
    sys.exit(1)

s = socket.create_connection(("127.0.0.1", port), timeout=10)
def read_until(conn, token, buf=b""):
    end = time.monotonic() + 10
    while token not in buf:
        if time.monotonic() > end:
            bad("timeout waiting for %r, got %r" % (token, buf))
        d = conn.recv(65536)
        if not d:
            bad("EOF while waiting for %r, got %r" % (token, buf))
        buf += d
    return buf

def wait_eof(conn, secs=10):
    """Read until EOF (bounded); return what came."""
    buf = b""
    end = time.monotonic() + secs
    while True:
        conn.settimeout(max(0.1, end - time.monotonic()))
        try:
            d = conn.recv(65536)
        except socket.timeout:
            bad("connection not closed within %d s, got %r" % (secs, buf))
        except (ConnectionResetError, ssl.SSLError, ssl.SSLEOFError, OSError):
            return buf
        if not d:
            return buf
        buf += d

if mode == "vanish-connect":
    s.close()
    print("OK connected and closed")
    sys.exit(0)
s.sendall(HDR)
read_until(s, b"</stream:features>")
if mode == "vanish-header":
    s.close()
    print("OK sent a stream header and closed")
    sys.exit(0)
if mode == "silent":
    t0 = time.monotonic()
    rest = wait_eof(s, 20)
    if (b"<stream:error><connection-timeout" not in rest
            or not rest.endswith(b"</stream:stream>")):
        bad("expected <connection-timeout/> and </stream:stream>, got %r" % rest)
    print("OK <connection-timeout/> after %.1f s of silence" % (time.monotonic() - t0))
    sys.exit(0)
s.sendall(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
b = read_until(s, b"proceed")
if mode == "vanish-tls":
    # the first flight of a TLS handshake (ClientHello), then gone
    ctx = ssl.create_default_context(cafile=ca)
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="example.test")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = out.read()
    if not hello:
        bad("no ClientHello produced")
    s.sendall(hello)
    time.sleep(0.2)
    s.close()
    print("OK sent STARTTLS and a ClientHello (%d bytes), then closed" % len(hello))
    sys.exit(0)
ctx = ssl.create_default_context(cafile=ca)
t = ctx.wrap_socket(s, server_hostname="example.test")
t.settimeout(10)
t.sendall(HDR)
f = read_until(t, b"</stream:features>")
if b"PLAIN" not in f:
    bad("no PLAIN offered after TLS: %r" % f)
if mode == "attempts":
    payload = base64.b64encode(b"\0alice\0wrong").decode()
    got = b""
    for i in range(1, arg + 1):
        t.sendall(("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
                   "mechanism='PLAIN'>%s</auth>" % payload).encode())
        got = read_until(t, b"</failure>", b"")
        if b"not-authorized" not in got:
            bad("attempt %d: expected <not-authorized/>, got %r" % (i, got))
        print("OK attempt %d: <failure><not-authorized/></failure>" % i)
    rest = got.split(b"</failure>", 1)[1] + wait_eof(t)
    if b"</stream:stream>" not in rest:
        bad("after %d failures the stream should be closed, got %r" % (arg, rest))
    if b"<failure" in rest or b"<success" in rest:
        bad("unexpected SASL answer after the limit: %r" % rest)
    print("OK after %d failures: %s and EOF" % (arg, rest.decode(errors="replace")))
    # one more attempt must not be answered
    try:
        t.sendall(("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
                   "mechanism='PLAIN'>%s</auth>" % payload).encode())
        more = wait_eof(t, 3)
    except (OSError, ssl.SSLError):
        more = b""
    if more:
        bad("data after the close: %r" % more)
else:
    bad("unknown mode " + mode)
EOF

raw() {
	local out
	out=$($XG_PY "$XG_TMP/rawtls.py" "$GPORT" "$1" "$XG_TMP/ca.pem" ${2:-} 2>&1) || {
		printf '%s\n' "$out" | sed 's/^/    /'
		fail "raw client $1"
	}
	printf '%s\n' "$out" | sed 's/^/    /'
}

##### wrong password and the attempt limit
gate check helper-check --backend "127.0.0.1:$DEAD_PORT" --auth-delay 0 \
	--max-attempts 2

check "wrong password: SASL <not-authorized/>"
client --jid "alice@$DOMAIN" --password wrong --expect auth-failure \
	--condition not-authorized --timeout 10
elapsed_below 5
line=$(wait_summaries 1 10 | tail -n 1)
echo "    $line"
expect_summary "$line" "user=alice" "domain=$DOMAIN" outcome=refused
case $line in
*'reason="client closed the stream after 1 failed attempt"'*) ;;
*) fail "a client giving up after a failure must be logged as such: $line" ;;
esac
pass "wrong password refused"

check "--max-attempts 2: two failures, then the stream is closed"
raw attempts 2
line=$(wait_summaries 2 10 | tail -n 1)
echo "    $line"
expect_summary "$line" outcome=refused
pass "attempt limit enforced"

##### the auth delay grows
gate delay helper-check --backend "127.0.0.1:$DEAD_PORT" --auth-delay 700 \
	--max-attempts 1
check "--auth-delay 700: the failure is not answered at once"
client --jid "alice@$DOMAIN" --password wrong --expect auth-failure \
	--condition not-authorized --timeout 15
t=$(printf '%s\n' "$CLIENT_OUT" | sed -n 's/.* time=\([0-9.]*\).*/\1/p')
awk -v t="$t" 'BEGIN { exit !(t >= 0.7) }' || fail "answered after $t s, expected >= 0.7 s"
pass "delayed by the auth delay ($t s)"

##### the most attempts --max-attempts allows
# The growing delay is computed for every failure, also when the helper's
# delay=0 replaces it (as here, so that 100 failures take no time): up to
# the 65th failure "--auth-delay << (failed - 1)" was undefined (UBSan, in
# scripts/sanitize.sh, aborted) and from the 55th negative on x86-64.
write_helper "$XG_TMP/helper-nodelay" '
cat >/dev/null
echo delay=0
exit 1'
gate max helper-nodelay --backend "127.0.0.1:$DEAD_PORT" --auth-delay 1000 \
	--max-attempts 100 --timeout 120
check "--max-attempts 100: a hundred failures, then the stream is closed"
out=$($XG_PY "$XG_TMP/rawtls.py" "$GPORT" attempts "$XG_TMP/ca.pem" 100 2>&1) || {
	printf '%s\n' "$out" | tail -n 5 | sed 's/^/    /'
	show_log "$XG_GATE_LOG"
	fail "raw client attempts 100"
}
printf '%s\n' "$out" | tail -n 2 | sed 's/^/    /'
line=$(wait_summaries 1 10 | tail -n 1)
echo "    $line"
expect_summary "$line" outcome=refused
case $line in
*'reason="policy-violation: 100 failed attempts (last: helper rejected)"'*) ;;
*) fail "expected 100 failed attempts: $line" ;;
esac
pass "100 attempts answered, then the limit"

##### a hanging helper
gate hang helper-hang --backend "127.0.0.1:$DEAD_PORT" --auth-delay 0 \
	--auth-timeout 1
check "a helper that hangs, --auth-timeout 1: temporary-auth-failure quickly"
client --jid "alice@$DOMAIN" --password right --expect auth-failure \
	--condition temporary-auth-failure --timeout 15
elapsed_below 6
[ -s "$XG_TMP/hang.pid" ] || fail "the hanging helper did not run"
line=$(wait_summaries 1 10 | tail -n 1)
echo "    $line"
expect_summary "$line" outcome=tempfail user=alice
pass "temporary-auth-failure after the auth timeout"

check "the hanging helper and its child were killed"
for i in $(seq 1 30); do
	alive=""
	for f in hang.pid hang-child.pid; do
		p=$(cat "$XG_TMP/$f" 2>/dev/null || :)
		[ -n "$p" ] && kill -0 "$p" 2>/dev/null && alive="$alive $p"
	done
	[ -z "$alive" ] && break
	sleep 0.1
done
if [ -n "$alive" ]; then
	ps -o pid,ppid,pgid,sid,args -p "$(echo $alive | tr ' ' ',')" >&2 || :
	fail "helper processes still running:$alive"
fi
pass "helper process group gone"

##### a crashing helper
gate crash helper-crash --backend "127.0.0.1:$DEAD_PORT" --auth-delay 0
check "a helper killed by SIGSEGV: temporary-auth-failure"
client --jid "alice@$DOMAIN" --password right --expect auth-failure \
	--condition temporary-auth-failure --timeout 15
elapsed_below 5
pass "temporary-auth-failure for a crashed helper"

##### backend down
gate down helper-check --backend "127.0.0.1:$DEAD_PORT" --auth-delay 0 \
	--backend-timeout 3
check "backend down: an error, not a hang"
client --jid "alice@$DOMAIN" --password right --expect error \
	--condition remote-connection-failed --timeout 15
elapsed_below 8
line=$(wait_summaries 1 10 | tail -n 1)
echo "    $line"
expect_summary "$line" outcome=tempfail "user=alice"
pass "backend down reported"

##### a client that says nothing after its stream header
gate silent helper-check --backend "127.0.0.1:$DEAD_PORT" --timeout 2
check "a silent client, --timeout 2: <connection-timeout/> and the end"
raw silent
line=$(wait_summaries 1 10 | tail -n 1)
echo "    $line"
expect_summary "$line" outcome=refused
case $line in
*'reason="connection-timeout: pre-authentication timeout (2 s)"'*) ;;
*) fail "the reason should be the pre-authentication timeout: $line" ;;
esac
pass "silent client timed out"

##### clients that vanish
gate vanish helper-check --backend "127.0.0.1:$DEAD_PORT" --auth-delay 0
n=0
for m in vanish-connect vanish-header vanish-tls; do
	check "client vanishes ($m): xmppgate ends"
	raw "$m"
	n=$((n + 1))
	line=$(wait_summaries "$n" 10 | tail -n 1)
	echo "    $line"
	expect_summary "$line" 'outcome=refused|tempfail'
	assert_no_leftovers 5
	pass "$m: xmppgate ended"
done

check "one summary line per connection in every log"
for f in "$XG_TMP"/gate-*.log; do
	c=$(summaries "$f" | wc -l)
	[ "$c" -ge 1 ] || fail "$f has no summary line"
done
pass "summary lines present"

check "no xmppgate or helper left running"
assert_no_leftovers 5
pass "no leftovers"
