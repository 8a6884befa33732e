#!/bin/bash
# Outbound federation (--s2s-out) at its edges, found by a review of issue
# 24, with the real binary and NSD in a network namespace of the test's
# own (root; its lo also holds 10.77.0.1, an address of "this host" that
# is not loopback):
#  1. DNS names this host's own address: refused without
#     --s2s-out-loopback (nothing connects to a local service);
#  2. --backend-timeout bounds the whole wait for the remote: a remote
#     that answers each step 2.5 s late, each within a 3 s timeout, does
#     not finish (with a fresh deadline per step it would);
#  3. a backend header refused before it is read whole (no version) gets
#     PROXY LOCAL and a jabber:server header first;
#  4. a remote whose certificate is for TLS clients only (extended key
#     usage clientAuth) is refused;
#  5. a configuration error found per connection (an empty --s2s-ca) is
#     answered with PROXY LOCAL too, and --s2s-require-cert, which has no
#     meaning here, is a usage error.
if [ -z "${XG_EDGES_NETNS:-}" ]; then
	if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null; then
		echo "t-s2s-out-edges: SKIP: a network namespace needs root and unshare(1)"
		exit 77
	fi
	XG_EDGES_NETNS=1 exec unshare --net -- bash "$0" "$@"
fi
ip link set lo up && ip addr add 10.77.0.1/32 dev lo || {
	echo "t-s2s-out-edges: FAIL: cannot set up lo in the network namespace"
	exit 1
}
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
. "$top_srcdir/tests/dns.sh"
RAW="$XG_PY $top_srcdir/tests/s2s_out_raw.py"
C=$XG_TMP/certs
make_certs "$C" a.test
make_leaf "$C" "$C/slow" slow.test 'dns_name = "slow.test"' tls_www_server
make_leaf "$C" "$C/cli" client.test 'dns_name = "client.test"' tls_www_client
OWN=10.77.0.1
LPORT=$(free_port)
SLOW=$(free_port)
CLI=$(free_port)
cat >"$XG_TMP/test.zone" <<EOF
\$ORIGIN test.
\$TTL 60
@	IN SOA ns.test. hostmaster.test. 1 3600 600 86400 60
@	IN NS ns.test.
ns	IN A 127.0.0.1
evil	IN A $OWN
_xmpp-server._tcp.evil	IN SRV 0 5 $LPORT evil.test.
slow	IN A 127.0.0.1
_xmpps-server._tcp.slow	IN SRV 0 5 $SLOW slow.test.
client	IN A 127.0.0.1
_xmpps-server._tcp.client	IN SRV 0 5 $CLI client.test.
EOF
dns_start "$XG_TMP/dns" "$XG_TMP/test.zone"

check "1. DNS names this host's own address $OWN: never connected to without --s2s-out-loopback"
bg "$XG_TMP/listener.out" "$XG_PY" -c "
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', $LPORT)); s.listen(1); s.settimeout(15)
try:
    c, a = s.accept()
except socket.timeout:
    print('no connection', flush=True); sys.exit(0)
c.settimeout(3)
try:
    d = c.recv(4096)
except socket.timeout:
    d = b''
print('connection from', a, 'got', repr(d[:200]), flush=True)
"
LPID=$BG_PID
wait_port "$LPORT" 5 "$LPID" || fail "listener"
XG_GATE_LOG=$XG_TMP/gate-evil.log
GP=$(free_port)
start_gate "$GP" --s2s-out --cert "$C/cert.pem" --key "$C/key.pem" \
	--domain a.test --s2s-ca "$C/ca.pem" --dns-server "127.0.0.1@$DNS_PORT" \
	--backend-timeout 5 -v
got=$($RAW "$GP" --from a.test --to evil.test --timeout 20 2>&1 || :)
echo "    backend got: $got"
sleep 1
sed 's/^/    listener: /' "$XG_TMP/listener.out"
kill_bg "$GATE_PID"; kill_bg "$LPID"
! grep -q "^connection from" "$XG_TMP/listener.out" ||
	fail "xmppgate connected to this host's own address $OWN:$LPORT (a local service) and sent it our stream header"
[ "$got" = "PROXY=local error=remote-connection-failed text=the address of the remote server is not allowed" ] ||
	fail "the backend was not told that the address is not allowed"
pass "refused"

check "2. a slow remote (each step 2.5 s, each within --backend-timeout 3): the backend waits at most about the timeout"
cat >"$XG_TMP/slow.py" <<'EOF'
import re, socket, ssl, sys, time
port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
ctx.set_alpn_protocols(["xmpp-server"])
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port)); s.listen(1); s.settimeout(30)
raw, _ = s.accept()
time.sleep(2.5)                       # 1: the TLS handshake, late
c = ctx.wrap_socket(raw, server_side=True)
c.settimeout(15)
def until(pat):
    buf = b""
    while not re.search(pat, buf):
        d = c.recv(4096)
        if not d: sys.exit("closed")
        buf += d
hdr = ("<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:stream="
       "'http://etherx.jabber.org/streams' from='slow.test' to='a.test' id='s%d' "
       "version='1.0'>")
until(rb"<stream:stream[^>]*>")
time.sleep(2.5)                       # 2: the header and features, late
c.sendall((hdr % 1).encode() + b"<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
          b"<mechanism>EXTERNAL</mechanism></mechanisms></stream:features>")
until(rb"</auth>")
time.sleep(2.5)                       # 3: <success/>, late
c.sendall(b"<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>")
until(rb"<stream:stream[^>]*>")
time.sleep(2.5)                       # 4: the new header, late
c.sendall((hdr % 2).encode() + b"<stream:features/>")
time.sleep(5)
print("slow remote done", flush=True)
EOF
bg "$XG_TMP/slow.out" "$XG_PY" "$XG_TMP/slow.py" "$SLOW" "$C/slow/cert.pem" "$C/slow/privkey.pem"
SPID=$BG_PID
wait_port "$SLOW" 5 "$SPID" || fail "slow remote"
XG_GATE_LOG=$XG_TMP/gate-slow.log
GP=$(free_port)
start_gate "$GP" --s2s-out --cert "$C/cert.pem" --key "$C/key.pem" \
	--domain a.test --s2s-ca "$C/ca.pem" --dns-server "127.0.0.1@$DNS_PORT" \
	--backend-timeout 3 --s2s-out-loopback -v
t0=$(date +%s%N)
got=$($RAW "$GP" --from a.test --to slow.test --timeout 30 2>&1 || :)
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
echo "    backend got after ${ms} ms: $got"
summaries "$XG_GATE_LOG" | sed 's/^/    /'
kill_bg "$GATE_PID"; kill_bg "$SPID"
# With a fresh deadline per step the slow remote would finish (each step
# is 2.5 s) and the backend would get PROXY with TLV 0xE0.
[ "$got" = "PROXY=local error=remote-connection-failed text=the remote server is not reachable" ] ||
	fail "--backend-timeout 3, but the slow remote was waited for past it"
summaries "$XG_GATE_LOG" | grep -q 'reason="remote-connection-failed: remote slow.test.*timed out' ||
	fail "the summary does not say the remote timed out"
pass "bounded"

check "3. a backend header refused before it is read whole (no version): LOCAL first, then a jabber:server header (xmppgate(8): LOCAL, then the stream error)"
XG_GATE_LOG=$XG_TMP/gate-hdr.log
GP=$(free_port)
start_gate "$GP" --s2s-out --cert "$C/cert.pem" --key "$C/key.pem" \
	--domain a.test --s2s-ca "$C/ca.pem" --dns-server "127.0.0.1@$DNS_PORT" \
	--backend-timeout 3 -v
ans=$($XG_PY - "$GP" <<'EOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=8)
s.sendall(b"<stream:stream xmlns='jabber:server' xmlns:stream="
          b"'http://etherx.jabber.org/streams' from='a.test' to='b.example'>")
buf, end = b"", time.monotonic() + 8
while time.monotonic() < end and b"</stream:stream>" not in buf:
    d = s.recv(4096)
    if not d: break
    buf += d
print(repr(buf[:200]))
EOF
)
echo "    answer: $ans"
kill_bg "$GATE_PID"
case $ans in
"b\"\\r\\n\\r\\n\\x00\\r\\nQUIT\\n \\x00\\x00\\x00<?xml version='1.0'?><stream:stream xmlns='jabber:server'"*) ;;
*) fail "no LOCAL and jabber:server header before the stream error" ;;
esac
pass "LOCAL first"

check "4. a remote certificate for TLS clients only (EKU clientAuth): refused"
cat >"$XG_TMP/cli.py" <<'EOF'
import socket, ssl, sys, time
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[2], sys.argv[3])
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); s.settimeout(20)
c = ctx.wrap_socket(s.accept()[0], server_side=True)
c.settimeout(10)
buf = b""
while b"version='1.0'>" not in buf:
    d = c.recv(4096)
    if not d: sys.exit(0)
    buf += d
c.sendall(b"<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
          b"xmlns:stream='http://etherx.jabber.org/streams' "
          b"xmlns:db='jabber:server:dialback' from='client.test' id='r1' "
          b"version='1.0'><stream:features><dialback "
          b"xmlns='urn:xmpp:features:dialback'/></stream:features>")
time.sleep(3)
EOF
bg "$XG_TMP/cli.out" "$XG_PY" "$XG_TMP/cli.py" "$CLI" "$C/cli/cert.pem" "$C/cli/privkey.pem"
CPID=$BG_PID
wait_port "$CLI" 5 "$CPID" || fail "clientAuth remote"
XG_GATE_LOG=$XG_TMP/gate-cli.log
GP=$(free_port)
start_gate "$GP" --s2s-out --cert "$C/cert.pem" --key "$C/key.pem" \
	--domain a.test --s2s-ca "$C/ca.pem" --dns-server "127.0.0.1@$DNS_PORT" \
	--backend-timeout 5 --s2s-out-loopback -v
got=$($RAW "$GP" --from a.test --to client.test --timeout 15 2>&1 || :)
echo "    backend got: $got"
kill_bg "$GATE_PID"; kill_bg "$CPID"
[ "$got" = "PROXY=local error=remote-connection-failed text=the certificate of the remote server is not valid for it" ] ||
	fail "a clientAuth-only certificate was accepted for a remote server"
pass "refused"

check "5. a configuration error gets PROXY LOCAL first; --s2s-require-cert is a usage error"
: >"$XG_TMP/empty-ca.pem"
XG_GATE_LOG=$XG_TMP/gate-conf.log
GP=$(free_port)
start_gate "$GP" --s2s-out --cert "$C/cert.pem" --key "$C/key.pem" \
	--domain a.test --s2s-ca "$XG_TMP/empty-ca.pem" --dns-server "127.0.0.1@$DNS_PORT" -v
got=$($RAW "$GP" --from a.test --to b.test --timeout 15 2>&1 || :)
echo "    backend got: $got"
[ "$got" = "PROXY=local error=internal-server-error text=server configuration error" ] ||
	fail "a configuration error was not answered with PROXY LOCAL and <internal-server-error/>"
wait_exit 111 10 || fail "the configuration error did not exit 111: $(exit_codes)"
kill_bg "$GATE_PID"
set +e
err=$("$xg_bin" --s2s-out --cert "$C/cert.pem" --key "$C/key.pem" --domain a.test \
	--s2s-require-cert 2>&1 </dev/null)
rc=$?
set -e
echo "    --s2s-require-cert: exit $rc: $err"
[ "$rc" -eq 100 ] || fail "--s2s-out --s2s-require-cert: exit $rc, not 100"
case $err in *"--s2s-require-cert go with --s2s (--s2s-ca also with --s2s-out"*) ;; *) fail "no reason given" ;; esac
pass "LOCAL first, exit 111; the usage error, exit 100"
