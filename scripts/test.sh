#!/bin/bash
# Build xmppgate and run every test: dependencies, autoreconf, configure,
# make, make check (the logs of failed tests are printed), make distcheck
# (unit tests and a few integration tests from the tarball),
# the interop matrix (make interop: real clients x Prosody and ejabberd),
# then the checked runs: the fuzzers (scripts/fuzz.sh), the whole suite
# under ASan+UBSan (scripts/sanitize.sh) and under valgrind
# (scripts/valgrind.sh).  XG_FUZZ_SECONDS sets each fuzzer's time (20:
# fourteen targets, two at a time, are under 3 of CI's 30 minutes; their
# corpora run whole each time, and longer runs are scripts/fuzz.sh's).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh

step() { printf '\n==== test.sh: %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }

step "dependencies"
bash scripts/deps.sh
step "build"
autoreconf -fi
./configure
make -j2
step "make check"
run_check test.sh
step "make distcheck (the tarball: a VPATH build, the unit tests and three integration tests)"
# The whole suite has run above, and runs twice more below (ASan from the
# tarball, valgrind); distcheck proves the tarball builds and runs from a
# read-only source tree, which these show as well as the rest would.
if ! make -j2 distcheck TESTS='$(UNIT_TESTS) tests/t-transcript.sh tests/t-prosody-connect.sh tests/t-install.sh'; then
	echo "test.sh: make distcheck failed" >&2
	for f in $(find . -path './xmppgate-*/_build/*' -name '*.log' 2>/dev/null); do
		echo "======== $f"
		cat "$f"
	done
	exit 1
fi
step "interop matrix (make interop)"
make interop
step "fuzzers, ${XG_FUZZ_SECONDS:-20} s each, two at a time, ASan+UBSan"
bash scripts/fuzz.sh -j 2 "${XG_FUZZ_SECONDS:-20}"
step "the whole suite under ASan+UBSan"
bash scripts/sanitize.sh
step "the whole suite under valgrind"
bash scripts/valgrind.sh
step "done"
echo "test.sh: all tests passed"
