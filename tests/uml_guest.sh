# tests/uml_guest.sh -- sourced, after tests/lib.sh, by the scripts that run
# inside user-mode Linux (tests/uml.sh): tests/ktls_uml_inner.sh,
# tests/relay_uml_inner.sh and bench/relay_uml_inner.sh.
#
# uml_load MODULE...: insmod each kernel module (a path under the guest's
# module tree, e.g. crypto/gcm) or fail.  UML_TLS_GCM: those that kernel
# TLS with AES-GCM needs.
#
# Under tests/uml_noxstate no program may use AVX (tests/uml.sh says why),
# and the variables that say so must reach programs that clear their
# environment: NOAVX holds them as NAME=VALUE words (for env(1)),
# SSA_ENV as systemd-socket-activate's -E options, and XG_GATE_ENV (for
# start_gate) is set to NOAVX.
#
# check is lib.sh's with the seconds since the start: a slow step in the
# guest shows.

UML_MODS=/usr/lib/uml/modules/$(uname -r)/kernel
UML_TLS_GCM="crypto/gf128mul crypto/ghash-generic crypto/gcm crypto/ctr net/tls/tls"

uml_load() {
	local m
	[ -d "$UML_MODS" ] || fail "no modules for this kernel in $UML_MODS"
	for m in "$@"; do
		insmod "$UML_MODS/$m.ko" || fail "insmod $m"
	done
}

NOAVX=
SSA_ENV=
for v in GLIBC_TUNABLES GNUTLS_CPUID_OVERRIDE OPENSSL_ia32cap; do
	[ -z "${!v:-}" ] || NOAVX="$NOAVX $v=${!v}" SSA_ENV="$SSA_ENV -E $v=${!v}"
done
XG_GATE_ENV=$NOAVX

check() { printf '%s: CHECK [%s s] %s\n' "$XG_TEST" "$(($(date +%s) - XG_T0))" "$*"; }
