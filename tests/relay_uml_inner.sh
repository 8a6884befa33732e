#!/bin/bash
# The half of tests/t-relay-uml.sh that runs inside user-mode Linux
# (tests/uml.sh), as root, with the kernel's TLS loaded (AES-GCM): the
# hand-off of logged-in sessions to xmppgate-relay.
#
# xmppgate runs in connect mode with --relay; for the bulk data its
# backend is tests/relay_backend.py --listen (a real server does not relay
# arbitrary bytes), for the rest a real Prosody.  For each session: the
# per-connection process says "handed to the relay" and has exited while
# the session goes on, the bytes each way arrive intact (SHA-256), and the
# relay logs the one summary line.  Then the ends (close_notify, a fatal
# alert, a TLS 1.3 KeyUpdate), the fallbacks (no relay listening, a relay
# that refuses the peer), slixmpp through the relay, a relay killed with
# sessions open and started again, and many idle sessions held by the
# relay alone, with the kernel's and the relay's memory for them.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
. "$top_srcdir/tests/uml_guest.sh"

DOMAIN=example.test
PASSWORD='s3cret uml'
BYTES=${XG_RELAY_UML_BYTES:-$((256 * 1024 * 1024))}
IDLE=${XG_RELAY_UML_IDLE:-1000}
RELAY_CLIENT=$top_builddir/tests/relay_client
RELAY_BACKEND=$top_srcdir/tests/relay_backend.py
RELAY_BIN=$top_builddir/xmppgate-relay
RELAY_SOCK=$XG_TMP/relay.sock
P13="NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM"
P12="NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-GCM"

require_xmppgate
[ -x "$RELAY_CLIENT" ] ||
	fail "test client not built: $RELAY_CLIENT (make check builds it)"
[ -x "$RELAY_BIN" ] || fail "xmppgate-relay not built: $RELAY_BIN"
uml_load $UML_TLS_GCM

cp "$XG_RELAY_UML_CERTS/cert.pem" "$XG_RELAY_UML_CERTS/key.pem" \
	"$XG_RELAY_UML_CERTS/ca.pem" "$XG_RELAY_UML_CERTS/chain.pem" \
	"$XG_TMP/" || fail "no certificates in $XG_RELAY_UML_CERTS"
write_helper "$XG_TMP/helper-check" '
[ -n "${XG_NOAVX_SET:-}" ] || exec /usr/bin/env XG_NOAVX_SET=1 '"$NOAVX"' /bin/sh "$0" "$@"
pw=$(cat)
case $AUTH_USER in alice|bob) [ "$pw" = "s3cret uml" ] && exit 0 ;; esac
exit 1'
RELAY_LOG=$XG_TMP/relay.log

# start_relay [ARGS...]: xmppgate-relay on $RELAY_SOCK, as systemd would
# start it (its socket passed, Accept=no); sets RELAY_PID.
start_relay() {
	rm -f "$RELAY_SOCK"
	# shellcheck disable=SC2086
	bg "$RELAY_LOG" systemd-socket-activate --seqpacket -l "$RELAY_SOCK" \
		$SSA_ENV "$RELAY_BIN" --allow-root "$@"
	RELAY_PID=$BG_PID
	for i in $(seq 1 100); do
		[ -S "$RELAY_SOCK" ] && return 0
		sleep 0.1
	done
	show_log "$RELAY_LOG"
	fail "xmppgate-relay did not listen on $RELAY_SOCK"
}

# relay_summaries: the relay's summary lines so far.
relay_summaries() { summaries "$RELAY_LOG"; }

# gate NAME BACKEND-PORT [ARGS...]: a fresh xmppgate in connect mode with
# --relay; sets GPORT, XG_GATE_LOG.
gate() {
	local name=$1 bport=$2
	shift 2
	[ -z "${GATE_PID:-}" ] || kill_bg "$GATE_PID"
	new_gate "$name" --auth "${GATE_AUTH:-$XG_TMP/helper-check}" --auth-delay 0 \
		--timeout 60 --idle-timeout "${GATE_IDLE:-120}" --backend "127.0.0.1:$bport" \
		--relay "$RELAY_SOCK" ${GATE_EXTRA:-} "$@"
}

# bulk NAME PRIORITY SEND RECV [DELAY] [CLIENT-ARGS...]: one login through
# a fresh gate to relay_backend.py --listen: SEND bytes from the client,
# RECV from the backend (after DELAY seconds).  While it runs, the session's xmppgate must be gone.  Sets
# OUT, RES (the backend's result), CRC (the client's status), GONE (yes
# when no xmppgate ran while the bytes moved).
bulk() {
	local name=$1 prio=$2 send=$3 recv=$4 delay=0 bport pid i
	shift 4
	case ${1:-} in [0-9]*) delay=$1; shift ;; esac
	bport=$(free_port)
	RESULT=$XG_TMP/$name.result
	bg "$XG_TMP/$name-backend.log" /usr/bin/env $NOAVX "$XG_PY" \
		"$RELAY_BACKEND" --listen "$bport" "$RESULT" "$recv" "$delay"
	wait_port "$bport" 20 "$BG_PID" || fail "$name: the backend did not listen"
	gate "$name" "$bport"
	"$RELAY_CLIENT" --host 127.0.0.1 --port "$GPORT" --ca "$XG_TMP/ca.pem" \
		--domain "$DOMAIN" --user alice --password "$PASSWORD" \
		--send "$send" --timeout 240 --priority "$prio" --restart "$@" \
		>"$XG_TMP/$name.out" 2>"$XG_TMP/$name-client.log" &
	pid=$!
	# Once handed over, while the client still runs: no xmppgate.  (One
	# look: starting pgrep takes 60 ms in user-mode Linux.)
	GONE=no
	for i in $(seq 1 1200); do
		kill -0 "$pid" 2>/dev/null || break
		if [ "$GONE" = no ] && grep -q 'handed to the relay' "$XG_GATE_LOG"; then
			sleep 0.2
			if kill -0 "$pid" 2>/dev/null && [ -z "$(xmppgate_pids)" ]; then
				GONE=yes
			else
				GONE=unknown
			fi
		fi
		sleep 0.2
	done
	CRC=0
	wait "$pid" || CRC=$?
	OUT=$(cat "$XG_TMP/$name.out")
	for i in $(seq 1 300); do
		[ -e "$RESULT" ] && break
		sleep 0.1
	done
	RES=$(cat "$RESULT" 2>/dev/null || echo "no result")
	echo "    client:  $OUT"
	echo "    backend: $RES"
	grep -v ' summary ' "$XG_GATE_LOG" | grep -E 'kernel TLS|relay' |
		sed 's/^.*conn=/    gate:    /'
}

# intact NAME SEND RECV: both ends' digests agree and every byte arrived.
intact() {
	local name=$1
	[ "$CRC" -eq 0 ] ||
		fail "$name: relay_client failed: $(tail -n 1 "$XG_TMP/$name-client.log")"
	[ "$(summary_field "$OUT" sent_sha256)" = "$(summary_field "$RES" received_sha256)" ] &&
	[ "$(summary_field "$RES" sent_sha256)" = "$(summary_field "$OUT" received_sha256)" ] &&
	[ "$(summary_field "$RES" received)" = "$2" ] &&
	[ "$(summary_field "$OUT" received)" = "$3" ] ||
		fail "$name: the bytes differ"
	[ "$(summary_field "$OUT" close)" = close_notify ] ||
		fail "$name: the client did not get close_notify: $OUT"
	[ "$(summary_field "$RES" eof)" = yes ] ||
		fail "$name: the backend did not see the client's end: $RES"
}

# handed NAME: the gate handed the session over, logged no summary, and
# exited 0; RSUM is the relay's summary line for it.
handed() {
	local name=$1 id line
	line=$(grep 'handed to the relay' "$XG_GATE_LOG") ||
		fail "$name: not handed over: $(grep -E 'relay|kernel TLS' "$XG_GATE_LOG")"
	id=${line#*conn=}
	id=${id%% *}
	[ -z "$(summaries)" ] ||
		fail "$name: the gate logged a summary too: $(summaries)"
	[ "$(exit_codes)" = 0 ] || fail "$name: the gate's exit: $(exit_codes)"
	RSUM=$(wait_summaries 1 30 "$RELAY_LOG" | grep "conn=$id ") ||
		fail "$name: no summary from the relay for conn=$id"
	[ "$(printf '%s\n' "$RSUM" | wc -l)" -eq 1 ] ||
		fail "$name: more than one summary for conn=$id: $RSUM"
	echo "    relay:   ${RSUM#*conn=}"
}

# at_least LINE KEY N: the number KEY= in LINE is N or more (the login's
# bytes come on top), and less than N + 64 KiB.
at_least() {
	local v
	v=$(summary_field "$1" "$2")
	case $v in '' | *[!0-9]*) fail "summary: $2=$v is not a number: $1" ;; esac
	[ "$v" -ge "$3" ] && [ "$v" -lt $(($3 + 65536)) ] ||
		fail "summary: $2=$v, expected $3 and the login's bytes: $1"
}

# As LimitNOFILE= in xmppgate-relay.service: room for every session.
ulimit -n 65536 || fail "ulimit -n 65536"
start_relay

check "256 MiB each way handed off: intact, both half-closes, the gate gone while the bytes move"
[ "$BYTES" -eq $((256 * 1024 * 1024)) ] || log "(XG_RELAY_UML_BYTES: $BYTES bytes each way)"
t0=$(date +%s)
bulk big "$P13" "$BYTES" "$BYTES"
intact big "$BYTES" "$BYTES"
handed big
# (A small XG_RELAY_UML_BYTES may end before the look.)
[ "$GONE" = yes ] || [ "$BYTES" -lt $((64 * 1024 * 1024)) ] ||
	fail "big: an xmppgate ran all along"
expect_summary "$RSUM" outcome=ok user=alice
case $RSUM in
*' reason="client closed first"' | *' reason="backend closed first"') ;;
*) fail "big: not a clean end: $RSUM" ;;
esac
at_least "$RSUM" rx "$BYTES"
at_least "$RSUM" tx "$BYTES"
pass "intact, handed over, one summary by the relay ($(($(date +%s) - t0)) s)"

check "the client's close_notify first (the backend waits 3 s): a clean end, 'client closed first'"
bulk closefirst "$P13" $((1024 * 1024)) $((1024 * 1024)) 3
intact closefirst $((1024 * 1024)) $((1024 * 1024))
handed closefirst
expect_summary "$RSUM" outcome=ok
case $RSUM in
*' reason="client closed first"') ;;
*) fail "closefirst: $RSUM" ;;
esac
pass "client closed first, the backend's bytes still delivered"

check "TLS 1.2 (AES-256-GCM), the backend's end first: its close reaches the client as close_notify"
bulk tls12 "$P12" $((8 * 1024 * 1024)) $((8 * 1024 * 1024))
intact tls12 $((8 * 1024 * 1024)) $((8 * 1024 * 1024))
handed tls12
expect_summary "$RSUM" outcome=ok
pass "TLS 1.2 handed over, intact"

check "a fatal alert from the client ends its session in the relay with the alert's name"
# The backend still sending when the alert comes: no close_notify for
# the client then (as in t-ktls-uml).
bulk alert "$P13" $((1024 * 1024)) $((32 * 1024 * 1024)) --fatal-alert
[ "$CRC" -ne 0 ] || fail "alert: the client saw a complete session: $OUT"
handed alert
expect_summary "$RSUM" outcome=ok
case $RSUM in
*'reason="client read: TLS alert: Internal error"'*) ;;
*) fail "alert: $RSUM" ;;
esac
pass "ended with the alert's name"

check "a TLS 1.3 KeyUpdate from the client ends its session in the relay with a clear reason"
bulk keyupdate "$P13" $((4 * 1024 * 1024)) $((32 * 1024 * 1024)) --key-update $((1024 * 1024))
[ "$CRC" -ne 0 ] || fail "keyupdate: the client saw a complete session: $OUT"
handed keyupdate
# The same words and outcome as the relay in xmppgate (t-ktls-uml).
expect_summary "$RSUM" outcome=ok
case $RSUM in
*'reason="client read: a TLS 1.3 KeyUpdate, which kernel TLS before Linux 6.14 cannot follow"'*) ;;
*) fail "keyupdate: $RSUM" ;;
esac
pass "ended, with the KeyUpdate as its reason"

check "no relay listening: the session stays in xmppgate, one line, every byte"
kill_bg "$RELAY_PID"
rm -f "$RELAY_SOCK"
bulk norelay "$P13" $((8 * 1024 * 1024)) $((8 * 1024 * 1024))
intact norelay $((8 * 1024 * 1024)) $((8 * 1024 * 1024))
grep -q "relay hand-off: not done (connect $RELAY_SOCK: No such file or directory); relaying in this process" "$XG_GATE_LOG" ||
	fail "norelay: $(grep relay "$XG_GATE_LOG")"
expect_summary "$(wait_summaries 1 20)" outcome=ok
pass "relayed in xmppgate, said why"

check "xmppgate as nobody, a relay that does not allow it: no answer, the session stays in xmppgate"
start_relay
# Past the socket file's mode (xmppgate-relay.socket's SocketMode= is
# the first gate; unit-check.sh checks it): the relay's own peer check.
chmod 666 "$RELAY_SOCK"
GATE_EXTRA="--user nobody" bulk refused "$P13" $((1024 * 1024)) $((1024 * 1024))
intact refused $((1024 * 1024)) $((1024 * 1024))
grep -q "relay hand-off: not done (the relay closed without an answer" "$XG_GATE_LOG" ||
	fail "refused: $(grep relay "$XG_GATE_LOG")"
expect_summary "$(wait_summaries 1 20)" outcome=ok
pass "relayed in xmppgate, said why"

check "a relay that does not answer in time (stopped): after 5 s the session stays in xmppgate, every byte; the relay, woken, cannot take it"
kill_bg "$RELAY_PID"
start_relay
kill -STOP "$RELAY_PID"
bulk stuck "$P13" $((1024 * 1024)) $((1024 * 1024))
kill -CONT "$RELAY_PID"
intact stuck $((1024 * 1024)) $((1024 * 1024))
grep -q "relay hand-off: not done (the relay did not answer within 5000 ms); relaying in this process" "$XG_GATE_LOG" ||
	fail "stuck: $(grep relay "$XG_GATE_LOG")"
expect_summary "$(wait_summaries 1 20)" outcome=ok
wait_log "unable to answer OK" 20 "$RELAY_LOG" ||
	fail "stuck: the woken relay did not say it could not answer: $(tail -n 3 "$RELAY_LOG")"
grep "unable to answer OK" "$RELAY_LOG" | sed 's/^.*conn=/    relay:   /'
[ -z "$(relay_summaries | grep "conn=$(sed -n 's/.*conn=\([0-9a-f]*\) summary.*/\1/p' "$XG_GATE_LOG")")" ] ||
	fail "stuck: the relay logged a summary for the session xmppgate kept"
pass "relayed in xmppgate after the wait, said why; the relay dropped its copies"

check "xmppgate as nobody, a relay with --allow-uid nobody: handed over"
kill_bg "$RELAY_PID"
start_relay --allow-uid nobody
chmod 666 "$RELAY_SOCK"
GATE_EXTRA="--user nobody" bulk allowed "$P13" $((1024 * 1024)) $((1024 * 1024))
intact allowed $((1024 * 1024)) $((1024 * 1024))
handed allowed
pass "handed over"

check "the pooled mode (--listen): its child hands the session over and exits"
XG_LAUNCH=pool bulk pool "$P13" $((8 * 1024 * 1024)) $((8 * 1024 * 1024))
intact pool $((8 * 1024 * 1024)) $((8 * 1024 * 1024))
XG_LAUNCH=pool handed pool
kill_bg "$GATE_PID"
GATE_PID=
pass "handed over from the pool"

# ---- a real Prosody behind xmppgate and the relay ----
PRO=$XG_TMP/prosody
mkdir -p "$PRO"
cp "$XG_TMP"/cert.pem "$XG_TMP"/key.pem "$XG_TMP"/ca.pem "$XG_TMP"/chain.pem "$PRO/"
PPORT=$(free_port)
prosody_config "$PRO" "$PPORT" "$DOMAIN"
# A thousand sessions' debug lines would only slow the guest down.
sed -i 's/^log = { debug = /log = { info = /' "$PRO/prosody.cfg.lua"
prosody_adduser "$PRO" alice "$DOMAIN" "$PASSWORD"
prosody_adduser "$PRO" bob "$DOMAIN" "$PASSWORD"
start_prosody "$PRO" "$PPORT" "$DOMAIN"

check "slixmpp through the relay: alice and bob log in, bob gets alice's message"
gate slixmpp "$PPORT"
out=$($XG_CLIENT --jid "alice@$DOMAIN" --password "$PASSWORD" \
	--jid2 "bob@$DOMAIN" --password2 "$PASSWORD" \
	--host 127.0.0.1 --port "$GPORT" --ca "$XG_TMP/ca.pem" \
	--to "bob@$DOMAIN" --message "hello bob through the relay" --timeout 60) ||
	fail "slixmpp: client: $out"
echo "    $out"
case $out in
*"jid=alice@$DOMAIN/"*"peer_jid=bob@$DOMAIN/"*) ;;
*) fail "slixmpp: unexpected result: $out" ;;
esac
n=$(grep -c 'handed to the relay' "$XG_GATE_LOG" || :)
[ "$n" -eq 2 ] || fail "slixmpp: $n of 2 sessions handed over"
[ -z "$(summaries)" ] || fail "slixmpp: the gate logged summaries: $(summaries)"
for id in $(sed -n 's/.*conn=\([0-9a-f]*\) handed to the relay.*/\1/p' "$XG_GATE_LOG"); do
	for i in $(seq 1 200); do
		relay_summaries | grep -q "conn=$id " && break
		sleep 0.1
	done
	line=$(relay_summaries | grep "conn=$id ") || fail "slixmpp: no relay summary for $id"
	expect_summary "$line" outcome=ok "backend=127.0.0.1:$PPORT" rx='>0' tx='>0'
	echo "    relay:   ${line#*conn=}"
done
pass "login, bind and a message through the relay"

# idle_start N: N idle sessions through the gate by tests/idle_sessions.py,
# whose input is a FIFO this shell holds open (fd 7: read-write, so that
# neither side waits for the other to open it; the child does not keep
# it, so closing fd 7 here is its end of file); sets IDLE_OUT, IDLE_PID.
idle_start() {
	IDLE_OUT=$XG_TMP/idle-$1.out
	rm -f "$XG_TMP/idle.in"
	mkfifo "$XG_TMP/idle.in"
	exec 7<>"$XG_TMP/idle.in"
	# shellcheck disable=SC2086
	setsid /usr/bin/env $NOAVX "$XG_PY" "$top_srcdir/tests/idle_sessions.py" \
		"$GPORT" "$XG_TMP/ca.pem" "$DOMAIN" alice "$PASSWORD" "$1" 900 \
		<"$XG_TMP/idle.in" >"$IDLE_OUT" 2>&1 7>&- &
	IDLE_PID=$!
	XG_SIDS="$XG_SIDS $IDLE_PID"
}

# idle_wait TEXT SECONDS: wait for a line starting with TEXT from it.
idle_wait() {
	local i
	for i in $(seq 1 $(($2 * 10))); do
		grep -q "^$1" "$IDLE_OUT" && { grep "^$1" "$IDLE_OUT" | tail -n 1; return 0; }
		grep -q '^ERROR' "$IDLE_OUT" && fail "idle sessions: $(cat "$IDLE_OUT")"
		sleep 0.1
	done
	fail "idle sessions: no '$1' in $2 s: $(cat "$IDLE_OUT")"
}

check "the relay killed with sessions open: they end, a new relay takes the next ones"
gate kill "$PPORT"
idle_start 5
idle_wait held 120
n=$(grep -c 'handed to the relay' "$XG_GATE_LOG" || :)
[ "$n" -eq 5 ] || fail "kill: $n of 5 sessions handed over"
kill -KILL "$RELAY_PID"
echo check >&7
alive=$(idle_wait alive 120)
echo "    after SIGKILL of the relay: $alive"
[ "$alive" = "alive 0" ] || fail "kill: sessions survived their relay: $alive"
exec 7>&-
idle_wait closed 60 >/dev/null
start_relay
out=$($XG_CLIENT --jid "alice@$DOMAIN" --password "$PASSWORD" \
	--jid2 "bob@$DOMAIN" --password2 "$PASSWORD" \
	--host 127.0.0.1 --port "$GPORT" --ca "$XG_TMP/ca.pem" \
	--to "bob@$DOMAIN" --message "after the restart" --timeout 60) ||
	fail "kill: clients after the restart: $out"
n=$(grep -c 'handed to the relay' "$XG_GATE_LOG" || :)
[ "$n" -eq 7 ] || fail "kill: $((n - 5)) of the 2 sessions after the restart handed over"
wait_summaries 1 30 "$RELAY_LOG" >/dev/null
pass "the relay's sessions ended with it; the new relay took the next"

# meminfo KEY: a /proc/meminfo value in KiB.
meminfo() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }
# pss PID: a process's proportional set size in KiB.
pss() { awk '$1 == "Pss:" { print $2 }' "/proc/$1/smaps_rollup"; }
# tcpmem: pages of TCP socket buffers (/proc/net/sockstat), in KiB.
tcpmem() { awk '$1 == "TCP:" { for (i = 2; i < NF; i++) if ($i == "mem") print $(i + 1) * 4 }' /proc/net/sockstat; }

check "$IDLE idle sessions held by the relay alone, each xmppgate (a pooled child) exited 0"
# What a login costs in user-mode Linux is page faults, each a round trip
# through the host's ptrace: about 1,200 for an xmppgate executed per
# connection, 760 for a child forked by the pooled mode (--listen) from a
# parent that has loaded everything, 160 and 65 ms of CPU a login.  So
# the idle sessions come through the pooled mode, whose children are
# processes per connection too: each serves one login, hands the session
# over and exits (xmppgate(8), POOLED MODE); the hand-off from a process
# executed per connection is in the checks above.  And a helper that
# stays up (contrib/xmppgate_auth.py): an exec helper costs three
# programs a login here (sh, env for the no-AVX variables, sh).
cat >"$XG_TMP/pysock.py" <<'PY'
import hmac
import xmppgate_auth

def check(req):
    ok = (req.mechanism == "PLAIN" and req.user == "alice" and
          hmac.compare_digest(req.password, b"s3cret uml"))
    return "accept" if ok else "reject"

xmppgate_auth.serve(check)
PY
PYTHONPATH=$top_srcdir/contrib bg "$XG_TMP/pysock.log" /usr/bin/env $NOAVX \
	"$XG_PY" "$XG_TMP/pysock.py" "$XG_TMP/auth.sock"
for i in $(seq 1 100); do [ -S "$XG_TMP/auth.sock" ] && break; sleep 0.1; done
[ -S "$XG_TMP/auth.sock" ] || fail "idle: the socket helper did not start: $(cat "$XG_TMP/pysock.log")"
# No --idle-timeout: the first sessions wait for the last to log in.  No
# re-execution of the pool (by default after 1,000 connections) while the
# memory is measured.
XG_LAUNCH=pool XG_POOL_OPTS="--reexec-after 0" GATE_IDLE=0 \
	GATE_AUTH="unix:$XG_TMP/auth.sock" gate idle "$PPORT"
# systemd-socket-activate starts the pool's parent at the first
# connection, and the libraries it shares with the relay count half to
# each in their PSS from then on: so a first connection, closed at once,
# before the relay's PSS is taken.  Its child's exit is not a session's.
exec 8<>"/dev/tcp/127.0.0.1/$GPORT" && exec 8>&-
wait_log "pool: serving" 30 || fail "idle: the pool did not start: $(tail -n 3 "$XG_GATE_LOG")"
for i in $(seq 1 100); do [ -n "$(exit_codes)" ] && break; sleep 0.1; done
codes0=$(exit_codes | wc -l)
[ "$codes0" -eq 1 ] || fail "idle: $codes0 children ended after the first connection: $(tail -n 3 "$XG_GATE_LOG")"
# idle_codes: the exit statuses of the sessions' children.
idle_codes() { exit_codes | tail -n +2; }
sync
slab0=$(meminfo Slab) tcp0=$(tcpmem) pss0=$(pss "$RELAY_PID")
sum0=$(relay_summaries | wc -l)
t0=$(date +%s)
idle_start "$IDLE"
held=$(idle_wait held 900)
echo "    $held"
n=$(grep -c 'handed to the relay' "$XG_GATE_LOG" || :)
for i in $(seq 1 100); do
	[ -z "$(xmppgate_pids)" ] && break
	sleep 0.1
done
left=$(xmppgate_pids | wc -l)
slab1=$(meminfo Slab) tcp1=$(tcpmem) pss1=$(pss "$RELAY_PID")
fds=$(ls "/proc/$RELAY_PID/fd" | wc -l)
# The pool logs each child's end when it reaps it: every one 0.
for i in $(seq 1 100); do
	[ "$(idle_codes | wc -l)" -ge "$IDLE" ] && break
	sleep 0.1
done
ended=$(idle_codes | wc -l) zero=$(idle_codes | grep -cx 0 || :)
echo "    handed over: $n; children exited: $ended, with 0: $zero; xmppgate processes left: $left; relay fds: $fds"
echo "    relay PSS: $pss0 -> $pss1 KiB; Slab: $slab0 -> $slab1 KiB; TCP buffers: $tcp0 -> $tcp1 KiB"
echo "    per session: relay $(( (pss1 - pss0) * 1024 / IDLE )) B, Slab $(( (slab1 - slab0) * 1024 / IDLE )) B, TCP buffers $(( (tcp1 - tcp0) * 1024 / IDLE )) B (both ends' sockets, the backend's Prosody included)"
[ "$n" -ge "$IDLE" ] || fail "idle: $n of $IDLE sessions handed over"
[ "$left" -eq 0 ] || fail "idle: $left xmppgate processes still running"
[ "$ended" -eq "$IDLE" ] && [ "$zero" -eq "$IDLE" ] ||
	fail "idle: $ended children exited ($zero with 0) for $IDLE sessions: $(idle_codes | sort | uniq -c | tr '\n' ' ')"
[ "$fds" -ge $((2 * IDLE)) ] || fail "idle: the relay holds $fds fds for $IDLE sessions"
echo check >&7
alive=$(idle_wait alive 600)
echo "    $alive"
[ "$alive" = "alive $IDLE" ] || fail "idle: $alive of $IDLE answered a ping"
exec 7>&-
idle_wait closed 300 >/dev/null
for i in $(seq 1 1200); do
	c=$(($(relay_summaries | wc -l) - sum0))
	[ "$c" -ge "$IDLE" ] && break
	sleep 0.1
done
ok=$(relay_summaries | tail -n +"$((sum0 + 1))" | grep -c ' outcome=ok ' || :)
echo "    relay summaries: $c, with outcome=ok: $ok"
[ "$c" -eq "$IDLE" ] && [ "$ok" -eq "$IDLE" ] ||
	fail "idle: $c summaries ($ok ok) for $IDLE sessions"
pass "$IDLE sessions held and pinged with no xmppgate child running ($(($(date +%s) - t0)) s)"

check "no xmppgate left running"
assert_no_leftovers 5
pass "no leftovers"
