#!/bin/bash
# Exec mode: after the login xmppgate runs PROG (tests/exec_backend.py) with
# the plaintext stream on fds 0/1 and stays as the TLS relay.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

DOMAIN=example.test
require_xmppgate
make_certs "$XG_TMP" "$DOMAIN"
write_helper "$XG_TMP/helper-check" '
pw=$(cat)
[ "$AUTH_USER" = alice ] && [ "$AUTH_DOMAIN" = example.test ] && [ "$pw" = "s3cret exec" ] && exit 0
exit 1'
ENVLOG=$XG_TMP/exec-env.log

GPORT=$(free_port)
start_gate "$GPORT" --cert "$XG_TMP/cert.pem" --key "$XG_TMP/key.pem" \
	--domain "$DOMAIN" --auth "$XG_TMP/helper-check" --auth-delay 0 \
	--timeout 15 -- "$XG_PY" "$top_srcdir/tests/exec_backend.py" "$ENVLOG"

check "login, bind and a message echoed by the exec-mode program"
out=$($XG_CLIENT --jid "alice@$DOMAIN" --password 's3cret exec' \
	--port "$GPORT" --ca "$XG_TMP/ca.pem" --to "alice@$DOMAIN" \
	--message "echo through exec mode" --timeout 15) || {
	show_log "$ENVLOG"
	fail "client: $out"
}
echo "    $out"
case $out in
*"jid=alice@$DOMAIN/"*) ;;
*) fail "bound JID should be alice@$DOMAIN/...: $out" ;;
esac
pass "exec mode session works"

check "the program got the session environment"
for i in $(seq 1 50); do
	grep -q '^CLOSE\|^EOF' "$ENVLOG" 2>/dev/null && break
	sleep 0.1
done
sed 's/^/    /' "$ENVLOG"
envval() { sed -n "s/^$1=//p" "$ENVLOG" | head -n 1; }
[ "$(envval XMPP_USER)" = alice ] || fail "XMPP_USER=$(envval XMPP_USER), expected alice"
[ "$(envval XMPP_DOMAIN)" = "$DOMAIN" ] || fail "XMPP_DOMAIN=$(envval XMPP_DOMAIN), expected $DOMAIN"
[ "$(envval XMPP_JID)" = "alice@$DOMAIN" ] || fail "XMPP_JID=$(envval XMPP_JID), expected alice@$DOMAIN"
case $(envval SSL_PROTOCOL) in
TLS1.[23]) ;;
*) fail "SSL_PROTOCOL=$(envval SSL_PROTOCOL), expected TLS1.2 or TLS1.3" ;;
esac
[ "$(envval SSL_CIPHER)" != "<unset>" ] || fail "SSL_CIPHER not set"
[ "$(envval TCPREMOTEIP)" = 127.0.0.1 ] || fail "TCPREMOTEIP=$(envval TCPREMOTEIP), expected 127.0.0.1"
[ "$(envval TCPLOCALPORT)" = "$GPORT" ] || fail "TCPLOCALPORT=$(envval TCPLOCALPORT), expected $GPORT"
[ "$(envval PROTO)" = TCP ] || fail "PROTO=$(envval PROTO), expected TCP"
[ "$(envval LISTEN_FDS)" = "<unset>" ] || fail "LISTEN_FDS leaked to the program"
grep -q "^HEADER .* to=$DOMAIN" "$ENVLOG" || fail "the program did not get the stream restart"
grep -q "^MESSAGE .*body=echo through exec mode" "$ENVLOG" || fail "the program did not get the message"
pass "environment ok"

check "summary line outcome=ok"
line=$(wait_summaries 1 10 | tail -n 1)
echo "    $line"
expect_summary "$line" outcome=ok user=alice "domain=$DOMAIN" rx='>0' tx='>0'
pass "summary ok"

check "a wrong password does not start the program"
rm -f "$ENVLOG"
out=$($XG_CLIENT --jid "alice@$DOMAIN" --password nope --port "$GPORT" \
	--ca "$XG_TMP/ca.pem" --expect auth-failure --condition not-authorized \
	--timeout 10) || fail "client: $out"
echo "    $out"
[ ! -e "$ENVLOG" ] || fail "the program ran for a refused login"
pass "not started"

check "--idle-timeout 2: a silent session ends with close_notify and the reason"
GPORT2=$(free_port)
XG_GATE_LOG=$XG_TMP/gate-idle.log
start_gate "$GPORT2" --cert "$XG_TMP/cert.pem" --key "$XG_TMP/key.pem" \
	--domain "$DOMAIN" --auth "$XG_TMP/helper-check" --auth-delay 0 \
	--timeout 15 --idle-timeout 2 -- "$XG_PY" "$top_srcdir/tests/exec_backend.py"
cat >"$XG_TMP/idle.py" <<'EOF'
import base64, ssl, sys, time
from xmpp_raw import starttls, until
port, ca = int(sys.argv[1]), sys.argv[2]
t, _ = starttls(port, ca)
t.sendall(b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>"
          + base64.b64encode(b"\0alice\0s3cret exec") + b"</auth>")
until(t, b"<success")
t0 = time.monotonic()
try:
    while t.recv(4096):     # b"" only on a TLS close_notify
        pass
except ssl.SSLEOFError as e:
    sys.exit("the session was cut without close_notify: %s" % e)
print("OK close_notify after %.1f s idle" % (time.monotonic() - t0))
EOF
out=$($XG_PY "$XG_TMP/idle.py" "$GPORT2" "$XG_TMP/ca.pem" 2>&1) || fail "idle client: $out"
echo "    $out"
line=$(wait_summaries 1 10 | tail -n 1)
echo "    $line"
expect_summary "$line" outcome=ok user=alice
case $line in
*'reason="idle timeout (2 s)"'*) ;;
*) fail "the reason should be the idle timeout: $line" ;;
esac
pass "idle timeout"

check "no xmppgate, helper or program left running"
assert_no_leftovers 5
if pgrep -f -- "^$XG_PY $top_srcdir/tests/exec_backend.py $ENVLOG" >/dev/null; then
	fail "exec_backend.py still running"
fi
pass "no leftovers"
