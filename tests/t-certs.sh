#!/bin/bash
# Certificates per domain (xmppgate(8) CERTIFICATES): --cert-dir in
# certbot's live/ layout and --cert-helper (xmppgate-cert(5)).  Real TLS
# clients ask for each domain: openssl s_client -starttls xmpp -xmpphost,
# and gnutls-cli --starttls-proto=xmpp, which sends the host it connects
# to as the stream 'to' (so it runs in a private mount namespace whose
# /etc/hosts maps the test domains to 127.0.0.1).  Also: wildcards, a
# domain without a certificate, a renewal with no restart, OCSP stapling
# (fresh, stale, revoked, another certificate's), and that a connection reads only its own
# domain's files however many domains there are.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

require_xmppgate
for t in openssl gnutls-cli certtool strace unshare; do
	command -v $t >/dev/null || fail "$t not installed (scripts/deps.sh)"
done
$XG_PY -c 'import cryptography' 2>/dev/null || fail "python3-cryptography not installed"

CA=$XG_TMP/ca
LIVE=$XG_TMP/live
make_certs "$CA" ca.test
for d in a.test b.test; do
	make_leaf "$CA" "$LIVE/$d" "$d" "dns_name = \"$d\"" tls_www_server
done
# certbot names the lineage of *.wild.test "wild.test".
make_leaf "$CA" "$LIVE/wild.test" wild.test 'dns_name = "wild.test"' \
	'dns_name = "*.wild.test"' tls_www_server
# A directory whose certificate is for another name: a broken setup.
make_leaf "$CA" "$LIVE/wrong.test" b.test 'dns_name = "b.test"' tls_www_server
# And one whose key is another certificate's (a.test's).
make_leaf "$CA" "$LIVE/badkey.test" badkey.test 'dns_name = "badkey.test"' tls_www_server
cp "$LIVE/a.test/privkey.pem" "$LIVE/badkey.test/privkey.pem"
write_helper "$XG_TMP/helper" 'cat >/dev/null; exit 1'

# probe DOMAIN: open a stream to DOMAIN; prints "features" when STARTTLS
# is offered, else the stream error condition.
probe() {
	$XG_PY - "$GPORT" "$1" <<'EOF'
import re, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(("<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
           "xmlns:stream='http://etherx.jabber.org/streams' to='%s' "
           "version='1.0'>" % sys.argv[2]).encode())
got = b""
while b"</stream:features>" not in got and b"</stream:stream>" not in got:
    d = s.recv(4096)
    if not d:
        break
    got += d
m = re.search(rb"<stream:error><([a-z-]+)", got)
print("features" if b"<starttls" in got else m.group(1).decode() if m else "nothing")
EOF
}

# ossl DOMAIN [ARGS]: openssl s_client with STARTTLS for DOMAIN; OSSL_OUT.
ossl() {
	local d=$1
	shift
	OSSL_OUT=$(timeout 20 openssl s_client -starttls xmpp -xmpphost "$d" \
		-connect "127.0.0.1:$GPORT" -CAfile "$CA/ca.pem" -verify_hostname "$d" \
		-verify_return_error "$@" </dev/null 2>&1) || :
}

# served DOMAIN CN: openssl sees a certificate with CN that verifies for DOMAIN.
served() {
	ossl "$1"
	printf '%s\n' "$OSSL_OUT" | grep -q "^subject=CN = $2\$" &&
		printf '%s\n' "$OSSL_OUT" | grep -q 'Verify return code: 0 (ok)' || {
		printf '%s\n' "$OSSL_OUT" | grep -E 'subject=|Verify|error' | sed 's/^/    /'
		fail "$1: expected a verified certificate for CN $2"
	}
	echo "    openssl: $1 -> CN $2, verified"
}

gate_dir() {
	new_gate_plain "$1" --cert-dir "$LIVE" "${@:2}"
}

# new_gate_plain NAME ARGS: an xmppgate without --cert (its own log).
new_gate_plain() {
	local name=$1
	shift
	GPORT=$(free_port)
	XG_GATE_LOG=$XG_TMP/gate-$name.log
	start_gate "$GPORT" --auth "$XG_TMP/helper" --backend "127.0.0.1:$(free_port)" "$@"
}

check "--cert-dir: openssl s_client -starttls xmpp -xmpphost gets each domain's certificate"
gate_dir dir
served a.test a.test
served b.test b.test
served chat.wild.test wild.test
served wild.test wild.test
pass "each domain, and a wildcard's subdomain, got its own verified certificate"

check "gnutls-cli --starttls-proto=xmpp (stream 'to' = the host name) gets each domain's certificate"
printf '127.0.0.1 localhost\n127.0.0.1 a.test b.test chat.wild.test\n' >"$XG_TMP/hosts"
for d in a.test b.test chat.wild.test; do
	out=$(unshare -m sh -c 'mount --bind "$1" /etc/hosts && shift &&
		timeout 20 gnutls-cli --starttls-proto=xmpp -p "$@" </dev/null 2>&1' \
		sh "$XG_TMP/hosts" "$GPORT" "$d" --x509cafile "$CA/ca.pem") || :
	printf '%s\n' "$out" | grep -q '^- Status: The certificate is trusted' || {
		printf '%s\n' "$out" | tail -n 5 | sed 's/^/    /'
		fail "gnutls-cli $d: certificate not trusted for $d"
	}
	cn=$(printf '%s\n' "$out" | sed -n "s/^ *- subject \`CN=\([^,']*\).*/\1/p" | head -n 1)
	echo "    gnutls-cli: $d -> CN $cn, trusted for $d"
	case $d in
	*wild.test) [ "$cn" = wild.test ] ;;
	*) [ "$cn" = "$d" ] ;;
	esac || fail "gnutls-cli $d: got CN $cn"
done
pass "gnutls-cli verified the right certificate for each domain"

check "a domain without a certificate gets <host-unknown/>, and no wildcard over a sibling"
for d in nope.test deep.chat.wild.test test; do
	r=$(probe "$d")
	[ "$r" = host-unknown ] || fail "$d: expected host-unknown, got $r"
	echo "    $d -> $r"
done
wait_summaries 10 >/dev/null
pass "no certificate, no service"

check "a certificate that does not name its directory's domain is <internal-server-error/>, exit 111"
r=$(probe wrong.test)
[ "$r" = internal-server-error ] || fail "wrong.test: expected internal-server-error, got $r"
wait_log 'summary .*reason="internal-server-error: certificate .*wrong.test does not name wrong.test"' ||
	{ show_log "$XG_GATE_LOG"; fail "no summary naming the mismatch"; }
wait_exit 111 || fail "exit status was not 111"
pass "the mismatch is logged, the client learns only that the server is broken"

check "a key that is not the certificate's (--cert-dir, then --cert): <internal-server-error/>, exit 111"
r=$(probe badkey.test)
[ "$r" = internal-server-error ] || fail "badkey.test: expected internal-server-error, got $r"
wait_log 'summary .*reason="internal-server-error: certificate .*badkey.test.* and its key: the key does not belong to the certificate"' ||
	{ show_log "$XG_GATE_LOG"; fail "no summary naming the key"; }
kill_bg "$GATE_PID"
new_gate_plain badkey --cert "$LIVE/a.test/fullchain.pem" \
	--key "$LIVE/b.test/privkey.pem" --domain a.test
r=$(probe a.test)
[ "$r" = internal-server-error ] || fail "--cert: expected internal-server-error, got $r"
wait_log 'summary .*reason="internal-server-error: the key does not belong to the certificate (.*a.test/fullchain.pem, .*b.test/privkey.pem)"' ||
	{ show_log "$XG_GATE_LOG"; fail "no summary naming the key"; }
wait_exit 111 || fail "exit status was not 111"
kill_bg "$GATE_PID"
gate_dir dir2
pass "refused before any TLS, with the files named"

check "a renewed certificate is used by the next connection, with no restart"
ossl a.test -showcerts
old=$(printf '%s\n' "$OSSL_OUT" | openssl x509 -noout -serial)
make_leaf "$CA" "$XG_TMP/renewed" a.test 'dns_name = "a.test"' tls_www_server
cp "$XG_TMP/renewed/fullchain.pem" "$XG_TMP/renewed/privkey.pem" "$LIVE/a.test/"
ossl a.test
new=$(printf '%s\n' "$OSSL_OUT" | openssl x509 -noout -serial)
want=$(openssl x509 -noout -serial -in "$XG_TMP/renewed/cert.pem")
echo "    before: $old; after: $new"
[ "$new" = "$want" ] && [ "$new" != "$old" ] || fail "the renewed certificate was not served"
kill -0 "$GATE_PID" || fail "the listener is gone"
pass "same listener, new certificate"

check "OCSP: a fresh good response is stapled; stale, revoked or foreign ones are not (warning)"
ocsp() { $XG_PY "$top_srcdir/tests/ocsp_make.py" "$LIVE/$1/cert.pem" "$CA/ca.pem" "$CA/ca-key.pem" \
	"$LIVE/$1/ocsp.der" "${@:2}" || fail "ocsp_make.py failed"; }
cp "$XG_TMP/renewed/cert.pem" "$LIVE/a.test/cert.pem"
ocsp a.test
ossl a.test -status
printf '%s\n' "$OSSL_OUT" | grep -q 'OCSP Response Status: successful' &&
	printf '%s\n' "$OSSL_OUT" | grep -q 'Cert Status: good' || {
	printf '%s\n' "$OSSL_OUT" | grep -i ocsp | sed 's/^/    /'
	fail "a.test: no good OCSP response stapled"
}
echo "    fresh: stapled, Cert Status: good"
ocsp a.test --this -48 --next -1
ossl a.test -status
printf '%s\n' "$OSSL_OUT" | grep -q 'OCSP response: no response sent' ||
	fail "a.test: a stale OCSP response was stapled"
wait_log 'OCSP response .*a.test ignored: stale (nextUpdate has passed)' ||
	fail "no warning about the stale response"
echo "    stale: not stapled, warning logged"
ocsp a.test --revoked
ossl a.test -status
printf '%s\n' "$OSSL_OUT" | grep -q 'OCSP response: no response sent' ||
	fail "a.test: a revoked response was stapled"
wait_log 'OCSP response .*a.test ignored: it says the certificate is revoked' ||
	fail "no warning about revocation"
echo "    revoked: not stapled, warning logged"
# A response about another certificate is refused by GnuTLS.
cp "$LIVE/b.test/cert.pem" "$XG_TMP/b-cert.pem"
$XG_PY "$top_srcdir/tests/ocsp_make.py" "$XG_TMP/b-cert.pem" "$CA/ca.pem" "$CA/ca-key.pem" \
	"$LIVE/a.test/ocsp.der" || fail "ocsp_make.py failed"
ossl a.test -status
printf '%s\n' "$OSSL_OUT" | grep -q 'OCSP response: no response sent' ||
	fail "a.test: a response for b.test was stapled"
echo "    another certificate's response: not stapled"
rm -f "$LIVE/a.test/ocsp.der"
pass "only fresh responses about the certificate are stapled"

check "--ocsp FILE with --cert staples too"
make_leaf "$CA" "$XG_TMP/single" a.test 'dns_name = "a.test"' tls_www_server
$XG_PY "$top_srcdir/tests/ocsp_make.py" "$XG_TMP/single/cert.pem" "$CA/ca.pem" "$CA/ca-key.pem" \
	"$XG_TMP/single/ocsp.der" || fail "ocsp_make.py failed"
new_gate_plain single --cert "$XG_TMP/single/fullchain.pem" --key "$XG_TMP/single/privkey.pem" \
	--domain a.test --ocsp "$XG_TMP/single/ocsp.der"
ossl a.test -status
printf '%s\n' "$OSSL_OUT" | grep -q 'Cert Status: good' || fail "--ocsp: not stapled"
pass "stapled"

check "--cert-helper: the helper's chain and key serve its domain; exit 1 is <host-unknown/>; a slow helper is cut off"
cat >"$XG_TMP/cert-helper" <<EOF
#!/bin/sh
env >"$XG_TMP/cert-helper.env"
case \$CERT_DOMAIN in
h.test) cat "$XG_TMP/h/fullchain.pem" "$XG_TMP/h/privkey.pem" ;;
slow.test) sleep 30 ;;
broken.test) echo garbage ;;
*) exit 1 ;;
esac
EOF
chmod 755 "$XG_TMP/cert-helper"
make_leaf "$CA" "$XG_TMP/h" h.test 'dns_name = "h.test"' tls_www_server
new_gate_plain helper --cert-helper "$XG_TMP/cert-helper" --cert-timeout 2
served h.test h.test
grep -qx 'CERT_DOMAIN=h.test' "$XG_TMP/cert-helper.env" && grep -qx 'CERT_SOURCE=stream' "$XG_TMP/cert-helper.env" ||
	fail "the helper's environment lacks CERT_DOMAIN/CERT_SOURCE: $(cat "$XG_TMP/cert-helper.env")"
grep -q 'privkey\|BEGIN\|PRIVATE' "$XG_TMP/cert-helper.env" && fail "key material in the helper's environment"
r=$(probe nope.test)
[ "$r" = host-unknown ] || fail "nope.test: expected host-unknown, got $r"
r=$(probe slow.test)
[ "$r" = internal-server-error ] || fail "slow.test: expected internal-server-error, got $r"
wait_log 'reason="internal-server-error: certificate helper: timed out after 2 s"' ||
	{ show_log "$XG_GATE_LOG"; fail "no timeout reason"; }
r=$(probe broken.test)
[ "$r" = internal-server-error ] || fail "broken.test: expected internal-server-error, got $r"
wait_log 'reason="internal-server-error: certificate helper: no PEM private key in its output"' ||
	{ show_log "$XG_GATE_LOG"; fail "no reason for the garbage"; }
assert_no_leftovers
pass "served, unknown, timed out, garbage: each as documented"

check "a connection reads only its domain's files, with 1 or 10,000 domains"
# Count what one connection opens under the directory, by strace.
opens() {
	local dir=$1 out=$XG_TMP/strace-$2
	GPORT=$(free_port)
	XG_GATE_LOG=$XG_TMP/gate-strace-$2.log
	bg "$XG_GATE_LOG" strace -f -qq -e trace=openat,open,stat,newfstatat,getdents64 -o "$out" \
		systemd-socket-activate -l "127.0.0.1:$GPORT" $(xg_accept_opt) \
		"$xg_bin" $(xg_launch_args) --user root --auth "$XG_TMP/helper" --backend "127.0.0.1:1" --cert-dir "$dir"
	wait_port "$GPORT" 10 "$BG_PID" || fail "strace'd listener did not start"
	served a.test a.test >/dev/null
	wait_summaries 1 >/dev/null
	kill_bg "$BG_PID"
	if grep getdents64 "$out" | grep -q -- "$dir"; then
		fail "xmppgate listed the certificate directory"
	fi
	grep -c -- "$dir" "$out" || :
}
mkdir -p "$XG_TMP/one" "$XG_TMP/many"
cp -r "$LIVE/a.test" "$XG_TMP/one/"
cp -r "$LIVE/a.test" "$XG_TMP/many/"
many_domains "$XG_TMP/many" "$LIVE/b.test" 10000
n1=$(opens "$XG_TMP/one" one)
n2=$(opens "$XG_TMP/many" many)
echo "    paths under the directory touched: $n1 with 1 domain, $n2 with 10,000"
[ "$n1" -gt 0 ] && [ "$n1" = "$n2" ] || fail "the work depends on the number of domains ($n1 vs $n2)"
pass "the same files with 10,000 domains as with one (timings: bench/certdir.sh)"

assert_no_leftovers
log "all checks passed"
