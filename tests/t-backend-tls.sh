#!/bin/bash
# TLS towards the backend (--backend-tls starttls|direct, --backend-ca):
# a real Prosody that requires encryption (c2s_require_encryption) and
# also listens for Direct TLS (c2s_direct_tls_ports).  Logins through
# xmppgate work both ways; an untrusted backend certificate, or one that
# does not name the domain, stops the login with <remote-connection-failed/>.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

DOMAIN=example.test
require_xmppgate

test_prosody "$DOMAIN"
make_certs "$XG_TMP/other" other.test
make_certs "$XG_TMP/stranger" "$DOMAIN"	# same name, another CA
DPORT=$(free_port)
sed -i -e 's/^c2s_require_encryption = false/c2s_require_encryption = true/' \
	-e "s/^c2s_ports = .*/&\nc2s_direct_tls_ports = { $DPORT }/" \
	-e 's/^allow_unencrypted_plain_auth = true/allow_unencrypted_plain_auth = false/' \
	"$PRO/prosody.cfg.lua"
# Both names' virtual hosts, so that only the certificate check can refuse.
printf 'VirtualHost "other.test"\n' >>"$PRO/prosody.cfg.lua"
prosody_adduser "$PRO" alice "$DOMAIN" 'alice-pass'
prosody_adduser "$PRO" bob "$DOMAIN" 'bob-pass'
prosody_adduser "$PRO" carol other.test 'carol-pass'
start_prosody "$PRO" "$PPORT" "$DOMAIN"
wait_port "$DPORT" 10 "$PROSODY_PID" || fail "prosody does not listen for Direct TLS on $DPORT"

write_helper "$XG_TMP/helper" 'pw=$(cat)
case $AUTH_USER:$pw in
alice:alice-pass | bob:bob-pass | carol:carol-pass) exit 0 ;;
esac
exit 1'

gate() {
	local name=$1 port=$2
	shift 2
	new_gate "$name" --domain other.test --auth "$XG_TMP/helper" \
		--backend "127.0.0.1:$port" --auth-delay 0 "$@"
}

check "without --backend-tls this Prosody refuses the login (it requires encryption)"
gate plain "$PPORT"
out=$($XG_CLIENT --jid "bob@$DOMAIN" --password bob-pass --port "$GPORT" \
	--ca "$XG_TMP/ca.pem" --expect error --timeout 20) || fail "client: $out"
echo "    $out"
pass "the backend really wants TLS"

for mode in starttls direct; do
	port=$PPORT
	[ $mode = direct ] && port=$DPORT
	check "--backend-tls $mode --backend-ca: alice and bob log in and exchange a message"
	gate "$mode" "$port" --backend-tls "$mode" --backend-ca "$XG_TMP/ca.pem"
	out=$($XG_CLIENT --jid "alice@$DOMAIN" --password alice-pass --jid2 "bob@$DOMAIN" \
		--password2 bob-pass --port "$GPORT" --ca "$XG_TMP/ca.pem" --timeout 20) ||
		fail "client: $out"
	echo "    $out"
	case $out in
	*"jid=alice@$DOMAIN/"*"message=ok"*) ;;
	*) fail "expected both logins and a message: $out" ;;
	esac
	lines=$(wait_summaries 2)
	for u in alice bob; do
		expect_summary "$(printf '%s\n' "$lines" | grep " user=$u ")" outcome=ok "user=$u" \
			"backend=127.0.0.1:$port" rx='>0' tx='>0'
	done
	pass "logged in over TLS to the backend ($mode)"
done

check "a backend certificate from an untrusted CA: <remote-connection-failed/>, exit 111"
gate untrusted "$PPORT" --backend-tls starttls --backend-ca "$XG_TMP/stranger/ca.pem"
out=$($XG_CLIENT --jid "bob@$DOMAIN" --password bob-pass --port "$GPORT" \
	--ca "$XG_TMP/ca.pem" --expect error --condition remote-connection-failed --timeout 20) ||
	fail "client: $out"
echo "    $out"
wait_log 'reason="remote-connection-failed: backend certificate not accepted for example.test: The certificate is NOT trusted.*issuer is unknown\."' ||
	{ show_log "$XG_GATE_LOG"; fail "no summary naming the untrusted certificate"; }
wait_exit 111 || fail "the exit status was not 111"
pass "refused"

check "a trusted backend certificate that does not name the domain: refused"
# carol@other.test: Prosody serves other.test, but its certificate names
# only example.test.
cat "$XG_TMP/other/cert.pem" "$XG_TMP/other/ca.pem" >"$XG_TMP/other/chain.pem"
XG_GATE_LOG=$XG_TMP/gate-name.log
GPORT=$(free_port)
start_gate "$GPORT" --cert "$XG_TMP/other/chain.pem" --key "$XG_TMP/other/key.pem" \
	--domain other.test --auth "$XG_TMP/helper" --backend "127.0.0.1:$DPORT" \
	--auth-delay 0 --backend-tls direct --backend-ca "$XG_TMP/ca.pem"
out=$($XG_CLIENT --jid "carol@other.test" --password carol-pass --port "$GPORT" \
	--ca "$XG_TMP/other/ca.pem" --expect error --condition remote-connection-failed \
	--timeout 20) || fail "client: $out"
echo "    $out"
wait_log 'reason="remote-connection-failed: backend certificate not accepted for other.test: .*does not match the expected\."' ||
	{ show_log "$XG_GATE_LOG"; fail "no summary naming the name mismatch"; }
pass "refused"

check "a Direct TLS backend that closes before its certificate: the reason does not blame a certificate"
CPORT=$(free_port)
bg "$XG_TMP/closer.log" "$XG_PY" -c '
import signal, socket, sys
signal.alarm(60)
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", int(sys.argv[1])))
l.listen(4)
while True:
    c, _ = l.accept()
    c.recv(4096)
    c.close()
' "$CPORT"
wait_port "$CPORT" 10 "$BG_PID" || fail "the closing backend did not listen"
gate closer "$CPORT" --backend-tls direct --backend-ca "$XG_TMP/ca.pem"
out=$($XG_CLIENT --jid "bob@$DOMAIN" --password bob-pass --port "$GPORT" \
	--ca "$XG_TMP/ca.pem" --expect error --condition remote-connection-failed --timeout 20) ||
	fail "client: $out"
line=$(wait_summaries 1 | tail -n 1)
echo "    $line"
expect_summary "$line" outcome=tempfail
case $line in
*"certificate not accepted"*) fail "a certificate is blamed, none came: $line" ;;
esac
pass "the handshake's own error"

check "no password in the logs, nothing left running"
if grep -q 'alice-pass\|bob-pass\|carol-pass' "$XG_TMP"/gate*.log; then
	fail "a password appears in a log"
fi
assert_no_leftovers
pass "clean"
log "all checks passed"
