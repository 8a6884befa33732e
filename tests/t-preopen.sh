#!/bin/bash
# The backend pre-open (connect mode): xmppgate opens the backend and sends
# its stream header while the client is still in TLS and SASL, and logs in
# on that connection once the helper accepted.  A recording relay in front
# of a real Prosody (tests/preopen_proxy.py) shows what each backend
# connection carried: a failed login, a helper's backend= and a stalled
# client leave it closed without credentials; a connection the backend cut
# is replaced by a fresh one; a backend that is down looks as before.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

DOMAIN=example.test
PASSWD_HELPER=$top_builddir/contrib/xmppgate-auth-passwd
require_xmppgate
[ -x "$PASSWD_HELPER" ] || fail "contrib helper not built: $PASSWD_HELPER"

test_prosody "$DOMAIN"
prosody_adduser "$PRO" alice "$DOMAIN" 'alice pass 1'
start_prosody "$PRO" "$PPORT" "$DOMAIN"
h=$(printf '%s' 'alice pass 1' | "$PASSWD_HELPER" --hash) || fail "--hash"
printf 'alice@%s:%s\n' "$DOMAIN" "$h" >"$XG_TMP/passwd"
write_helper "$XG_TMP/helper-passwd" "exec '$PASSWD_HELPER' '$XG_TMP/passwd'"
# Accepts alice, and sends her straight to Prosody, past the relay.
write_helper "$XG_TMP/helper-elsewhere" "
pw=\$(cat)
[ \"\$AUTH_USER\" = alice ] && [ \"\$pw\" = 'alice pass 1' ] || exit 1
printf 'backend=127.0.0.1:$PPORT\n'"

# proxy [kill-first]: a fresh recording relay to Prosody on $RPORT, its
# events in $EV.
proxy() {
	RPORT=$(free_port)
	EV=$XG_TMP/events.$RPORT
	: >"$EV"
	bg "$XG_TMP/proxy.log" "$XG_PY" "$top_srcdir/tests/preopen_proxy.py" \
		"$RPORT" "$PPORT" "$EV" "$@"
	wait_port "$RPORT" 10 "$BG_PID" || fail "the relay did not listen"
}
# gate NAME HELPER [OPTIONS]: xmppgate with -v on $GPORT, to the relay.
gate() {
	local name=$1 helper=$2
	shift 2
	GPORT=$(free_port)
	XG_GATE_LOG=$XG_TMP/gate-$name.log
	start_gate "$GPORT" --cert "$XG_TMP/chain.pem" --key "$XG_TMP/key.pem" \
		--domain "$DOMAIN" --auth "$XG_TMP/$helper" -v \
		--backend "127.0.0.1:$RPORT" --auth-delay 0 "$@"
}
login() {
	$XG_CLIENT --jid "alice@$DOMAIN" --port "$GPORT" --ca "$XG_TMP/ca.pem" \
		--timeout 20 "$@"
}
# closed N: wait (up to 10 s) for the relay's close line of connection N.
closed() {
	local i
	for i in $(seq 1 50); do
		grep "^close $1 " "$EV" && return 0
		sleep 0.2
	done
	cat "$EV" >&2
	fail "backend connection $1 still open"
}

proxy
gate ok helper-passwd
check "a login goes through the pre-opened connection"
out=$(login --password 'alice pass 1') || fail "client: $out"
echo "    $out"
line=$(wait_summaries 1 10 | tail -n 1)
expect_summary "$line" outcome=ok user=alice "backend=127.0.0.1:$RPORT"
grep -q 'backend pre-open: stream header sent for example.test' "$XG_GATE_LOG" &&
	grep -q 'backend pre-open: used for the login' "$XG_GATE_LOG" ||
	{ show_log "$XG_GATE_LOG"; fail "the pre-open was not used"; }
c=$(closed 1)
echo "    $c"
case $c in *"header=yes auth=yes"*) ;; *) fail "connection 1: $c" ;; esac
[ "$(grep -c '^open' "$EV")" -eq 1 ] || fail "more than one backend connection: $(cat "$EV")"
pass "one backend connection, used for the login"

check "a wrong password: the pre-opened connection closes without credentials"
n=$(summaries | wc -l)
out=$(login --password 'not it' --expect auth-failure \
	--condition not-authorized) || fail "client: $out"
wait_summaries $((n + 1)) >/dev/null
c=$(closed 2)
echo "    $c"
case $c in *"header=yes auth=no"*) ;; *) fail "connection 2: $c" ;; esac
grep -q 'backend pre-open: dropped unused (the attempt failed)' "$XG_GATE_LOG" ||
	fail "no 'dropped unused' line"
[ "$(grep -c '^open' "$EV")" -eq 2 ] || fail "backend connections: $(cat "$EV")"
pass "opened, header only, closed"

gate elsewhere helper-elsewhere
check "the helper's backend= is used; the pre-opened connection is dropped"
out=$(login --password 'alice pass 1') || fail "client: $out"
line=$(wait_summaries 1 10 | tail -n 1)
echo "    $line"
expect_summary "$line" outcome=ok user=alice "backend=127.0.0.1:$PPORT"
c=$(closed 3)
echo "    $c"
case $c in *"auth=no"*) ;; *) fail "connection 3: $c" ;; esac
grep -q 'dropped unused (the helper named another backend)' "$XG_GATE_LOG" ||
	fail "no 'dropped unused' line"
pass "logged in at backend=, the relay's connection closed unused"

gate stall helper-passwd --timeout 3
check "a client that stalls: the pre-opened connection ends with the login's deadline"
n=$(wc -l <"$EV")
r=$($XG_PY - "$GPORT" "$XG_TMP/ca.pem" <<'EOF'
import sys, time
from xmpp_raw import starttls, until
t, _ = starttls(int(sys.argv[1]), sys.argv[2])
print(until(t, b"</stream:stream>", timeout=10, eof_ok=True).decode())
EOF
) || fail "raw client: $r"
case $r in *"<connection-timeout"*) ;; *) fail "stalled client: $r" ;; esac
c=$(closed 4)
echo "    $c"
case $c in *"header=yes auth=no"*) ;; *) fail "connection 4: $c" ;; esac
secs=${c##*secs=}
awk -v s="$secs" 'BEGIN { exit !(s >= 2 && s < 5) }' ||
	fail "connection 4 lived $secs s, not until the 3 s deadline"
pass "open while the client was there, closed with the session (${secs} s)"

check "--no-backend-preopen: the backend is connected only after the helper"
gate off helper-passwd --no-backend-preopen
out=$(login --password 'not it' --expect auth-failure \
	--condition not-authorized) || fail "client: $out"
out=$(login --password 'alice pass 1') || fail "client: $out"
wait_summaries 2 10 >/dev/null
c=$(closed 5)
echo "    $c"
case $c in *"auth=yes"*) ;; *) fail "connection 5: $c" ;; esac
[ "$(grep -c '^open' "$EV")" -eq 5 ] || fail "backend connections: $(cat "$EV")"
! grep -q 'pre-open' "$XG_GATE_LOG" || fail "pre-open lines with --no-backend-preopen"
pass "one connection, for the accepted login only"

proxy kill-first
gate cut helper-passwd
check "the backend cut the pre-opened connection: a fresh one logs in"
out=$(login --password 'alice pass 1') || fail "client: $out"
line=$(wait_summaries 1 10 | tail -n 1)
expect_summary "$line" outcome=ok user=alice
c=$(closed 1)
case $c in *"auth=no"*) ;; *) fail "connection 1: $c" ;; esac
c=$(closed 2)
echo "    $c"
case $c in *"auth=yes"*) ;; *) fail "connection 2: $c" ;; esac
grep -q 'connecting afresh' "$XG_GATE_LOG" || fail "no 'connecting afresh' line"
pass "the client saw nothing of it"

proxy error-first
gate errfirst helper-passwd
check "the backend ended the idle pre-opened stream but kept the socket: a fresh one logs in"
out=$(login --password 'alice pass 1') || fail "client: $out"
line=$(wait_summaries 1 10 | tail -n 1)
expect_summary "$line" outcome=ok user=alice
c=$(closed 1)
echo "    $c"
case $c in *"auth=no"*) ;; *) fail "connection 1 got the credentials after its stream was ended: $c" ;; esac
c=$(closed 2)
echo "    $c"
case $c in *"auth=yes"*) ;; *) fail "connection 2: $c" ;; esac
grep -q 'ended the stream before the login' "$XG_GATE_LOG" || { show_log "$XG_GATE_LOG"; fail "no line for the ended stream"; }
pass "no credentials on the ended stream; the client saw nothing of it"

proxy
check "no pre-open for a backend given by host name, nor for a plaintext client on a --direct-tls-only port"
gate hostname helper-passwd --backend "localhost:$RPORT"
out=$(login --password 'alice pass 1') || fail "client: $out"
wait_summaries 1 10 >/dev/null
grep -q "backend pre-open: localhost is a host name, looked up only after the login" "$XG_GATE_LOG" ||
	{ show_log "$XG_GATE_LOG"; fail "a host name was looked up before the login"; }
c=$(closed 1)
case $c in *"auth=yes"*) ;; *) fail "connection 1: $c" ;; esac
gate directonly helper-passwd --direct-tls-only
out=$($XG_PY - "$GPORT" <<'PYEOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"<?xml version='1.0'?><stream:stream to='example.test' "
          b"xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
          b"version='1.0'>")
data = b""
while b"</stream:stream>" not in data:
    d = s.recv(4096)
    if not d:
        break
    data += d
print("policy-violation" if b"policy-violation" in data else data[:200])
PYEOF
)
[ "$out" = policy-violation ] || fail "plaintext on a --direct-tls-only port: $out"
wait_summaries 1 10 >/dev/null
sleep 0.5
n=$(grep -c '^open ' "$EV" || :)
[ "$n" -eq 1 ] || { cat "$EV" >&2; fail "$n backend connections, expected the host name login's 1 only"; }
pass "looked up after the login; no backend connection for the refused plaintext client"

check "a backend that is down: after the login, as before (remote-connection-failed)"
DEAD=$(free_port)
for opt in "" --no-backend-preopen; do
	GPORT=$(free_port)
	XG_GATE_LOG=$XG_TMP/gate-down$opt.log
	start_gate "$GPORT" --cert "$XG_TMP/chain.pem" --key "$XG_TMP/key.pem" \
		--domain "$DOMAIN" --auth "$XG_TMP/helper-passwd" -v $opt \
		--backend "127.0.0.1:$DEAD" --auth-delay 0 --backend-timeout 3
	out=$(login --password 'not it' --expect auth-failure \
		--condition not-authorized) ||
		fail "$opt: the backend showed before the login: $out"
	out=$(login --password 'alice pass 1' --expect error \
		--condition remote-connection-failed) || fail "$opt: $out"
	line=$(wait_summaries 2 10 | tail -n 1)
	echo "    ${opt:-pre-open}: $line"
	expect_summary "$line" outcome=tempfail user=alice
	case $line in *"reason=\"remote-connection-failed: connect to 127.0.0.1:$DEAD: Connection refused\""*) ;;
	*) fail "$opt: $line" ;; esac
done
pass "the same answer and reason either way"

check "no xmppgate or helper left running"
assert_no_leftovers 5
pass "no leftovers"
