#!/bin/bash
# The interop matrix: real clients x real servers, each cell a real login
# through xmppgate (STARTTLS, SASL PLAIN, resource binding), a message to a
# second account that the second account receives, and a clean logout
# (xmppgate's summary line says outcome=ok, and the relay ended with a
# close: "client closed first" or "backend closed first", not an error).
# The servers are Prosody and ejabberd from Debian's packages, each in a private directory on loopback
# ports, configured as a person would put them behind xmppgate (plaintext
# PLAIN on loopback only); each has its own xmppgate, and the second
# account (bob, slixmpp) is logged in through it too.  Then XEP-0198:
# a slixmpp client whose connection is cut resumes its session through
# xmppgate, with each server.
#
# Run by `make interop` (scripts/test.sh runs it in CI).  The clients
# connect to example.test, which a private /etc/hosts (in a mount
# namespace of its own) maps to 127.0.0.1: gnutls-cli and mcabber take
# the host name for the stream's 'to' and the certificate check.
# Prints the matrix as a table at the end; a failing cell fails the run.
# Beside each server's column, a SASL2 column: the mechanism of a login
# that went through SASL2 (XEP-0388), as xmppgate's summary line says it
# (sasl2=MECHANISM), or "no" for a classic SASL login; the XEP-0198 row,
# whose summary lines are not read, shows "-".
set -eu
if [ -z "${XG_INTEROP_NS:-}" ]; then
	hosts=$(mktemp)
	printf '127.0.0.1 localhost example.test\n::1 localhost\n' >"$hosts"
	chmod 644 "$hosts"
	export XG_INTEROP_NS=1
	exec unshare -m sh -c 'mount --bind "$1" /etc/hosts && rm -f "$1" && shift && exec "$@"' \
		sh "$hosts" bash "$0" "$@"
fi
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"

DOMAIN=example.test
ALICE_PW='alice Secret:1'
BOB_PW='bob-Secret'
I=$top_srcdir/tests/interop
# XG_INTEROP_CLIENTS / XG_INTEROP_SERVERS pick a part of the matrix (to
# debug one cell); XG_INTEROP_GATE_ARGS adds options to each xmppgate.
CLIENTS=${XG_INTEROP_CLIENTS:-slixmpp xmpp.js sendxmpp go-sendxmpp mcabber gnutls-cli openssl}
SERVERS=${XG_INTEROP_SERVERS:-prosody ejabberd}
CELL_TIMEOUT=45
require_xmppgate
for t in node sendxmpp go-sendxmpp mcabber tmux gnutls-cli openssl ejabberdctl prosody; do
	command -v "$t" >/dev/null || fail "$t not installed (scripts/deps.sh installs it)"
done
[ -d "$I/node_modules/@xmpp/client" ] ||
	fail "xmpp.js not installed: npm ci --prefix tests/interop (scripts/deps.sh does it)"

# ---- the servers, each behind its own xmppgate ----
test_prosody "$DOMAIN"
# Stream Management (XEP-0198) is a core module of Prosody 0.12.
sed -i 's/^modules_enabled = { /modules_enabled = { "smacks", /' "$PRO/prosody.cfg.lua"
prosody_adduser "$PRO" alice "$DOMAIN" "$ALICE_PW"
prosody_adduser "$PRO" bob "$DOMAIN" "$BOB_PW"
start_prosody "$PRO" "$PPORT" "$DOMAIN"
test_ejabberd "$DOMAIN"
start_ejabberd
ejabberd_adduser alice "$DOMAIN" "$ALICE_PW"
ejabberd_adduser bob "$DOMAIN" "$BOB_PW"

write_helper "$XG_TMP/helper" "
pw=\$(cat)
case \$AUTH_USER in
alice) [ \"\$pw\" = '$ALICE_PW' ] && exit 0 ;;
bob) [ \"\$pw\" = '$BOB_PW' ] && exit 0 ;;
esac
exit 1"
declare -A GATE LOGF RECV
for srv in $SERVERS; do
	case $srv in
	prosody) bport=$PPORT ;;
	ejabberd) bport=$EJ_PORT ;;
	esac
	# shellcheck disable=SC2086
	new_gate "$srv" --auth "$XG_TMP/helper" --auth-delay 0 \
		--backend "127.0.0.1:$bport" ${XG_INTEROP_GATE_ARGS:-}
	GATE[$srv]=$GPORT
	LOGF[$srv]=$XG_GATE_LOG
	RECV[$srv]=$XG_TMP/received-$srv
	: >"${RECV[$srv]}"
	bg "$XG_TMP/receiver-$srv.out" $XG_PY "$I/receiver.py" --jid "bob@$DOMAIN" \
		--password "$BOB_PW" --port "$GPORT" --ca "$XG_TMP/ca.pem" --out "${RECV[$srv]}"
	for i in $(seq 1 100); do
		grep -q ready "$XG_TMP/receiver-$srv.out" && break
		kill -0 "$BG_PID" 2>/dev/null || break
		sleep 0.1
	done
	grep -q ready "$XG_TMP/receiver-$srv.out" ||
		{ show_log "$XG_TMP/receiver-$srv.out"; show_log "$XG_GATE_LOG"; fail "bob could not log in to $srv"; }
done

# ---- the clients ----
# run_client CLIENT SERVER BODY: log alice in and send BODY to bob; the
# client's output goes to stdout.  Each client runs under timeout(1).
run_client() {
	local client=$1 srv=$2 body=$3 port=${GATE[$2]} home
	case $client in
	slixmpp)
		timeout "$CELL_TIMEOUT" $XG_PY "$I/slixmpp_send.py" 127.0.0.1 "$port" "$XG_TMP/ca.pem" \
			"alice@$DOMAIN" "$ALICE_PW" "bob@$DOMAIN" "$body" ;;
	xmpp.js)
		NODE_EXTRA_CA_CERTS=$XG_TMP/ca.pem timeout "$CELL_TIMEOUT" node "$I/xmppjs_send.mjs" \
			"$DOMAIN" "$port" "$DOMAIN" alice "$ALICE_PW" "bob@$DOMAIN" "$body" ;;
	sendxmpp)
		# The password in a config file (mode 600), not on the command
		# line; -t is STARTTLS, verified against the test CA.
		home=$XG_TMP/sendxmpp-$srv
		mkdir -p "$home"
		printf 'username: alice\njserver: %s\nport: %s\npassword: %s\nresource: sendxmpp\n' \
			"$DOMAIN" "$port" "$ALICE_PW" >"$home/sendxmpprc"
		chmod 600 "$home/sendxmpprc"
		printf '%s\n' "$body" | timeout "$CELL_TIMEOUT" sendxmpp -f "$home/sendxmpprc" -t \
			--tls-ca-path="$XG_TMP/ca.pem" "bob@$DOMAIN" &&
			echo "RESULT sent" ;;
	go-sendxmpp)
		# go-xmpp writes a newline after each element and opens every
		# stream, the restarts too, with <?xml?> (issue 19).  Its
		# password is in a config file (mode 600); Go takes the test CA
		# from SSL_CERT_FILE and checks the JID's domain.
		home=$XG_TMP/go-sendxmpp-$srv
		mkdir -p "$home"
		printf 'username: alice@%s\njserver: %s\nport: %s\npassword: %s\n' \
			"$DOMAIN" "$DOMAIN" "$port" "$ALICE_PW" >"$home/sendxmpprc"
		chmod 600 "$home/sendxmpprc"
		printf '%s\n' "$body" | SSL_CERT_FILE=$XG_TMP/ca.pem timeout "$CELL_TIMEOUT" \
			go-sendxmpp -f "$home/sendxmpprc" "bob@$DOMAIN" &&
			echo "RESULT sent" ;;
	mcabber) run_mcabber "$srv" "$port" "$body" ;;
	gnutls-cli)
		timeout "$CELL_TIMEOUT" $XG_PY "$I/tlstool_send.py" gnutls "$port" "$XG_TMP/ca.pem" "$DOMAIN" \
			alice "$ALICE_PW" "bob@$DOMAIN" "$body" ;;
	openssl)
		timeout "$CELL_TIMEOUT" $XG_PY "$I/tlstool_send.py" openssl "$port" "$XG_TMP/ca.pem" "$DOMAIN" \
			alice "$ALICE_PW" "bob@$DOMAIN" "$body" ;;
	esac
}

# run_mcabber SERVER PORT BODY: mcabber in a tmux session, connected by
# its configuration, sends BODY on connecting (a post-connect hook); once
# bob has it, /quit is typed into the terminal.
run_mcabber() {
	local srv=$1 port=$2 body=$3 home=$XG_TMP/mcabber-$1 sock=$XG_TMP/tmux.sock i
	mkdir -p "$home/.mcabber"
	cat >"$home/.mcabber/mcabberrc" <<EOF
set jid = alice@$DOMAIN
set password = $ALICE_PW
set server = $DOMAIN
set port = $port
set resource = mcabber
set disable_random_resource = 1
set tls = 1
set ssl_ca = $XG_TMP/ca.pem
set hook-post-connect = say_to bob@$DOMAIN $body
set logging = 0
set load_muc_logs = 0
EOF
	chmod 600 "$home/.mcabber/mcabberrc"
	HOME=$home tmux -S "$sock" new-session -d -s "mc-$srv" -x 160 -y 40 \
		"mcabber -f '$home/.mcabber/mcabberrc'"
	for i in $(seq 1 150); do
		grep -qF "$body" "${RECV[$srv]}" && break
		sleep 0.1
	done
	tmux -S "$sock" send-keys -t "mc-$srv" '/quit' Enter 2>/dev/null || :
	for i in $(seq 1 100); do
		tmux -S "$sock" has-session -t "mc-$srv" 2>/dev/null || break
		sleep 0.1
	done
	if tmux -S "$sock" has-session -t "mc-$srv" 2>/dev/null; then
		tmux -S "$sock" capture-pane -p -t "mc-$srv" | tail -n 15
		tmux -S "$sock" kill-session -t "mc-$srv"
		echo "RESULT mcabber did not quit"
		return 1
	fi
	echo "RESULT sent, /quit typed"
}

# cell CLIENT SERVER: one cell; sets CELL to ok or a short reason, and
# CELL_SASL2 to the SASL2 mechanism xmppgate logged, "no" or "?".
declare -A RESULT SASL2
cell() {
	local client=$1 srv=$2 body before line out rc=0 i
	body="interop-$client-$srv-$RANDOM$RANDOM"
	before=$(summaries "${LOGF[$srv]}" | wc -l)
	out=$(run_client "$client" "$srv" "$body" 2>&1) || rc=$?
	printf '%s\n' "$out" | sed 's/^/      /' | tail -n 20
	CELL=ok
	if [ "$rc" != 0 ]; then
		CELL="client exit $rc"
	fi
	for i in $(seq 1 100); do
		grep -qxF "alice@$DOMAIN $body" "${RECV[$srv]}" && break
		sleep 0.1
	done
	grep -qxF "alice@$DOMAIN $body" "${RECV[$srv]}" ||
		{ [ "$CELL" != ok ] || CELL="bob got no message"; }
	for i in $(seq 1 100); do
		[ "$(summaries "${LOGF[$srv]}" | wc -l)" -gt "$before" ] && break
		sleep 0.1
	done
	line=$(summaries "${LOGF[$srv]}" | sed -n "$((before + 1))p")
	if [ -z "$line" ]; then
		[ "$CELL" != ok ] || CELL="no summary line"
	elif [ "$(summary_field "$line" outcome)" != ok ] ||
		[ "$(summary_field "$line" user)" != alice ] ||
		! printf '%s' "$line" | grep -Eq 'reason="(backend|client) closed first"$'; then
		# A clean logout ends the relay with a close, not an error.
		[ "$CELL" != ok ] || CELL="summary: $(summary_field "$line" outcome) $(printf '%s' "$line" | sed 's/.*reason=//')"
	fi
	# The SASL2 column: what xmppgate logged, not what the client says;
	# a SASL2 login's summary line carries sasl2=MECHANISM, a classic
	# one has no such field.
	if [ -z "$line" ]; then
		CELL_SASL2="?"
	else
		CELL_SASL2=$(summary_field "$line" sasl2)
		CELL_SASL2=${CELL_SASL2:-no}
	fi
	echo "    summary: ${line#*summary }"
}

failed=0
for srv in $SERVERS; do
	for client in $CLIENTS; do
		check "$client -> xmppgate -> $srv"
		cell "$client" "$srv"
		RESULT[$client,$srv]=$CELL
		SASL2[$client,$srv]=$CELL_SASL2
		if [ "$CELL" = ok ]; then
			pass "$client with $srv"
		else
			log "FAILED $client with $srv: $CELL"
			failed=$((failed + 1))
		fi
	done
done

# ---- XEP-0198: resumption through xmppgate ----
for srv in $SERVERS; do
	check "XEP-0198: slixmpp's connection is cut, it resumes the same session ($srv)"
	rc=0
	out=$(timeout 60 $XG_PY "$I/smacks_resume.py" 127.0.0.1 "${GATE[$srv]}" \
		"$XG_TMP/ca.pem" "alice@$DOMAIN" "$ALICE_PW" 2>&1) || rc=$?
	printf '%s\n' "$out" | sed 's/^/      /' | tail -n 10
	if [ "$rc" = 0 ]; then
		RESULT[xep-0198,$srv]=ok
		pass "resumed with $srv"
	else
		RESULT[xep-0198,$srv]="exit $rc"
		log "FAILED XEP-0198 resumption with $srv"
		failed=$((failed + 1))
	fi
done

# ---- the TLS layer as sslscan sees it (the seed's observatory checked
# the same: protocols, ciphers, certificate) ----
check "sslscan --starttls-xmpp: only TLS 1.2 and 1.3, no weak suite"
srv=${SERVERS%% *}
sslscan --no-colour --starttls-xmpp "$DOMAIN:${GATE[$srv]}" >"$XG_TMP/sslscan.txt" 2>&1 ||
	{ cat "$XG_TMP/sslscan.txt"; fail "sslscan failed"; }
sed -n '/SSL\/TLS Protocols/,/Subject/p' "$XG_TMP/sslscan.txt" | sed 's/^/      /'
for p in SSLv2 SSLv3 TLSv1.0 TLSv1.1; do
	grep -Eq "^$p +disabled" "$XG_TMP/sslscan.txt" || fail "sslscan: $p is not disabled"
done
for p in TLSv1.2 TLSv1.3; do
	grep -Eq "^$p +enabled" "$XG_TMP/sslscan.txt" || fail "sslscan: $p is not enabled"
done
if grep -E '^(Accepted|Preferred) ' "$XG_TMP/sslscan.txt" | grep -Eiv 'GCM|CHACHA20'; then
	fail "sslscan: a suite that is not AEAD is accepted"
fi
# (This sslscan's OpenSSL cannot try compression; testssl.sh, in
# tests/t-testssl.sh, checks CRIME.)
pass "sslscan: TLS 1.2 and 1.3 only, AEAD suites only"

# ---- the table ----
{
	printf '\n%-12s' "client"
	for srv in $SERVERS; do printf ' | %-30s | %-30s' "$srv" "SASL2 ($srv)"; done
	printf '\n%-12s' "------------"
	for srv in $SERVERS; do printf ' | %-30s | %-30s' "------------------------------" "------------------------------"; done
	printf '\n'
	for client in $CLIENTS xep-0198; do
		printf '%-12s' "$client"
		for srv in $SERVERS; do
			printf ' | %-30.30s | %-30.30s' "${RESULT[$client,$srv]}" "${SASL2[$client,$srv]:--}"
		done
		printf '\n'
	done
	printf '\n'
} | tee "$XG_TMP/matrix.txt"
[ "$failed" = 0 ] || fail "$failed cell(s) failed"
# xmpp.js 0.14 prefers SASL2 whenever it is offered (xmppgate(8), SASL2,
# BIND2 AND FAST), and binds and enables stream management inline; the
# others have no SASL2 and must have logged in classically.
for srv in $SERVERS; do
	case ${SASL2[xmpp.js,$srv]} in
	*,bind2,sm=enabled*) ;;
	*) fail "xmpp.js on $srv: no SASL2 login with Bind2 and stream management (${SASL2[xmpp.js,$srv]})" ;;
	esac
	for client in $CLIENTS; do
		[ "$client" = xmpp.js ] || [ "${SASL2[$client,$srv]}" = no ] ||
			fail "$client on $srv: logged in by SASL2 (${SASL2[$client,$srv]})?"
	done
done
pass "the SASL2 column: xmpp.js by SASL2 with Bind2 and stream management, every other client classically"
pass "every cell"
