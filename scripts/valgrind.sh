#!/bin/bash
# Run the test suite with every xmppgate process under valgrind's memcheck
# (XG_VALGRIND=1, see tests/lib.sh): a test fails when valgrind reports an
# error or a definite leak in any xmppgate it started.  Uses the build in
# the source tree (configured and built first if needed).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh

command -v valgrind >/dev/null ||
	{ echo "valgrind.sh: valgrind is not installed (scripts/deps.sh)" >&2; exit 1; }
ensure_configured
make -j2 >/dev/null
echo "valgrind.sh: $(valgrind --version), every xmppgate under memcheck"
export XG_VALGRIND=1
# Two tests at once, whatever XG_CHECK_JOBS says: every xmppgate under
# memcheck is CPU-bound, and with three, t-storm's twelve at once took
# 27 s to greet and one connection broke.
XG_CHECK_JOBS=2 run_check valgrind.sh
echo "valgrind.sh: the whole suite passed with no valgrind error or definite leak"
