#!/bin/bash
# xmppgate under a real openbsd-inetd ("nowait", the connection on fds
# 0, 1 and 2, logging with --syslog): in front of Prosody (connect mode),
# and running a program (exec mode).
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

DOMAIN=example.test
INETD=/usr/sbin/inetd
require_xmppgate
[ -x "$INETD" ] || fail "$INETD not installed (package openbsd-inetd)"

make_certs "$XG_TMP" "$DOMAIN"
PRO=$XG_TMP/prosody
mkdir -p "$PRO"
cp "$XG_TMP"/*.pem "$PRO/"
PPORT=$(free_port)
prosody_config "$PRO" "$PPORT" "$DOMAIN"
prosody_adduser "$PRO" alice "$DOMAIN" alicepw
prosody_adduser "$PRO" bob "$DOMAIN" bobpw
start_prosody "$PRO" "$PPORT" "$DOMAIN"

# The helper accepts exactly the Prosody passwords, so the login at the
# backend uses the client's own credentials.
write_helper "$XG_TMP/helper-inetd" '
pw=$(cat)
case "$AUTH_USER:$pw" in
alice:alicepw|bob:bobpw) exit 0 ;;
esac
exit 1'

GPORT=$(free_port)
EPORT=$(free_port)
ENVLOG=$XG_TMP/exec-env.log
# inetd.conf: [addr:]service type protocol wait user program argv...
cat >"$XG_TMP/inetd.conf" <<CONF
127.0.0.1:$GPORT stream tcp4 nowait root $xg_bin xmppgate --syslog --cert $XG_TMP/chain.pem --key $XG_TMP/key.pem --domain $DOMAIN --auth $XG_TMP/helper-inetd --backend 127.0.0.1:$PPORT --auth-delay 0 --timeout 15
127.0.0.1:$EPORT stream tcp4 nowait root $xg_bin xmppgate --syslog --cert $XG_TMP/chain.pem --key $XG_TMP/key.pem --domain $DOMAIN --auth $XG_TMP/helper-inetd --auth-delay 0 --timeout 15 -- $XG_PY $top_srcdir/tests/exec_backend.py $ENVLOG
CONF
log "starting inetd on 127.0.0.1:$GPORT"
# -d: debug, stays in the foreground; -i: do not daemonize; -E: keep the
# environment (XG_MARK lets the cleanup find xmppgate and its children).
bg "$XG_TMP/inetd.log" "$INETD" -d -i -E "$XG_TMP/inetd.conf"
INETD_PID=$BG_PID
wait_port "$GPORT" 10 "$INETD_PID" || fail "inetd did not listen on $GPORT"
wait_port "$EPORT" 10 "$INETD_PID" || fail "inetd did not listen on $EPORT"

check "alice and bob log in through xmppgate under inetd and exchange a message"
out=$($XG_CLIENT --jid "alice@$DOMAIN" --password alicepw \
	--jid2 "bob@$DOMAIN" --password2 bobpw --port "$GPORT" \
	--ca "$XG_TMP/ca.pem" --to "bob@$DOMAIN" --message "hi via inetd" \
	--timeout 20) || fail "client: $out"
echo "    $out"
pass "login and message under inetd"

check "a wrong password is refused under inetd"
out=$($XG_CLIENT --jid "alice@$DOMAIN" --password bad --port "$GPORT" \
	--ca "$XG_TMP/ca.pem" --expect auth-failure --condition not-authorized \
	--timeout 15) || fail "client: $out"
echo "    $out"
pass "refused"

check "exec mode under inetd: login, bind and a message echoed by the program"
out=$($XG_CLIENT --jid "alice@$DOMAIN" --password alicepw --port "$EPORT" \
	--ca "$XG_TMP/ca.pem" --to "alice@$DOMAIN" --message "echo via inetd" \
	--timeout 20) || { show_log "$ENVLOG"; fail "client: $out"; }
echo "    $out"
case $out in
*"jid=alice@$DOMAIN/"*) ;;
*) fail "bound JID should be alice@$DOMAIN/...: $out" ;;
esac
grep -q "^MESSAGE .*body=echo via inetd" "$ENVLOG" ||
	{ show_log "$ENVLOG"; fail "the program did not get the message"; }
grep -qx "XMPP_JID=alice@$DOMAIN" "$ENVLOG" ||
	{ show_log "$ENVLOG"; fail "the program did not get XMPP_JID"; }
# Under inetd fd 2 is the client socket: the program must not get it.
grep -q '^FD2=' "$ENVLOG" || { show_log "$ENVLOG"; fail "exec_backend.py did not report fd 2"; }
grep -qx 'FD2=/dev/null' "$ENVLOG" ||
	fail "the program's fd 2 should be /dev/null under inetd: $(grep '^FD2=' "$ENVLOG")"
pass "exec mode under inetd"

check "inetd ran xmppgate for each connection"
grep -q "execv $xg_bin" "$XG_TMP/inetd.log" || { show_log "$XG_TMP/inetd.log"; fail "inetd did not log execv $xg_bin"; }
pass "inetd ran xmppgate"

check "no xmppgate or helper left running"
assert_no_leftovers 5
pass "no leftovers"
