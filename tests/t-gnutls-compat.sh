#!/bin/bash
# The sources build with the GnuTLS headers of an older Debian 12 point
# release.  GNUTLS_SAN_OTHERNAME_SRV (an SRVName that GnuTLS decodes
# itself) is only in libgnutls28-dev 3.7.9-2+deb12u7 and later; a Debian
# 12 image can ship deb12u6, whose library returns an SRVName as raw DER
# (src/tls.c decodes it, src/s2sid.c s2s_srvname_der()).  This test copies
# the installed headers, deletes that enumerator as deb12u6 lacks it, and
# compiles every C file of src/ and contrib/ against the copy with the
# build's compiler and flags (syntax only: nothing is linked or run).
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

mkvar() { sed -n "s/^$1 = //p" "$top_builddir/Makefile" | head -n 1; }
CC_=$(mkvar CC)
FLAGS="$(mkvar XG_CFLAGS) $(mkvar GNUTLS_CFLAGS) $(mkvar SYSTEMD_CFLAGS)"
[ -n "$CC_" ] || fail "no CC in $top_builddir/Makefile (run configure first)"
inc=$(pkg-config --variable=includedir gnutls) || fail "pkg-config gnutls failed"
[ -f "$inc/gnutls/gnutls.h" ] || fail "no $inc/gnutls/gnutls.h"

check "every C file of src/ and contrib/ compiles without GNUTLS_SAN_OTHERNAME_SRV in <gnutls/gnutls.h>"
mkdir -p "$XG_TMP/include"
cp -R "$inc/gnutls" "$XG_TMP/include/"
# The enumerator's own line, as it stands (with or without a comma); the
# enum keeps a trailing comma after the one before it, which C99 allows.
sed -i '/^[[:space:]]*GNUTLS_SAN_OTHERNAME_SRV[[:space:]]*,\{0,1\}[[:space:]]*$/d' \
	"$XG_TMP/include/gnutls/gnutls.h"
if grep -q 'GNUTLS_SAN_OTHERNAME_SRV' "$inc/gnutls/gnutls.h"; then
	! grep -qw 'GNUTLS_SAN_OTHERNAME_SRV[[:space:]]*,\{0,1\}$' "$XG_TMP/include/gnutls/gnutls.h" ||
		fail "the copy still declares GNUTLS_SAN_OTHERNAME_SRV"
	echo "    removed GNUTLS_SAN_OTHERNAME_SRV from a copy of $inc/gnutls/gnutls.h"
else
	echo "    $inc/gnutls/gnutls.h has no GNUTLS_SAN_OTHERNAME_SRV: compiling against it as it is"
fi
n=0
for f in "$top_srcdir"/src/*.c "$top_srcdir"/contrib/*.c; do
	# shellcheck disable=SC2086
	"$CC_" -fsyntax-only -I"$XG_TMP/include" -I"$top_builddir" -I"$top_srcdir/src" \
		-DSYSCONFDIR='"/etc"' $FLAGS "$f" >"$XG_TMP/cc.log" 2>&1 ||
		{ show_log "$XG_TMP/cc.log"; fail "$f does not compile without GNUTLS_SAN_OTHERNAME_SRV"; }
	n=$((n + 1))
done
pass "$n files compile"
