# scripts/common.sh -- sourced by the scripts that run the test suite.

# show_failed: print the logs of the tests that failed in the build
# directory we are in, and the end of test-suite.log.
show_failed() {
	local trs log
	for trs in $(find . -name '*.trs' | sort); do
		if grep -q '^:test-result: \(FAIL\|ERROR\|XPASS\)' "$trs"; then
			log=${trs%.trs}.log
			echo "======== $log"
			cat "$log"
		fi
	done
	if [ -f test-suite.log ]; then
		tail -n 30 test-suite.log
	fi
}

# run_check WHAT [MAKE ARGS...]: make check; on failure print the logs
# and exit 1 with WHAT named.  XG_CHECK_JOBS tests at once (default 2,
# the cores here; scripts/sanitize.sh asks for 3).
run_check() {
	local what=$1
	shift
	if ! make -j"${XG_CHECK_JOBS:-2}" check "$@"; then
		show_failed
		echo "$what: make check failed" >&2
		exit 1
	fi
}

# configured: the source tree is configured (autoreconf and configure ran).
ensure_configured() {
	if [ ! -f Makefile ]; then
		autoreconf -fi
		./configure
	fi
}
