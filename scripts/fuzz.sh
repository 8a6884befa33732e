#!/bin/bash
# Build the libFuzzer targets in fuzz/ with ASan+UBSan and run each for
# SECONDS (default 60) from a scratch copy of its seed corpus.
#
#   bash scripts/fuzz.sh [--coverage] [-j JOBS] [SECONDS]
#
# Exits 1 if any target crashes, leaks, times out or fails a check (any
# non-zero libFuzzer exit), after printing the reproducer's path, its hex
# dump and the end of the target's log.  One summary line per target:
# executions, exec/s, edges (cov), features (ft), corpus size.
#
# --coverage  then build the targets again with -fprofile-instr-generate
#             -fcoverage-mapping, replay each final corpus and print
#             llvm-cov's report for xml.c, preauth.c, sasl_plain.c,
#             sasl_scram.c, localpart.c, authhelper.c, proxyproto.c, routemap.c, s2sid.c, relaymsg.c and srv.c (needs
#             llvm-14: apt-get install llvm-14).
# -j JOBS     run up to JOBS targets at once (default 1; the machine has
#             2 cores, so -j 2 halves the wall time).
#
# Everything is built and written in a scratch directory under
# ${TMPDIR:-/tmp}, never in the source tree: the checked-in corpus in
# fuzz/corpus/ is only read.  The directory is removed at the end unless a
# target failed (its reproducers and binaries stay there) or XG_KEEP=1.
#
# Environment: XG_FUZZ_TARGETS="fuzz_xml fuzz_plain" runs a subset;
# XG_FUZZ_SRC=DIR compiles DIR/*.c instead of src/ (a patched copy, to
# check that a target catches a planted bug); CC (default clang).
# No configure run is needed: the fuzzed files do not include config.h.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

usage() {
	echo "usage: bash scripts/fuzz.sh [--coverage] [-j JOBS] [SECONDS]" >&2
	exit 2
}

seconds=60
coverage=no
jobs=1
while [ $# -gt 0 ]; do
	case $1 in
	--coverage) coverage=yes ;;
	-j) [ $# -ge 2 ] || usage; jobs=$2; shift ;;
	-j*) jobs=${1#-j} ;;
	-h|--help) usage ;;
	*) seconds=$1 ;;
	esac
	shift
done
case $seconds in ''|*[!0-9]*) usage ;; esac
case $jobs in ''|*[!0-9]*) usage ;; esac
if [ "$seconds" -lt 1 ] || [ "$jobs" -lt 1 ]; then
	usage
fi

CC=${CC:-clang}
src=${XG_FUZZ_SRC:-$root/src}
src=$(cd "$src" && pwd)
targets=${XG_FUZZ_TARGETS:-fuzz_xml fuzz_preauth fuzz_session fuzz_plain fuzz_helper_reply fuzz_authsock fuzz_proxy fuzz_scram fuzz_route fuzz_s2sid fuzz_relaymsg fuzz_srv fuzz_s2sremote fuzz_sasl2wire}

# Per target: the source files besides the harness, libraries, the
# largest input (above the limits it must refuse), and its corpus folder.
sources() {
	case $1 in
	fuzz_xml) echo "$src/xml.c" ;;
	fuzz_preauth) echo "$src/xml.c $src/preauth.c $src/names.c" ;;
	fuzz_session) echo "$src/xml.c $src/preauth.c $src/names.c $src/sasl_plain.c $src/localpart.c" ;;
	fuzz_plain) echo "$src/sasl_plain.c $src/localpart.c" ;;
	fuzz_helper_reply) echo "$src/authhelper.c $src/netaddr.c $src/names.c $src/sasl_scram.c $src/sasl_plain.c $src/localpart.c $src/s2sid.c $root/fuzz/stubs.c" ;;
	fuzz_authsock) echo "$src/authreq.c $src/authhelper.c $src/netaddr.c $src/names.c $src/sasl_scram.c $src/sasl_plain.c $src/localpart.c $src/s2sid.c $root/fuzz/stubs.c" ;;
	fuzz_scram) echo "$src/sasl_scram.c $src/sasl_plain.c $src/localpart.c $src/names.c" ;;
	fuzz_proxy) echo "$src/proxyproto.c $src/names.c" ;;
	fuzz_route) echo "$src/routemap.c $src/netaddr.c $src/names.c $root/fuzz/stubs.c" ;;
	fuzz_s2sid) echo "$src/s2sid.c" ;;
	fuzz_relaymsg) echo "$src/relaymsg.c" ;;
	fuzz_srv) echo "$src/srv.c" ;;
	fuzz_s2sremote) echo "$src/s2sremote.c $src/xml.c" ;;
	fuzz_sasl2wire) echo "$src/sasl2wire.c $src/xml.c $src/sasl_plain.c $src/localpart.c" ;;
	*) echo "fuzz.sh: unknown target $1" >&2; exit 2 ;;
	esac
}
libs() {
	case $1 in
	fuzz_session|fuzz_plain|fuzz_helper_reply|fuzz_authsock|fuzz_scram|fuzz_sasl2wire) pkg-config --libs gnutls libidn ;;
	esac
}
max_len() {
	case $1 in
	fuzz_xml|fuzz_preauth) echo 9000 ;;	# > XG_TAG_MAX, > XG_READ_BUF
	fuzz_session|fuzz_plain) echo 12000 ;;	# > XG_SASL_B64_MAX + stream
	fuzz_helper_reply) echo 4200 ;;		# > XG_HELPER_REPLY_MAX
	fuzz_authsock) echo 17500 ;;		# > 1 + XG_AUTHREQ_MAX
	fuzz_proxy) echo 4200 ;;		# > XG_PROXY_HDR_MAX
	fuzz_scram) echo 4200 ;;		# > 2 * XG_SCRAM_MSG_MAX
	fuzz_route) echo 70000 ;;		# > XG_ROUTE_MAP_MAX
	fuzz_s2sid) echo 4200 ;;		# > 4 * (XG_DOMAIN_MAX + 1)
	fuzz_relaymsg) echo 1100 ;;		# > XG_RELAYMSG_MAX
	fuzz_s2sremote) echo 9000 ;;		# > XG_READ_BUF
	fuzz_srv) echo 300 ;;			# > 1 + XG_SRV_RDATA_MAX
	fuzz_sasl2wire) echo 8300 ;;		# > 1 + XG_FEATURES_MAX
	esac
}
corpus_of() {
	echo "$root/fuzz/corpus/${1#fuzz_}"
}

command -v "$CC" >/dev/null ||
	{ echo "fuzz.sh: $CC not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
gnutls_cflags=$(pkg-config --cflags gnutls libidn) ||
	{ echo "fuzz.sh: GnuTLS or libidn development files not found" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/xg-fuzz.XXXXXX")
keep=${XG_KEEP:-}
pids=()
cleanup() {
	local p
	# The fuzzers still running (interrupted): each run's own child.
	for p in "${pids[@]}"; do
		pkill -P "$p" 2>/dev/null || :
		kill "$p" 2>/dev/null || :
	done
	if [ -z "$keep" ]; then
		rm -rf "$work"
	else
		echo "fuzz.sh: kept $work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "fuzz.sh: $($CC --version | sed -n 1p); $seconds s per target;" \
	"work dir $work"

SAN_FLAGS="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
WARN_FLAGS="-Wall -Wextra -Wno-unused-parameter"

# build KIND TARGET: KIND is fuzz or cov; the binary is $work/KIND/TARGET.
build() {
	local kind=$1 t=$2 flags
	mkdir -p "$work/$kind"
	if [ "$kind" = fuzz ]; then
		flags=$SAN_FLAGS
	else
		flags="-g -O0 -fsanitize=fuzzer -fprofile-instr-generate -fcoverage-mapping"
	fi
	# shellcheck disable=SC2046,SC2086
	if ! $CC $flags $WARN_FLAGS -I "$src" $gnutls_cflags \
	    "$root/fuzz/$t.c" $(sources "$t") $(libs "$t") \
	    -o "$work/$kind/$t" 2>"$work/$kind/$t.build.log"; then
		cat "$work/$kind/$t.build.log" >&2
		echo "fuzz.sh: building $t failed" >&2
		exit 1
	fi
	if [ -s "$work/$kind/$t.build.log" ]; then
		cat "$work/$kind/$t.build.log" >&2
	fi
}

for t in $targets; do
	build fuzz "$t"
	[ -d "$(corpus_of "$t")" ] ||
		{ echo "fuzz.sh: no corpus $(corpus_of "$t")" >&2; exit 1; }
	mkdir -p "$work/corpus/$t" "$work/artifacts/$t"
	cp "$(corpus_of "$t")"/* "$work/corpus/$t/"
done
echo "fuzz.sh: built $(wc -w <<<"$targets") targets with $SAN_FLAGS"

# run TARGET: fuzz it; libFuzzer's exit status lands in $work/TARGET.rc.
run() {
	local t=$1 rc=0
	"$work/fuzz/$t" "$work/corpus/$t" \
	    -max_total_time="$seconds" -dict="$root/fuzz/xmpp.dict" \
	    -max_len="$(max_len "$t")" -timeout=25 -print_final_stats=1 \
	    -artifact_prefix="$work/artifacts/$t/" \
	    >"$work/$t.log" 2>&1 || rc=$?
	echo "$rc" >"$work/$t.rc"
}

# summary TARGET: one line from the log's final stats.
summary() {
	local t=$1 log=$work/$1.log execs eps last cov ft corp seed
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	seed=$(sed -n 's/^INFO: Seed: *//p' "$log" | sed -n 1p)
	last=$(grep -E '^#[0-9]+.* cov: ' "$log" | tail -n 1 || :)
	cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	corp=$(echo "$last" | sed -n 's/.* corp: \([^ ]*\).*/\1/p')
	printf '%-18s executions %-9s exec/s %-6s cov %-5s ft %-6s corpus %s inputs (%s), seed %s\n' \
	    "$t" "${execs:-?}" "${eps:-?}" "${cov:-?}" "${ft:-?}" \
	    "${corp%%/*}" "${corp#*/}" "${seed:-?}"
}

# report_failure TARGET: what broke, the reproducer and its bytes.
report_failure() {
	local t=$1 log=$work/$1.log f
	echo "======== $t failed (libFuzzer exit $(cat "$work/$t.rc")); end of $log:"
	tail -n 40 "$log"
	for f in $(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log") \
	    $(find "$work/artifacts/$t" -type f ! -name 'slow-unit-*'); do
		[ -f "$f" ] || continue
		echo "-------- reproducer $f ($(wc -c <"$f") bytes; the first 1024 in hex):"
		head -c 1024 "$f" | od -A d -t x1z -v
		echo "-------- replay: $work/fuzz/$t $f"
	done | awk '!seen[$0]++'
}

# running: how many runs have not finished.  Polled, not "wait -n":
# bash 5.2 did not run the INT/TERM trap while in "wait -n", so an
# interrupted run left its fuzzers behind.
running() {
	local p n=0
	for p in "${pids[@]}"; do
		if kill -0 "$p" 2>/dev/null; then
			n=$((n + 1))
		fi
	done
	echo "$n"
}

start=$(date +%s)
for t in $targets; do
	while [ "$(running)" -ge "$jobs" ]; do
		sleep 1
	done
	echo "fuzz.sh: running $t for $seconds s"
	run "$t" &
	pids+=($!)
done
while [ "$(running)" -gt 0 ]; do
	sleep 1
done
wait || :
pids=()
echo "fuzz.sh: fuzzing took $(( $(date +%s) - start )) s"

failed=()
for t in $targets; do
	summary "$t"
	[ "$(cat "$work/$t.rc")" = 0 ] || failed+=("$t")
done
if [ "${#failed[@]}" -gt 0 ]; then
	keep=1
	for t in "${failed[@]}"; do
		report_failure "$t"
	done
	echo "fuzz.sh: FAILED: ${failed[*]} (reproducers and binaries kept in $work)" >&2
	exit 1
fi
echo "fuzz.sh: all targets ran $seconds s without a failure"

[ "$coverage" = yes ] || exit 0

profdata=$(command -v llvm-profdata-14 || command -v llvm-profdata || :)
llvmcov=$(command -v llvm-cov-14 || command -v llvm-cov || :)
if [ -z "$profdata" ] || [ -z "$llvmcov" ]; then
	echo "fuzz.sh: --coverage needs llvm-profdata and llvm-cov (apt-get install llvm-14)" >&2
	exit 1
fi
objects=()
for t in $targets; do
	build cov "$t"
	LLVM_PROFILE_FILE="$work/cov/$t.profraw" "$work/cov/$t" -runs=0 \
	    -max_len="$(max_len "$t")" "$work/corpus/$t" \
	    >"$work/cov/$t.replay.log" 2>&1 ||
		{ tail -n 20 "$work/cov/$t.replay.log"; echo "fuzz.sh: replaying $t failed" >&2; exit 1; }
	objects+=(-object "$work/cov/$t")
done
"$profdata" merge -sparse "$work"/cov/*.profraw -o "$work/cov/all.profdata"
# The files of interest that the chosen targets compiled in.
files=()
for f in xml.c preauth.c sasl_plain.c sasl_scram.c localpart.c authhelper.c proxyproto.c routemap.c s2sid.c srv.c s2sremote.c; do
	for t in $targets; do
		case " $(sources "$t") " in
		*" $src/$f "*) files+=("$src/$f"); break ;;
		esac
	done
done
echo "fuzz.sh: coverage of the final corpora (llvm-cov report; Lines/Cover is line coverage)"
"$llvmcov" report -instr-profile="$work/cov/all.profdata" "${objects[@]:1}" \
    "${files[@]}" | sed "s|$src/||"
case " ${files[*]} " in
*" $src/authhelper.c "*)
	# authhelper.c also runs the helper (fork, exec, pipes), which no
	# target reaches: the parser's own figures are the ones that matter.
	echo "fuzz.sh: authhelper.c, its pure functions:"
	"$llvmcov" report -instr-profile="$work/cov/all.profdata" \
	    "${objects[@]:1}" -show-functions "$src/authhelper.c" |
	    grep -E '^(Name|authhelper_parse_reply|authhelper_env|auth_reply_wipe) ' || :
	;;
esac
