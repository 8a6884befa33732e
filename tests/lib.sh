# tests/lib.sh -- sourced by the integration tests (bash).
#
# Every test gets a private temporary directory ($XG_TMP), its own loopback
# ports and a cleanup trap that ends every process the test started: each
# background program is started with setsid, so it leads its own session,
# and the trap kills those sessions (this also reaches xmppgate's children
# and the helpers, which xmppgate runs in their own process group but the
# same session), then anything still running with the temporary directory
# on its command line or XG_MARK=$XG_TMP in its environment (inetd runs its
# children in new sessions).  XG_KEEP=1 keeps the directory for debugging.
#
# Checked runs (scripts/sanitize.sh, scripts/valgrind.sh):
#  - a build with --enable-sanitizers writes AddressSanitizer and UBSan
#    reports to $XG_TMP/san/ (ASAN_OPTIONS, UBSAN_OPTIONS below);
#  - XG_VALGRIND=1 runs every xmppgate under valgrind's memcheck, through a
#    wrapper script that $XG_BIN names, with reports in $XG_TMP/san/.
# Either way the cleanup fails the test when a report shows an error or a
# definite leak, and XG_TIME_FACTOR stretches the waits of this file.

set -eu

top_srcdir=${top_srcdir:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
top_builddir=${top_builddir:-.}
top_srcdir=$(cd "$top_srcdir" && pwd)
top_builddir=$(cd "$top_builddir" && pwd)
export top_srcdir top_builddir

xg_real_bin=$top_builddir/xmppgate
XG_PY=/usr/bin/python3
# tests/xmpp_raw.py and the other helpers import from tests/.
export PYTHONPATH="$top_srcdir/tests${PYTHONPATH:+:$PYTHONPATH}"
XG_CLIENT="$XG_PY $top_srcdir/tests/xmpp_client.py"
XG_TEST=$(basename "$0" .sh)
XG_T0=$(date +%s)

XG_TMP=$(mktemp -d "${TMPDIR:-/tmp}/xg-$XG_TEST.XXXXXX")
chmod 755 "$XG_TMP"
XG_SIDS=""          # session ids (= pids) of the background programs
# Inherited by everything this test starts, so that even processes that
# leave our sessions (inetd runs its children with setsid) can be found.
export XG_MARK=$XG_TMP

XG_SAN=$XG_TMP/san
mkdir -p "$XG_SAN"
chmod 1777 "$XG_SAN"	# xmppgate may run as another user (--user)
export ASAN_OPTIONS="log_path=$XG_SAN/asan:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="log_path=$XG_SAN/ubsan:print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
XG_TIME_FACTOR=1
if [ -n "${XG_VALGRIND:-}" ]; then
	XG_TIME_FACTOR=4
	xg_bin=$XG_TMP/xmppgate
	# exec: the wrapper is replaced by valgrind, so the pid and the
	# connection are xmppgate's.  Helpers and exec-mode programs run
	# natively (no --trace-children).
	cat >"$xg_bin" <<EOF
#!/bin/sh
exec valgrind --quiet --tool=memcheck --vgdb=no --leak-check=full \\
	--show-leak-kinds=definite --errors-for-leak-kinds=definite \\
	--child-silent-after-fork=yes --log-file=$XG_SAN/valgrind.%p \\
	"$xg_real_bin" "\$@"
EOF
	chmod 755 "$xg_bin"
else
	xg_bin=$xg_real_bin
fi
# For programs of the tests that start xmppgate themselves.
export XG_BIN=$xg_bin XG_TIME_FACTOR
# xmppgate-relay(8) (tests/t-relayd.sh), under valgrind as xmppgate is.
xg_real_relay=$top_builddir/xmppgate-relay
if [ -n "${XG_VALGRIND:-}" ]; then
	XG_BIN_RELAY=$XG_TMP/xmppgate-relay
	cat >"$XG_BIN_RELAY" <<EOF
#!/bin/sh
exec valgrind --quiet --tool=memcheck --vgdb=no --leak-check=full \\
	--show-leak-kinds=definite --errors-for-leak-kinds=definite \\
	--log-file=$XG_SAN/valgrind.%p "$xg_real_relay" "\$@"
EOF
	chmod 755 "$XG_BIN_RELAY"
else
	XG_BIN_RELAY=$xg_real_relay
fi
export XG_BIN_RELAY

# san_reports: print the sanitizer and valgrind reports that show an error
# or a definite leak; false when there are none.
san_reports() {
	local f found=1
	for f in "$XG_SAN"/asan.* "$XG_SAN"/ubsan.*; do
		[ -s "$f" ] || continue
		printf -- '--- %s\n' "$f" >&2
		head -n 60 "$f" | sed 's/^/    /' >&2
		found=0
	done
	# Reports that went to standard error instead (UBSan writes there
	# when it stops the program first): in the logs of the test.
	for f in $(grep -rlE 'runtime error: |==[0-9]+==ERROR: [A-Za-z]+Sanitizer|SUMMARY: [A-Za-z]+Sanitizer' \
		--include='*.log' --include='*.out' "$XG_TMP" 2>/dev/null); do
		printf -- '--- %s\n' "$f" >&2
		grep -E -A12 'runtime error: |==[0-9]+==ERROR: [A-Za-z]+Sanitizer' "$f" | head -n 60 |
			sed 's/^/    /' >&2
		found=0
	done
	for f in "$XG_SAN"/valgrind.*; do
		[ -e "$f" ] || continue
		# --quiet: only errors and definite leaks are written as
		# "==PID==" lines.  Valgrind's notes on itself ("--PID--
		# WARNING: unhandled syscall", then our fallback runs) and
		# its warnings are not about xmppgate.
		grep '^==[0-9]*== ' "$f" | grep -qv '^==[0-9]*== Warning: ' ||
			continue
		printf -- '--- %s\n' "$f" >&2
		head -n 80 "$f" | sed 's/^/    /' >&2
		found=0
	done
	return $found
}
XG_GATE_LOG=$XG_TMP/gate.log

log() { printf '%s: %s\n' "$XG_TEST" "$*"; }
check() { printf '%s: CHECK %s\n' "$XG_TEST" "$*"; }
pass() { printf '%s: PASS %s\n' "$XG_TEST" "$*"; }

fail() {
	printf '%s: FAIL %s\n' "$XG_TEST" "$*" >&2
	XG_FAILED="FAIL $*"
	exit 1
}

# show_log FILE [LINES]: the tail of a log file, indented, on stderr.
show_log() {
	if [ -s "$1" ]; then
		printf -- '--- %s (last %s lines)\n' "$1" "${2:-40}" >&2
		tail -n "${2:-40}" "$1" | sed 's/^/    /' >&2
	fi
}

# Processes of the sessions we started, plus anything naming $XG_TMP.
xg_our_pids() {
	local sid
	for sid in $XG_SIDS; do
		pgrep -s "$sid" 2>/dev/null || :
	done
	pgrep -f -- "$XG_TMP" 2>/dev/null || :
	marked_pids
}

# marked_pids: processes whose environment carries our XG_MARK (one grep
# over /proc; the cleanup unexports the mark first, so it finds only what
# the test started).
marked_pids() {
	local p
	grep -lzx -- "XG_MARK=$XG_TMP" /proc/[0-9]*/environ 2>/dev/null |
		while IFS=/ read -r _ _ p _; do echo "$p"; done
}

xg_cleanup() {
	local rc=$? pids pid i
	trap - EXIT INT TERM
	set +e
	# 77: the test said why it skips; no failure, no logs.
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ -z "${XG_FAILED:-}" ]; then
		printf '%s: FAIL (exit status %s)\n' "$XG_TEST" "$rc" >&2
	fi
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		for f in "$XG_TMP"/*.log; do
			case $f in */certtool.log) continue ;; esac
			[ -e "$f" ] && show_log "$f" 30
		done
		# Once more below the logs, where a reader of the tail looks.
		[ -z "${XG_FAILED:-}" ] ||
			printf '%s: (repeated) %s\n' "$XG_TEST" "$XG_FAILED" >&2
	fi
	# The commands that look for our processes must not carry the mark
	# themselves, or each round finds them and the loop never ends early.
	export -n XG_MARK
	for i in 1 2 3 4 5 6 7 8 9 10; do
		pids=$(xg_our_pids | grep -vx "$$" | sort -u)
		[ -n "$pids" ] || break
		if [ "$i" -lt 4 ]; then
			# shellcheck disable=SC2086
			kill -TERM $pids 2>/dev/null
		else
			# shellcheck disable=SC2086
			kill -KILL $pids 2>/dev/null
		fi
		sleep 0.2
	done
	wait 2>/dev/null
	# Reports are complete once every process has exited.
	if san_reports; then
		printf '%s: FAIL sanitizer or valgrind reports above\n' "$XG_TEST" >&2
		[ "$rc" -ne 0 ] || rc=1
	fi
	# make check's logs say how long each test took (CI has a time budget).
	printf '%s: ended after %s s\n' "$XG_TEST" "$(($(date +%s) - XG_T0))" >&2
	if [ -n "${XG_KEEP:-}" ]; then
		printf '%s: keeping %s\n' "$XG_TEST" "$XG_TMP" >&2
	else
		rm -rf "$XG_TMP"
	fi
	exit "$rc"
}
trap xg_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# bg LOGFILE CMD ARGS...: start CMD in its own session, output to LOGFILE;
# sets BG_PID.
bg() {
	local out=$1
	shift
	setsid "$@" </dev/null >>"$out" 2>&1 &
	BG_PID=$!
	XG_SIDS="$XG_SIDS $BG_PID"
}

# kill_bg PID: end a program started with bg (its whole session).
kill_bg() {
	local i
	pkill -TERM -s "$1" 2>/dev/null || :
	for i in $(seq 1 25); do
		pgrep -s "$1" >/dev/null 2>&1 || break
		sleep 0.2
	done
	pkill -KILL -s "$1" 2>/dev/null || :
	wait "$1" 2>/dev/null || :
}

require_xmppgate() {
	[ -x "$xg_real_bin" ] || fail "xmppgate binary not built: $xg_real_bin"
}

# free_port [ADDR]: print a TCP port that is free on ADDR (default 127.0.0.1).
free_port() {
	$XG_PY - "${1:-127.0.0.1}" <<'EOF'
import socket, sys
addr = sys.argv[1]
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.bind((addr, 0))
print(s.getsockname()[1])
s.close()
EOF
}

# is_listening PORT: a TCP socket is listening on PORT (any loopback
# address); reads /proc so that it does not open a connection (which would
# start an xmppgate behind systemd-socket-activate or inetd).
is_listening() {
	$XG_PY - "$1" <<'EOF'
import sys
port = int(sys.argv[1])
for f in ("/proc/net/tcp", "/proc/net/tcp6"):
    try:
        lines = open(f).read().splitlines()[1:]
    except OSError:
        continue
    for l in lines:
        p = l.split()
        if int(p[1].rsplit(":", 1)[1], 16) == port and p[3] == "0A":
            sys.exit(0)
sys.exit(1)
EOF
}

# wait_port PORT [SECONDS] [PID]: wait until PORT listens; fails if PID dies.
wait_port() {
	local port=$1 secs=${2:-10} pid=${3:-} i
	for i in $(seq 1 $((secs * 10))); do
		is_listening "$port" && return 0
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			return 1
		fi
		sleep 0.1
	done
	return 1
}

# make_certs (shared with scripts/unit-check.sh).
. "$top_srcdir/tests/certs.sh"

# prosody_config DIR PORT DOMAIN [ADDR]: write DIR/prosody.cfg.lua.
prosody_config() {
	local dir=$1 port=$2 domain=$3 addr=${4:-127.0.0.1}
	mkdir -p "$dir/data" "$dir/certs"
	[ -e "$dir/cert.pem" ] || make_certs "$dir" "$domain"
	cp "$dir/chain.pem" "$dir/certs/$domain.crt"
	cp "$dir/key.pem" "$dir/certs/$domain.key"
	cat >"$dir/prosody.cfg.lua" <<EOF
-- generated by tests/lib.sh
run_as_root = true
daemonize = false
data_path = "$dir/data"
pidfile = "$dir/prosody.pid"
log = { debug = "$dir/prosody.log" }
interfaces = { "$addr" }
local_interfaces = { "$addr" }
c2s_ports = { $port }
c2s_interfaces = { "$addr" }
s2s_ports = { }
s2s_interfaces = { }
modules_enabled = { "roster", "saslauth", "tls", "disco", "ping" }
modules_disabled = { "s2s", "dialback", "register", "posix", "offline", "admin_shell" }
allow_registration = false
c2s_require_encryption = false
s2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_plain"
storage = "internal"
certificates = "$dir/certs"
ssl = { certificate = "$dir/cert.pem", key = "$dir/key.pem" }
VirtualHost "$domain"
    ssl = { certificate = "$dir/cert.pem", key = "$dir/key.pem" }
EOF
}

# test_prosody DOMAIN: the test CA and certificate for DOMAIN in $XG_TMP
# (make_certs) and a Prosody configuration for DOMAIN in $XG_TMP/prosody
# on a free port; sets PRO and PPORT.  Then prosody_adduser and
# start_prosody "$PRO" "$PPORT" DOMAIN.
test_prosody() {
	PRO=$XG_TMP/prosody
	make_certs "$XG_TMP" "$1"
	mkdir -p "$PRO"
	cp "$XG_TMP"/cert.pem "$XG_TMP"/key.pem "$XG_TMP"/ca.pem "$XG_TMP"/chain.pem "$PRO/"
	PPORT=$(free_port)
	prosody_config "$PRO" "$PPORT" "$1"
}

# start_prosody DIR PORT DOMAIN [ADDR]: start Prosody (foreground, in the
# background of this shell) and wait until PORT listens; sets PROSODY_PID.
start_prosody() {
	local dir=$1 port=$2 domain=$3 addr=${4:-127.0.0.1}
	[ -e "$dir/prosody.cfg.lua" ] || prosody_config "$dir" "$port" "$domain" "$addr"
	log "starting prosody on $addr port $port for $domain"
	bg "$dir/prosody.out" prosody -F --config "$dir/prosody.cfg.lua"
	PROSODY_PID=$BG_PID
	if ! wait_port "$port" 10 "$PROSODY_PID"; then
		show_log "$dir/prosody.out"
		show_log "$dir/prosody.log"
		fail "prosody did not listen on port $port within 10 s"
	fi
}

# prosody_adduser DIR USER DOMAIN PASS: create an account.
prosody_adduser() {
	local dir=$1 user=$2 domain=$3 pass=$4
	[ -e "$dir/prosody.cfg.lua" ] || fail "prosody_adduser: no config in $dir"
	mkdir -p "$dir/data"
	if ! prosodyctl --config "$dir/prosody.cfg.lua" register "$user" "$domain" "$pass" \
		>"$dir/prosodyctl.log" 2>&1; then
		show_log "$dir/prosodyctl.log"
		fail "prosodyctl register $user@$domain failed"
	fi
}

# test_ejabberd DOMAIN: an ejabberd (Debian's, run as its user ejabberd)
# configuration in $XG_TMP/ejabberd for DOMAIN, as a person would put it
# behind xmppgate: plaintext PLAIN on loopback, internal accounts.  Two c2s
# listeners on free ports: EJ_PORT, and EJ_PROXY_PORT with
# use_proxy_protocol (a PROXY v1 or v2 header first).  Sets EJ, EJ_NODE,
# EJ_PORT and EJ_PROXY_PORT; then start_ejabberd and ejabberd_adduser.
test_ejabberd() {
	EJ=$XG_TMP/ejabberd
	EJ_NODE=xgtest$$@localhost
	EJ_PORT=$(free_port)
	EJ_PROXY_PORT=$(free_port)
	mkdir -p "$EJ/cfg" "$EJ/logs" "$EJ/spool"
	: >"$EJ/cfg/ejabberdctl.cfg"
	cat >"$EJ/cfg/ejabberd.yml" <<EOF
# generated by tests/lib.sh
loglevel: info
log_rotate_count: 0
hosts:
  - "$1"
listen:
  -
    port: $EJ_PORT
    ip: "127.0.0.1"
    module: ejabberd_c2s
    starttls_required: false
  -
    port: $EJ_PROXY_PORT
    ip: "127.0.0.1"
    module: ejabberd_c2s
    starttls_required: false
    use_proxy_protocol: true
auth_method: internal
auth_password_format: plain
acl:
  local:
    user_regexp: ""
access_rules:
  local:
    allow: local
  c2s:
    allow: all
modules:
  mod_roster: {}
  mod_disco: {}
  mod_ping: {}
  mod_stream_mgmt: {}
EOF
	# ejabberd runs as its own user: it must reach and own its directory.
	chown -R ejabberd: "$EJ"
	chmod 711 "$XG_TMP"
	# A private epmd on a port of our own: a shared one (port 4369) would
	# be killed by whichever test started it, under the other's nodes.
	EJ_EPMD_PORT=$(free_port)
	EJ_CMD=(setpriv --reuid=ejabberd --regid=ejabberd --init-groups
		env HOME="$EJ" ERL_EPMD_PORT="$EJ_EPMD_PORT" ejabberdctl --config-dir "$EJ/cfg"
		--logs "$EJ/logs" --spool "$EJ/spool" --node "$EJ_NODE")
}

# ej_ctl ARGS...: ejabberdctl for our node, as the user ejabberd (run as
# root, ejabberdctl would use su -c, which starts a new session that the
# cleanup could not find).  EJ_CMD is the command without ARGS.
ej_ctl() { "${EJ_CMD[@]}" "$@"; }

# start_ejabberd: start it in the foreground (in the background of this
# shell) and wait until both listeners listen; sets EJABBERD_PID.
start_ejabberd() {
	log "starting ejabberd on ports $EJ_PORT and $EJ_PROXY_PORT (PROXY)"
	bg "$EJ/ejabberd.out" "${EJ_CMD[@]}" foreground
	EJABBERD_PID=$BG_PID
	if ! wait_port "$EJ_PORT" 30 "$EJABBERD_PID" ||
		! wait_port "$EJ_PROXY_PORT" 10 "$EJABBERD_PID"; then
		show_log "$EJ/ejabberd.out"
		show_log "$EJ/logs/ejabberd.log"
		fail "ejabberd did not listen within 40 s"
	fi
}

# ejabberd_adduser USER DOMAIN PASS: create an account (node running).
ejabberd_adduser() {
	if ! ej_ctl register "$1" "$2" "$3" >"$EJ/register.log" 2>&1; then
		show_log "$EJ/register.log"
		fail "ejabberdctl register $1@$2 failed"
	fi
}

# plain_probe PORT USER PASS: STARTTLS and one SASL PLAIN attempt by hand;
# prints what came back: "failure COND TEXT", "stream-error COND TEXT" or
# "success".
plain_probe() {
	$XG_PY - "$@" "$XG_TMP/ca.pem" <<'EOF'
import base64, re, sys
from xmpp_raw import starttls, until
port, user, pw, ca = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
t, _ = starttls(port, ca)
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

# xg_root_opt ARGS...: "--user root" when we are root and ARGS (up to a
# "--") give no --user and XG_NO_USER is not set; else nothing.
xg_root_opt() {
	local a
	[ "$(id -u)" -eq 0 ] && [ -z "${XG_NO_USER:-}" ] || return 0
	for a; do
		case $a in
		--) break ;;
		--user|--user=*) return 0 ;;
		esac
	done
	echo --user root
}

# start_gate PORT ARGS...: xmppgate behind systemd-socket-activate --accept
# on ${XG_GATE_ADDR:-127.0.0.1}:PORT (use XG_GATE_ADDR='[::1]' for IPv6);
# stderr of every xmppgate goes to $XG_GATE_LOG; sets GATE_PID.
# XG_GATE_ENV may list NAME=VALUE words passed with -E.  The sanitizers'
# options are passed too: systemd-socket-activate gives the program only
# the variables it is told to.  As root (the suite runs as root) xmppgate
# refuses to run without --user: unless ARGS give --user, it gets --user
# root, in so many words (XG_NO_USER=1: neither, to test that refusal).
# XG_LAUNCH=pool runs the pooled mode instead: systemd-socket-activate
# without --accept passes the listening socket, and one xmppgate --listen
# forks a child per connection (GATE_PID is that parent; xg_launch_args
# puts --listen and XG_POOL_OPTS first).
start_gate() {
	local port=$1 addr=${XG_GATE_ADDR:-127.0.0.1} envargs="" e accept=--accept
	shift
	require_xmppgate
	set -- $(xg_root_opt "$@") "$@"
	# Route mode has no pooled mode (a usage error): per connection.
	if xg_pool && [[ " $* " == *" --route "* ]]; then
		log "XG_LAUNCH=pool: --route runs per connection"
	elif xg_pool; then
		set -- $(xg_launch_args) "$@"
		accept=
	fi
	for e in ASAN_OPTIONS UBSAN_OPTIONS; do
		[ -z "${!e:-}" ] || envargs="$envargs -E $e=${!e}"
	done
	for e in ${XG_GATE_ENV:-}; do
		envargs="$envargs -E $e"
	done
	log "starting xmppgate (systemd-socket-activate ${accept:-without --accept}) on $addr:$port: $*"
	# shellcheck disable=SC2086
	bg "$XG_GATE_LOG" systemd-socket-activate -l "$addr:$port" $accept $envargs \
		"$xg_bin" "$@"
	GATE_PID=$BG_PID
	[ -n "$accept" ] || xg_pool_started "$GATE_PID"
	if ! wait_port "$port" 10 "$GATE_PID"; then
		show_log "$XG_GATE_LOG"
		fail "systemd-socket-activate did not listen on $addr:$port"
	fi
}

# xg_pool: true when the integration tests run against the pooled mode
# (XG_LAUNCH=pool); xg_accept_opt: what systemd-socket-activate needs for
# the mode ("--accept" or nothing); xg_launch_args: what xmppgate needs
# first ("--listen" and $XG_POOL_OPTS, or nothing).  For the tests that
# start systemd-socket-activate themselves.
xg_pool() { [ "${XG_LAUNCH:-}" = pool ]; }
xg_accept_opt() { xg_pool || echo --accept; }
xg_launch_args() { ! xg_pool || echo --listen ${XG_POOL_OPTS:-}; }
# xg_pool_started PID: a pool's parent, which xmppgate_pids leaves out
# (it is the listener, not a connection's process).
xg_pool_started() { ! xg_pool || echo "$1" >>"$XG_TMP/pool.pids"; }

# exit_codes [LOG]: the exit statuses of the connections' processes, in
# the order they ended: systemd-socket-activate's "Child N died with code
# C" lines, or the pool's "pool: child N client=... exited with code C".
# A death by a signal shows as "signal N".
exit_codes() {
	sed -n -e 's/.*Child [0-9]* died with code \([0-9]*\).*/\1/p' \
		-e 's/.* pool: child [0-9]* client=[^ ]* exited with code \([0-9]*\) .*/\1/p' \
		-e 's/.* pool: child [0-9]* client=[^ ]* killed by signal \([0-9]*\) .*/signal \1/p' \
		"${1:-$XG_GATE_LOG}" 2>/dev/null || :
}

# conns_started [LOG]: how many connection processes the gate started:
# systemd-socket-activate's "Spawned" lines; for a pool, its children
# (running, and ended: "pool: child" lines).
conns_started() {
	local logf=${1:-$XG_GATE_LOG} ended running=0 p
	if xg_pool; then
		ended=$(grep -c ' pool: child [0-9]* ' "$logf" 2>/dev/null || :)
		for p in $(cat "$XG_TMP/pool.pids" 2>/dev/null); do
			running=$((running + $(pgrep -c -P "$p" 2>/dev/null || :)))
		done
		echo $((ended + running))
	else
		grep -c '^Spawned ' "$logf" 2>/dev/null || :
	fi
}

# conn_pids [LOG]: the pids of the connections' processes that ended or
# were started: systemd-socket-activate's "Spawned ... as PID N", or the
# pool's "pool: child N" lines.
conn_pids() {
	sed -n -e 's/.* as PID \([0-9]*\).*/\1/p' -e 's/.* pool: child \([0-9]*\) .*/\1/p' \
		"${1:-$XG_GATE_LOG}" 2>/dev/null | sort -u
}

# wait_exit CODE [SECONDS] [LOG]: wait until a connection's process has
# exited with CODE (see exit_codes); false when none has in time.
wait_exit() {
	local code=$1 secs=$((${2:-10} * XG_TIME_FACTOR)) logf=${3:-$XG_GATE_LOG} i
	for i in $(seq 1 $((secs * 10))); do
		exit_codes "$logf" | grep -qx -- "$code" && return 0
		sleep 0.1
	done
	return 1
}

# new_gate NAME ARGS...: a fresh xmppgate on a free port with its own log
# ($XG_TMP/gate-NAME.log), the test certificate, --domain $DOMAIN and ARGS;
# sets GPORT and XG_GATE_LOG.
new_gate() {
	local name=$1
	shift
	GPORT=$(free_port)
	XG_GATE_LOG=$XG_TMP/gate-$name.log
	start_gate "$GPORT" --cert "$XG_TMP/cert.pem" --key "$XG_TMP/key.pem" \
		--domain "$DOMAIN" "$@"
}

# write_helper FILE BODY: an executable /bin/sh auth helper.
write_helper() {
	printf '#!/bin/sh\n%s\n' "$2" >"$1"
	chmod 755 "$1"
}

# summaries [LOG]: the summary lines logged so far.
summaries() {
	grep ' summary ' "${1:-$XG_GATE_LOG}" 2>/dev/null || :
}

# wait_summaries N [SECONDS] [LOG]: wait until at least N summary lines are
# in the log; prints them.  Fails when they do not appear in time.
wait_summaries() {
	local n=$1 secs=$((${2:-10} * XG_TIME_FACTOR)) logf=${3:-$XG_GATE_LOG} i c
	for i in $(seq 1 $((secs * 10))); do
		c=$(summaries "$logf" | wc -l)
		[ "$c" -ge "$n" ] && break
		sleep 0.1
	done
	c=$(summaries "$logf" | wc -l)
	if [ "$c" -lt "$n" ]; then
		show_log "$logf"
		fail "expected $n summary line(s) in $logf within $secs s, found $c"
	fi
	summaries "$logf"
}

# wait_log REGEX [SECONDS] [LOG]: wait until a line of LOG (default the
# gate's log) matches the grep REGEX; false when none does in time.
wait_log() {
	local re=$1 secs=$((${2:-10} * XG_TIME_FACTOR)) logf=${3:-$XG_GATE_LOG} i
	for i in $(seq 1 $((secs * 10))); do
		grep -q -- "$re" "$logf" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# uml_run INNER MIN [UML-OPTIONS...]: tests/INNER.sh inside user-mode
# Linux (tests/uml.sh, with its options; variables for the guest go in
# UML_PASS_ENV), its output shown indented; exit 77 with uml.sh's reason
# when the guest cannot run here; fails unless INNER passed with at least
# MIN PASS lines.
uml_run() {
	local inner=$1 min=$2 rc n
	shift 2
	set +e
	bash "$top_srcdir/tests/uml.sh" "$@" "$top_srcdir/tests/$inner.sh" \
		>"$XG_TMP/uml.out" 2>&1
	rc=$?
	set -e
	sed 's/^/  | /' "$XG_TMP/uml.out"
	if [ "$rc" -eq 77 ]; then
		echo "$XG_TEST: SKIP (inside user-mode Linux): $(grep 'uml.sh: SKIP' "$XG_TMP/uml.out" | head -n 1 | sed 's/^uml.sh: SKIP: //')"
		exit 77
	fi
	[ "$rc" -eq 0 ] || fail "inside user-mode Linux: exit status $rc (output above)"
	n=$(grep -c "^$inner: PASS" "$XG_TMP/uml.out" || :)
	[ "$n" -ge "$min" ] || fail "only $n checks passed inside user-mode Linux"
	pass "$n checks passed inside user-mode Linux"
}

# summary_field and expect_summary (shared with scripts/unit-check.sh).
. "$top_srcdir/tests/summary.sh"

# xmppgate_pids: running xmppgate processes that belong to this test.
# (By command line, so that it also finds xmppgate under valgrind.)  A
# pool's parent is left out: it is the listener, which stays; its
# children are the connections' processes.
xmppgate_pids() {
	local p
	{ pgrep -x xmppgate; pgrep -f -- "^[^ ]*valgrind[^ ]* .*$xg_real_bin( |\$)"; } 2>/dev/null |
	while read -r p; do
		grep -qx -- "$p" "$XG_TMP/pool.pids" 2>/dev/null && continue
		tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -q -- "$XG_TMP" && echo "$p" || :
	done | sort -u
}

# helper_pids: running processes started from a helper script in $XG_TMP.
helper_pids() {
	pgrep -f -- "^(/bin/sh |/usr/bin/sh )?$XG_TMP/helper" 2>/dev/null || :
}

# assert_no_leftovers [SECONDS]: within SECONDS (default 5) no xmppgate of
# this test and no auth helper is running any more.
assert_no_leftovers() {
	local secs=$((${1:-5} * XG_TIME_FACTOR)) i left
	for i in $(seq 1 $((secs * 10))); do
		left=$( { xmppgate_pids; helper_pids; } | sort -u)
		[ -z "$left" ] && return 0
		sleep 0.1
	done
	ps -o pid,ppid,pgid,sid,etime,args -p "$(echo $left | tr ' ' ',')" >&2 || :
	fail "processes left behind after ${secs} s: $(echo $left)"
}
