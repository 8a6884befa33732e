#!/bin/bash
# bench/run.sh [--quick] [--details DIR] [--only fast]: xmppgate against its peers on this
# machine, every figure measured in this run (bench/README.md says what
# each row measures and how).  Prints one markdown table on standard
# output; progress goes to standard error.  --details DIR keeps the raw
# output (per-row logs, callgrind files and annotations, smaps
# breakdowns, versions).  --quick: short runs, for trying the script.
# --only fast: row 12 alone (a FAST reconnect beside a full SCRAM login).
#
# Needs root (Prosody runs as in tests/lib.sh, xmppgate drops to nobody),
# prosody, stunnel4, valgrind, systemd-socket-activate, certtool, cc and
# GnuTLS's development files.  Only 127.0.0.1 and ports 47000-47999 (and
# the helpers' UNIX sockets in the temporary directory).  Rows 10 and 11
# run inside user-mode Linux (bench/relay_uml.sh; user-mode-linux, kmod).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bench=$top/bench
bin=${XMPPGATE:-$top/xmppgate}
quick=0
details=
only=
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=1 ;;
	--details) details=$2; shift ;;
	--only) only=$2; shift
		[ "$only" = fast ] || { echo "bench/run.sh: --only takes fast" >&2; exit 100; } ;;
	*) echo "usage: bench/run.sh [--quick] [--details DIR] [--only fast]" >&2; exit 100 ;;
	esac
	shift
done

if [ "$quick" = 1 ]; then
	LOGIN_SECS=2 CPU_LOGINS=40 CG_LOGINS=2 HOLD=40 TTFB_RUNS=60
	BULK_BYTES=$((64 << 20)) BULK_REPS=1 FAST_LOGINS=60
else
	LOGIN_SECS=${XG_BENCH_LOGIN_SECS:-8} CPU_LOGINS=300 CG_LOGINS=5 HOLD=200
	TTFB_RUNS=400 BULK_BYTES=$((512 << 20)) BULK_REPS=5 FAST_LOGINS=300
fi
DOMAIN=bench.test
USER_=bench
PASS=bench-Pass-6
# One TLS 1.3 suite everywhere: TLS_AES_128_GCM_SHA256.
PRIO='NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:-MAC-ALL:+AEAD'
SUITE=TLS_AES_128_GCM_SHA256

say() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
fail() { say "FAILED: $*"; exit 1; }

[ "$(id -u)" = 0 ] || fail "run as root (Prosody and the per-connection users)"
[ -x "$bin" ] || fail "build xmppgate first: cd $top && make -j2"
for p in prosody prosodyctl stunnel valgrind callgrind_annotate \
	systemd-socket-activate certtool cc pkg-config; do
	command -v "$p" >/dev/null || fail "$p not found (stunnel: apt-get install stunnel4)"
done

tmp=$(mktemp -d /tmp/xg-bench.XXXXXX)
chmod 755 "$tmp"
out=$tmp/details
mkdir -p "$out"
SIDS=()
cleanup() {
	local rc=$? s i
	trap - EXIT INT TERM
	set +e
	# Every program this script started leads its own session (setsid);
	# end those sessions, which holds their children (xmppgate, its
	# helpers, stunnel's and Prosody's) too.
	for i in 1 2 3 4 5 6 7 8 9 10; do
		local left=0
		for s in "${SIDS[@]}"; do
			pgrep -s "$s" >/dev/null 2>&1 || continue
			left=1
			if [ "$i" -lt 5 ]; then pkill -TERM -s "$s"; else pkill -KILL -s "$s"; fi
		done
		[ "$left" = 1 ] || break
		sleep 0.3
	done
	wait 2>/dev/null
	if [ -n "$details" ]; then
		mkdir -p "$details"
		cp -r "$out"/. "$details"/
		say "details in $details"
	fi
	[ "$rc" = 0 ] || { say "logs:"; tail -n 5 "$tmp"/*.log >&2 2>/dev/null; }
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start LOG CMD ARGS...: CMD in its own session; sets BG (its pid = sid).
start() {
	local log=$1
	shift
	setsid "$@" </dev/null >>"$log" 2>&1 &
	BG=$!
	SIDS+=("$BG")
}
# stop SID: end one session we started, at most 5 s.
stop() {
	local i
	pkill -TERM -s "$1" 2>/dev/null || :
	for i in $(seq 1 50); do
		pgrep -s "$1" >/dev/null 2>&1 || return 0
		sleep 0.1
	done
	pkill -KILL -s "$1" 2>/dev/null || :
}

# Ports: free ones in 47000-47999, none handed out twice in this run.
USED=" "
pick_port() {
	local i p
	for i in $(seq 1 300); do
		p=$((47000 + RANDOM % 1000))
		case $USED in *" $p "*) continue ;; esac
		/usr/bin/python3 -c 'import socket,sys; s=socket.socket(); s.bind(("127.0.0.1",int(sys.argv[1])))' \
			"$p" 2>/dev/null || continue
		USED="$USED$p "
		printf -v "$1" '%s' "$p"
		return 0
	done
	fail "no free port in 47000-47999"
}
listening() {
	/usr/bin/python3 - "$1" <<'EOF'
import sys
port = int(sys.argv[1])
for l in open("/proc/net/tcp").read().splitlines()[1:]:
    p = l.split()
    if int(p[1].rsplit(":", 1)[1], 16) == port and p[3] == "0A":
        sys.exit(0)
sys.exit(1)
EOF
}
wait_port() {
	local i
	for i in $(seq 1 100); do
		listening "$1" && return 0
		sleep 0.1
	done
	fail "nothing listens on port $1 after 10 s"
}
# kv KEY LINE: the value of KEY=VALUE in LINE.
kv() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -n 1; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
# no_children PID [SECONDS]: wait until PID has no child processes.
no_children() {
	local i
	for i in $(seq 1 $((${2:-10} * 10))); do
		pgrep -P "$1" >/dev/null 2>&1 || return 0
		sleep 0.1
	done
	say "warning: pid $1 still has children after ${2:-10} s"
}
cpu_ticks() { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$1/stat"; }
# user_ticks PID: the user part of that (utime + cutime).
user_ticks() { awk '{ print $14 + $16 }' "/proc/$1/stat"; }
TCK=$(getconf CLK_TCK)

# ---- build ----
say "building the load generator and helpers"
GNUTLS_FLAGS=$(pkg-config --cflags --libs gnutls)
# shellcheck disable=SC2086
cc -O2 -Wall -o "$tmp/xgload" "$bench/xgload.c" $GNUTLS_FLAGS -lpthread
cc -O2 -Wall -o "$tmp/xgauth" -DXG_USER="\"$USER_\"" -DXG_PASS="\"$PASS\"" "$bench/xgauth.c"
cc -O2 -Wall -o "$tmp/xgfloor" "$bench/xgfloor.c"
# shellcheck disable=SC2086
cc -O2 -Wall -DWITH_GNUTLS -o "$tmp/xgfloor-gnutls" "$bench/xgfloor.c" $GNUTLS_FLAGS
L=$tmp/xgload

# ---- versions ----
{
	echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "uname: $(uname -a)"
	echo "cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(nproc) cores"
	echo "xmppgate: $("$bin" --version 2>&1 | head -n 1) ($(cd "$top" && git describe --always --dirty 2>/dev/null || echo '?'))"
	echo "prosody: $(dpkg-query -W -f '${Version}' prosody 2>/dev/null)"
	echo "stunnel: $(stunnel -version 2>&1 | sed -n 's/^\(stunnel [0-9.]*\).*/\1/p' | head -n 1), $(stunnel -version 2>&1 | grep -m1 'Compiled with')"
	echo "gnutls: $(pkg-config --modversion gnutls)"
	echo "valgrind: $(valgrind --version)"
	echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$out/machine.txt"
cat "$out/machine.txt" >&2

# ---- certificates, Prosody ----
. "$top/tests/certs.sh"
make_certs "$tmp/certs" "$DOMAIN"
CA=$tmp/certs/ca.pem
pick_port PPORT
pro=$tmp/prosody
mkdir -p "$pro/data"
cat >"$pro/prosody.cfg.lua" <<EOF
-- bench/run.sh (as tests/lib.sh, logging warnings only)
run_as_root = true
daemonize = false
data_path = "$pro/data"
pidfile = "$pro/prosody.pid"
log = { warn = "$pro/prosody.log" }
interfaces = { "127.0.0.1" }
local_interfaces = { "127.0.0.1" }
c2s_ports = { $PPORT }
c2s_interfaces = { "127.0.0.1" }
s2s_ports = { }
s2s_interfaces = { }
modules_enabled = { "roster", "saslauth", "tls", "disco", "ping" }
modules_disabled = { "s2s", "dialback", "register", "posix", "offline", "admin_shell" }
allow_registration = false
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_plain"
storage = "internal"
-- Prosody's best setting for this test: without it, its replies wait for
-- the client's delayed ACK (Nagle), 40 ms a step on loopback.
network_settings = { nagle = false }
certificates = "$tmp/certs"
ssl = { certificate = "$tmp/certs/chain.pem", key = "$tmp/certs/key.pem" }
VirtualHost "$DOMAIN"
    ssl = { certificate = "$tmp/certs/chain.pem", key = "$tmp/certs/key.pem" }
EOF
prosodyctl --config "$pro/prosody.cfg.lua" register "$USER_" "$DOMAIN" "$PASS" \
	>"$tmp/prosodyctl.log" 2>&1 || fail "prosodyctl register"
start "$tmp/prosody.log" prosody -F --config "$pro/prosody.cfg.lua"
PRO_SID=$BG
wait_port "$PPORT"
PRO_PID=$(pgrep -s "$PRO_SID" | head -n 1)

XG=("$bin" --cert "$tmp/certs/chain.pem" --key "$tmp/certs/key.pem" --domain "$DOMAIN"
	--auth "$tmp/xgauth" --user nobody)
# The same without --auth, for the pools of rows 7 and 8.
XGB=("${XG[@]:0:7}" "${XG[@]:9}")
LOGIN=("$L" login -d "$DOMAIN" -u "$USER_" -w "$PASS" -C "$CA" -x "$PRIO" -B)
HOLDC=("$L" hold -d "$DOMAIN" -u "$USER_" -w "$PASS" -C "$CA" -x "$PRIO" -B)

# ---- 12. a FAST reconnect beside a full SCRAM login (issue 25) ----
# One per-connection xmppgate (connect mode) behind xgload spawn, with
# --auth-scram --fast and contrib/xmppgate-auth-scram as its exec helper
# (SCRAM-SHA-256 credentials with Prosody's default 10000 iterations, from
# its --hash, and the backend password).  Logins by SASL2 with a Bind2
# bind: (a) SCRAM-SHA-256, (b) FAST HT-SHA-256-NONE with a token from one
# SCRAM login with <request-token/>; FAST_LOGINS each at concurrency 1,
# in 3 alternating rounds.  CPU per login: the wait4() sums of xgload
# spawn (xmppgate, the sh wrapper and the helper it execs).
SCRAMH=$top/contrib/xmppgate-auth-scram
declare -A FX FK
# colq FILE COL P: the P quantile of column COL of FILE.
colq() {
	awk -v c="$2" '{ print $c }' "$1" | sort -g |
		awk -v p="$3" '{ v[NR] = $1 } END { i = int(NR * p) + 1; if (i > NR) i = NR; printf "%.3f", v[i] }'
}
measure_fast() {
	local f=$tmp/fast who r s0 s1 p0 p1 line n per=$((FAST_LOGINS / 3)) sid
	[ -x "$SCRAMH" ] || fail "contrib/xmppgate-auth-scram not built (make -j2)"
	mkdir -p "$f/store"
	{
		printf '%s' "$PASS" | "$SCRAMH" --hash -a SHA-256 -i 10000 "$USER_@$DOMAIN"
		echo "$USER_@$DOMAIN password=$PASS"
	} >"$f/scram" || fail "xmppgate-auth-scram --hash"
	# xmppgate passes its helper no arguments: a wrapper, as contrib/README
	# shows.  The helper runs as nobody (xmppgate's --user).
	printf '#!/bin/sh\nexec %s --fast %s %s\n' "$SCRAMH" "$f/store" "$f/scram" >"$f/helper"
	chmod 755 "$f/helper"
	chmod 700 "$f/store"
	chmod 600 "$f/scram"
	chown -R nobody:nogroup "$f"
	chmod 755 "$f"
	pick_port FPORT
	start "$tmp/gate-fast.log" "$L" spawn -p "$FPORT" -r "$f/cpu.stat" -t 1800 -- \
		"${XGB[@]}" --auth "$f/helper" --auth-scram --fast --backend "127.0.0.1:$PPORT"
	sid=$BG
	wait_port "$FPORT"
	say "row 12: a FAST token by one SCRAM-SHA-256 login with <request-token/>"
	"${LOGIN[@]}" -p "$FPORT" -M SCRAM-SHA-256 -K "$f/token" -c 1 -n 1 -t 30 \
		>>"$out/fast.txt" 2>&1 || fail "row 12: the SCRAM login with <request-token/> failed (see $tmp/gate-fast.log)"
	[ -s "$f/token" ] || fail "row 12: no FAST token issued"
	# -K: SCRAM would ask for a token at every login; only FAST reads it.
	FK[SCRAM-SHA-256]='' FK[HT-SHA-256-NONE]=$f/token
	for who in SCRAM-SHA-256 HT-SHA-256-NONE; do	# warm-up, not counted
		"${LOGIN[@]}" -p "$FPORT" -M "$who" ${FK[$who]:+-K "${FK[$who]}"} -c 1 -n 10 -t 30 >>"$out/fast.txt" 2>&1 ||
			fail "row 12: warm-up $who logins failed (see $tmp/gate-fast.log)"
	done
	for who in SCRAM-SHA-256 HT-SHA-256-NONE; do
		: >"$f/raw-$who"
		FX[$who,cpu]=0 FX[$who,pro]=0 FX[$who,n]=0 FX[$who,err]=0
	done
	for r in 1 2 3; do
		for who in SCRAM-SHA-256 HT-SHA-256-NONE; do
			say "row 12: $per $who logins through xmppgate --fast, c=1 (round $r of 3)"
			no_children "$sid"
			sleep 0.2
			s0=$(cat "$f/cpu.stat") p0=$(cpu_ticks "$PRO_PID")
			line=$("${LOGIN[@]}" -p "$FPORT" -M "$who" ${FK[$who]:+-K "${FK[$who]}"} -c 1 -n "$per" -t 120 \
				-R "$f/raw-$who" 2>>"$out/fast.txt") || fail "row 12: $who logins: $line"
			no_children "$sid"
			sleep 0.2
			s1=$(cat "$f/cpu.stat") p1=$(cpu_ticks "$PRO_PID")
			n=$(kv logins "$line")
			echo "$who round $r: $line; spawn $s0 -> $s1; prosody ticks $p0 -> $p1" >>"$out/fast.txt"
			FX[$who,n]=$((FX[$who,n] + n))
			FX[$who,err]=$((FX[$who,err] + $(kv errors "$line")))
			FX[$who,cpu]=$(calc '%.6f' "${FX[$who,cpu]} + $(kv user_s "$s1") + $(kv sys_s "$s1") - $(kv user_s "$s0") - $(kv sys_s "$s0")")
			FX[$who,pro]=$(calc '%.6f' "${FX[$who,pro]} + ($p1 - $p0) / $TCK")
		done
	done
	for who in SCRAM-SHA-256 HT-SHA-256-NONE; do
		# The whole login (column 1) and the SASL2 step (column 6:
		# <authenticate/> to <success/>), over the three rounds.
		FX[$who,p50]=$(colq "$f/raw-$who" 1 0.5)
		FX[$who,p99]=$(colq "$f/raw-$who" 1 0.99)
		FX[$who,sasl]=$(colq "$f/raw-$who" 6 0.5)
		FX[$who,cpums]=$(calc '%.3f' "${FX[$who,cpu]} * 1000 / ${FX[$who,n]}")
		FX[$who,proms]=$(calc '%.3f' "${FX[$who,pro]} * 1000 / ${FX[$who,n]}")
		echo "$who: ${FX[$who,n]} logins, ${FX[$who,err]} failed, p50 ${FX[$who,p50]} ms, p99 ${FX[$who,p99]} ms, SASL2 step p50 ${FX[$who,sasl]} ms, xmppgate+helper ${FX[$who,cpums]} ms CPU per login, Prosody ${FX[$who,proms]} ms" >>"$out/fast.txt"
	done
	stop "$sid"
	# What the gate says each login did: one token issued (the first
	# login), every SCRAM and FAST login with Bind2.
	grep ' summary ' "$tmp/gate-fast.log" | grep -o 'sasl2=[^ ]*' | sort | uniq -c >"$f/sasl2.txt" || :
	{
		echo "== the gate's summary lines: their sasl2= (mechanism, Bind2, token)"
		cat "$f/sasl2.txt"
	} >>"$out/fast.txt"
	n=$(awk '$2 == "sasl2=SCRAM-SHA-256,bind2,token=issued" { print $1 }' "$f/sasl2.txt")
	[ "${n:-0}" = 1 ] || fail "row 12: $n SCRAM logins with a token issued, not 1 (see fast.txt)"
	for who in SCRAM-SHA-256 HT-SHA-256-NONE; do
		n=$(awk -v k="sasl2=$who,bind2" '$2 == k { print $1 }' "$f/sasl2.txt")
		[ "${n:-0}" -ge "${FX[$who,n]}" ] ||
			fail "row 12: the gate logged ${n:-0} $who logins with Bind2, the client counted ${FX[$who,n]}"
	done
}
fast_row() {
	local s=SCRAM-SHA-256 x=HT-SHA-256-NONE
	echo "| 12 | FAST reconnect beside a full SCRAM login: SASL2 + Bind2 through per-connection xmppgate --auth-scram --fast (helper xmppgate-auth-scram, 10000 iterations), c=1: login p50 / p99 ms, SASL2 step p50 ms, CPU per login of xmppgate + helper | FAST HT-SHA-256-NONE (${FX[$x,n]} logins, ${FX[$x,err]} failed): ${FX[$x,p50]} / ${FX[$x,p99]} ms, SASL2 step ${FX[$x,sasl]} ms, CPU ${FX[$x,cpums]} ms; Prosody behind it ${FX[$x,proms]} ms | full SCRAM-SHA-256 (${FX[$s,n]} logins, ${FX[$s,err]} failed): ${FX[$s,p50]} / ${FX[$s,p99]} ms, SASL2 step ${FX[$s,sasl]} ms, CPU ${FX[$s,cpums]} ms; Prosody behind it ${FX[$s,proms]} ms | none (reported) | – (FAST ÷ SCRAM: login p50 $(calc '%.2f' "${FX[$x,p50]} / ${FX[$s,p50]}")×, SASL2 step $(calc '%.2f' "${FX[$x,sasl]} / ${FX[$s,sasl]}")×, CPU $(calc '%.2f' "${FX[$x,cpums]} / ${FX[$s,cpums]}")×) |"
}
if [ "$only" = fast ]; then
	measure_fast
	echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/machine.txt"
	echo "| # | measure | xmppgate | peer | target | verdict |"
	echo "|---|---|---|---|---|---|"
	fast_row
	exit 0
fi

# ---- helpers that stay up, and the pools (rows 7 and 8) ----
# Three more helpers, for what the choice of helper costs (issue 23): a
# socket helper in C (xgauth -l: one process, no fork), one in Python
# (contrib/xmppgate_auth.py, copied next to it as its documentation says)
# and a Python exec helper.  They check what xgauth checks.  The two that
# stay up run as nobody, their sockets in a directory of nobody's, so
# that xmppgate as nobody may connect.
mkdir -p "$tmp/auth"
chown nobody:nogroup "$tmp/auth"
cp "$top/contrib/xmppgate_auth.py" "$tmp/auth/"
cat >"$tmp/auth/pyexec.py" <<EOF
#!/usr/bin/python3
# bench/run.sh: a Python exec helper (xmppgate-auth(5)), as an operator
# would write it.
import hmac, os, sys
pw = sys.stdin.buffer.read(1024)
ok = os.environ.get("AUTH_USER") == "$USER_" and hmac.compare_digest(pw, b"$PASS")
sys.exit(0 if ok else 1)
EOF
cat >"$tmp/auth/pysock.py" <<EOF
#!/usr/bin/python3
# bench/run.sh: a Python socket helper with contrib/xmppgate_auth.py.
import hmac
import xmppgate_auth

def check(req):
    if req.mechanism != "PLAIN":
        return "reject"
    ok = req.user == "$USER_" and hmac.compare_digest(req.password, b"$PASS")
    return "accept" if ok else "reject"

xmppgate_auth.serve(check)
EOF
chmod 755 "$tmp/auth/pyexec.py" "$tmp/auth/pysock.py"
ASNOBODY=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
start "$tmp/auth-c.log" "${ASNOBODY[@]}" "$tmp/xgauth" -l "$tmp/auth/c.sock"
CSOCK_PID=$BG
start "$tmp/auth-py.log" "${ASNOBODY[@]}" /usr/bin/python3 "$tmp/auth/pysock.py" "$tmp/auth/py.sock"
PYSOCK_PID=$BG
for i in $(seq 1 100); do
	[ -S "$tmp/auth/c.sock" ] && [ -S "$tmp/auth/py.sock" ] && break
	sleep 0.1
done
[ -S "$tmp/auth/c.sock" ] && [ -S "$tmp/auth/py.sock" ] ||
	fail "socket helpers: no socket after 10 s ($(tail -n 3 "$tmp"/auth-*.log))"
# The pools: xmppgate --listen, started once on a listening socket by
# systemd-socket-activate without --accept, which execs it (the session
# leader is the pool's parent).  "pool" has the exec helper xgauth, as
# the per-connection rows; the others differ only in --auth.
POOLS="pool pool-csock pool-pysock pool-pyexec"
declare -A PORT_ PID_
for who in $POOLS; do
	case $who in
	pool) auth=$tmp/xgauth ;;
	pool-csock) auth=unix:$tmp/auth/c.sock ;;
	pool-pysock) auth=unix:$tmp/auth/py.sock ;;
	pool-pyexec) auth=$tmp/auth/pyexec.py ;;
	esac
	pick_port port
	start "$tmp/gate-$who.log" systemd-socket-activate -l "127.0.0.1:$port" \
		"${XGB[@]}" --auth "$auth" --listen --backend "127.0.0.1:$PPORT"
	PORT_[$who]=$port PID_[$who]=$BG
done
for who in $POOLS; do
	wait_port "${PORT_[$who]}"
done
POOL_PID=${PID_[pool]}

# ---- 1. logins (and those of rows 7 and 8) ----
pick_port GPORT
start "$tmp/gate-login.log" systemd-socket-activate -l "127.0.0.1:$GPORT" --accept \
	"${XG[@]}" --backend "127.0.0.1:$PPORT"
GATE_SID=$BG
wait_port "$GPORT"
# Row 9: the same gate without the backend pre-open (issue 23).
pick_port NPORT
start "$tmp/gate-nopre.log" systemd-socket-activate -l "127.0.0.1:$NPORT" --accept \
	"${XG[@]}" --backend "127.0.0.1:$PPORT" --no-backend-preopen
NOPRE_SID=$BG
wait_port "$NPORT"
PORT_[xg]=$GPORT PORT_[pro]=$PPORT PORT_[xg-nopre]=$NPORT
for who in xg xg-nopre $POOLS pro; do	# warm-up, not counted
	"${LOGIN[@]}" -p "${PORT_[$who]}" -c 1 -n 20 -t 20 >>"$out/login.txt" 2>&1 ||
		fail "warm-up logins to $who failed (see $tmp/gate-*.log, $tmp/auth-*.log)"
done
# systemd-socket-activate without --accept listens, and at the first
# connection execs xmppgate, which takes the socket: now the pools' pids
# are xmppgate's.
for who in $POOLS; do
	[ "$(readlink "/proc/${PID_[$who]}/exe")" = "$(readlink -f "$bin")" ] ||
		fail "$who: pid ${PID_[$who]} is not xmppgate ($(tail -n 3 "$tmp/gate-$who.log"))"
done
# who_cpu WHO: CPU ticks so far of what serves WHO's logins besides
# Prosody: a pool's parent with its reaped children (and so the exec
# helpers they reaped), plus a socket helper's process; Prosody for
# "pro".  The per-connection processes are reaped by
# systemd-socket-activate, whose /proc/PID/stat does not keep their
# times (row 4 measures those).
who_cpu() {
	case $1 in
	xg | xg-nopre) echo 0 ;;
	pro) cpu_ticks "$PRO_PID" ;;
	pool-csock) echo $(( $(cpu_ticks "${PID_[$1]}") + $(cpu_ticks "$CSOCK_PID") )) ;;
	pool-pysock) echo $(( $(cpu_ticks "${PID_[$1]}") + $(cpu_ticks "$PYSOCK_PID") )) ;;
	*) cpu_ticks "${PID_[$1]}" ;;
	esac
}
# LG: xgload's line; LCPU: ms of CPU per login (who_cpu); LPRO: Prosody's.
declare -A LG LCPU LPRO
for c in 1 16 64; do
	procs=$((c < 4 ? c : 4))
	whos="xg xg-nopre pool pro"
	[ "$c" = 1 ] && whos="xg xg-nopre $POOLS pro"
	for who in $whos; do
		port=${PORT_[$who]}
		say "logins, $who, concurrency $c, ${LOGIN_SECS}s"
		w0=$(who_cpu "$who") q0=$(cpu_ticks "$PRO_PID")
		line=$("${LOGIN[@]}" -p "$port" -m starttls -c "$c" -P "$procs" -t "$LOGIN_SECS" 2>>"$out/login.txt") ||
			fail "login run $who c=$c: $line"
		case $who in
		xg) no_children "$GATE_SID" 20 ;;
		xg-nopre) no_children "$NOPRE_SID" 20 ;;
		pool*) no_children "${PID_[$who]}" 20 ;;
		esac
		w1=$(who_cpu "$who") q1=$(cpu_ticks "$PRO_PID")
		n_l=$(kv logins "$line")
		LCPU[$who,$c]=$(calc '%.3f' "($w1 - $w0) * 1000 / $TCK / $n_l")
		LPRO[$who,$c]=$(calc '%.3f' "($q1 - $q0) * 1000 / $TCK / $n_l")
		echo "$who c=$c $line cpu_ms_per_login=${LCPU[$who,$c]} prosody_cpu_ms_per_login=${LPRO[$who,$c]}" >>"$out/login.txt"
		LG[$who,$c]=$line
		[ "$(kv errors "$line")" = 0 ] || say "warning: $who c=$c: $(kv errors "$line") failed logins"
	done
done
# The plaintext half of the xmppgate path: the same login straight to
# Prosody without TLS (what xmppgate itself does towards the backend).
say "logins, Prosody plaintext (the backend half of the xmppgate path)"
PLAIN_LINE=$("$L" login -d "$DOMAIN" -u "$USER_" -w "$PASS" -B -m plain -p "$PPORT" \
	-c 1 -t "$LOGIN_SECS" 2>>"$out/login.txt") || fail "plaintext logins"
echo "pro-plain c=1 $PLAIN_LINE" >>"$out/login.txt"

# ---- 3. memory: idle logged-in connections ----
pick_port SIPORT
cat >"$tmp/stunnel-inetd.conf" <<EOF
; inetd mode (no accept=): one stunnel process per connection
foreground = yes
syslog = no
debug = 3
cert = $tmp/certs/chain.pem
key = $tmp/certs/key.pem
connect = 127.0.0.1:$PPORT
sslVersionMin = TLSv1.3
ciphersuites = $SUITE
EOF
start "$tmp/stunnel-inetd.log" systemd-socket-activate -l "127.0.0.1:$SIPORT" --accept --inetd \
	stunnel "$tmp/stunnel-inetd.conf"
SI_SID=$BG
wait_port "$SIPORT"
declare -A MEM
# Rows 3 and 7: the per-connection xmppgate, stunnel, the pool (its parent
# and children: procmem.py tree), and Prosody's own STARTTLS sessions
# (how much its one process grows per session held).
for who in xg st pool pro; do
	case $who in
	xg) port=$GPORT mode=starttls sid=$GATE_SID ;;
	st) port=$SIPORT mode=direct sid=$SI_SID ;;
	pool) port=${PORT_[pool]} mode=starttls sid=$POOL_PID ;;
	pro) port=$PPORT mode=starttls sid=$PRO_PID
		PRO_MEM0=$(/usr/bin/python3 "$bench/procmem.py" tree "$PRO_PID") ;;
	esac
	say "memory: $HOLD idle logged-in connections through $who"
	: >"$tmp/hold.out"
	start "$tmp/hold.log" sh -c 'exec "$@" >"'"$tmp/hold.out"'"' sh \
		"${HOLDC[@]}" -p "$port" -m "$mode" -n "$HOLD" -t 300
	HOLD_SID=$BG
	for i in $(seq 1 1200); do
		grep -q '^ready' "$tmp/hold.out" && break
		pgrep -s "$HOLD_SID" >/dev/null || fail "hold client ended early: $(tail -n 3 "$tmp/hold.log")"
		sleep 0.1
	done
	grep -q '^ready' "$tmp/hold.out" || fail "hold: not ready after 120 s"
	sleep 2
	case $who in
	pool | pro) MEM[$who]=$(/usr/bin/python3 "$bench/procmem.py" tree "$sid") ;;
	*) MEM[$who]=$(/usr/bin/python3 "$bench/procmem.py" sum "$sid") ;;
	esac
	echo "$who ${MEM[$who]}${PRO_MEM0:+ (before: $PRO_MEM0)}" >>"$out/memory.txt"
	if [ "$who" != pro ]; then
		one=$(pgrep -P "$sid" | head -n 1)
		[ -n "$one" ] || fail "memory: no connection process under $who's listener"
		/usr/bin/python3 "$bench/procmem.py" top "$one" 12 >"$tmp/top.txt"
		{
			echo "== one $who connection process (pid $one): Pss by mapping"
			cat "$tmp/top.txt"
		} >>"$out/smaps.txt"
		[ "$who" = xg ] && TOPMAP=$(sed -n '2,6p' "$tmp/top.txt" | awk '{ printf "%s%s %s KiB", (NR > 1 ? ", " : ""), $1, $3 }')
		[ "$who" = pool ] && POOLMAP=$(sed -n '2,6p' "$tmp/top.txt" | awk '{ printf "%s%s %s KiB", (NR > 1 ? ", " : ""), $1, $3 }')
	fi
	if [ "$who" = pool ]; then
		/usr/bin/python3 "$bench/procmem.py" top "$POOL_PID" 12 >"$tmp/top.txt"
		{
			echo "== the pool's parent (pid $POOL_PID): Pss by mapping"
			cat "$tmp/top.txt"
		} >>"$out/smaps.txt"
	fi
	stop "$HOLD_SID"
	case $who in
	pro) sleep 1 ;;
	*) no_children "$sid" 20 ;;
	esac
done
stop "$SI_SID"

# ---- 4. CPU per login, instructions per login ----
say "CPU per login: $CPU_LOGINS logins through xmppgate under a reaping launcher"
pick_port CPORT
start "$tmp/gate-cpu.log" "$L" spawn -p "$CPORT" -r "$tmp/cpu.stat" -t 900 -- \
	"${XG[@]}" --backend "127.0.0.1:$PPORT"
CPU_SID=$BG
wait_port "$CPORT"
"${LOGIN[@]}" -p "$CPORT" -c 1 -n 10 -t 30 >/dev/null 2>&1 || fail "cpu warm-up"
no_children "$CPU_SID"
s0=$(cat "$tmp/cpu.stat")
p0=$(cpu_ticks "$PRO_PID")
line=$("${LOGIN[@]}" -p "$CPORT" -c 1 -n "$CPU_LOGINS" -t 120 2>>"$out/cpu.txt") || fail "cpu logins"
no_children "$CPU_SID"
sleep 0.2
s1=$(cat "$tmp/cpu.stat")
p1=$(cpu_ticks "$PRO_PID")
n_cpu=$(kv logins "$line")
procs_done=$(( $(kv procs "$s1") - $(kv procs "$s0") ))
XG_CPU_MS=$(calc '%.3f' "(($(kv user_s "$s1") + $(kv sys_s "$s1")) - ($(kv user_s "$s0") + $(kv sys_s "$s0"))) * 1000 / $n_cpu")
XG_USER_MS=$(calc '%.3f' "($(kv user_s "$s1") - $(kv user_s "$s0")) * 1000 / $n_cpu")
XG_SYS_MS=$(calc '%.3f' "($(kv sys_s "$s1") - $(kv sys_s "$s0")) * 1000 / $n_cpu")
PRO_BEHIND_MS=$(calc '%.3f' "($p1 - $p0) * 1000 / $TCK / $n_cpu")
p0=$(cpu_ticks "$PRO_PID")
line2=$("${LOGIN[@]}" -p "$PPORT" -c 1 -n "$CPU_LOGINS" -t 120 2>>"$out/cpu.txt") || fail "cpu logins (Prosody)"
p1=$(cpu_ticks "$PRO_PID")
PRO_DIRECT_MS=$(calc '%.3f' "($p1 - $p0) * 1000 / $TCK / $(kv logins "$line2")")
# Row 7: the same logins through the pool.  Its parent's /proc/PID/stat
# counts its own time and that of the children it reaped, which include
# the exec helpers they reaped.
say "CPU per login: $CPU_LOGINS logins through the pool"
no_children "$POOL_PID"
w0=$(cpu_ticks "$POOL_PID") u0=$(user_ticks "$POOL_PID") p0=$(cpu_ticks "$PRO_PID")
line3=$("${LOGIN[@]}" -p "${PORT_[pool]}" -c 1 -n "$CPU_LOGINS" -t 120 2>>"$out/cpu.txt") || fail "cpu logins (pool)"
no_children "$POOL_PID"
w1=$(cpu_ticks "$POOL_PID") u1=$(user_ticks "$POOL_PID") p1=$(cpu_ticks "$PRO_PID")
n_pool=$(kv logins "$line3")
POOL_CPU_MS=$(calc '%.3f' "($w1 - $w0) * 1000 / $TCK / $n_pool")
POOL_PRO_MS=$(calc '%.3f' "($p1 - $p0) * 1000 / $TCK / $n_pool")
POOL_USER_MS=$(calc '%.3f' "($u1 - $u0) * 1000 / $TCK / $n_pool")
POOL_SYS_MS=$(calc '%.3f' "($w1 - $w0 - $u1 + $u0) * 1000 / $TCK / $n_pool")
{
	echo "xmppgate: $line; processes reaped: $procs_done; $s0 -> $s1"
	echo "xmppgate+helper per login: ${XG_CPU_MS} ms (user $XG_USER_MS, sys $XG_SYS_MS)"
	echo "prosody per login behind xmppgate: $PRO_BEHIND_MS ms; direct STARTTLS: $PRO_DIRECT_MS ms ($line2)"
	echo "pool (parent + reaped children) per login: $POOL_CPU_MS ms (user $POOL_USER_MS, sys $POOL_SYS_MS); prosody behind the pool: $POOL_PRO_MS ms ($line3)"
} >>"$out/cpu.txt"
stop "$CPU_SID"

say "instructions per login: $CG_LOGINS logins under callgrind"
pick_port VPORT
mkdir -p "$tmp/cg"
chmod 1777 "$tmp/cg"
# Callgrind creates its output file at start and writes it at exit, so
# the process must be the same user at both ends: xmppgate runs as nobody
# from the start (setpriv) instead of dropping to it with --user.
cat >"$tmp/cg-wrap" <<EOF
#!/bin/sh
exec setpriv --reuid=nobody --regid=nogroup --clear-groups \\
	valgrind --tool=callgrind --trace-children=yes \\
	--callgrind-out-file=$tmp/cg/callgrind.out.%p "$bin" "\$@"
EOF
chmod 755 "$tmp/cg-wrap"
start "$tmp/gate-cg.log" systemd-socket-activate -l "127.0.0.1:$VPORT" --accept \
	"$tmp/cg-wrap" "${XG[@]:1:8}" --backend "127.0.0.1:$PPORT" --timeout 120 \
	--handshake-timeout 60 --auth-timeout 60 --backend-timeout 60
CG_SID=$BG
wait_port "$VPORT"
line=$("${LOGIN[@]}" -p "$VPORT" -c 1 -n "$CG_LOGINS" -t 300 2>>"$out/callgrind.txt") || fail "callgrind logins"
no_children "$CG_SID" 60
stop "$CG_SID"
n_cg=$(kv logins "$line")
[ "$n_cg" = "$CG_LOGINS" ] || fail "callgrind: $n_cg of $CG_LOGINS logins"
ir_all=0 ir_gate=0 ir_helper=0 ir_other=0 biggest= bigir=0
for f in "$tmp"/cg/callgrind.out.*; do
	ir=$(sed -n 's/^totals: \([0-9]*\).*/\1/p' "$f" | head -n 1)
	[ -n "$ir" ] || ir=$(sed -n 's/^summary: \([0-9]*\).*/\1/p' "$f" | head -n 1)
	cmd=$(sed -n 's/^cmd: *//p' "$f" | head -n 1)
	echo "$(basename "$f"): Ir $ir: $cmd" >>"$out/callgrind-files.txt"
	ir_all=$((ir_all + ir))
	case $cmd in
	"$bin"*) ir_gate=$((ir_gate + ir))
		if [ "$ir" -gt "$bigir" ]; then bigir=$ir biggest=$f; fi ;;
	"$tmp/xgauth"*) ir_helper=$((ir_helper + ir)) ;;
	*) ir_other=$((ir_other + ir)) ;;
	esac
done
[ -n "$biggest" ] || fail "callgrind: no xmppgate output file"
IR_LOGIN=$((ir_all / n_cg))
{
	echo "$line"
	echo "files: $(ls "$tmp"/cg | wc -l); Ir total $ir_all; xmppgate $ir_gate; helper $ir_helper; other $ir_other"
	echo "per login: all $IR_LOGIN; xmppgate $((ir_gate / n_cg)); helper $((ir_helper / n_cg))"
	echo
	echo "== callgrind_annotate (exclusive) of one xmppgate process: $(basename "$biggest")"
	callgrind_annotate "$biggest" >"$tmp/cga.txt" 2>&1 || :
	head -n 60 "$tmp/cga.txt"
	echo
	echo "== callgrind_annotate --inclusive=yes, same process"
	callgrind_annotate --inclusive=yes "$biggest" >"$tmp/cga.txt" 2>&1 || :
	head -n 70 "$tmp/cga.txt"
} >>"$out/callgrind.txt"
mkdir -p "$out/callgrind"
cp "$tmp"/cg/callgrind.out.* "$out/callgrind/"

# ---- 5. start to first byte ----
printf "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='%s' version='1.0'>" \
	"$DOMAIN" >"$tmp/header.xml"
declare -A TT
# Four programs in turn, in rounds, so that machine noise hits them alike:
# xmppgate, and three floors: a trivial program that writes one byte, the
# same linked to GnuTLS, and that with GnuTLS's implicit
# gnutls_global_init() turned off (GNUTLS_NO_IMPLICIT_INIT=1).
rounds=4
for who in floor gnutls-noinit floor-gnutls xg; do : >"$tmp/tt-$who"; done
for r in $(seq 1 $rounds); do
	for who in floor gnutls-noinit floor-gnutls xg; do
		envv=()
		case $who in
		floor) prog=("$tmp/xgfloor") ;;
		gnutls-noinit) prog=("$tmp/xgfloor-gnutls"); envv=(GNUTLS_NO_IMPLICIT_INIT=1) ;;
		floor-gnutls) prog=("$tmp/xgfloor-gnutls") ;;
		xg) prog=("${XG[@]}" --backend "127.0.0.1:$PPORT") ;;
		esac
		say "start to first byte: $who, $((TTFB_RUNS / rounds)) runs (round $r of $rounds)"
		env "${envv[@]}" "$L" ttfb -n $((TTFB_RUNS / rounds)) -r "$tmp/header.xml" -R "$tmp/tt-$who" \
			-- "${prog[@]}" >>"$out/ttfb.txt" 2>>"$tmp/ttfb.log" || fail "ttfb $who"
	done
done
for who in floor gnutls-noinit floor-gnutls xg; do
	TT[$who]=$(sort -g "$tmp/tt-$who" | awk '{ v[NR] = $1 } END {
		i50 = int(NR * 0.5) + 1; i90 = int(NR * 0.9) + 1; i99 = int(NR * 0.99) + 1
		if (i99 > NR) i99 = NR
		printf "runs=%d p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f min_ms=%.3f", NR, v[i50], v[i90], v[i99], v[1] }')
	echo "all rounds: $who ${TT[$who]}" >>"$out/ttfb.txt"
done
# Where a GnuTLS program's start goes: instructions of the floor linked
# to GnuTLS, by callgrind (the dynamic loader's relocation against the
# library constructors).
valgrind --tool=callgrind --callgrind-out-file="$tmp/cg-floor.out" "$tmp/xgfloor-gnutls" \
	>/dev/null 2>"$tmp/cg-floor.err" || :
callgrind_annotate --inclusive=yes "$tmp/cg-floor.out" >"$tmp/cga.txt" 2>&1 || :
{
	echo "== callgrind of xgfloor-gnutls (start, write one byte, exit), inclusive"
	head -n 40 "$tmp/cga.txt"
} >>"$out/ttfb.txt"
FLOOR_IR=$(sed -n 's/^\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' "$tmp/cga.txt" | tr -d ,)
FLOOR_RELOC=$(grep -m1 '_dl_relocate_object' "$tmp/cga.txt" | awk '{ gsub(",", "", $1); print $1 }')
FLOOR_INIT=$(grep -m1 'dl-init.c:_dl_init' "$tmp/cga.txt" | awk '{ gsub(",", "", $1); print $1 }')

# ---- 2. bulk throughput ----
pick_port BPORT
pick_port SBPORT
start "$tmp/gate-bulk.log" "$L" spawn -p "$BPORT" -r "$tmp/bulk.stat" -t 900 -- \
	"${XG[@]}" --tls-priority "$PRIO" -- "$L" sink
BULK_SID=$BG
cat >"$tmp/stunnel-bulk.conf" <<EOF
; stunnel in xmppgate's exec-mode position: TLS in front of a program
foreground = yes
syslog = no
debug = 3
pid =
setuid = nobody
setgid = nogroup
[bulk]
accept = 127.0.0.1:$SBPORT
exec = $L
execArgs = xgload sink
cert = $tmp/certs/chain.pem
key = $tmp/certs/key.pem
sslVersionMin = TLSv1.3
ciphersuites = $SUITE
EOF
start "$tmp/stunnel-bulk.log" stunnel "$tmp/stunnel-bulk.conf"
SB_SID=$BG
wait_port "$BPORT"
wait_port "$SBPORT"
ST_PID=$(pgrep -s "$SB_SID" | head -n 1)
BULK=("$L" bulk -d "$DOMAIN" -C "$CA" -x "$PRIO" -b "$BULK_BYTES")
# median FILE: the median of the numbers in FILE, one a line.
median() { sort -g "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# bulk_cpu WHO: relay+sink CPU seconds so far.
bulk_cpu() {
	if [ "$1" = xg ]; then
		s=$(cat "$tmp/bulk.stat" 2>/dev/null || echo "user_s=0 sys_s=0")
		calc '%.6f' "$(kv user_s "$s") + $(kv sys_s "$s")"
	else
		calc '%.6f' "$(cpu_ticks "$ST_PID") / $TCK"
	fi
}
declare -A BK BCPU
for dir in c2s s2c both; do
	: >"$tmp/bk-xg-$dir" ; : >"$tmp/bk-st-$dir"
	BCPU[xg,$dir]=0 BCPU[st,$dir]=0
	for rep in $(seq 1 "$BULK_REPS"); do
		for who in xg st; do
			say "bulk $dir, $who, $((BULK_BYTES >> 20)) MiB, run $rep"
			c0=$(bulk_cpu "$who")
			if [ "$who" = xg ]; then
				line=$("${BULK[@]}" -p "$BPORT" -m starttls -u "$USER_" -w "$PASS" -D "$dir" 2>>"$out/bulk.txt") ||
					fail "bulk xg $dir: $line"
				no_children "$BULK_SID" 20
				sleep 0.1
			else
				line=$("${BULK[@]}" -p "$SBPORT" -m direct -D "$dir" 2>>"$out/bulk.txt") ||
					fail "bulk stunnel $dir: $line"
				sleep 0.3	# stunnel reaps the sink
			fi
			c1=$(bulk_cpu "$who")
			echo "$who $dir $line cpu_s=$(calc '%.3f' "$c1 - $c0")" >>"$out/bulk.txt"
			kv mibps "$line" >>"$tmp/bk-$who-$dir"
			BCPU[$who,$dir]=$(calc '%.6f' "${BCPU[$who,$dir]} + $c1 - $c0")
			case $(kv cipher "$line") in
			AES-128-GCM) ;;
			*) fail "bulk $who $dir: cipher $(kv cipher "$line"), not AES-128-GCM" ;;
			esac
		done
	done
	BK[xg,$dir]=$(median "$tmp/bk-xg-$dir")
	BK[st,$dir]=$(median "$tmp/bk-st-$dir")
done
stop "$BULK_SID"
stop "$SB_SID"

# ---- 6. route mode: splice against the user-space copy ----
declare -A RT RCPU CCPU
ROUTE_OK=0
if "$bin" --help 2>&1 | grep -q -- '--route'; then
	ROUTE_OK=1
	pick_port SKPORT
	pick_port RPORT
	pick_port RNPORT
	start "$tmp/sink.log" "$L" sink -H -p "$SKPORT" -t 900
	SINK_SID=$BG
	printf '%s 127.0.0.1:%s\n* 127.0.0.1:%s\n' "$DOMAIN" "$SKPORT" "$SKPORT" >"$tmp/route.map"
	chmod 644 "$tmp/route.map"
	start "$tmp/gate-route.log" "$L" spawn -p "$RPORT" -r "$tmp/route.stat" -t 900 -- \
		"$bin" --route "$tmp/route.map" --user nobody
	R_SID=$BG
	start "$tmp/gate-route-ns.log" "$L" spawn -p "$RNPORT" -r "$tmp/route-ns.stat" -t 900 -- \
		"$bin" --route "$tmp/route.map" --user nobody --no-splice
	RN_SID=$BG
	wait_port "$SKPORT"
	wait_port "$RPORT"
	wait_port "$RNPORT"
	for dir in c2s s2c both; do
		: >"$tmp/rt-sp-$dir" ; : >"$tmp/rt-cp-$dir"
		for rep in $(seq 1 "$BULK_REPS"); do
			for who in sp cp; do
				port=$RPORT stat=$tmp/route.stat sid=$R_SID
				[ "$who" = cp ] && port=$RNPORT stat=$tmp/route-ns.stat sid=$RN_SID
				say "route $dir, $who, $((BULK_BYTES >> 20)) MiB, run $rep"
				s0=$(cat "$stat" 2>/dev/null || echo "user_s=0 sys_s=0")
				line=$("$L" bulk -d "$DOMAIN" -m plain -p "$port" -D "$dir" -b "$BULK_BYTES" 2>>"$out/route.txt") ||
					fail "route $who $dir: $line (see $tmp/gate-route*.log)"
				no_children "$sid" 20
				sleep 0.1
				s1=$(cat "$stat")
				echo "$who $dir $line relay_cpu_s=$(calc '%.3f' "$(kv user_s "$s1") + $(kv sys_s "$s1") - $(kv user_s "$s0") - $(kv sys_s "$s0")")" >>"$out/route.txt"
				kv mibps "$line" >>"$tmp/rt-$who-$dir"
				CCPU[$who,$dir]=$(calc '%.6f' "${CCPU[$who,$dir]:-0} + $(kv client_cpu_s "$line")")
				RCPU[$who,$dir]=$(calc '%.6f' "${RCPU[$who,$dir]:-0} + $(kv user_s "$s1") + $(kv sys_s "$s1") - $(kv user_s "$s0") - $(kv sys_s "$s0")")
			done
		done
		RT[sp,$dir]=$(median "$tmp/rt-sp-$dir")
		RT[cp,$dir]=$(median "$tmp/rt-cp-$dir")
	done
	stop "$R_SID"
	stop "$RN_SID"
	stop "$SINK_SID"
fi

# ---- 12. FAST against SCRAM (issue 25), measured here, printed last ----
measure_fast

# ---- the table ----
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/machine.txt"
# verdict OK MISS: "met" or "**missed**: MISS"
verdict() { if [ "$1" = 1 ]; then echo "met"; else echo "**missed**: $2"; fi; }
ge() { awk "BEGIN { exit !($1 >= $2) }" && echo 1 || echo 0; }

echo "| # | measure | xmppgate | peer | target | verdict |"
echo "|---|---|---|---|---|---|"
pp50=$(kv p50_ms "$PLAIN_LINE")
# st LINE N: the mean ms of login step N (xgload's mean_ms=a/b/c/d/e/f).
st() { kv mean_ms "$1" | cut -d/ -f"$2"; }
for c in 1 16 64; do
	x=${LG[xg,$c]} p=${LG[pro,$c]}
	xp=$(kv p50_ms "$x") pp=$(kv p50_ms "$p")
	ok=$(ge "$pp" "$xp")
	if [ "$c" = 1 ]; then
		why="mean ms per step, xmppgate vs Prosody: first features $(st "$x" 1) vs $(st "$p" 1), STARTTLS $(st "$x" 2) vs $(st "$p" 2), TLS handshake $(st "$x" 3) vs $(st "$p" 3), features after TLS $(st "$x" 4) vs $(st "$p" 4), SASL PLAIN (xmppgate: helper + its plaintext login to Prosody; a whole plaintext login, connect to bind, alone has p50 $pp50 ms) $(st "$x" 5) vs $(st "$p" 5), restart+bind $(st "$x" 6) vs $(st "$p" 6)"
	else
		why="CPU-bound on 2 cores shared with the client: a login costs xmppgate+helper $XG_CPU_MS ms CPU plus Prosody $PRO_BEHIND_MS ms behind it, against $PRO_DIRECT_MS ms for Prosody's own STARTTLS login (row 4)"
	fi
	echo "| 1 | full login, concurrency $c: p50 / p99 ms, logins/s | $(kv p50_ms "$x") / $(kv p99_ms "$x") ms, $(kv rate "$x")/s ($(kv logins "$x") logins, $(kv errors "$x") failed) | Prosody STARTTLS: $(kv p50_ms "$p") / $(kv p99_ms "$p") ms, $(kv rate "$p")/s ($(kv logins "$p") logins, $(kv errors "$p") failed) | p50 ≤ Prosody's | $(verdict "$ok" "p50 +$(calc '%.2f' "$xp - $pp") ms (+$(calc '%.0f' "($xp / $pp - 1) * 100") %); $why") |"
done
for dir in c2s s2c both; do
	x=${BK[xg,$dir]} s=${BK[st,$dir]}
	ok=$(ge "$x" "1.2 * $s")
	case $dir in c2s) d="client→backend" ;; s2c) d="backend→client" ;; both) d="both at once (each way)" ;; esac
	[ "$dir" = both ] && moved=2 || moved=1
	sc=$(calc '%.2f' "${BCPU[st,$dir]} / ($moved * $BULK_REPS * $BULK_BYTES / 1073741824)")
	xc=$(calc '%.2f' "${BCPU[xg,$dir]} / ($moved * $BULK_REPS * $BULK_BYTES / 1073741824)")
	echo "| 2 | bulk $d, $SUITE, MiB/s (median of $BULK_REPS × $((BULK_BYTES >> 20)) MiB) | $x MiB/s (relay+sink CPU $xc s/GiB) | stunnel: $s MiB/s (relay+sink CPU $sc s/GiB) | ≥ 1.2 × stunnel | $(verdict "$ok" "$(calc '%.2f' "$x / $s")× stunnel, $(calc '%.0f' "(1.2 * $s - $x)") MiB/s short; relay+sink CPU per GiB $(calc '%.2f' "$xc / $sc")× stunnel's, and client, relay and sink share 2 cores") |"
done
xm=${MEM[xg]} sm=${MEM[st]}
xk=$(calc '%.0f' "$(kv pss_kib "$xm") / $HOLD") sk=$(calc '%.0f' "$(kv pss_kib "$sm") / $HOLD")
ok=$(( $(ge 1024 "$xk") && $(ge "$sk / 2" "$xk") ))
echo "| 3 | memory per idle logged-in connection: summed Pss / $HOLD (processes) | $xk KiB ($(kv procs "$xm") processes; Rss $(calc '%.0f' "$(kv rss_kib "$xm") / $HOLD") KiB) | stunnel inetd mode: $sk KiB ($(kv procs "$sm") processes; Rss $(calc '%.0f' "$(kv rss_kib "$sm") / $HOLD") KiB) | ≤ 1024 KiB and ≤ ½ stunnel ($(calc '%.0f' "$sk / 2") KiB) | $(verdict "$ok" "$(calc '%.2f' "$xk / $sk")× stunnel's, $((xk - 1024)) KiB over 1 MiB; largest Pss in one process: $TOPMAP") |"
echo "| 4 | CPU per login, user+sys, xmppgate + helper ($n_cpu logins, c=1) | $XG_CPU_MS ms (user $XG_USER_MS, sys $XG_SYS_MS) | Prosody's CPU per login: $PRO_BEHIND_MS ms behind xmppgate, $PRO_DIRECT_MS ms for its own STARTTLS login | none (reported) | – |"
echo "| 4 | instructions per login (callgrind, xmppgate + helper, $n_cg logins) | $(calc '%.2f' "$IR_LOGIN / 1e6") M (xmppgate $(calc '%.2f' "$ir_gate / $n_cg / 1e6") M, helper $(calc '%.2f' "$ir_helper / $n_cg / 1e6") M) | – | none (reported) | – |"
xt=${TT[xg]}
ok=$(ge 1 "$(kv p50_ms "$xt")")
f0=$(kv p50_ms "${TT[floor]}") f1=$(kv p50_ms "${TT[gnutls-noinit]}") f2=$(kv p50_ms "${TT[floor-gnutls]}") x50=$(kv p50_ms "$xt")
echo "| 5 | start to first byte: posix_spawn() to the client end readable (inetd style), ms, p50 / p90 / p99 of $(kv runs "$xt") | $x50 / $(kv p90_ms "$xt") / $(kv p99_ms "$xt") ms | floors (p50 / p90 / p99): trivial program $f0 / $(kv p90_ms "${TT[floor]}") / $(kv p99_ms "${TT[floor]}"); linked to GnuTLS, no init $f1 / $(kv p90_ms "${TT[gnutls-noinit]}") / $(kv p99_ms "${TT[gnutls-noinit]}"); linked to GnuTLS $f2 / $(kv p90_ms "${TT[floor-gnutls]}") / $(kv p99_ms "${TT[floor-gnutls]}") | p50 < 1 ms | $(verdict "$ok" "+$(calc '%.2f' "$x50 - 1") ms. Of the p50: $f0 ms process start (trivial program), $(calc '%.2f' "$f1 - $f0") ms loading and relocating GnuTLS and its libraries, $(calc '%.2f' "$f2 - $f1") ms GnuTLS's implicit global init, $(calc '%.2f' "$x50 - $f2") ms xmppgate's own start-up to its first byte. Callgrind of the GnuTLS floor: $(calc '%.1f' "$FLOOR_IR / 1e6") M instructions, $(calc '%.0f' "$FLOOR_RELOC * 100 / $FLOOR_IR") % relocation, $(calc '%.0f' "$FLOOR_INIT * 100 / $FLOOR_IR") % library constructors") |"
for dir in c2s s2c both; do
	case $dir in c2s) d="client→backend" ;; s2c) d="backend→client" ;; both) d="both at once (each way)" ;; esac
	if [ "$ROUTE_OK" = 1 ]; then
		x=${RT[sp,$dir]} s=${RT[cp,$dir]}
		[ "$dir" = both ] && moved=2 || moved=1
		ok=$(ge "$x" "2 * $s")
		echo "| 6 | route mode plaintext bulk $d, MiB/s | splice: $x MiB/s | --no-splice (user-space copy): $s MiB/s | splice ≥ 2 × copy | $(verdict "$ok" "$(calc '%.2f' "$x / $s")× the copy path; relay CPU per GiB: splice $(calc '%.2f' "${RCPU[sp,$dir]} / ($moved * $BULK_REPS * $BULK_BYTES / 1073741824)") s, copy $(calc '%.2f' "${RCPU[cp,$dir]} / ($moved * $BULK_REPS * $BULK_BYTES / 1073741824)") s, while the client alone takes $(calc '%.2f' "${CCPU[sp,$dir]} / ($moved * $BULK_REPS * $BULK_BYTES / 1073741824)") s of CPU per GiB on the same 2 cores") |"
	else
		echo "| 6 | route mode plaintext bulk $d, MiB/s | not run: route mode not built yet | – | splice ≥ 2 × copy | not run |"
	fi
done

# ---- 7. the pooled mode (issue 21); 8. helpers that stay up (issue 23) ----
# ps LINE N: the p50 ms of login step N (xgload's p50s_ms=a/b/c/d/e/f).
ps() { kv p50s_ms "$1" | cut -d/ -f"$2"; }
x=${LG[xg,1]} q=${LG[pool,1]} p=${LG[pro,1]}
xf=$(ps "$x" 1) qf=$(ps "$q" 1) pf=$(ps "$p" 1)
ok=$(ge "$pf + 1" "$qf")
echo "| 7 | pooled mode: first stream features (connect to the features), concurrency 1, p50 ms (mean) | pool: $qf ms (mean $(st "$q" 1)); per-connection: $xf ms (mean $(st "$x" 1)) | Prosody: $pf ms (mean $(st "$p" 1)) | pool p50 ≤ Prosody's + 1 ms | $(verdict "$ok" "pool $(calc '%.2f' "$qf - $pf") ms after Prosody's p50, $(calc '%.2f' "$qf - $pf - 1") ms over the target") |"
for c in 1 16 64; do
	x=${LG[xg,$c]} q=${LG[pool,$c]} p=${LG[pro,$c]}
	ratio=$(calc '%.2f' "$(kv rate "$q") / $(kv rate "$p")")
	cells="pool: $(kv p50_ms "$q") / $(kv p99_ms "$q") ms, $(kv rate "$q")/s ($(kv logins "$q") logins, $(kv errors "$q") failed); CPU per login: the pool ${LCPU[pool,$c]} ms, Prosody behind it ${LPRO[pool,$c]} ms; per-connection: $(kv rate "$x")/s | Prosody STARTTLS: $(kv p50_ms "$p") / $(kv p99_ms "$p") ms, $(kv rate "$p")/s ($(kv logins "$p") logins, $(kv errors "$p") failed); CPU per login ${LPRO[pro,$c]} ms"
	if [ "$c" = 64 ]; then
		ok=$(ge "$(kv rate "$q")" "$(kv rate "$p")")
		echo "| 7 | pooled mode: full login, concurrency $c: p50 / p99 ms, logins/s | $cells | logins/s ≥ 1.0 × Prosody's | $(verdict "$ok" "${ratio}× Prosody's; the pool and Prosody behind it use $(calc '%.3f' "${LCPU[pool,$c]} + ${LPRO[pool,$c]}") ms of CPU per login against $(calc '%.3f' "${LPRO[pro,$c]}") ms for Prosody's own, on 2 cores shared with the client") |"
	else
		echo "| 7 | pooled mode: full login, concurrency $c: p50 / p99 ms, logins/s | $cells | none (reported) | – (${ratio}× Prosody's logins/s) |"
	fi
done
ok=$(ge "$PRO_DIRECT_MS" "$POOL_CPU_MS")
echo "| 7 | pooled mode: CPU per login, user+sys of the pool's parent with its reaped children and their exec helpers ($n_pool logins, c=1) | $POOL_CPU_MS ms (user $POOL_USER_MS, sys $POOL_SYS_MS); per-connection: $XG_CPU_MS ms (row 4) | Prosody's own STARTTLS login: $PRO_DIRECT_MS ms; Prosody behind the pool: $POOL_PRO_MS ms | ≤ Prosody's own | $(verdict "$ok" "$(calc '%.2f' "$POOL_CPU_MS / $PRO_DIRECT_MS")× Prosody's own; at concurrency 64 the pool used ${LCPU[pool,64]} ms per login against ${LPRO[pro,64]} ms for Prosody's own") |"
qm=${MEM[pool]} pm=${MEM[pro]}
qk=$(calc '%.0f' "$(kv pss_kib "$qm") / $HOLD")
prk=$(calc '%.0f' "($(kv pss_kib "$pm") - $(kv pss_kib "$PRO_MEM0")) / $HOLD")
ok=$(ge 300 "$qk")
echo "| 7 | pooled mode: memory per idle logged-in session: summed Pss of the pool's processes / $HOLD | $qk KiB ($(kv procs "$qm") processes, the parent included; Rss $(calc '%.0f' "$(kv rss_kib "$qm") / $HOLD") KiB) | Prosody's own STARTTLS sessions: its Pss grew $prk KiB per session; per-connection xmppgate: $xk KiB (row 3) | ≤ 300 KiB | $(verdict "$ok" "$((qk - 300)) KiB over; largest Pss in one child: $POOLMAP") |"
for who in $POOLS; do
	case $who in
	pool) name="exec helper in C (xgauth, a process per attempt)" ;;
	pool-csock) name="socket helper in C (xgauth -l: one process, no fork)" ;;
	pool-pysock) name="socket helper in Python (contrib/xmppgate_auth.py)" ;;
	pool-pyexec) name="exec helper in Python (a script per attempt)" ;;
	esac
	h=${LG[$who,1]} p=${LG[pro,1]}
	hs=$(ps "$h" 5) prs=$(ps "$p" 5) hl=$(kv p50_ms "$h") pl=$(kv p50_ms "$p")
	extra=
	case $who in pool-csock | pool-pysock) extra=", the helper's process included" ;; esac
	cells="SASL PLAIN $hs ms (mean $(st "$h" 5)); login $hl / $(kv p99_ms "$h") ms, $(kv rate "$h")/s ($(kv logins "$h") logins, $(kv errors "$h") failed); CPU per login $(calc '%.3f' "${LCPU[$who,1]}") ms (the pool$extra) | Prosody STARTTLS: SASL PLAIN $prs ms (mean $(st "$p" 5)); login $pl / $(kv p99_ms "$p") ms; CPU per login ${LPRO[pro,1]} ms"
	why="SASL +$(calc '%.2f' "$hs - $prs") ms, login $(calc '%.2f' "$hl / $pl")× Prosody's p50"
	case $who in
	pool-csock | pool-pysock)
		ok=$(( $(ge "$prs + 1" "$hs") && $(ge "$pl" "$hl") ))
		echo "| 8 | pooled mode, concurrency 1, $name: SASL PLAIN step p50, login p50 / p99 ms | $cells | SASL p50 ≤ Prosody's + 1 ms, login p50 ≤ 1.0 × Prosody's | $(verdict "$ok" "$why; xmppgate's SASL step holds the helper's answer and then its own plaintext login to Prosody (connect, stream, SASL, restart): a whole plaintext login to Prosody, connect to bind, has p50 $pp50 ms") |" ;;
	*)
		echo "| 8 | pooled mode, concurrency 1, $name: SASL PLAIN step p50, login p50 / p99 ms | $cells | none (reported) | – ($why) |" ;;
	esac
done

# ---- 9. the backend pre-open (issue 23): the same gate with and without ----
for c in 1 16 64; do
	x=${LG[xg,$c]} n=${LG[xg-nopre,$c]}
	echo "| 9 | backend pre-open, concurrency $c: SASL PLAIN step p50 (mean), login p50 / p99 ms, logins/s | pre-open (default): SASL $(ps "$x" 5) ms (mean $(st "$x" 5)); login $(kv p50_ms "$x") / $(kv p99_ms "$x") ms, $(kv rate "$x")/s ($(kv errors "$x") failed) | --no-backend-preopen: SASL $(ps "$n" 5) ms (mean $(st "$n" 5)); login $(kv p50_ms "$n") / $(kv p99_ms "$n") ms, $(kv rate "$n")/s ($(kv errors "$n") failed) | none (reported) | – (SASL step $(calc '%+.2f' "$(ps "$x" 5) - $(ps "$n" 5)") ms with the pre-open) |"
done

# ---- 10, 11. xmppgate-relay, inside user-mode Linux (issue 22) ----
# bench/relay_uml.sh prints its rows, or "not measured: REASON" ones.
say "rows 10 and 11: xmppgate-relay inside user-mode Linux (bench/relay_uml.sh)"
if [ "$quick" = 1 ]; then q=--quick; else q=; fi
# shellcheck disable=SC2086
bash "$bench/relay_uml.sh" $q --log "$out/relay_uml.txt" ||
	say "rows 10 and 11: bench/relay_uml.sh failed (see relay_uml.txt with --details)"
fast_row
