#!/bin/bash
# The half of tests/t-ktls-uml.sh that runs inside user-mode Linux
# (tests/uml.sh), as root, in a kernel whose TLS is in modules that this
# script loads itself: first none (no TLS in the kernel), then AES-GCM,
# then ChaCha20-Poly1305.
#
# For the bulk data xmppgate runs in exec mode with
# tests/relay_backend.py (connect mode would need an XMPP server that
# relays arbitrary bytes; the relay and the kernel TLS step are the same
# code in both modes); at the end, connect mode with a real Prosody and
# slixmpp.  The client is
# tests/relay_client with a GnuTLS priority string per session, so each
# TLS version and cipher is asked for in turn.  For each session: the
# bytes each way arrive intact (SHA-256), exactly one "kernel TLS:" line
# says what happened, /proc/net/tls_stat shows the kernel's software TLS
# carried the session (TlsTxSw and TlsRxSw one more, TlsCurrTxSw and
# TlsCurrRxSw 1 while it runs, no TlsDecryptError) or did not (a
# fallback), and the summary line ends as today.  Then the ends: the
# client's close_notify first, a TLS 1.3 KeyUpdate, a fatal alert, and the
# state where the kernel took the receive side but refused the send side
# (forced with tests/ktls_fail_tx).
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
. "$top_srcdir/tests/uml_guest.sh"

DOMAIN=example.test
PASSWORD='s3cret uml'
BYTES=${XG_KTLS_UML_BYTES:-$((32 * 1024 * 1024))}
RELAY_CLIENT=$top_builddir/tests/relay_client
RELAY_BACKEND=$top_srcdir/tests/relay_backend.py
P13="NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL"
P12="NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL"

require_xmppgate
[ -x "$RELAY_CLIENT" ] ||
	fail "test client not built: $RELAY_CLIENT (make check builds it)"

# tls_stat KEY: a counter of /proc/net/tls_stat, 0 without TLS in the kernel.
tls_stat() {
	awk -v k="$1" '$1 == k { print $2; f = 1 } END { if (!f) print 0 }' \
		/proc/net/tls_stat 2>/dev/null || echo 0
}

# Key generation takes 20 s in user-mode Linux: t-ktls-uml.sh makes the
# certificates on the host and names their directory.
if [ -n "${XG_KTLS_UML_CERTS:-}" ]; then
	cp "$XG_KTLS_UML_CERTS/cert.pem" "$XG_KTLS_UML_CERTS/key.pem" \
		"$XG_KTLS_UML_CERTS/ca.pem" "$XG_KTLS_UML_CERTS/chain.pem" \
		"$XG_TMP/" || fail "no certificates in $XG_KTLS_UML_CERTS"
else
	make_certs "$XG_TMP" "$DOMAIN"
fi
write_helper "$XG_TMP/helper-check" '
[ -n "${XG_NOAVX_SET:-}" ] || exec /usr/bin/env XG_NOAVX_SET=1 '"$NOAVX"' /bin/sh "$0" "$@"
pw=$(cat)
[ "$AUTH_USER" = alice ] && [ "$pw" = "s3cret uml" ] && exit 0
exit 1'
RESULT=$XG_TMP/backend.result
XG_GATE_LOG=$XG_TMP/gate.log
GPORT=$(free_port)
start_gate "$GPORT" --cert "$XG_TMP/cert.pem" --key "$XG_TMP/key.pem" \
	--domain "$DOMAIN" --auth "$XG_TMP/helper-check" --auth-delay 0 \
	--idle-timeout 60 -- /usr/bin/env $NOAVX "$XG_PY" "$RELAY_BACKEND" \
	"$RESULT" "$BYTES"
NSUM=0

# cur_stat: CTX and CRX set to TlsCurrTxSw and TlsCurrRxSw, with no
# program started (a sample every 0.1 s).
cur_stat() {
	local k v
	CTX=0 CRX=0
	[ -r /proc/net/tls_stat ] || return 0
	while read -r k v; do
		case $k in
		TlsCurrTxSw) CTX=$v ;;
		TlsCurrRxSw) CRX=$v ;;
		esac
	done </proc/net/tls_stat
}

# session NAME PRIORITY SEND [CLIENT-ARGS...]: one login and SEND bytes
# from the client, $BYTES from the backend.  Sets OUT (the client's line),
# KLINE (the "kernel TLS:" line), SUM (the summary line), CURTX and CURRX
# (the highest TlsCurrTxSw / TlsCurrRxSw seen while it ran), DTX, DRX, DERR
# (what TlsTxSw, TlsRxSw, TlsDecryptError grew by), CRC (the client's
# status).
session() {
	local name=$1 prio=$2 send=$3 tx0 rx0 err0 n0 pid i
	shift 3
	rm -f "$RESULT"
	n0=$(wc -l <"$XG_GATE_LOG")
	tx0=$(tls_stat TlsTxSw) rx0=$(tls_stat TlsRxSw) err0=$(tls_stat TlsDecryptError)
	CURTX=0 CURRX=0
	"$RELAY_CLIENT" --host 127.0.0.1 --port "$GPORT" --ca "$XG_TMP/ca.pem" \
		--domain "$DOMAIN" --user alice --password "$PASSWORD" \
		--send "$send" --timeout 60 --priority "$prio" "$@" \
		>"$XG_TMP/$name.out" 2>"$XG_TMP/$name-client.log" &
	pid=$!
	for i in $(seq 1 600); do
		kill -0 "$pid" 2>/dev/null || break
		cur_stat
		[ "$CTX" -le "$CURTX" ] || CURTX=$CTX
		[ "$CRX" -le "$CURRX" ] || CURRX=$CRX
		sleep 0.1
	done
	CRC=0
	wait "$pid" || CRC=$?
	OUT=$(cat "$XG_TMP/$name.out")
	NSUM=$((NSUM + 1))
	SUM=$(wait_summaries "$NSUM" 20 | tail -n 1)
	KLINE=$(tail -n +"$((n0 + 1))" "$XG_GATE_LOG" | grep -v ' summary ' |
		grep 'kernel TLS: ') ||
		fail "$name: no 'kernel TLS:' line"
	[ "$(printf '%s\n' "$KLINE" | wc -l)" -eq 1 ] ||
		fail "$name: more than one 'kernel TLS:' line: $KLINE"
	DTX=$(($(tls_stat TlsTxSw) - tx0)) DRX=$(($(tls_stat TlsRxSw) - rx0))
	DERR=$(($(tls_stat TlsDecryptError) - err0))
	echo "    log:     ${KLINE#*conn=}"
	echo "    summary: ${SUM#*summary }"
	echo "    tls_stat: TlsTxSw +$DTX TlsRxSw +$DRX TlsDecryptError +$DERR, TlsCurrTxSw/TlsCurrRxSw up to $CURTX/$CURRX during the session"
}

# getf VAR LINE KEY: VAR set to the value of KEY= in LINE, without
# starting a program (summary_field starts four, 60 ms each in UML).
getf() {
	local l=" $2 "
	case $l in
	*" $3="*) l=${l#*" $3="}; printf -v "$1" '%s' "${l%% *}" ;;
	*) printf -v "$1" '%s' "" ;;
	esac
}

# intact NAME SEND: both ends' digests agree, every byte arrived, and the
# session ended cleanly.
intact() {
	local name=$1 send=$2 res i cs cr rs rr cn rn
	[ "$CRC" -eq 0 ] ||
		fail "$name: relay_client failed: $(tail -n 1 "$XG_TMP/$name-client.log")"
	for i in $(seq 1 100); do
		[ -e "$RESULT" ] && break
		sleep 0.1
	done
	res=$(cat "$RESULT" 2>/dev/null) || fail "$name: no result from the backend"
	echo "    client:  $OUT"
	getf cs "$OUT" sent_sha256
	getf cr "$OUT" received_sha256
	getf cn "$OUT" received
	getf rs "$res" sent_sha256
	getf rr "$res" received_sha256
	getf rn "$res" received
	[ -n "$cs" ] && [ "$cs" = "$rr" ] && [ -n "$rs" ] && [ "$rs" = "$cr" ] &&
	[ "$rn" = "$send" ] && [ "$cn" = "$BYTES" ] ||
		fail "$name: the bytes differ: client: $OUT; backend: $res"
	expect_summary "$SUM" outcome=ok
	case $SUM in
	*'reason="client closed first"'* | *'reason="backend closed first"'*) ;;
	*) fail "$name: not a clean end: $SUM" ;;
	esac
}

# in_kernel NAME TLS [HOW]: kTLS carried the session, the relay HOW
# (default "splice(2) relay").
in_kernel() {
	case $KLINE in
	*"kernel TLS: in use, ${3:-splice(2) relay} ($2)") ;;
	*) fail "$1: expected kernel TLS for $2: $KLINE" ;;
	esac
	[ "$DTX" -eq 1 ] && [ "$DRX" -eq 1 ] && [ "$DERR" -eq 0 ] ||
		fail "$1: the kernel's TLS counters do not show the session"
	# Sampled every 0.1 s: a session of a few MiB may come and go
	# between two looks.
	[ "$BYTES" -lt $((16 * 1024 * 1024)) ] ||
		{ [ "$CURTX" -ge 1 ] && [ "$CURRX" -ge 1 ]; } ||
		fail "$1: TlsCurrTxSw / TlsCurrRxSw never showed the session"
	[ "$(tls_stat TlsCurrTxSw)" -eq 0 ] && [ "$(tls_stat TlsCurrRxSw)" -eq 0 ] ||
		fail "$1: the kernel still holds a TLS socket after the session"
}

# fallback NAME TEXT: the user-space relay, with TEXT as the reason.
fallback() {
	case $KLINE in
	*"kernel TLS: not in use ($2"*"); relaying in user space") ;;
	*) fail "$1: expected a fallback ($2): $KLINE" ;;
	esac
	[ "$DTX" -eq 0 ] && [ "$DRX" -eq 0 ] && [ "$CURTX" -eq 0 ] ||
		fail "$1: the kernel's TLS counters moved on a fallback"
}

MB=$((BYTES / 1024 / 1024))
check "no TLS in the kernel (tls.ko not loaded): one line, every byte ($MB MiB each way)"
session none "$P13:+AES-128-GCM" "$BYTES"
intact none "$BYTES"
fallback none "the kernel has no TLS (TCP_ULP tls: No such file or directory)"
pass "fell back, said why, lost nothing"

uml_load $UML_TLS_GCM
for v in 1.3 1.2; do
	for c in AES-128-GCM AES-256-GCM; do
		p=$P13
		[ "$v" = 1.2 ] && p=$P12
		check "TLS$v $c in the kernel: $MB MiB each way"
		t0=$(date +%s%N)
		session "tls$v-$c" "$p:+$c" "$BYTES"
		t1=$(date +%s%N)
		intact "tls$v-$c" "$BYTES"
		in_kernel "tls$v-$c" "TLS$v, $c"
		pass "intact, kTLS both ways, $(( (t1 - t0) / 1000000 )) ms"
	done
done

check "a cipher the kernel lacks (ChaCha20-Poly1305, its modules not loaded): one line, every byte"
session nochacha "$P13:+CHACHA20-POLY1305" "$BYTES"
intact nochacha "$BYTES"
fallback nochacha "the kernel refused TLS_RX for TLS1.3 CHACHA20-POLY1305: "
pass "fell back, said why, lost nothing"

uml_load lib/crypto/libchacha lib/crypto/libpoly1305 crypto/chacha_generic \
	crypto/poly1305_generic crypto/chacha20poly1305
for v in 1.3 1.2; do
	p=$P13
	[ "$v" = 1.2 ] && p=$P12
	check "TLS$v CHACHA20-POLY1305 in the kernel: $MB MiB each way"
	session "tls$v-chacha" "$p:+CHACHA20-POLY1305" "$BYTES"
	intact "tls$v-chacha" "$BYTES"
	in_kernel "tls$v-chacha" "TLS$v, CHACHA20-POLY1305"
	pass "intact, kTLS both ways"
done

check "the client's close_notify first: a clean end, 'client closed first'"
session closefirst "$P13:+AES-128-GCM" 0
intact closefirst 0
in_kernel closefirst "TLS1.3, AES-128-GCM"
case $SUM in
*'reason="client closed first"'*) ;;
*) fail "closefirst: $SUM" ;;
esac
pass "client closed first"

check "a TLS 1.3 KeyUpdate from the client ends the session with a clear reason"
session keyupdate "$P13:+AES-128-GCM" $((4 * 1024 * 1024)) --key-update $((1024 * 1024))
[ "$CRC" -ne 0 ] || fail "keyupdate: the client saw a complete session: $OUT"
case $KLINE in
*"kernel TLS: in use, splice(2) relay (TLS1.3, AES-128-GCM)") ;;
*) fail "keyupdate: $KLINE" ;;
esac
expect_summary "$SUM" outcome=ok
case $SUM in
*'reason="client read: a TLS 1.3 KeyUpdate, which kernel TLS before Linux 6.14 cannot follow"'*) ;;
*) fail "keyupdate: unexpected end: $SUM" ;;
esac
echo "    client:  $(tail -n 1 "$XG_TMP/keyupdate-client.log")"
pass "ended, with the KeyUpdate as its reason"

check "a fatal alert from the client ends the session with its name"
session alert "$P13:+AES-256-GCM" $((1024 * 1024)) --fatal-alert
[ "$CRC" -ne 0 ] || fail "alert: the client saw a complete session: $OUT"
in_kernel alert "TLS1.3, AES-256-GCM"
expect_summary "$SUM" outcome=ok
case $SUM in
*'reason="client read: TLS alert: Internal error"'*) ;;
*) fail "alert: unexpected end: $SUM" ;;
esac
pass "ended, with the alert as its reason"

check "empty records from the client (zero-length application data, one after every chunk): skipped, every byte, a clean end"
session empty "$P13:+AES-128-GCM" $((4 * 1024 * 1024)) --empty-records
intact empty $((4 * 1024 * 1024))
in_kernel empty "TLS1.3, AES-128-GCM"
pass "the empty records did not end the client's direction"

check "--no-splice: kernel TLS with read and send through a user-space buffer, every byte"
kill_bg "$GATE_PID"
XG_GATE_LOG=$XG_TMP/gate-nosplice.log
GPORT=$(free_port)
NSUM=0
start_gate "$GPORT" --cert "$XG_TMP/cert.pem" --key "$XG_TMP/key.pem" \
	--domain "$DOMAIN" --auth "$XG_TMP/helper-check" --auth-delay 0 \
	--idle-timeout 60 --no-splice -- \
	/usr/bin/env $NOAVX "$XG_PY" "$RELAY_BACKEND" "$RESULT" "$BYTES"
session nosplice "$P12:+AES-128-GCM" "$BYTES"
intact nosplice "$BYTES"
in_kernel nosplice "TLS1.2, AES-128-GCM" "copying relay (--no-splice)"
pass "intact, kTLS both ways, copied"

check "the kernel takes the receive side and refuses the send side (ENOMEM, by a seccomp filter): the session ends, one line, exit 111"
kill_bg "$GATE_PID"
printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$top_builddir/tests/ktls_fail_tx" \
	"$xg_real_bin" >"$XG_TMP/failtx-gate"
chmod 755 "$XG_TMP/failtx-gate"
XG_GATE_LOG=$XG_TMP/gate-failtx.log
GPORT=$(free_port)
NSUM=0
xg_bin=$XG_TMP/failtx-gate start_gate "$GPORT" --cert "$XG_TMP/cert.pem" \
	--key "$XG_TMP/key.pem" --domain "$DOMAIN" \
	--auth "$XG_TMP/helper-check" --auth-delay 0 --idle-timeout 60 -- \
	/usr/bin/env $NOAVX "$XG_PY" "$RELAY_BACKEND" "$RESULT" "$BYTES"
session failtx "$P13:+AES-128-GCM" $((1024 * 1024))
[ "$CRC" -ne 0 ] || fail "failtx: the client saw a complete session: $OUT"
echo "    client:  $(tail -n 1 "$XG_TMP/failtx-client.log")"
case $KLINE in
*"kernel TLS: failed half-way (the kernel refused TLS_TX for TLS1.3 AES-128-GCM: Cannot allocate memory); ending the session") ;;
*) fail "failtx: $KLINE" ;;
esac
expect_summary "$SUM" outcome=tempfail
case $SUM in
*'reason="kernel TLS: the kernel refused TLS_TX for TLS1.3 AES-128-GCM: Cannot allocate memory"'*) ;;
*) fail "failtx: unexpected end: $SUM" ;;
esac
[ "$DRX" -eq 1 ] && [ "$DTX" -eq 0 ] ||
	fail "failtx: expected the receive side only in the kernel"
for i in $(seq 1 50); do
	codes=$(exit_codes)
	[ -z "$codes" ] || break
	sleep 0.1
done
[ "$codes" = 111 ] || fail "failtx: exit status $codes, not 111"
pass "ended at once with exit 111, the client saw a cut"

check "connect mode: Prosody behind xmppgate, slixmpp logs in twice and sends a message, both sessions in kernel TLS"
kill_bg "$GATE_PID"
PRO=$XG_TMP/prosody
mkdir -p "$PRO"
cp "$XG_TMP"/cert.pem "$XG_TMP"/key.pem "$XG_TMP"/ca.pem "$XG_TMP"/chain.pem "$PRO/"
PPORT=$(free_port)
prosody_config "$PRO" "$PPORT" "$DOMAIN"
prosody_adduser "$PRO" alice "$DOMAIN" "$PASSWORD"
prosody_adduser "$PRO" bob "$DOMAIN" "$PASSWORD"
start_prosody "$PRO" "$PPORT" "$DOMAIN"
write_helper "$XG_TMP/helper-connect" '
[ -n "${XG_NOAVX_SET:-}" ] || exec /usr/bin/env XG_NOAVX_SET=1 '"$NOAVX"' /bin/sh "$0" "$@"
pw=$(cat)
case $AUTH_USER in alice|bob) [ "$pw" = "s3cret uml" ] && exit 0 ;; esac
exit 1'
XG_GATE_LOG=$XG_TMP/gate-connect.log
GPORT=$(free_port)
xg_bin=$xg_real_bin start_gate "$GPORT" --cert "$XG_TMP/chain.pem" \
	--key "$XG_TMP/key.pem" --domain "$DOMAIN" \
	--auth "$XG_TMP/helper-connect" --auth-delay 0 --timeout 30 \
	--backend "127.0.0.1:$PPORT"
tx0=$(tls_stat TlsTxSw) rx0=$(tls_stat TlsRxSw)
out=$($XG_CLIENT --jid "alice@$DOMAIN" --password "$PASSWORD" \
	--jid2 "bob@$DOMAIN" --password2 "$PASSWORD" \
	--host 127.0.0.1 --port "$GPORT" --ca "$XG_TMP/ca.pem" \
	--to "bob@$DOMAIN" --message "hello bob over kernel TLS" --timeout 40) ||
	fail "connect: client: $out"
echo "    $out"
case $out in
*"jid=alice@$DOMAIN/"*"peer_jid=bob@$DOMAIN/"*) ;;
*) fail "connect: unexpected result: $out" ;;
esac
lines=$(wait_summaries 2 20)
grep -v ' summary ' "$XG_GATE_LOG" | grep 'kernel TLS: ' | sed 's/^.*conn=/    log:     /'
printf '%s\n' "$lines" | sed 's/^.*summary /    summary: /'
n=$(grep -v ' summary ' "$XG_GATE_LOG" | grep -c 'kernel TLS: in use, splice(2) relay (TLS1.3, ' || :)
[ "$n" -eq 2 ] || fail "connect: $n of 2 sessions in kernel TLS"
for u in alice bob; do
	expect_summary "$(printf '%s\n' "$lines" | grep " user=$u ")" \
		outcome=ok "backend=127.0.0.1:$PPORT" rx='>0' tx='>0'
done
DTX=$(($(tls_stat TlsTxSw) - tx0)) DRX=$(($(tls_stat TlsRxSw) - rx0))
echo "    tls_stat: TlsTxSw +$DTX TlsRxSw +$DRX"
[ "$DTX" -eq 2 ] && [ "$DRX" -eq 2 ] ||
	fail "connect: the kernel's TLS counters do not show two sessions"
pass "login, bind and a message through kernel TLS, in connect mode"

check "no xmppgate left running"
kill_bg "$GATE_PID"
kill_bg "$PROSODY_PID"
assert_no_leftovers 10
pass "no leftovers"
