#!/bin/bash
# The pooled mode (--listen): one xmppgate on a listening socket
# (systemd-socket-activate without --accept, and openbsd-inetd "wait"),
# a forked child per connection.  What only the pool does: the parent
# drops privileges and is not dumpable; it re-executes itself for a new
# address layout when a child is killed by a signal (the listening socket
# stays, the next login works, the live children are carried over), after
# --reexec-after connections and on SIGHUP, which takes a renewed
# certificate, while a broken one keeps the old image serving; the bounds
# (--max-conns, --max-conns-per-source) close a connection unanswered and
# log it; children are reaped.  The integration tests run against the
# pooled mode too: XG_LAUNCH=pool (tests/lib.sh).
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

export XG_LAUNCH=pool
DOMAIN=example.test
INETD=/usr/sbin/inetd
require_xmppgate
make_certs "$XG_TMP" "$DOMAIN"
# The pool reads the key again, as the user it dropped to, when it
# re-executes: readable by nobody here.
chmod 644 "$XG_TMP/key.pem"
write_helper "$XG_TMP/helper" '
pw=$(cat)
[ "$AUTH_USER" = alice ] && [ "$pw" = alicepw ] && exit 0
exit 1'

# The client side, by hand (tests/xmpp_raw.py):
#   hold PORT FILE [SRC]: stream header, features, then wait (held open
#     until killed), "HELD" in FILE once the features came;
#   certfp PORT: STARTTLS, the server certificate's SHA-256;
#   greet PORT: the answer to a stream header: "internal-server-error"
#     or "features";
#   refused PORT [SRC]: what a connection gets in 5 s: "closed" (end of
#     file, no byte), "reset", or "answered".
cat >"$XG_TMP/pool_client.py" <<'EOF'
import hashlib, socket, ssl, sys, time
from xmpp_raw import header, until, TLS_NS
what, port = sys.argv[1], int(sys.argv[2])
def conn(src=None):
    s = socket.socket()
    s.settimeout(30)
    if src:
        s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    return s
if what == "hold":
    s = conn(sys.argv[4] if len(sys.argv) > 4 else None)
    s.sendall(header())
    until(s, b"</stream:features>")
    open(sys.argv[3], "a").write("HELD\n")
    s.settimeout(120)
    try:
        s.recv(1)
    except OSError:
        pass
elif what == "certfp":
    s = conn()
    s.sendall(header())
    until(s, b"</stream:features>")
    s.sendall(b"<starttls xmlns='" + TLS_NS + b"'/>")
    until(s, b"<proceed")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    t = ctx.wrap_socket(s, server_hostname="example.test")
    print(hashlib.sha256(t.getpeercert(binary_form=True)).hexdigest())
elif what == "greet":
    s = conn()
    s.sendall(header())
    r = until(s, b"</stream:features>", b"</stream:stream>", eof_ok=True)
    print("internal-server-error" if b"<internal-server-error" in r else
          "features" if b"</stream:features>" in r else "other %r" % r)
elif what == "refused":
    s = conn(sys.argv[3] if len(sys.argv) > 3 else None)
    s.settimeout(5)
    try:
        d = s.recv(4096)
        print("closed" if not d else "answered")
    except ConnectionResetError:
        print("reset")
    except socket.timeout:
        print("answered")  # held open: a child serves it
EOF
pc() { $XG_PY "$XG_TMP/pool_client.py" "$@"; }

# login PORT: one PLAIN login (exec mode runs /bin/cat): "success".
login() { plain_probe "$1" alice alicepw; }

# hold_conn NAME PORT [SRC]: a connection held open after the features;
# sets HOLD_PID.
hold_conn() {
	bg "$XG_TMP/hold-$1.out" "$XG_PY" "$XG_TMP/pool_client.py" hold "$2" \
		"$XG_TMP/hold-$1.ok" ${3:+"$3"}
	HOLD_PID=$BG_PID
	for _ in $(seq 1 100); do
		grep -q HELD "$XG_TMP/hold-$1.ok" 2>/dev/null && return 0
		sleep 0.1
	done
	show_log "$XG_TMP/hold-$1.out"
	fail "connection $1 did not get its features"
}

# kids: the pool's children (GATE_PID's).
kids() { pgrep -P "$GATE_PID" 2>/dev/null || :; }

# listen_fd_inode PID: the inode of the listening socket at fd 3.
sock_inode() { readlink "/proc/$1/fd/3" 2>/dev/null || :; }

NOBODY=$(id -u nobody)
GATE_OPTS=(--cert "$XG_TMP/cert.pem" --key "$XG_TMP/key.pem" --domain "$DOMAIN"
	--auth "$XG_TMP/helper" --auth-delay 0 --header-timeout 60 --timeout 120)

check "refused without a listening socket (usage error, exit 100)"
rc=0
out=$("$xg_bin" --listen "${GATE_OPTS[@]}" -- /bin/cat 2>&1 </dev/null) || rc=$?
echo "    exit $rc: $out"
[ "$rc" -eq 100 ] || fail "exit status $rc, expected 100"
case $out in *"--listen wants a listening socket"*) ;; *) fail "no reason given: $out" ;; esac
rc=0
out=$("$xg_bin" --max-conns 5 "${GATE_OPTS[@]}" -- /bin/cat 2>&1 </dev/null) || rc=$?
[ "$rc" -eq 100 ] || fail "--max-conns without --listen: exit $rc, expected 100"
pass "usage errors"

poke() { exec 9<>"/dev/tcp/127.0.0.1/$1" && exec 9<&-; }

check "--accept-proxy-protocol: the per-source bound would count the load balancer; a warning, none with 0"
XG_GATE_LOG=$XG_TMP/gate-lb.log
GPORT=$(free_port)
start_gate "$GPORT" --user nobody --accept-proxy-protocol --trusted-proxy 127.0.0.1 "${GATE_OPTS[@]}" -- /bin/cat
poke "$GPORT"	# systemd-socket-activate starts it on the first connection
wait_log "pool: serving" || { show_log "$XG_GATE_LOG"; fail "the pool did not start"; }
grep -q "pool: --max-conns-per-source 256 counts the address of the peer that sends the PROXY header" "$XG_GATE_LOG" ||
	{ show_log "$XG_GATE_LOG"; fail "no warning for the per-source bound behind a load balancer"; }
kill_bg "$GATE_PID"
XG_GATE_LOG=$XG_TMP/gate-lb0.log
GPORT=$(free_port)
start_gate "$GPORT" --user nobody --accept-proxy-protocol --trusted-proxy 127.0.0.1 --max-conns-per-source 0 "${GATE_OPTS[@]}" -- /bin/cat
poke "$GPORT"	# systemd-socket-activate starts it on the first connection
wait_log "pool: serving" || { show_log "$XG_GATE_LOG"; fail "the pool did not start"; }
! grep -q "counts the address of the peer" "$XG_GATE_LOG" || fail "a warning with --max-conns-per-source 0"
kill_bg "$GATE_PID"
pass "warned, and not with 0"

check "a login through the pool; the parent dropped privileges, is not dumpable, has no zombie"
XG_GATE_LOG=$XG_TMP/gate-main.log
GPORT=$(free_port)
# A child is killed by SIGSEGV below.  Under ASan (scripts/sanitize.sh) its
# handler would catch the signal, report a crash and exit with code 1: with
# handle_segv=0 the child dies by the signal, as a crash of the plain build
# does, which is what the parent's re-exec is about.
xg_asan=$ASAN_OPTIONS
ASAN_OPTIONS="$ASAN_OPTIONS:handle_segv=0"
start_gate "$GPORT" --user nobody --reexec-after 0 "${GATE_OPTS[@]}" -- /bin/cat
ASAN_OPTIONS=$xg_asan
out=$(login "$GPORT")
[ "$out" = success ] || fail "login: $out"
wait_exit 0 || { show_log "$XG_GATE_LOG"; fail "no 'pool: child ... exited with code 0' line"; }
line=$(wait_summaries 1 | tail -n 1)
expect_summary "$line" outcome=ok user=alice
grep -E "^(Uid|Gid|CapPrm|CapEff|NoNewPrivs):" "/proc/$GATE_PID/status" | sed 's/^/    /'
grep -qE "^Uid:\s+$NOBODY\s+$NOBODY\s+$NOBODY\s+$NOBODY$" "/proc/$GATE_PID/status" ||
	fail "the parent is not user nobody in all four uids"
grep -q "^CapEff:\s*0*$" "/proc/$GATE_PID/status" && grep -q "^CapPrm:\s*0*$" "/proc/$GATE_PID/status" ||
	fail "the parent holds capabilities"
grep -q "^NoNewPrivs:\s*1$" "/proc/$GATE_PID/status" || fail "no PR_SET_NO_NEW_PRIVS"
# A process that is not dumpable has its /proc files owned by root; and
# its own user cannot read them.
[ "$(stat -c %u "/proc/$GATE_PID/environ")" = 0 ] || fail "the parent is dumpable"
if setpriv --reuid=nobody --regid=nogroup --clear-groups cat "/proc/$GATE_PID/environ" >/dev/null 2>&1; then
	fail "user nobody can read the parent's environment"
fi
z=$(ps -o stat= --ppid "$GATE_PID" | grep -c '^Z' || :)
[ "$z" -eq 0 ] || fail "$z zombie children"
pass "login ok; parent uid nobody, no capability, not dumpable; no zombie"

check "a child killed by SIGSEGV mid-session: the parent re-executes, the socket stays, the held session goes on counted, the next login works"
ino1=$(sock_inode "$GATE_PID")
maps1=$(grep -m1 'libc' "/proc/$GATE_PID/maps" | cut -d- -f1)
hold_conn keep "$GPORT"
KEEP=$HOLD_PID
hold_conn victim "$GPORT"
VICTIM_CLIENT=$HOLD_PID
n=$(kids | wc -l)
[ "$n" -eq 2 ] || fail "$n children, expected 2"
victim=$(kids | sort -n | tail -n 1)
kill -SEGV "$victim"
wait_log "pool: child $victim client=127.0.0.1:[0-9]* killed by signal 11" ||
	{ show_log "$XG_GATE_LOG"; fail "no line for the child killed by SIGSEGV"; }
wait_log "pool: re-executed (child $victim killed by signal 11 .*): image 2, 1 children carried over" ||
	{ show_log "$XG_GATE_LOG"; fail "the parent did not re-execute with the held child"; }
grep "pool: re-execut" "$XG_GATE_LOG" | sed 's/^/    /'
kill -0 "$GATE_PID" || fail "the parent is gone"
ino2=$(sock_inode "$GATE_PID")
[ -n "$ino1" ] && [ "$ino1" = "$ino2" ] || fail "the listening socket changed: $ino1 -> $ino2"
maps2=$(grep -m1 'libc' "/proc/$GATE_PID/maps" | cut -d- -f1)
echo "    libc at $maps1, after the re-exec at $maps2 (socket $ino2)"
if [ "$(cat /proc/sys/kernel/randomize_va_space)" != 0 ]; then
	[ "$maps1" != "$maps2" ] || fail "the same address layout after the re-exec"
fi
out=$(login "$GPORT")
[ "$out" = success ] || fail "login after the re-exec: $out"
# The held session was carried: its end is logged with its client (the
# login's child may still be ending then: any count of running).
kill_bg "$KEEP"
kill_bg "$VICTIM_CLIENT"
wait_log "pool: child [0-9]* client=127.0.0.1:[0-9]* exited with code 1 ([0-9]* running)" 30 ||
	{ show_log "$XG_GATE_LOG"; fail "the carried child's end was not logged with its client"; }
pass "re-executed with a new layout on the same socket; the carried child counted and reaped"

check "SIGHUP takes a renewed certificate; a broken one keeps the old image serving"
fp1=$(pc certfp "$GPORT")
mkdir -p "$XG_TMP/new"
make_certs "$XG_TMP/new" "$DOMAIN"
cp "$XG_TMP/new/cert.pem" "$XG_TMP/cert.pem.new"
cp "$XG_TMP/new/key.pem" "$XG_TMP/key.pem.new"
chmod 644 "$XG_TMP/key.pem.new"
mv "$XG_TMP/cert.pem.new" "$XG_TMP/cert.pem"
mv "$XG_TMP/key.pem.new" "$XG_TMP/key.pem"
cp "$XG_TMP/new/ca.pem" "$XG_TMP/ca.pem"	# for plain_probe's check
fp_same=$(pc certfp "$GPORT")
[ "$fp_same" = "$fp1" ] || fail "the certificate changed without a reload"
kill -HUP "$GATE_PID"
wait_log "pool: re-executed (SIGHUP): image 3" ||
	{ show_log "$XG_GATE_LOG"; fail "SIGHUP did not re-execute"; }
fp2=$(pc certfp "$GPORT")
echo "    certificate $fp1 -> $fp2"
[ "$fp2" != "$fp1" ] || fail "SIGHUP did not take the new certificate"
echo "not a key" >"$XG_TMP/key.pem"
kill -HUP "$GATE_PID"
wait_log "pool: not re-executing (SIGHUP): the new image failed" ||
	{ show_log "$XG_GATE_LOG"; fail "a broken key was not refused"; }
grep "pool: check of the new image\|not re-executing" "$XG_GATE_LOG" | sed 's/^/    /'
fp3=$(pc certfp "$GPORT")
[ "$fp3" = "$fp2" ] || fail "the pool no longer serves its certificate"
out=$(login "$GPORT")
[ "$out" = success ] || fail "login with the old image: $out"
kill_bg "$GATE_PID"
cp "$XG_TMP/new/key.pem" "$XG_TMP/key.pem"
pass "renewed on SIGHUP; the broken key logged, the old image served on"

check "a key that does not load at start: every client gets <internal-server-error/>, exit 111, the socket stays; fixed, SIGHUP serves"
XG_GATE_LOG=$XG_TMP/gate-badkey.log
GPORT=$(free_port)
cp "$XG_TMP/key.pem" "$XG_TMP/key.pem.good"
echo "not a key" >"$XG_TMP/key.pem"
start_gate "$GPORT" --user nobody "${GATE_OPTS[@]}" -- /bin/cat
out=$(pc greet "$GPORT")
echo "    $out"
[ "$out" = internal-server-error ] || fail "expected <internal-server-error/>: $out"
wait_exit 111 || { show_log "$XG_GATE_LOG"; fail "the child did not exit 111"; }
line=$(wait_summaries 1 | tail -n 1)
expect_summary "$line" outcome=tempfail
case $line in *"unable to load certificate"*) ;; *) fail "the summary does not say why: $line" ;; esac
wait_log "pool: not re-executing (the configuration did not load)" 20 ||
	{ show_log "$XG_GATE_LOG"; fail "the pool did not try again"; }
mv "$XG_TMP/key.pem.good" "$XG_TMP/key.pem"
# Just after a failed try: SIGHUP tries again at once, not when the 10 s
# retry comes round (wait_log's 7 s would not reach it, but for
# XG_TIME_FACTOR under valgrind, where this check is weaker).
n_failed=$(grep -c "pool: not re-executing" "$XG_GATE_LOG")
kill -HUP "$GATE_PID"
wait_log "pool: re-executed (the configuration did not load): image 2" 7 ||
	{ show_log "$XG_GATE_LOG"; fail "the fixed key was not taken at once on SIGHUP"; }
[ "$(grep -c "pool: not re-executing" "$XG_GATE_LOG")" -eq "$n_failed" ] ||
	{ show_log "$XG_GATE_LOG"; fail "another failed try came between SIGHUP and the re-exec"; }
out=$(login "$GPORT")
[ "$out" = success ] || fail "login after the fix: $out"
kill_bg "$GATE_PID"
pass "served <internal-server-error/> while broken, then logins after the fix"

check "a new image whose check is slow: the old image accepts and serves meanwhile, but not after a crash"
if [ -n "${XG_VALGRIND:-}" ]; then
	# The pool must run from a copy of the binary here, not valgrind's.
	log "SKIP this check under valgrind (it runs a copy of the binary)"
else
	XG_GATE_LOG=$XG_TMP/gate-slowcheck.log
	GPORT=$(free_port)
	mkdir -p "$XG_TMP/slow"
	cp "$xg_real_bin" "$XG_TMP/slow/xmppgate"
	xg_bin_saved=$xg_bin
	xg_bin=$XG_TMP/slow/xmppgate
	start_gate "$GPORT" --user nobody "${GATE_OPTS[@]}" -- /bin/cat
	xg_bin=$xg_bin_saved
	out=$(login "$GPORT")
	[ "$out" = success ] || fail "login: $out"
	# The binary at the pool's path is now a new image whose check
	# takes 8 s (a slow user database or file system, as it were).
	printf '#!/bin/sh\n[ -z "$XMPPGATE_POOL_CHECK" ] || sleep 8\nexec %s "$@"\n' \
		"$xg_real_bin" >"$XG_TMP/slow/xmppgate.new"
	chmod 755 "$XG_TMP/slow/xmppgate.new"
	mv "$XG_TMP/slow/xmppgate.new" "$XG_TMP/slow/xmppgate"
	kill -HUP "$GATE_PID"
	wait_log "pool: SIGHUP: reloading" || { show_log "$XG_GATE_LOG"; fail "no SIGHUP line"; }
	for i in 1 2 3; do
		out=$(login "$GPORT")
		[ "$out" = success ] || { show_log "$XG_GATE_LOG"; fail "login $i during the check: $out"; }
	done
	! grep -q "pool: re-executed (SIGHUP)" "$XG_GATE_LOG" ||
		{ show_log "$XG_GATE_LOG"; fail "the re-exec came before the logins: were they held in the backlog?"; }
	echo "    three logins served while the check ran"
	wait_log "pool: re-executed (SIGHUP): image 2" 20 ||
		{ show_log "$XG_GATE_LOG"; fail "the slow check never led to the re-exec"; }
	out=$(login "$GPORT")
	[ "$out" = success ] || fail "login with the new image: $out"
	kill_bg "$GATE_PID"
	# After a crash, no connection is the old layout's: a login that
	# comes while the (slow) check runs waits for the new image.
	XG_GATE_LOG=$XG_TMP/gate-crashhold.log
	GPORT=$(free_port)
	cp "$xg_real_bin" "$XG_TMP/slow/xmppgate"
	xg_bin=$XG_TMP/slow/xmppgate
	xg_asan=$ASAN_OPTIONS
	ASAN_OPTIONS="$ASAN_OPTIONS:handle_segv=0"	# as above
	start_gate "$GPORT" --user nobody "${GATE_OPTS[@]}" -- /bin/cat
	ASAN_OPTIONS=$xg_asan
	xg_bin=$xg_bin_saved
	hold_conn crashhold "$GPORT"
	victim=$(kids | head -n 1)
	printf '#!/bin/sh\n[ -z "$XMPPGATE_POOL_CHECK" ] || sleep 4\nexec %s "$@"\n' \
		"$xg_real_bin" >"$XG_TMP/slow/xmppgate.new"
	chmod 755 "$XG_TMP/slow/xmppgate.new"
	mv "$XG_TMP/slow/xmppgate.new" "$XG_TMP/slow/xmppgate"
	kill -SEGV "$victim"
	wait_log "pool: child $victim client=.* killed by signal 11" ||
		{ show_log "$XG_GATE_LOG"; fail "no line for the crash"; }
	out=$(login "$GPORT")
	[ "$out" = success ] || { show_log "$XG_GATE_LOG"; fail "login after the crash: $out"; }
	grep -q "pool: re-executed (child $victim killed by signal 11" "$XG_GATE_LOG" ||
		{ show_log "$XG_GATE_LOG"; fail "a login after the crash was served before the new image"; }
	echo "    the login after the crash waited for the new image"
	kill_bg "$GATE_PID"
	pass "served during the check; re-executed after it; after a crash, nothing accepted until the new image"
fi

check "--reexec-after 3: the fourth connection is a new image's"
XG_GATE_LOG=$XG_TMP/gate-count.log
GPORT=$(free_port)
start_gate "$GPORT" --user nobody --reexec-after 3 "${GATE_OPTS[@]}" -- /bin/cat
for i in 1 2 3 4; do
	out=$(login "$GPORT")
	[ "$out" = success ] || fail "login $i: $out"
done
wait_log "pool: re-executed (3 connections): image 2" ||
	{ show_log "$XG_GATE_LOG"; fail "no re-exec after 3 connections"; }
n=$(grep -c "pool: re-executed" "$XG_GATE_LOG")
[ "$n" -eq 1 ] || fail "$n re-executions for 4 connections, expected 1"
kill_bg "$GATE_PID"
pass "one re-exec after 3 connections"

check "bounds: --max-conns 3 and --max-conns-per-source 2 close the connection unanswered, logged"
XG_GATE_LOG=$XG_TMP/gate-bounds.log
GPORT=$(free_port)
start_gate "$GPORT" --user nobody --max-conns 3 --max-conns-per-source 2 "${GATE_OPTS[@]}" -- /bin/cat
hold_conn a1 "$GPORT" 127.0.0.1
hold_conn a2 "$GPORT" 127.0.0.1
out=$(pc refused "$GPORT" 127.0.0.1)
echo "    third from 127.0.0.1: $out"
case $out in closed|reset) ;; *) fail "over --max-conns-per-source the connection was $out" ;; esac
wait_log "pool: 1 refused (--max-conns-per-source) since the last such line: 2 connections from 127.0.0.1" ||
	{ show_log "$XG_GATE_LOG"; fail "the per-source refusal was not logged"; }
hold_conn b1 "$GPORT" 127.0.0.2
out=$(pc refused "$GPORT" 127.0.0.3)
echo "    fourth, from 127.0.0.3: $out"
case $out in closed|reset) ;; *) fail "over --max-conns the connection was $out" ;; esac
wait_log "pool: 1 refused (--max-conns) since the last such line: 3 connections at once, the latest refused from 127.0.0.3" ||
	{ show_log "$XG_GATE_LOG"; fail "the --max-conns refusal was not logged"; }
# A storm of refusals is one line a second, with the count.
storm=""
for i in $(seq 1 20); do
	pc refused "$GPORT" 127.0.0.4 >/dev/null &
	storm="$storm $!"
done
# shellcheck disable=SC2086
wait $storm
sleep 1.5
n=$(grep -c "refused (--max-conns)" "$XG_GATE_LOG")
echo "    21 refusals in $n lines:"
grep "refused (--max-conns)" "$XG_GATE_LOG" | sed 's/^/    /'
[ "$n" -le 4 ] || fail "refusals are not rate-limited: $n lines"
total=$(sed -n 's/.* pool: \([0-9]*\) refused (--max-conns) .*/\1/p' "$XG_GATE_LOG" | awk '{ s += $1 } END { print s }')
[ "$total" -eq 21 ] || fail "the lines count $total refusals, expected 21"
kill_bg "$GATE_PID"
pass "refused unanswered and counted"

if [ -x "$INETD" ]; then
	check "inetd wait: openbsd-inetd hands the listening socket to one pool, which logs to syslog"
	IPORT=$(free_port)
	# stderr is the listening socket under inetd: the pool sees it and
	# logs to syslog, and so do its children, without --syslog.  As in
	# t-inetd, inetd runs in a private mount namespace whose /dev/log is
	# this test's datagram socket.
	cat >"$XG_TMP/inetd.conf" <<CONF
127.0.0.1:$IPORT stream tcp4 wait root $xg_bin xmppgate --listen --user nobody ${GATE_OPTS[*]} -- /bin/cat
CONF
	DEVDIR=$XG_TMP/dev
	SYSLOG=$XG_TMP/syslog.log
	mkdir -p "$DEVDIR"
	for n in null zero random urandom; do
		: >"$DEVDIR/$n"
	done
	cat >"$XG_TMP/syslogd.py" <<'EOF2'
import os, socket, sys
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
with open(out, "ab", buffering=0) as f:
    f.write(b"READY\n")
    while True:
        f.write(s.recv(65536).rstrip(b"\0\n") + b"\n")
EOF2
	bg "$XG_TMP/syslogd.out" "$XG_PY" "$XG_TMP/syslogd.py" "$DEVDIR/log" "$SYSLOG"
	for i in $(seq 1 50); do
		grep -q READY "$SYSLOG" 2>/dev/null && break
		sleep 0.1
	done
	grep -q READY "$SYSLOG" 2>/dev/null || fail "the test's syslog socket did not start"
	cat >"$XG_TMP/inetd-ns.sh" <<EOF2
set -e
for n in null zero random urandom; do
	mount --bind /dev/\$n '$DEVDIR/'\$n
done
mount --bind '$DEVDIR' /dev
exec '$INETD' -d -i -E '$XG_TMP/inetd.conf'
EOF2
	if unshare --mount --propagation private true 2>/dev/null; then
		bg "$XG_TMP/inetd.out" unshare --mount --propagation private \
			/bin/sh "$XG_TMP/inetd-ns.sh"
		SYSLOG_CHECK=yes
	else
		log "NOTE: no private mount namespace (a chroot?): the syslog check is skipped"
		bg "$XG_TMP/inetd.out" "$INETD" -d -i -E "$XG_TMP/inetd.conf"
		SYSLOG_CHECK=no
	fi
	INETD_PID=$BG_PID
	wait_port "$IPORT" 10 "$INETD_PID" || { show_log "$XG_TMP/inetd.out"; fail "inetd did not listen"; }
	for i in 1 2 3; do
		out=$(login "$IPORT")
		[ "$out" = success ] || { show_log "$XG_TMP/inetd.out"; fail "login $i through inetd wait: $out"; }
	done
	# inetd runs its programs with argv[0] as the line gives it (under
	# valgrind, the wrapper's exec of valgrind drops it: no ^ here).
	pools=$(pgrep -f -- "xmppgate --listen --user nobody .*$XG_TMP" | while read -r p; do
		[ "$(ps -o ppid= -p "$p" | tr -d ' ')" = "$INETD_PID" ] && echo "$p" || :; done)
	echo "    pools under inetd: $pools"
	[ "$(echo "$pools" | grep -c .)" -eq 1 ] || fail "expected one pool under inetd, found: '$pools'"
	echo "$pools" >>"$XG_TMP/pool.pids"
	if [ "$SYSLOG_CHECK" = yes ]; then
		wait_log "pool: child [0-9]* client=127.0.0.1:[0-9]* exited with code 0" 10 "$SYSLOG" ||
			{ show_log "$SYSLOG"; fail "the pool's lines are not in syslog"; }
		n=$(grep -c ' summary .*outcome=ok' "$SYSLOG" || :)
		[ "$n" -eq 3 ] || { show_log "$SYSLOG"; fail "$n summary lines in syslog, expected 3"; }
		grep 'pool: ' "$SYSLOG" | head -n 3 | sed 's/^/    /'
	fi
	kill_bg "$INETD_PID"
	pass "three logins through one pool under inetd wait"
fi

check "no xmppgate or helper left"
assert_no_leftovers 10
pass "none"
