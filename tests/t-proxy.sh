#!/bin/bash
# The PROXY protocol, both ways, with real peers.  --proxy-protocol v1|v2
# tells a real ejabberd (Debian's, use_proxy_protocol: true) who the client
# is: ejabberd logs the client's own address and port, not xmppgate's.
# --accept-proxy-protocol takes the header from a real HAProxy in front
# (send-proxy and send-proxy-v2): the helper, the summary and the backend
# see the client behind HAProxy.  Clients connect from their own loopback
# addresses (127.0.0.5 etc.) so that every hop's address is told apart.
# Then what a trusted peer must not get away with, and what an untrusted
# one cannot do, with a hand-made peer.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

DOMAIN=example.test
require_xmppgate
command -v haproxy >/dev/null || fail "haproxy not installed (scripts/deps.sh installs it)"
command -v ejabberdctl >/dev/null || fail "ejabberd not installed (scripts/deps.sh installs it)"

make_certs "$XG_TMP" "$DOMAIN"
test_ejabberd "$DOMAIN"
start_ejabberd
ejabberd_adduser alice "$DOMAIN" 'alice-Secret'
EJLOG=$EJ/logs/ejabberd.log

# The native helper: records what it was told of the connection.
write_helper "$XG_TMP/helper" "
pw=\$(cat)
echo \"\$XMPPGATE_CONN_ID \$TCPREMOTEIP \$TCPREMOTEPORT \$TCPLOCALIP \$TCPLOCALPORT\" >>'$XG_TMP/helper-env'
[ \"\$AUTH_USER\" = alice ] && [ \"\$pw\" = alice-Secret ] && exit 0
exit 1"

client() { $XG_CLIENT --ca "$XG_TMP/ca.pem" --timeout 20 --jid "alice@$DOMAIN" \
	--password alice-Secret "$@"; }
gate() {
	local name=$1
	shift
	new_gate "$name" --auth "$XG_TMP/helper" --auth-delay 0 "$@"
}
field() { summary_field "$2" "$1"; }	# also reads RESULT lines
# client_from SRC PORT ARGS...: log alice in from SRC through PORT; sets
# out and from (SRC:SRCPORT), and checks the summary names that client.
client_from() {
	local src=$1 port=$2
	shift 2
	out=$(client --port "$port" --source "$src" "$@") || fail "client: $out"
	echo "    $out"
	from=$(field local "$out")
	[ "${from%:*}" = "$src" ] || fail "client not from $src: $out"
	expect_summary "$(wait_summaries 1)" outcome=ok user=alice "client=$from"
}
# ej_saw IP PORT: ejabberd logged a proxied connection from IP:PORT and
# alice's login from IP.
ej_saw() {
	local i
	for i in $(seq 1 50); do
		grep -q "Accepted proxied connection $1:$2 -> " "$EJLOG" &&
			grep -q "authentication for alice@$DOMAIN .* from $1\$" "$EJLOG" &&
			return 0
		sleep 0.1
	done
	grep -E 'Accepted|authentication' "$EJLOG" | tail -n 6 >&2
	fail "ejabberd did not log the connection and login from $1:$2"
}

for v in v1 v2; do
	check "--proxy-protocol $v: ejabberd sees the client's own address and port"
	gate "out-$v" --backend "127.0.0.1:$EJ_PROXY_PORT" --proxy-protocol "$v"
	client_from 127.0.0.5 "$GPORT" --to "alice@$DOMAIN"
	ej_saw 127.0.0.5 "${from##*:}"
	# ... and the address the client connected to is xmppgate's.
	grep -q "Accepted proxied connection $from -> 127.0.0.1:$GPORT\$" "$EJLOG" ||
		fail "ejabberd did not log 127.0.0.1:$GPORT as the destination"
	pass "ejabberd: $(grep -o "Accepted proxied connection $from -> [^ ]*" "$EJLOG")"
done

check "ejabberd's use_proxy_protocol listener refuses a connection without the header (it closes or resets it): the header is what it used"
gate plain --backend "127.0.0.1:$EJ_PROXY_PORT"
out=$(client --port "$GPORT" --expect error 2>&1) || fail "client: $out"
echo "    $out"
line=$(wait_summaries 1)
expect_summary "$line" outcome=tempfail
wait_log 'authentication attempt 1 failed: backend .* during login' ||
	fail "the backend's refusal was not logged"
pass "refused without the header"

# HAProxy in front: listens on HPORT, sends the header to xmppgate.
start_haproxy() {
	local name=$1 send=$2
	HPORT=$(free_port)
	cat >"$XG_TMP/haproxy-$name.cfg" <<EOF
global
    maxconn 64
defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend front
    bind 127.0.0.1:$HPORT
    default_backend gate
backend gate
    server xmppgate 127.0.0.1:$GPORT $send
EOF
	haproxy -c -q -f "$XG_TMP/haproxy-$name.cfg" ||
		fail "haproxy rejects its configuration"
	bg "$XG_TMP/haproxy-$name.log" haproxy -db -f "$XG_TMP/haproxy-$name.cfg"
	wait_port "$HPORT" 10 "$BG_PID" || {
		show_log "$XG_TMP/haproxy-$name.log"
		fail "haproxy did not listen"
	}
}

for send in send-proxy-v2 send-proxy; do
	check "HAProxy ($send) -> xmppgate --accept-proxy-protocol -> ejabberd (v1): every hop sees the client"
	gate "in-$send" --backend "127.0.0.1:$EJ_PROXY_PORT" --proxy-protocol v1 \
		--accept-proxy-protocol --trusted-proxy 127.0.0.1 --trusted-proxy ::1
	start_haproxy "$send" "$send"
	: >"$XG_TMP/helper-env"
	client_from 127.0.0.6 "$HPORT" --to "alice@$DOMAIN"
	want=2
	[ "$send" = send-proxy ] && want=1
	wait_log "proxied client=$from via=127\.0\.0\.1:[0-9]* version=$want\$" ||
		fail "no 'proxied' line for $from, version $want"
	read -r _id ip port lip lport <"$XG_TMP/helper-env"
	[ "$ip:$port" = "$from" ] && [ "$lip:$lport" = "127.0.0.1:$HPORT" ] ||
		fail "helper told $ip:$port -> $lip:$lport, not $from -> 127.0.0.1:$HPORT"
	echo "    helper: TCPREMOTEIP=$ip TCPREMOTEPORT=$port TCPLOCALIP=$lip TCPLOCALPORT=$lport"
	ej_saw 127.0.0.6 "${from##*:}"
	pass "client $from seen by xmppgate's log, the helper and ejabberd"
	kill_bg "$BG_PID"
done

check "HAProxy (send-proxy-v2) in front of Direct TLS: the first byte after the header decides"
gate in-direct --backend "127.0.0.1:$EJ_PORT" --accept-proxy-protocol \
	--trusted-proxy 127.0.0.0/8
start_haproxy direct send-proxy-v2
client_from 127.0.0.7 "$HPORT" --direct-tls --alpn xmpp-client
kill_bg "$BG_PID"
pass "Direct TLS behind HAProxy, client $from"

# A hand-made peer for what HAProxy never sends.  Prints the bytes read
# until the peer closed (or 5 s), escaped.
peer() {
	$XG_PY - "$GPORT" "$1" "${2:-127.0.0.1}" <<'EOF'
import socket, sys, time
port, data, src = int(sys.argv[1]), sys.argv[2], sys.argv[3]
raw = data.encode("latin-1").decode("unicode_escape").encode("latin-1")
s = socket.socket()
s.bind((src, 0))
s.connect(("127.0.0.1", port))
if raw:
    s.sendall(raw)
s.settimeout(5)
got = b""
end = time.monotonic() + 5
try:
    while time.monotonic() < end:
        d = s.recv(4096)
        if not d:
            break
        got += d
        if b"</stream:features>" in got:
            break
except socket.timeout:
    pass
print(repr(got))
EOF
}
XML_HDR="<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='$DOMAIN' version='1.0'>"
V2SIG='\r\n\r\n\x00\r\nQUIT\n'

check "refused: untrusted peers, bad headers, no header, a stream without a header"
gate refuse --backend "127.0.0.1:$EJ_PORT" --accept-proxy-protocol \
	--trusted-proxy 127.0.0.1 --header-timeout 2
n=0
while IFS='|' read -r src data reason; do
	n=$((n + 1))
	out=$(peer "$data" "$src")
	[ "$out" = "b''" ] || fail "case $n: xmppgate answered $out"
	line=$(wait_summaries "$n" 10 | sed -n "${n}p")
	expect_summary "$line" outcome=refused
	case $line in
	*"reason=\"$reason"*) ;;
	*) fail "case $n: expected reason '$reason': $line" ;;
	esac
	echo "    $src ${data:0:40}: $(printf '%s' "$line" | sed 's/.*reason=//')"
done <<EOF
127.0.0.9|PROXY TCP4 192.0.2.1 127.0.0.1 1 2\r\n|peer 127.0.0.9 is not a --trusted-proxy
127.0.0.1|$XML_HDR|bad PROXY header: no PROXY header
127.0.0.1|\x16\x03\x01\x00\x05hello|bad PROXY header: no PROXY header
127.0.0.1|PROXY TCP4 192.0.2.1 127.0.0.1 01 2\r\n|bad PROXY header: v1: a port
127.0.0.1|PROXY TCP4 192.0.2.1 127.0.0.1 1 2\n|bad PROXY header: v1: a control
127.0.0.1|PROXY TCP4 ::1 ::1 1 2\r\n|bad PROXY header: v1: an address
127.0.0.1|${V2SIG}\x22\x11\x00\x0c|bad PROXY header: v2: command
127.0.0.1|${V2SIG}\x21\x11\xff\xff|bad PROXY header: v2: longer than the limit
127.0.0.1|PROXY TCP4 192.0.2.1|no PROXY header within 2 s
127.0.0.1||no PROXY header within 2 s
EOF
pass "$n cases refused, nothing sent back"

check "v2 LOCAL (a health check) and v1 UNKNOWN: the connection's own addresses; the stream follows in the same segment"
for hdr in "${V2SIG}\x20\x00\x00\x00" 'PROXY UNKNOWN\r\n'; do
	out=$(peer "$hdr$XML_HDR")
	case $out in
	*"<starttls xmlns="*"</stream:features>"*) ;;
	*) fail "no features after $hdr: $out" ;;
	esac
done
wait_log 'proxied client=127\.0\.0\.1:[0-9]* via=127\.0\.0\.1:[0-9]* version=2 (no client address' ||
	fail "no LOCAL line"
wait_log 'proxied client=127\.0\.0\.1:[0-9]* via=127\.0\.0\.1:[0-9]* version=1 (no client address' ||
	fail "no UNKNOWN line"
pass "features sent, own addresses kept"

check "usage: --accept-proxy-protocol and --trusted-proxy go together; bad ranges and versions are refused"
for args in "--accept-proxy-protocol" "--trusted-proxy 127.0.0.1" \
	"--accept-proxy-protocol --trusted-proxy 10.0.0.1/8" \
	"--accept-proxy-protocol --trusted-proxy localhost" \
	"--proxy-protocol v3" "--proxy-protocol 2"; do
	rc=0
	# shellcheck disable=SC2086
	"$xg_real_bin" --cert "$XG_TMP/cert.pem" --key "$XG_TMP/key.pem" \
		--domain "$DOMAIN" --auth "$XG_TMP/helper" --backend 127.0.0.1:1 \
		$args </dev/null >"$XG_TMP/usage.out" 2>&1 || rc=$?
	[ "$rc" = 100 ] || fail "$args: exit $rc, not 100"
	echo "    $args: $(head -n 1 "$XG_TMP/usage.out")"
done
rc=0
"$xg_real_bin" --cert "$XG_TMP/cert.pem" --key "$XG_TMP/key.pem" --domain "$DOMAIN" \
	--auth "$XG_TMP/helper" --proxy-protocol v1 -- /bin/cat </dev/null \
	>"$XG_TMP/usage.out" 2>&1 || rc=$?
[ "$rc" = 100 ] || fail "--proxy-protocol in exec mode: exit $rc, not 100"
# 32 --trusted-proxy ranges are taken (XG_TRUSTED_PROXY_MAX), a 33rd is not.
many=""
for i in $(seq 1 33); do many="$many --trusted-proxy 10.0.$i.0/24"; done
rc=0
# shellcheck disable=SC2086
"$xg_real_bin" --cert "$XG_TMP/cert.pem" --key "$XG_TMP/key.pem" --domain "$DOMAIN" \
	--auth "$XG_TMP/helper" --backend 127.0.0.1:1 --accept-proxy-protocol $many \
	--version >"$XG_TMP/usage.out" 2>&1 || rc=$?
[ "$rc" = 100 ] && grep -q "at most 32 --trusted-proxy" "$XG_TMP/usage.out" ||
	fail "33 --trusted-proxy: exit $rc, $(cat "$XG_TMP/usage.out")"
rc=0
# shellcheck disable=SC2086
"$xg_real_bin" --cert "$XG_TMP/cert.pem" --key "$XG_TMP/key.pem" --domain "$DOMAIN" \
	--auth "$XG_TMP/helper" --backend 127.0.0.1:1 --accept-proxy-protocol \
	${many% --trusted-proxy *} --version >"$XG_TMP/usage.out" 2>&1 || rc=$?
[ "$rc" = 0 ] || fail "32 --trusted-proxy: exit $rc, $(cat "$XG_TMP/usage.out")"
pass "usage errors (exit 100)"

assert_no_leftovers
