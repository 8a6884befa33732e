#!/bin/bash
# DNS for outbound federation (issue 24; src/dns.c, src/srv.c) against a
# real authoritative server: NSD on loopback serving "test." from a zone
# written here, asked through tests/dns_probe (libunbound, forwarding to
# NSD).  Checked:
#  1. both SRV services: the order by priority, Direct TLS first at an
#     equal priority, then each target's AAAA before its A;
#  2. NXDOMAIN, and a name with an address but no SRV: the fallback
#     DOMAIN:5269 with STARTTLS;
#  3. "." for _xmpp-server and nothing for _xmpps-server: "service not
#     available" (exit 1); "." for one service and a record for the other:
#     that record;
#  4. an SRV target with no address: NONE for its addresses;
#  5. hostile records: a target with '_' is skipped with a warning when a
#     good record is beside it, and the lookup fails (exit 3) when it is
#     alone; a domain that is no host name is refused before any query;
#  6. a server that never answers: TIMEOUT (exit 2) at the deadline, not
#     before and not long after;
#  7. weights: at one priority both records come before the next priority;
#     more than XG_SRV_TARGETS_MAX (16) records: 16 kept, with a warning;
#  9. DNSSEC: with a trust anchor for "test." that the unsigned zone cannot
#     match, every answer is bogus: FAIL with libunbound's reason; a
#     trust-anchor file that does not exist: the resolver does not start.
# 10. the server argument: bad forms refused (exit 111), IPv6 with a port
#     taken.
#  8. (a small UDP server of tests/dns.sh, for what NSD will not serve)
#     one SRV service and one address family unanswered while the other
#     has records: those records at the deadline, with a warning; an A
#     record of 3 bytes: FAIL.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
. "$top_srcdir/tests/dns.sh"

PROBE=$top_builddir/tests/dns_probe
[ -x "$PROBE" ] || fail "tests/dns_probe is not built (make check builds it)"

cat >"$XG_TMP/test.zone" <<'EOF'
$ORIGIN test.
$TTL 60
@	IN SOA ns.test. admin.test. 1 3600 600 86400 60
@	IN NS ns.test.
ns	IN A 127.0.0.1
; 1. both services
_xmpps-server._tcp.a	IN SRV 10 0 5270 xmpps1.a.test.
_xmpps-server._tcp.a	IN SRV 20 1 5271 xmpps2.a.test.
_xmpp-server._tcp.a	IN SRV 20 1 5269 xmpp2.a.test.
_xmpp-server._tcp.a	IN SRV 10 0 5269 xmpp1.a.test.
_xmpp-server._tcp.a	IN SRV 5 0 5269 xmpp0.a.test.
xmpps1.a	IN A 127.0.0.1
xmpps1.a	IN AAAA ::1
xmpps2.a	IN A 127.0.0.3
xmpp0.a	IN AAAA ::2
xmpp1.a	IN A 127.0.0.2
xmpp2.a	IN A 127.0.0.4
; 2. an address, no SRV
host	IN A 127.0.0.9
; 3. "."
_xmpp-server._tcp.dot	IN SRV 0 0 0 .
_xmpps-server._tcp.dot2	IN SRV 0 0 0 .
_xmpp-server._tcp.dot2	IN SRV 0 0 5269 xmpp.dot2.test.
xmpp.dot2	IN A 127.0.0.5
; 4. a target without an address
_xmpp-server._tcp.noaddr	IN SRV 0 0 5269 ghost.noaddr.test.
; 5. hostile records
_xmpp-server._tcp.bad	IN SRV 0 0 5269 x_y.bad.test.
_xmpp-server._tcp.half	IN SRV 0 0 5269 x_y.half.test.
_xmpp-server._tcp.half	IN SRV 1 0 5269 ok.half.test.
ok.half	IN A 127.0.0.6
; 7. weights
_xmpp-server._tcp.w	IN SRV 1 1 5269 light.w.test.
_xmpp-server._tcp.w	IN SRV 1 99 5269 heavy.w.test.
_xmpp-server._tcp.w	IN SRV 2 50 5269 later.w.test.
EOF
for i in $(seq 1 20); do
	printf '_xmpp-server._tcp.many\tIN SRV %d 0 5269 h%d.many.test.\n' "$i" "$i"
done >>"$XG_TMP/test.zone"

dns_start "$XG_TMP/nsd" "$XG_TMP/test.zone"
log "NSD on 127.0.0.1:$DNS_PORT"
SERVER=127.0.0.1@$DNS_PORT

# probe NAME DOMAIN [TIMEOUT_MS]: run dns_probe into $XG_TMP/NAME.out;
# sets RC.
probe() {
	local name=$1
	shift
	RC=0
	timeout 30 "$PROBE" "$SERVER" "$@" >"$XG_TMP/$name.out" \
	    2>"$XG_TMP/$name.err" || RC=$?
}
# expect NAME RC: the exit status and the output equal to stdin.
expect() {
	local name=$1 want=$2
	[ "$RC" = "$want" ] ||
		{ cat "$XG_TMP/$name.out" "$XG_TMP/$name.err" >&2; fail "$name: exit $RC, not $want"; }
	if ! diff -u - "$XG_TMP/$name.out" >"$XG_TMP/$name.diff"; then
		cat "$XG_TMP/$name.diff" >&2
		fail "$name: output differs"
	fi
	pass "$name"
}

check "1. both services: priority order, Direct TLS first at equal priority, AAAA first"
probe both a.test
expect both 0 <<'EOF'
targets OK secure 0
starttls xmpp0.a.test 5269
direct xmpps1.a.test 5270
starttls xmpp1.a.test 5269
direct xmpps2.a.test 5271
starttls xmpp2.a.test 5269
addr xmpp0.a.test ::2 5269
addr xmpps1.a.test ::1 5270
addr xmpps1.a.test 127.0.0.1 5270
addr xmpp1.a.test 127.0.0.2 5269
addr xmpps2.a.test 127.0.0.3 5271
addr xmpp2.a.test 127.0.0.4 5269
EOF
# A domain in capitals (as a stream may give it) is asked folded.
probe upper A.Test
[ "$RC" = 0 ] || fail "upper: exit $RC"
cmp -s "$XG_TMP/upper.out" "$XG_TMP/both.out" || fail "upper: $(cat "$XG_TMP/upper.out")"
pass "a domain in capitals is folded"

check "2. NXDOMAIN and no SRV records: DOMAIN:5269 with STARTTLS"
probe nx nx.test
expect nx 0 <<'EOF'
targets OK secure 0
starttls nx.test 5269
addr nx.test NONE no address (AAAA: no such domain; A: no such domain)
EOF
probe host host.test
expect host 0 <<'EOF'
targets OK secure 0
starttls host.test 5269
addr host.test 127.0.0.9 5269
EOF

check "3. \".\": service not available, unless the other service has records"
probe dot dot.test
expect dot 1 <<'EOF'
targets NONE secure 0 service not available (SRV target ".")
EOF
probe dot2 dot2.test
expect dot2 0 <<'EOF'
targets OK secure 0
starttls xmpp.dot2.test 5269
addr xmpp.dot2.test 127.0.0.5 5269
EOF

check "4. an SRV target without an address"
probe noaddr noaddr.test
expect noaddr 0 <<'EOF'
targets OK secure 0
starttls ghost.noaddr.test 5269
addr ghost.noaddr.test NONE no address (AAAA: no such domain; A: no such domain)
EOF

check "5. hostile records"
probe half half.test
expect half 0 <<'EOF'
targets OK secure 0 _xmpp-server SRV: skipped a bad record: SRV target has a byte outside letters, digits and '-'
starttls ok.half.test 5269
addr ok.half.test 127.0.0.6 5269
EOF
probe bad bad.test
expect bad 3 <<'EOF'
targets FAIL secure 0 _xmpp-server SRV: skipped a bad record: SRV target has a byte outside letters, digits and '-'
EOF
probe notahost 'a_b.test'
expect notahost 3 <<'EOF'
targets FAIL secure 0 not a DNS host name: "a_b.test"
EOF

check "7. weights: one priority before the next"
for i in 1 2 3 4 5 6 7 8 9 10; do
	probe w w.test
	[ "$RC" = 0 ] || fail "w: exit $RC"
	sed -n 2,4p "$XG_TMP/w.out" >"$XG_TMP/w.order"
	sed -n 1,2p "$XG_TMP/w.order" | sort | tr '\n' ' ' >"$XG_TMP/w.first"
	[ "$(cat "$XG_TMP/w.first")" = "starttls heavy.w.test 5269 starttls light.w.test 5269 " ] ||
		{ cat "$XG_TMP/w.out" >&2; fail "w: priority 1 is not first"; }
	[ "$(sed -n 3p "$XG_TMP/w.order")" = "starttls later.w.test 5269" ] ||
		{ cat "$XG_TMP/w.out" >&2; fail "w: priority 2 is not last"; }
done
pass "weights: priority 1's two records first, ten times"
probe many many.test 1500
[ "$RC" = 0 ] || fail "many: exit $RC"
[ "$(sed -n 1p "$XG_TMP/many.out")" = "targets OK secure 0 4 SRV records over the limit of 16 skipped" ] ||
	fail "many: $(sed -n 1p "$XG_TMP/many.out")"
[ "$(grep -c '^starttls h[0-9]*\.many\.test 5269$' "$XG_TMP/many.out")" = 16 ] ||
	fail "many: not 16 targets"
pass "20 SRV records: 16 kept, the rest named in the warning"

check "6. a server that never answers: TIMEOUT at the deadline"
dns_silent "$XG_TMP/silent" 60
t0=$(date +%s%N)
RC=0
timeout 30 "$PROBE" "127.0.0.1@$SILENT_PORT" a.test 1500 >"$XG_TMP/silent.out" \
    2>"$XG_TMP/silent.err" || RC=$?
ms=$((($(date +%s%N) - t0) / 1000000))
cat "$XG_TMP/silent.out"
[ "$RC" = 2 ] || fail "silent: exit $RC, not 2 (TIMEOUT)"
grep -qx 'targets TIMEOUT secure 0 _xmpps-server SRV: no answer in time; _xmpp-server SRV: no answer in time' \
    "$XG_TMP/silent.out" || fail "silent: $(cat "$XG_TMP/silent.out")"
# The deadline holds: not before 1.5 s, and the probe (a fresh resolver
# and its thread included) done well within 3 s.
[ "$ms" -ge 1450 ] || fail "silent: gave up after $ms ms, before the deadline"
[ "$ms" -lt 3000 ] || fail "silent: took $ms ms for a 1500 ms deadline"
pass "silent server: TIMEOUT after $ms ms (deadline 1500 ms)"
kill_bg "$SILENT_PID"

check "9. DNSSEC: an unsigned zone under a trust anchor is bogus"
# A DS record for "test." whose key the zone does not have (the digest is
# made up): validation must fail, and the answer must not be used.
echo 'test. 3600 IN DS 12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef' \
    >"$XG_TMP/anchor"
RC=0
XG_DNS_ANCHOR=$XG_TMP/anchor timeout 30 "$PROBE" "$SERVER" a.test 3000 \
    >"$XG_TMP/bogus.out" 2>"$XG_TMP/bogus.err" || RC=$?
[ "$RC" = 3 ] || { cat "$XG_TMP/bogus.out" "$XG_TMP/bogus.err" >&2; fail "bogus: exit $RC, not 3"; }
grep -q '^targets FAIL secure 0 _xmpps-server SRV: DNSSEC bogus: .*; _xmpp-server SRV: DNSSEC bogus: ' \
    "$XG_TMP/bogus.out" || fail "bogus: $(cat "$XG_TMP/bogus.out")"
pass "bogus: $(cut -c1-160 "$XG_TMP/bogus.out")"
RC=0
XG_DNS_ANCHOR=$XG_TMP/no-such-anchor timeout 30 "$PROBE" "$SERVER" a.test 3000 \
    >"$XG_TMP/noanchor.out" 2>"$XG_TMP/noanchor.err" || RC=$?
[ "$RC" = 111 ] || fail "no anchor file: exit $RC, not 111"
grep -qx "dns_probe: cannot read the trust anchor file $XG_TMP/no-such-anchor: No such file or directory" \
    "$XG_TMP/noanchor.err" ||
	fail "no anchor file: $(cat "$XG_TMP/noanchor.err")"
pass "a missing anchor file: $(cat "$XG_TMP/noanchor.err")"

check "10. the server argument"
for bad in x 127.0.0.1@ 127.0.0.1@0 127.0.0.1@65536 127.0.0.1@53x '@53' \
    '[::1]@53' 127.0.0.1:53 ''; do
	RC=0
	timeout 30 "$PROBE" "$bad" a.test 300 >"$XG_TMP/srv.out" 2>"$XG_TMP/srv.err" || RC=$?
	[ "$RC" = 111 ] || fail "server \"$bad\": exit $RC, not 111"
	grep -q '^dns_probe: bad DNS server ' "$XG_TMP/srv.err" ||
		fail "server \"$bad\": $(cat "$XG_TMP/srv.err")"
done
pass "bad server arguments refused: $(cat "$XG_TMP/srv.err")"
# IPv6 and a port: taken (nothing answers there: TIMEOUT).
RC=0
timeout 30 "$PROBE" ::1@1 a.test 300 >"$XG_TMP/v6.out" 2>"$XG_TMP/v6.err" || RC=$?
[ "$RC" = 2 ] || { cat "$XG_TMP/v6.out" "$XG_TMP/v6.err" >&2; fail "::1@1: exit $RC, not 2"; }
pass "an IPv6 server with a port is taken"

dns_stop

check "8. one question unanswered while the other has records; a short A record"
# srv_rdata PRIO WEIGHT PORT NAME: an SRV RDATA in hex.
srv_rdata() {
	$XG_PY -c '
import struct, sys
p, w, port, name = sys.argv[1:]
d = struct.pack(">HHH", int(p), int(w), int(port))
for l in name.split("."):
    d += bytes([len(l)]) + l.encode()
print((d + b"\0").hex())' "$@"
}
dns_fake "$XG_TMP/fake" \
    "_xmpps-server._tcp.partial.test 33 silent" \
    "_xmpp-server._tcp.partial.test 33 $(srv_rdata 0 0 5269 ok.partial.test)" \
    "ok.partial.test 1 7f000007" \
    "ok.partial.test 28 silent" \
    "shortaddr.test 1 7f0000"
SERVER=127.0.0.1@$FAKE_PORT
t0=$(date +%s%N)
probe partial partial.test 1500
ms=$((($(date +%s%N) - t0) / 1000000))
expect partial 0 <<'EOF'
targets OK secure 0 _xmpps-server SRV: no answer in time
starttls ok.partial.test 5269
addr ok.partial.test 127.0.0.7 5269
EOF
# Two lookups, each waiting for its silent question until its deadline.
[ "$ms" -ge 2900 ] && [ "$ms" -lt 6000 ] ||
	fail "partial: $ms ms for two 1500 ms deadlines"
pass "partial answers used at the deadline ($ms ms for two lookups)"
probe shortaddr shortaddr.test 1500
[ "$RC" = 0 ] || fail "shortaddr: exit $RC"
sed -n 2p "$XG_TMP/shortaddr.out" | grep -qx 'starttls shortaddr.test 5269' ||
	fail "shortaddr: $(cat "$XG_TMP/shortaddr.out")"
# libunbound passes the record on as it came: dns.c's length check is
# what refuses it.
sed -n 3p "$XG_TMP/shortaddr.out" | grep -qx 'addr shortaddr.test FAIL A: a record of 3 bytes' ||
	fail "shortaddr: $(cat "$XG_TMP/shortaddr.out")"
pass "an A record of 3 bytes: $(sed -n 3p "$XG_TMP/shortaddr.out")"
grep -q '^query _xmpps-server._tcp.partial.test 33' "$XG_TMP/fake/fake.log" ||
	fail "the fake server was not asked"
kill_bg "$FAKE_PID"
pass "t-dns"
