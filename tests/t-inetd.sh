#!/bin/bash
# xmppgate under a real openbsd-inetd ("nowait", the connection on fds
# 0, 1 and 2): in front of Prosody (connect mode, with --syslog), and
# running a program (exec mode, where xmppgate must see by itself that
# stderr is the client and log to syslog).  inetd runs in a private mount
# namespace whose /dev/log is a datagram socket of this test, so the log
# lines can be read without touching the machine's syslog.
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
SPORT=$(free_port)
ENVLOG=$XG_TMP/exec-env.log
# inetd.conf: [addr:]service type protocol wait user program argv...
cat >"$XG_TMP/inetd.conf" <<CONF
127.0.0.1:$GPORT stream tcp4 nowait root $xg_bin xmppgate --user root --syslog --cert $XG_TMP/chain.pem --key $XG_TMP/key.pem --domain $DOMAIN --auth $XG_TMP/helper-inetd --backend 127.0.0.1:$PPORT --auth-delay 0 --timeout 15
127.0.0.1:$SPORT stream tcp4 nowait.60000 root $xg_bin xmppgate --user root --syslog --cert $XG_TMP/chain.pem --key $XG_TMP/key.pem --domain $DOMAIN --auth $XG_TMP/helper-inetd --backend 127.0.0.1:$PPORT --auth-delay 0 --timeout 15
127.0.0.1:$EPORT stream tcp4 nowait root $xg_bin xmppgate --user root --cert $XG_TMP/chain.pem --key $XG_TMP/key.pem --domain $DOMAIN --auth $XG_TMP/helper-inetd --auth-delay 0 --timeout 15 -- $XG_PY $top_srcdir/tests/exec_backend.py $ENVLOG
CONF
# A private /dev: the device nodes xmppgate, the helpers and the program
# use, bind-mounted, plus our syslog socket as /dev/log.
DEVDIR=$XG_TMP/dev
SYSLOG=$XG_TMP/syslog.log
mkdir -p "$DEVDIR"
for n in null zero random urandom; do
	: >"$DEVDIR/$n"
done
cat >"$XG_TMP/syslogd.py" <<'EOF'
import os, socket, sys
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
with open(out, "ab", buffering=0) as f:
    f.write(b"READY\n")
    while True:
        f.write(s.recv(65536).rstrip(b"\0\n") + b"\n")
EOF
bg "$XG_TMP/syslogd.out" "$XG_PY" "$XG_TMP/syslogd.py" "$DEVDIR/log" "$SYSLOG"
for i in $(seq 1 50); do
	grep -q READY "$SYSLOG" 2>/dev/null && break
	sleep 0.1
done
grep -q READY "$SYSLOG" 2>/dev/null || fail "the test's syslog socket did not start"

log "starting inetd on 127.0.0.1:$GPORT and $EPORT"
# -d: debug, stays in the foreground; -i: do not daemonize; -E: keep the
# environment (XG_MARK lets the cleanup find xmppgate and its children).
cat >"$XG_TMP/inetd-ns.sh" <<EOF
set -e
for n in null zero random urandom; do
	mount --bind /dev/\$n '$DEVDIR/'\$n
done
mount --bind '$DEVDIR' /dev
exec '$INETD' -d -i -E '$XG_TMP/inetd.conf'
EOF
# A private mount namespace needs / to be a mount point; a bare chroot is
# the one place where it is not, and there inetd runs as it is.
if unshare --mount --propagation private true 2>/dev/null; then
	SYSLOG_CHECK=yes
	bg "$XG_TMP/inetd.log" unshare --mount --propagation private \
		/bin/sh "$XG_TMP/inetd-ns.sh"
else
	SYSLOG_CHECK=no
	log "NOTE: no private mount namespace here (a chroot?): the syslog" \
		"lines cannot be captured, that check will be skipped"
	bg "$XG_TMP/inetd.log" "$INETD" -d -i -E "$XG_TMP/inetd.conf"
fi
INETD_PID=$BG_PID
wait_port "$GPORT" 10 "$INETD_PID" || fail "inetd did not listen on $GPORT"
wait_port "$EPORT" 10 "$INETD_PID" || fail "inetd did not listen on $EPORT"
wait_port "$SPORT" 10 "$INETD_PID" || fail "inetd did not listen on $SPORT"

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

if [ "$SYSLOG_CHECK" = yes ]; then
	check "the log went to syslog (facility daemon), never to the client"
	for i in $(seq 1 50); do
		[ "$(grep -c ' summary ' "$SYSLOG")" -ge 4 ] && break
		sleep 0.1
	done
	sed -n 's/^/    /p' "$SYSLOG" | grep ' summary ' || :
	c=$(grep -c '^<30>.* xmppgate\[[0-9]*\]: conn=[0-9a-f]* summary ' "$SYSLOG" || :)
	[ "$c" -eq 4 ] ||
		{ show_log "$SYSLOG"; fail "expected 4 summary lines at daemon.info in syslog, found $c"; }
	grep -q "^<30>.* summary .* user=alice .*backend=127.0.0.1:$PPORT .*outcome=ok" "$SYSLOG" ||
		fail "no outcome=ok summary for alice in connect mode"
	grep -q "^<30>.* summary .* user=alice .*backend=exec:$XG_PY .*outcome=ok" "$SYSLOG" ||
		fail "no outcome=ok summary for the exec-mode session (stderr is the socket there)"
	grep -q "^<30>.* summary .* user=alice .*outcome=refused" "$SYSLOG" ||
		fail "no outcome=refused summary for the wrong password"
	if grep -q 'alicepw\|bobpw' "$SYSLOG"; then
		fail "a password reached syslog"
	fi
	pass "4 summary lines in syslog"
else
	log "SKIP the syslog check: no private mount namespace for /dev/log"
fi

# openbsd-inetd stops a service for ten minutes once it started it more
# than 256 times in a minute: a burst would switch the front door off.
# xmppgate(8) "Connection storms" raises that with nowait.60000.
if [ -n "${XG_VALGRIND:-}" ]; then
	log "under valgrind: no burst of 300 connections (each one a process under valgrind)"
else
	check "300 connections in 3 s through a nowait.60000 line, as xmppgate(8) says: every one gets its features"
	out=$($XG_PY "$top_srcdir/tests/storm.py" --port "$SPORT" --domain "$DOMAIN" \
		--count 300 --within 3 --sources 50 --deadline $((90 * XG_TIME_FACTOR)) --min-features 300) ||
		{ tail -n 5 "$XG_TMP/inetd.log"; fail "not every connection was served: $out"; }
	echo "    $out"
	grep -q 'looping\|too many' "$XG_TMP/inetd.log" && fail "inetd stopped the service"
	pass "served, the service still up"
fi

check "inetd ran xmppgate for each connection"
grep -q "execv $xg_bin" "$XG_TMP/inetd.log" || { show_log "$XG_TMP/inetd.log"; fail "inetd did not log execv $xg_bin"; }
pass "inetd ran xmppgate"

check "no xmppgate or helper left running"
assert_no_leftovers 5
pass "no leftovers"
