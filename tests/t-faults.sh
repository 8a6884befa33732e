#!/bin/bash
# Faults of the peers: an auth helper that prints garbage, prints too much,
# prints without end, exits 111 or closes its stdin without reading; a
# backend that says nothing, sends garbage, closes during login, or stops
# reading while a fast client writes (the memory of xmppgate must stay flat
# and no byte may be lost).  Each has one defined outcome, asserted here.
# Covered elsewhere: a helper that hangs or crashes and a backend that
# refuses connections (t-failures.sh); a client or backend closing one
# direction, and the backend's close mid-stream (t-relay.sh).
# The client is slixmpp; the backend is Prosody where a real server can
# do the job, and tests/fault_peers.py where it must misbehave.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

DOMAIN=example.test
require_xmppgate
make_certs "$XG_TMP" "$DOMAIN"
DEAD_PORT=$(free_port)	# nothing listens there
PEERS="$XG_PY $top_srcdir/tests/fault_peers.py"

write_helper "$XG_TMP/helper-accept" 'cat >/dev/null; exit 0'
write_helper "$XG_TMP/helper-garbage" '
cat >/dev/null
echo "this is not a key=value reply"
echo "<html>"
exit 0'
write_helper "$XG_TMP/helper-toomuch" '
cat >/dev/null
head -c 1048576 /dev/zero | tr "\0" a
exit 0'
write_helper "$XG_TMP/helper-endless" "
cat >/dev/null
yes &
echo \$! >'$XG_TMP/endless-yes.pid'
wait"
write_helper "$XG_TMP/helper-temp" 'cat >/dev/null; exit 111'
write_helper "$XG_TMP/helper-noread-ok" 'exec 0<&-; exit 0'
write_helper "$XG_TMP/helper-noread-no" 'exec 0<&-; exit 1'

# gate NAME HELPER [ARGS...]: a fresh xmppgate listener with its own log;
# sets GPORT.
gate() {
	local name=$1 helper=$2
	shift 2
	new_gate "$name" --auth "$XG_TMP/$helper" --timeout 30 \
		--auth-delay 0 "$@"
}

# client ARGS...: the slixmpp client as alice/right; fails on mismatch.
client() {
	local out
	out=$($XG_CLIENT --host 127.0.0.1 --port "$GPORT" --ca "$XG_TMP/ca.pem" \
		--jid "alice@$DOMAIN" --password right --timeout $((20 * XG_TIME_FACTOR)) "$@") ||
		fail "client $*: $out"
	echo "    $out"
}

# attempt_failed OUTCOME WHY: the gate logged "authentication attempt 1
# failed: WHY", then one summary line with OUTCOME, user alice, and the
# client's leaving after that attempt as its reason.
attempt_failed() {
	local line
	line=$(wait_summaries 1 10 | tail -n 1)
	echo "    $line"
	expect_summary "$line" "outcome=$1" user=alice
	case $line in
	*'reason="client closed the stream after 1 failed attempt"'*) ;;
	*) fail "expected the client's close after 1 attempt as the reason: $line" ;;
	esac
	[ "$(summaries "$XG_GATE_LOG" | wc -l)" -eq 1 ] ||
		fail "more than one summary line in $XG_GATE_LOG"
	grep -F -- "authentication attempt 1 failed: $2" "$XG_GATE_LOG" | sed 's/^/    /' |
		grep -q . || { show_log "$XG_GATE_LOG"; fail "no log line 'authentication attempt 1 failed: $2'"; }
}

##### the helper
check "helper prints garbage and exits 0: temporary-auth-failure, not a login"
gate hgarbage helper-garbage --backend "127.0.0.1:$DEAD_PORT"
client --expect auth-failure --condition temporary-auth-failure
attempt_failed tempfail "helper reply: line 1: unknown key 'this?is?not?a?key'"
pass "garbage refused as a temporary failure"

check "helper prints 1 MiB and exits 0: temporary-auth-failure"
gate htoomuch helper-toomuch --backend "127.0.0.1:$DEAD_PORT"
client --expect auth-failure --condition temporary-auth-failure
attempt_failed tempfail "helper reply: over 4096 bytes"
pass "an oversized reply is drained and refused"

check "helper prints without end: killed at --auth-timeout 2, temporary-auth-failure"
gate hendless helper-endless --backend "127.0.0.1:$DEAD_PORT" --auth-timeout 2
client --expect auth-failure --condition temporary-auth-failure
attempt_failed tempfail "helper timed out after 2 s"
p=$(cat "$XG_TMP/endless-yes.pid" 2>/dev/null || :)
[ -n "$p" ] || fail "the endless helper did not start yes"
for i in $(seq 1 $((50 * XG_TIME_FACTOR))); do
	kill -0 "$p" 2>/dev/null || break
	sleep 0.1
done
! kill -0 "$p" 2>/dev/null || fail "the helper's child yes ($p) still runs"
pass "the helper's process group was killed"

check "helper exits 111: temporary-auth-failure"
gate htemp helper-temp --backend "127.0.0.1:$DEAD_PORT"
client --expect auth-failure --condition temporary-auth-failure
attempt_failed tempfail "helper: temporary failure"
pass "exit 111 is a temporary failure"

# A helper that never reads its stdin: its exit status alone decides, and
# xmppgate is not hurt by the write to a closed pipe (EPIPE, not SIGPIPE).
PRO=$XG_TMP/prosody
PPORT=$(free_port)
prosody_config "$PRO" "$PPORT" "$DOMAIN"
prosody_adduser "$PRO" alice "$DOMAIN" right
start_prosody "$PRO" "$PPORT" "$DOMAIN"

check "helper closes stdin unread and exits 1: not-authorized"
gate hnoreadno helper-noread-no --backend "127.0.0.1:$PPORT"
client --expect auth-failure --condition not-authorized
attempt_failed refused "helper rejected"
pass "refused by exit status"

check "helper closes stdin unread and exits 0: the login goes through"
gate hnoreadok helper-noread-ok --backend "127.0.0.1:$PPORT"
client --expect success
line=$(wait_summaries 1 10 | tail -n 1)
echo "    $line"
expect_summary "$line" outcome=ok user=alice "backend=127.0.0.1:$PPORT"
pass "accepted by exit status, logged in at Prosody"

##### the backend
# backend MODE [STALL BYTES]: a fault_peers.py backend on BPORT.
backend() {
	BPORT=$(free_port)
	BOUT=$XG_TMP/backend-$1.out
	bg "$XG_TMP/backend-$1.log" $PEERS backend "$1" "$BPORT" "$BOUT" "${2:-0}" "${3:-0}"
	wait_port "$BPORT" 10 "$BG_PID" || fail "fault backend $1 did not listen"
}

check "backend accepts and says nothing: temporary-auth-failure at --backend-timeout 2"
backend silent
gate bsilent helper-accept --backend "127.0.0.1:$BPORT" --backend-timeout 2
client --expect auth-failure --condition temporary-auth-failure
attempt_failed tempfail "backend timed out during login"
pass "a silent backend is given up on"

check "backend sends garbage: temporary-auth-failure"
backend garbage
gate bgarbage helper-accept --backend "127.0.0.1:$BPORT"
client --expect auth-failure --condition temporary-auth-failure
attempt_failed tempfail "backend sent no stream header"
pass "garbage from the backend refused"

check "backend closes during login (on <auth>): temporary-auth-failure"
backend close-login
gate bclose helper-accept --backend "127.0.0.1:$BPORT"
client --expect auth-failure --condition temporary-auth-failure
attempt_failed tempfail "backend closed the connection during login"
pass "a backend gone during login reported"

# RFC 6120 4.3.1, 11.5: a restarted stream may open with <?xml?>, and the
# newline a peer writes after <starttls/>, </auth> or <success/> ends the
# old stream; both sides of connect mode's restart (issue 19).
check "a client and a backend that end each element with a newline and restart with <?xml?>"
backend newline
gate bnewline helper-accept --backend "127.0.0.1:$BPORT"
out=$($PEERS newline-client "$GPORT" "$XG_TMP/ca.pem" 2>&1) ||
	{ show_log "$XG_GATE_LOG"; fail "newline client: $out"; }
echo "    $out"
[ "$out" = "newline-client: features=bind" ] || fail "the client got no bind feature: $out"
line=$(wait_summaries 1 10 | tail -n 1)
echo "    $line"
expect_summary "$line" outcome=ok user=alice "backend=127.0.0.1:$BPORT"
printf '%s' "$line" | grep -Eq 'reason="(client|backend) closed first"$' ||
	fail "not a clean close: $line"
grep -q "discarded .* plaintext bytes" "$XG_GATE_LOG" &&
	fail "the newline after <starttls/> was logged as discarded plaintext"
for i in $(seq 1 50); do [ -s "$BOUT" ] && break; sleep 0.1; done
grep -q "^newline: relayed" "$BOUT" || fail "backend: $(cat "$BOUT" 2>/dev/null)"
pass "logged in, the backend's features passed on, a clean close"

# A client that logs out at once: its closing tag, its close_notify (or
# none: a bare FIN) and the TCP close in one go, before the backend's
# closing tag comes through.  On TLS 1.2 a bare FIN made GnuTLS refuse the
# backend's tag ("client write: The specified session has been
# invalidated", issue 19): the client closed first, and that is what the
# summary must say, with the exit status of a session that ended well.
for tlsv in 1.2 1.3; do
	for how in bye fin; do
		what="close_notify"
		[ "$how" = bye ] || what="no close_notify"
		check "TLS $tlsv client sends </stream:stream>, $what and its FIN together"
		backend newline
		gate "blogout$tlsv$how" helper-accept --backend "127.0.0.1:$BPORT"
		out=$($PEERS logout "$GPORT" "$XG_TMP/ca.pem" "$tlsv" "$how" 2>&1) ||
			fail "logout client: $out"
		echo "    $out"
		[ "$out" = "logout TLSv$tlsv $how" ] || fail "not TLS $tlsv: $out"
		line=$(wait_summaries 1 10 | tail -n 1)
		echo "    $line"
		expect_summary "$line" outcome=ok user=alice
		printf '%s' "$line" | grep -q 'reason="client closed first"$' ||
			fail "not a clean close: $line"
		wait_exit 0 10 || fail "exit status is not 0: $(exit_codes | tr '\n' ' ')"
		pass "client closed first, exit 0"
	done
done

# Backpressure.  After the login the backend reads nothing for STALL
# seconds while the client writes BIG bytes.  xmppgate's buffers are fixed
# (XG_RELAY_BUF, XG_TLS_QUEUE), so its resident memory must not grow with
# what the client pushes, the client must be held back (it cannot have
# sent everything before the backend reads again), and the backend must
# then get every byte.
BIG=$((64 * 1024 * 1024))
[ -z "${XG_VALGRIND:-}" ] || BIG=$((16 * 1024 * 1024))
STALL=$((4 * XG_TIME_FACTOR))
check "backend stops reading for $STALL s while the client writes $BIG bytes"
backend stall "$STALL" "$BIG"
# Under ASan, freed blocks wait in a quarantine of up to 256 MiB before
# they are reused: GnuTLS's per-record buffers would grow the RSS by that.
# Without the quarantine the figure is xmppgate's own.
saved_asan=$ASAN_OPTIONS
ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=0"
gate bstall helper-accept --backend "127.0.0.1:$BPORT"
ASAN_OPTIONS=$saved_asan
bg "$XG_TMP/client-stall.out" $PEERS client "$GPORT" "$XG_TMP/ca.pem" "$BIG"
CPID=$BG_PID
# Sample the connection's xmppgate (the only one of this gate) until the
# client is done: VmRSS in KiB, the first sample and the largest.
first="" max=0 pid=""
for i in $(seq 1 $((600 * XG_TIME_FACTOR))); do
	kill -0 "$CPID" 2>/dev/null || break
	[ -n "$pid" ] && [ -d "/proc/$pid" ] || pid=$(xmppgate_pids | tail -n 1)
	if [ -n "$pid" ]; then
		rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || :)
		if [ -n "$rss" ]; then
			[ -n "$first" ] || first=$rss
			[ "$rss" -gt "$max" ] && max=$rss
		fi
	fi
	sleep 0.1
done
wait "$CPID" || { show_log "$XG_TMP/client-stall.out"; fail "the client failed"; }
cat "$XG_TMP/client-stall.out" | sed 's/^/    /'
out=$(cat "$BOUT" 2>/dev/null || :)
echo "    backend: $out"
got=$(printf '%s\n' "$out" | sed -n 's/.*received \([0-9]*\).*/\1/p')
[ "$got" = "$BIG" ] || fail "the backend received ${got:-nothing}, not $BIG bytes"
stalled=$(printf '%s\n' "$out" | sed -n 's/^stalled-until \([0-9.]*\).*/\1/p')
sent=$(sed -n 's/.*sent-at \([0-9.]*\).*/\1/p' "$XG_TMP/client-stall.out")
awk -v s="$sent" -v b="$stalled" 'BEGIN { exit !(s > b) }' ||
	fail "the client finished writing ($sent) before the backend read again ($stalled): no backpressure"
grep -q 'end=close_notify' "$XG_TMP/client-stall.out" ||
	fail "the backend's close did not reach the client as close_notify"
[ -n "$first" ] || fail "never saw the xmppgate process"
echo "    xmppgate VmRSS: first sample $first KiB, largest $max KiB"
memory="memory flat ($first -> $max KiB)"
if [ -n "${XG_VALGRIND:-}" ]; then
	log "under valgrind the process's RSS is valgrind's: memory bound not checked"
	memory="memory not checked under valgrind"
else
	[ $((max - first)) -le 2048 ] ||
		fail "xmppgate grew by $((max - first)) KiB while the backend did not read"
fi
line=$(wait_summaries 1 10 | tail -n 1)
echo "    $line"
expect_summary "$line" outcome=ok user=alice
rx=$(summary_field "$line" rx)
[ "$rx" -ge "$BIG" ] || fail "rx=$rx in the summary, below the $BIG bytes relayed"
pass "held back, $memory, all $BIG bytes delivered"

check "no xmppgate or helper left running"
assert_no_leftovers 5
pass "no leftovers"
