#!/bin/bash
# Least privilege: started as root with --user, xmppgate reads its key
# (root's, mode 0600) first and then runs as that user with no
# capabilities, no new privileges (a setuid helper gains nothing), not
# dumpable (the helper, the same user, cannot read its memory), and the
# helper gets only fds 0-2.  A bad --user ends the connection with
# <internal-server-error/> before any client byte is parsed, and so does
# root without --user (--user root asks for root in so many words).
# Started as the shipped units start it (a user of its own with the
# ambient capability CAP_DAC_READ_SEARCH), it reads the root-only key and
# drops the capability: neither the helper nor the exec-mode program can
# open the key, and the program's environment says nothing of systemd's
# credentials, sockets or fds.
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
	grep -E '^(CapPrm|CapAmb):' /proc/\$PPID/status | sed 's/^/parent-/'
	grep -E '^CapAmb:' /proc/self/status
	if cat '$XG_TMP/key.pem' >/dev/null 2>&1; then
		echo key=readable
	else
		echo key=denied
	fi
} >'$OUT/helper.txt' 2>&1
[ \"\$AUTH_USER\" = alice ] && [ \"\$pw\" = right ] && exit 0
exit 1"

# A copy nobody can read (the source tree may be in a private directory).
cp "$top_srcdir/tests/exec_backend.py" "$XG_TMP/exec_backend.py"
chmod 644 "$XG_TMP/exec_backend.py"
write_helper "$XG_TMP/prog" "
{
	echo \"prog-uid=\$(id -u)\"
	grep -E '^(CapEff|CapPrm|CapAmb):' /proc/self/status
	if cat '$XG_TMP/key.pem' >/dev/null 2>&1; then
		echo key=readable
	else
		echo key=denied
	fi
	env | sort | sed 's/^/env-/'
} >'$OUT/prog.txt'
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

check "no --user as root: refused, <internal-server-error/>, exit 111"
XG_NO_USER=1 new_gate root --auth "$XG_TMP/helper" --auth-delay 0 -- "$XG_TMP/prog"
rm -f "$OUT/helper.txt" "$OUT/prog.txt"
out=$($XG_PY "$XG_TMP/plain.py" "$GPORT")
echo "    $out"
case $out in
*"<stream:error><internal-server-error xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"*"</stream:stream>") ;;
*) fail "expected <internal-server-error/> and </stream:stream>: $out" ;;
esac
line=$(wait_summaries 1 10 | tail -n 1)
echo "    $line"
expect_summary "$line" outcome=tempfail
case $line in *"started as root without --user"*) ;;
*) fail "the log does not say that root needs --user" ;; esac
[ ! -e "$OUT/helper.txt" ] || fail "the helper ran"
pass "refused with a reason in the log"

# Root behind another effective uid (a setuid wrapper, setpriv --euid):
# with no_new_privs, exec would give the helper the real uid 0 back.
cat >"$XG_TMP/halfroot" <<EOF
#!/bin/sh
exec setpriv --ruid=0 --euid=$NOBODY_UID "$xg_bin" "\$@"
EOF
chmod 755 "$XG_TMP/halfroot"
# A key the effective uid can read: what is refused is the real uid 0.
HR=$XG_TMP/halfroot-certs
mkdir -p "$HR"
cp "$XG_TMP/cert.pem" "$XG_TMP/key.pem" "$HR/"
chown -R nobody "$HR"
# (Under valgrind $xg_bin is a wrapper script, and a shell sets a split
# uid back to the real one: the case cannot be made there.)
if [ "$(head -c 2 "$xg_bin")" = '#!' ]; then
	log "SKIP the real-uid-0 cases: $xg_bin is a script, which cannot keep a split uid"
else
	for u in "" nobody; do
		check "real uid 0 behind effective uid $NOBODY_UID${u:+, --user $u}: refused before the helper runs"
		rm -f "$OUT/helper.txt" "$OUT/prog.txt"
		XG_NO_USER=1 xg_bin=$XG_TMP/halfroot new_gate "halfroot$u" --auth "$XG_TMP/helper" \
			--auth-delay 0 --cert "$HR/cert.pem" --key "$HR/key.pem" ${u:+--user $u} -- "$XG_TMP/prog"
		out=$($XG_CLIENT --jid "alice@$DOMAIN" --password right --port "$GPORT" \
			--ca "$XG_TMP/ca.pem" --timeout 15 2>&1) && fail "the login succeeded: $out"
		line=$(wait_summaries 1 10 | tail -n 1)
		echo "    $line"
		expect_summary "$line" outcome=tempfail
		case $line in
		*"started as root without --user"* | *"uid 0 is the real or saved uid"*) ;;
		*) fail "the log does not say why: $line" ;;
		esac
		[ ! -e "$OUT/helper.txt" ] || fail "the helper ran (as uid $(field uid "$H"))"
		pass "refused"
	done
fi

check "--user root: root in so many words, still with no capabilities"
# Root without capabilities cannot write into nobody's files.
rm -f "$OUT/helper.txt" "$OUT/prog.txt" "$OUT/exec.log"
new_gate asroot --auth "$XG_TMP/helper" --auth-delay 0 --user root -- "$XG_TMP/prog"
out=$($XG_CLIENT --jid "alice@$DOMAIN" --password right --port "$GPORT" \
	--ca "$XG_TMP/ca.pem" --timeout 15) || fail "client: $out"
line=$(wait_summaries 1 10 | tail -n 1)
expect_summary "$line" outcome=ok user=alice
[ "$(field uid "$H" | cut -d' ' -f1)" = 0 ] || fail "the helper is not root"
[ "$(field parent-CapEff "$H")" = 0000000000000000 ] || fail "xmppgate kept capabilities as root"
[ "$(field CapEff "$H")" = 0000000000000000 ] || fail "the helper has capabilities"
pass "uid 0, CapEff 0"

# As the shipped units run it: a user of its own (nobody here) with the
# ambient capability CAP_DAC_READ_SEARCH and nothing else, and systemd's
# variables in its environment.
cat >"$XG_TMP/capgate" <<EOF
#!/bin/sh
exec setpriv --reuid=$NOBODY_UID --regid=$NOBODY_GID --clear-groups \\
	--bounding-set=-all,+dac_read_search --inh-caps=-all,+dac_read_search \\
	--ambient-caps=-all,+dac_read_search "$xg_bin" "\$@"
EOF
chmod 755 "$XG_TMP/capgate"
check "with CAP_DAC_READ_SEARCH, as the units: the key is read, then out of reach"
rm -f "$OUT/helper.txt" "$OUT/prog.txt" "$OUT/exec.log"
XG_NO_USER=1 xg_bin=$XG_TMP/capgate \
XG_GATE_ENV="CREDENTIALS_DIRECTORY=$XG_TMP NOTIFY_SOCKET=/run/systemd/notify XMPPGATE_OPTS=--secret INVOCATION_ID=0123 LANG=C.UTF-8" \
	new_gate caps --auth "$XG_TMP/helper" --auth-delay 0 --timeout 15 -- "$XG_TMP/prog"
out=$($XG_CLIENT --jid "alice@$DOMAIN" --password right --port "$GPORT" \
	--ca "$XG_TMP/ca.pem" --timeout 15) || { show_log "$XG_GATE_LOG"; fail "client: $out"; }
line=$(wait_summaries 1 10 | tail -n 1)
echo "    $line"
expect_summary "$line" outcome=ok user=alice
P=$OUT/prog.txt
sed 's/^/    helper: /' "$H"
sed 's/^/    prog: /' "$P"
[ "$(field uid "$H" | cut -d' ' -f1)" = "$NOBODY_UID" ] || fail "the helper is not nobody"
[ "$(field key "$H")" = denied ] || fail "the helper could read the key"
[ "$(field key "$P")" = denied ] || fail "the exec-mode program could read the key"
for k in parent-CapEff parent-CapPrm parent-CapAmb CapEff CapPrm CapAmb; do
	[ "$(field $k "$H")" = 0000000000000000 ] || fail "helper's $k: $(field $k "$H")"
done
for k in CapEff CapPrm CapAmb; do
	[ "$(field $k "$P")" = 0000000000000000 ] || fail "program's $k: $(field $k "$P")"
done
pass "xmppgate, the helper and the program hold no capability; key denied to both"

check "the exec-mode program's environment: an allow-list"
for v in CREDENTIALS_DIRECTORY NOTIFY_SOCKET XMPPGATE_OPTS INVOCATION_ID LISTEN_FDS \
	LISTEN_PID LISTEN_FDNAMES ASAN_OPTIONS; do
	! grep -q "^env-$v=" "$P" || fail "$v reached the program"
done
grep -qx "env-LANG=C.UTF-8" "$P" || fail "LANG did not reach the program"
grep -qx "env-XMPP_JID=alice@$DOMAIN" "$P" || fail "no XMPP_JID for the program"
grep -qx "env-TCPREMOTEIP=127.0.0.1" "$P" || fail "no TCPREMOTEIP for the program"
pass "no credentials, sockets or options of xmppgate's; the session's variables"

assert_no_leftovers
