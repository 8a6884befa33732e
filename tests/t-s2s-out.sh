#!/bin/bash
# Outbound federation (--s2s-out, issue 24): two real Prosody servers, each
# with xmppgate in front of it both ways, find each other through a real
# authoritative DNS server (nsd, tests/dns.sh) on loopback.
#
#   alice --c2s--> Prosody A (a.test) --mod_xmppgate_s2s--> A-out
#       (xmppgate --s2s-out: DNS, TLS, EXTERNAL) ==TLS==> B-in (xmppgate
#       --s2s) --PROXY v2--> mod_xmppgate_s2s of Prosody B --c2s--> bob
#   and the same the other way (B-out ==TLS==> A-in).
#
#  1. a message from a.test to b.test and one back arrive exactly once;
#     1b. one to d.test, which Prosody B serves on a Direct TLS port of
#     its own (_xmpps-server only: XEP-0368);
#  2. SASL EXTERNAL both ways over TLS 1.3 (the out gates' log lines, the
#     in gates' summaries);
#  3. between the front doors nothing but TLS after STARTTLS (tcpdump, then
#     tests/pcap_tls_only.py);
#  4. A-out with a certificate that does not name a.test: B-in offers no
#     EXTERNAL, and the backends run dialback through the tunnels;
#  5. remotes whose certificate has the wrong name, has expired or is
#     untrusted: refused, the reason in the summary (tests/s2s_out_raw.py
#     plays the backend, to see the PROXY LOCAL header and stream error);
#  6. DNS: NXDOMAIN, a target with no address, a loopback address without
#     --s2s-out-loopback, a server that never answers, an SRV target that
#     does not answer (and one whose first target is dead and second works);
#  7. the policy helper's refusal.
# Also: the exit statuses, and that nothing is left running.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
. "$top_srcdir/tests/dns.sh"

require_xmppgate
command -v prosody >/dev/null || fail "prosody is not installed (scripts/deps.sh)"
command -v tcpdump >/dev/null || fail "tcpdump is not installed (scripts/deps.sh)"
S2S_CHAT="$XG_PY $top_srcdir/tests/s2s_chat.py"
RAW="$XG_PY $top_srcdir/tests/s2s_out_raw.py"
PCAP="$XG_PY $top_srcdir/tests/pcap_tls_only.py"
POLICY=$top_srcdir/contrib/xmppgate-s2s-policy

# --- certificates -----------------------------------------------------------
C=$XG_TMP/certs
make_certs "$C" b.test			# ca.pem, ca-key.pem, cert.pem = b.test
cp "$C/cert.pem" "$C/b.test.crt"
cp "$C/key.pem" "$C/b.test.key"
leaf() { server_leaf "$C" "$@"; }	# NAME CN DNSNAME [LINE ...]: $C/NAME.crt, .key
leaf a.test a.test a.test
leaf d.test d.test d.test
leaf wrong c.test c.test
leaf expired expired.test expired.test 'activation_date = "2020-01-01 00:00:00"' \
	'expiration_date = "2020-02-01 00:00:00"'
make_certs "$XG_TMP/ca2" untrusted.test	# another CA: trusted by no one here
cp "$XG_TMP/ca2/cert.pem" "$C/untrusted.crt"
cp "$XG_TMP/ca2/key.pem" "$C/untrusted.key"
chmod 644 "$C"/*

# --- ports and DNS ----------------------------------------------------------
CA_PORT=$(free_port)	# A's c2s (alice)
CB_PORT=$(free_port)	# B's c2s (bob)
MA=$(free_port)		# mod_xmppgate_s2s's PROXY v2 listener on A
MB=$(free_port)		# ... on B
A_IN=$(free_port)	# xmppgate --s2s in front of A
B_IN=$(free_port)	# ... of B
A_OUT=$(free_port)	# xmppgate --s2s-out for A's outgoing streams
B_OUT=$(free_port)	# ... for B's
BAD=$(free_port)	# an xmppgate --s2s with a bad certificate (step 5)
DEAD=$(free_port)	# nothing listens here
QUIET=$(free_port)	# accepts and never says a word
BD=$(free_port)		# Prosody B's own Direct TLS s2s port (d.test)

cat >"$XG_TMP/test.zone" <<EOF
\$ORIGIN test.
\$TTL 60
@	IN SOA ns.test. hostmaster.test. 1 3600 600 86400 60
@	IN NS ns.test.
ns	IN A 127.0.0.1
a	IN A 127.0.0.1
b	IN A 127.0.0.1
_xmpp-server._tcp.a	IN SRV 0 5 $A_IN a.test.
_xmpp-server._tcp.b	IN SRV 0 5 $B_IN b.test.
; d.test: Direct TLS only, straight to Prosody B (step 1b)
d	IN A 127.0.0.1
_xmpps-server._tcp.d	IN SRV 0 5 $BD d.test.
_xmpp-server._tcp.d	IN SRV 0 0 0 .
; certificates that do not do (step 5): the names are the remotes'
wrong	IN A 127.0.0.1
_xmpp-server._tcp.wrong	IN SRV 0 5 $BAD wrong.test.
expired	IN A 127.0.0.1
_xmpp-server._tcp.expired	IN SRV 0 5 $BAD expired.test.
untrusted	IN A 127.0.0.1
_xmpp-server._tcp.untrusted	IN SRV 0 5 $BAD untrusted.test.
; DNS (step 6)
dead	IN A 127.0.0.1
_xmpp-server._tcp.dead	IN SRV 0 5 $DEAD dead.test.
silent	IN A 127.0.0.1
_xmpp-server._tcp.silent	IN SRV 0 5 $QUIET silent.test.
noaddr	IN TXT "no address"
_xmpp-server._tcp.noaddr	IN SRV 0 5 5269 nowhere.test.
; the first target is dead, the second is B-in
second	IN A 127.0.0.1
_xmpp-server._tcp.second	IN SRV 0 5 $DEAD second.test.
_xmpp-server._tcp.second	IN SRV 10 5 $B_IN b.test.
EOF
dns_start "$XG_TMP/dns" "$XG_TMP/test.zone"
log "nsd serves test. on 127.0.0.1:$DNS_PORT"

# --- two Prosody servers ----------------------------------------------------
# The waits of the Prosody servers and of xmppgate are stretched under
# valgrind (XG_TIME_FACTOR): there one outgoing stream, through two
# xmppgates under memcheck, once took more than the module's 10 s for
# xmppgate's PROXY header.  The test's clients wait as much longer.
# config DIR DOMAIN C2S M OUT [GLOBAL [HOSTS]]: Prosody for DOMAIN
# (certificate $C/DOMAIN.crt) whose incoming streams come from xmppgate on
# M and whose outgoing streams all go to xmppgate --s2s-out on OUT.  It
# has no s2s port of its own; GLOBAL is more of the global section, HOSTS
# more virtual hosts.
config() {
	local dir=$1 domain=$2 c2s=$3 m=$4 out=$5 global=${6:-} hosts=${7:-}
	mkdir -p "$dir/data" "$dir/certs"
	cat >"$dir/prosody.cfg.lua" <<EOF
-- generated by tests/t-s2s-out.sh
run_as_root = true
daemonize = false
data_path = "$dir/data"
pidfile = "$dir/prosody.pid"
log = { debug = "$dir/prosody.log" }
interfaces = { "127.0.0.1" }
local_interfaces = { "127.0.0.1" }
use_ipv6 = false
c2s_ports = { $c2s }
c2s_interfaces = { "127.0.0.1" }
s2s_ports = { }
modules_enabled = { "roster", "saslauth", "tls", "dialback", "disco", "ping", "xmppgate_s2s" }
modules_disabled = { "register", "posix", "offline" }
allow_registration = false
authentication = "internal_plain"
storage = "internal"
certificates = "$dir/certs"
s2s_timeout = $((20 * XG_TIME_FACTOR))
ssl = { cafile = "$C/ca.pem" }
plugin_paths = { "$top_srcdir/contrib" }
xmppgate_s2s_ports = { $m }
xmppgate_s2s_interfaces = { "127.0.0.1" }
xmppgate_s2s_out = "127.0.0.1:$out"
xmppgate_s2s_header_timeout = $((10 * XG_TIME_FACTOR))
$global
VirtualHost "$domain"
    ssl = { certificate = "$C/$domain.crt", key = "$C/$domain.key", cafile = "$C/ca.pem" }
$hosts
EOF
}
PRO_A=$XG_TMP/prosody-a
PRO_B=$XG_TMP/prosody-b
config "$PRO_A" a.test "$CA_PORT" "$MA" "$A_OUT"
# B also serves d.test on a Direct TLS s2s port of its own (XEP-0368),
# which DNS names by _xmpps-server only: step 1b.
config "$PRO_B" b.test "$CB_PORT" "$MB" "$B_OUT" "s2s_direct_tls_ports = { $BD }
s2s_direct_tls_ssl = { certificate = \"$C/d.test.crt\", key = \"$C/d.test.key\" }" \
	"VirtualHost \"d.test\"
    ssl = { certificate = \"$C/d.test.crt\", key = \"$C/d.test.key\", cafile = \"$C/ca.pem\" }"
prosody_adduser "$PRO_A" alice a.test 'alice pw'
prosody_adduser "$PRO_B" bob b.test 'bob pw'
prosody_adduser "$PRO_B" dora d.test 'dora pw'
start_prosody "$PRO_A" "$CA_PORT" a.test
A_PID=$PROSODY_PID
start_prosody "$PRO_B" "$CB_PORT" b.test
B_PID=$PROSODY_PID
wait_port "$MA" 10 "$A_PID" || fail "Prosody A's xmppgate_s2s listener is not up"
wait_port "$MB" 10 "$B_PID" || fail "Prosody B's xmppgate_s2s listener is not up"

# --- the front doors ----------------------------------------------------------
# in_gate NAME PORT DOMAIN M CERT: xmppgate --s2s for DOMAIN in front of M.
in_gate() {
	XG_GATE_LOG=$XG_TMP/gate-$1.log
	start_gate "$2" --s2s --cert "$C/$5.crt" --key "$C/$5.key" --domain "$3" \
		--s2s-ca "$C/ca.pem" --backend "127.0.0.1:$4" --proxy-protocol v2 \
		--header-timeout $((10 * XG_TIME_FACTOR)) --backend-timeout $((10 * XG_TIME_FACTOR)) -v
}
# out_gate NAME PORT DOMAIN CERT [ARGS...]: xmppgate --s2s-out for DOMAIN
# presenting $C/CERT.crt, asking nsd (or $XG_DNS), remotes allowed on
# loopback (unless XG_OUT_LOOP is set and empty); sets GPORT_USED.
out_gate() {
	local name=$1 port=$2 domain=$3 cert=$4
	shift 4
	GPORT_USED=$port
	XG_GATE_LOG=$XG_TMP/gate-$name.log
	start_gate "$port" --s2s-out --cert "$C/$cert.crt" --key "$C/$cert.key" \
		--domain "$domain" --s2s-ca "$C/ca.pem" \
		--dns-server "${XG_DNS:-127.0.0.1@$DNS_PORT}" --backend-timeout $((8 * XG_TIME_FACTOR)) -v \
		${XG_OUT_LOOP---s2s-out-loopback} "$@"
}
in_gate a-in "$A_IN" a.test "$MA" a.test
A_IN_PID=$GATE_PID
in_gate b-in "$B_IN" b.test "$MB" b.test
B_IN_PID=$GATE_PID
out_gate a-out "$A_OUT" a.test a.test
A_OUT_PID=$GATE_PID
out_gate b-out "$B_OUT" b.test b.test
B_OUT_PID=$GATE_PID
GA_OUT=$XG_TMP/gate-a-out.log
GB_OUT=$XG_TMP/gate-b-out.log
GA_IN=$XG_TMP/gate-a-in.log
GB_IN=$XG_TMP/gate-b-in.log

# chat FROM FROMPORT TO TOPORT BODY: FROM sends BODY to TO, who must get it
# once.
chat() {
	local out rc=0
	# shellcheck disable=SC2086	# S2S_CHAT is a command line
	out=$(timeout $((60 * XG_TIME_FACTOR)) $S2S_CHAT --sender "$1" --sender-password "${1%@*} pw" \
		--sender-port "$2" --receiver "$3" --receiver-password "${3%@*} pw" \
		--receiver-port "$4" --ca "$C/ca.pem" --body "$5" --timeout $((40 * XG_TIME_FACTOR)) 2>&1) || rc=$?
	echo "    $out" | tail -n 3
	[ "$rc" -eq 0 ] || return 1
	case $out in
	*"RESULT sender=ok receiver=ok received=1 from=$1/"*" type=chat body=$5") ;;
	*) return 1 ;;
	esac
}
show_all() {
	local f
	for f in "$GA_OUT" "$GB_OUT" "$GA_IN" "$GB_IN" "$PRO_A/prosody.log" "$PRO_B/prosody.log"; do
		show_log "$f"
	done
}

check "1-3. a.test to b.test and back, EXTERNAL both ways over TLS 1.3, nothing but TLS on the wire"
bg "$XG_TMP/tcpdump.err" tcpdump -i lo -U -n -w "$XG_TMP/wire.pcap" \
	"tcp port $A_IN or tcp port $B_IN"
TCPDUMP_PID=$BG_PID
wait_log 'listening on' 10 "$XG_TMP/tcpdump.err" || {
	cat "$XG_TMP/tcpdump.err" >&2
	fail "tcpdump did not start"
}
chat alice@a.test "$CA_PORT" bob@b.test "$CB_PORT" 'hello b, from a' || {
	show_all
	fail "a.test to b.test: the message did not arrive exactly once"
}
chat bob@b.test "$CB_PORT" alice@a.test "$CA_PORT" 'hello a, from b' || {
	show_all
	fail "b.test to a.test: the message did not arrive exactly once"
}
grep -q "remote b.test at 127.0.0.1:$B_IN: STARTTLS TLS1.3, EXTERNAL accepted" "$GA_OUT" || {
	show_log "$GA_OUT"
	fail "A-out did not authenticate a.test to b.test by EXTERNAL over TLS 1.3"
}
grep -q "remote a.test at 127.0.0.1:$A_IN: STARTTLS TLS1.3, EXTERNAL accepted" "$GB_OUT" || {
	show_log "$GB_OUT"
	fail "B-out did not authenticate b.test to a.test by EXTERNAL over TLS 1.3"
}
wait_log 'server a.test authenticated by EXTERNAL' 5 "$GB_IN" ||
	fail "B-in's log does not say EXTERNAL"
wait_log 'server b.test authenticated by EXTERNAL' 5 "$GA_IN" ||
	fail "A-in's log does not say EXTERNAL"
grep -q 'TLS1.3' "$GB_IN" || fail "B-in: no TLS 1.3"
grep -q 'authenticated by xmppgate' "$PRO_A/prosody.log" ||
	log "note: Prosody A's log has no line of the module's outgoing side"
kill -INT "$TCPDUMP_PID" 2>/dev/null || :
for i in $(seq 1 50); do kill -0 "$TCPDUMP_PID" 2>/dev/null || break; sleep 0.1; done
$PCAP "$XG_TMP/wire.pcap" "$A_IN" "$B_IN" --min 2 | sed 's/^/    /' ||
	fail "something other than TLS crossed between the front doors"
pass "both messages arrived once; EXTERNAL both ways over TLS 1.3; only TLS after STARTTLS"

check "1b. Direct TLS (XEP-0368): a.test to d.test, whose only s2s service is _xmpps-server"
chat alice@a.test "$CA_PORT" dora@d.test "$CB_PORT" 'hello d, by Direct TLS' || {
	show_log "$GA_OUT"
	show_log "$PRO_B/prosody.log"
	fail "a.test to d.test: the message did not arrive exactly once"
}
grep -q "remote d.test: trying 127.0.0.1:$BD (d.test, Direct TLS)" "$GA_OUT" ||
	fail "A-out did not try d.test by Direct TLS"
grep -q "remote d.test at 127.0.0.1:$BD: Direct TLS TLS1.3, EXTERNAL accepted" "$GA_OUT" || {
	show_log "$GA_OUT"
	fail "A-out did not authenticate a.test to d.test by EXTERNAL over Direct TLS"
}
pass "Direct TLS to Prosody's own s2s port, EXTERNAL, message arrived once"

check "4. a remote that offers no EXTERNAL: dialback by the backends, through the tunnels"
# A-out now presents a certificate for c.test: B-in cannot take it for
# a.test, offers no EXTERNAL, and Prosody B runs dialback, which asks a.test
# back through B-out and A-in.
kill_bg "$A_OUT_PID"
out_gate a-out2 "$A_OUT" a.test wrong
A_OUT_PID=$GATE_PID
GA_OUT2=$XG_TMP/gate-a-out2.log
# Prosody A's stream to b.test is up already: restart A so it opens a new one.
kill_bg "$A_PID"
start_prosody "$PRO_A" "$CA_PORT" a.test
A_PID=$PROSODY_PID
wait_port "$MA" 10 "$A_PID" || fail "Prosody A's xmppgate_s2s listener is not up again"
chat alice@a.test "$CA_PORT" bob@b.test "$CB_PORT" 'by dialback' || {
	show_log "$GA_OUT2"
	show_log "$GB_IN"
	show_log "$PRO_B/prosody.log"
	fail "dialback through the tunnel: the message did not arrive exactly once"
}
grep -q "remote b.test at 127.0.0.1:$B_IN: STARTTLS TLS1.3, dialback by the backend" "$GA_OUT2" || {
	show_log "$GA_OUT2"
	fail "A-out did not leave b.test to dialback"
}
wait_log "server a.test: dialback is the backend's" 5 "$GB_IN" ||
	fail "B-in did not pass a.test on to dialback"
pass "no EXTERNAL offered: dialback by the backends through xmppgate, message arrived once"

check "5. remote certificates that do not do: refused, the reason in the summary, exit 1"
for bad in wrong:name-mismatch expired:expired untrusted:untrusted; do
	cert=${bad%%:*} why=${bad#*:}
	XG_GATE_LOG=$XG_TMP/gate-bad-$cert.log
	start_gate "$BAD" --s2s --cert "$C/$cert.crt" --key "$C/$cert.key" \
		--domain "$cert.test" --backend "127.0.0.1:$MB" --proxy-protocol v2 \
		--s2s-ca "$C/ca.pem"
	bad_pid=$GATE_PID
	XG_GATE_LOG=$GA_OUT2
	n0=$(summaries "$GA_OUT2" | wc -l)
	got=$($RAW "$A_OUT" --from a.test --to "$cert.test" --timeout $((20 * XG_TIME_FACTOR)) 2>&1 || :)
	echo "    $cert.test: $got"
	case $got in
	"PROXY=local error=remote-connection-failed text=the certificate of the remote server is not valid for it") ;;
	*) fail "$cert.test: expected PROXY LOCAL and remote-connection-failed" ;;
	esac
	wait_summaries $((n0 + 1)) 10 "$GA_OUT2" | tail -n 1 |
		grep -q "server=$cert.test auth=- .*outcome=refused reason=\"remote-connection-failed: server $cert.test at 127.0.0.1:$BAD: certificate $why\"" ||
		fail "$cert.test: the summary does not give the reason 'certificate $why'"
	wait_exit 1 10 "$GA_OUT2" || fail "$cert.test: exit status not 1"
	kill_bg "$bad_pid"
done
pass "wrong name, expired, untrusted: refused with the reason"

check "6. DNS: NXDOMAIN, no answer, targets that do not answer, a dead first target"
# expect NAME TO EXIT ERROR TEXT REASON-RE [GATE-ARGS...]: a fresh A-out.
expect() {
	local name=$1 to=$2 code=$3 want=$4 re=$5 got
	shift 5
	out_gate "dns-$name" "$(free_port)" a.test a.test "$@"
	got=$($RAW "$GPORT_USED" --from a.test --to "$to" --timeout $((30 * XG_TIME_FACTOR)) 2>&1 || :)
	echo "    $to: $got"
	[ "$got" = "$want" ] || fail "$name: expected '$want'"
	wait_summaries 1 15 | grep -q "$re" || fail "$name: the summary's reason is not /$re/"
	wait_exit "$code" 10 || fail "$name: exit status not $code: $(exit_codes)"
	kill_bg "$GATE_PID"
}
expect nxdomain nowhere.test 1 \
	"PROXY=local error=remote-connection-failed text=the remote server does not exist" \
	'reason="remote-connection-failed: remote nowhere.test: no such server in DNS'
expect noaddr noaddr.test 1 \
	"PROXY=local error=remote-connection-failed text=the remote server does not exist" \
	'reason="remote-connection-failed: remote noaddr.test: no such server in DNS: no address for nowhere.test'
XG_OUT_LOOP= expect loopback b.test 1 \
	"PROXY=local error=remote-connection-failed text=the address of the remote server is not allowed" \
	'reason="remote-connection-failed: remote b.test: b.test: an address of this host (loopback or another) (see --s2s-out-loopback)"'
expect dead dead.test 111 \
	"PROXY=local error=remote-connection-failed text=the remote server is not reachable" \
	"reason=\"remote-connection-failed: remote dead.test: 127.0.0.1:$DEAD: .*refused"
bg "$XG_TMP/quiet.log" "$XG_PY" -c "
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $QUIET)); s.listen(8)
conns = []
end = time.monotonic() + 120
while time.monotonic() < end:
    s.settimeout(max(0.1, end - time.monotonic()))
    try:
        conns.append(s.accept()[0])
    except socket.timeout:
        break
"
QUIET_PID=$BG_PID
wait_port "$QUIET" 10 "$QUIET_PID" || fail "the silent listener is not up"
expect silent silent.test 111 \
	"PROXY=local error=remote-connection-failed text=the remote server is not reachable" \
	"reason=\"remote-connection-failed: remote silent.test: 127.0.0.1:$QUIET: the remote timed out" \
	--backend-timeout 3
kill_bg "$QUIET_PID"
dns_silent "$XG_TMP/dns-silent" 60
XG_DNS="127.0.0.1@$SILENT_PORT" expect timeout b.test 111 \
	"PROXY=local error=remote-connection-failed text=the remote server is not reachable" \
	'reason="remote-connection-failed: remote b.test: .*' --backend-timeout 3
kill_bg "$SILENT_PID"
# The first target refuses, the second is B-in, which serves b.test only
# and answers a stream to second.test with <host-unknown/>: proof that the
# second was tried, after the first.
out_gate dns-second "$(free_port)" a.test a.test
got=$($RAW "$GPORT_USED" --from a.test --to second.test --timeout $((30 * XG_TIME_FACTOR)) 2>&1 || :)
echo "    second.test: $got"
grep -A1 "remote second.test: trying 127.0.0.1:$DEAD " "$XG_GATE_LOG" |
	grep -q "remote second.test: 127.0.0.1:$DEAD: .*refused" ||
	fail "second.test: the dead first target was not tried first"
grep -A1 "remote second.test: trying 127.0.0.1:$B_IN (b.test, STARTTLS)" "$XG_GATE_LOG" |
	grep -q "remote second.test: 127.0.0.1:$B_IN: the remote sent a stream error: host-unknown" ||
	fail "second.test: the second target was not tried after the first"
kill_bg "$GATE_PID"
pass "NXDOMAIN, no address, loopback not allowed: exit 1; refused, silent, DNS timeout: exit 111; targets in order"

check "7. the policy helper's refusal"
printf 'block b.test\nallow a.test\n' >"$XG_TMP/policy"
printf '#!/bin/sh\nexec %s %s\n' "$POLICY" "$XG_TMP/policy" >"$XG_TMP/policy.sh"
chmod 755 "$XG_TMP/policy.sh"
out_gate policy "$(free_port)" a.test a.test --auth "$XG_TMP/policy.sh"
got=$($RAW "$GPORT_USED" --from a.test --to b.test --timeout $((20 * XG_TIME_FACTOR)) 2>&1 || :)
echo "    b.test: $got"
[ "$got" = "PROXY=local error=policy-violation text=federation with b.test is blocked here" ] ||
	fail "policy: b.test was not refused"
wait_summaries 1 10 | grep -q 'reason="policy-violation: policy helper refused b.test"' ||
	fail "policy: the summary does not say the helper refused"
wait_exit 1 10 || fail "policy: exit status not 1"
kill_bg "$GATE_PID"
pass "the policy helper's block is honoured"

kill_bg "$A_PID"
kill_bg "$B_PID"
assert_no_leftovers
