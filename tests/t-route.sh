#!/bin/bash
# Route mode (--route): two real Prosody servers, each with its own domain
# and its own CA-signed certificate, behind one xmppgate that reads only
# the plaintext stream header and splices the rest.  The client does
# STARTTLS and SASL with Prosody itself, through xmppgate.  strace -c
# shows that the bytes after the header move by splice(2), and that
# --no-splice copies them through user space instead.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

require_xmppgate
command -v strace >/dev/null || fail "strace is not installed (scripts/deps.sh)"

# Two Prosody servers: a.test and b.test, each its own CA and certificate.
PRO_A=$XG_TMP/prosody-a
PRO_B=$XG_TMP/prosody-b
PA=$(free_port)
PB=$(free_port)
prosody_config "$PRO_A" "$PA" a.test
prosody_config "$PRO_B" "$PB" b.test
prosody_adduser "$PRO_A" alice a.test 'alice pass A'
prosody_adduser "$PRO_B" bob b.test 'bob pass B'
start_prosody "$PRO_A" "$PA" a.test
start_prosody "$PRO_B" "$PB" b.test

DEAD=$(free_port)	# nothing listens here
cat >"$XG_TMP/routes" <<EOF
# domain       backend
a.test         127.0.0.1:$PA
B.Test.        127.0.0.1:$PB
down.test      127.0.0.1:$DEAD
EOF

# The gate runs under strace -c, which writes its table when the
# connection's process ends (one file per connection).
STRACE_DIR=$XG_TMP/strace
mkdir -p "$STRACE_DIR"
# strace runs xmppgate as its child, so LISTEN_PID (which
# systemd-socket-activate set to this script's pid) is set again to the
# child's: sh -c execs xmppgate in its own process.
cat >"$XG_TMP/traced-gate" <<EOF
#!/bin/sh
# LeakSanitizer cannot run under ptrace: off for the traced process.
ASAN_OPTIONS="\${ASAN_OPTIONS:+\$ASAN_OPTIONS:}detect_leaks=0"
export ASAN_OPTIONS
exec strace -c -o "$STRACE_DIR/\$\$" \\
	-e trace=splice,read,recvfrom,recvmsg,write,sendto,sendmsg \\
	sh -c 'LISTEN_PID=\$\$ exec "\$0" "\$@"' "$xg_real_bin" "\$@"
EOF
chmod 755 "$XG_TMP/traced-gate"

# strace_calls FILE SYSCALL: the number of calls in an strace -c table.
strace_calls() {
	awk -v s="$2" '$NF == s { print ($4 ~ /^[0-9]+$/) ? $4 : $3; f = 1 }
		END { if (!f) print 0 }' "$1"
}

GPORT=$(free_port)
XG_GATE_LOG=$XG_TMP/gate.log
xg_bin=$XG_TMP/traced-gate start_gate "$GPORT" --route "$XG_TMP/routes" \
	--idle-timeout 60

check "alice logs in to a.test through xmppgate: STARTTLS and SASL with Prosody A"
out=$($XG_CLIENT --jid alice@a.test --password 'alice pass A' \
	--host 127.0.0.1 --port "$GPORT" --ca "$PRO_A/ca.pem" --timeout 20) ||
	fail "client: $out"
echo "    $out"
case $out in
*"jid=alice@a.test/"*) ;;
*) fail "alice did not bind on a.test: $out" ;;
esac
grep -q "alice@a.test" "$PRO_A/prosody.log" ||
	fail "Prosody A's log does not show alice's session"
pass "alice's session ran on Prosody A"

check "bob logs in to b.test: the map's B.Test. is b.test, and Prosody B's certificate is what he sees"
out=$($XG_CLIENT --jid bob@b.test --password 'bob pass B' \
	--host 127.0.0.1 --port "$GPORT" --ca "$PRO_B/ca.pem" --timeout 20) ||
	fail "client: $out"
echo "    $out"
case $out in
*"jid=bob@b.test/"*) ;;
*) fail "bob did not bind on b.test: $out" ;;
esac
grep -q "bob@b.test" "$PRO_B/prosody.log" ||
	fail "Prosody B's log does not show bob's session"
! grep -q "bob@b.test" "$PRO_A/prosody.log" ||
	fail "bob's session reached Prosody A"
pass "bob's session ran on Prosody B"

check "summary lines: domain, backend, bytes, and the splice path"
lines=$(wait_summaries 2 10)
printf '%s\n' "$lines" | sed 's/^/    /'
line=$(printf '%s\n' "$lines" | grep " domain=a.test " | head -n 1)
expect_summary "$line" outcome=ok domain=a.test "backend=127.0.0.1:$PA" \
	rx='>0' tx='>0' user=- client='*'
line=$(printf '%s\n' "$lines" | grep " domain=b.test " | head -n 1)
expect_summary "$line" outcome=ok domain=b.test "backend=127.0.0.1:$PB" \
	rx='>0' tx='>0'
case $line in
*'(splice)"'*) ;;
*) fail "route mode did not say it spliced: $line" ;;
esac
grep -q "routing a.test to 127.0.0.1:$PA" "$XG_GATE_LOG" ||
	fail "no 'routing a.test' log line"
pass "summaries ok"

check "strace -c: the TLS session's bytes went by splice(2), not read/write"
for i in $(seq 1 50); do
	[ "$(ls "$STRACE_DIR" | wc -l)" -ge 2 ] && break
	sleep 0.1
done
n=0
for f in "$STRACE_DIR"/*; do
	[ -s "$f" ] || continue
	sed 's/^/    /' "$f"
	sp=$(strace_calls "$f" splice)
	# A whole login is dozens of TLS records each way, all spliced;
	# send saw only the stream header (read also counts the files
	# xmppgate loads, so it is compared with --no-splice below).
	snd=$(( $(strace_calls "$f" sendto) + $(strace_calls "$f" sendmsg) ))
	[ "$sp" -ge 20 ] || fail "only $sp splice calls in $f"
	[ "$snd" -le 2 ] || fail "$snd send calls besides splice in $f"
	reads_spliced=$(strace_calls "$f" read)
	n=$((n + 1))
done
[ "$n" -ge 2 ] || fail "found $n strace tables, expected 2"
pass "$n connections spliced (see the tables)"
kill_bg "$GATE_PID"

check "--no-splice: the same login, copied through user space"
rm -f "$STRACE_DIR"/*
GPORT=$(free_port)
XG_GATE_LOG=$XG_TMP/gate-copy.log
xg_bin=$XG_TMP/traced-gate start_gate "$GPORT" --route "$XG_TMP/routes" \
	--no-splice
out=$($XG_CLIENT --jid alice@a.test --password 'alice pass A' \
	--host 127.0.0.1 --port "$GPORT" --ca "$PRO_A/ca.pem" --timeout 20) ||
	fail "client: $out"
line=$(wait_summaries 1 10)
echo "    $line"
expect_summary "$line" outcome=ok domain=a.test
case $line in
*'(user-space copy)"'*) ;;
*) fail "--no-splice did not say it copied: $line" ;;
esac
for i in $(seq 1 50); do
	[ -s "$(ls -d "$STRACE_DIR"/* 2>/dev/null | head -n 1)" ] && break
	sleep 0.1
done
f=$(ls -d "$STRACE_DIR"/* | head -n 1)
sed 's/^/    /' "$f"
[ "$(strace_calls "$f" splice)" -eq 0 ] || fail "--no-splice spliced"
snd=$(( $(strace_calls "$f" sendto) + $(strace_calls "$f" sendmsg) ))
[ "$snd" -ge 10 ] || fail "--no-splice: only $snd send calls"
[ "$(strace_calls "$f" read)" -ge $((reads_spliced + 10)) ] ||
	fail "--no-splice: not more reads than with splice ($reads_spliced)"
pass "copied with read and send, no splice"
kill_bg "$GATE_PID"

GPORT=$(free_port)
XG_GATE_LOG=$XG_TMP/gate-plain.log
start_gate "$GPORT" --route "$XG_TMP/routes" --backend-timeout 5

check "the header in two pieces, <starttls/> in the same write as its end: Prosody proceeds"
out=$($XG_PY "$top_srcdir/tests/route_probe.py" "$GPORT" a.test starttls)
[ "$out" = proceed ] || fail "$out"
pass "nothing read ahead was lost"

check "a domain the map does not list: <host-unknown/> from xmppgate, refused"
out=$($XG_PY "$top_srcdir/tests/route_probe.py" "$GPORT" c.test error)
[ "$out" = "stream-error host-unknown" ] || fail "$out"
line=$(wait_summaries 2 10 | tail -n 1)
expect_summary "$line" outcome=refused domain=-
pass "$out"

check "a backend that does not listen: <remote-connection-failed/>, tempfail"
out=$($XG_PY "$top_srcdir/tests/route_probe.py" "$GPORT" down.test error)
[ "$out" = "stream-error remote-connection-failed" ] || fail "$out"
line=$(wait_summaries 3 10 | tail -n 1)
expect_summary "$line" outcome=tempfail domain=down.test
case $line in
*"backend 127.0.0.1:$DEAD: "*) ;;
*) fail "the reason does not name the backend: $line" ;;
esac
pass "$out"
kill_bg "$GATE_PID"

check "a bad map: every connection gets <internal-server-error/>, the log names the line"
printf 'a.test 127.0.0.1:%s\nb.test nowhere\n' "$PA" >"$XG_TMP/bad-routes"
GPORT=$(free_port)
XG_GATE_LOG=$XG_TMP/gate-bad.log
start_gate "$GPORT" --route "$XG_TMP/bad-routes"
out=$($XG_PY "$top_srcdir/tests/route_probe.py" "$GPORT" a.test error)
[ "$out" = "stream-error internal-server-error" ] || fail "$out"
line=$(wait_summaries 1 10)
expect_summary "$line" outcome=tempfail
case $line in
*"bad-routes line 2: not an address"*) ;;
*) fail "the reason does not name line 2: $line" ;;
esac
printf 'a.test 127.0.0.1:1\nA.TEST 127.0.0.1:2\n' >"$XG_TMP/dup-routes"
rc=0
out=$(printf '' | "$xg_real_bin" --route "$XG_TMP/dup-routes" 2>&1) || rc=$?
case $out in
*"a.test is listed twice"*) ;;
*) fail "a domain twice was not refused: $out" ;;
esac
pass "bad maps refused"
kill_bg "$GATE_PID"

check "options that route mode cannot honour are usage errors (exit 100)"
for args in "--auth /bin/true" "--cert /x --key /y" "--backend 127.0.0.1:1" \
	"--domain a.test" "--sasl-mechanisms PLAIN" "--starttls-only"; do
	rc=0
	# shellcheck disable=SC2086
	msg=$("$xg_real_bin" --route "$XG_TMP/routes" $args 2>&1 </dev/null) || rc=$?
	[ "$rc" -eq 100 ] || fail "--route $args: exit $rc ($msg)"
	case $msg in
	*"--route: "*) ;;
	*) fail "--route $args: unclear message: $msg" ;;
	esac
done
rc=0
"$xg_real_bin" --route routes </dev/null 2>/dev/null || rc=$?
[ "$rc" -eq 100 ] || fail "--route with a relative path: exit $rc"
pass "usage errors"

check "no xmppgate left running"
assert_no_leftovers 5
pass "no leftovers"
