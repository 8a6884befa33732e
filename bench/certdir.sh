#!/bin/bash
# bench/certdir.sh [ROUNDS]: does a connection cost more when --cert-dir
# holds 10,000 domains than when it holds one?  Builds both directories
# (hard links to one certificate), starts one xmppgate listener on each
# (systemd-socket-activate --accept, a process per connection), and times
# ROUNDS connections (default 300) to each, alternating between the two so
# that machine noise hits both alike.  One connection: connect, stream
# header to a.test, <starttls/>, the TLS handshake, close; timed from
# connect() to the end of the handshake, which includes the process
# start and the certificate load.  Prints one table.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${XMPPGATE:-$top/xmppgate}
rounds=${1:-300}
[ -x "$bin" ] || { echo "certdir.sh: build xmppgate first ($bin)" >&2; exit 1; }
tmp=$(mktemp -d /tmp/xg-bench-certdir.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || :; done; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "certdir.sh: $*" >&2; exit 1; }
. "$top/tests/certs.sh"
make_certs "$tmp/ca" ca.test
make_leaf "$tmp/ca" "$tmp/one/a.test" a.test 'dns_name = "a.test"' tls_www_server
mkdir -p "$tmp/many"
cp -r "$tmp/one/a.test" "$tmp/many/"
many_domains "$tmp/many" "$tmp/one/a.test" 10000
printf '#!/bin/sh\nexit 1\n' >"$tmp/helper"
chmod 755 "$tmp/helper"
port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
p1=$(port); p2=$(port)
for spec in "$p1:$tmp/one" "$p2:$tmp/many"; do
	systemd-socket-activate -l "127.0.0.1:${spec%%:*}" --accept "$bin" \
		--auth "$tmp/helper" --backend 127.0.0.1:1 --cert-dir "${spec#*:}" \
		>>"$tmp/gate.log" 2>&1 &
	pids+=($!)
done
sleep 0.5
/usr/bin/python3 - "$p1" "$p2" "$rounds" "$tmp/ca/ca.pem" "$(find "$tmp/many" -mindepth 1 -maxdepth 1 | wc -l)" <<'PY'
import socket, ssl, statistics, sys, time
p1, p2, rounds, ca, ndom = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
ctx = ssl.create_default_context(cafile=ca)
HDR = (b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
       b"xmlns:stream='http://etherx.jabber.org/streams' to='a.test' version='1.0'>")

def until(s, mark):
    got = b""
    while mark not in got:
        d = s.recv(4096)
        if not d:
            raise SystemExit("connection closed early: %r" % got)
        got += d

def once(port):
    t0 = time.perf_counter()
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(HDR)
    until(s, b"</stream:features>")
    s.sendall(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
    until(s, b"<proceed")
    t = ctx.wrap_socket(s, server_hostname="a.test")
    dt = time.perf_counter() - t0
    t.close()
    return dt * 1000

res = {p1: [], p2: []}
for _ in range(10):           # warm-up, not counted
    once(p1); once(p2)
for _ in range(rounds):
    res[p1].append(once(p1))
    res[p2].append(once(p2))
def q(v, f):
    v = sorted(v)
    return v[min(len(v) - 1, int(f * len(v)))]
m1, m2 = statistics.median(res[p1]), statistics.median(res[p2])
print("| --cert-dir holds | connections | median ms | p90 ms | mean ms |")
print("|---|---|---|---|---|")
for label, p in (("1 domain", p1), ("%d domains" % ndom, p2)):
    v = res[p]
    print("| %s | %d | %.2f | %.2f | %.2f |" % (label, len(v), statistics.median(v), q(v, 0.9), statistics.mean(v)))
print()
print("median with %d domains / median with 1: %.3f" % (ndom, m2 / m1))
PY
