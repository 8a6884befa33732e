#!/bin/bash
# xmppgate-auth-scram --fast DIR, the XEP-0484 (FAST) token store, run
# directly as xmppgate runs it (the exec form's environment, and once the
# socket form behind systemd-socket-activate), the client's side computed
# by tests/fast_tool.py with Python's hmac: issue, check with and without
# channel binding, the Responder, wrong HMAC and mechanism, the new and
# current slots, invalidation, expiry, token rotation (--fast-rotate), a
# version 1 store file, a corrupt store, bad requests, concurrent checks
# and issues on one store file, and what the store leaves in DIR: nothing
# for a check with a made-up client id, no expired-only file, no per-name
# lock file.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

DOMAIN=example.test
SCRAM=$top_builddir/contrib/xmppgate-auth-scram
TOOL="$XG_PY $top_srcdir/tests/fast_tool.py"
[ -x "$SCRAM" ] || fail "contrib/xmppgate-auth-scram not built"
STORE=$XG_TMP/store
DB=$XG_TMP/db
mkdir -m 700 "$STORE"
printf '%s\n' "alice@$DOMAIN password=be-secret" \
	"alice@$DOMAIN backend=127.0.0.1:5222" >"$DB"
FASTOPT=()
CLIENT=ua-1
OUT=$XG_TMP/out
ERR=$XG_TMP/err

# h VAR=VALUE...: the helper with a clean environment for alice and
# CLIENT, stdout in OUT, stderr in ERR; sets RC.
h() {
	RC=0
	timeout 20 env -i XMPPGATE_AUTH_VERSION=1 AUTH_USER=alice \
		AUTH_DOMAIN=$DOMAIN AUTH_FAST_CLIENT=$CLIENT "$@" \
		"$SCRAM" "${FASTOPT[@]}" "$DB" </dev/null >"$OUT" 2>"$ERR" || RC=$?
}
# issue MECH: a new token for MECH into TOKEN (and EXPIRY).
issue() {
	h AUTH_MECHANISM=FAST-TOKEN AUTH_FAST_MECHANISM=$1
	[ "$RC" = 0 ] || { cat "$ERR"; fail "issue $1: exit $RC"; }
	TOKEN=$(sed -n 's/^fast-token=//p' "$OUT")
	EXPIRY=$(sed -n 's/^fast-expiry=//p' "$OUT")
	[ "$(wc -l <"$OUT")" = 2 ] || fail "issue $1: reply $(cat "$OUT")"
}
# try MECH TOKEN [CB_B64 [VAR=VALUE...]]: a check with the client's HMAC
# for TOKEN; RC and OUT as h.
try() {
	local mech=$1 tok=$2 cb=${3:-}
	shift 3 2>/dev/null || shift $#
	h AUTH_MECHANISM=$mech AUTH_FAST_HMAC="$($TOOL hmac "$tok" "$cb" Initiator)" \
		${cb:+AUTH_CHANNEL_BINDING=tls-exporter AUTH_CHANNEL_BINDING_DATA=$cb} "$@"
}
# accepted MECH TOKEN [CB_B64 [VAR=VALUE...]]: try, exit 0, the Responder
# as Python computes it, and FILE's reply lines.
accepted() {
	try "$@"
	[ "$RC" = 0 ] || { cat "$ERR"; fail "$1 token not accepted: exit $RC"; }
	grep -qx "fast-responder=$($TOOL hmac "$2" "${3:-}" Responder)" "$OUT" ||
		fail "$1: wrong or no responder: $(cat "$OUT")"
	grep -qx 'password=be-secret' "$OUT" && grep -qx 'backend=127.0.0.1:5222' "$OUT" ||
		fail "$1: FILE's reply lines missing: $(cat "$OUT")"
}
# rotated MECH TOKEN [CB_B64 [VAR=VALUE...]]: accepted, and the reply's
# first three lines are the Responder, a successor (into R) and its
# expiry (now + 14 days).
rotated() {
	accepted "$@"
	R=$(sed -n 's/^fast-token=//p' "$OUT")
	[[ $R =~ ^[A-Za-z0-9_-]{43}$ ]] && [ "$R" != "$2" ] &&
		sed -n 1p "$OUT" | grep -q '^fast-responder=' &&
		sed -n 2p "$OUT" | grep -qx "fast-token=$R" &&
		$TOOL expiry "$(sed -n '3s/^fast-expiry=//p' "$OUT")" $((14 * 86400)) ||
		fail "$1: no rotation: $(cat "$OUT")"
}
# not_rotated MECH TOKEN [CB_B64 [VAR=VALUE...]]: accepted, no fast-token=
# or fast-expiry=.
not_rotated() {
	accepted "$@"
	! grep -q '^fast-\(token\|expiry\)=' "$OUT" || fail "$1: rotated: $(cat "$OUT")"
}
# refused MECH TOKEN [CB_B64 [VAR=VALUE...]]: try, exit 1, no responder.
refused() {
	try "$@"
	[ "$RC" = 1 ] || { cat "$ERR"; fail "$1 token not refused: exit $RC"; }
	! grep -q '^fast-responder=' "$OUT" || fail "$1: a responder after a refusal"
}

check "without --fast: FAST-TOKEN and HT-SHA-256-* refused (exit 1)"
h AUTH_MECHANISM=FAST-TOKEN AUTH_FAST_MECHANISM=HT-SHA-256-NONE
[ "$RC" = 1 ] || fail "FAST-TOKEN: exit $RC"
grep -q 'mechanism FAST-TOKEN not handled: refused' "$ERR" || fail "stderr: $(cat "$ERR")"
try HT-SHA-256-NONE 0123456789abcdef
[ "$RC" = 1 ] && grep -q 'mechanism HT-SHA-256-NONE not handled: refused' "$ERR" ||
	fail "HT-SHA-256-NONE: exit $RC, $(cat "$ERR")"
[ -z "$(ls -A "$STORE")" ] || fail "the store was written"
pass "refused, the store untouched"

FASTOPT=(--fast "$STORE")
check "issue: a token of 43 base64url characters, expiry in 14 days, a file of mode 0600"
issue HT-SHA-256-NONE
A=$TOKEN
[[ $A =~ ^[A-Za-z0-9_-]{43}$ ]] || fail "token $A"
$TOOL expiry "$EXPIRY" $((14 * 86400)) || fail "expiry $EXPIRY"
f=$STORE/$($TOOL store "alice@$DOMAIN" "$CLIENT")
[ "$(stat -c %a "$f")" = 600 ] || fail "store file $f: mode $(stat -c %a "$f" 2>&1)"
grep -qx "new HT-SHA-256-NONE [0-9]* [0-9]* $A" "$f" || fail "store: $(cat "$f")"
pass "$A $EXPIRY"

check "check HT-SHA-256-NONE: the Responder is right, FILE's lines follow; wrong HMAC, wrong mechanism refused"
accepted HT-SHA-256-NONE "$A"
grep -qx "current HT-SHA-256-NONE [0-9]* [0-9]* $A" "$f" && ! grep -q '^new ' "$f" ||
	fail "not promoted: $(cat "$f")"
refused HT-SHA-256-NONE "${A%?}x"
h AUTH_MECHANISM=HT-SHA-256-NONE AUTH_FAST_HMAC="$($TOOL hmac "$A" "" Responder)"
[ "$RC" = 1 ] || fail "the Responder as Initiator: exit $RC"
refused HT-SHA-256-EXPR "$A" "$(printf 'cb-bytes' | base64)"
grep -q 'no HT-SHA-256-EXPR token matches for alice@example.test' "$ERR" || fail "stderr: $(cat "$ERR")"
CLIENT=ua-2 refused HT-SHA-256-NONE "$A"
pass "accepted, promoted; the others refused"

check "HT-SHA-256-EXPR: the channel binding data in both HMACs; other data refused"
CB=$(head -c 32 /dev/urandom | base64)
issue HT-SHA-256-EXPR
E=$TOKEN
# The HMAC over CB, another channel's data sent (the later value wins)
refused HT-SHA-256-EXPR "$E" "$CB" AUTH_CHANNEL_BINDING_DATA="$(head -c 32 /dev/urandom | base64)"
refused HT-SHA-256-NONE "$E"
accepted HT-SHA-256-EXPR "$E" "$CB"
pass "bound to the data"

check "two slots: the current token works until a newer one is used, then it is refused"
issue HT-SHA-256-NONE
B=$TOKEN
issue HT-SHA-256-NONE		# an unused new one is replaced
C=$TOKEN
refused HT-SHA-256-NONE "$B"
accepted HT-SHA-256-EXPR "$E" "$CB"	# current still
accepted HT-SHA-256-NONE "$C"		# new: promoted, E dropped
refused HT-SHA-256-EXPR "$E" "$CB"
accepted HT-SHA-256-NONE "$C"
pass "B replaced, E dropped after C's use"

check "AUTH_FAST_INVALIDATE=1: accepted with a Responder, then the store file is gone"
issue HT-SHA-256-NONE
D=$TOKEN
accepted HT-SHA-256-NONE "$C" "" AUTH_FAST_INVALIDATE=1
[ ! -e "$f" ] || fail "store file left: $(cat "$f")"
refused HT-SHA-256-NONE "$C"
refused HT-SHA-256-NONE "$D"
pass "both slots gone"

check "--fast-rotate 0: a successor on every check; the matched token valid until the successor is used"
CLIENT=ua-rot
f=$STORE/$($TOOL store "alice@$DOMAIN" "$CLIENT")
issue HT-SHA-256-NONE
R0=$TOKEN
not_rotated HT-SHA-256-NONE "$R0"	# no --fast-rotate: off
FASTOPT=(--fast "$STORE" --fast-rotate 0)
t0=$(date +%s)
rotated HT-SHA-256-NONE "$R0"
R1=$R
grep -qx "current HT-SHA-256-NONE [0-9]* [0-9]* $R0" "$f" || fail "R0 not current: $(cat "$f")"
read -r _ _ issued expiry _ < <(grep '^new ' "$f")
[ "$issued" -ge "$t0" ] && [ "$issued" -le $((t0 + 60)) ] &&
	[ "$expiry" = $((issued + 14 * 86400)) ] || fail "R1 issued $issued, expires $expiry"
rotated HT-SHA-256-NONE "$R0"		# the old one still works: R1 replaced
R2=$R
refused HT-SHA-256-NONE "$R1"
rotated HT-SHA-256-NONE "$R2"		# the newest: promoted, R0 dropped
R3=$R
refused HT-SHA-256-NONE "$R0"
grep -qx "current HT-SHA-256-NONE [0-9]* [0-9]* $R2" "$f" &&
	grep -qx "new HT-SHA-256-NONE [0-9]* [0-9]* $R3" "$f" &&
	[ "$(grep -c '' "$f")" = 3 ] || fail "store: $(cat "$f")"
CLIENT=ua-rot-x issue HT-SHA-256-EXPR	# the successor has the same mechanism
CLIENT=ua-rot-x rotated HT-SHA-256-EXPR "$TOKEN" "$CB"
CLIENT=ua-rot-x accepted HT-SHA-256-EXPR "$R" "$CB"
pass "R0 -> R1, R0 again -> R2 (R1 refused), R2 -> R3 and R0 refused"

check "--fast-rotate 3600: no successor for a fresh token, one for a token issued two hours ago"
FASTOPT=(--fast "$STORE" --fast-rotate 3600)
cp "$f" "$XG_TMP/before"
not_rotated HT-SHA-256-NONE "$R2"
cmp -s "$f" "$XG_TMP/before" || fail "store changed: $(cat "$f")"
now=$(date +%s)
sed -i "s/^current HT-SHA-256-NONE [0-9]* /current HT-SHA-256-NONE $((now - 7200)) /" "$f"
rotated HT-SHA-256-NONE "$R2"
R4=$R
grep -qx "new HT-SHA-256-NONE [0-9]* [0-9]* $R4" "$f" || fail "store: $(cat "$f")"
not_rotated HT-SHA-256-NONE "$R4"	# promoted, fresh
refused HT-SHA-256-NONE "$R2"
for bad in x -1 31622401; do
	RC=0
	env -i "$SCRAM" --fast "$STORE" --fast-rotate $bad "$DB" </dev/null 2>"$ERR" || RC=$?
	[ "$RC" = 100 ] && grep -q -- '--fast-rotate wants 0 to 31622400 seconds' "$ERR" ||
		fail "--fast-rotate $bad: exit $RC, $(cat "$ERR")"
done
pass "fresh: none, store untouched; 2 hours old: rotated; bad values exit 100"

check "AUTH_FAST_INVALIDATE=1 with --fast-rotate 0: no successor, the store file removed"
FASTOPT=(--fast "$STORE" --fast-rotate 0)
not_rotated HT-SHA-256-NONE "$R4" "" AUTH_FAST_INVALIDATE=1
[ ! -e "$f" ] || fail "store file left: $(cat "$f")"
refused HT-SHA-256-NONE "$R4"
pass "accepted, nothing issued, file gone"

check "a version 1 store file (no issue time) is read; its token counts as old enough to rotate"
printf 'xmppgate-fast 1\ncurrent HT-SHA-256-NONE %s %s\n' $(($(date +%s) + 3600)) "$R4" >"$f"
FASTOPT=(--fast "$STORE")
not_rotated HT-SHA-256-NONE "$R4"
grep -qx 'xmppgate-fast 1' "$f" || fail "rewritten without a change: $(cat "$f")"
FASTOPT=(--fast "$STORE" --fast-rotate 3600)
rotated HT-SHA-256-NONE "$R4"
sed -n 1p "$f" | grep -qx 'xmppgate-fast 2' &&
	grep -qx "current HT-SHA-256-NONE 0 [0-9]* $R4" "$f" &&
	grep -qx "new HT-SHA-256-NONE [0-9]* [0-9]* $R" "$f" || fail "store: $(cat "$f")"
printf 'xmppgate-fast 2\ncurrent HT-SHA-256-NONE 20 10 %s\n' "$R4" >"$f"
try HT-SHA-256-NONE "$R4"
[ "$RC" = 111 ] && grep -q "$f line 2: not a FAST store line" "$ERR" ||
	fail "issued after expiry: exit $RC, $(cat "$ERR")"
rm -f "$f"
FASTOPT=(--fast "$STORE")
CLIENT=ua-1
f=$STORE/$($TOOL store "alice@$DOMAIN" "$CLIENT")
pass "read; rewritten as version 2 on rotation; issued after expiry refused"

check "expiry: --fast-ttl 1, two seconds later: exit 1 with condition=credentials-expired"
FASTOPT=(--fast "$STORE" --fast-ttl 1)
issue HT-SHA-256-NONE
$TOOL expiry "$EXPIRY" 1 || fail "expiry $EXPIRY"
sleep 2
refused HT-SHA-256-NONE "$TOKEN"
grep -qx 'condition=credentials-expired' "$OUT" || fail "reply: $(cat "$OUT")"
grep -q 'token for alice@example.test has expired' "$ERR" || fail "stderr: $(cat "$ERR")"
[ ! -e "$f" ] || fail "an expired-only store file left: $(cat "$f")"
refused HT-SHA-256-NONE "$TOKEN"	# the file is gone: no match now
! grep -q condition "$OUT" || fail "a removed token said expired: $(cat "$OUT")"
grep -q 'no HT-SHA-256-NONE token matches' "$ERR" || fail "stderr: $(cat "$ERR")"
issue HT-SHA-256-NONE
sleep 2
refused HT-SHA-256-NONE "${TOKEN%?}x"
! grep -q condition "$OUT" || fail "a wrong token said expired"
[ ! -e "$f" ] || fail "an expired-only store file left after a wrong token: $(cat "$f")"
FASTOPT=(--fast "$STORE")
h AUTH_MECHANISM=FAST-TOKEN AUTH_FAST_MECHANISM=HT-SHA-256-NONE
[ "$RC" = 0 ] || fail "issue after expiry: $RC"
for bad in 0 x 31622401; do
	RC=0
	env -i "$SCRAM" --fast "$STORE" --fast-ttl $bad "$DB" </dev/null 2>"$ERR" || RC=$?
	[ "$RC" = 100 ] && grep -q -- '--fast-ttl wants 1 to 31622400 seconds' "$ERR" ||
		fail "--fast-ttl $bad: exit $RC, $(cat "$ERR")"
done
pass "credentials-expired, then the file removed; bad --fast-ttl exits 100"

check "an expired slot beside a valid one is dropped at the next check; an issue drops expired slots too"
issue HT-SHA-256-NONE
V=$TOKEN
accepted HT-SHA-256-NONE "$V"		# current, 14 days
now=$(date +%s)
printf 'new HT-SHA-256-NONE %s %s %s\n' $((now - 20)) $((now - 10)) "${V%?????}xxxxx" >>"$f"
not_rotated HT-SHA-256-NONE "$V"
[ "$(grep -c '' "$f")" = 2 ] && grep -qx "current HT-SHA-256-NONE [0-9]* [0-9]* $V" "$f" ||
	fail "expired new slot kept: $(cat "$f")"
sed -i "s/^current HT-SHA-256-NONE [0-9]* [0-9]* /current HT-SHA-256-NONE $((now - 100)) $((now - 5)) /" "$f"
issue HT-SHA-256-NONE
[ "$(grep -c '' "$f")" = 2 ] && ! grep -q '^current ' "$f" &&
	grep -qx "new HT-SHA-256-NONE [0-9]* [0-9]* $TOKEN" "$f" || fail "after issue: $(cat "$f")"
accepted HT-SHA-256-NONE "$TOKEN"
pass "dropped, the valid token kept"

check "checks with 5 made-up client ids for an existing user create nothing in DIR"
before=$(ls -A "$STORE")
for i in 1 2 3 4 5; do
	CLIENT=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n') refused HT-SHA-256-NONE "$TOKEN"
	grep -q 'no HT-SHA-256-NONE token matches for alice@example.test' "$ERR" ||
		fail "made-up client $i: $(cat "$ERR")"
done
after=$(ls -A "$STORE")
[ "$before" = "$after" ] && [ "$(printf '%s\n' "$after" | grep -c '')" -ge 1 ] ||
	fail "DIR changed: before [$before] after [$after]"
pass "$(printf '%s\n' "$after" | grep -c '') entries before and after"

check "the locks: shared DIR/.lock-XX files only; an old per-name NAME.lock goes with the next write"
touch "$f.lock"
issue HT-SHA-256-NONE
[ ! -e "$f.lock" ] || fail "$f.lock left"
bad=$(ls -A "$STORE" | grep -v -E '^([0-9a-f]{64}|\.lock-[0-9a-f]{2})$' || true)
[ -z "$bad" ] || fail "other files in DIR: $bad"
[ -e "$STORE/.lock-${f##*/}" ] && fail "a per-name lock"
[ -e "$STORE/.lock-$(basename "$f" | cut -c1-2)" ] || fail "no shared lock: $(ls -A "$STORE")"
accepted HT-SHA-256-NONE "$TOKEN"
pass "$(ls -A "$STORE" | tr '\n' ' ')"

check "a corrupt or oversized store file is a temporary failure (111) with a message"
issue HT-SHA-256-NONE
cp "$f" "$XG_TMP/good"
printf 'xmppgate-fast 1\nnew HT-SHA-256-NONE 12 short\n' >"$f"
try HT-SHA-256-NONE "$TOKEN"
[ "$RC" = 111 ] && grep -q "$f line 2: not a FAST store line" "$ERR" || fail "exit $RC, $(cat "$ERR")"
h AUTH_MECHANISM=FAST-TOKEN AUTH_FAST_MECHANISM=HT-SHA-256-NONE
[ "$RC" = 111 ] || fail "issue on a corrupt store: exit $RC"
head -c 2000 /dev/zero | tr '\0' a >"$f"
try HT-SHA-256-NONE "$TOKEN"
[ "$RC" = 111 ] && grep -q "$f: over 1024 bytes" "$ERR" || fail "exit $RC, $(cat "$ERR")"
{ cat "$XG_TMP/good"; cat "$XG_TMP/good" | sed -n 2p; } >"$f"
try HT-SHA-256-NONE "$TOKEN"
[ "$RC" = 111 ] && grep -q "line $(($(grep -c '' "$XG_TMP/good") + 1)): not a FAST store line" "$ERR" ||
	fail "a slot line twice: exit $RC, $(cat "$ERR")"
cp "$XG_TMP/good" "$f"
accepted HT-SHA-256-NONE "$TOKEN"
pass "111 and a message for each"

check "bad requests: 111 with a message; an unknown user: 1"
h AUTH_MECHANISM=HT-SHA-256-NONE AUTH_FAST_HMAC='not base64!'
[ "$RC" = 111 ] && grep -q 'AUTH_FAST_HMAC is not base64 of at most 32 bytes' "$ERR" || fail "hmac: $RC $(cat "$ERR")"
h AUTH_MECHANISM=HT-SHA-256-NONE AUTH_FAST_HMAC=AAAA
[ "$RC" = 111 ] && grep -q 'AUTH_FAST_HMAC is not base64 of 32 bytes' "$ERR" || fail "short hmac: $RC"
try HT-SHA-256-EXPR "$TOKEN"
[ "$RC" = 111 ] && grep -q 'AUTH_CHANNEL_BINDING_DATA missing' "$ERR" || fail "no cb: $RC $(cat "$ERR")"
try HT-SHA-256-NONE "$TOKEN" "$CB"
[ "$RC" = 111 ] && grep -q 'AUTH_CHANNEL_BINDING_DATA given for HT-SHA-256-NONE' "$ERR" || fail "cb for NONE: $RC"
h AUTH_MECHANISM=FAST-TOKEN AUTH_FAST_MECHANISM=SCRAM-SHA-1
[ "$RC" = 111 ] && grep -q 'AUTH_FAST_MECHANISM is not' "$ERR" || fail "issue mech: $RC"
CLIENT= h AUTH_MECHANISM=FAST-TOKEN AUTH_FAST_MECHANISM=HT-SHA-256-NONE
[ "$RC" = 111 ] && grep -q 'AUTH_FAST_CLIENT is not set' "$ERR" || fail "no client: $RC $(cat "$ERR")"
RC=0
timeout 20 env -i AUTH_USER=mallory AUTH_DOMAIN=$DOMAIN AUTH_FAST_CLIENT=x \
	AUTH_MECHANISM=FAST-TOKEN AUTH_FAST_MECHANISM=HT-SHA-256-NONE \
	"$SCRAM" --fast "$STORE" "$DB" </dev/null >"$OUT" 2>"$ERR" || RC=$?
[ "$RC" = 1 ] && [ ! -s "$OUT" ] && grep -q 'no such user mallory@example.test' "$ERR" ||
	fail "unknown user: $RC $(cat "$OUT" "$ERR")"
pass "each told"

check "20 checks and 10 issues at once on one store file: all answered, the file intact"
accepted HT-SHA-256-NONE "$TOKEN"	# current now
hm=$($TOOL hmac "$TOKEN" "" Initiator)
cat >"$XG_TMP/one.sh" <<EOF
#!/bin/bash
if [ "\$1" = issue ]; then
	set -- AUTH_MECHANISM=FAST-TOKEN AUTH_FAST_MECHANISM=HT-SHA-256-NONE
else
	set -- AUTH_MECHANISM=HT-SHA-256-NONE AUTH_FAST_HMAC=$hm
fi
env -i AUTH_USER=alice AUTH_DOMAIN=$DOMAIN AUTH_FAST_CLIENT=$CLIENT "\$@" \\
	"$SCRAM" --fast "$STORE" "$DB" </dev/null >/dev/null 2>&1
echo "\$?"
EOF
chmod +x "$XG_TMP/one.sh"
res=$( { for i in $(seq 1 20); do echo check; [ $((i % 2)) = 0 ] && echo issue; done; } |
	timeout 120 xargs -n 1 -P 30 "$XG_TMP/one.sh" | sort | uniq -c | tr -s ' ')
[ "$res" = " 30 0" ] || fail "exit codes (count code): $res"
n=$(grep -c '' "$f")
[ "$n" = 3 ] && sed -n 1p "$f" | grep -qx 'xmppgate-fast 2' &&
	grep -qx "current HT-SHA-256-NONE [0-9]* [0-9]* $TOKEN" "$f" && grep -q '^new HT-SHA-256-NONE ' "$f" ||
	fail "store after the crowd: $(cat "$f")"
ls -A "$STORE" | grep -q '\.tmp$' && fail "a temporary file left: $(ls -A "$STORE")"
ls -A "$STORE" | grep -q '^[0-9a-f]*\.lock$' && fail "a per-name lock file: $(ls -A "$STORE")"
accepted HT-SHA-256-NONE "$TOKEN"
pass "30 exit 0, the file has its three lines"

check "the socket form: --listen --fast --fast-rotate 0 behind systemd-socket-activate, issue then check (rotated)"
bg "$XG_TMP/listen.out" systemd-socket-activate -l "$XG_TMP/fast.sock" \
	"$SCRAM" --listen --fast "$STORE" --fast-rotate 0 "$DB"
for i in $(seq 1 100); do [ -S "$XG_TMP/fast.sock" ] && break; sleep 0.1; done
[ -S "$XG_TMP/fast.sock" ] || { show_log "$XG_TMP/listen.out"; fail "no socket"; }
ans=$($TOOL sock "$XG_TMP/fast.sock" AUTH_MECHANISM=FAST-TOKEN AUTH_USER=alice \
	AUTH_DOMAIN=$DOMAIN AUTH_FAST_CLIENT=sock-ua AUTH_FAST_MECHANISM=HT-SHA-256-EXPR)
[ "$(printf '%s\n' "$ans" | sed -n 1p)" = accept ] || { show_log "$XG_TMP/listen.out"; fail "issue: $ans"; }
T=$(printf '%s\n' "$ans" | sed -n 's/^fast-token=//p')
[[ $T =~ ^[A-Za-z0-9_-]{43}$ ]] || fail "socket token: $ans"
ans=$($TOOL sock "$XG_TMP/fast.sock" AUTH_MECHANISM=HT-SHA-256-EXPR AUTH_USER=alice \
	AUTH_DOMAIN=$DOMAIN AUTH_FAST_CLIENT=sock-ua AUTH_CHANNEL_BINDING=tls-exporter \
	AUTH_CHANNEL_BINDING_DATA=$CB AUTH_FAST_HMAC=$($TOOL hmac "$T" "$CB" Initiator) \
	AUTH_FAST_COUNT=1)
[ "$(printf '%s\n' "$ans" | sed -n 1p)" = accept ] &&
	printf '%s\n' "$ans" | grep -qx "fast-responder=$($TOOL hmac "$T" "$CB" Responder)" &&
	printf '%s\n' "$ans" | grep -qx 'password=be-secret' &&
	printf '%s\n' "$ans" | grep -q '^fast-token=[A-Za-z0-9_-]\{43\}$' &&
	printf '%s\n' "$ans" | grep -q '^fast-expiry=' ||
	{ show_log "$XG_TMP/listen.out"; fail "check: $ans"; }
ans=$($TOOL sock "$XG_TMP/fast.sock" AUTH_MECHANISM=HT-SHA-256-EXPR AUTH_USER=alice \
	AUTH_DOMAIN=$DOMAIN AUTH_FAST_CLIENT=sock-ua AUTH_CHANNEL_BINDING=tls-exporter \
	AUTH_CHANNEL_BINDING_DATA=$CB AUTH_FAST_HMAC=$($TOOL hmac "x$T" "$CB" Initiator))
[ "$ans" = reject ] || fail "wrong token over the socket: $ans"
pass "accept with the Responder and a successor, reject"
