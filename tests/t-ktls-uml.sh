#!/bin/bash
# Kernel TLS where the host kernel may have none: tests/ktls_uml_inner.sh
# inside user-mode Linux (Debian's user-mode-linux, whose 6.1 kernel has
# tls.ko), booted by tests/uml.sh with the host's / as its root.  There,
# after the login, xmppgate moves the client's TLS into the kernel for
# TLS 1.3 and 1.2 with AES-128-GCM, AES-256-GCM and ChaCha20-Poly1305,
# the relay splices, and every byte arrives; without tls.ko, and for a
# cipher whose module is not loaded, it falls back with one line; the
# client's empty records are skipped, its close_notify ends a session cleanly, a fatal alert and a TLS
# 1.3 KeyUpdate end it with their reasons, --no-splice copies through
# kernel TLS, a TLS_TX refused after TLS_RX ends the session with exit
# 111, and connect mode works with a real Prosody and slixmpp.
#
# SKIP (exit 77, with the reason) where user-mode Linux is not installed
# or does not boot here; never a silent pass.  XG_KTLS_UML_BYTES sets the
# bytes each way per session (default 32 MiB).
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

require_xmppgate
if grep -q '^#define XG_SANITIZERS 1' "$top_builddir/config.h" 2>/dev/null; then
	# Measured: ASan aborts at start in the user-mode kernel ("Shadow
	# memory range interleaves with an existing memory mapping").
	echo "t-ktls-uml: SKIP: not with the ASan+UBSan build (ASan cannot map its shadow memory in user-mode Linux); the plain run covers it"
	exit 77
fi
if [ -n "${XG_VALGRIND:-}" ]; then
	# Valgrind inside a user-mode kernel that runs without AVX state
	# (tests/uml.sh) is not a configuration that tells us more than the
	# plain and ASan runs of this test; and it would take many minutes.
	echo "t-ktls-uml: SKIP: not under valgrind (the plain and ASan+UBSan runs cover it)"
	exit 77
fi
[ -x "$top_builddir/tests/relay_client" ] ||
	fail "test client not built: tests/relay_client (make check builds it)"

# Made here: key generation is slow inside user-mode Linux.
make_certs "$XG_TMP" example.test

check "the kTLS sessions inside user-mode Linux"
XG_KTLS_UML_BYTES=${XG_KTLS_UML_BYTES:-$((32 * 1024 * 1024))} \
XG_KTLS_UML_CERTS=$XG_TMP \
UML_PASS_ENV="XG_KTLS_UML_BYTES XG_KTLS_UML_CERTS" \
	uml_run ktls_uml_inner 16 --timeout 300
