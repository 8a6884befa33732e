#!/bin/bash
# Install the packages needed to build and test xmppgate (Debian 12).
#
# Installing prosody, ejabberd, haproxy, nsd and openbsd-inetd as packages
# starts them as system services (prosody and ejabberd on 5222/5269; inetd
# with the stock /etc/inetd.conf; haproxy with an empty configuration; nsd,
# the authoritative DNS server of tests/t-dns.sh, on port 53).
# The tests use private loopback ports and configs, so those would not break
# them, but a stray system XMPP server is unwelcome on a build machine:
# services that this script newly installed are stopped and disabled again.
set -euo pipefail

PKGS=(
	build-essential autoconf automake libtool pkg-config
	libgnutls28-dev libsystemd-dev check libcrypt-dev libidn-dev
	gnutls-bin prosody python3 python3-slixmpp openbsd-inetd mandoc
	systemd lua-unbound procps
	clang libclang-rt-14-dev valgrind testssl.sh
	openssl python3-cryptography strace util-linux
	ejabberd haproxy
	sendxmpp go-sendxmpp mcabber tmux curl sslscan
	systemd-container debootstrap
	libgsasl-dev lua5.4
	user-mode-linux kmod
	libunbound-dev nsd tcpdump iproute2
)
# xmpp.js for the interop matrix runs on the machine's Node.js: Debian's
# nodejs and npm unless a node is installed already.  @xmpp/client 0.14
# needs Node.js 20.10 or newer (its "engines"; it uses the global Web
# Crypto API); Debian 12's nodejs is 18, so a machine without a newer
# node fails in npm_modules below, with the reason.
command -v node >/dev/null 2>&1 || PKGS+=(nodejs)
command -v npm >/dev/null 2>&1 || PKGS+=(npm)

SUDO=
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
fi

installed() {
	dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null | grep -qx installed
}

missing=()
for p in "${PKGS[@]}"; do
	installed "$p" || missing+=("$p")
done
# npm_modules: the interop matrix's npm clients, exactly as locked in
# tests/interop/package-lock.json.
npm_modules() {
	local dir
	dir=$(cd "$(dirname "$0")/../tests/interop" && pwd)
	node -e 'const [a, b] = process.versions.node.split(".").map(Number);
process.exit(a > 20 || (a === 20 && b >= 10) ? 0 : 1)' || {
		echo "deps.sh: node $(node --version) is too old for @xmpp/client 0.14 (needs >= 20.10): install a newer Node.js" >&2
		exit 1
	}
	echo "deps.sh: npm ci in $dir"
	(cd "$dir" && npm ci --no-audit --no-fund)
}

# gnutls_current: libgnutls28-dev is at least 3.7.9-2+deb12u7, the first
# Debian 12 release whose headers have GNUTLS_SAN_OTHERNAME_SRV.  xmppgate
# builds without it (src/tls.c decodes a raw SRVName itself), but an image
# that ships deb12u6 also lacks the GnuTLS security fixes since: upgrade
# it (and libgnutls30 with it), and say so when the mirror has nothing
# newer.
GNUTLS_MIN=3.7.9-2+deb12u7
gnutls_current() {
	local v
	v=$(dpkg-query -W -f='${Version}' libgnutls28-dev 2>/dev/null) || return 1
	dpkg --compare-versions "$v" ge "$GNUTLS_MIN"
}
gnutls_upgrade() {
	installed libgnutls28-dev || return 0
	gnutls_current && return 0
	echo "deps.sh: libgnutls28-dev $(dpkg-query -W -f='${Version}' libgnutls28-dev) is older than $GNUTLS_MIN; upgrading"
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get update
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --only-upgrade libgnutls28-dev libgnutls30
	gnutls_current || echo "deps.sh: warning: libgnutls28-dev is still older than $GNUTLS_MIN;" \
		"enable the bookworm-security and bookworm-updates sources for GnuTLS's fixes" >&2
}

if [ "${#missing[@]}" -eq 0 ]; then
	echo "deps.sh: all packages installed"
	gnutls_upgrade
	npm_modules
	exit 0
fi
echo "deps.sh: installing ${missing[*]}"

new_prosody=no
new_inetd=no
installed prosody || new_prosody=yes
installed openbsd-inetd || new_inetd=yes
new_ejabberd=no
new_haproxy=no
new_nsd=no
installed nsd || new_nsd=yes
installed ejabberd || new_ejabberd=yes
installed haproxy || new_haproxy=yes

systemd_running=no
[ -d /run/systemd/system ] && systemd_running=yes

# Without systemd, keep the packages' init scripts from starting daemons
# (only if no policy is in place already; removed again below).
policy=/usr/sbin/policy-rc.d
our_policy=no
if [ "$systemd_running" = no ] && [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
	$SUDO chmod 755 "$policy"
	our_policy=yes
fi
cleanup() {
	if [ "$our_policy" = yes ]; then
		$SUDO rm -f "$policy"
	fi
}
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends "${missing[@]}"
gnutls_upgrade

# stop_service UNIT PIDFILE: stop a system daemon that we just installed.
stop_service() {
	local unit=$1 pidfile=$2 pid
	if [ "$systemd_running" = yes ]; then
		$SUDO systemctl disable --now "$unit" 2>/dev/null || :
		return
	fi
	if [ -s "$pidfile" ]; then
		pid=$(cat "$pidfile")
		if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
			echo "deps.sh: stopping the system $unit (pid $pid)"
			$SUDO kill "$pid" || :
		fi
	fi
}
if [ "$new_prosody" = yes ]; then
	stop_service prosody.service /run/prosody/prosody.pid
fi
if [ "$new_inetd" = yes ]; then
	stop_service inetd.service /run/inetd.pid
fi
if [ "$new_ejabberd" = yes ]; then
	stop_service ejabberd.service /run/ejabberd/ejabberd.pid
fi
if [ "$new_haproxy" = yes ]; then
	stop_service haproxy.service /run/haproxy.pid
fi
if [ "$new_nsd" = yes ]; then
	stop_service nsd.service /run/nsd/nsd.pid
fi
npm_modules
echo "deps.sh: done"
