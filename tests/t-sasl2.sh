#!/bin/bash
# SASL2 at the front door (issue 25; xmppgate(8) "SASL2, BIND2 AND FAST"),
# in front of Prosody 0.12, which has no SASL2, Bind2 or FAST of its own:
#  - xmpp.js 0.14 (tests/interop/sasl2_client.mjs, with the channel-bound
#    mechanisms written in tests/interop/sasl2_mechs.mjs): SASL2 with
#    SCRAM-SHA-256-PLUS (tls-exporter, tls-server-end-point) and stock
#    SCRAM-SHA-1, Bind2 with the client's tag, stream management enabled
#    inline, XEP-0474's h= checked, a message through Prosody;
#  - a classic client (slixmpp, no SASL2) at the same time, unchanged, and
#    xmpp.js itself on classic SASL with --no-sasl2;
#  - an inline XEP-0198 resume after a cut connection, with the message
#    sent meanwhile delivered;
#  - FAST with the helper's tokens (contrib/xmppgate-auth-scram --fast): a
#    token issued after a password login, a token login with
#    HT-SHA-256-NONE and -EXPR, a channel-bound initial response replayed
#    on another connection refused, an expired token refused with
#    credentials-expired, a token logged out with <fast invalidate/>, a
#    rotated token (--fast-rotate) passed on and the old one dropped;
#  - exec mode: SASL2 and FAST offered without Bind2, the program's stream
#    opened for it, the client binding with the program.
# The hostile <authenticate> elements are t-hostile's (doc/bad-input.md).
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

DOMAIN=example.test
I=$top_srcdir/tests/interop
SCRAM=$top_builddir/contrib/xmppgate-auth-scram
require_xmppgate
[ -x "$SCRAM" ] || fail "contrib/xmppgate-auth-scram not built"
[ -d "$I/node_modules/@xmpp/client" ] ||
	fail "xmpp.js not installed: npm ci --prefix tests/interop (scripts/deps.sh does it)"

test_prosody "$DOMAIN"
# mod_smacks ships with Prosody 0.12 but is not enabled by default.
sed -i 's/^modules_enabled = { /modules_enabled = { "smacks", /' "$PRO/prosody.cfg.lua"
prosody_adduser "$PRO" alice "$DOMAIN" 'alice-backend'
prosody_adduser "$PRO" bob "$DOMAIN" 'bob-backend'
start_prosody "$PRO" "$PPORT" "$DOMAIN"
DB=$XG_TMP/scram.db
{
	for u in alice bob; do
		printf '%s front' "$u" | "$SCRAM" --hash -a SHA-256 "$u@$DOMAIN"
		printf '%s front' "$u" | "$SCRAM" --hash -a SHA-1 "$u@$DOMAIN"
		echo "$u@$DOMAIN password=$u-backend"
	done
} >"$DB" || fail "making the credentials failed"
FASTDIR=$XG_TMP/fast
mkdir -m 700 "$FASTDIR"
write_helper "$XG_TMP/helper" "exec '$SCRAM' --fast '$FASTDIR' '$DB'"

# (Their bounds are stretched by XG_TIME_FACTOR, as lib.sh's are.)
js() { NODE_EXTRA_CA_CERTS=$XG_TMP/ca.pem XG_TIME_FACTOR=$XG_TIME_FACTOR timeout $((40 * XG_TIME_FACTOR)) node "$I/sasl2_client.mjs" \
	--host 127.0.0.1 --port "$GPORT" --domain "$DOMAIN" "$@"; }
raw() { XG_TIME_FACTOR=$XG_TIME_FACTOR timeout $((40 * XG_TIME_FACTOR)) node "$I/sasl2_raw.mjs" --host 127.0.0.1 --port "$GPORT" \
	--domain "$DOMAIN" --ca "$XG_TMP/ca.pem" "$@"; }
expect_line() {	# OUTPUT REGEX WHAT
	printf '%s\n' "$1" | grep -q -- "$2" || fail "$3: $1"
}
# The newest summary line of the gate's log.
last_summary() { summaries | tail -n 1; }

new_gate sasl2 --backend "127.0.0.1:$PPORT" --auth-delay 0 --auth "$XG_TMP/helper" \
	--auth-scram --fast

check "usage: --fast with --no-sasl2, with another helper protocol, with --s2s-out"
for args in "--fast --no-sasl2 --backend 127.0.0.1:1" \
	"--fast --auth-protocol ejabberd --backend 127.0.0.1:1" "--s2s-out --fast"; do
	# shellcheck disable=SC2086
	"$xg_real_bin" --cert "$XG_TMP/cert.pem" --key "$XG_TMP/key.pem" --domain "$DOMAIN" \
		--auth /bin/true $args </dev/null >/dev/null 2>"$XG_TMP/usage.err" && rc=0 || rc=$?
	[ "$rc" = 100 ] || fail "$args: exit $rc, not 100"
	grep -q "fast\|sasl2" "$XG_TMP/usage.err" || fail "$args: $(cat "$XG_TMP/usage.err")"
	echo "    $args: $(cat "$XG_TMP/usage.err")"
done
pass "exit 100 with a message"

check "the offer: SASL2 with the SASL mechanisms, Bind2 with stream management inline, FAST's HT-SHA-256 forms on TLS 1.3"
out=$(raw --features) || fail "features: $out"
expect_line "$out" "<authentication xmlns='urn:xmpp:sasl:2'><mechanism>SCRAM-SHA-256-PLUS</mechanism><mechanism>SCRAM-SHA-1-PLUS</mechanism><mechanism>SCRAM-SHA-256</mechanism><mechanism>SCRAM-SHA-1</mechanism><mechanism>PLAIN</mechanism><inline><bind xmlns='urn:xmpp:bind:0'><inline><feature var='urn:xmpp:sm:3'/></inline></bind><sm xmlns='urn:xmpp:sm:3'/><fast xmlns='urn:xmpp:fast:0'><mechanism>HT-SHA-256-EXPR</mechanism><mechanism>HT-SHA-256-ENDP</mechanism><mechanism>HT-SHA-256-NONE</mechanism></fast></inline></authentication>" "offer"
pass "offered"

check "the test's mechanisms on fixed vectors (RFC 7677, RFC 5802, XEP-0474): v= and h= checked, wrong ones refused"
out=$(node "$I/sasl2_mechs_check.mjs") || fail "sasl2_mechs_check.mjs: $out"
expect_line "$out" "^RESULT mechs=ok$" "vectors"
pass "vectors"

check "xmpp.js, SASL2 and Bind2: SCRAM-SHA-256-PLUS with both binding types, SCRAM-SHA-1; the tag, stream management, h=, a message"
n0=$(summaries | wc -l)
for m in "SCRAM-SHA-256-PLUS tls-exporter" "SCRAM-SHA-256-PLUS tls-server-end-point" \
	"SCRAM-SHA-1 tls-exporter"; do
	# shellcheck disable=SC2086
	set -- $m
	out=$(js --user alice --password 'alice front' --mech "$1" --cb "$2" --resource phone \
		--send "bob@$DOMAIN" --body "hello $1 $2" | grep RESULT) || fail "$1 $2: $out"
	echo "    $out"
	# XEP-0386: the tag, '/', 8 characters of ours; the JID Prosody bound.
	expect_line "$out" "^RESULT login=ok jid=alice@$DOMAIN/phone/[A-Za-z0-9_-]\{8\} sasl=2 mech=$1 bound=bind2 sm=enabled " "$1 $2"
	expect_line "$out" " ssdp=ok " "$1 h="
	case $1 in *-PLUS) expect_line "$out" " cb=$2$" "$1 cb" ;; esac
done
wait_summaries $((n0 + 3))
summaries | tail -n 3 | sed 's/^/    /'
summaries | tail -n 3 | grep -c "sasl2=SCRAM-SHA-[0-9-]*\(PLUS\)\?,bind2,sm=enabled[ ,]" | grep -qx 3 ||
	fail "the summaries do not say sasl2=MECH,bind2,sm=enabled"
pass "three SASL2 logins with Bind2; each message sent and a ping answered through Prosody"

check "a classic client at the same time (slixmpp, RFC 6120 SASL and bind), and xmpp.js on classic SASL with --no-sasl2"
# slixmpp 1.8 binds -PLUS with tls-unique on TLS 1.3, which is refused
# (xmppgate(8), SCRAM): this gate offers no -PLUS.
SASL2_PORT=$GPORT SASL2_LOG=$XG_GATE_LOG
new_gate mixed --backend "127.0.0.1:$PPORT" --auth-delay 0 --auth "$XG_TMP/helper" \
	--auth-scram --sasl-mechanisms SCRAM-SHA-256,SCRAM-SHA-1,PLAIN
n0=$(summaries | wc -l)
timeout $((40 * XG_TIME_FACTOR)) /usr/bin/python3 "$I/slixmpp_send.py" 127.0.0.1 "$GPORT" "$XG_TMP/ca.pem" \
	"bob@$DOMAIN" 'bob front' "alice@$DOMAIN" "classic hello" >"$XG_TMP/slix.out" 2>&1 &
slix=$!
out=$(js --user alice --password 'alice front' --mech SCRAM-SHA-256 --resource at-once | grep RESULT) ||
	fail "xmpp.js beside slixmpp: $out"
echo "    xmpp.js: $out"
expect_line "$out" "^RESULT login=ok .* sasl=2 " "xmpp.js beside slixmpp"
wait "$slix" || fail "slixmpp failed: $(tail -n 5 "$XG_TMP/slix.out")"
grep RESULT "$XG_TMP/slix.out" | sed 's/^/    slixmpp: /'
grep -q "^RESULT login=ok bind=ok jid=bob@$DOMAIN/" "$XG_TMP/slix.out" || fail "slixmpp did not log in"
wait_summaries $((n0 + 2)) >/dev/null
line=$(summaries | grep " user=bob " | tail -n 1)
echo "    $line"
case $line in *" sasl2="*) fail "slixmpp's login has a sasl2 field: $line" ;; esac
expect_summary "$line" outcome=ok
new_gate classic --backend "127.0.0.1:$PPORT" --auth-delay 0 --auth "$XG_TMP/helper" \
	--auth-scram --no-sasl2
out=$(raw --features) || fail "features: $out"
printf '%s\n' "$out" | grep -q "urn:xmpp:sasl:2" && fail "--no-sasl2 still offers SASL2: $out"
out=$(js --user alice --password 'alice front' --mech SCRAM-SHA-256-PLUS --cb tls-exporter \
	--resource classic | grep RESULT) || fail "--no-sasl2: $out"
echo "    $out"
expect_line "$out" "^RESULT login=ok jid=alice@$DOMAIN/classic sasl=1 .*bound=legacy " "--no-sasl2"
GPORT=$SASL2_PORT XG_GATE_LOG=$SASL2_LOG
pass "slixmpp logged in classically beside a SASL2 login; --no-sasl2 offers classic SASL only"

check "inline stream management resume: the connection is cut, bob sends meanwhile, xmpp.js resumes inside <authenticate> and gets it"
out=$(js --user alice --password 'alice front' --resource roam --resume-test \
	--peer-user bob --peer-password 'bob front' | grep RESULT) || fail "resume: $out"
printf '%s\n' "$out" | sed 's/^/    /'
expect_line "$out" "^RESULT login=ok .* sm=enabled " "sm enabled"
expect_line "$out" "^RESULT resume=ok resumed=inline jid=alice@$DOMAIN/roam/[A-Za-z0-9_-]\{8\} message=received" "resume"
wait_log "sasl2=[A-Z0-9-]*,sm=resumed " || fail "no summary with sm=resumed"
pass "resumed inline; the full JID came back from the id; the stanza Prosody replayed reached the client"

check "FAST: a token issued after a password login (HT-SHA-256-NONE, as xmpp.js asks), then a login with the token alone"
TOK=$XG_TMP/token.json
UA=3c6a4b5e-0f5e-4f7a-9d4e-2b8f6f0c1a11
out=$(js --user alice --password 'alice front' --mech SCRAM-SHA-1 --resource fast --ua-id "$UA" \
	--token-file "$TOK" | grep RESULT) || fail "password login: $out"
echo "    $out"
expect_line "$out" " token=saved " "token issued"
[ -s "$TOK" ] || fail "no token file"
wait_log "sasl2=SCRAM-SHA-1,bind2,sm=enabled,token=issued " || fail "no summary with token=issued"
out=$(js --user alice --resource fast --ua-id "$UA" --token-file "$TOK" --fast-mech HT-SHA-256-NONE |
	grep RESULT) || fail "token login: $out"
echo "    $out"
expect_line "$out" "^RESULT login=ok .* mech=HT-SHA-256-NONE bound=bind2 .* fast=used " "token login"
wait_log "sasl2=HT-SHA-256-NONE,bind2" || fail "no summary for the token login"
pass "issued, saved, used with no password; the helper's Responder HMAC checked by the client"

check "FAST bound to the channel: HT-SHA-256-EXPR logs in; its initial response replayed on another TLS connection is refused"
TOK2=$XG_TMP/token2.json
UA2=9b2d1f0e-7c3a-4e6b-8a5d-1f2e3d4c5b6a
out=$(js --user bob --password 'bob front' --ua-id "$UA2" --token-file "$TOK2" \
	--fast-mech HT-SHA-256-EXPR | grep RESULT) || fail "bob's password login: $out"
expect_line "$out" " token=saved " "bob's token"
tok=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"])' "$TOK2")
out=$(raw --fast-replay --user bob --token "$tok" --ua-id "$UA2" --fast-mech HT-SHA-256-EXPR) ||
	fail "replay: $out"
printf '%s\n' "$out" | sed 's/^/    /'
expect_line "$out" "^RESULT step=fast got=success condition=- responder=ok" "EXPR login"
expect_line "$out" "^RESULT step=replay got=failure condition=not-authorized" "replayed EXPR"
pass "the HMAC over one connection's tls-exporter is worth nothing on another"

check "FAST logout: <fast invalidate='true'/> succeeds once; the token is refused after it"
out=$(raw --fast-invalidate --user bob --token "$tok" --ua-id "$UA2" --fast-mech HT-SHA-256-EXPR) ||
	fail "invalidate: $out"
printf '%s\n' "$out" | sed 's/^/    /'
expect_line "$out" "^RESULT step=invalidate got=success condition=- responder=ok" "invalidate"
expect_line "$out" "^RESULT step=after got=failure condition=not-authorized" "after invalidate"
wait_log ",invalidated " || fail "no summary with invalidated"
pass "logged out"

check "an expired token is refused with credentials-expired (xmpp.js then falls back to its password)"
write_helper "$XG_TMP/helper" "exec '$SCRAM' --fast '$FASTDIR' --fast-ttl 2 '$DB'"
# Two clients' short tokens: one for xmpp.js, one for the raw client (the
# helper drops an expired token once it answered credentials-expired).
TOK3=$XG_TMP/token3.json TOK3B=$XG_TMP/token3b.json
UA3=0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0 UA3B=1f2e3d4c-5b6a-4978-8796-a5b4c3d2e1f1
for t in "$UA3 $TOK3" "$UA3B $TOK3B"; do
	# shellcheck disable=SC2086
	set -- $t
	out=$(js --user alice --password 'alice front' --ua-id "$1" --token-file "$2" | grep RESULT) ||
		fail "password login: $out"
	expect_line "$out" " token=saved " "short token"
	# xmpp.js does not use a token it knows to be expired: make it believe
	# the token is good for years, so that the helper's expiry is what counts.
	/usr/bin/python3 -c 'import json,sys; t=json.load(open(sys.argv[1])); t["expiry"]="2099-01-01T00:00:00Z"; json.dump(t, open(sys.argv[1], "w"))' "$2"
done
sleep 3
tok=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"])' "$TOK3B")
out=$(raw --fast-replay --user alice --token "$tok" --ua-id "$UA3B" --fast-mech HT-SHA-256-NONE) ||
	fail "expired token: $out"
printf '%s\n' "$out" | sed 's/^/    /'
expect_line "$out" "^RESULT step=fast got=failure condition=credentials-expired" "expired"
wait_log "helper rejected: the FAST token expired" || fail "no reason logged"
n0=$(grep -c "the FAST token expired" "$XG_GATE_LOG")
out=$(js --user alice --password 'alice front' --ua-id "$UA3" --token-file "$TOK3" | grep RESULT) ||
	fail "xmpp.js with the expired token and its password: $out"
echo "    $out"
expect_line "$out" "^RESULT login=ok .* mech=SCRAM-SHA-256-PLUS .* token=saved " "fallback"
[ "$(grep -c "the FAST token expired" "$XG_GATE_LOG")" -gt "$n0" ] ||
	fail "xmpp.js did not try its expired token first"
pass "credentials-expired; xmpp.js then logged in with its password and got a new token"

check "FAST token rotation (xmppgate-auth-scram --fast-rotate 0): a token login brings a new token; once it is used, the old one is refused"
write_helper "$XG_TMP/helper" "exec '$SCRAM' --fast '$FASTDIR' --fast-rotate 0 '$DB'"
TOK5=$XG_TMP/token5.json
UA5=7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d
out=$(js --user bob --password 'bob front' --ua-id "$UA5" --token-file "$TOK5" | grep RESULT) ||
	fail "bob's password login: $out"
expect_line "$out" " token=saved " "first token"
old=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"])' "$TOK5")
out=$(js --user bob --ua-id "$UA5" --token-file "$TOK5" --fast-mech HT-SHA-256-NONE | grep RESULT) ||
	fail "token login: $out"
echo "    $out"
expect_line "$out" " mech=HT-SHA-256-NONE .*token=saved fast=used " "rotated"
new=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"])' "$TOK5")
[ "$new" != "$old" ] || fail "the token did not change"
wait_log "sasl2=HT-SHA-256-NONE,bind2,sm=enabled,token=issued " || fail "no summary with token=issued for a token login"
out=$(js --user bob --ua-id "$UA5" --token-file "$TOK5" --fast-mech HT-SHA-256-NONE | grep RESULT) ||
	fail "login with the new token: $out"
expect_line "$out" " fast=used " "the new token"
out=$(raw --fast-replay --user bob --token "$old" --ua-id "$UA5" --fast-mech HT-SHA-256-NONE) ||
	fail "the old token: $out"
printf '%s\n' "$out" | sed 's/^/    old token: /'
expect_line "$out" "^RESULT step=fast got=failure condition=not-authorized" "the old token after the new one was used"
pass "rotated: the new token in <success>, the old one dropped once the new one was used"

check "exec mode: SASL2 with nothing inline but FAST; the program (tests/exec_backend.py) gets the stream opened for it and binds; a token login needs no password from the helper"
ENVLOG=$XG_TMP/exec-env.log
# The helper's password= lines are not used here: exec mode logs in nowhere.
write_helper "$XG_TMP/helper" "exec '$SCRAM' --fast '$FASTDIR' '$DB'"
new_gate exec --auth-delay 0 --auth "$XG_TMP/helper" --auth-scram --fast \
	-- "$XG_PY" "$top_srcdir/tests/exec_backend.py" "$ENVLOG"
out=$(raw --features) || fail "features: $out"
expect_line "$out" "</mechanisms><authentication xmlns='urn:xmpp:sasl:2'><mechanism>SCRAM-SHA-256-PLUS</mechanism><mechanism>SCRAM-SHA-1-PLUS</mechanism><mechanism>SCRAM-SHA-256</mechanism><mechanism>SCRAM-SHA-1</mechanism><mechanism>PLAIN</mechanism><inline><fast xmlns='urn:xmpp:fast:0'>" "exec-mode offer"
printf '%s\n' "$out" | grep -q "urn:xmpp:bind:0" && fail "exec mode offers Bind2: $out"
TOK4=$XG_TMP/token4.json
UA4=5e4d3c2b-1a09-4f8e-9d7c-6b5a49382716
out=$(js --user alice --password 'alice front' --mech SCRAM-SHA-256-PLUS --cb tls-exporter \
	--resource exec --ua-id "$UA4" --token-file "$TOK4" --send "alice@$DOMAIN" --body "to the program" |
	grep RESULT) || fail "exec mode, SCRAM: $out"
echo "    $out"
expect_line "$out" "^RESULT login=ok jid=alice@$DOMAIN/exec sasl=2 mech=SCRAM-SHA-256-PLUS bound=legacy .*token=saved .*ssdp=ok" "exec mode, SCRAM"
out=$(js --user alice --resource exec2 --ua-id "$UA4" --token-file "$TOK4" --fast-mech HT-SHA-256-NONE |
	grep RESULT) || fail "exec mode, token: $out"
echo "    $out"
expect_line "$out" "^RESULT login=ok jid=alice@$DOMAIN/exec2 sasl=2 mech=HT-SHA-256-NONE bound=legacy .*fast=used" "exec mode, token"
wait_summaries 3 >/dev/null
summaries | grep -c " backend=exec:.* sasl2=HT-SHA-256-NONE " | grep -qx 1 ||
	fail "no exec-mode summary with sasl2=HT-SHA-256-NONE"
grep -q "^XMPP_USER=alice$" "$ENVLOG" || fail "the program did not get XMPP_USER=alice"
pass "SASL2 and FAST in exec mode; the client bound with the program"

check "exec mode: a program that ends without opening its stream gets the client a stream error, never a <success/>"
new_gate exec-broken --auth-delay 0 --auth "$XG_TMP/helper" --auth-scram -- /bin/true
printf "<authenticate xmlns='urn:xmpp:sasl:2' mechanism='PLAIN'><initial-response>%s</initial-response></authenticate>" \
	"$(printf '\0alice\0alice front' | base64 -w0)" >"$XG_TMP/plain2.xml"
out=$(raw --send-file "$XG_TMP/plain2.xml") || fail "send-file: $out"
echo "    $out"
expect_line "$out" "^RESULT step=file got=stream-error condition=internal-server-error" "program gone"
wait_summaries 1 >/dev/null
line=$(summaries | tail -n 1)
echo "    $line"
expect_summary "$line" outcome=tempfail
case $line in *"exec: the program ended before its stream header"*) ;; *) fail "reason: $line" ;; esac
pass "internal-server-error, exit 111, the reason logged"
