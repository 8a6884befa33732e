#!/bin/bash
# tests/uml.sh -- run a script inside user-mode Linux (Debian's
# user-mode-linux package), for tests that need a kernel feature the host
# may lack (kernel TLS: tests/t-ktls-uml.sh).
#
#   tests/uml.sh [--timeout SECONDS] [--mem SIZE] SCRIPT [ARGS...]
#
# The guest's root is the host's own / (hostfs), so SCRIPT, the build
# tree and every program are where they are on the host; the guest is
# root, with /proc, /sys and a loopback interface, one CPU and no network.
# SCRIPT runs with the caller's working directory, top_srcdir,
# top_builddir, TMPDIR, XG_KEEP and the variables UML_PASS_ENV names (values
# without a single quote); its output and its
# exit status come back through files in a directory on the host, and
# tests/uml.sh prints the output and exits with that status.  linux.uml
# is killed after SECONDS (default 120).  Kernel modules are the script's
# to load: /usr/lib/uml/modules/$(uname -r) inside.
#
# Exit 77 with a reason on stderr when user-mode Linux is not here or
# does not boot; 111 when the guest did not report a status (timeout, a
# crash: the console's tail follows); otherwise SCRIPT's status.
#
# Hosts whose XSAVE area is larger than UML 6.1 expects (AMX) make it
# panic at its first process ("ptrace set fp regs failed"); then it runs
# under tests/uml_noxstate, which keeps UML to the FXSAVE area, and the
# guest's libraries are told not to use AVX (whose state is not kept
# then): GLIBC_TUNABLES, GNUTLS_CPUID_OVERRIDE and OPENSSL_ia32cap are set
# for SCRIPT, which must pass them on to programs that clear their
# environment (systemd-socket-activate, xmppgate's helpers and PROG).
set -u

timeout_s=120
mem=512M
while [ $# -gt 0 ]; do
	case $1 in
	--timeout) timeout_s=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--) shift; break ;;
	-*) echo "usage: uml.sh [--timeout SECONDS] [--mem SIZE] SCRIPT [ARGS...]" >&2
		exit 100 ;;
	*) break ;;
	esac
done
[ $# -ge 1 ] || { echo "usage: uml.sh [--timeout SECONDS] [--mem SIZE] SCRIPT [ARGS...]" >&2; exit 100; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
builddir=${top_builddir:-$here/..}
noxstate=$(cd "$builddir" 2>/dev/null && pwd)/tests/uml_noxstate
# UML_KERNEL: another kernel binary (or a missing one, to see the SKIP).
uml=$(command -v "${UML_KERNEL:-linux.uml}") || { echo "uml.sh: SKIP: ${UML_KERNEL:-linux.uml} not installed (apt-get install user-mode-linux; scripts/deps.sh)" >&2; exit 77; }
command -v insmod >/dev/null || { echo "uml.sh: SKIP: insmod not installed (kmod)" >&2; exit 77; }
ls -d /usr/lib/uml/modules/*/kernel >/dev/null 2>&1 ||
	{ echo "uml.sh: SKIP: no modules in /usr/lib/uml/modules" >&2; exit 77; }

script=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
shift
[ -x "$script" ] || { echo "uml.sh: $script is not executable" >&2; exit 100; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/xg-uml.XXXXXX") || exit 111
trap 'rm -rf "$dir"' EXIT
chmod 755 "$dir"

# The guest's environment: what matters to the tests, written out in the
# init script (the kernel command line is too short and too plain for it).
{
	echo '#!/bin/sh'
	echo 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH'
	for v in top_srcdir top_builddir XG_KEEP TMPDIR ${UML_PASS_ENV:-}; do
		[ -n "${!v:-}" ] && printf "%s='%s'; export %s\n" "$v" "${!v}" "$v"
	done
	printf 'cd %q || exit 1\n' "$PWD"
	echo 'if [ -n "${UML_NO_AVX:-}" ]; then'
	# glibc's string functions, GnuTLS's AES-NI without AVX (0x2 AES-NI,
	# 0x4 SSSE3, 0x8 PCLMUL, 0x20 SHA-NI), OpenSSL (hashlib) without
	# AVX, AVX2 and AVX-512.
	echo '	GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX,-AVX2,-AVX512F,-AVX512VL,-AVX512BW,-AVX512DQ,-AVX512CD,-AVX_Fast_Unaligned_Load,-FMA,-BMI2,-ERMS'
	echo '	GNUTLS_CPUID_OVERRIDE=0x2e'
	echo '	OPENSSL_ia32cap=~0x1000000000000000:~0xc0230020'
	echo '	export GLIBC_TUNABLES GNUTLS_CPUID_OVERRIDE OPENSSL_ia32cap'
	echo 'fi'
	printf 'exec %q' "$script"
	for a in "$@"; do printf ' %q' "$a"; done
	echo
} >"$dir/run"
chmod 755 "$dir/run"
cat >"$dir/init" <<EOF
#!/bin/sh
PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs -o mode=1777 tmpfs /dev/shm 2>/dev/null
ip link set lo up
UML_NO_AVX=\$(cat /proc/cmdline | tr ' ' '\n' | sed -n 's/^xg_noavx=//p')
export UML_NO_AVX
$dir/run >$dir/out 2>&1 </dev/null
echo \$? >$dir/rc.tmp && mv $dir/rc.tmp $dir/rc
sync
poweroff -f
EOF
chmod 755 "$dir/init"

# boot [WRAPPER]: one run of the guest; the console goes to $dir/console.
# (In a subshell: a UML that panics dies by SIGABRT, which bash would
# report on our stderr.)
boot() {
	(timeout -k 5 "$timeout_s" "$@" "$uml" mem="$mem" root=/dev/root \
		rootfstype=hostfs rootflags=/ rw init="$dir/init" \
		xg_noavx="$noavx" con0=null,fd:1 con=null \
		</dev/null >"$dir/console" 2>&1; :) 2>/dev/null
}

noavx=
boot
if [ ! -e "$dir/rc" ] && grep -q 'ptrace set fp regs failed' "$dir/console"; then
	if [ ! -x "$noxstate" ]; then
		echo "uml.sh: SKIP: UML cannot save this host's FPU state, and $noxstate is not built (make check builds it)" >&2
		exit 77
	fi
	noavx=1
	boot "$noxstate"
fi
[ -e "$dir/out" ] && cat "$dir/out"
if [ ! -e "$dir/rc" ]; then
	if ! grep -q "Run $dir/init as init process" "$dir/console"; then
		echo "uml.sh: SKIP: user-mode Linux did not boot; its console:" >&2
		tail -n 15 "$dir/console" >&2
		exit 77
	fi
	echo "uml.sh: the guest reported no status (timeout ${timeout_s} s or a crash); its console:" >&2
	grep -v '^ \[<' "$dir/console" | tail -n 25 >&2
	exit 111
fi
exit "$(cat "$dir/rc")"
