#!/bin/bash
# Reconnect storms (xmppgate(8) "Connection storms"): 2,000 connections
# opened within 2 seconds, spread over 200 loopback source addresses
# (127.0.0.2 and up, as after a network blip), against each way xmppgate
# is started here: systemd-socket-activate --accept and openbsd-inetd
# (nowait.60000, as the man page says).  For each: the listener survives,
# every connection gets its stream features within 30 s of the storm's
# start or a clean refusal (tests/storm.py: none times out, none breaks),
# and a login through the same listener works right after.  None of these
# launchers has a cap, so here every connection must get its features.
# Under the checkers a start costs far more: an ASan build maps its
# shadow memory at each start (about 60 starts a second here against over
# 600), so there the storm is 400 connections; under valgrind every
# xmppgate is a valgrind process (about a second of CPU each, 2 cores
# here), so there it is 12, with 30 s x XG_TIME_FACTOR for the features.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

DOMAIN=example.test
INETD=/usr/sbin/inetd
require_xmppgate
[ -x "$INETD" ] || fail "$INETD not installed (package openbsd-inetd)"

COUNT=2000 WITHIN=2 SOURCES=200 DEADLINE=30
if [ -n "${XG_VALGRIND:-}" ]; then
	COUNT=12 DEADLINE=$((30 * XG_TIME_FACTOR))
	log "under valgrind: storms of $COUNT connections, not 2000"
elif grep -q '^#define XG_SANITIZERS 1' "$top_builddir/config.h" 2>/dev/null; then
	COUNT=400
	log "an ASan build: storms of $COUNT connections, not 2000"
fi

make_certs "$XG_TMP" "$DOMAIN"
PRO=$XG_TMP/prosody
mkdir -p "$PRO"
cp "$XG_TMP"/*.pem "$PRO/"
PPORT=$(free_port)
prosody_config "$PRO" "$PPORT" "$DOMAIN"
prosody_adduser "$PRO" alice "$DOMAIN" alicepw
start_prosody "$PRO" "$PPORT" "$DOMAIN"
write_helper "$XG_TMP/helper" '
pw=$(cat)
[ "$AUTH_USER:$pw" = alice:alicepw ] && exit 0
exit 1'
GATE_ARGS="--cert $XG_TMP/chain.pem --key $XG_TMP/key.pem --domain $DOMAIN
	--auth $XG_TMP/helper --backend 127.0.0.1:$PPORT --auth-delay 0 --timeout 30"

# storm NAME PORT: the storm against PORT; every connection must get its
# stream features (the launchers here refuse nothing).
storm() {
	local out
	check "$1: $COUNT connections within $WITHIN s from $SOURCES addresses"
	out=$($XG_PY "$top_srcdir/tests/storm.py" --port "$2" --domain "$DOMAIN" \
		--count "$COUNT" --within "$WITHIN" --sources "$SOURCES" \
		--deadline "$DEADLINE" --min-features "$COUNT") ||
		fail "$1: not every connection got its features within $DEADLINE s: $out"
	echo "    $out"
	pass "$1: every connection got its stream features"
}

# login NAME PORT: alice logs in at Prosody through the listener on PORT.
login() {
	local out
	check "$1: a login right after the storm"
	out=$($XG_CLIENT --jid "alice@$DOMAIN" --password alicepw --port "$2" \
		--ca "$XG_TMP/ca.pem" --timeout $((20 * XG_TIME_FACTOR)) 2>&1) ||
		fail "$1: login after the storm: $out"
	echo "    $out"
	pass "$1: logged in"
}

# systemd-socket-activate --accept: a process per connection.
XG_GATE_LOG=$XG_TMP/gate-accept.log
APORT=$(free_port)
# shellcheck disable=SC2086
start_gate "$APORT" $GATE_ARGS
storm "systemd-socket-activate --accept" "$APORT"
kill -0 "$GATE_PID" 2>/dev/null || fail "systemd-socket-activate is gone"
login "systemd-socket-activate --accept" "$APORT"

# openbsd-inetd, nowait.60000: inetd's default (256 a minute) would stop
# the service for ten minutes in such a storm (t-inetd shows the line).
IPORT=$(free_port)
# shellcheck disable=SC2086
echo "127.0.0.1:$IPORT stream tcp4 nowait.60000 root $xg_bin xmppgate --user root --syslog" \
	$GATE_ARGS >"$XG_TMP/inetd.conf"
bg "$XG_TMP/inetd.log" "$INETD" -d -i -E "$XG_TMP/inetd.conf"
INETD_PID=$BG_PID
wait_port "$IPORT" 10 "$INETD_PID" || fail "inetd did not listen on $IPORT"
storm "inetd nowait.60000" "$IPORT"
kill -0 "$INETD_PID" 2>/dev/null || fail "inetd is gone"
grep -q 'looping\|too many' "$XG_TMP/inetd.log" &&
	{ show_log "$XG_TMP/inetd.log"; fail "inetd stopped the service"; }
login "inetd nowait.60000" "$IPORT"

check "no xmppgate or helper left running"
assert_no_leftovers 15
pass "no leftovers"
