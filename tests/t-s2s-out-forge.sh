#!/bin/bash
# Review of issue 24 (contrib/mod_xmppgate_s2s.lua, outgoing): a stream
# that xmppgate did NOT authenticate (PROXY v2 without TLV 0xE0) must never
# become authenticated by anything the remote sends through the relay.
# The remote offers SASL EXTERNAL in a mid-stream <stream:features/> and
# answers Prosody's <auth/> with <success/>: Prosody (mod_saslauth) then
# marks the stream authenticated without xmppgate's word.  Expected to
# FAIL until the module refuses SASL on streams it handed to xmppgate.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

command -v prosody >/dev/null || fail "prosody is not installed (scripts/deps.sh)"

PRO=$XG_TMP/prosody-b
mkdir -p "$PRO/data" "$PRO/certs"
make_certs "$PRO" b.test
PLOG=$PRO/prosody.log
CPORT=$(free_port)
GPORT=$(free_port)
cat >"$PRO/prosody.cfg.lua" <<EOC
run_as_root = true
daemonize = false
data_path = "$PRO/data"
pidfile = "$PRO/prosody.pid"
log = { debug = "$PLOG" }
use_ipv6 = false
interfaces = { "127.0.0.1" }
local_interfaces = { "127.0.0.1" }
c2s_ports = { $CPORT }
s2s_ports = { }
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_plain"
unbound = { resolvconf = false, hoststxt = false, forward = "127.0.0.1@$(free_port)" }
plugin_paths = { "$top_srcdir/contrib" }
modules_enabled = { "roster", "tls", "saslauth", "dialback", "disco", "ping", "xmppgate_s2s" }
modules_disabled = { "offline", "posix", "admin_shell" }
xmppgate_s2s_out = "127.0.0.1:$GPORT"
xmppgate_s2s_header_timeout = 2
certificates = "$PRO/certs"
ssl = { cafile = "$PRO/ca.pem" }
VirtualHost "b.test"
    ssl = { certificate = "$PRO/cert.pem", key = "$PRO/key.pem" }
EOC
prosody_adduser "$PRO" alice b.test secret
bg "$PRO/prosody.out" prosody -F --config "$PRO/prosody.cfg.lua"
PROSODY_PID=$BG_PID
wait_port "$CPORT" 10 "$PROSODY_PID" || fail "prosody did not listen"

SI="$XG_PY $top_srcdir/tests/s2s_out_standin.py"
check "no TLV 0xE0, the remote offers EXTERNAL mid-stream and says <success/>: never authenticated"
rm -f "$XG_TMP/gate.ready"
$SI gate "$GPORT" "$XG_TMP/gate.ready" --mode forge --timeout 6 >"$XG_TMP/gate.out" 2>&1 &
gpid=$!
for i in $(seq 1 50); do [ -e "$XG_TMP/gate.ready" ] && break; sleep 0.1; done
SENT=$($SI send "$CPORT" alice@b.test secret bob@a.test --timeout 8) || :
wait "$gpid" || :
sed 's/^/    /' "$XG_TMP/gate.out"; echo "    client: $SENT"
grep -E "SASL EXTERNAL|is now authenticated|PROXY v2" "$PLOG" | sed 's/^/    | /'
kill_bg "$PROSODY_PID"
! grep -q "is now authenticated for a.test" "$PLOG" || fail "authenticated without TLV 0xE0 (the remote's <success/>)"
grep -q "^message no" "$XG_TMP/gate.out" || fail "a message went to a remote that xmppgate did not authenticate us to... via the remote's word alone"
pass "not authenticated"
