#!/bin/bash
# --auth unix:/PATH, a helper that stays up (xmppgate-auth(5), SOCKET
# HELPERS), in front of a real Prosody with slixmpp logging in:
# - the Python example of xmppgate-auth(5), taken from the man page as it
#   stands, with contrib/xmppgate_auth.py: a login, a wrong password, a
#   refusal with its text, and the helper's peer credentials in the log;
# - clients that connect and send nothing, or a byte a second, keep no
#   login waiting (the example, and the C helpers with more of them than
#   they run checks at once); the whole request has a deadline; a field
#   name xmppgate never sends (LD_PRELOAD) is answered tempfail;
# - xmppgate-auth-passwd --listen and xmppgate-auth-scram --listen behind
#   systemd-socket-activate (Accept=no), PLAIN and SCRAM; --allow-uid
#   closes other peers (nobody, through setpriv);
# - every failure is <temporary-auth-failure/>, exit 111, with its line:
#   no socket (down), nobody listening, a helper that never answers
#   (--auth-timeout), garbage, an answer over the limit, a close without
#   an answer, and a socket xmppgate's --user may not connect to;
# - the unit example verifies (systemd-analyze verify);
# - --auth unix: with --auth-protocol ejabberd or checkpassword, or a
#   relative path, is a usage error (exit 100).
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

DOMAIN=example.org	# the man page's example is for this domain
require_xmppgate
[ "$(id -u)" -eq 0 ] || fail "this test must run as root (it uses --user nobody)"
contrib=$top_builddir/contrib
[ -x "$contrib/xmppgate-auth-passwd" ] && [ -x "$contrib/xmppgate-auth-scram" ] ||
	fail "contrib helpers not built"
PEERS="$XG_PY $top_srcdir/tests/authsock_peers.py"
STALL="$XG_PY $top_srcdir/tests/authsock_stall.py"
export PYTHONPATH="$top_srcdir/contrib:$PYTHONPATH"

test_prosody "$DOMAIN"
prosody_adduser "$PRO" alice "$DOMAIN" 'correct horse'
prosody_adduser "$PRO" carol "$DOMAIN" 'carol-backend'
start_prosody "$PRO" "$PPORT" "$DOMAIN"

client() { $XG_CLIENT --ca "$XG_TMP/ca.pem" --port "$GPORT" --timeout $((20 * XG_TIME_FACTOR)) "$@"; }
gate() {
	local name=$1
	shift
	new_gate "$name" --auth-delay 0 --backend "127.0.0.1:$PPORT" "$@"
}
# probe USER PASS: plain_probe of tests/lib.sh for $DOMAIN: STARTTLS and
# one PLAIN attempt; "failure COND TEXT", "stream-error ..." or "success".
probe() {
	$XG_PY - "$GPORT" "$1" "$2" "$XG_TMP/ca.pem" "$DOMAIN" <<'EOF'
import base64, re, sys
from xmpp_raw import starttls, until
port, user, pw, ca, dom = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
t, _ = starttls(port, ca, domain=dom)
t.sendall(b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" +
          base64.b64encode(b"\0" + user.encode() + b"\0" + pw.encode()) + b"</auth>")
r = until(t, b"</failure>", b"</stream:stream>", b"<success", eof_ok=True)
m = re.search(rb"<failure[^>]*><([a-z-]+)/>(?:<text[^>]*>(.*)</text>)?</failure>", r)
e = re.search(rb"<stream:error><([a-z-]+)[^>]*>([^<]*)<", r)
if m:
    print("failure", m.group(1).decode(), (m.group(2) or b"").decode())
elif e:
    print("stream-error", e.group(1).decode(), e.group(2).decode())
else:
    print("success" if b"<success" in r else "other %r" % r)
EOF
}
# wait_socket PATH PID: until PATH is a socket; fails if PID dies.
wait_socket() {
	local i
	for i in $(seq 1 $((100 * XG_TIME_FACTOR))); do
		[ -S "$1" ] && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
# tempfail NAME REASON: slixmpp's PLAIN attempt on the gate is answered
# with <temporary-auth-failure/>; the log has "authentication attempt 1
# failed: REASON", the summary outcome=tempfail, and the process exits
# 111.
tempfail() {
	local out
	out=$(client --jid "alice@$DOMAIN" --password 'correct horse' --expect auth-failure \
		--condition temporary-auth-failure) || fail "$1: $out"
	echo "    $1: $out"
	wait_log "authentication attempt 1 failed: $2" ||
		{ show_log "$XG_GATE_LOG"; fail "$1: no log line 'authentication attempt 1 failed: $2'"; }
	grep -F "authentication attempt 1 failed" "$XG_GATE_LOG" | sed 's/^.*xmppgate/    xmppgate/'
	expect_summary "$(wait_summaries 1)" outcome=tempfail user=alice
	wait_log 'Child [0-9]* died with code 111' ||
		{ show_log "$XG_GATE_LOG"; fail "$1: the exit status was not 111"; }
}

##### the example of xmppgate-auth(5), as the man page has it
check "the Python example of xmppgate-auth(5), as printed there, with contrib/xmppgate_auth.py"
# Between the example-begin and example-end comments, without .Bd/.Ed;
# the block has no roff escapes (so what is printed is what runs here).
sed -n '/^\.\\" example-begin$/,/^\.\\" example-end$/p' "$top_srcdir/man/xmppgate-auth.5.in" |
	sed '1,2d;$d' | sed '$d' >"$XG_TMP/example.py"
head -n 1 "$XG_TMP/example.py" | grep -qx '#!/usr/bin/python3' || fail "example not found in the man page"
! grep -q '\\' "$XG_TMP/example.py" || fail "the man page's example has roff escapes: what runs is not what is printed"
bg "$XG_TMP/example.out" $XG_PY "$XG_TMP/example.py" "$XG_TMP/example.sock"
EXAMPLE_PID=$BG_PID
wait_socket "$XG_TMP/example.sock" "$EXAMPLE_PID" || { show_log "$XG_TMP/example.out"; fail "the example did not bind its socket"; }
[ "$(stat -c %a "$XG_TMP/example.sock")" = 660 ] || fail "the socket is not mode 660: $(stat -c %a "$XG_TMP/example.sock")"
gate example --auth "unix:$XG_TMP/example.sock"
out=$(client --jid "alice@$DOMAIN" --password 'correct horse' --to "alice@$DOMAIN") || fail "client: $out"
echo "    $out"
expect_summary "$(wait_summaries 1)" outcome=ok user=alice "backend=127.0.0.1:$PPORT"
line=$(grep -F "auth helper unix:$XG_TMP/example.sock: peer pid=" "$XG_GATE_LOG" | head -n 1)
echo "    ${line#*: }"
case $line in
*"peer pid=$EXAMPLE_PID uid=0 gid=0") ;;
*) show_log "$XG_GATE_LOG"; fail "the helper's credentials (pid $EXAMPLE_PID, uid 0) were not logged" ;;
esac
pass "alice logged in through the socket helper; who answered is logged"

check "the example: a wrong password is refused, bob gets the helper's text"
r=$(probe alice 'correct horsE')
echo "    wrong: $r"
[ "$r" = "failure not-authorized " ] || fail "wrong password: $r"
r=$(probe bob whatever)
echo "    bob: $r"
[ "$r" = "failure not-authorized bob has moved" ] || fail "bob: $r"
pass "refused, with message="

check "the example: a password holding newlines and a field line is framed, not taken for fields"
# A password the encoder must frame: newlines and what looks like fields.
r=$(probe alice $'correct horse\n\nAUTH_USER=bob')
echo "    framed: $r"
[ "$r" = "failure not-authorized " ] || fail "a password with fields in it: $r"
pass "no confusion between the password and the fields"

check "the example: idle and trickling clients, more than it checks or reads at once, keep no login waiting; the whole request within 5 s"
# Each: N clients held open while one login must be answered within 5 s,
# and they must all still be open then (tests/authsock_stall.py); 40 is
# more than the 32 checks at once, 100 more than the 64 connections
# read at once, when the longest waiting make room (37: 100 + 1 - 64).
for args in "40 idle" "40 trickle" "100 idle"; do
	set -- $args
	out=$($STALL stall "$XG_TMP/example.sock" $1 $2 alice 'correct horse' $(( $1 > 64 ? $1 + 1 - 64 : 0 ))) ||
		{ show_log "$XG_TMP/example.out"; fail "$args: $out"; }
	echo "    $out"
done
wait_log 'xmppgate_auth: 64 connections reading: the one waiting longest closed' 10 "$XG_TMP/example.out" ||
	{ show_log "$XG_TMP/example.out"; fail "the eviction was not logged"; }
out=$($STALL deadline "$XG_TMP/example.sock" 9) || fail "deadline: $out"
echo "    $out"
wait_log 'xmppgate_auth: no whole request within 5 s' 10 "$XG_TMP/example.out" ||
	{ show_log "$XG_TMP/example.out"; fail "the deadline was not logged"; }
n=$(grep -c 'xmppgate_auth: ' "$XG_TMP/example.out" || :)
echo "    $n log lines for about 180 stalled connections closed"
[ "$n" -le 15 ] || { show_log "$XG_TMP/example.out"; fail "$n log lines: not throttled"; }
r=$($STALL login "$XG_TMP/example.sock" alice 'correct horse' LD_PRELOAD=/tmp/x.so)
[ "$r" = tempfail ] || fail "a request with LD_PRELOAD: $r"
wait_log 'request refused: field LD_PRELOAD is not one xmppgate sends' 10 "$XG_TMP/example.out" ||
	{ show_log "$XG_TMP/example.out"; fail "the refused name was not logged"; }
pass "served while others stall; a trickler closed at the deadline; LD_PRELOAD refused"

##### xmppgate-auth-passwd --listen and xmppgate-auth-scram --listen
check "xmppgate-auth-passwd --listen behind systemd-socket-activate (Accept=no)"
printf 'correct horse' | "$contrib/xmppgate-auth-passwd" --hash "alice@$DOMAIN" >"$XG_TMP/passwd"
bg "$XG_TMP/passwd.out" systemd-socket-activate -l "$XG_TMP/passwd.sock" \
	"$contrib/xmppgate-auth-passwd" --listen "$XG_TMP/passwd"
wait_socket "$XG_TMP/passwd.sock" "$BG_PID" || { show_log "$XG_TMP/passwd.out"; fail "no socket"; }
gate passwd --auth "unix:$XG_TMP/passwd.sock"
out=$(client --jid "alice@$DOMAIN" --password 'correct horse') || fail "client: $out"
echo "    $out"
out=$(client --jid "alice@$DOMAIN" --password 'wrong' --expect auth-failure --condition not-authorized) ||
	fail "client: $out"
echo "    $out"
lines=$(wait_summaries 2)
expect_summary "$(printf '%s\n' "$lines" | sed -n 1p)" outcome=ok user=alice
expect_summary "$(printf '%s\n' "$lines" | sed -n 2p)" outcome=refused user=alice
# Ten more, one after the other, then a broken client: the daemon serves on.
for i in 1 2 3 4 5 6 7 8 9 10; do
	r=$(probe alice 'correct horse')
	[ "$r" = success ] || fail "login $i: $r"
done
$XG_PY - "$XG_TMP/passwd.sock" <<'EOF' || fail "the broken client was not just closed"
import socket, sys
for req in (b"garbage\n\n", b"XMPPGATE_AUTH_VERSION=1\nAUTH_PASSWORD_LENGTH=5\n\nabc", b"x" * 20000):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    try:
        s.sendall(req)
        s.shutdown(socket.SHUT_WR)
        s.settimeout(20)
        got = s.recv(100)
    except ConnectionResetError:
        got = b""
    if got:
        sys.exit("answered %r" % got)
EOF
grep -q 'xmppgate-auth-passwd: not a request of xmppgate-auth(5)' "$XG_TMP/passwd.out" ||
	{ show_log "$XG_TMP/passwd.out"; fail "the daemon did not log the bad request"; }
grep -q 'xmppgate-auth-passwd: connection closed within the request' "$XG_TMP/passwd.out" ||
	{ show_log "$XG_TMP/passwd.out"; fail "the daemon did not log the short request"; }
r=$(probe alice 'correct horse')
[ "$r" = success ] || fail "after the broken clients: $r"
pass "accepted, refused, 10 more, broken clients closed, still serving"

check "xmppgate-auth-passwd --listen: idle and trickling clients, more than it checks at once, keep no login waiting"
# 40 is more than the 32 checks at once; 100 more than the 64
# connections read at once, when the longest waiting make room (37 of
# them: 100 + the login - 64).
for args in "40 idle" "40 trickle" "100 idle"; do
	set -- $args
	out=$($STALL stall "$XG_TMP/passwd.sock" $1 $2 alice 'correct horse' $(( $1 > 64 ? $1 + 1 - 64 : 0 ))) ||
		{ show_log "$XG_TMP/passwd.out"; fail "$args: $out"; }
	echo "    $out"
done
out=$($STALL deadline "$XG_TMP/passwd.sock" 9) || fail "deadline: $out"
echo "    $out"
wait_log 'xmppgate-auth-passwd: no whole request within 5 s: closed' 10 "$XG_TMP/passwd.out" ||
	{ show_log "$XG_TMP/passwd.out"; fail "the deadline was not logged"; }
wait_log 'xmppgate-auth-passwd: 64 connections at once: the one waiting longest closed' 10 "$XG_TMP/passwd.out" ||
	{ show_log "$XG_TMP/passwd.out"; fail "the eviction was not logged"; }
# Throttled: far fewer lines than the 180 stalled connections closed.
n=$(grep -c 'closed within the request\|the one waiting longest closed' "$XG_TMP/passwd.out")
echo "    $n log lines for 180 stalled connections closed"
[ "$n" -le 10 ] || { show_log "$XG_TMP/passwd.out"; fail "$n log lines: not throttled"; }
r=$($STALL login "$XG_TMP/passwd.sock" alice 'correct horse' LD_PRELOAD=/tmp/x.so)
[ "$r" = tempfail ] || fail "a request with LD_PRELOAD: $r"
wait_log 'xmppgate-auth-passwd: request refused: field LD_PRELOAD is not one xmppgate sends' 10 "$XG_TMP/passwd.out" ||
	{ show_log "$XG_TMP/passwd.out"; fail "the refused name was not logged"; }
r=$(probe alice 'correct horse')
[ "$r" = success ] || fail "after the stalls: $r"
pass "logins served while 40 or 100 stall; deadline and eviction logged, throttled; LD_PRELOAD refused"

check "xmppgate-auth-scram --listen: SCRAM-SHA-256 and PLAIN against stored credentials"
{
	printf 'correct horse' | "$contrib/xmppgate-auth-scram" --hash -i 4096 "alice@$DOMAIN"
	echo "alice@$DOMAIN password=correct horse"
} >"$XG_TMP/scram.db"
bg "$XG_TMP/scram.out" systemd-socket-activate -l "$XG_TMP/scram.sock" \
	"$contrib/xmppgate-auth-scram" --listen "$XG_TMP/scram.db"
wait_socket "$XG_TMP/scram.sock" "$BG_PID" || { show_log "$XG_TMP/scram.out"; fail "no socket"; }
gate scram --auth "unix:$XG_TMP/scram.sock" --auth-scram \
	--sasl-mechanisms SCRAM-SHA-256,SCRAM-SHA-1,PLAIN	# slixmpp has no -PLUS
out=$(client --jid "alice@$DOMAIN" --password 'correct horse' --mechanism SCRAM-SHA-256 --to "alice@$DOMAIN") ||
	fail "SCRAM: $out"
echo "    $out"
out=$(client --jid "alice@$DOMAIN" --password 'correct horse' --mechanism PLAIN) || fail "PLAIN: $out"
echo "    $out"
out=$(client --jid "alice@$DOMAIN" --password 'wrong' --mechanism SCRAM-SHA-256 --expect auth-failure \
	--condition not-authorized) || fail "wrong SCRAM password: $out"
echo "    $out"
out=$(client --jid "nobody@$DOMAIN" --password 'x' --mechanism SCRAM-SHA-1 --expect auth-failure \
	--condition not-authorized) || fail "unknown user: $out"
echo "    $out"
lines=$(wait_summaries 4)
for n in 1 2; do
	expect_summary "$(printf '%s\n' "$lines" | sed -n ${n}p)" outcome=ok user=alice
done
pass "SCRAM and PLAIN through the daemon; wrong password and unknown user refused"

check "xmppgate-auth-scram --listen --allow-uid: root may ask, nobody is closed on (SO_PEERCRED)"
id nobody >/dev/null 2>&1 || fail "no user 'nobody'"
as_nobody() { setpriv --reuid nobody --regid "$(id -g nobody)" --clear-groups "$@"; }
# A copy nobody can read: the tree may be in a directory of root's alone
# (scripts/sanitize.sh builds in a mktemp -d).
cp "$top_srcdir/tests/authsock_stall.py" "$XG_TMP/authsock_stall.py"
chmod 644 "$XG_TMP/authsock_stall.py"
NSTALL="$XG_PY $XG_TMP/authsock_stall.py"
bg "$XG_TMP/scram0.out" systemd-socket-activate -l "$XG_TMP/scram0.sock" \
	"$contrib/xmppgate-auth-scram" --listen --allow-uid 0 "$XG_TMP/scram.db"
wait_socket "$XG_TMP/scram0.sock" "$BG_PID" || { show_log "$XG_TMP/scram0.out"; fail "no socket"; }
chmod 666 "$XG_TMP/scram0.sock"		# only the option keeps nobody out
r=$($STALL login "$XG_TMP/scram0.sock" alice 'correct horse')
echo "    root: $r"
[ "$r" = accept ] || { show_log "$XG_TMP/scram0.out"; fail "root: $r"; }
r=$(as_nobody $NSTALL login "$XG_TMP/scram0.sock" alice 'correct horse')
echo "    nobody: $r"
[ "$r" = closed ] || { show_log "$XG_TMP/scram0.out"; fail "nobody was answered: $r"; }
wait_log "xmppgate-auth-scram: peer pid=[0-9]* uid=$(id -u nobody) not allowed (--allow-uid): closed" 10 "$XG_TMP/scram0.out" ||
	{ show_log "$XG_TMP/scram0.out"; fail "the refused peer was not logged"; }
# By name, and a list: nobody is let in.
bg "$XG_TMP/scram1.out" systemd-socket-activate -l "$XG_TMP/scram1.sock" \
	"$contrib/xmppgate-auth-scram" --listen --allow-uid root,nobody "$XG_TMP/scram.db"
wait_socket "$XG_TMP/scram1.sock" "$BG_PID" || { show_log "$XG_TMP/scram1.out"; fail "no socket"; }
chmod 666 "$XG_TMP/scram1.sock"
r=$(as_nobody $NSTALL login "$XG_TMP/scram1.sock" alice 'correct horse')
echo "    nobody, allowed by name: $r"
[ "$r" = accept ] || { show_log "$XG_TMP/scram1.out"; fail "nobody allowed: $r"; }
rc=0
"$contrib/xmppgate-auth-scram" --listen --allow-uid no-such-user-xg "$XG_TMP/scram.db" \
	>"$XG_TMP/usage.out" 2>&1 || rc=$?
echo "    unknown user: exit $rc: $(head -n 1 "$XG_TMP/usage.out")"
[ "$rc" = 100 ] || fail "--allow-uid no-such-user-xg: exit $rc, not 100"
pass "--allow-uid lets root (and, named, nobody) in and closes on the others with a log line"

##### failures: all temporary, exit 111
check "no socket at the path (the helper is down)"
gate down --auth "unix:$XG_TMP/none.sock"
tempfail down "helper: connect to unix:$XG_TMP/none.sock: No such file or directory"
pass "down: temporary"

check "a socket nobody listens on"
bg "$XG_TMP/refuse.log" $PEERS refuse "$XG_TMP/refuse.sock" "$XG_TMP/refuse.log"
wait_socket "$XG_TMP/refuse.sock" "$BG_PID" || fail "no socket"
sleep 0.2	# it closes right after binding
gate refused --auth "unix:$XG_TMP/refuse.sock"
tempfail refused "helper: connect to unix:$XG_TMP/refuse.sock: Connection refused"
pass "refused: temporary"

check "a helper that never answers: --auth-timeout 1"
bg "$XG_TMP/silent.log" $PEERS silent "$XG_TMP/silent.sock" "$XG_TMP/silent.log"
wait_socket "$XG_TMP/silent.sock" "$BG_PID" || fail "no socket"
gate silent --auth "unix:$XG_TMP/silent.sock" --auth-timeout 1
tempfail slow "helper unix:$XG_TMP/silent.sock timed out after 1 s"
grep -qx 'request ok PLAIN alice 13' "$XG_TMP/silent.log" ||
	{ show_log "$XG_TMP/silent.log"; fail "the helper did not get a good request"; }
pass "slow: temporary, the request as the wire format says"

check "a helper that answers garbage"
bg "$XG_TMP/garbage.log" $PEERS garbage "$XG_TMP/garbage.sock" "$XG_TMP/garbage.log"
wait_socket "$XG_TMP/garbage.sock" "$BG_PID" || fail "no socket"
gate garbage --auth "unix:$XG_TMP/garbage.sock"
tempfail garbage "helper unix:$XG_TMP/garbage.sock: answer does not start with a line accept, reject or tempfail"
pass "garbage: temporary"

check "a helper that answers too much"
bg "$XG_TMP/oversize.log" $PEERS oversize "$XG_TMP/oversize.sock" "$XG_TMP/oversize.log"
wait_socket "$XG_TMP/oversize.sock" "$BG_PID" || fail "no socket"
gate oversize --auth "unix:$XG_TMP/oversize.sock"
tempfail oversize "helper unix:$XG_TMP/oversize.sock: answer over 4105 bytes"
pass "oversized: temporary"

check "a helper that closes without an answer"
bg "$XG_TMP/close.log" $PEERS close "$XG_TMP/close.sock" "$XG_TMP/close.log"
wait_socket "$XG_TMP/close.sock" "$BG_PID" || fail "no socket"
gate close --auth "unix:$XG_TMP/close.sock"
tempfail close "helper unix:$XG_TMP/close.sock: closed the connection without an answer"
pass "early close: temporary"

check "a peer that is not allowed: the example's socket (root's, mode 660) and xmppgate --user nobody"
id nobody >/dev/null 2>&1 || fail "no user 'nobody'"
chown root:root "$XG_TMP/cert.pem" "$XG_TMP/key.pem"
gate nobody --auth "unix:$XG_TMP/example.sock" --user nobody
tempfail "not allowed" "helper: connect to unix:$XG_TMP/example.sock: Permission denied"
# The same with the socket opened to all: the permissions made the
# difference, nothing else.
chmod 666 "$XG_TMP/example.sock"
out=$(client --jid "alice@$DOMAIN" --password 'correct horse') || fail "client: $out"
echo "    mode 666: $out"
chmod 660 "$XG_TMP/example.sock"
pass "permission denied is temporary; allowed, the same login works"

##### the unit example
check "contrib/xmppgate-auth-passwd.socket and .service: systemd-analyze verify finds nothing"
mkdir -p "$XG_TMP/units"
cp "$top_srcdir/contrib/xmppgate-auth-passwd.socket" "$XG_TMP/units/"
sed "s|/usr/local/libexec/xmppgate/xmppgate-auth-passwd|$contrib/xmppgate-auth-passwd|" \
	"$top_srcdir/contrib/xmppgate-auth-passwd.service" >"$XG_TMP/units/xmppgate-auth-passwd.service"
grep -q "^ExecStart=$contrib/xmppgate-auth-passwd --listen " "$XG_TMP/units/xmppgate-auth-passwd.service" ||
	fail "the service does not run xmppgate-auth-passwd --listen"
grep -qx 'Accept=no' "$XG_TMP/units/xmppgate-auth-passwd.socket" || fail "the socket is not Accept=no"
rc=0
(cd "$XG_TMP/units" && systemd-analyze verify --man=no xmppgate-auth-passwd.socket \
	xmppgate-auth-passwd.service) >"$XG_TMP/verify.out" 2>&1 || rc=$?
[ "$rc" = 0 ] && [ ! -s "$XG_TMP/verify.out" ] ||
	{ show_log "$XG_TMP/verify.out"; fail "systemd-analyze verify: exit $rc"; }
pass "the units verify cleanly"

##### options
check "--auth unix: with --auth-protocol ejabberd or checkpassword, or a relative path: usage, exit 100"
for args in "--auth-protocol ejabberd --auth unix:$XG_TMP/example.sock" \
	"--auth-protocol checkpassword --auth unix:$XG_TMP/example.sock" \
	"--auth unix:relative.sock"; do
	rc=0
	# shellcheck disable=SC2086
	"$xg_real_bin" --cert "$XG_TMP/cert.pem" --key "$XG_TMP/key.pem" --domain "$DOMAIN" \
		$args --backend "127.0.0.1:$PPORT" </dev/null >"$XG_TMP/usage.out" 2>&1 || rc=$?
	echo "    $args: exit $rc: $(head -n 1 "$XG_TMP/usage.out")"
	[ "$rc" = 100 ] || fail "$args: exit $rc, not 100"
done
pass "usage errors"

assert_no_leftovers
