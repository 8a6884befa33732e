#!/bin/bash
# A demonstration: build xmppgate, start Prosody on loopback in a private
# directory, put xmppgate in front of it on 127.0.0.1:15222 (the contrib
# passwd helper checks the password), log in as demo@example.test with the
# test client, print the result and stop everything again.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

bash scripts/deps.sh
[ -x configure ] || autoreconf -fi
[ -f Makefile ] || ./configure
make -j2

export top_srcdir=$ROOT top_builddir=$ROOT
# lib.sh: private directory, helpers, and a trap that stops everything.
. "$ROOT/tests/lib.sh"

DOMAIN=example.test
DEMO_USER=demo
DEMO_PASS='demo-Passw0rd'
GATE_PORT=15222
if is_listening "$GATE_PORT"; then
	fail "port $GATE_PORT is in use"
fi

PRO=$XG_TMP/prosody
make_certs "$XG_TMP" "$DOMAIN"
mkdir -p "$PRO"
cp "$XG_TMP"/*.pem "$PRO/"
PPORT=$(free_port)
prosody_config "$PRO" "$PPORT" "$DOMAIN"
prosody_adduser "$PRO" "$DEMO_USER" "$DOMAIN" "$DEMO_PASS"
start_prosody "$PRO" "$PPORT" "$DOMAIN"

# The same password in xmppgate's passwd file; the helper takes the file
# as its argument, so xmppgate runs it through a wrapper.
printf '%s' "$DEMO_PASS" |
	"$ROOT/contrib/xmppgate-auth-passwd" --hash "$DEMO_USER@$DOMAIN" >"$XG_TMP/passwd"
write_helper "$XG_TMP/helper-passwd" \
	"exec '$ROOT/contrib/xmppgate-auth-passwd' '$XG_TMP/passwd'"

start_gate "$GATE_PORT" --cert "$XG_TMP/chain.pem" --key "$XG_TMP/key.pem" \
	--domain "$DOMAIN" --auth "$XG_TMP/helper-passwd" \
	--backend "127.0.0.1:$PPORT" --verbose

log "logging in as $DEMO_USER@$DOMAIN via 127.0.0.1:$GATE_PORT"
rc=0
$XG_CLIENT --jid "$DEMO_USER@$DOMAIN" --password "$DEMO_PASS" \
	--host 127.0.0.1 --port "$GATE_PORT" --ca "$XG_TMP/ca.pem" \
	--to "$DEMO_USER@$DOMAIN" --message "hello from the xmppgate demo" \
	--timeout 20 || rc=$?
wait_summaries 1 10 >/dev/null || :
echo "--- xmppgate log"
grep 'xmppgate\[' "$XG_GATE_LOG" || :
[ "$rc" -eq 0 ] || fail "the demo login failed"
log "demo OK; stopping prosody and xmppgate"
