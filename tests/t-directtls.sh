#!/bin/bash
# Direct TLS (XEP-0368) on the same port as STARTTLS, ALPN and SNI; TLS
# session resumption across connection processes (--ticket-key); client
# certificates and SASL EXTERNAL (XEP-0178).  Real peers: Prosody as the
# backend, slixmpp as the client (Direct TLS with ALPN xmpp-client, and a
# client certificate), gnutls-cli -r and openssl s_client.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

DOMAIN=example.test
require_xmppgate
for t in openssl gnutls-cli certtool; do
	command -v $t >/dev/null || fail "$t not installed (scripts/deps.sh)"
done

test_prosody "$DOMAIN"
prosody_adduser "$PRO" alice "$DOMAIN" 'alice-pass'
prosody_adduser "$PRO" bob "$DOMAIN" 'bob-pass'
start_prosody "$PRO" "$PPORT" "$DOMAIN"

# PLAIN: alice and bob with their own passwords.  EXTERNAL: a verified
# certificate whose XmppAddr is alice@ maps to alice, whose backend
# password the helper knows; the environment is kept for the checks.
write_helper "$XG_TMP/helper" "
env >'$XG_TMP/helper-env.'\$AUTH_MECHANISM
pw=\$(cat)
case \$AUTH_MECHANISM:\$AUTH_USER:\$pw in
PLAIN:alice:alice-pass | PLAIN:bob:bob-pass) exit 0 ;;
EXTERNAL:*)
	for a in \$AUTH_CERT_XMPPADDRS; do
		if [ \"\$a\" = alice@$DOMAIN ]; then
			# With this file: an identity that is not prepared.
			if [ -e '$XG_TMP/identity-upper' ]; then
				printf 'identity=ALICE\npassword=alice-pass\n'
			else
				printf 'identity=alice\npassword=alice-pass\n'
			fi
			exit 0
		fi
	done ;;
esac
exit 1"

client() { $XG_CLIENT --ca "$XG_TMP/ca.pem" --port "$GPORT" --timeout 20 "$@"; }

gate() {
	local name=$1
	shift
	new_gate "$name" --auth "$XG_TMP/helper" --backend "127.0.0.1:$PPORT" \
		--auth-delay 0 -v "$@"
}

check "Direct TLS with ALPN xmpp-client and STARTTLS on the same port: both log in and talk"
gate both
out=$(client --jid "alice@$DOMAIN" --password alice-pass --direct-tls --alpn xmpp-client \
	--jid2 "bob@$DOMAIN" --password2 bob-pass) || fail "client: $out"
echo "    $out"
case $out in
*"jid=alice@$DOMAIN/"*"message=ok"*"alpn=xmpp-client"*) ;;
*) fail "expected a Direct TLS login with ALPN xmpp-client: $out" ;;
esac
lines=$(wait_summaries 2)
grep -q 'ALPN xmpp-client' "$XG_GATE_LOG" || fail "xmppgate did not log the ALPN protocol"
grep -q 'Direct TLS up' "$XG_GATE_LOG" || fail "no Direct TLS session in the log"
grep -q 'client: starttls' "$XG_GATE_LOG" || fail "no STARTTLS session in the log"
for u in alice bob; do
	expect_summary "$(printf '%s\n' "$lines" | grep " user=$u ")" outcome=ok "user=$u"
done
pass "alice over Direct TLS, bob over STARTTLS, one port"

check "a Direct TLS client that offers only another ALPN protocol is refused"
out=$(timeout 20 openssl s_client -connect "127.0.0.1:$GPORT" -servername "$DOMAIN" -alpn h2 \
	</dev/null 2>&1) || :
printf '%s\n' "$out" | grep -q 'no application protocol' ||
	{ printf '%s\n' "$out" | tail -n 5; fail "ALPN h2 was not refused"; }
wait_log 'reason="TLS handshake failed: No common application protocol' ||
	fail "no summary for the ALPN refusal"
pass "no_application_protocol alert"

check "SNI picks the domain: an unknown name is refused, a stream 'to' that disagrees gets <host-unknown/>"
out=$(timeout 20 openssl s_client -connect "127.0.0.1:$GPORT" -servername other.test </dev/null 2>&1) || :
printf '%s\n' "$out" | grep -qi 'unrecognized name' ||
	{ printf '%s\n' "$out" | tail -n 5; fail "unknown SNI was not refused"; }
wait_log 'reason="unknown domain (SNI other.test)"' || fail "no summary for the unknown SNI"
new_gate sni --auth "$XG_TMP/helper" --backend "127.0.0.1:$PPORT" --domain other.test
r=$($XG_PY - "$GPORT" "$XG_TMP/ca.pem" <<'EOF'
import re, socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
ctx.set_alpn_protocols(["xmpp-client"])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10),
                    server_hostname="example.test")
s.sendall(b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
          b"xmlns:stream='http://etherx.jabber.org/streams' to='other.test' version='1.0'>")
got = b""
while b"</stream:stream>" not in got:
    d = s.recv(4096)
    if not d:
        break
    got += d
m = re.search(rb"<stream:error><([a-z-]+)", got)
print(m.group(1).decode() if m else "no error: %r" % got)
EOF
)
[ "$r" = host-unknown ] || fail "SNI example.test, to='other.test': expected host-unknown, got $r"
wait_log "reason=\"host-unknown: stream 'to' is not the SNI name\"" || fail "no summary for the mismatch"
pass "the SNI name is the domain"

check "--direct-tls-only logs in over Direct TLS; a STARTTLS client is refused"
gate direct --direct-tls-only
rm -f "$XG_TMP"/helper-env.*
out=$(client --jid "bob@$DOMAIN" --password bob-pass --direct-tls) || fail "client: $out"
echo "    $out"
grep -qx "SSL_TLS_SNI=$DOMAIN" "$XG_TMP/helper-env.PLAIN" ||
	fail "the helper of a Direct TLS login did not see SSL_TLS_SNI=$DOMAIN"
out=$(client --jid "bob@$DOMAIN" --password bob-pass --expect error) || fail "client: $out"
echo "    $out"
wait_log 'reason="policy-violation: plaintext on a --direct-tls-only port"' ||
	fail "no summary for the refused STARTTLS client"
pass "Direct TLS only"

# resumed ARGS: gnutls-cli -r (a second connection resumes the first
# session); true when gnutls-cli says it resumed.
resumed() {
	RES_OUT=$(timeout 30 gnutls-cli -r --sni-hostname "$DOMAIN" --alpn xmpp-client \
		--x509cafile "$XG_TMP/ca.pem" --verify-hostname "$DOMAIN" -p "$GPORT" "$@" \
		127.0.0.1 </dev/null 2>&1) || :
	printf '%s\n' "$RES_OUT" | grep -q '^- Resume Handshake was completed' ||
		{ printf '%s\n' "$RES_OUT" | tail -n 5 | sed 's/^/    /'; fail "gnutls-cli -r: no second handshake"; }
	printf '%s\n' "$RES_OUT" | grep -q '^\*\*\* This is a resumed session'
}

check "--ticket-key: a second connection (another process) resumes, with TLS 1.3 and 1.2"
"$xg_bin" --new-ticket-key "$XG_TMP/ticket.key" || fail "--new-ticket-key failed"
[ "$(stat -c %a "$XG_TMP/ticket.key")" = 600 ] || fail "ticket key file is not mode 600"
gate tickets --ticket-key "$XG_TMP/ticket.key"
resumed || fail "TLS 1.3: the second connection did not resume"
echo "    TLS 1.3: resumed"
resumed --priority 'NORMAL:-VERS-ALL:+VERS-TLS1.2' || fail "TLS 1.2: the second connection did not resume"
echo "    TLS 1.2: resumed"
n=$(grep -c 'Direct TLS up: .* (resumed)' "$XG_GATE_LOG" || :)
[ "$n" -eq 2 ] || fail "xmppgate logged $n resumed sessions, expected 2"
for _ in $(seq 1 50); do	# a pool's line follows the summary
	[ "$(conn_pids | wc -l)" -ge 4 ] && break
	sleep 0.1
done
pids=$(conn_pids | wc -l)
[ "$pids" -eq 4 ] || fail "expected 4 connection processes, saw $pids"
out=$(client --jid "bob@$DOMAIN" --password bob-pass --direct-tls) || fail "client: $out"
pass "resumed across processes ($pids processes, 2 resumed)"

check "a rotated key: the old session is not resumed, the next one is"
printf '%s\n' "$RES_OUT" >/dev/null
"$xg_bin" --new-ticket-key "$XG_TMP/ticket.key" || fail "--new-ticket-key failed"
resumed || fail "after rotation, a fresh session pair should resume again"
pass "rotation takes effect with the next connection"

check "without --ticket-key nothing resumes (each process has its own key)"
gate notickets
if resumed; then
	fail "a session resumed without a shared ticket key"
fi
echo "    not resumed"
pass "resumption comes from the shared key"

check "a bad --ticket-key is <internal-server-error/>, exit 111"
printf 'short\n' >"$XG_TMP/bad.key"
gate badkey --ticket-key "$XG_TMP/bad.key"
out=$(client --jid "bob@$DOMAIN" --password bob-pass --expect error) || fail "client: $out"
wait_log 'reason="internal-server-error: --ticket-key .*: not a key made by xmppgate --new-ticket-key"' ||
	{ show_log "$XG_GATE_LOG"; fail "no summary for the bad key"; }
wait_exit 111 || fail "the exit status was not 111"
pass "refused with a reason"

check "--client-ca: a verified client certificate logs in with SASL EXTERNAL (XEP-0178)"
make_leaf "$XG_TMP" "$XG_TMP/alice" "Alice" "xmpp_name = \"alice@$DOMAIN\"" \
	"email = \"alice@mail.example\"" tls_www_client
make_certs "$XG_TMP/other" other.test
make_leaf "$XG_TMP/other" "$XG_TMP/mallory" "Alice" "xmpp_name = \"alice@$DOMAIN\"" tls_www_client
gate ccert --client-ca "$XG_TMP/ca.pem"
rm -f "$XG_TMP"/helper-env.*
out=$(client --jid "alice@$DOMAIN" --password '' --certfile "$XG_TMP/alice/cert.pem" \
	--keyfile "$XG_TMP/alice/privkey.pem" --mechanism EXTERNAL --to "alice@$DOMAIN") ||
	fail "client: $out"
echo "    $out"
case $out in
*"jid=alice@$DOMAIN/"*"message=ok"*) ;;
*) fail "expected an EXTERNAL login as alice: $out" ;;
esac
env=$XG_TMP/helper-env.EXTERNAL
[ -e "$env" ] || fail "the helper was not run for EXTERNAL"
fp=$(openssl x509 -in "$XG_TMP/alice/cert.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' |
	tr 'A-F' 'a-f')
grep -qx "AUTH_CERT_SHA256=$fp" "$env" || fail "AUTH_CERT_SHA256 is not the certificate's: $(grep CERT "$env")"
grep -qx "AUTH_CERT_XMPPADDRS=alice@$DOMAIN" "$env" || fail "AUTH_CERT_XMPPADDRS: $(grep CERT "$env")"
grep -qx "AUTH_CERT_SUBJECT=CN=Alice" "$env" || fail "AUTH_CERT_SUBJECT: $(grep CERT "$env")"
grep -qx "AUTH_USER=alice" "$env" || fail "AUTH_USER should come from the XmppAddr: $(grep AUTH_USER "$env")"
grep -qx "AUTH_MECHANISM=EXTERNAL" "$env" || fail "AUTH_MECHANISM"
grep -q "^SSL_TLS_SNI=" "$env" && fail "SSL_TLS_SNI set after STARTTLS"
sed -n 's/^\(AUTH_CERT_[A-Z0-9]*\)=.*/    helper saw \1/p' "$env"
line=$(wait_summaries 1 | tail -n 1)
expect_summary "$line" outcome=ok user=alice "domain=$DOMAIN"
grep -q 'sent: features mechanisms EXTERNAL PLAIN' "$XG_GATE_LOG" || fail "EXTERNAL was not offered first"
pass "EXTERNAL as alice, identities given to the helper"

check "alice's certificate cannot log in as bob: <invalid-authzid/> (the helper named alice)"
r=$($XG_PY - "$GPORT" "$XG_TMP/ca.pem" "$XG_TMP/alice/cert.pem" "$XG_TMP/alice/privkey.pem" <<'EOF'
import base64, re, socket, ssl, sys
from xmpp_raw import header, until
port, ca, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
HDR = header()
ctx = ssl.create_default_context(cafile=ca)
ctx.load_cert_chain(cert, key)
t = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=20),
                    server_hostname="example.test")
t.sendall(HDR)
f = until(t, b"</stream:features>")
if b"<mechanism>EXTERNAL</mechanism>" not in f:
    sys.exit("EXTERNAL not offered: %r" % f)
t.sendall(b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>" +
          base64.b64encode(b"bob@example.test") + b"</auth>")
r = until(t, b"</failure>")
m = re.search(rb"<failure[^>]*><([a-z-]+)", r)
print(m.group(1).decode() if m else "no failure: %r" % r)
EOF
)
[ "$r" = invalid-authzid ] || fail "expected invalid-authzid, got $r"
wait_log 'helper mapped the certificate to alice, not to the requested bob' ||
	{ show_log "$XG_GATE_LOG"; fail "the refusal's reason was not logged"; }
grep -qx "AUTH_USER=bob" "$XG_TMP/helper-env.EXTERNAL" || fail "the helper did not see AUTH_USER=bob"
pass "refused"

check "a helper's identity that is not a prepared name (ALICE) fails the attempt: <temporary-auth-failure/>"
touch "$XG_TMP/identity-upper"
out=$(client --jid "alice@$DOMAIN" --password '' --certfile "$XG_TMP/alice/cert.pem" \
	--keyfile "$XG_TMP/alice/privkey.pem" --mechanism EXTERNAL \
	--expect auth-failure --condition temporary-auth-failure) || fail "client: $out"
rm -f "$XG_TMP/identity-upper"
echo "    $out"
wait_log "helper's identity ALICE is not a prepared user name" ||
	{ show_log "$XG_GATE_LOG"; fail "the reason was not logged"; }
pass "refused"

check "a certificate from another CA is not verified: EXTERNAL is not offered"
out=$(client --jid "alice@$DOMAIN" --password '' --certfile "$XG_TMP/mallory/cert.pem" \
	--keyfile "$XG_TMP/mallory/privkey.pem" --mechanism EXTERNAL --expect error) ||
	fail "client: $out"
echo "    $out"
wait_log 'client certificate not accepted' || fail "the refused certificate was not logged"
n=$(grep -c 'sent: features mechanisms PLAIN' "$XG_GATE_LOG" || :)
[ "$n" -ge 1 ] || fail "PLAIN alone should have been offered"
pass "no EXTERNAL without a verified certificate"

check "without a certificate, PLAIN still works on a --client-ca gate"
out=$(client --jid "bob@$DOMAIN" --password bob-pass) || fail "client: $out"
echo "    $out"
pass "PLAIN"

assert_no_leftovers
log "all checks passed"
