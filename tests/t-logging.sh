#!/bin/bash
# Where the client address comes from (REMOTE_ADDR, else TCPREMOTEIP, else
# getpeername()), journal priority prefixes when JOURNAL_STREAM names our
# stderr, and --verbose: the pre-auth exchange is logged, the password and
# the PLAIN payload never are.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

DOMAIN=example.test
PASS='v3rbose pa55'
require_xmppgate
make_certs "$XG_TMP" "$DOMAIN"
write_helper "$XG_TMP/helper-env" "
pw=\$(cat)
echo \"\$TCPREMOTEIP \$TCPREMOTEPORT\" >'$XG_TMP/helper-saw'
[ \"\$AUTH_USER\" = alice ] && [ \"\$pw\" = '$PASS' ] && exit 0
exit 1"

# gate NAME [ARGS...]: an exec-mode xmppgate with its own log; sets GPORT.
gate() {
	local name=$1
	shift
	new_gate "$name" --auth "$XG_TMP/helper-env" --auth-delay 0 \
		--timeout 15 "$@" -- "$XG_PY" "$top_srcdir/tests/exec_backend.py"
}

login() {
	local out
	out=$($XG_CLIENT --jid "alice@$DOMAIN" --password "$PASS" \
		--port "$GPORT" --ca "$XG_TMP/ca.pem" --timeout 15) ||
		fail "client: $out"
	echo "    $out"
}

if xg_pool; then
	# The pool's environment is the pool's, set once: it names no
	# client, and the children take the address from getpeername().
	check "XG_LAUNCH=pool: REMOTE_ADDR and TCPREMOTEIP in the pool's environment are ignored"
	XG_GATE_ENV="REMOTE_ADDR=198.51.100.7 REMOTE_PORT=4242 TCPREMOTEIP=203.0.113.9 TCPREMOTEPORT=1" \
		gate remote-addr
	login
	line=$(wait_summaries 1 10 | tail -n 1)
	echo "    $line"
	case $line in
	*" client=127.0.0.1:"*) ;;
	*) fail "expected the getpeername() address 127.0.0.1: $line" ;;
	esac
	[ "$(cut -d' ' -f1 "$XG_TMP/helper-saw")" = 127.0.0.1 ] ||
		fail "the helper saw TCPREMOTEIP $(cat "$XG_TMP/helper-saw")"
	pass "getpeername() used, and passed on to the helper"
else
check "REMOTE_ADDR/REMOTE_PORT win over TCPREMOTEIP and getpeername()"
XG_GATE_ENV="REMOTE_ADDR=198.51.100.7 REMOTE_PORT=4242 TCPREMOTEIP=203.0.113.9 TCPREMOTEPORT=1" \
	gate remote-addr
login
line=$(wait_summaries 1 10 | tail -n 1)
echo "    $line"
expect_summary "$line" client=198.51.100.7:4242 outcome=ok user=alice
[ "$(cat "$XG_TMP/helper-saw")" = "198.51.100.7 4242" ] ||
	fail "the helper saw TCPREMOTEIP/PORT $(cat "$XG_TMP/helper-saw")"
pass "REMOTE_ADDR used, and passed on to the helper"

check "TCPREMOTEIP/TCPREMOTEPORT (tcpserver) when REMOTE_ADDR is unset"
XG_GATE_ENV="TCPREMOTEIP=2001:db8::5 TCPREMOTEPORT=5555" gate tcpremote
login
line=$(wait_summaries 1 10 | tail -n 1)
echo "    $line"
expect_summary "$line" 'client=[2001:db8::5]:5555' outcome=ok
pass "TCPREMOTEIP used"
fi

check "a REMOTE_ADDR that is not a numeric address is ignored"
XG_GATE_ENV="REMOTE_ADDR=1.2.3.4\"user=root REMOTE_PORT=1" gate bad-remote
login
line=$(wait_summaries 1 10 | tail -n 1)
echo "    $line"
case $line in
*" client=127.0.0.1:"*) ;;
*) fail "expected the getpeername() address 127.0.0.1: $line" ;;
esac
pass "fell back to getpeername()"

check "JOURNAL_STREAM naming our stderr: <N> priority prefixes"
# (start_gate appends to the log, so the file stays the one named)
: >"$XG_TMP/gate-journal.log"
XG_GATE_ENV="JOURNAL_STREAM=$(stat -c '%d:%i' "$XG_TMP/gate-journal.log")" \
	gate journal
login
line=$(wait_summaries 1 10 | tail -n 1)
echo "    $line"
case $line in
'<6>conn='*' summary '*) ;;
*) fail "expected '<6>conn=ID summary ...' (LOG_INFO): $line" ;;
esac
# (the other lines are systemd-socket-activate's own)
bad=$(grep 'conn=' "$XG_GATE_LOG" | grep -v '^<[0-7]>conn=' || :)
[ -z "$bad" ] || fail "lines without a priority prefix: $bad"
pass "journal prefixes"

check "--verbose logs the pre-auth exchange but no password or PLAIN payload"
gate verbose --verbose
login
wait_summaries 1 10 >/dev/null
for want in 'client: stream header to=example.test' 'client: starttls' \
	'TLS up: TLS1.[23]' 'sent: features mechanisms PLAIN'; do
	grep -q "$want" "$XG_GATE_LOG" ||
		{ show_log "$XG_GATE_LOG"; fail "--verbose did not log '$want'"; }
done
b64=$(printf '\0alice\0%s' "$PASS" | base64 -w0)
if grep -qF -e "$PASS" -e "$b64" "$XG_GATE_LOG"; then
	fail "the password or the PLAIN payload is in the log"
fi
n=$(wc -l <"$XG_GATE_LOG")
pass "$n log lines, no secret"

check "no xmppgate, helper or program left running"
assert_no_leftovers 5
pass "no leftovers"
