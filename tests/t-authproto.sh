#!/bin/bash
# --auth-protocol ejabberd and checkpassword: scripts written for ejabberd's
# external auth (one as they are written in the wild: text mode, a signed
# length; one as ejabberd's documentation writes it) and a checkpassword
# program (DJB's interface, fd 3, exec of the next program) authenticate
# slixmpp through xmppgate to a real Prosody, unchanged.  The
# checkpassword program also routes a user with Dovecot's EXTRA fields,
# and the native helper sends two users of one domain to two Prosodys.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

DOMAIN=example.test
require_xmppgate

test_prosody "$DOMAIN"
prosody_adduser "$PRO" alice "$DOMAIN" 'pa:ss word'
prosody_adduser "$PRO" bob "$DOMAIN" 'bob-backend'
start_prosody "$PRO" "$PPORT" "$DOMAIN"

# The scripts read their user files from arguments or the environment;
# xmppgate runs a helper with a clean environment and no arguments, so a
# two-line wrapper supplies them, as an operator's unit would.
printf 'alice:%s:pa:ss word\n' "$DOMAIN" >"$XG_TMP/extauth.users"
write_helper "$XG_TMP/ej-wild" "exec /usr/bin/python3 '$top_srcdir/tests/extauth_wild.py' '$XG_TMP/extauth.users' '$XG_TMP/ej-wild.log'"
write_helper "$XG_TMP/ej-correct" "exec /usr/bin/python3 '$top_srcdir/tests/extauth_correct.py' '$XG_TMP/extauth.users'"
write_helper "$XG_TMP/ej-linger" "exec /usr/bin/python3 '$top_srcdir/tests/extauth_correct.py' '$XG_TMP/extauth.users' linger"
# (The checkpassword users file splits on ':', so alice's password with a
# colon cannot be in it; the alias carries bob's backend login.)
printf 'carol:carol-pass\nalias:alias-pass:127.0.0.1:%s:bob:bob-backend\n' "$PPORT" >"$XG_TMP/cp.users"
write_helper "$XG_TMP/cp" "CHECKPASSWORD_USERS='$XG_TMP/cp.users' exec /usr/bin/python3 '$top_srcdir/tests/checkpassword.py' \"\$@\""
write_helper "$XG_TMP/cp-misuse" 'exit 2'

client() { $XG_CLIENT --ca "$XG_TMP/ca.pem" --port "$GPORT" --timeout 20 "$@"; }
gate() {
	local name=$1
	shift
	new_gate "$name" --backend "127.0.0.1:$PPORT" --auth-delay 0 "$@"
}

for s in wild correct; do
	check "ejabberd extauth script ($s): alice logs in (a ':' in the password), a wrong password is refused"
	gate "ej-$s" --auth-protocol ejabberd --auth "$XG_TMP/ej-$s"
	out=$(client --jid "alice@$DOMAIN" --password 'pa:ss word' --to "alice@$DOMAIN") ||
		fail "client: $out"
	echo "    $out"
	out=$(client --jid "alice@$DOMAIN" --password 'pa:ss wrong' --expect auth-failure \
		--condition not-authorized) || fail "client: $out"
	echo "    $out"
	lines=$(wait_summaries 2)
	expect_summary "$(printf '%s\n' "$lines" | sed -n 1p)" outcome=ok user=alice
	expect_summary "$(printf '%s\n' "$lines" | sed -n 2p)" outcome=refused user=alice
	wait_log 'authentication attempt 1 failed: helper rejected' || fail "no rejection logged"
	pass "accepted and rejected by an unchanged script"
done
grep -q "request: auth alice@$DOMAIN" "$XG_TMP/ej-wild.log" || fail "the wild script did not log the request"

check "an extauth script that answers and never exits is killed at --auth-timeout; its answer counts"
gate ej-linger --auth-protocol ejabberd --auth "$XG_TMP/ej-linger" --auth-timeout 2
out=$(client --jid "alice@$DOMAIN" --password 'pa:ss word') || fail "client: $out"
echo "    $out"
wait_summaries 1 >/dev/null
assert_no_leftovers
pass "accepted, script killed"

check "checkpassword (fd 3, exec of the next program): carol logs in; a wrong password is refused"
prosody_adduser "$PRO" carol "$DOMAIN" 'carol-pass'
gate cp --auth-protocol checkpassword --auth "$XG_TMP/cp"
out=$(client --jid "carol@$DOMAIN" --password carol-pass --to "carol@$DOMAIN") ||
	fail "client: $out"
echo "    $out"
out=$(client --jid "carol@$DOMAIN" --password nope --expect auth-failure \
	--condition not-authorized) || fail "client: $out"
echo "    $out"
pass "accepted and rejected"

check "checkpassword with Dovecot's EXTRA host/port/destuser/pass: alias@ lands on bob's account"
out=$(client --jid "alias@$DOMAIN" --password alias-pass) || fail "client: $out"
echo "    $out"
case $out in
*"jid=bob@$DOMAIN/"*) ;;
*) fail "the backend session should be bob's: $out" ;;
esac
pass "routed by the checkpassword program"

check "checkpassword exit 2 (misuse) is a temporary failure"
gate cp-misuse --auth-protocol checkpassword --auth "$XG_TMP/cp-misuse"
out=$(client --jid "carol@$DOMAIN" --password carol-pass --expect auth-failure \
	--condition temporary-auth-failure) || fail "client: $out"
echo "    $out"
wait_log 'checkpassword: misuse (exit 2)' || fail "misuse not logged"
pass "temporary-auth-failure"

check "the native helper routes two users of one domain to two Prosody instances"
# A second Prosody for the same domain; alice's account is only on the
# first, dave's only on the second, so a wrong route cannot log in.
PRO2=$XG_TMP/prosody2
PPORT2=$(free_port)
mkdir -p "$PRO2"
cp "$XG_TMP"/cert.pem "$XG_TMP"/key.pem "$XG_TMP"/ca.pem "$XG_TMP"/chain.pem "$PRO2/"
prosody_config "$PRO2" "$PPORT2" "$DOMAIN"
prosody_adduser "$PRO2" dave "$DOMAIN" 'dave-pass'
start_prosody "$PRO2" "$PPORT2" "$DOMAIN"
write_helper "$XG_TMP/route" "pw=\$(cat)
case \$AUTH_USER:\$pw in
'alice:pa:ss word') echo backend=127.0.0.1:$PPORT ;;
dave:dave-pass) echo backend=127.0.0.1:$PPORT2 ;;
*) exit 1 ;;
esac"
gate route --auth "$XG_TMP/route"
for u in alice dave; do
	pw='pa:ss word'
	[ $u = dave ] && pw=dave-pass
	out=$(client --jid "$u@$DOMAIN" --password "$pw" --to "$u@$DOMAIN") || fail "client: $out"
	echo "    $out"
done
lines=$(wait_summaries 2)
expect_summary "$(printf '%s\n' "$lines" | grep ' user=alice ')" outcome=ok "backend=127.0.0.1:$PPORT"
expect_summary "$(printf '%s\n' "$lines" | grep ' user=dave ')" outcome=ok "backend=127.0.0.1:$PPORT2"
grep -q 'dave@example.test' "$PRO2/prosody.log" || fail "the second Prosody has no session for dave"
grep -q 'dave@example.test' "$PRO/prosody.log" && fail "dave reached the first Prosody"
pass "each user on its own Prosody"

check "the native helper: redirect= is <see-other-host/>; message= and delay= shape a failure"
write_helper "$XG_TMP/steer" 'pw=$(cat)
case $AUTH_USER in
moved) echo redirect=xmpp2.example.test:5223 ;;
locked) printf "message=Your account is locked <see https://example.test/?a&b>\ndelay=50\n"; exit 1 ;;
*) exit 1 ;;
esac'
gate steer --auth "$XG_TMP/steer" --auth-delay 5000 -v
r=$(plain_probe "$GPORT" moved any)
echo "    moved: $r"
[ "$r" = "stream-error see-other-host xmpp2.example.test:5223" ] || fail "moved: $r"
wait_log 'reason="see-other-host: the helper sent moved to xmpp2.example.test:5223"' ||
	{ show_log "$XG_GATE_LOG"; fail "no summary for the redirect"; }
r=$(plain_probe "$GPORT" locked any)
echo "    locked: $r"
[ "$r" = "failure not-authorized Your account is locked &lt;see https://example.test/?a&amp;b&gt;" ] ||
	fail "locked: $r"
# --auth-delay is 5000 ms; the helper's delay=50 replaced it (logged).
wait_log "helper's delay: 50 ms" || fail "the helper's delay was not used"
pass "redirected, and a failure with the helper's text (escaped) and delay"

check "no password in the logs, nothing left running"
if grep -q 'pa:ss word\|carol-pass\|alias-pass\|bob-backend\|dave-pass' "$XG_TMP"/gate*.log; then
	fail "a password appears in a log"
fi
assert_no_leftovers
pass "clean"
log "all checks passed"
