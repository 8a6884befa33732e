#!/bin/bash
# bench/relay_uml.sh [--quick] [--log FILE]: rows 10 and 11 of
# bench/run.sh (xmppgate-relay, issue 22), measured inside user-mode Linux,
# whose kernel has TLS (tests/uml.sh boots it; the host's kernel may have
# none).  bench/README.md says what each row measures and how.
#
# Prints the two rows as markdown table lines on standard output, in
# bench/run.sh's table format; progress goes to standard error, and the
# guest's whole output to FILE with --log.  Where user-mode Linux is not
# installed or does not boot, the rows say "not measured: REASON" and the
# exit status is 0; when a measurement fails inside, they say so and the
# exit status is 1.  --quick: 100 sessions and 64 MiB each way (to try
# the script; its figures are not results); else 1,000 and 512 MiB.
#
# Needs root, a built tree (make -j2; it builds tests/uml_noxstate and
# tests/relay_client if missing), user-mode-linux and kmod, Prosody,
# stunnel4, systemd-socket-activate, certtool, cc and GnuTLS's development
# files.  Only loopback, inside the guest.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
quick=0
logf=
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=1 ;;
	--log) logf=$2; shift ;;
	*) echo "usage: bench/relay_uml.sh [--quick] [--log FILE]" >&2; exit 100 ;;
	esac
	shift
done
if [ "$quick" = 1 ]; then
	N=100 BYTES=$((64 << 20))
else
	N=${XG_BENCH_RELAY_N:-1000} BYTES=$((512 << 20))
fi

say() { printf '[%s] relay_uml: %s\n' "$(date +%T)" "$*" >&2; }
# rows REASON: both rows, not measured, with the reason.
rows() {
	echo "| 10 | memory per idle logged-in session after hand-off (xmppgate-relay), in user-mode Linux | not measured: $1 | – | ≤ 32 KiB after hand-off | not measured |"
	echo "| 11 | CPU per GiB moved, xmppgate-relay against the in-process kTLS relay, in user-mode Linux | not measured: $1 | – | none (reported) | not measured |"
}

[ "$(id -u)" = 0 ] || { rows "not run as root"; exit 0; }
for f in xmppgate xmppgate-relay; do
	[ -x "$top/$f" ] || { rows "$f not built (make -j2)"; exit 1; }
done
for p in prosody prosodyctl stunnel systemd-socket-activate certtool cc pkg-config; do
	command -v "$p" >/dev/null || { rows "$p not found"; exit 0; }
done
command -v linux.uml >/dev/null || { rows "user-mode Linux not installed (apt-get install user-mode-linux kmod)"; exit 0; }

tmp=$(mktemp -d /tmp/xg-bench-uml.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
say "building xgload, tests/uml_noxstate and tests/relay_client"
# shellcheck disable=SC2046
cc -O2 -Wall -o "$tmp/xgload" "$top/bench/xgload.c" $(pkg-config --cflags --libs gnutls) -lpthread
make -s -C "$top" tests/uml_noxstate tests/relay_client >&2
(
	fail() { echo "relay_uml: $*" >&2; exit 1; }
	. "$top/tests/certs.sh"
	make_certs "$tmp" bench.test
) >/dev/null 2>&1 || { rows "making the test certificates failed"; exit 1; }
chmod 644 "$tmp"/*.pem

say "$N idle sessions three ways, then $((BYTES >> 20)) MiB each way twice, inside user-mode Linux"
t0=$(date +%s)
set +e
top_srcdir=$top top_builddir=$top \
XG_BENCH_N=$N XG_BENCH_BYTES=$BYTES XG_BENCH_DIR=$tmp \
UML_PASS_ENV="XG_BENCH_N XG_BENCH_BYTES XG_BENCH_DIR" \
	bash "$top/tests/uml.sh" --timeout $((900 + 3 * N)) --mem 3072M \
	"$top/bench/relay_uml_inner.sh" >"$tmp/uml.out" 2>&1
rc=$?
set -e
[ -z "$logf" ] || cp "$tmp/uml.out" "$logf"
grep -v '^| ' "$tmp/uml.out" | sed 's/^/  | /' >&2
say "user-mode Linux: exit $rc after $(($(date +%s) - t0)) s"
case $rc in
0)
	grep '^| 1[01] |' "$tmp/uml.out"
	[ "$(grep -c '^| 1[01] |' "$tmp/uml.out")" -eq 2 ] ||
		{ rows "the guest printed no rows"; exit 1; } ;;
77)
	rows "$(grep -m1 'uml.sh: SKIP' "$tmp/uml.out" | sed 's/^uml.sh: SKIP: //')"
	exit 0 ;;
*)
	rows "failed inside user-mode Linux (exit $rc): $(grep -E 'FAIL|fatal|uml.sh:' "$tmp/uml.out" | head -n 1 | tr '|' '/')"
	exit 1 ;;
esac
