#!/bin/bash
# The hand-off to xmppgate-relay (--relay).  On this host: the usage
# errors, and a session that stays in xmppgate, with one line saying why,
# when the kernel has no TLS (or, on a kernel with TLS, when no relay
# listens).  Then tests/relay_uml_inner.sh inside user-mode Linux, whose
# kernel has TLS (tests/uml.sh): sessions handed over end to end, 256 MiB
# each way, the ends, the fallbacks, slixmpp with a real Prosody, a relay
# killed and started again, and XG_RELAY_UML_IDLE idle sessions (1,000 by
# default, issue 22's figure) held by the relay with every xmppgate gone,
# logged in through the pooled mode, whose child for each connection
# hands its session over and exits.  Measured on a 2-core host shared
# with other jobs: the whole test 6 min 11 s and 8 min 13 s, the 1,000
# sessions 187 s and 259 s of it (the logins 170 s and 218 s); with 200,
# about 2.5 min less.  A login in user-mode Linux costs its page faults (a
# host ptrace round trip each): a pooled child takes about 65 ms of CPU,
# an xmppgate executed per connection about 160 ms; the guest has one
# CPU, busy all along.  The guest's whole run is bounded at 30 minutes.
#
# The user-mode Linux half says SKIP (exit 77, with the reason) where it
# is not installed or does not boot, with the ASan build and under
# valgrind, after the host half passed; never a silent pass.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

DOMAIN=example.test
PASSWORD='s3cret relay'
RELAY_CLIENT=$top_builddir/tests/relay_client
RELAY_BACKEND=$top_srcdir/tests/relay_backend.py

require_xmppgate
[ -x "$RELAY_CLIENT" ] ||
	fail "test client not built: $RELAY_CLIENT (make check builds it)"
make_certs "$XG_TMP" "$DOMAIN"

check "--relay: usage errors, exit 100, each with its reason"
base="--cert $XG_TMP/cert.pem --key $XG_TMP/key.pem --domain $DOMAIN --auth /bin/true"
long=/$(printf 'r%.0s' $(seq 1 120))
while IFS='|' read -r args want; do
	set +e
	# shellcheck disable=SC2086
	err=$("$xg_bin" $base $args 2>&1 >/dev/null)
	rc=$?
	set -e
	echo "    $args: $err"
	[ "$rc" -eq 100 ] || fail "'$args': exit $rc, not 100"
	case $err in
	*"$want"*) ;;
	*) fail "'$args': expected '$want'" ;;
	esac
done <<EOF
--backend 127.0.0.1:1 --relay relay.sock|--relay wants the absolute path of xmppgate-relay's socket
--backend 127.0.0.1:1 --relay $long|--relay: the path is longer than a socket's
--relay /run/r.sock -- /bin/cat|--relay goes with --backend: an exec-mode program is a child of this process
--backend 127.0.0.1:1 --backend-tls starttls --relay /run/r.sock|--relay does not go with --backend-tls
--route $XG_TMP/map --relay /run/r.sock|--relay does not go with --route
EOF
pass "five usage errors"

check "on this host: the session stays in xmppgate, one line says why, every byte"
write_helper "$XG_TMP/helper-check" '
pw=$(cat)
[ "$AUTH_USER" = alice ] && [ "$pw" = "s3cret relay" ] && exit 0
exit 1'
BPORT=$(free_port)
bg "$XG_TMP/backend.log" "$XG_PY" "$RELAY_BACKEND" --listen "$BPORT" \
	"$XG_TMP/host.result" $((4 * 1024 * 1024))
wait_port "$BPORT" 10 "$BG_PID" || fail "the backend did not listen"
new_gate host --auth "$XG_TMP/helper-check" --auth-delay 0 \
	--backend "127.0.0.1:$BPORT" --relay "$XG_TMP/no-relay.sock"
out=$("$RELAY_CLIENT" --host 127.0.0.1 --port "$GPORT" --ca "$XG_TMP/ca.pem" \
	--domain "$DOMAIN" --user alice --password "$PASSWORD" \
	--send $((4 * 1024 * 1024)) --timeout 60 --restart 2>"$XG_TMP/host-client.log") ||
	fail "relay_client: $(tail -n 1 "$XG_TMP/host-client.log")"
for i in $(seq 1 100); do
	[ -e "$XG_TMP/host.result" ] && break
	sleep 0.1
done
res=$(cat "$XG_TMP/host.result" 2>/dev/null) || fail "no result from the backend"
echo "    client:  $out"
echo "    backend: $res"
[ "$(summary_field "$out" sent_sha256)" = "$(summary_field "$res" received_sha256)" ] &&
[ "$(summary_field "$res" sent_sha256)" = "$(summary_field "$out" received_sha256)" ] ||
	fail "the bytes differ"
line=$(grep 'relay hand-off: ' "$XG_GATE_LOG") || fail "no 'relay hand-off:' line"
echo "    log: ${line#*conn=}"
[ "$(printf '%s\n' "$line" | wc -l)" -eq 1 ] || fail "more than one line"
if grep -q 'kernel TLS: in use' "$XG_GATE_LOG"; then
	want="relay hand-off: not done (connect $XG_TMP/no-relay.sock: No such file or directory); relaying in this process"
else
	want="relay hand-off: not done (kernel TLS is not in use); relaying in this process"
fi
case $line in
*"$want") ;;
*) fail "expected: $want" ;;
esac
expect_summary "$(wait_summaries 1 10)" outcome=ok "backend=127.0.0.1:$BPORT"
kill_bg "$GATE_PID"
pass "relayed in xmppgate, said why"

if grep -q '^#define XG_SANITIZERS 1' "$top_builddir/config.h" 2>/dev/null; then
	# ASan cannot map its shadow memory in user-mode Linux (t-ktls-uml).
	echo "t-relay-uml: SKIP (the user-mode Linux half): not with the ASan+UBSan build (ASan cannot map its shadow memory in user-mode Linux); the plain run covers it"
	exit 77
fi
if [ -n "${XG_VALGRIND:-}" ]; then
	echo "t-relay-uml: SKIP (the user-mode Linux half): not under valgrind (the plain run covers it)"
	exit 77
fi
[ -x "$top_builddir/xmppgate-relay" ] || fail "xmppgate-relay not built"

check "the hand-off inside user-mode Linux"
XG_RELAY_UML_CERTS=$XG_TMP \
XG_RELAY_UML_BYTES=${XG_RELAY_UML_BYTES:-$((256 * 1024 * 1024))} \
XG_RELAY_UML_IDLE=${XG_RELAY_UML_IDLE:-1000} \
UML_PASS_ENV="XG_RELAY_UML_CERTS XG_RELAY_UML_BYTES XG_RELAY_UML_IDLE" \
	uml_run relay_uml_inner 14 --timeout 1800 --mem 1024M
