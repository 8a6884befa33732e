#!/bin/bash
# Connect mode in front of a real Prosody: two accounts log in through
# xmppgate (STARTTLS, SASL PLAIN checked by the contrib passwd helper),
# bind, and exchange a message; then a helper that maps an alias to other
# backend credentials.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

DOMAIN=example.test
PASSWD_HELPER=$top_builddir/contrib/xmppgate-auth-passwd
require_xmppgate
[ -x "$PASSWD_HELPER" ] || fail "contrib helper not built: $PASSWD_HELPER"

test_prosody "$DOMAIN"
prosody_adduser "$PRO" alice "$DOMAIN" 'alice pass 1'
prosody_adduser "$PRO" bob "$DOMAIN" 'b0b-Secret'
start_prosody "$PRO" "$PPORT" "$DOMAIN"

check "the contrib helper hashes passwords (--hash)"
: >"$XG_TMP/passwd"
for entry in 'alice@example.test:alice pass 1' 'bob@example.test:b0b-Secret'; do
	jid=${entry%%:*}
	h=$(printf '%s' "${entry#*:}" | "$PASSWD_HELPER" --hash) ||
		fail "xmppgate-auth-passwd --hash failed"
	case $h in
	'$'*) ;;
	*) fail "xmppgate-auth-passwd --hash printed no crypt hash: $h" ;;
	esac
	printf '%s:%s\n' "$jid" "$h" >>"$XG_TMP/passwd"
done
pass "$(wc -l <"$XG_TMP/passwd") entries"

# The helper reads its file from argv[1]; xmppgate runs it without
# arguments, so wrap it.
write_helper "$XG_TMP/helper-passwd" "exec '$PASSWD_HELPER' '$XG_TMP/passwd'"

check "the helper accepts and rejects by itself"
printf 'alice pass 1' | env -i AUTH_USER=alice AUTH_DOMAIN=$DOMAIN AUTH_MECHANISM=PLAIN \
	XMPPGATE_AUTH_VERSION=1 "$XG_TMP/helper-passwd" ||
	fail "helper rejected alice's right password (exit $?)"
rc=0
printf 'wrong' | env -i AUTH_USER=alice AUTH_DOMAIN=$DOMAIN AUTH_MECHANISM=PLAIN \
	XMPPGATE_AUTH_VERSION=1 "$XG_TMP/helper-passwd" || rc=$?
[ "$rc" -eq 1 ] || fail "helper should exit 1 for a wrong password, exit $rc"
pass "helper ok"

GPORT=$(free_port)
start_gate "$GPORT" --cert "$XG_TMP/chain.pem" --key "$XG_TMP/key.pem" \
	--domain "$DOMAIN" --auth "$XG_TMP/helper-passwd" \
	--backend "127.0.0.1:$PPORT" --auth-delay 0 --timeout 20

check "alice and bob log in through xmppgate, bind and exchange a message"
out=$($XG_CLIENT --jid "alice@$DOMAIN" --password 'alice pass 1' \
	--jid2 "bob@$DOMAIN" --password2 'b0b-Secret' \
	--host 127.0.0.1 --port "$GPORT" --ca "$XG_TMP/ca.pem" \
	--to "bob@$DOMAIN" --message "hello bob via xmppgate" --timeout 20) ||
	fail "client: $out"
echo "    $out"
case $out in
*"jid=alice@$DOMAIN/"*"peer_jid=bob@$DOMAIN/"*) ;;
*) fail "unexpected bound JIDs: $out" ;;
esac
pass "login, bind and message through xmppgate"

check "two summary lines with outcome=ok, user, domain, backend and bytes"
lines=$(wait_summaries 2 10)
printf '%s\n' "$lines" | sed 's/^/    /'
for u in alice bob; do
	line=$(printf '%s\n' "$lines" | grep " user=$u " | head -n 1)
	[ -n "$line" ] || fail "no summary line for user=$u"
	expect_summary "$line" outcome=ok "user=$u" "domain=$DOMAIN" \
		"backend=127.0.0.1:$PPORT" rx='>0' tx='>0' client='*'
	case $line in
	*"client=127.0.0.1:"*) ;;
	*) fail "summary client should be 127.0.0.1:PORT: $line" ;;
	esac
done
pass "summary lines ok"

check "after <success/>, the restarted stream has Prosody's features without <starttls/>"
# Prosody offers STARTTLS after SASL on its plaintext port; a client that
# has TLS with xmppgate must not see it (RFC 6120 5.3.1: mcabber answered
# it and broke its own connection, found by tests/interop/run.sh).
feats=$($XG_PY - "$GPORT" "$XG_TMP/ca.pem" <<'EOF'
import base64, sys
from xmpp_raw import starttls, until, header
t, _ = starttls(int(sys.argv[1]), sys.argv[2])
t.sendall(b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" +
          base64.b64encode(b"\0alice\0alice pass 1") + b"</auth>")
until(t, b"<success")
t.sendall(header())
r = until(t, b"</stream:features>")
t.sendall(b"</stream:stream>")
print(r.decode())
EOF
) || fail "raw client: $feats"
echo "    ${feats:0:400}"
case $feats in *"<starttls"*) fail "<starttls/> offered after the login" ;; esac
case $feats in *"urn:ietf:params:xml:ns:xmpp-bind"*) ;; *) fail "Prosody's <bind/> not passed on" ;; esac
grep -q 'Sending\[c2s_unbound\]: <stream:features>' "$PRO/prosody.log" ||
	fail "Prosody's log shows no post-login features"
wait_summaries 3 >/dev/null
pass "bind offered, STARTTLS not"

check "after <success/>: a restart to another domain is refused, a client that leaves is a session that ended"
# login_then ACTION: log alice in by hand, then restart to another domain
# (other), wait without restarting (idle) or close the connection (leave);
# prints what came back.
login_then() {
	$XG_PY - "$GPORT" "$XG_TMP/ca.pem" "$1" <<'EOF'
import base64, sys
from xmpp_raw import starttls, until, header
t, _ = starttls(int(sys.argv[1]), sys.argv[2])
t.sendall(b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" +
          base64.b64encode(b"\0alice\0alice pass 1") + b"</auth>")
until(t, b"<success")
if sys.argv[3] == "other":
    t.sendall(header("other.test"))
if sys.argv[3] in ("other", "idle"):
    print(until(t, b"</stream:stream>", eof_ok=True).decode())
t.close()
EOF
}
n=$(summaries | wc -l)
r=$(login_then other)
case $r in *"<host-unknown"*) ;; *) fail "restart to other.test: $r" ;; esac
line=$(wait_summaries $((n + 1)) | tail -n 1)
expect_summary "$line" outcome=refused user=alice
login_then leave >/dev/null
line=$(wait_summaries $((n + 2)) | tail -n 1)
expect_summary "$line" outcome=ok user=alice
case $line in *'reason="client closed the connection before its stream restart"'*) ;;
*) fail "leaving after <success/>: $line" ;; esac
pass "host-unknown; and exit 0, said as it was"

check "after <success/>: no restart within --header-timeout is a connection-timeout"
GPORT_SAVED=$GPORT
GPORT=$(free_port)
XG_GATE_LOG=$XG_TMP/gate-idle.log
start_gate "$GPORT" --cert "$XG_TMP/chain.pem" --key "$XG_TMP/key.pem" \
	--domain "$DOMAIN" --auth "$XG_TMP/helper-passwd" \
	--backend "127.0.0.1:$PPORT" --auth-delay 0 --header-timeout 1
r=$(login_then idle)
case $r in *"<connection-timeout"*) ;; *) fail "no restart: $r" ;; esac
line=$(wait_summaries 1)
expect_summary "$line" outcome=refused user=alice
case $line in *'reason="connection-timeout: no stream header within 1 s"'*) ;;
*) fail "no restart: $line" ;; esac
GPORT=$GPORT_SAVED
XG_GATE_LOG=$XG_TMP/gate.log
pass "connection-timeout after 1 s"

check "a wrong password is refused by the contrib helper (not-authorized)"
out=$($XG_CLIENT --jid "alice@$DOMAIN" --password 'not it' --port "$GPORT" \
	--ca "$XG_TMP/ca.pem" --expect auth-failure --condition not-authorized \
	--timeout 15) || fail "client: $out"
echo "    $out"
pass "wrong password refused"

# An alias: the client logs in as alias@ with its own password, the helper
# answers with bob's backend credentials.
write_helper "$XG_TMP/helper-alias" '
pw=$(cat)
if [ "$AUTH_USER" = alias ] && [ "$AUTH_DOMAIN" = example.test ] &&
   [ "$pw" = "alias-pass" ]; then
	printf "user=bob\npassword=b0b-Secret\n"
	exit 0
fi
# accepted here, but with a password Prosody does not know
if [ "$AUTH_USER" = stale ] && [ "$pw" = "stale-pass" ]; then
	printf "user=bob\npassword=an-old-password\n"
	exit 0
fi
exit 1'
GPORT2=$(free_port)
XG_GATE_LOG=$XG_TMP/gate-alias.log
start_gate "$GPORT2" --cert "$XG_TMP/chain.pem" --key "$XG_TMP/key.pem" \
	--domain "$DOMAIN" --auth "$XG_TMP/helper-alias" \
	--backend "127.0.0.1:$PPORT" --auth-delay 0 --timeout 20

check "alias@ logs in with the helper's user=bob/password= for the backend"
out=$($XG_CLIENT --jid "alias@$DOMAIN" --password 'alias-pass' \
	--port "$GPORT2" --ca "$XG_TMP/ca.pem" --to "bob@$DOMAIN" \
	--message "note to self" --timeout 20) || fail "client: $out"
echo "    $out"
case $out in
*"jid=bob@$DOMAIN/"*) ;;
*) fail "the backend session should be bob's: $out" ;;
esac
line=$(wait_summaries 1 10 | tail -n 1)
echo "    $line"
expect_summary "$line" outcome=ok "domain=$DOMAIN" rx='>0' tx='>0'
pass "alias login ok"

check "the helper accepts but Prosody refuses its credentials: <not-authorized/>"
out=$($XG_CLIENT --jid "stale@$DOMAIN" --password 'stale-pass' \
	--port "$GPORT2" --ca "$XG_TMP/ca.pem" --expect auth-failure \
	--condition not-authorized --timeout 20) || fail "client: $out"
echo "    $out"
line=$(wait_summaries 2 10 | tail -n 1)
echo "    $line"
expect_summary "$line" outcome=refused user=stale
pass "backend failure passed on to the client"

check "ALICE, and alice with a full-width a (U+FF41), log in to Prosody as alice (Nodeprep)"
# A raw PLAIN login: a client library would prepare the name itself.  The
# helper (the contrib passwd file has alice@) and Prosody see "alice".
GPORT3=$(free_port)
XG_GATE_LOG=$XG_TMP/gate-nodeprep.log
start_gate "$GPORT3" --cert "$XG_TMP/chain.pem" --key "$XG_TMP/key.pem" \
	--domain "$DOMAIN" --auth "$XG_TMP/helper-passwd" \
	--backend "127.0.0.1:$PPORT" --auth-delay 0 --timeout 20
for name in ALICE $'\xef\xbd\x81lice'; do
	out=$($XG_PY - "$GPORT3" "$XG_TMP/ca.pem" "$name" <<'EOF'
import base64, os, re, sys
from xmpp_raw import starttls, until, header
t, _ = starttls(int(sys.argv[1]), sys.argv[2])
name = os.fsencode(sys.argv[3])
t.sendall(b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" +
          base64.b64encode(b"\0" + name + b"\0alice pass 1") + b"</auth>")
r = until(t, b"<success", b"</failure>")
if b"<success" not in r:
    sys.exit("no <success/>: %r" % r)
t.sendall(header())
until(t, b"</stream:features>")
t.sendall(b"<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>")
r = until(t, b"</iq>")
m = re.search(rb"<jid>([^<]*)</jid>", r)
if not m:
    sys.exit("no bound JID: %r" % r)
t.sendall(b"</stream:stream>")
print("jid=" + m.group(1).decode())
EOF
	) || fail "raw client as $name: $out"
	echo "    $name: $out"
	case $out in
	"jid=alice@$DOMAIN/"*) ;;
	*) fail "$name should be bound as alice@$DOMAIN: $out" ;;
	esac
done
lines=$(wait_summaries 2 10)
printf '%s\n' "$lines" | sed 's/^/    /'
[ "$(printf '%s\n' "$lines" | grep -c ' user=alice ')" -eq 2 ] ||
	fail "both summaries should say user=alice"
pass "one canonical name for the helper, Prosody and the log"

check "the backend password never appears in the log"
if grep -q 'b0b-Secret\|alias-pass\|alice pass 1\|an-old-password\|stale-pass' "$XG_TMP"/gate*.log; then
	fail "a password appears in the xmppgate log"
fi
pass "no passwords logged"

check "no xmppgate or helper left running"
assert_no_leftovers 5
pass "no leftovers"
