#!/bin/bash
# Build xmppgate and run every test: dependencies, autoreconf, configure,
# make, make check (the logs of failed tests are printed), make distcheck.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh
autoreconf -fi
./configure
make -j2

show_failed() {
	local trs log
	for trs in $(find . -name '*.trs' | sort); do
		if grep -q '^:test-result: \(FAIL\|ERROR\|XPASS\)' "$trs"; then
			log=${trs%.trs}.log
			echo "======== $log"
			cat "$log"
		fi
	done
	[ -f test-suite.log ] && tail -n 30 test-suite.log
}

if ! make -j2 check; then
	show_failed
	echo "test.sh: make check failed" >&2
	exit 1
fi
if ! make -j2 distcheck; then
	echo "test.sh: make distcheck failed" >&2
	for f in $(find . -path './xmppgate-*/_build/*' -name '*.log' 2>/dev/null); do
		echo "======== $f"
		cat "$f"
	done
	exit 1
fi
echo "test.sh: all tests passed"
