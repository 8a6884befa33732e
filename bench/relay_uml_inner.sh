#!/bin/bash
# bench/relay_uml_inner.sh -- rows 10 and 11 of bench/run.sh, inside
# user-mode Linux (started by bench/relay_uml.sh through tests/uml.sh;
# this kernel has TLS, the host's may not).  Runs as root in the guest.
#
#   N sessions held idle (row 10) and BYTES each way through one session
#   (row 11); from the environment: XG_BENCH_N, XG_BENCH_BYTES,
#   XG_BENCH_DIR (xgload, xgauth-free; the certificates: cert.pem,
#   key.pem, chain.pem, ca.pem, built on the host by bench/relay_uml.sh).
#
# Prints progress lines and, last, the rows as markdown table lines
# ("| 10 | ..." and "| 11 | ..."), which bench/relay_uml.sh passes on.
# Uses tests/lib.sh for its process handling (every program in its own
# session, ended by the exit trap), Prosody's configuration and the
# gate's start-up, as tests/relay_uml_inner.sh does.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
. "$top_srcdir/tests/uml_guest.sh"

N=${XG_BENCH_N:-1000}
BYTES=${XG_BENCH_BYTES:-$((512 * 1024 * 1024))}
D=${XG_BENCH_DIR:?XG_BENCH_DIR: where bench/relay_uml.sh put xgload and the certificates}
L=$D/xgload
DOMAIN=bench.test
USER_=bench
PASS=bench-Pass-6
PRIO='NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:-MAC-ALL:+AEAD'
SUITE=TLS_AES_128_GCM_SHA256
RELAY_BIN=$top_builddir/xmppgate-relay
RELAY_CLIENT=$top_builddir/tests/relay_client
RELAY_BACKEND=$top_srcdir/tests/relay_backend.py
RELAY_SOCK=$XG_TMP/relay.sock
# How long N logins may take at most (UML's system calls are slow).
HOLD_LIMIT_S=$((120 + N))

say() { printf 'relay_uml_inner: [%s s] %s\n' "$(($(date +%s) - XG_T0))" "$*"; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
kv() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -n 1; }

require_xmppgate
for f in "$L" "$RELAY_BIN" "$RELAY_CLIENT"; do
	[ -x "$f" ] || fail "not built: $f"
done
uml_load $UML_TLS_GCM
# N sessions: the client, the relay (up to six a session, with a pipe each
# way while bytes are in flight), Prosody and each stunnel or xmppgate
# want descriptors beyond the default 1,024.
ulimit -n 65536

cp "$D/cert.pem" "$D/key.pem" "$D/ca.pem" "$D/chain.pem" "$XG_TMP/" ||
	fail "no certificates in $D"
CA=$XG_TMP/ca.pem
write_helper "$XG_TMP/helper" '
[ -n "${XG_NOAVX_SET:-}" ] || exec /usr/bin/env XG_NOAVX_SET=1 '"$NOAVX"' /bin/sh "$0" "$@"
pw=$(cat)
[ "$AUTH_USER" = '"$USER_"' ] && [ "$pw" = '"$PASS"' ] && exit 0
exit 1'

# ---- helpers ----
# kmem: the kernel's Slab and TCP socket buffers (/proc/net/sockstat's
# "mem", pages of 4 KiB), in KiB, after dropping the reclaimable caches
# (dentries, inodes: noise that the sessions do not hold).
kmem() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
	sleep 1
	printf 'slab=%s tcp=%s\n' \
		"$(awk '$1 == "Slab:" { print $2 }' /proc/meminfo)" \
		"$(awk '$1 == "TCP:" { for (i = 2; i < NF; i++) if ($i == "mem") print $(i + 1) * 4 }' /proc/net/sockstat)"
}
pss() { awk '$1 == "Pss:" { print $2 }' "/proc/$1/smaps_rollup"; }
# uss PID: a process's anonymous memory (heap, stack; KiB): what its
# sessions add.  Its Pss also moves with how many other processes share
# its libraries at that moment (the gates come and go: it once fell while
# the relay took 100 sessions), and its Private_Clean with drop_caches,
# which takes the file pages of its own binary (it fell from 2760 to
# 1388 KiB while the relay took 200).
uss() { awk '$1 == "Anonymous:" { print $2 }' "/proc/$1/smaps_rollup"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
TCK=$(getconf CLK_TCK)

# hold PORT MODE: N logged-in sessions (xgload hold, one process), kept
# until stop_hold; waits for "ready N".
hold() {
	local i
	HOLD_OUT=$XG_TMP/hold-$1.out
	: >"$HOLD_OUT"
	bg "$XG_TMP/hold.log" sh -c 'exec "$@" >"'"$HOLD_OUT"'"' sh \
		"$L" hold -d "$DOMAIN" -u "$USER_" -w "$PASS" -C "$CA" -x "$PRIO" -B \
		-p "$1" -m "$2" -n "$N" -t 3600
	HOLD_PID=$BG_PID
	for i in $(seq 1 $((HOLD_LIMIT_S * 10))); do
		grep -q '^ready' "$HOLD_OUT" && return 0
		kill -0 "$HOLD_PID" 2>/dev/null ||
			fail "hold: the client ended early: $(tail -n 3 "$XG_TMP/hold.log")"
		sleep 0.1
	done
	fail "hold: not ready after $HOLD_LIMIT_S s"
}
stop_hold() { kill_bg "$HOLD_PID"; }

# until_count N SECONDS CMD...: wait until CMD prints a number >= N.
until_count() {
	local n=$1 secs=$2 i
	shift 2
	for i in $(seq 1 $((secs * 10))); do
		[ "$("$@")" -ge "$n" ] && return 0
		sleep 0.1
	done
	return 1
}
count_in() {
	local c
	c=$(grep -c -- "$1" "$2" 2>/dev/null) || :
	echo "${c:-0}"
}
procs_left() { xmppgate_pids | wc -l; }
no_xmppgate() {
	local i
	for i in $(seq 1 300); do
		[ "$(procs_left)" -eq 0 ] && return 0
		sleep 0.1
	done
	fail "xmppgate processes still running after 30 s: $(xmppgate_pids | tr '\n' ' ')"
}
# per BEFORE AFTER: the growth per session, KiB in, bytes out.
per() { calc '%.0f' "($2 - $1) * 1024 / $N"; }

# ---- Prosody ----
PRO=$XG_TMP/prosody
mkdir -p "$PRO"
cp "$XG_TMP"/cert.pem "$XG_TMP"/key.pem "$XG_TMP"/ca.pem "$XG_TMP"/chain.pem "$PRO/"
PPORT=$(free_port)
prosody_config "$PRO" "$PPORT" "$DOMAIN"
sed -i 's/^log = { debug = /log = { warn = /' "$PRO/prosody.cfg.lua"
echo 'network_settings = { nagle = false }' >>"$PRO/prosody.cfg.lua"
prosody_adduser "$PRO" "$USER_" "$DOMAIN" "$PASS"
start_prosody "$PRO" "$PPORT" "$DOMAIN"

# start_relay: xmppgate-relay as systemd starts it (Accept=no); as root
# here, so --allow-root.  Sets RELAY_PID, RELAY_LOG.
start_relay() {
	local i
	rm -f "$RELAY_SOCK"
	RELAY_LOG=$XG_TMP/relay.log
	# shellcheck disable=SC2086
	bg "$RELAY_LOG" systemd-socket-activate --seqpacket -l "$RELAY_SOCK" \
		$SSA_ENV "$RELAY_BIN" --allow-root
	RELAY_PID=$BG_PID
	for i in $(seq 1 100); do
		[ -S "$RELAY_SOCK" ] && break
		sleep 0.1
	done
	[ -S "$RELAY_SOCK" ] || fail "xmppgate-relay did not listen: $(tail -n 3 "$RELAY_LOG")"
	# systemd-socket-activate execs the relay at the first connection:
	# one that sends nothing (the relay closes it), so that the Pss read
	# before the sessions is the relay's.
	/usr/bin/python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
s.close()' "$RELAY_SOCK" || fail "cannot connect to $RELAY_SOCK"
	for i in $(seq 1 100); do
		[ "$(readlink "/proc/$RELAY_PID/exe" 2>/dev/null)" = "$(readlink -f "$RELAY_BIN")" ] && break
		sleep 0.1
	done
	sleep 1
	[ "$(readlink "/proc/$RELAY_PID/exe" 2>/dev/null)" = "$(readlink -f "$RELAY_BIN")" ] ||
		fail "xmppgate-relay is not running: $(tail -n 3 "$RELAY_LOG")"
}
start_relay

GATE_ARGS=(--auth "$XG_TMP/helper" --auth-delay 0 --timeout 60 --user root)

# ==== row 10: memory per idle logged-in session ====
say "row 10: $N sessions straight to Prosody (STARTTLS): the two ends' kernel memory"
k0=$(kmem)
hold "$PPORT" starttls
k1=$(kmem)
stop_hold
KD_SLAB=$(per "$(kv slab "$k0")" "$(kv slab "$k1")")
KD_TCP=$(per "$(kv tcp "$k0")" "$(kv tcp "$k1")")
say "  direct: $k0 -> $k1: Slab $KD_SLAB B, TCP buffers $KD_TCP B per session"
sleep 2

say "row 10 (a): $N sessions handed to xmppgate-relay"
new_gate relay "${GATE_ARGS[@]}" --backend "127.0.0.1:$PPORT" --relay "$RELAY_SOCK"
p0=$(uss "$RELAY_PID") k0=$(kmem)
hold "$GPORT" starttls
until_count "$N" 120 count_in 'handed to the relay' "$XG_GATE_LOG" ||
	fail "(a): $(count_in 'handed to the relay' "$XG_GATE_LOG") of $N handed over; $(grep -m1 'relay hand-off: not done' "$XG_GATE_LOG" || :)"
no_xmppgate
p1=$(uss "$RELAY_PID") k1=$(kmem)
fds=$(ls "/proc/$RELAY_PID/fd" | wc -l)
A_PSS=$(per "$p0" "$p1")
A_SLAB=$(per "$(kv slab "$k0")" "$(kv slab "$k1")")
A_TCP=$(per "$(kv tcp "$k0")" "$(kv tcp "$k1")")
say "  relay anonymous memory $p0 -> $p1 KiB (Pss now $(pss "$RELAY_PID") KiB), fds $fds; $k0 -> $k1"
[ "$fds" -ge $((2 * N)) ] || fail "(a): the relay holds $fds descriptors for $N sessions"
stop_hold
until_count "$N" 120 count_in ' summary ' "$RELAY_LOG" ||
	fail "(a): the relay did not log $N summaries"
kill_bg "$GATE_PID"
sleep 2

say "row 10 (b): $N sessions in xmppgate per connection, kernel TLS, no --relay"
new_gate inproc "${GATE_ARGS[@]}" --backend "127.0.0.1:$PPORT"
k0=$(kmem)
hold "$GPORT" starttls
sleep 2
m=$(/usr/bin/python3 "$top_srcdir/bench/procmem.py" sum "$GATE_PID")
k1=$(kmem)
ktls=$(count_in 'kernel TLS: in use' "$XG_GATE_LOG")
B_PSS=$(calc '%.0f' "$(kv pss_kib "$m") * 1024 / $N")
B_SLAB=$(per "$(kv slab "$k0")" "$(kv slab "$k1")")
B_TCP=$(per "$(kv tcp "$k0")" "$(kv tcp "$k1")")
say "  xmppgate: $m; kernel TLS in use: $ktls; $k0 -> $k1"
[ "$(kv procs "$m")" -eq "$N" ] || fail "(b): $(kv procs "$m") processes for $N sessions"
[ "$ktls" -eq "$N" ] || fail "(b): kernel TLS in $ktls of $N sessions"
stop_hold
no_xmppgate
kill_bg "$GATE_PID"
sleep 2

say "row 10 (c): $N sessions through stunnel in inetd mode"
SPORT=$(free_port)
cat >"$XG_TMP/stunnel-inetd.conf" <<EOF
; inetd mode (no accept=): one stunnel process per connection, as row 3
foreground = yes
syslog = no
debug = 3
cert = $XG_TMP/chain.pem
key = $XG_TMP/key.pem
connect = 127.0.0.1:$PPORT
sslVersionMin = TLSv1.3
ciphersuites = $SUITE
EOF
# shellcheck disable=SC2086
bg "$XG_TMP/stunnel.log" systemd-socket-activate -l "127.0.0.1:$SPORT" --accept --inetd \
	$SSA_ENV stunnel "$XG_TMP/stunnel-inetd.conf"
ST_PID=$BG_PID
wait_port "$SPORT" 10 "$ST_PID" || fail "stunnel: nothing listens"
k0=$(kmem)
hold "$SPORT" direct
sleep 2
m=$(/usr/bin/python3 "$top_srcdir/bench/procmem.py" sum "$ST_PID")
k1=$(kmem)
C_PSS=$(calc '%.0f' "$(kv pss_kib "$m") * 1024 / $N")
C_SLAB=$(per "$(kv slab "$k0")" "$(kv slab "$k1")")
C_TCP=$(per "$(kv tcp "$k0")" "$(kv tcp "$k1")")
say "  stunnel: $m; $k0 -> $k1"
# Not a failure of what is measured here: the row says so instead.
C_UP=$(kv procs "$m")
[ "$C_UP" -eq "$N" ] || say "  stunnel: only $C_UP of $N sessions still up ($(grep -c 'TIMEOUTclose exceeded' "$XG_TMP/stunnel.log" || :) 'TIMEOUTclose exceeded' lines in its log): not measured"
stop_hold
kill_bg "$ST_PID"

# ==== row 11: CPU per GiB moved ====
# bulk NAME [--relay SOCK]: one login through a fresh gate (xgload spawn,
# which sums its children's CPU by wait4) to relay_backend.py --listen,
# BYTES each way at once, or none with BULK_BYTES=0.  Sets LINE, GATE_CPU
# (the gate's CPU in s, helper included), WALL (s); checks the digests.
bulk() {
	local name=$1 bport port b=${BULK_BYTES:-$BYTES} t0 out res i
	shift
	bport=$(free_port) port=$(free_port)
	rm -f "$XG_TMP/$name.result" "$XG_TMP/$name.stat"
	bg "$XG_TMP/$name-backend.log" /usr/bin/env $NOAVX /usr/bin/python3 \
		"$RELAY_BACKEND" --listen "$bport" "$XG_TMP/$name.result" "$b"
	wait_port "$bport" 20 "$BG_PID" || fail "$name: the backend did not listen"
	bg "$XG_TMP/$name-gate.log" "$L" spawn -p "$port" -r "$XG_TMP/$name.stat" -t 1800 -- \
		"$xg_bin" --cert "$XG_TMP/cert.pem" --key "$XG_TMP/key.pem" --domain "$DOMAIN" \
		"${GATE_ARGS[@]}" --backend "127.0.0.1:$bport" "$@"
	SPAWN_PID=$BG_PID
	wait_port "$port" 20 "$SPAWN_PID" || fail "$name: xgload spawn did not listen"
	t0=$(date +%s.%N)
	out=$("$RELAY_CLIENT" --host 127.0.0.1 --port "$port" --ca "$CA" \
		--domain "$DOMAIN" --user "$USER_" --password "$PASS" --send "$b" \
		--timeout 600 --priority "$PRIO" --restart 2>"$XG_TMP/$name-client.log") ||
		fail "$name: relay_client: $(tail -n 1 "$XG_TMP/$name-client.log")"
	WALL=$(calc '%.3f' "$(date +%s.%N) - $t0")
	for i in $(seq 1 600); do
		[ -e "$XG_TMP/$name.result" ] && [ -e "$XG_TMP/$name.stat" ] && break
		sleep 0.1
	done
	res=$(cat "$XG_TMP/$name.result" 2>/dev/null) || fail "$name: no result from the backend"
	[ "$(summary_field "$out" sent_sha256)" = "$(summary_field "$res" received_sha256)" ] &&
	[ "$(summary_field "$res" sent_sha256)" = "$(summary_field "$out" received_sha256)" ] &&
	[ "$(summary_field "$res" received)" = "$b" ] ||
		fail "$name: the bytes differ: client $out; backend $res"
	s=$(cat "$XG_TMP/$name.stat" 2>/dev/null) || fail "$name: no CPU figures from xgload spawn"
	GATE_CPU=$(calc '%.6f' "$(kv user_s "$s") + $(kv sys_s "$s")")
	LINE=$out
	kill_bg "$SPAWN_PID"
	say "  $name: $WALL s; gate CPU $GATE_CPU s; $(grep -h -E 'kernel TLS|relay' "$XG_TMP/$name-gate.log" | grep -v ' summary ' | sed 's/^.*conn=[0-9a-f]* //' | tr '\n' ';')"
}

GIB=$(calc '%.6f' "2 * $BYTES / 1073741824")
say "row 11: $((BYTES >> 20)) MiB each way through one session, handed off and in-process"
r0=$(cpu_ticks "$RELAY_PID")
sum0=$(count_in ' summary ' "$RELAY_LOG")
bulk relay --relay "$RELAY_SOCK"
grep -q 'handed to the relay' "$XG_TMP/relay-gate.log" || fail "row 11: not handed over"
until_count $((sum0 + 1)) 60 count_in ' summary ' "$RELAY_LOG" ||
	fail "row 11: no summary from the relay"
r1=$(cpu_ticks "$RELAY_PID")
R_CPU=$(calc '%.3f' "($r1 - $r0) / $TCK")
R_WALL=$WALL R_LOGIN=$GATE_CPU
BULK_BYTES=0 bulk inproc0
I_LOGIN=$GATE_CPU
bulk inproc
grep -q 'kernel TLS: in use' "$XG_TMP/inproc-gate.log" || fail "row 11: no kernel TLS in-process"
I_CPU=$(calc '%.3f' "$GATE_CPU - $I_LOGIN")
I_WALL=$WALL

# ---- the rows ----
ra=$(calc '%.1f' "($A_PSS + $A_SLAB + $A_TCP) / 1024")
rb=$(calc '%.1f' "($B_PSS + $B_SLAB + $B_TCP) / 1024")
rc=$(calc '%.1f' "($C_PSS + $C_SLAB + $C_TCP) / 1024")
ga=$(calc '%.1f' "($A_PSS + $A_SLAB + $A_TCP - $KD_SLAB - $KD_TCP) / 1024")
gb=$(calc '%.1f' "($B_PSS + $B_SLAB + $B_TCP - $KD_SLAB - $KD_TCP) / 1024")
gc=$(calc '%.1f' "($C_PSS + $C_SLAB + $C_TCP - $KD_SLAB - $KD_TCP) / 1024")
kib() { calc '%.1f' "$1 / 1024"; }
[ "$C_UP" -eq "$N" ] || gc="–"
if [ "$C_UP" -eq "$N" ]; then
	STUNNEL_COL="stunnel inetd mode: $rc KiB (summed Pss $(kib "$C_PSS"), Slab $(kib "$C_SLAB"), TCP buffers $(kib "$C_TCP") KiB)"
else
	STUNNEL_COL="stunnel inetd mode: not measured (only $C_UP of its $N sessions were still up when read; its log says TIMEOUTclose exceeded)"
fi
ok=$(awk "BEGIN { print ($ra <= 32) ? 1 : 0 }")
if [ "$ok" = 1 ]; then v=met; else v="**missed**: $(calc '%.1f' "$ra - 32") KiB over (the gate's share alone, the two ends' kernel memory taken off: $ga KiB)"; fi
echo "| 10 | memory per idle logged-in session after hand-off, in user-mode Linux (6.1, kTLS), $N sessions: (relay anonymous memory growth + Slab growth + TCP buffer growth) / $N; Prosody's own Pss not counted | after hand-off: $ra KiB (relay anonymous memory $(kib "$A_PSS"), Slab $(kib "$A_SLAB"), TCP buffers $(kib "$A_TCP") KiB; no xmppgate process left). In-process kTLS (xmppgate per connection, no --relay): $rb KiB (summed Pss $(kib "$B_PSS"), Slab $(kib "$B_SLAB"), TCP buffers $(kib "$B_TCP") KiB) | $STUNNEL_COL. The kernel figures hold all four sockets of a session on loopback (the client's, the gate's two, Prosody's); the same $N sessions straight to Prosody (two sockets) grew Slab $(kib "$KD_SLAB") and TCP buffers $(kib "$KD_TCP") KiB per session; less that: relay $ga, in-process $gb, stunnel $gc KiB | ≤ 32 KiB after hand-off, kernel and user space | $v |"
echo "| 11 | CPU per GiB moved, in user-mode Linux (one CPU, ptrace-based system calls): $((BYTES >> 20)) MiB each way at once through one session ($SUITE, kTLS), relay_client to relay_backend.py | xmppgate-relay: $(calc '%.2f' "$R_CPU / $GIB") s/GiB (utime+stime $R_CPU s from /proc/PID/stat; $(calc '%.0f' "2 * $BYTES / 1048576 / $R_WALL") MiB/s both ways together; the gate's login and hand-off: $(calc '%.3f' "$R_LOGIN") s more) | in-process kTLS splice relay (xmppgate, no --relay): $(calc '%.2f' "$I_CPU / $GIB") s/GiB ($I_CPU s: wait4 of the session less that of a session with no bytes, $(calc '%.3f' "$I_LOGIN") s; $(calc '%.0f' "2 * $BYTES / 1048576 / $I_WALL") MiB/s) | none (reported) | – ($(calc '%.2f' "$R_CPU / ($I_CPU > 0 ? $I_CPU : 0.001)")× the in-process relay's CPU) |"
