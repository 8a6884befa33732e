#!/bin/bash
# Kernel TLS (kTLS) on this host's kernel: after the login xmppgate moves
# the client's TLS record layer into the kernel (src/ktls.c) and the relay
# splices; when it cannot (a kernel without TLS, CONFIG_TLS off) the relay
# falls back to user space and says so in one log line.  Once with GnuTLS
# asked for its own kTLS the way an operator would ask (its configuration
# file, [global] ktls = true, here a private one named by
# GNUTLS_SYSTEM_PRIORITY_FILE), once without.  strace shows what was asked
# of the kernel (TCP_ULP "tls" on the connected socket) and whether the
# bytes moved by splice(2); a session of 8 MiB each way must arrive intact
# (SHA-256) either way.
#
# The splice half runs only where the kernel has TLS; elsewhere this test
# says SKIP for that half, in its output, and checks the fallback.
# tests/t-ktls-uml.sh runs the kTLS half in user-mode Linux.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

DOMAIN=example.test
PASSWORD='s3cret ktls'
BYTES=$((8 * 1024 * 1024))
RELAY_CLIENT=$top_builddir/tests/relay_client
RELAY_BACKEND=$top_srcdir/tests/relay_backend.py

require_xmppgate
command -v strace >/dev/null || fail "strace is not installed (scripts/deps.sh)"
[ -x "$RELAY_CLIENT" ] ||
	fail "test client not built: $RELAY_CLIENT (make check builds it)"
make_certs "$XG_TMP" "$DOMAIN"
write_helper "$XG_TMP/helper-check" '
pw=$(cat)
[ "$AUTH_USER" = alice ] && [ "$pw" = "s3cret ktls" ] && exit 0
exit 1'
printf '[global]\nktls = true\n' >"$XG_TMP/gnutls.config"

# Does this kernel have TLS?  The same question xmppgate asks: TCP_ULP
# "tls" on a socket that is not connected says ENOENT without it.
KERNEL_TLS=$($XG_PY -c '
import errno, socket
s = socket.socket()
try:
    s.setsockopt(socket.IPPROTO_TCP, 31, b"tls")   # TCP_ULP
    print("yes")
except OSError as e:
    print("yes" if e.errno == errno.ENOTCONN else "no")
')

STRACE_DIR=$XG_TMP/strace
mkdir -p "$STRACE_DIR"
# LISTEN_PID is set again for strace's child (see t-route.sh).
cat >"$XG_TMP/traced-gate" <<EOT
#!/bin/sh
# LeakSanitizer cannot run under ptrace: off for the traced process.
ASAN_OPTIONS="\${ASAN_OPTIONS:+\$ASAN_OPTIONS:}detect_leaks=0"
export ASAN_OPTIONS
exec strace -y -o "$STRACE_DIR/\$\$" -e trace=setsockopt,splice \\
	sh -c 'LISTEN_PID=\$\$ exec "\$0" "\$@"' "$xg_real_bin" "\$@"
EOT
chmod 755 "$XG_TMP/traced-gate"

# session NAME: one login and 8 MiB each way through a fresh gate; checks
# both ends' digests.  The strace output is $STRACE_DIR/*.
session() {
	local name=$1 result=$XG_TMP/$1.result out res
	rm -f "$STRACE_DIR"/*
	XG_GATE_LOG=$XG_TMP/gate-$name.log
	GPORT=$(free_port)
	xg_bin=$XG_TMP/traced-gate start_gate "$GPORT" \
		--cert "$XG_TMP/cert.pem" --key "$XG_TMP/key.pem" \
		--domain "$DOMAIN" --auth "$XG_TMP/helper-check" --auth-delay 0 \
		--idle-timeout 30 -- "$XG_PY" "$RELAY_BACKEND" "$result" "$BYTES"
	out=$("$RELAY_CLIENT" --host 127.0.0.1 --port "$GPORT" \
		--ca "$XG_TMP/ca.pem" --domain "$DOMAIN" --user alice \
		--password "$PASSWORD" --send "$BYTES" --timeout 60 \
		2>"$XG_TMP/$name-client.log") ||
		fail "$name: relay_client failed: $(tail -n 1 "$XG_TMP/$name-client.log")"
	for i in $(seq 1 150); do
		[ -e "$result" ] && break
		sleep 0.1
	done
	res=$(cat "$result" 2>/dev/null) || fail "$name: no result from the backend"
	echo "    client:  $out"
	echo "    backend: $res"
	[ "$(summary_field "$out" sent_sha256)" = "$(summary_field "$res" received_sha256)" ] &&
	[ "$(summary_field "$res" sent_sha256)" = "$(summary_field "$out" received_sha256)" ] &&
	[ "$(summary_field "$res" received)" = "$BYTES" ] &&
	[ "$(summary_field "$out" received)" = "$BYTES" ] ||
		fail "$name: the bytes differ"
	[ "$(summary_field "$out" close)" = close_notify ] ||
		fail "$name: the client did not get close_notify: $out"
	wait_summaries 1 10 >/dev/null
	kill_bg "$GATE_PID"
	STRACE=$(cat "$STRACE_DIR"/*)
}

check "GnuTLS asked for kTLS (ktls = true): 8 MiB each way arrive intact"
XG_GATE_ENV="GNUTLS_SYSTEM_PRIORITY_FILE=$XG_TMP/gnutls.config" session asked
printf '%s\n' "$STRACE" | grep TCP_ULP | sed 's/^/    strace: /'
# xmppgate's first question is asked on a socket that is not connected;
# GnuTLS asks on the client's connected TCP socket (and so does xmppgate,
# but only when the kernel has TLS).
if [ "$KERNEL_TLS" = no ] &&
	printf '%s\n' "$STRACE" | grep -q 'setsockopt([0-9]*<TCP[v6]*:\[.*TCP_ULP'; then
	GNUTLS_TRIED=yes
else
	GNUTLS_TRIED=no
	echo "    GnuTLS did not try kTLS: this GnuTLS ($(gnutls-cli --version | head -n 1)) was built without it (Debian 12's is)"
fi
line=$(grep 'kernel TLS: ' "$XG_GATE_LOG") || fail "no 'kernel TLS:' log line"
echo "    log: ${line#*conn=}"
[ "$(grep -c 'kernel TLS: ' "$XG_GATE_LOG")" -eq 1 ] ||
	fail "more than one 'kernel TLS:' line for one connection"
if [ "$KERNEL_TLS" = yes ]; then
	case $line in
	*"kernel TLS: in use, splice(2) relay"*) ;;
	*) fail "the kernel has TLS, but: $line" ;;
	esac
	n=$(printf '%s\n' "$STRACE" | grep -c '^splice(' || :)
	[ "$n" -ge 100 ] || fail "only $n splice calls for 16 MiB"
	pass "kTLS in use, $n splice calls"
else
	expect="kernel TLS: not in use (the kernel has no TLS (TCP_ULP tls: No such file or directory)); relaying in user space"
	case $line in
	*"$expect"*) ;;
	*) fail "unexpected fallback line: $line (expected: $expect)" ;;
	esac
	printf '%s\n' "$STRACE" | grep -q '^splice(' &&
		fail "spliced without kTLS"
	pass "fell back to the user-space relay, and said why"
	echo "t-ktls: SKIP (this half only): the kTLS splice path needs a kernel with TLS (CONFIG_TLS); this kernel ($(uname -r)) has none, GnuTLS tried: $GNUTLS_TRIED; only the fallback was tested (tests/t-ktls-uml.sh runs the kTLS half in user-mode Linux)"
fi

check "GnuTLS not asked (its default): xmppgate's own kTLS, or the user-space relay, one line"
XG_GATE_ENV= session default
line=$(grep 'kernel TLS: ' "$XG_GATE_LOG") || fail "no 'kernel TLS:' log line"
echo "    log: ${line#*conn=}"
if [ "$KERNEL_TLS" = yes ]; then
	case $line in
	*"kernel TLS: in use, splice(2) relay (TLS1."*) ;;
	*) fail "the kernel has TLS, but: $line" ;;
	esac
	printf '%s\n' "$STRACE" | grep -q 'setsockopt([0-9]*<TCP[v6]*:\[.*TCP_ULP' ||
		fail "no TCP_ULP on the client's socket"
	pass "kTLS in use"
else
	printf '%s\n' "$STRACE" | grep -q 'setsockopt([0-9]*<TCP[v6]*:\[.*TCP_ULP' &&
		fail "TCP_ULP tried on the client's socket in a kernel without TLS"
	case $line in
	*"kernel TLS: not in use ("*"); relaying in user space"*) ;;
	*) fail "unexpected line: $line" ;;
	esac
	pass "user-space relay"
fi

check "no xmppgate left running"
assert_no_leftovers 5
pass "no leftovers"
