#!/bin/bash
# xmppgate-relay(8) on this host: hand-offs from tests/relayd_send.py (a
# sender like xmppgate --relay: two loopback TCP connections, their near
# ends passed by SCM_RIGHTS), with the relay behind systemd-socket-activate
# --seqpacket as xmppgate-relay.socket starts it.  This kernel has no
# kernel TLS, so the client socket is plain TCP and the relay relays plain
# bytes (tests/t-ktls-uml.sh is where kTLS runs).  Checks: a session moves
# 8 MiB each way intact with both half-closes and one summary line; every
# refusal answers "NO ..." with one log line and keeps no fd; a peer not
# allowed gets no answer, one in --allow-group is served; the idle
# timeout; 200 idle sessions hold no pipe and end on SIGTERM with 200
# summaries; a stalled backend neither grows the relay nor stops another
# session; more stalled sessions than --pipes keeps do not stop another
# either; --pipes 0 (no cache); a peer's SO_LINGER does not block the
# relay's close(), nor a peer that clears O_NONBLOCK its splice().
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

[ -x "$xg_real_relay" ] || fail "xmppgate-relay not built: $xg_real_relay"
SENDPY=$top_srcdir/tests/relayd_send.py
send() { timeout $((120 * XG_TIME_FACTOR)) "$XG_PY" "$SENDPY" "$@"; }

# start_relay NAME ARGS...: a relay on $XG_TMP/NAME.sock, its log in
# $XG_TMP/relay-NAME.log; sets RSOCK, RLOG and RELAY_PID (systemd-socket-
# activate execs the relay at the first connection: the same pid).
start_relay() {
	local name=$1 e envargs="" i
	shift
	RSOCK=$XG_TMP/$name.sock
	RLOG=$XG_TMP/relay-$name.log
	for e in ASAN_OPTIONS UBSAN_OPTIONS; do
		[ -z "${!e:-}" ] || envargs="$envargs -E $e=${!e}"
	done
	log "starting xmppgate-relay on $RSOCK: $*"
	# shellcheck disable=SC2086
	bg "$RLOG" systemd-socket-activate --seqpacket -l "$RSOCK" $envargs \
		"$XG_BIN_RELAY" --allow-root "$@"
	RELAY_PID=$BG_PID
	for i in $(seq 1 100); do
		[ -S "$RSOCK" ] && return 0
		kill -0 "$RELAY_PID" 2>/dev/null || break
		sleep 0.1
	done
	show_log "$RLOG"
	fail "no relay socket $RSOCK within 10 s"
}

# stop_relay: SIGTERM, and wait (bounded) for the relay to exit; its
# exit status in RELAY_RC.
stop_relay() {
	local i
	kill -TERM "$RELAY_PID"
	for i in $(seq 1 $((100 * XG_TIME_FACTOR))); do
		kill -0 "$RELAY_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$RELAY_PID" 2>/dev/null && fail "the relay did not exit within 10 s of SIGTERM"
	RELAY_RC=0
	wait "$RELAY_PID" || RELAY_RC=$?
}

# The relay's fds and those of them that are pipes; valgrind (XG_VALGRIND)
# keeps its own at the top of the range, left out.
relay_fds() { find "/proc/$RELAY_PID/fd" -mindepth 1 "$@" -printf '%f\n' | awk '$1 < 10000'; }
nfds() { relay_fds | wc -l; }
npipes() { relay_fds -lname 'pipe:*' | wc -l; }
# Those that are not pipes: the sessions' sockets (its pipes may stay in
# the pool of empty ones, up to 64, depending on how the session ended).
nother() { relay_fds -not -lname 'pipe:*' | wc -l; }
relay_rss_kb() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$RELAY_PID/status"; }
# wait_file FILE SECONDS: until FILE exists; false when it does not in time.
wait_file() {
	local i
	for i in $(seq 1 $(($2 * 10 * XG_TIME_FACTOR))); do
		[ -e "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

check "usage errors exit 100 with a message; no socket from systemd exits 111"
for a in "--pipes -1" "--max-sessions x" "--bogus" "--allow-root --allow-group no-such-group-xg" \
	"--allow-root extra"; do
	rc=0
	# shellcheck disable=SC2086
	"$xg_real_relay" $a </dev/null >"$XG_TMP/usage.out" 2>&1 || rc=$?
	[ "$rc" -eq 100 ] || fail "xmppgate-relay $a: exit $rc, not 100"
	grep -q 'xmppgate-relay: usage: \|unrecognized option' "$XG_TMP/usage.out" ||
		fail "xmppgate-relay $a: no usage message: $(cat "$XG_TMP/usage.out")"
done
if [ "$(id -u)" -eq 0 ]; then
	rc=0
	"$xg_real_relay" </dev/null >"$XG_TMP/usage.out" 2>&1 || rc=$?
	[ "$rc" -eq 100 ] && grep -q 'refusing to run as root' "$XG_TMP/usage.out" ||
		fail "as root without --allow-root: exit $rc, $(cat "$XG_TMP/usage.out")"
fi
rc=0
env -u LISTEN_FDS -u LISTEN_PID "$xg_real_relay" --allow-root </dev/null >"$XG_TMP/usage.out" 2>&1 || rc=$?
[ "$rc" -eq 111 ] && grep -q 'fatal: wants exactly one socket from systemd' "$XG_TMP/usage.out" ||
	fail "without a socket: exit $rc, $(cat "$XG_TMP/usage.out")"
pass "100 and 111"

check "a handed-off session relays 8 MiB each way intact, both half-closes, one summary"
start_relay main
out=$(send "$RSOCK" flow 8) || { echo "$out"; fail "the session did not flow"; }
echo "$out" | sed 's/^/    /'
echo "$out" | grep -qx 'answer OK' || fail "no OK"
# Each far end read to EOF after all of the other's bytes: the relay
# passed each half-close on while the other direction still ran.
echo "$out" | grep -qx 'c2b bytes 8388608 sha256 same' || fail "client to backend differs"
echo "$out" | grep -qx 'b2c bytes 8388608 sha256 same' || fail "backend to client differs"
line=$(wait_summaries 1 10 "$RLOG")
echo "    $line"
[ "$(echo "$line" | wc -l)" -eq 1 ] || fail "more than one summary line"
expect_summary "$line" rx=$((1000 + 8388608)) tx=$((2000 + 8388608)) outcome=ok \
	client=127.0.0.1:4242 user=alice domain=example.org
echo "$line" | grep -Eq 'reason="(client|backend) closed first"' || fail "reason: $line"
! grep -q 'hand-off refused' "$RLOG" || fail "a refusal logged"
pass "8 MiB each way, rx/tx the message's plus the bytes moved"

check "after OK the sender's copies are closed and the session still works"
# relayd_send.py closes its copies of both fds as soon as it reads OK,
# before a byte moves: the 8 MiB above went through the relay's alone.
# Once more, with the relay's fds counted: the session's two came and went.
base=$(nother)
out=$(send "$RSOCK" flow 1) || { echo "$out"; fail "the second session did not flow"; }
echo "$out" | grep -qx 'c2b bytes 1048576 sha256 same' || fail "second session: $out"
wait_summaries 2 10 "$RLOG" >/dev/null
# The summary is logged as the session ends, its fds closed just after:
# give them a bounded moment (under ASan 0.2 s was once too short).
for i in $(seq 1 $((50 * XG_TIME_FACTOR))); do
	[ "$(nother)" -le "$base" ] && break
	sleep 0.1
done
[ "$(nother)" -le "$base" ] || fail "the relay holds $(nother) fds other than pipes after the session, $base before"
pass "the relay alone carried the session; its fds went with it ($(nfds))"

check "refusals: NO with a reason, one log line each, no fd kept"
base=$(nfds)
for c in bad:'NO bad message: not a hand-off message' long:'NO message longer than 1024 bytes' \
	one:'NO 1 fds, not 2' three:'NO 3 fds, not 2' none:'NO 0 fds, not 2' \
	pipe:'NO the client fd is not a socket'; do
	ans=$(send "$RSOCK" answer "${c%%:*}")
	echo "    ${c%%:*}: $ans"
	case $ans in
	"${c#*:}"*) ;;
	*) fail "${c%%:*}: expected '${c#*:}...', got '$ans'" ;;
	esac
done
n=$(grep -c 'hand-off refused: ' "$RLOG")
[ "$n" -eq 6 ] || { show_log "$RLOG"; fail "expected 6 refusal lines, found $n"; }
[ "$(summaries "$RLOG" | wc -l)" -eq 2 ] || fail "a refusal logged a summary"
sleep 0.2
[ "$(nfds)" -le "$base" ] || fail "the relay holds $(nfds) fds after the refusals, $base before"
stop_relay
[ "$RELAY_RC" -eq 0 ] || fail "the relay exited $RELAY_RC on SIGTERM"
pass "6 refusals, 6 lines, fds back to $base"

check "--max-sessions: the one over it is refused"
start_relay max --max-sessions 1
bg "$XG_TMP/hold1.out" "$XG_PY" "$SENDPY" "$RSOCK" hold 1 "$XG_TMP/hold1.ready"
HOLD_PID=$BG_PID
wait_file "$XG_TMP/hold1.ready" 10 || { show_log "$XG_TMP/hold1.out"; fail "the first session was not held"; }
grep -q '^held 1 refused 0' "$XG_TMP/hold1.out" || fail "first session: $(cat "$XG_TMP/hold1.out")"
ans=$(send "$RSOCK" answer good)
echo "    second: $ans"
[ "$ans" = "NO too many sessions (1)" ] || fail "second session: $ans"
grep -q 'hand-off refused: too many sessions (1)' "$RLOG" || fail "no log line for it"
stop_relay
pass "NO too many sessions (1)"

check "the peer check: not allowed, no answer; in --allow-group, served"
start_relay peers --allow-group 4242
# The socket as xmppgate-relay.socket makes it for its group, but open to
# nobody here (the check is the relay's).
chmod 666 "$RSOCK"
cp "$SENDPY" "$XG_TMP/relayd_send.py"
chmod 644 "$XG_TMP/relayd_send.py"
ans=$(timeout 30 setpriv --reuid=nobody --regid=nogroup --clear-groups \
	"$XG_PY" "$XG_TMP/relayd_send.py" "$RSOCK" answer good)
echo "    nobody: $ans"
[ "$ans" = "(closed without an answer)" ] || fail "a peer not allowed got: $ans"
wait_log 'hand-off refused: peer pid=[0-9]* uid=65534 gid=[0-9]* is not allowed' 5 "$RLOG" ||
	{ show_log "$RLOG"; fail "no log line for the peer not allowed"; }
ans=$(timeout 30 setpriv --reuid=nobody --regid=nogroup --groups=4242 \
	"$XG_PY" "$XG_TMP/relayd_send.py" "$RSOCK" answer good)
echo "    nobody in group 4242: $ans"
[ "$ans" = OK ] || fail "a peer in --allow-group got: $ans"
wait_summaries 1 10 "$RLOG" >/dev/null
[ "$(grep -c 'is not allowed' "$RLOG")" -eq 1 ] || fail "not exactly one 'not allowed' line"
pass "refused without an answer, then served"

check "peers not allowed are logged at most once a second, every one counted"
out=$(timeout 60 setpriv --reuid=nobody --regid=nogroup --clear-groups \
	"$XG_PY" "$XG_TMP/relayd_send.py" "$RSOCK" knock 50)
echo "    $out"
[ "$out" = "closed without an answer 50 of 50" ] || fail "knock: $out"
t0=$(date +%s)
stop_relay
t1=$(date +%s)
lines=$(grep -c 'is not allowed' "$RLOG")
# Every refused peer: one per line, plus the counts of those not logged
# (in the next line, and at the stop).
counted=$(sed -n -e 's/.*is not allowed .*(\([0-9]*\) more since the last such line).*/\1/p' \
	-e 's/.*hand-off refused: \([0-9]*\) more peers not allowed since.*/\1/p' "$RLOG" |
	awk -v l="$lines" '{ n += $1 } END { print n + l }')
echo "    $lines lines for 51 refused peers, $counted counted"
[ "$counted" -eq 51 ] || { show_log "$RLOG"; fail "$counted peers counted, 51 refused"; }
[ "$lines" -le $((t1 - t0 + 12 * XG_TIME_FACTOR)) ] || fail "$lines lines: not throttled"
pass "$lines lines, all 51 counted"

check "a hand-off that sends nothing is closed after 5 s"
start_relay silent
out=$(send "$RSOCK" silent)
echo "    $out"
case $out in
"closed after "[5-7].*" s") ;;
*) fail "silent hand-off: $out" ;;
esac
wait_log 'hand-off: no message within 5000 ms' 2 "$RLOG" || fail "no log line for it"
stop_relay
pass "closed and logged"

check "--idle-timeout (the message's idle=) ends an idle session with its summary"
start_relay idle
out=$(send "$RSOCK" idle 1) || { echo "$out"; fail "the idle session was not ended"; }
echo "$out" | sed 's/^/    /'
line=$(wait_summaries 1 5 "$RLOG")
echo "    $line"
expect_summary "$line" rx=1000 tx=2000 outcome=ok
echo "$line" | grep -q 'reason="idle timeout (1 s)"' || fail "reason: $line"
stop_relay
pass "ended by the idle timeout"

check "200 idle sessions: two fds each and no pipe of their own; SIGTERM ends all with 200 summaries"
start_relay many
bg "$XG_TMP/hold.out" "$XG_PY" "$SENDPY" "$RSOCK" hold 200 "$XG_TMP/hold.ready"
HOLD_PID=$BG_PID
wait_file "$XG_TMP/hold.ready" 60 || { show_log "$XG_TMP/hold.out"; fail "200 sessions not held in time"; }
grep -q '^held 200 refused 0' "$XG_TMP/hold.out" || fail "$(cat "$XG_TMP/hold.out")"
fds=$(nfds)
pipes=$(npipes)
echo "    relay: $fds fds, $pipes of them pipes, $(relay_rss_kb) kB RSS"
# The cache keeps up to 64 empty pipes (--pipes) for reuse; a session
# takes one only while bytes are in flight: a pipe per idle session would
# be 400 fds more.
[ "$pipes" -le 32 ] || fail "idle sessions hold $pipes pipe fds"
[ "$fds" -ge 400 ] && [ "$fds" -le 440 ] || fail "$fds fds for 200 sessions (expected 400 + a few)"
stop_relay
[ "$RELAY_RC" -eq 0 ] || fail "the relay exited $RELAY_RC on SIGTERM"
n=$(summaries "$RLOG" | grep -c 'outcome=ok reason="relay stopping"')
[ "$n" -eq 200 ] || { show_log "$RLOG" 5; fail "$n 'relay stopping' summaries, not 200"; }
[ "$(summaries "$RLOG" | wc -l)" -eq 200 ] || fail "other summary lines too"
for i in $(seq 1 $((100 * XG_TIME_FACTOR))); do
	kill -0 "$HOLD_PID" 2>/dev/null || break
	sleep 0.1
done
rc=0
wait "$HOLD_PID" || rc=$?
grep -q '^ended 400 of 400 ends' "$XG_TMP/hold.out" && [ "$rc" -eq 0 ] ||
	fail "the sender saw: $(cat "$XG_TMP/hold.out")"
pass "200 held in $fds fds, 200 summaries, every end closed"

check "a stalled backend: the relay does not grow, and another session flows"
start_relay stall
send "$RSOCK" flow 1 >/dev/null || fail "warm-up session"
rss0=$(relay_rss_kb)
bg "$XG_TMP/stall.out" "$XG_PY" "$SENDPY" "$RSOCK" stall 8 "$XG_TMP/stall.ready"
STALL_PID=$BG_PID
wait_file "$XG_TMP/stall.ready" 60 || { show_log "$XG_TMP/stall.out"; fail "the stalled session never blocked"; }
rss1=$(relay_rss_kb)
stalled=$(sed -n 's/^stalled after \([0-9]*\) bytes/\1/p' "$XG_TMP/stall.out")
echo "    the client wrote $stalled bytes before it blocked; relay RSS $rss0 -> $rss1 kB"
[ -n "$stalled" ] && [ "$stalled" -lt $((256 * 1024 * 1024)) ] || fail "the client was never stopped"
[ $((rss1 - rss0)) -lt 4096 ] || fail "the relay grew by $((rss1 - rss0)) kB"
for i in $(seq 1 $((600 * XG_TIME_FACTOR))); do
	kill -0 "$STALL_PID" 2>/dev/null || break
	sleep 0.1
done
rc=0
wait "$STALL_PID" || rc=$?
sed 's/^/    /' "$XG_TMP/stall.out"
[ "$rc" -eq 0 ] || fail "the other session did not flow beside the stalled one"
grep -qx 'b2c bytes 8388608 sha256 same' "$XG_TMP/stall.out" || fail "other session: b2c"
grep -qx 'c2b bytes 8388608 sha256 same' "$XG_TMP/stall.out" || fail "other session: c2b"
stop_relay
pass "bounded ($stalled bytes in flight, +$((rss1 - rss0)) kB), and the other session moved 8 MiB each way"

check "more stalled sessions than --pipes keeps: another session still flows"
# Each stalled direction keeps its pipe (its bytes are in it); before
# review 4 they came from a pool of --pipes, and once it was empty every
# other direction waited (a remote client that stops reading decided how
# many).  Now a direction makes a pipe of its own when the cache is empty.
start_relay stallmany --pipes 2
bg "$XG_TMP/stallmany.out" "$XG_PY" "$SENDPY" "$RSOCK" stall 4 "$XG_TMP/stallmany.ready" 5 "$XG_TMP/stallmany.go"
STALL_PID=$BG_PID
wait_file "$XG_TMP/stallmany.ready" 60 || { show_log "$XG_TMP/stallmany.out"; fail "the stalled sessions never blocked"; }
n=$(grep -c '^stalled after [0-9]* bytes' "$XG_TMP/stallmany.out")
pipes=$(npipes)
echo "    $n sessions stalled; the relay holds $pipes pipe fds"
[ "$n" -eq 5 ] || fail "$n stalled sessions, not 5"
[ "$pipes" -ge 10 ] || fail "$pipes pipe fds: the 5 stalled directions do not hold a pipe each"
touch "$XG_TMP/stallmany.go"
for i in $(seq 1 $((600 * XG_TIME_FACTOR))); do
	kill -0 "$STALL_PID" 2>/dev/null || break
	sleep 0.1
done
rc=0
wait "$STALL_PID" || rc=$?
grep -qx 'b2c bytes 4194304 sha256 same' "$XG_TMP/stallmany.out" &&
	grep -qx 'c2b bytes 4194304 sha256 same' "$XG_TMP/stallmany.out" && [ "$rc" -eq 0 ] ||
	{ sed 's/^/    /' "$XG_TMP/stallmany.out"; fail "the fresh session did not flow beside 5 stalled ones"; }
! grep -q 'relay: pipe2' "$RLOG" || fail "pipe2 failed: $(grep 'relay: pipe2' "$RLOG")"
stop_relay
pass "5 stalled sessions, --pipes 2, and a fresh one moved 4 MiB each way"

check "a peer's SO_LINGER {1, 20 s} does not block the relay's close()"
# The relay's copy of such a socket is the last one when it closes it (a
# refused hand-off, a session's end): close() would wait up to 20 s for
# the unread bytes; SO_LINGER off first, it returns at once.
start_relay linger
out=$(send "$RSOCK" linger) || { echo "$out"; fail "linger"; }
echo "$out" | sed 's/^/    /'
echo "$out" | grep -q '^refused: NO 3 fds, not 2 .* with [1-9][0-9]* bytes unsent' || fail "the refusal: $out"
echo "$out" | grep -q '^idle session: OK with [1-9][0-9]* bytes unsent' || fail "the idle session: $out"
for w in "after the refusal" "after the idle end"; do
	t=$(echo "$out" | sed -n "s/^$w: OK after \([0-9.]*\) s\$/\1/p")
	[ -n "$t" ] || fail "$w: no OK: $out"
	awk -v t="$t" -v f="$XG_TIME_FACTOR" 'BEGIN { exit !(t < 2 * f) }' ||
		fail "$w: the next hand-off waited $t s (close() blocked?)"
done
stop_relay
pass "both answered at once"

check "a peer that clears O_NONBLOCK on its copy of a socket does not block the relay"
start_relay blockflag
out=$(send "$RSOCK" blockflag) || { echo "$out"; fail "blockflag"; }
echo "$out" | sed 's/^/    /'
echo "$out" | grep -qx 'backend got x' || fail "the client's byte: $out"
echo "$out" | grep -qx 'client got y' || fail "the backend's byte: $out"
ts=$(echo "$out" | sed -n 's/^next hand-off: OK after \([0-9.]*\) s$/\1/p')
[ "$(echo "$ts" | wc -w)" -eq 2 ] || fail "not two hand-offs answered OK: $out"
for t in $ts; do
	awk -v t="$t" -v f="$XG_TIME_FACTOR" 'BEGIN { exit !(t < 2 * f) }' ||
		fail "a hand-off after the flag was cleared waited $t s"
done
stop_relay
pass "O_NONBLOCK set again before splice(); bytes and hand-offs moved"

check "--pipes 0: no cache, each pipe made when bytes come and closed when empty"
start_relay pipes --pipes 0
out=$(send "$RSOCK" flow 32) || { echo "$out"; fail "32 MiB each way without a cache"; }
echo "$out" | grep -qx 'c2b bytes 33554432 sha256 same' || fail "c2b: $out"
echo "$out" | grep -qx 'b2c bytes 33554432 sha256 same' || fail "b2c: $out"
line=$(wait_summaries 1 10 "$RLOG")
expect_summary "$line" rx=$((1000 + 33554432)) tx=$((2000 + 33554432)) outcome=ok
sleep 0.2
[ "$(npipes)" -eq 0 ] || fail "$(npipes) pipe fds left with --pipes 0 and no session"
stop_relay
pass "32 MiB each way, no pipe left"
