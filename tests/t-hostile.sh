#!/bin/bash
# The bad-input contract (doc/bad-input.md): hostile clients, one xmppgate
# per case in inetd mode, each answer checked byte for byte with its exit
# status, summary line, exit time and leftovers.  The cases are in
# tests/hostile.py; this script makes the certificates, the helpers and the
# exec'd program, runs them, and fails once per failing case.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

DOMAIN=example.test
require_xmppgate
make_certs "$XG_TMP" "$DOMAIN"
mkdir -p "$XG_TMP/cases"

# Each run notes its connection's id (the conn= of the log lines), so that
# a case knows whether the helper ran for its connection.
write_helper "$XG_TMP/helper" "
echo \"\$XMPPGATE_CONN_ID \$\$\" >>'$XG_TMP/cases/helper-runs'
pw=\$(cat)
# SCRAM (--auth-scram): well-formed credentials for alice, of no password
# a case sends, so that the hostile cases reach the proof.
if [ -n \"\$AUTH_SCRAM_HASH\" ]; then
	[ \"\$AUTH_USER\" = alice ] && [ \"\$AUTH_SCRAM_HASH\" = SHA-256 ] || exit 1
	echo 'scram=SCRAM-SHA-256\$4096:W22ZaJ0SNY7soEsUEjb6gQ==\$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU='
	exit 0
fi
[ \"\$AUTH_USER\" = alice ] && [ \"\$pw\" = right ] && exit 0
exit 1"
write_helper "$XG_TMP/helper-slow" "
echo \"\$XMPPGATE_CONN_ID \$\$\" >>'$XG_TMP/cases/helper-runs'
pw=\$(cat)
sleep 2
[ \"\$AUTH_USER\" = alice ] && [ \"\$pw\" = right ] && exit 0
exit 1"
# Exec mode: the program keeps what the client sent after <success/>.
# shellcheck disable=SC2016
write_helper "$XG_TMP/exec-prog" 'cat >"$1"'

check "doc/bad-input.md and tests/hostile.py name the same cases"
# The last column of each row of the contract table names its cases.
$XG_PY "$top_srcdir/tests/hostile.py" --list >"$XG_TMP/cases.list" ||
	fail "hostile.py --list failed"
$XG_PY - "$top_srcdir/doc/bad-input.md" "$XG_TMP/cases.list" <<'EOF' ||
import sys
doc = open(sys.argv[1]).read()
cases = {l.split()[0] for l in open(sys.argv[2]) if l.strip()}
table = doc.split("## The contract", 1)[1].split("\n## ", 1)[0]
named = set()
for row in table.splitlines():
    if not row.startswith("| ") or row.startswith("| class "):
        continue
    for item in row.rstrip(" |").rsplit("|", 1)[1].split(","):
        if item.strip():
            named.add(item.split()[0])
bad = 0
for n in sorted(set(named) - set(cases)):
    print("    doc/bad-input.md names a case hostile.py does not have: %s" % n)
    bad = 1
for n in sorted(set(cases) - set(named)):
    print("    a case of hostile.py in no row of doc/bad-input.md: %s" % n)
    bad = 1
if not bad:
    print("    %d cases, each named in a row of the contract" % len(cases))
sys.exit(bad)
EOF
	fail "doc/bad-input.md and tests/hostile.py disagree (above)"
pass "every case has a row, every row has cases"

check "hostile clients: every class of doc/bad-input.md"
set +e
$XG_PY "$top_srcdir/tests/hostile.py" --dir "$XG_TMP/cases" --ca "$XG_TMP/ca.pem" \
	--cert "$XG_TMP/cert.pem" --key "$XG_TMP/key.pem" \
	--helper "$XG_TMP/helper" --slow-helper "$XG_TMP/helper-slow" \
	--exec-prog "$XG_TMP/exec-prog" --jobs "${XG_HOSTILE_JOBS:-8}" \
	>"$XG_TMP/hostile.out" 2>&1
rc=$?
set -e
sed 's/^/    /' "$XG_TMP/hostile.out"

n=$(grep -c '^PASS ' "$XG_TMP/hostile.out" || :)
failed=$(sed -nE 's/^FAIL \[[^]]*\] ([^:]*):.*/\1/p' "$XG_TMP/hostile.out")
if [ -n "$failed" ]; then
	printf '%s\n' "$failed" | while read -r name; do
		printf '%s: FAIL %s: see its lines above\n' "$XG_TEST" "$name" >&2
	done
	fail "$(printf '%s\n' "$failed" | wc -l) case(s) failed"
fi
[ "$rc" -eq 0 ] || fail "hostile.py exited with $rc"
[ "$n" -gt 0 ] || fail "no case ran"
pass "$n cases as the contract says"

check "no xmppgate or helper left running"
assert_no_leftovers 5
pass "no leftovers"
