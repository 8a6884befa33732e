#!/bin/bash
# TLS as a client sees it, with a real TLS client (gnutls-cli
# --starttls-proto=xmpp): the default priority allows TLS 1.2 and 1.3 with
# forward secrecy and AEAD only, --tls-priority overrides it, a client that
# never finishes the handshake is cut off by --handshake-timeout, and a key
# that cannot be loaded gives the client <internal-server-error/>.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

# gnutls-cli sends the host it connects to as the stream's 'to'; connect
# to 127.0.0.1 (no name resolution needed, RFC 7622 allows an IP address
# as a domain) and check the certificate against its DNS name.
DOMAIN=127.0.0.1
CERT_NAME=example.test
require_xmppgate
command -v gnutls-cli >/dev/null || fail "gnutls-cli not installed (package gnutls-bin)"
make_certs "$XG_TMP" "$CERT_NAME"
write_helper "$XG_TMP/helper-reject" 'cat >/dev/null; exit 1'

# gate NAME [ARGS...]: a fresh xmppgate listener with its own log.
gate() {
	local name=$1
	shift
	new_gate "$name" --auth "$XG_TMP/helper-reject" \
		--backend "127.0.0.1:$(free_port)" --timeout 30 "$@"
}

# tls PRIORITY: STARTTLS and a handshake with gnutls-cli restricted to
# PRIORITY; sets TLS_OUT and returns 0 when the handshake completed.
tls() {
	TLS_OUT=$(timeout 20 gnutls-cli --starttls-proto=xmpp -p "$GPORT" \
		--x509cafile "${TLS_CA:-$XG_TMP/ca.pem}" --verify-hostname "$CERT_NAME" \
		--priority "$1" "$DOMAIN" \
		</dev/null 2>&1) || :
	printf '%s\n' "$TLS_OUT" | grep -q '^- Handshake was completed'
}

# accepted LABEL PRIORITY PATTERN: the handshake completes and the session
# description matches the glob PATTERN.  With %SERVER_PRECEDENCE the
# default picks AES-256-GCM whenever the client offers it.
accepted() {
	local d
	tls "$2" || { printf '%s\n' "$TLS_OUT" | tail -n 5 | sed 's/^/    /'; fail "$1: handshake failed"; }
	d=$(printf '%s\n' "$TLS_OUT" | sed -n 's/^- Description: //p')
	echo "    $1: $d"
	case $d in
	$3) ;;
	*) fail "$1: unexpected session $d, expected $3" ;;
	esac
}

# refused LABEL PRIORITY: the handshake fails.
refused() {
	if tls "$2"; then
		printf '%s\n' "$TLS_OUT" | grep '^- Description' | sed 's/^/    /'
		fail "$1: the handshake should have failed"
	fi
	echo "    $1: $(printf '%s\n' "$TLS_OUT" | grep -m1 -i 'handshake has failed\|error' || echo refused)"
}

gate default
check "default priority: TLS 1.3 and TLS 1.2 with ECDHE and AEAD"
accepted "TLS 1.3" 'NORMAL:-VERS-ALL:+VERS-TLS1.3' '(TLS1.3*)-(AES-256-GCM)'
accepted "TLS 1.2 AES-GCM" 'NORMAL:-VERS-ALL:+VERS-TLS1.2' '(TLS1.2-*)-(ECDHE-*)-(AES-256-GCM)'
accepted "TLS 1.2 ChaCha20" 'NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+CHACHA20-POLY1305' \
	'(TLS1.2-*)-(ECDHE-*)-(CHACHA20-POLY1305)'
pass "modern clients get in"

check "default priority: old versions and non-AEAD ciphers are refused"
refused "TLS 1.1" 'NORMAL:-VERS-ALL:+VERS-TLS1.1'
refused "TLS 1.0" 'NORMAL:-VERS-ALL:+VERS-TLS1.0'
refused "TLS 1.2 AES-CBC" 'NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-CBC:+AES-256-CBC:+MAC-ALL'
pass "old and weak refused"

check "summary lines give the client's TLS failure as the reason"
wait_summaries 6 10 >/dev/null
c=$(summaries | grep -c 'outcome=refused reason="TLS handshake failed' || :)
[ "$c" -eq 3 ] ||
	{ summaries | sed 's/^/    /'; fail "expected 3 'TLS handshake failed' reasons, found $c"; }
summaries | grep 'reason="TLS handshake' | head -n 2 | sed 's/^/    /'
pass "handshake failures logged"

# Key exchange without forward secrecy needs an RSA certificate to be
# possible at all, so this gate has one.
make_certs "$XG_TMP/rsa" "$CERT_NAME" rsa
gate rsa --cert "$XG_TMP/rsa/cert.pem" --key "$XG_TMP/rsa/key.pem"
check "default priority with an RSA certificate: ECDHE-RSA only"
TLS_CA=$XG_TMP/rsa/ca.pem
accepted "TLS 1.2 ECDHE-RSA" 'NORMAL:-VERS-ALL:+VERS-TLS1.2' '(TLS1.2-*)-(ECDHE-*)-(RSA-*)-(AES-256-GCM)'
refused "TLS 1.2 RSA key exchange" 'NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+RSA'
refused "TLS 1.2 DHE-RSA" 'NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+DHE-RSA'
TLS_CA=
pass "no key exchange without forward secrecy"

gate override --tls-priority 'NORMAL:-VERS-ALL:+VERS-TLS1.2'
check "--tls-priority replaces the default (here: TLS 1.2 only)"
refused "TLS 1.3 only client" 'NORMAL:-VERS-ALL:+VERS-TLS1.3'
accepted "TLS 1.2 client" 'NORMAL:-VERS-ALL:+VERS-TLS1.2' '(TLS1.2-*'
pass "override applied"

check "an invalid --tls-priority: <internal-server-error/>, exit 111, and the log says why"
gate badprio --tls-priority 'NORMAL:+NO-SUCH-THING'
cat >"$XG_TMP/plain.py" <<'EOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"<?xml version='1.0'?><stream:stream to='127.0.0.1' xmlns='jabber:client' "
          b"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>")
buf = b""
end = time.monotonic() + 10
while time.monotonic() < end:
    d = s.recv(65536)
    if not d:
        break
    buf += d
print(buf.decode(errors="replace"))
EOF
out=$($XG_PY "$XG_TMP/plain.py" "$GPORT")
echo "    $out"
case $out in
*"<stream:error><internal-server-error xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"*"</stream:stream>") ;;
*) fail "expected <internal-server-error/> and </stream:stream>: $out" ;;
esac
case $out in
*NO-SUCH-THING*) fail "the client was told the configuration detail: $out" ;;
esac
line=$(wait_summaries 1 10 | tail -n 1)
echo "    $line"
expect_summary "$line" outcome=tempfail
case $line in
*"invalid TLS priority string"*) ;;
*) fail "the summary should name the bad priority string: $line" ;;
esac
wait_exit 111 ||
	{ show_log "$XG_GATE_LOG"; fail "xmppgate did not exit with 111"; }
pass "configuration error reported"

check "a client that stops in the middle of the TLS handshake: --handshake-timeout 2"
gate stall --handshake-timeout 2
cat >"$XG_TMP/stall.py" <<'EOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=25)
s.sendall(b"<?xml version='1.0'?><stream:stream to='127.0.0.1' xmlns='jabber:client' "
          b"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>")
buf = b""
while b"</stream:features>" not in buf:
    buf += s.recv(4096)
s.sendall(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
while b"<proceed" not in buf:
    buf += s.recv(4096)
# the first 5 bytes of a TLS record header, then nothing
s.sendall(b"\x16\x03\x01\x02\x00")
t0 = time.monotonic()
try:
    while s.recv(4096):
        pass
except (ConnectionResetError, socket.timeout) as e:
    print("ERROR %s" % e)
    sys.exit(1)
print("closed after %.1f s" % (time.monotonic() - t0))
EOF
out=$($XG_PY "$XG_TMP/stall.py" "$GPORT") || fail "stalled client: $out"
echo "    $out"
line=$(wait_summaries 1 10 | tail -n 1)
echo "    $line"
expect_summary "$line" outcome=refused
case $line in
*'reason="TLS handshake'*'timed out'* | *'reason="TLS handshake'*'timeout'*) ;;
*) fail "the reason should be the handshake timeout: $line" ;;
esac
pass "handshake timeout ends the connection"

check "no xmppgate left running"
assert_no_leftovers 5
pass "no leftovers"
