#!/bin/bash
# The relay loses no byte: a gigabyte sent either way arrives intact and in
# order, and each side's close is delivered.
#
# xmppgate runs in exec mode with tests/relay_backend.py; the client is
# tests/relay_client (C, GnuTLS, built by make check).  Both ends send
# pseudo-random data at the same time and hash what they send and what they
# receive; each ends its sending half alone (the client with a TLS
# close_notify, the backend with shutdown(SHUT_WR)) and must see the
# other's end: the client a close_notify (not a bare TCP end), the backend
# end of file.  Then two single-direction rounds show that each half-close
# alone is delivered while the other direction goes on, the second one
# running past the pre-authentication --timeout.
#
# XG_RELAY_BYTES sets the size of the big round (default 1 GiB each way,
# 32 MiB under valgrind).
# A last round has the client send first and read only afterwards, asking
# for a TLS 1.3 KeyUpdate every 4 MiB; the relay must keep reading while
# its own writes to the client are blocked, and answer each KeyUpdate in
# the middle of them without sending any record twice.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

DOMAIN=example.test
PASSWORD='s3cret relay'
if [ -n "${XG_VALGRIND:-}" ]; then
	BIG=${XG_RELAY_BYTES:-$((32 * 1024 * 1024))}
else
	BIG=${XG_RELAY_BYTES:-$((1024 * 1024 * 1024))}
fi
SMALL=$((8 * 1024 * 1024))
# xmppgate --timeout, the pre-authentication phase only (stretched under
# valgrind, where a loaded machine has taken more than 5 s to log in)
PREAUTH_TIMEOUT=$((5 * XG_TIME_FACTOR))
IDLE_TIMEOUT=30         # xmppgate --idle-timeout: ends a stuck relay
DELAY=$((PREAUTH_TIMEOUT + 1))  # backend start delay in the last round
CLIENT_TIMEOUT=120      # relay_client --timeout: the whole client run
RESULT_WAIT=15          # seconds for the backend's result after the client
SLACK=65536             # pre-authentication bytes counted in rx/tx, at most
RELAY_CLIENT=$top_builddir/tests/relay_client
RELAY_BACKEND=$top_srcdir/tests/relay_backend.py

require_xmppgate
[ -x "$RELAY_CLIENT" ] ||
	fail "test client not built: $RELAY_CLIENT (make check builds it)"
[ -r "$RELAY_BACKEND" ] || fail "missing $RELAY_BACKEND"
case $BIG in
'' | *[!0-9]*) fail "XG_RELAY_BYTES must be a number of bytes, not '$BIG'" ;;
esac
make_certs "$XG_TMP" "$DOMAIN"
write_helper "$XG_TMP/helper-check" '
pw=$(cat)
[ "$AUTH_USER" = alice ] && [ "$AUTH_DOMAIN" = example.test ] && [ "$pw" = "s3cret relay" ] && exit 0
exit 1'

CLIENT_EXTRA=()         # more relay_client options for the next round

# field LINE KEY: the value of KEY= in a line of KEY=VALUE words.
field() {
	summary_field "$1" "$2"
}

# in_range N LOW HIGH: LOW <= N <= HIGH.
in_range() {
	[ "$1" -ge "$2" ] && [ "$1" -le "$3" ]
}

# run_round NAME CLIENT_BYTES BACKEND_BYTES [BACKEND_DELAY]: one session
# through a fresh xmppgate; checks both ends and the summary line.  Sets
# ROUND_NS to the client's run time in nanoseconds.
run_round() {
	local name=$1 cbytes=$2 bbytes=$3 delay=${4:-0}
	local port result clog out res t0 t1 i line rx tx reason
	result=$XG_TMP/$name.result
	clog=$XG_TMP/$name-client.log
	new_gate "$name" --auth "$XG_TMP/helper-check" --auth-delay 0 \
		--timeout "$PREAUTH_TIMEOUT" --idle-timeout "$IDLE_TIMEOUT" \
		-- "$XG_PY" "$RELAY_BACKEND" "$result" "$bbytes" "$delay"
	port=$GPORT

	t0=$(date +%s%N)
	out=$("$RELAY_CLIENT" --host 127.0.0.1 --port "$port" \
		--ca "$XG_TMP/ca.pem" --domain "$DOMAIN" --user alice \
		--password "$PASSWORD" --send "$cbytes" \
		--timeout "$CLIENT_TIMEOUT" ${CLIENT_EXTRA[@]+"${CLIENT_EXTRA[@]}"} \
		2>"$clog") || {
		# (the cleanup shows $clog with the other logs)
		[ -e "$result" ] && show_log "$result"
		fail "$name: relay_client failed: $(tail -n 1 "$clog")"
	}
	t1=$(date +%s%N)
	ROUND_NS=$((t1 - t0))
	echo "    client:  $out"
	[ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] ||
		fail "$name: the client printed more than one line"

	for i in $(seq 1 $((RESULT_WAIT * 10))); do
		[ -e "$result" ] && break
		sleep 0.1
	done
	[ -e "$result" ] ||
		fail "$name: no result from relay_backend.py within $RESULT_WAIT s"
	res=$(cat "$result")
	echo "    backend: $res"
	case $res in
	error=*) fail "$name: relay_backend.py: $res" ;;
	esac

	[ "$(field "$out" close)" = close_notify ] ||
		fail "$name: the client did not get close_notify: $out"
	[ "$(field "$res" eof)" = yes ] ||
		fail "$name: the backend did not get end of file: $res"
	[ "$(field "$out" sent)" = "$cbytes" ] ||
		fail "$name: the client sent $(field "$out" sent), not $cbytes"
	[ "$(field "$res" sent)" = "$bbytes" ] ||
		fail "$name: the backend sent $(field "$res" sent), not $bbytes"
	[ "$(field "$res" received)" = "$cbytes" ] ||
		fail "$name: client to backend: $cbytes bytes sent," \
			"$(field "$res" received) received"
	[ "$(field "$out" received)" = "$bbytes" ] ||
		fail "$name: backend to client: $bbytes bytes sent," \
			"$(field "$out" received) received"
	[ "$(field "$out" sent_sha256)" = "$(field "$res" received_sha256)" ] ||
		fail "$name: client to backend: the bytes differ (SHA-256)"
	[ "$(field "$res" sent_sha256)" = "$(field "$out" received_sha256)" ] ||
		fail "$name: backend to client: the bytes differ (SHA-256)"

	line=$(wait_summaries 1 10 | tail -n 1)
	echo "    summary: $line"
	expect_summary "$line" outcome=ok user=alice "domain=$DOMAIN"
	rx=$(field "$line" rx)
	tx=$(field "$line" tx)
	case $rx$tx in
	'' | *[!0-9]*) fail "$name: summary: rx=$rx tx=$tx are not numbers" ;;
	esac
	# At least the relayed bytes, plus at most the pre-authentication ones.
	in_range "$rx" "$cbytes" $((cbytes + SLACK)) ||
		fail "$name: summary: rx=$rx for $cbytes bytes relayed from the client"
	in_range "$tx" "$bbytes" $((bbytes + SLACK)) ||
		fail "$name: summary: tx=$tx for $bbytes bytes relayed to the client"
	reason=$(printf '%s\n' "$line" | sed -n 's/.* reason="\([^"]*\)".*/\1/p')
	case $reason in
	"client closed first" | "backend closed first") ;;
	*) fail "$name: the relay ended with reason=\"$reason\"" ;;
	esac
}

# rate NS BYTES: "S.SSS s, R MB/s" (MB = 10^6 bytes).
rate() {
	awk -v ns="$1" -v b="$2" 'BEGIN {
		s = ns / 1e9; if (s <= 0) s = 1e-9
		printf "%.3f s, %.1f MB/s", s, b / s / 1e6 }'
}

check "$BIG bytes each way at once, then both closes delivered"
run_round both "$BIG" "$BIG"
log "elapsed $(rate "$ROUND_NS" $((2 * BIG))) (both directions together;" \
	"$(rate "$ROUND_NS" "$BIG" | sed 's/.*, //') per direction)"
pass "both directions intact and in order, close_notify and end of file delivered"

check "client to backend only: the backend's close alone reaches the client"
run_round upload "$SMALL" 0
log "elapsed $(rate "$ROUND_NS" "$SMALL")"
pass "client data intact after the backend had closed"

check "backend to client only, starting ${DELAY} s after the client's close" \
	"(past --timeout $PREAUTH_TIMEOUT)"
run_round download 0 "$SMALL" "$DELAY"
[ "$ROUND_NS" -gt $((PREAUTH_TIMEOUT * 1000000000)) ] ||
	fail "the download round was shorter than --timeout $PREAUTH_TIMEOUT"
log "elapsed $(rate "$ROUND_NS" "$SMALL") (including the ${DELAY} s delay)"
pass "backend data intact after the client had closed; --timeout does not cut the relay"

check "client sends first, then reads, with a TLS 1.3 KeyUpdate every 4 MiB"
CLIENT_EXTRA=(--key-update $((4 * 1024 * 1024)))
run_round keyupdate $((4 * SMALL)) $((4 * SMALL))
CLIENT_EXTRA=()
log "elapsed $(rate "$ROUND_NS" $((8 * SMALL)))"
pass "intact both ways across key updates"

check "no xmppgate, helper or backend left running"
assert_no_leftovers 10
# (anchored: the socket activators' command lines name it too)
if pgrep -f -- "^$XG_PY $RELAY_BACKEND $XG_TMP/" >/dev/null; then
	fail "relay_backend.py still running"
fi
pass "no leftovers"
