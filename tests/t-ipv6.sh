#!/bin/bash
# IPv6: xmppgate on [::1], Prosody on ::1, backend given as [::1]:PORT.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

DOMAIN=example.test
require_xmppgate
$XG_PY -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null ||
	fail "IPv6 loopback ::1 is not available on this machine"

make_certs "$XG_TMP" "$DOMAIN"
PRO=$XG_TMP/prosody
mkdir -p "$PRO"
cp "$XG_TMP"/*.pem "$PRO/"
PPORT=$(free_port ::1)
prosody_config "$PRO" "$PPORT" "$DOMAIN" ::1
prosody_adduser "$PRO" alice "$DOMAIN" alicepw6
prosody_adduser "$PRO" bob "$DOMAIN" bobpw6
start_prosody "$PRO" "$PPORT" "$DOMAIN" ::1

write_helper "$XG_TMP/helper-v6" '
pw=$(cat)
case "$AUTH_USER:$pw:$TCPREMOTEIP" in
alice:alicepw6:::1|bob:bobpw6:::1) exit 0 ;;
esac
echo "helper: refused $AUTH_USER from $TCPREMOTEIP" >&2
exit 1'

GPORT=$(free_port ::1)
XG_GATE_ADDR='[::1]' start_gate "$GPORT" --cert "$XG_TMP/chain.pem" \
	--key "$XG_TMP/key.pem" --domain "$DOMAIN" --auth "$XG_TMP/helper-v6" \
	--backend "[::1]:$PPORT" --auth-delay 0 --timeout 15

check "log in over ::1 to Prosody on ::1 and exchange a message"
out=$($XG_CLIENT --jid "alice@$DOMAIN" --password alicepw6 \
	--jid2 "bob@$DOMAIN" --password2 bobpw6 --host ::1 --port "$GPORT" \
	--ca "$XG_TMP/ca.pem" --to "bob@$DOMAIN" --message "hi over IPv6" \
	--timeout 20) || fail "client: $out"
echo "    $out"
pass "IPv6 login and message"

check "summary lines: client=[::1]:PORT, backend=[::1]:$PPORT, outcome=ok"
lines=$(wait_summaries 2 10)
printf '%s\n' "$lines" | sed 's/^/    /'
while read -r line; do
	expect_summary "$line" outcome=ok "backend=[::1]:$PPORT" rx='>0' tx='>0'
	case $line in
	*"client=[::1]:"*) ;;
	*) fail "client should be [::1]:PORT: $line" ;;
	esac
done <<EOF
$lines
EOF
pass "summary ok"

check "no xmppgate or helper left running"
assert_no_leftovers 5
pass "no leftovers"
