#!/bin/bash
# The integration tests that matter most for the pooled mode, run again
# against it (XG_LAUNCH=pool, tests/lib.sh: one xmppgate --listen behind
# systemd-socket-activate without --accept, a forked child per
# connection), so that the pool is tested as the per-connection mode is:
# the failures and their exit statuses, faults of the peers, exec mode,
# TLS, federation both ways, the PROXY protocol, privileges, the log
# lines and SASL2.
# Each is a sub-run of its own (its own temporary directory, ports and
# cleanup), one after the other: make check runs two tests at once
# already.  A sub-run that fails fails this test, with its log shown; one
# that skips (77) is said so.  Every sub-run is bounded in time.
# Under valgrind (XG_VALGRIND) this test is skipped: the pool's parent
# runs under valgrind, but the image it re-executes (/proc/self/exe,
# xmppgate itself) does not, nor do the children forked from it, so a
# sub-run would check less than it seems to; t-pool and t-storm still
# run under valgrind, where the parent and the children of its first
# image are checked.
#
# The sanitizers' options as the caller gave them, before tests/lib.sh
# points them at this test's directory: each sub-run's own lib.sh points
# them at its own, where its cleanup looks for reports.
xg_suite_unset=() xg_suite_set=()
for v in ASAN_OPTIONS UBSAN_OPTIONS; do
	if [ -n "${!v+x}" ]; then
		xg_suite_set+=("$v=${!v}")
	else
		xg_suite_unset+=(-u "$v")
	fi
done
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

SUITE="t-failures t-faults t-exec t-tls t-s2s t-s2s-out t-proxy t-privilege t-logging t-sasl2"
SUB_LIMIT=$((600 * XG_TIME_FACTOR))	# seconds, each sub-run

if [ -n "${XG_VALGRIND:-}" ]; then
	log "SKIP: under valgrind the pool's re-executed image and its children run outside valgrind (see the comment)"
	exit 77
fi
require_xmppgate

failed="" skipped=""
for t in $SUITE; do
	out=$XG_TMP/$t.log
	check "$t with XG_LAUNCH=pool"
	t0=$(date +%s)
	rc=0
	env "${xg_suite_unset[@]}" "${xg_suite_set[@]}" XG_LAUNCH=pool \
		top_srcdir="$top_srcdir" top_builddir="$top_builddir" \
		timeout --kill-after=10 "$SUB_LIMIT" \
		bash "$top_srcdir/tests/$t.sh" >"$out" 2>&1 </dev/null || rc=$?
	case $rc in
	0)
		pass "$t with XG_LAUNCH=pool ($(($(date +%s) - t0)) s)" ;;
	77)
		log "$t with XG_LAUNCH=pool: skipped: $(grep -m1 'SKIP' "$out" || :)"
		skipped="$skipped $t" ;;
	*)
		[ "$rc" -ne 124 ] ||
			echo "$t: killed after $SUB_LIMIT s" >>"$out"
		printf -- '--- %s with XG_LAUNCH=pool: exit status %s, its log:\n' "$t" "$rc" >&2
		sed 's/^/    /' "$out" >&2
		log "$t with XG_LAUNCH=pool: FAILED (exit status $rc)"
		failed="$failed $t" ;;
	esac
done
[ -z "$skipped" ] || log "skipped:$skipped"
[ -z "$failed" ] || fail "failed with XG_LAUNCH=pool:$failed (their logs above)"
pass "every test of the list passed against the pooled mode"
