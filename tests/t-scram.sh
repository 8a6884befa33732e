#!/bin/bash
# SCRAM at the front door (xmppgate-auth(5) "SCRAM"): the helper gives
# stored credentials, never sees or passes a password, and real clients
# log in through xmppgate with SCRAM-SHA-256, SCRAM-SHA-1 and their -PLUS
# forms to a real Prosody and a real ejabberd:
#  - slixmpp (SCRAM-SHA-256-PLUS with tls-unique on TLS 1.2; SCRAM-SHA-256
#    and SCRAM-SHA-1 where no -PLUS is offered, since it sends "y");
#  - GNU SASL's client (tests/gsasl_client: -PLUS with tls-exporter on TLS
#    1.3, tls-unique on 1.2, plain SCRAM);
#  - a hand-made client (tests/scram_raw.py) for tls-server-end-point and
#    what no library sends on purpose: another channel's binding, a
#    replayed client-final, "y" while -PLUS is offered, tls-unique on 1.3.
# bob's credentials are converted from Prosody's own account file by
# contrib/xmppgate-scram-prosody, without his password.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

DOMAIN=example.test
require_xmppgate
GSASL=$top_builddir/tests/gsasl_client
[ -x "$GSASL" ] || fail "tests/gsasl_client not built: configure found no libgsasl (apt-get install libgsasl-dev)"
SCRAM=$top_builddir/contrib/xmppgate-auth-scram
CONVERT=$top_srcdir/contrib/xmppgate-scram-prosody

test_prosody "$DOMAIN"
# Prosody stores SCRAM-SHA-1 credentials (internal_hashed), as most do.
sed -i 's/^authentication = .*/authentication = "internal_hashed"/' "$PRO/prosody.cfg.lua"
prosody_adduser "$PRO" alice "$DOMAIN" 'alice-backend'
prosody_adduser "$PRO" bob "$DOMAIN" 'bob pass'
start_prosody "$PRO" "$PPORT" "$DOMAIN"

check "the credentials: xmppgate-auth-scram --hash, and Prosody's file converted"
DB=$XG_TMP/scram.db
{
	printf 'alice front' | "$SCRAM" --hash -a SHA-256 "alice@$DOMAIN"
	printf 'alice front\n' | "$SCRAM" --hash -a SHA-1 -i 4096 "alice@$DOMAIN"
	echo "alice@$DOMAIN password=alice-backend"
	"$CONVERT" "$PRO/data/example%2etest/accounts/bob.dat"
	echo "bob@$DOMAIN password=bob pass"
	printf 'carol front' | "$SCRAM" --hash "carol@$DOMAIN"
} >"$DB" || fail "making the credentials failed"
cat "$DB" | sed 's/^/    /'
grep -q "^alice@$DOMAIN SCRAM-SHA-256\\\$10000:" "$DB" || fail "no SHA-256 line with 10000 iterations for alice"
grep -q "^alice@$DOMAIN SCRAM-SHA-1\\\$4096:" "$DB" || fail "no SHA-1 line with -i 4096 for alice"
grep -q "^bob@$DOMAIN SCRAM-SHA-1\\\$10000:" "$DB" || fail "Prosody's account did not convert"
grep -q "bob pass" "$PRO/data/example%2etest/accounts/bob.dat" && fail "Prosody stored bob's password in clear"
out=$("$CONVERT" --hash SHA-256 "$PRO/data/example%2etest/accounts/bob.dat" 2>&1) &&
	fail "SHA-1 keys taken as SHA-256: $out"
echo "    $out"
pass "credentials written; a key of the wrong length is refused"

# The helper, and a log of what each run got: its SCRAM variables and
# how many bytes were on its standard input.
write_helper "$XG_TMP/helper" "n=\$(wc -c); echo \"\$AUTH_MECHANISM user=\$AUTH_USER hash=\${AUTH_SCRAM_HASH:-none} cb=\${AUTH_CHANNEL_BINDING:-none} stdin=\$n\" >>'$XG_TMP/helper.log'
exec '$SCRAM' '$DB' </dev/null"
# (It read its input to count it, so PLAIN gets a helper of its own.)
write_helper "$XG_TMP/plain-helper" "exec '$SCRAM' '$DB'"

slix() { $XG_CLIENT --ca "$XG_TMP/ca.pem" --port "$GPORT" --timeout 20 "$@"; }
# (The client is built with the suite's sanitizers; what it leaks at its
# exit is not xmppgate's, so LeakSanitizer is off for it alone.)
gsasl() { ASAN_OPTIONS=detect_leaks=0 "$GSASL" 127.0.0.1 "$GPORT" "$DOMAIN" "$@"; }
raw() { /usr/bin/python3 "$top_srcdir/tests/scram_raw.py" --ca "$XG_TMP/ca.pem" --port "$GPORT" "$@"; }
gate() {
	local name=$1
	shift
	new_gate "$name" --backend "127.0.0.1:$PPORT" --auth-delay 0 --auth "$XG_TMP/helper" "$@"
}
expect_line() {	# OUTPUT REGEX WHAT
	printf '%s\n' "$1" | grep -q -- "$2" || fail "$3: $1"
}

gate scram --auth-scram

check "features after TLS: SCRAM before PLAIN, -PLUS first, XEP-0440's binding types per TLS version"
out=$(raw --features --password 'alice front') || fail "tls-server-end-point login: $out"
feat=$(printf '%s\n' "$out" | sed -n 's/^FEATURES //p')
expect_line "$feat" "<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-256-PLUS</mechanism><mechanism>SCRAM-SHA-1-PLUS</mechanism><mechanism>SCRAM-SHA-256</mechanism><mechanism>SCRAM-SHA-1</mechanism><mechanism>PLAIN</mechanism></mechanisms>" "mechanisms (TLS 1.3)"
expect_line "$feat" "<sasl-channel-binding xmlns='urn:xmpp:sasl-cb:0'><channel-binding type='tls-server-end-point'/><channel-binding type='tls-exporter'/></sasl-channel-binding>" "binding types (TLS 1.3)"
echo "    TLS 1.3: ${feat#*<mechanisms}"
out=$(raw --features --tls12 --password 'alice front') || fail "TLS 1.2 login: $out"
feat=$(printf '%s\n' "$out" | sed -n 's/^FEATURES //p')
expect_line "$feat" "<channel-binding type='tls-unique'/><channel-binding type='tls-server-end-point'/></sasl-channel-binding>" "binding types (TLS 1.2)"
expect_line "$feat" "<mechanism>SCRAM-SHA-256-PLUS</mechanism>.*<mechanism>PLAIN</mechanism>" "mechanisms (TLS 1.2)"
printf '%s\n' "$feat" | grep -q tls-exporter && fail "tls-exporter offered on TLS 1.2"
pass "SCRAM-SHA-256-PLUS SCRAM-SHA-1-PLUS SCRAM-SHA-256 SCRAM-SHA-1 PLAIN; 1.3: tls-server-end-point tls-exporter; 1.2: tls-unique tls-server-end-point"

check "slixmpp picks SCRAM-SHA-256-PLUS (tls-unique, TLS 1.2), logs in to Prosody and gets its message back"
: >"$XG_TMP/helper.log"
out=$(slix --tls12 --jid "alice@$DOMAIN" --password 'alice front' --to "alice@$DOMAIN") || fail "slixmpp: $out"
echo "    $out"
expect_line "$out" "mech=SCRAM-SHA-256-PLUS" "mechanism"
expect_line "$out" "message=ok" "message"
expect_line "$(cat "$XG_TMP/helper.log")" "^SCRAM-SHA-256-PLUS user=alice hash=SHA-256 cb=tls-unique stdin=0$" "helper request"
grep -q 'authentication attempt .* failed' "$XG_GATE_LOG" && fail "an attempt failed before"
pass "logged in at the first attempt; the helper got SHA-256, tls-unique and no byte on stdin"

check "GNU SASL's client: SCRAM-SHA-256-PLUS with tls-exporter (TLS 1.3), SCRAM-SHA-1-PLUS with tls-unique (TLS 1.2), SCRAM-SHA-256 and SCRAM-SHA-1"
for args in "SCRAM-SHA-256-PLUS x" "SCRAM-SHA-1-PLUS x tls12" "SCRAM-SHA-256 x" "SCRAM-SHA-1 x"; do
	set -- $args
	m=$1
	shift 2
	out=$(gsasl alice 'alice front' "$m" "$XG_TMP/ca.pem" "$@" | grep RESULT) || fail "gsasl $m: $out"
	echo "    $out"
	expect_line "$out" "login=ok mech=$m .*jid=alice@$DOMAIN/" "gsasl $m"
done
out=$(gsasl bob 'bob pass' SCRAM-SHA-1 "$XG_TMP/ca.pem" | grep RESULT) || fail "gsasl bob: $out"
echo "    $out (credentials converted from Prosody's file)"
expect_line "$(cat "$XG_TMP/helper.log")" "SCRAM-SHA-256-PLUS user=alice hash=SHA-256 cb=tls-exporter stdin=0" "helper request"
pass "four mechanisms, three binding types, libgsasl checked our signatures"

check "tls-server-end-point (no library here has it) for SHA-256-PLUS and SHA-1-PLUS, on TLS 1.3 and 1.2"
for a in "" "--tls12"; do
	for m in SCRAM-SHA-256-PLUS SCRAM-SHA-1-PLUS; do
		# shellcheck disable=SC2086
		out=$(raw $a --mech "$m" --password 'alice front') || fail "$m $a: $out"
		echo "    $out $a"
	done
done
pass "bound to our certificate's hash"

check "PLAIN still works, checked by the helper against the stored credentials"
new_gate plain --backend "127.0.0.1:$PPORT" --auth-delay 0 --auth "$XG_TMP/plain-helper" --auth-scram
out=$(slix --jid "alice@$DOMAIN" --password 'alice front' --mechanism PLAIN) || fail "PLAIN: $out"
echo "    $out"
expect_line "$out" "mech=PLAIN" "mechanism"
out=$(slix --jid "alice@$DOMAIN" --password 'alice-backend' --mechanism PLAIN --expect auth-failure --condition not-authorized) ||
	fail "PLAIN with the backend password: $out"
pass "PLAIN with the front password; the backend's password is not the user's"

gate scram2 --auth-scram
check "refused: a wrong password, another channel's binding, a replayed client-final, 'y' while -PLUS is offered, tls-unique on TLS 1.3"
out=$(gsasl alice 'alice wrong' SCRAM-SHA-256-PLUS "$XG_TMP/ca.pem" | grep RESULT) || :
expect_line "$out" "login=failed condition=not-authorized" "wrong password"
echo "    wrong password: $out"
wait_log 'attempt 1 failed: SCRAM: wrong password (bad proof)' || fail "no bad-proof reason logged"
out=$(gsasl alice 'alice front' SCRAM-SHA-256-PLUS "$XG_TMP/ca.pem" tamper | grep RESULT) || :
expect_line "$out" "login=failed condition=not-authorized" "tampered tls-exporter"
echo "    another channel's tls-exporter (gsasl): $out"
out=$(raw --tamper --password 'alice front') || :
expect_line "$out" "login=failed condition=not-authorized" "tampered tls-server-end-point"
echo "    another channel's tls-server-end-point: $out"
out=$(raw --replay --mech SCRAM-SHA-256 --cb none --password 'alice front') || :
expect_line "$out" "login=failed condition=not-authorized" "replay"
echo "    replayed client-final: $out"
out=$(raw --mech SCRAM-SHA-256 --flag y --password 'alice front') || :
expect_line "$out" "login=failed condition=not-authorized" "y flag"
echo "    'y' while -PLUS is offered: $out"
out=$(raw --cb tls-unique --password 'alice front') || :
expect_line "$out" "login=failed condition=not-authorized" "tls-unique on 1.3"
echo "    tls-unique on TLS 1.3: $out"
out=$(raw --mech SCRAM-SHA-256 --cb tls-exporter --flag p=tls-exporter --password 'alice front') || :
expect_line "$out" "login=failed condition=malformed-request" "p= on a plain mechanism"
echo "    p= with SCRAM-SHA-256: $out"
for re in 'SCRAM: channel binding data is not this connection' \
	'SCRAM: nonce is not this exchange' 'SCRAM: client says we cannot bind' \
	'SCRAM: channel binding type not offered'; do
	grep -q "$re" "$XG_GATE_LOG" || { show_log "$XG_GATE_LOG"; fail "not logged: $re"; }
done
n=$(summaries | grep -c 'outcome=refused') || :
[ "$n" -ge 7 ] || fail "expected 7 refused sessions, saw $n"
pass "each refused with <not-authorized/> (p= on a plain mechanism: <malformed-request/>), each reason logged"

check "slixmpp 1.8 sends tls-unique on TLS 1.3 too: refused (documented); with no -PLUS offered it logs in with SCRAM-SHA-256 and SCRAM-SHA-1"
out=$(slix --jid "alice@$DOMAIN" --password 'alice front' --mechanism SCRAM-SHA-256-PLUS --expect auth-failure --condition not-authorized) ||
	fail "slixmpp tls-unique on 1.3: $out"
echo "    $out"
gate noplus --auth-scram --sasl-mechanisms SCRAM-SHA-256,SCRAM-SHA-1,PLAIN
out=$(slix --jid "alice@$DOMAIN" --password 'alice front') || fail "slixmpp: $out"
echo "    $out"
expect_line "$out" "mech=SCRAM-SHA-256 " "no -PLUS: SCRAM-SHA-256"
out=$(slix --jid "bob@$DOMAIN" --password 'bob pass' --mechanism SCRAM-SHA-1 --to "bob@$DOMAIN") || fail "slixmpp bob: $out"
echo "    $out"
expect_line "$out" "message=ok mech=SCRAM-SHA-1 " "bob SCRAM-SHA-1"
pass "as documented in xmppgate(8)"

check "connect mode without the helper's password=: <temporary-auth-failure/>, reason logged"
gate carol --auth-scram --max-attempts 1
out=$(gsasl carol 'carol front' SCRAM-SHA-256-PLUS "$XG_TMP/ca.pem" | grep RESULT) || :
expect_line "$out" "login=failed condition=temporary-auth-failure" "carol"
echo "    $out"
wait_log 'helper gave no backend password (password=) for SCRAM-SHA-256-PLUS in connect mode' ||
	fail "no reason logged"
pass "temporary-auth-failure"

check "usage: SCRAM without --auth-scram, --auth-scram with another protocol, unknown or repeated names"
for args in "--sasl-mechanisms SCRAM-SHA-256" "--auth-scram --auth-protocol ejabberd" \
	"--auth-scram --sasl-mechanisms SCRAM-SHA-512" "--auth-scram --sasl-mechanisms PLAIN,PLAIN" \
	"--auth-scram --sasl-mechanisms PLAIN,"; do
	# shellcheck disable=SC2086
	"$xg_real_bin" --cert "$XG_TMP/cert.pem" --key "$XG_TMP/key.pem" --domain "$DOMAIN" \
		--auth /bin/true --backend 127.0.0.1:1 $args </dev/null >/dev/null 2>"$XG_TMP/usage.err" &&
		rc=0 || rc=$?
	[ "$rc" = 100 ] || fail "$args: exit $rc, not 100"
	echo "    $args: $(cat "$XG_TMP/usage.err")"
done
pass "exit 100 with a message"

check "ejabberd backend: slixmpp SCRAM-SHA-256-PLUS, libgsasl SCRAM-SHA-256-PLUS (tls-exporter) and SCRAM-SHA-256"
test_ejabberd "$DOMAIN"
start_ejabberd
ejabberd_adduser alice "$DOMAIN" 'alice-backend'
new_gate ej --backend "127.0.0.1:$EJ_PORT" --auth-delay 0 --auth "$XG_TMP/helper" --auth-scram
out=$(slix --tls12 --jid "alice@$DOMAIN" --password 'alice front' --to "alice@$DOMAIN") || fail "slixmpp: $out"
echo "    $out"
expect_line "$out" "message=ok mech=SCRAM-SHA-256-PLUS " "slixmpp to ejabberd"
for m in SCRAM-SHA-256-PLUS SCRAM-SHA-256; do
	out=$(gsasl alice 'alice front' "$m" "$XG_TMP/ca.pem" | grep RESULT) || fail "gsasl $m: $out"
	echo "    $out"
	expect_line "$out" "login=ok mech=$m " "gsasl $m to ejabberd"
done
wait_summaries 3 >/dev/null
for i in $(seq 1 50); do
	n=$(grep -c "Accepted c2s PLAIN authentication for alice@$DOMAIN" "$EJ/logs/ejabberd.log") || :
	[ "$n" -ge 3 ] && break
	sleep 0.1
done
[ "$n" -ge 3 ] || { show_log "$EJ/logs/ejabberd.log"; fail "ejabberd logged $n logins for alice, not 3"; }
pass "ejabberd logged the three logins (PLAIN, with the helper's password)"
