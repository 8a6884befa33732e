#!/bin/bash
# Secrets are wiped: while a session logged in through xmppgate is being
# relayed to a real Prosody, neither the client's password nor the
# backend password the helper named is anywhere in xmppgate's memory --
# not as text and not as the base64 of a SASL PLAIN payload.  Then the
# same after a failed attempt, while the connection waits for the next;
# and with --backend-tls, in both processes of the connection (the relay
# and the child that carries the backend's TLS).
# And a SCRAM session: no stored key either.
# (tests/memscan.py reads /proc/PID/mem as root.)
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

# What is checked is the program as it is shipped: glibc's allocator,
# which xmppgate tells to overwrite freed blocks (M_PERTURB) until the
# relay.  AddressSanitizer and valgrind bring allocators of their own that
# keep, pad and move blocks differently (under ASan a 16 KiB GnuTLS block
# with the last TLS record received is still found), so under them this
# test says so and is skipped; the plain `make check` runs it.
if [ -n "${XG_VALGRIND:-}" ]; then
	log "SKIP: under valgrind its allocator replaces glibc's (see the comment)"
	exit 77
fi
if grep -q '^#define XG_SANITIZERS 1' "$top_builddir/config.h" 2>/dev/null; then
	log "SKIP: an ASan build; its allocator replaces glibc's (see the comment)"
	exit 77
fi

DOMAIN=example.test
require_xmppgate
[ "$(id -u)" -eq 0 ] || fail "this test must run as root (it reads /proc/PID/mem)"
# Distinct, unlikely strings, so that a hit is a copy and nothing else.
CLIENT_PASS="cl1ent-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
BACKEND_PASS="b4ckend-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
WRONG_PASS="wr0ng-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"

test_prosody "$DOMAIN"
prosody_adduser "$PRO" alice "$DOMAIN" "$BACKEND_PASS"
start_prosody "$PRO" "$PPORT" "$DOMAIN"

write_helper "$XG_TMP/helper" "
pw=\$(cat)
[ \"\$AUTH_USER\" = alice ] && [ \"\$pw\" = '$CLIENT_PASS' ] || exit 1
echo 'password=$BACKEND_PASS'
exit 0"

new_gate mem --auth "$XG_TMP/helper" --backend "127.0.0.1:$PPORT" \
	--auth-delay 0 --timeout 30

# The client: STARTTLS, then PLAIN attempts in order, then it holds the
# session (or the connection) open until its stdin closes.
cat >"$XG_TMP/hold.py" <<'PYEOF'
import base64, sys
from xmpp_raw import header, starttls, until
port, ca = int(sys.argv[1]), sys.argv[2]
passwords = sys.argv[3:]
HDR = header()
t, _ = starttls(port, ca)
for pw in passwords:
    payload = base64.b64encode(b"\0alice\0" + pw.encode()).decode()
    t.sendall(("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>%s</auth>"
               % payload).encode())
    r = until(t, b"/>")
    print(("success" if b"<success" in r else "failure"), flush=True)
if passwords and b"<success" in r:
    t.sendall(HDR)     # the restart goes to Prosody through the relay
    until(t, b"</stream:features>")
    print("relaying", flush=True)
sys.stdin.read()       # hold until the test is done
PYEOF

# scan NEEDLE...: memscan each of the ${SCAN_PROCS:-1} xmppgate processes
# of the connection; fails on a hit.
scan() {
	local pids pid out rc
	pids=$(xmppgate_pids)
	[ "$(echo "$pids" | wc -w)" -eq "${SCAN_PROCS:-1}" ] ||
		fail "expected ${SCAN_PROCS:-1} xmppgate process(es), found: $pids"
	for pid in $pids; do
		rc=0
		out=$($XG_PY "$top_srcdir/tests/memscan.py" "$pid" "$@") || rc=$?
		echo "    pid $pid: $out" | tail -n 3
		[ "$rc" -ne 2 ] || fail "could not read xmppgate's memory"
		[ "$rc" -eq 0 ] || fail "secrets found in xmppgate's memory (needle numbers above)"
	done
}

b64() { printf '\0alice\0%s' "$1" | base64 -w0; }

# hold PASSWORD...: start the client ($HOLD_PY, default hold.py) in the
# background; waits until it printed one line per password (and one more,
# "relaying", after a success).
hold() {
	local want=$#
	rm -f "$XG_TMP/hold.out" "$XG_TMP/hold.in"
	mkfifo "$XG_TMP/hold.in"
	setsid $XG_PY "${HOLD_PY:-$XG_TMP/hold.py}" "$GPORT" "$XG_TMP/ca.pem" "$@" \
		<"$XG_TMP/hold.in" >"$XG_TMP/hold.out" 2>&1 &
	HOLD_PID=$!
	XG_SIDS="$XG_SIDS $HOLD_PID"
	exec 9>"$XG_TMP/hold.in"
	case $* in *"$CLIENT_PASS"*) want=$((want + 1)) ;; esac
	for i in $(seq 1 $((300 * XG_TIME_FACTOR))); do
		[ "$(wc -l <"$XG_TMP/hold.out")" -ge "$want" ] && return 0
		kill -0 "$HOLD_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$XG_TMP/hold.out" >&2
	fail "the client did not get through its steps"
}
release() {
	exec 9>&-
	wait "$HOLD_PID" 2>/dev/null || :
}

check "a control: the scan finds the client's password in the client"
setsid $XG_PY -c "import sys, time; s = sys.argv[1] + ''; time.sleep(30)" "$CLIENT_PASS" &
ctl=$!
XG_SIDS="$XG_SIDS $ctl"
sleep 0.5
rc=0
$XG_PY "$top_srcdir/tests/memscan.py" "$ctl" "$CLIENT_PASS" >/dev/null || rc=$?
kill "$ctl" 2>/dev/null || :
[ "$rc" -eq 1 ] || fail "memscan.py did not find a string that is there (exit $rc)"
pass "memscan.py finds what is there"

check "during the relay: no password, no PLAIN payload in xmppgate's memory"
hold "$WRONG_PASS" "$CLIENT_PASS"
sed 's/^/    client: /' "$XG_TMP/hold.out"
grep -qx relaying "$XG_TMP/hold.out" || fail "no session"
scan "$CLIENT_PASS" "$(b64 "$CLIENT_PASS")" "$BACKEND_PASS" "$(b64 "$BACKEND_PASS")" \
	"$WRONG_PASS" "$(b64 "$WRONG_PASS")"
release
pass "nothing found"

check "after a failed attempt, waiting for the next: nothing found either"
hold "$WRONG_PASS"
scan "$WRONG_PASS" "$(b64 "$WRONG_PASS")"
release
pass "nothing found"

check "--backend-tls: no password in the relay nor in the child that holds the backend's TLS"
wait_summaries 2 10 | sed 's/^/    /'
new_gate memtls --auth "$XG_TMP/helper" --backend "127.0.0.1:$PPORT" \
	--auth-delay 0 --timeout 30 --backend-tls starttls --backend-ca "$XG_TMP/ca.pem"
hold "$CLIENT_PASS"
grep -qx relaying "$XG_TMP/hold.out" || fail "no session"
SCAN_PROCS=2 scan "$CLIENT_PASS" "$(b64 "$CLIENT_PASS")" "$BACKEND_PASS" "$(b64 "$BACKEND_PASS")"
release
pass "nothing found in either process"

check "SCRAM: no password, no stored key (text, base64 or bytes) in xmppgate's memory during the relay"
wait_summaries 1 10 >/dev/null	# the --backend-tls session ended
# The helper serves alice's credentials, made from the client's password,
# and the backend password; the client logs in with SCRAM-SHA-256-PLUS.
printf '%s' "$CLIENT_PASS" | "$top_builddir/contrib/xmppgate-auth-scram" --hash -a SHA-256 \
	"alice@$DOMAIN" >"$XG_TMP/scram.db"
echo "alice@$DOMAIN password=$BACKEND_PASS" >>"$XG_TMP/scram.db"
write_helper "$XG_TMP/scram-helper" "exec '$top_builddir/contrib/xmppgate-auth-scram' '$XG_TMP/scram.db'"
cred=$(sed -n 's/^alice@[^ ]* //p' "$XG_TMP/scram.db" | head -n 1)
stored=${cred#*\$*\$}; stored=${stored%%:*}
server=${cred##*:}
hexof() { printf '%s' "$1" | base64 -d | od -An -tx1 | tr -d ' \n'; }
cat >"$XG_TMP/hold-scram.py" <<'PYEOF'
import argparse, sys
import scram_raw
a = argparse.Namespace(port=int(sys.argv[1]), ca=sys.argv[2],
                       domain="example.test", user="alice",
                       password=sys.argv[3], mech="SCRAM-SHA-256-PLUS",
                       cb="tls-server-end-point", flag=None, tls12=False,
                       tamper=False)
t, _ = scram_raw.connect(a)
outcome, _ = scram_raw.exchange(a, t)
print(outcome, flush=True)
if outcome == "ok":
    print("bound " + scram_raw.bind(a, t), flush=True)
sys.stdin.read()
PYEOF
new_gate memscram --auth "$XG_TMP/scram-helper" --auth-scram \
	--backend "127.0.0.1:$PPORT" --auth-delay 0 --timeout 30
HOLD_PY=$XG_TMP/hold-scram.py hold "$CLIENT_PASS"	# "ok", then "bound JID"
sed 's/^/    client: /' "$XG_TMP/hold.out"
grep -q '^bound alice@' "$XG_TMP/hold.out" || fail "no SCRAM session"
# A control for the byte needles: found in a process that holds them.
setsid $XG_PY -c "import sys, time; k = bytes.fromhex(sys.argv[1]); time.sleep(30)" "$(hexof "$server")" &
ctl=$!
XG_SIDS="$XG_SIDS $ctl"
sleep 0.5
rc=0
$XG_PY "$top_srcdir/tests/memscan.py" "$ctl" "hex:$(hexof "$server")" >/dev/null || rc=$?
kill "$ctl" 2>/dev/null || :
[ "$rc" -eq 1 ] || fail "memscan.py did not find bytes that are there (exit $rc)"
echo "    needles: the password, the backend password, the scram= value, StoredKey and ServerKey in base64 and as bytes"
scan "$CLIENT_PASS" "$BACKEND_PASS" "$(b64 "$BACKEND_PASS")" "$cred" "$stored" "$server" \
	"hex:$(hexof "$stored")" "hex:$(hexof "$server")"
release
pass "nothing found"

wait_summaries 1 10 | sed 's/^/    /'
assert_no_leftovers
