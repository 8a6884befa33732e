#!/bin/bash
# Reconnect storms (xmppgate(8) "Connection storms"): 2,000 connections
# opened within 2 seconds, spread over 200 loopback source addresses
# (127.0.0.2 and up, as after a network blip), against each way xmppgate
# is started here: systemd-socket-activate --accept, openbsd-inetd
# (nowait.60000, as the man page says) and the pooled mode (--listen
# behind systemd-socket-activate without --accept).  For each: the
# listener survives, every connection gets its stream features within
# 30 s of the storm's start or a clean refusal (tests/storm.py: none
# times out, none breaks), and a login through the same listener works
# right after.  The first two launchers have no cap, so there every
# connection must get its features.  The pool has one (--max-conns,
# default 1024; --max-conns-per-source, default 256): every refusal the
# storm saw must be one the pool counted in its log (flushed by a SIGHUP,
# whose re-exec the pool must also survive), and no child may die by a
# signal.  A second pool, --max-conns 50, gets clients that hold their
# connection (storm.py --hold): exactly 50 get their features, the rest
# are refused cleanly and counted.
# Under the checkers a start costs far more: an ASan build maps its
# shadow memory at each start (about 60 starts a second here against over
# 600), so there the storm is 400 connections; under valgrind every
# xmppgate is a valgrind process (about a second of CPU each, 2 cores
# here), so there it is 12, with 30 s x XG_TIME_FACTOR for the features,
# and the pool's cap 4.  There the pool's re-exec (SIGHUP) runs the new
# image outside valgrind (it executes /proc/self/exe, xmppgate itself):
# the children before it are checked, the login after it is not.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

DOMAIN=example.test
INETD=/usr/sbin/inetd
require_xmppgate
[ -x "$INETD" ] || fail "$INETD not installed (package openbsd-inetd)"

COUNT=2000 WITHIN=2 SOURCES=200 DEADLINE=30
# The capped pool: HCOUNT clients that hold their connection HOLD s
# (longer than the storm takes to open), MAXC of them at once.
HCOUNT=400 MAXC=50 HOLD=10
if [ -n "${XG_VALGRIND:-}" ]; then
	COUNT=12 DEADLINE=$((30 * XG_TIME_FACTOR))
	HCOUNT=12 MAXC=4 HOLD=$((10 * XG_TIME_FACTOR))
	log "under valgrind: storms of $COUNT connections, not 2000; the capped pool $MAXC of $HCOUNT"
	log "under valgrind: the pool's re-exec (SIGHUP) runs the new image outside valgrind"
elif grep -q '^#define XG_SANITIZERS 1' "$top_builddir/config.h" 2>/dev/null; then
	COUNT=400
	log "an ASan build: storms of $COUNT connections, not 2000"
fi
# Each launcher is chosen below, whatever XG_LAUNCH the caller set.
XG_LAUNCH="" XG_POOL_OPTS=""

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

# storm_field LINE NAME: a number from storm.py's line.
storm_field() { sed -n "s/.* $2=\([0-9]*\).*/\1/p" <<<"$1"; }

# pool_refusals LOG: the connections the pool refused, as its lines count
# them ("pool: N refused (...) since the last such line: ..."), every kind.
pool_refusals() {
	sed -n 's/.* pool: \([0-9]*\) refused (.*/\1/p' "$1" 2>/dev/null |
		awk '{ s += $1 } END { print s + 0 }'
}

# pool_flush NAME: SIGHUP to the pool ($GATE_PID): it writes the refusal
# counts it holds back and re-executes itself; both must be done (the
# "re-executed (SIGHUP)" line), and the pool still the listener.
pool_flush() {
	local n
	n=$(grep -c 're-executed (SIGHUP)' "$XG_GATE_LOG" || :)
	kill -HUP "$GATE_PID"
	for _ in $(seq 1 $((200 * XG_TIME_FACTOR))); do
		[ "$(grep -c 're-executed (SIGHUP)' "$XG_GATE_LOG" || :)" -gt "$n" ] && break
		kill -0 "$GATE_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$GATE_PID" 2>/dev/null ||
		{ show_log "$XG_GATE_LOG"; fail "$1: the pool is gone after SIGHUP"; }
	[ "$(grep -c 're-executed (SIGHUP)' "$XG_GATE_LOG" || :)" -gt "$n" ] ||
		{ show_log "$XG_GATE_LOG"; fail "$1: the pool did not re-execute on SIGHUP"; }
}

# pool_storm NAME PORT HCOUNT HOLD: a storm of N clients against the pool
# on PORT (each holding its connection HOLD s after the features); none
# times out or breaks, the refusals it saw are those the pool counted,
# no child died by a signal.  Sets STORM (the storm's line).
pool_storm() {
	local seen logged
	check "$1: $3 connections within $WITHIN s from $SOURCES addresses"
	STORM=$($XG_PY "$top_srcdir/tests/storm.py" --port "$2" --domain "$DOMAIN" \
		--count "$3" --within "$WITHIN" --sources "$SOURCES" \
		--deadline "$DEADLINE" --hold "$4" --min-features 1) ||
		{ show_log "$XG_GATE_LOG"; fail "$1: a connection timed out or broke: $STORM"; }
	echo "    $STORM"
	pass "$1: every connection got its stream features or was refused"
	check "$1: the refusals are those the pool counted"
	pool_flush "$1"
	seen=$(storm_field "$STORM" refused)
	logged=$(pool_refusals "$XG_GATE_LOG")
	grep ' pool: [0-9]* refused (' "$XG_GATE_LOG" | sed 's/^/    /' || :
	[ "$seen" = "$logged" ] ||
		{ show_log "$XG_GATE_LOG"; fail "$1: $seen refused in the storm, $logged counted by the pool"; }
	pass "$1: $seen refused, $logged counted"
	check "$1: no child died by a signal, nothing fatal"
	! grep -E ' pool: child [0-9]* .*killed by signal| pool: fatal' "$XG_GATE_LOG" ||
		{ show_log "$XG_GATE_LOG"; fail "$1: a child was killed or the pool failed"; }
	pass "$1: none"
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

# The pooled mode: systemd-socket-activate without --accept passes the
# listening socket; one xmppgate --listen forks a child per connection.
# The default caps; storm.py's clients close at once, so the cap may or
# may not be reached: either way every refusal is counted.
XG_GATE_LOG=$XG_TMP/gate-pool.log
OPORT=$(free_port)
# shellcheck disable=SC2086
XG_LAUNCH=pool start_gate "$OPORT" $GATE_ARGS
pool_storm "pool --listen" "$OPORT" "$COUNT" 0
login "pool --listen" "$OPORT"

# The pool at --max-conns $MAXC, clients that hold their connection: the
# first MAXC get their features and hold them past the storm's opening,
# every other one is refused (closed unanswered) and counted.
XG_GATE_LOG=$XG_TMP/gate-pool-capped.log
CPORT=$(free_port)
# shellcheck disable=SC2086
XG_LAUNCH=pool XG_POOL_OPTS="--max-conns $MAXC" start_gate "$CPORT" $GATE_ARGS
pool_storm "pool --listen --max-conns $MAXC, held" "$CPORT" "$HCOUNT" "$HOLD"
check "pool --max-conns $MAXC: exactly $MAXC got their features, $((HCOUNT - MAXC)) refused over the cap"
[ "$(storm_field "$STORM" features)" = "$MAXC" ] &&
	[ "$(storm_field "$STORM" refused)" = "$((HCOUNT - MAXC))" ] ||
	fail "pool --max-conns $MAXC: $STORM"
grep -q " pool: [0-9]* refused (--max-conns) since the last such line: $MAXC connections at once" \
	"$XG_GATE_LOG" || { show_log "$XG_GATE_LOG"; fail "no --max-conns refusal line"; }
pass "pool --max-conns $MAXC: $MAXC served, the rest refused over the cap"
# The held connections are closed now; their children end, then a login.
wait_log ' pool: child [0-9]* client=[^ ]* exited with code [0-9]* (0 running)' 30 ||
	{ show_log "$XG_GATE_LOG"; fail "the capped pool's children did not end"; }
login "pool --listen --max-conns $MAXC" "$CPORT"

check "no xmppgate or helper left running"
assert_no_leftovers 15
pass "no leftovers"
