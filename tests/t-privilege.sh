#!/bin/bash
# Least privilege: started as root with --user, xmppgate reads its key
# (root's, mode 0600) first and then runs as that user with no
# capabilities, no new privileges (a setuid helper gains nothing), not
# dumpable (the helper, the same user, cannot read its memory), and the
# helper gets only fds 0-2.  A bad --user ends the connection with
# <internal-server-error/> before any client byte is parsed.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

DOMAIN=example.test
require_xmppgate
[ "$(id -u)" -eq 0 ] || fail "this test must run as root (it tests --user)"
id nobody >/dev/null 2>&1 || fail "no user 'nobody' on this system"
NOBODY_UID=$(id -u nobody)
NOBODY_GID=$(id -g nobody)
make_certs "$XG_TMP" "$DOMAIN"
chown root:root "$XG_TMP/key.pem"
chmod 600 "$XG_TMP/key.pem"

# Where the helper and the program (running as nobody) may write.
OUT=$XG_TMP/out
mkdir -m 1777 "$OUT"
# A setuid-root copy of id(1): with no_new_privs it must not make anyone
# root.  Only meaningful if this file system honours setuid bits.
SUID_ID=$XG_TMP/suid-id
cp /usr/bin/id "$SUID_ID"
chmod 4755 "$SUID_ID"
suid_works=yes
if ! setpriv --reuid=nobody --regid=nogroup --clear-groups "$SUID_ID" -u 2>/dev/null | grep -qx 0; then
	suid_works=no
	log "setuid bits are not honoured under $XG_TMP; skipping the setuid part"
fi

write_helper "$XG_TMP/helper" "
pw=\$(cat)
{
	echo \"uid=\$(id -u) gid=\$(id -g) groups=\$(id -G)\"
	echo \"suid-euid=\$('$SUID_ID' -u)\"
	grep -E '^(NoNewPrivs|CapEff|CapPrm|CapBnd):' /proc/self/status
	echo \"fds=\$(ls /proc/self/fd | sort -n | tr '\n' ' ')\"
	echo \"parent-uid=\$(awk '/^Uid:/ { print \$2, \$3, \$4, \$5 }' /proc/\$PPID/status)\"
	echo \"parent-gid=\$(awk '/^Gid:/ { print \$2, \$3, \$4, \$5 }' /proc/\$PPID/status)\"
	echo \"parent-groups=\$(awk '/^Groups:/ { \$1 = \"\"; print }' /proc/\$PPID/status)\"
	grep -E '^(NoNewPrivs|CapEff):' /proc/\$PPID/status | sed 's/^/parent-/'
	if cat /proc/\$PPID/environ >/dev/null 2>&1; then
		echo parent-environ=readable
	else
		echo parent-environ=denied
	fi
} >'$OUT/helper.txt' 2>&1
[ \"\$AUTH_USER\" = alice ] && [ \"\$pw\" = right ] && exit 0
exit 1"

# A copy nobody can read (the source tree may be in a private directory).
cp "$top_srcdir/tests/exec_backend.py" "$XG_TMP/exec_backend.py"
chmod 644 "$XG_TMP/exec_backend.py"
write_helper "$XG_TMP/prog" "
echo \"prog-uid=\$(id -u)\" >'$OUT/prog.txt'
exec $XG_PY '$XG_TMP/exec_backend.py' '$OUT/exec.log'"

# field NAME FILE: the value of NAME=... in FILE.
field() { sed -n "s/^$1[=:][[:space:]]*//p" "$2" | head -n 1; }

check "--user nobody: a login works with a root-only key"
new_gate user --auth "$XG_TMP/helper" --auth-delay 0 --timeout 15 \
	--user nobody -- "$XG_TMP/prog"
out=$($XG_CLIENT --jid "alice@$DOMAIN" --password right --port "$GPORT" \
	--ca "$XG_TMP/ca.pem" --timeout 15) || fail "client: $out"
echo "    $out"
line=$(wait_summaries 1 10 | tail -n 1)
echo "    $line"
expect_summary "$line" outcome=ok user=alice
sed 's/^/    helper: /' "$OUT/helper.txt"
pass "logged in"

check "xmppgate and the helper run as nobody, with no capabilities"
H=$OUT/helper.txt
[ "$(field uid "$H" | cut -d' ' -f1)" = "$NOBODY_UID" ] || fail "helper uid is not nobody's ($NOBODY_UID)"
grep -q "^uid=$NOBODY_UID gid=$NOBODY_GID groups=$NOBODY_GID\$" "$H" ||
	fail "helper should have nobody's uid, gid and only its group"
[ "$(field parent-uid "$H")" = "$NOBODY_UID $NOBODY_UID $NOBODY_UID $NOBODY_UID" ] ||
	fail "xmppgate's real/effective/saved/fs uid should all be $NOBODY_UID"
[ "$(field parent-gid "$H")" = "$NOBODY_GID $NOBODY_GID $NOBODY_GID $NOBODY_GID" ] ||
	fail "xmppgate's gids should all be $NOBODY_GID"
[ "$(field parent-groups "$H" | tr -d ' ')" = "$NOBODY_GID" ] ||
	fail "xmppgate kept supplementary groups: $(field parent-groups "$H")"
for k in CapEff CapPrm; do
	[ "$(field $k "$H")" = 0000000000000000 ] || fail "helper $k is not empty"
done
[ "$(field parent-CapEff "$H")" = 0000000000000000 ] || fail "xmppgate CapEff is not empty"
[ "$(field prog-uid "$OUT/prog.txt")" = "$NOBODY_UID" ] ||
	fail "the exec-mode program does not run as nobody"
pass "uid/gid $NOBODY_UID/$NOBODY_GID everywhere, no capabilities"

check "no new privileges, for xmppgate and what it runs"
[ "$(field NoNewPrivs "$H")" = 1 ] || fail "helper NoNewPrivs is not 1"
[ "$(field parent-NoNewPrivs "$H")" = 1 ] || fail "xmppgate NoNewPrivs is not 1"
if [ "$suid_works" = yes ]; then
	[ "$(field suid-euid "$H")" = "$NOBODY_UID" ] ||
		fail "a setuid-root program run by the helper got euid $(field suid-euid "$H")"
	pass "NoNewPrivs=1; a setuid-root program stays uid $NOBODY_UID"
else
	pass "NoNewPrivs=1 (setuid part skipped: the file system ignores setuid bits)"
fi

check "xmppgate is not dumpable: the helper cannot read its environment"
[ "$(field parent-environ "$H")" = denied ] ||
	fail "the helper could read /proc/<xmppgate>/environ"
pass "denied"

check "the helper has only fds 0, 1 and 2 (plus the one ls opens)"
fds=$(field fds "$H")
echo "    fds: $fds"
# ls itself opens one directory fd to list /proc/self/fd.
set -- $fds
[ "$#" -eq 4 ] && [ "$1 $2 $3" = "0 1 2" ] || fail "helper fds: $fds"
pass "0 1 2"

check "--user with a user that does not exist: <internal-server-error/>, exit 111"
new_gate nouser --auth "$XG_TMP/helper" --user no-such-user-xg -- /bin/true
cat >"$XG_TMP/plain.py" <<'EOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"<?xml version='1.0'?><stream:stream to='example.test' xmlns='jabber:client' "
          b"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>")
buf = b""
end = time.monotonic() + 10
while time.monotonic() < end:
    d = s.recv(65536)
    if not d:
        break
    buf += d
print(buf.decode("utf-8", "replace"))
EOF
out=$($XG_PY "$XG_TMP/plain.py" "$GPORT")
echo "    $out"
case $out in
*"<stream:error><internal-server-error xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"*"</stream:stream>") ;;
*) fail "expected <internal-server-error/> and </stream:stream>: $out" ;;
esac
case $out in *no-such-user*) fail "the client was told the user name" ;; esac
line=$(wait_summaries 1 10 | tail -n 1)
echo "    $line"
expect_summary "$line" outcome=tempfail
case $line in *"--user no-such-user-xg: no such user"*) ;;
*) fail "the log does not say which user is missing" ;; esac
pass "refused with a reason in the log"

check "no --user as root: a warning in the log"
new_gate root --auth "$XG_TMP/helper" --auth-delay 0 -- "$XG_TMP/prog"
out=$($XG_CLIENT --jid "alice@$DOMAIN" --password wrong --port "$GPORT" \
	--ca "$XG_TMP/ca.pem" --expect auth-failure --timeout 15) || fail "client: $out"
wait_summaries 1 10 >/dev/null
grep -q 'running as root: give --user' "$XG_GATE_LOG" || fail "no warning about running as root"
pass "warned"

assert_no_leftovers
