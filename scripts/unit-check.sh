#!/bin/bash
# scripts/unit-check.sh -- run the shipped units (units/xmppgate.socket,
# units/xmppgate-direct.socket and units/xmppgate@.service, then the pooled
# mode's units/xmppgate-pool.socket and xmppgate-pool.service, unchanged)
# under a real systemd and log in through them.
#
# A manual check, not part of `make check`: it needs root, systemd-nspawn
# (Debian package systemd-container) and a Debian 12 root file system with
# systemd in it.  It
#   1. puts an overlay (or, without overlayfs, a copy) over the root file
#      system, so that the original is never written to;
#   2. installs into it the built xmppgate as /usr/sbin/xmppgate, the units,
#      a test certificate as /etc/xmppgate/{cert,key}.pem (root only), the
#      sample helper contrib/xmppgate-auth-passwd with alice/secret in
#      /etc/xmppgate/passwd (group xmppgate-auth, mode 640, and a drop-in
#      SupplementaryGroups=xmppgate-auth, as xmppgate(8) says for
#      DynamicUser=), /etc/default/xmppgate,
#      and Prosody configured as in xmppgate(8) "The backend" (port 5322 on
#      127.0.0.1);
#   3. boots it with `systemd-nspawn -b --private-network` (the container
#      has only its own loopback), `systemctl enable --now xmppgate.socket`
#      inside, registers alice in Prosody;  the host need not run systemd:
#      --register=no --keep-unit, and a tmpfs on /run/systemd/nspawn when
#      that is on disk (unmounted again);  commands run inside through
#      nsenter into the container's init;
#   4. logs in through port 5222 with tests/xmpp_client.py (slixmpp:
#      STARTTLS, PLAIN, bind, a message to itself) once with the right and
#      once with a wrong password, then through xmppgate-direct.socket on
#      5223 (installed with its alias xmppgate-direct@.service, as make
#      install does) with Direct TLS and ALPN, and checks the summary lines
#      in the journal, that no instance failed, that nothing xmppgate or the helper
#      logged says EPERM/EACCES, and (with strace on the host) that no
#      system call of xmppgate or its helper failed with EPERM, EACCES,
#      EROFS or ENOSYS or was killed by SIGSYS;
#   4b. storms xmppgate.socket (tests/storm.py, bounded): 2000 connections
#      in 2 s from 200 addresses, then 1000 from one; the socket stays
#      active (no trigger limit), every connection gets its stream
#      features within 30 s or is refused before a byte, and every refusal
#      the clients saw is one systemd counted (NRefused); a login works
#      right after;
#   5. holds one connection open and looks at the live instance: exposure
#      from `systemd-analyze security`, dynamic user, no capabilities,
#      no_new_privs, seccomp, read-only root, no /proc/sys;
#   5b. with XG_COST=1, measures the service's start per hardening
#      directive (see "cost" below);
#   5c. the pooled mode (XG_POOL=0 leaves it out): disables xmppgate.socket
#      and xmppgate-direct.socket as xmppgate(8) "Pooled mode" says,
#      installs xmppgate-pool.socket and xmppgate-pool.service unchanged
#      (with the passwd drop-in), logs in through it, checks the live pool
#      and a child as in 5 (with an empty bounding set), reloads it
#      (systemctl reload: SIGHUP, a re-exec under the same pid) and storms
#      it as in 4b: the socket and service stay active, every connection
#      gets its features within 30 s or is refused and counted in the
#      pool's lines, and a login works after;
#   5d. xmppgate-relay (XG_RELAY=0 leaves it out): installs
#      xmppgate-relay.socket, xmppgate-relay.service and its sysusers.d file
#      unchanged (systemd-sysusers makes the group), hands it a session
#      from nobody in the group xmppgate-relay (tests/relayd_send.py: 8 MiB
#      each way over loopback TCP, one summary in its journal), checks that
#      a process outside the group cannot connect, the live relay (dynamic
#      user, no capabilities, no_new_privs, seccomp) and its exposure, that
#      systemctl stop ends a held session with "relay stopping", and that
#      after a SIGKILL (its sessions cut) the next hand-off is served;
#   5e. xmppgate-s2s-out (XG_S2SOUT=0 leaves it out): installs
#      xmppgate-s2s-out.socket and its service unchanged, sends the
#      backend's stream for a domain no DNS server answers for (there is
#      none in the private network) and expects PROXY LOCAL, the stream
#      error and one summary line, with no denial logged;
#   6. prints PASS or FAIL, shuts the container down and removes the scratch
#      directory.
#
# Every wait is bounded.  Exit status: 0 PASS, 1 FAIL, 77 SKIP (cannot run
# here: not root, no systemd-nspawn, no root file system, or the container
# does not boot).
#
# Environment:
#   XG_ROOTFS    the root file system to boot (default /srv/fresh, else one
#                made before by XG_MAKE_ROOTFS=1); only read
#   XG_MAKE_ROOTFS=1  without a root file system, build one with debootstrap
#                (Debian 12 minbase + systemd, prosody, python3-slixmpp) in
#                XG_SCRATCH/rootfs-bookworm, kept for later runs
#   XG_SCRATCH   where the run's directory is made (default /srv/unitcheck)
#   XG_BIN       the xmppgate binary (default: ./xmppgate of the build tree)
#   XG_KEEP=1    keep the run's directory (logs, overlay upper layer)
#   XG_STRACE=0  do not trace the container's systemd with strace
#   XG_MAX_EXPOSURE  highest acceptable exposure level (default 1.5, as in
#                tests/t-units.sh)
#   XG_DEBUG=1   PID 1 of the container logs at debug level (see below)
#   XG_STORM=0   leave the connection storms out
#   XG_POOL=0    leave the pooled mode (5c) out
#   XG_RELAY=0   leave xmppgate-relay (5d) out
#   XG_S2SOUT=0  leave xmppgate-s2s-out (5e) out
#   XG_COST=1    after the checks, measure what the service's directives
#                cost (first-features latency, spawn rate; see "cost" below)
#   XG_DROPIN    text of an extra drop-in for xmppgate@.service, e.g. to try
#                a fix or to see that a breaking directive makes this FAIL
set -u -o pipefail

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
PROG='unit-check.sh'
ROOTFS=${XG_ROOTFS:-/srv/fresh}
SCRATCH=${XG_SCRATCH:-/srv/unitcheck}
BIN=${XG_BIN:-$top_builddir/xmppgate}
PASSWD_HELPER=$top_builddir/contrib/xmppgate-auth-passwd
MAX_EXPOSURE=${XG_MAX_EXPOSURE:-1.5}
DOMAIN=example.org
PKGS="systemd prosody python3-slixmpp libgnutls30 libsystemd0 libidn12 libunbound8"
T0=$(date +%s)

log() { printf '%s: %s\n' "$PROG" "$*"; }
check() { printf '%s: CHECK %s\n' "$PROG" "$*"; }
pass() { printf '%s: PASS %s\n' "$PROG" "$*"; }
skip() {
	printf '%s: SKIP: %s\n' "$PROG" "$*"
	RESULT=77
	exit 77
}
fail() {
	printf '%s: FAIL %s\n' "$PROG" "$*" >&2
	RESULT=1
	exit 1
}
indent() { sed 's/^/    /'; }

RESULT=
HOLD_PID=
RUN=
NSPAWN_PID=
LEADER=
STRACE_PID=
OUR_TMPFS=
MOUNTED=

# teardown: stop strace and the container (poweroff, then SIGKILL), unmount,
# remove the run's directory (kept on failure as far as the logs go).
teardown() {
	local rc=$?
	trap - EXIT INT TERM
	[ -n "$RESULT" ] || { [ "$rc" -eq 0 ] && RESULT=0 || RESULT=$rc; }
	release
	if [ -n "$LEADER" ] && [ -d "$RUN/logs" ] && [ ! -s "$RUN/logs/journal.txt" ]; then
		in_ct 20 journalctl -b -o short-precise --no-pager >"$RUN/logs/journal.txt" 2>&1
	fi
	if [ -n "$STRACE_PID" ]; then
		kill -TERM "$STRACE_PID" 2>/dev/null
		wait "$STRACE_PID" 2>/dev/null
	fi
	if [ -n "$NSPAWN_PID" ] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
		# SIGTERM makes systemd-nspawn power the container off.
		kill -TERM "$NSPAWN_PID" 2>/dev/null
		for _ in $(seq 1 300); do
			kill -0 "$NSPAWN_PID" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$NSPAWN_PID" 2>/dev/null; then
			log "container did not power off within 30 s; killing it"
			# The container's init: SIGKILL ends its whole PID namespace.
			[ -n "$LEADER" ] && kill -KILL "$LEADER" 2>/dev/null
			sleep 1
			kill -KILL "$NSPAWN_PID" 2>/dev/null
		fi
		wait "$NSPAWN_PID" 2>/dev/null
	fi
	if [ -n "$MOUNTED" ]; then
		umount "$RUN/root" 2>/dev/null || umount -l "$RUN/root" 2>/dev/null
	fi
	if [ -n "$OUR_TMPFS" ]; then
		umount /run/systemd/nspawn 2>/dev/null ||
			log "note: /run/systemd/nspawn (tmpfs) still in use, left mounted"
	fi
	if [ -n "$RUN" ] && [ -d "$RUN" ]; then
		if [ -n "${XG_KEEP:-}" ]; then
			log "keeping $RUN"
		elif [ "$RESULT" != 0 ]; then
			rm -rf "$RUN/root" "$RUN/upper" "$RUN/work"
			log "logs kept in $RUN/logs"
		else
			rm -rf "$RUN"
		fi
	fi
	case $RESULT in
	0) log "PASS ($(($(date +%s) - T0)) s)" ;;
	77) ;;
	*) log "FAIL ($(($(date +%s) - T0)) s)" ;;
	esac
	exit "$RESULT"
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# in_ct SECONDS CMD...: run CMD inside the container (all its namespaces),
# with a clean environment, killed after SECONDS.
in_ct() {
	local secs=$1
	shift
	timeout -k 5 "$secs" nsenter -t "$LEADER" -a \
		env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		LANG=C.UTF-8 TERM=dumb SYSTEMD_COLORS=0 SYSTEMD_PAGER= "$@"
}

# release: let the connection held open for the live checks go.
release() {
	[ -n "$HOLD_PID" ] || return 0
	in_ct 10 touch /run/unit-check-release
	wait "$HOLD_PID" 2>/dev/null
	HOLD_PID=
}

# summary_field, expect_summary; make_certs
. "$top_srcdir/tests/summary.sh"
. "$top_srcdir/tests/certs.sh"

# ---------------------------------------------------------------- can we?
[ "$(id -u)" -eq 0 ] || skip "must run as root (systemd-nspawn, mounts)"
command -v systemd-nspawn >/dev/null ||
	skip "systemd-nspawn not installed (apt-get install systemd-container)"
command -v nsenter >/dev/null || skip "nsenter (util-linux) not installed"
command -v certtool >/dev/null || skip "certtool (gnutls-bin) not installed"
# systemd-nspawn keeps per-machine state under /run/systemd/nspawn and
# refuses to clean it up unless that is a tmpfs (here /run may be on disk).
mkdir -p /run/systemd/nspawn
if [ "$(stat -f -c %T /run/systemd/nspawn)" != tmpfs ]; then
	mount -t tmpfs -o mode=0755,size=16m xg-unitcheck-nspawn /run/systemd/nspawn ||
		skip "cannot mount a tmpfs on /run/systemd/nspawn"
	OUR_TMPFS=1
fi

# install_pkgs ROOT LOG PACKAGE...: apt-get install in ROOT (systemd-nspawn,
# not booted, host network); policy-rc.d: no daemon starts now.
install_pkgs() {
	local root=$1 logf=$2 rc=0
	shift 2
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 755 "$root/usr/sbin/policy-rc.d"
	timeout -k 10 900 systemd-nspawn -q -D "$root" --register=no --keep-unit \
		--resolv-conf=copy-host --pipe -E DEBIAN_FRONTEND=noninteractive \
		sh -c "apt-get update && apt-get install -y --no-install-recommends $*" \
		</dev/null >"$logf" 2>&1 || rc=$?
	rm -f "$root/usr/sbin/policy-rc.d"
	return $rc
}

has_systemd() { [ -x "$1/lib/systemd/systemd" ] || [ -x "$1/usr/lib/systemd/systemd" ]; }
# make_rootfs DIR: a Debian 12 root file system with what the check needs,
# from the mirror the host's apt uses (debootstrap's default otherwise).
make_rootfs() {
	local dir=$1 mirror
	command -v debootstrap >/dev/null || skip "XG_MAKE_ROOTFS=1 needs debootstrap"
	mirror=$(awk '/^URIs:/ { u = $2 } /^Suites:/ && / bookworm( |$)/ && u { print u; exit }' \
		/etc/apt/sources.list.d/*.sources 2>/dev/null)
	[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' \
		/etc/apt/sources.list 2>/dev/null)
	log "building a Debian 12 root file system in $dir (debootstrap${mirror:+ from $mirror}; minutes)"
	rm -rf "$dir.tmp"
	mkdir -p "$(dirname "$dir")"
	# shellcheck disable=SC2086
	timeout -k 10 1800 debootstrap --variant=minbase --include=systemd,systemd-sysv \
		bookworm "$dir.tmp" $mirror >"$SCRATCH/debootstrap.log" 2>&1 ||
		{ tail -n 20 "$SCRATCH/debootstrap.log" | indent; rm -rf "$dir.tmp"; skip "debootstrap failed ($SCRATCH/debootstrap.log)"; }
	# shellcheck disable=SC2086
	install_pkgs "$dir.tmp" "$SCRATCH/debootstrap-apt.log" $PKGS ||
		{ tail -n 20 "$SCRATCH/debootstrap-apt.log" | indent; rm -rf "$dir.tmp"; skip "apt-get install in the new root file system failed"; }
	mv "$dir.tmp" "$dir"
}
if ! has_systemd "$ROOTFS"; then
	# Without XG_ROOTFS: a root file system built by an earlier
	# XG_MAKE_ROOTFS=1 run, or build one now.
	cached=$SCRATCH/rootfs-bookworm
	if [ -z "${XG_ROOTFS:-}" ] && ! has_systemd "$cached" && [ -n "${XG_MAKE_ROOTFS:-}" ]; then
		make_rootfs "$cached"
	fi
	if [ -z "${XG_ROOTFS:-}" ] && has_systemd "$cached"; then
		ROOTFS=$cached
	else
		skip "no root file system with systemd at $ROOTFS (set XG_ROOTFS, or XG_MAKE_ROOTFS=1 to debootstrap one into $cached)"
	fi
fi
[ -x "$BIN" ] || fail "xmppgate not built: $BIN (run make)"
[ -x "$PASSWD_HELPER" ] || fail "sample helper not built: $PASSWD_HELPER (run make)"
if ldd "$BIN" 2>/dev/null | grep -q 'libasan\|libubsan'; then
	log "note: $BIN is a sanitizer build"
fi

mkdir -p "$SCRATCH"
RUN=$(mktemp -d "$SCRATCH/run.XXXXXX")
LOGS=$RUN/logs
R=$RUN/root
mkdir -p "$LOGS" "$R"
MACHINE=xg-unitcheck-$$
log "run directory $RUN, root file system $ROOTFS (not written to)"
# The binary as it is now (the build tree may change under us).
cp "$BIN" "$RUN/xmppgate"
if [ "${XG_RELAY:-1}" != 0 ]; then
	[ -x "$top_builddir/xmppgate-relay" ] || fail "xmppgate-relay not built (run make)"
	cp "$top_builddir/xmppgate-relay" "$RUN/xmppgate-relay"
fi

# ---------------------------------------------------------------- root fs
if grep -qw overlay /proc/filesystems &&
	mkdir -p "$RUN/upper" "$RUN/work" &&
	mount -t overlay xg-unitcheck -o "lowerdir=$ROOTFS,upperdir=$RUN/upper,workdir=$RUN/work" "$R" 2>"$LOGS/mount.log"; then
	MOUNTED=1
	log "overlay over $ROOTFS at $R"
else
	log "no overlayfs ($(cat "$LOGS/mount.log" 2>/dev/null)); copying $ROOTFS"
	timeout 600 cp -a "$ROOTFS/." "$R/" || fail "cp -a $ROOTFS $R failed"
fi

missing=
for p in $PKGS; do
	chroot "$R" dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	# Into the overlay only, with the host's network, before the container
	# boots with a private one.
	log "installing into the container's root:$missing"
	# shellcheck disable=SC2086
	install_pkgs "$R" "$LOGS/apt.log" $missing ||
		{ tail -n 20 "$LOGS/apt.log" | indent; skip "cannot install$missing into the container's root"; }
fi

# ---------------------------------------------------------------- install
check "install xmppgate, the units, certificate, helper, options and Prosody's config"
C=$RUN/certs
make_certs "$C" "$DOMAIN"

# The services as make made them (units/*.in with the configured paths):
# xmppgate goes where their ExecStart= says.
UNIT=$top_builddir/units/xmppgate@.service
[ -f "$UNIT" ] || fail "no $UNIT: run make first"
XG_EXE=$(sed -n 's/^ExecStart=-\([^ ]*\) .*/\1/p' "$UNIT")
case $XG_EXE in /*/xmppgate) ;; *) fail "no ExecStart=-/.../xmppgate in $UNIT" ;; esac
install -D -m 755 "$RUN/xmppgate" "$R$XG_EXE"
install -m 644 "$top_srcdir/units/xmppgate.socket" "$UNIT" \
	"$top_srcdir/units/xmppgate-direct.socket" "$R/etc/systemd/system/"
# As make install does: the Direct TLS socket's instances are an alias.
ln -sf xmppgate@.service "$R/etc/systemd/system/xmppgate-direct@.service"
if [ -n "${XG_DROPIN:-}" ]; then
	mkdir -p "$R/etc/systemd/system/xmppgate@.service.d"
	printf '[Service]\n%s\n' "$XG_DROPIN" >"$R/etc/systemd/system/xmppgate@.service.d/zz-unit-check.conf"
	log "extra drop-in for xmppgate@.service:"
	printf '%s\n' "$XG_DROPIN" | indent
fi
# Readable by root only: xmppgate reads the key with CAP_DAC_READ_SEARCH.
install -d -m 700 "$R/etc/xmppgate"
install -m 600 "$C/chain.pem" "$R/etc/xmppgate/cert.pem"
install -m 600 "$C/key.pem" "$R/etc/xmppgate/key.pem"
install -d -m 755 "$R/usr/local/libexec/xmppgate" "$R/usr/local/share/xmppgate-unit-check"
# The sample helper with its passwd file set up as xmppgate(8) "systemd"
# says for DynamicUser=: the file belongs to a group of its own, readable by
# that group only, and a drop-in gives the service that group.  The helper
# reads the file its wrapper names (contrib/README "Another file").
install -m 755 "$PASSWD_HELPER" "$R/usr/local/libexec/xmppgate/xmppgate-auth-passwd"
printf '#!/bin/sh\nexec %s %s\n' /usr/local/libexec/xmppgate/xmppgate-auth-passwd \
	/etc/xmppgate/passwd >"$R/usr/local/libexec/xmppgate/auth"
chmod 755 "$R/usr/local/libexec/xmppgate/auth"
groupadd --root "$R" --system xmppgate-auth >"$LOGS/groupadd.log" 2>&1 ||
	fail "groupadd --root $R failed (see $LOGS/groupadd.log)"
gid=$(awk -F: '$1 == "xmppgate-auth" { print $3 }' "$R/etc/group")
[ -n "$gid" ] || fail "no group xmppgate-auth in $R/etc/group"
printf 'secret' | "$PASSWD_HELPER" --hash "alice@$DOMAIN" >"$R/etc/xmppgate/passwd" ||
	fail "$PASSWD_HELPER --hash failed"
chown "0:$gid" "$R/etc/xmppgate" "$R/etc/xmppgate/passwd"
chmod 750 "$R/etc/xmppgate"
chmod 640 "$R/etc/xmppgate/passwd"
mkdir -p "$R/etc/systemd/system/xmppgate@.service.d"
printf '[Service]\nSupplementaryGroups=xmppgate-auth\n' \
	>"$R/etc/systemd/system/xmppgate@.service.d/passwd.conf"
cat >"$R/etc/default/xmppgate" <<EOF
XMPPGATE_OPTS="--domain $DOMAIN --auth /usr/local/libexec/xmppgate/auth --backend 127.0.0.1:5322"
EOF
install -m 644 "$C/ca.pem" "$top_srcdir/tests/xmpp_client.py" "$top_srcdir/tests/storm.py" \
	"$R/usr/local/share/xmppgate-unit-check/"
# Prosody as the distribution runs it (prosody.service, user prosody), on a
# loopback-only plaintext port as xmppgate(8) "The backend" says.
cat >"$R/etc/prosody/prosody.cfg.lua" <<EOF
-- scripts/unit-check.sh: xmppgate's backend, see xmppgate(8) "The backend"
admins = { }
modules_enabled = { "roster", "saslauth", "tls", "disco", "ping", "posix" }
modules_disabled = { "s2s", "dialback", "register", "offline" }
pidfile = "/run/prosody/prosody.pid"
log = { info = "*syslog" }
interfaces = { "127.0.0.1" }
c2s_ports = { 5322 }
c2s_interfaces = { "127.0.0.1" }
s2s_ports = { }
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
allow_registration = false
authentication = "internal_hashed"
certificates = "certs"
VirtualHost "$DOMAIN"
EOF
install -d -m 755 "$R/etc/prosody/certs"
install -m 644 "$C/chain.pem" "$R/etc/prosody/certs/$DOMAIN.crt"
install -m 640 "$C/key.pem" "$R/etc/prosody/certs/$DOMAIN.key"
pgid=$(awk -F: '$1 == "prosody" { print $3 }' "$R/etc/group")
[ -n "$pgid" ] || fail "no group prosody in the container"
chgrp "$pgid" "$R/etc/prosody/certs/$DOMAIN.key"
pass "installed ($(sha256sum "$RUN/xmppgate" | cut -c1-12) xmppgate)"

# ---------------------------------------------------------------- boot
# The host may have cgroup v1, hybrid or v2; let systemd-nspawn choose,
# then force each layout.
check "boot the container (systemd-nspawn -b --private-network)"
booted=
for hier in "" 1 0; do
	echo "=== systemd-nspawn -b${hier:+ with SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=$hier}" >>"$LOGS/nspawn.log"
	env ${hier:+SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=$hier} setsid systemd-nspawn -b -D "$R" -M "$MACHINE" \
		--private-network --register=no --keep-unit --console=passive \
		</dev/null >>"$LOGS/nspawn.log" 2>&1 &
	NSPAWN_PID=$!
	LEADER=
	for _ in $(seq 1 300); do
		kill -0 "$NSPAWN_PID" 2>/dev/null || break
		LEADER=$(pgrep -P "$NSPAWN_PID" -x systemd | head -n 1)
		[ -n "$LEADER" ] && break
		sleep 0.1
	done
	state=
	if [ -n "$LEADER" ]; then
		for _ in $(seq 1 180); do
			kill -0 "$NSPAWN_PID" 2>/dev/null || break
			state=$(in_ct 10 systemctl is-system-running 2>/dev/null)
			case $state in running | degraded) break ;; esac
			sleep 0.5
		done
	fi
	case $state in
	running | degraded)
		booted=1
		break ;;
	esac
	log "boot${hier:+ with SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=$hier} failed (state '${state:-none}'):"
	tail -n 15 "$LOGS/nspawn.log" | indent
	kill -TERM "$NSPAWN_PID" 2>/dev/null
	for _ in $(seq 1 100); do kill -0 "$NSPAWN_PID" 2>/dev/null || break; sleep 0.1; done
	[ -n "$LEADER" ] && kill -KILL "$LEADER" 2>/dev/null
	kill -KILL "$NSPAWN_PID" 2>/dev/null
	wait "$NSPAWN_PID" 2>/dev/null
	NSPAWN_PID=
done
[ -n "$booted" ] || skip "systemd-nspawn cannot boot a container here (log above, $LOGS/nspawn.log)"
in_ct 10 systemctl --failed --no-legend >"$LOGS/failed-at-boot.txt" 2>&1
pass "systemd $(in_ct 10 systemctl --version | sed -n '1s/^systemd \([0-9]*\).*/\1/p') is PID 1 in $MACHINE (leader $LEADER), state $state, $(($(date +%s) - T0)) s"
[ "$state" = running ] || { log "failed units at boot:"; indent <"$LOGS/failed-at-boot.txt"; }

# ---------------------------------------------------------------- enable
check "systemctl enable --now xmppgate.socket; Prosody on 127.0.0.1:5322; account alice"
in_ct 30 systemctl enable --now xmppgate.socket >"$LOGS/enable.log" 2>&1 ||
	{ indent <"$LOGS/enable.log"; fail "systemctl enable --now xmppgate.socket failed"; }
in_ct 60 systemctl enable --now prosody.service >>"$LOGS/enable.log" 2>&1 ||
	{ indent <"$LOGS/enable.log"; fail "systemctl enable --now prosody.service failed"; }
in_ct 10 systemctl is-active --quiet xmppgate.socket ||
	fail "xmppgate.socket is not active: $(in_ct 10 systemctl status --no-pager xmppgate.socket 2>&1 | tail -n 5)"
listening() { # PORT: a TCP socket listens on it inside the container
	in_ct 10 cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
		awk -v p="$(printf '%04X' "$1")" '$4 == "0A" && $2 ~ (":" p "$") { f = 1 } END { exit !f }'
}
for _ in $(seq 1 100); do
	listening 5322 && listening 5222 && break
	sleep 0.2
done
listening 5222 || fail "nothing listens on port 5222 in the container"
listening 5322 || {
	in_ct 10 journalctl -u prosody --no-pager -n 20 | indent
	fail "Prosody does not listen on 127.0.0.1:5322"
}
in_ct 60 prosodyctl register alice "$DOMAIN" secret >"$LOGS/prosodyctl.log" 2>&1 ||
	{ indent <"$LOGS/prosodyctl.log"; fail "prosodyctl register alice failed"; }
# XG_DEBUG=1: PID 1's debug messages (seccomp set-up, credentials,
# namespaces) go to the journal too, for $LOGS/journal.txt.  (systemd 252
# then logs from the forked child before it moves into the unit's cgroup,
# and journald's 1 s metadata cache may attribute xmppgate's first lines to
# init.scope: systemd issue #30886.  The check of _SYSTEMD_UNIT below is
# therefore made only without XG_DEBUG.)
if [ -n "${XG_DEBUG:-}" ]; then
	in_ct 10 systemd-analyze set-log-level debug || log "note: could not raise PID 1's log level"
fi
pass "socket listening on 5222, Prosody on 5322"

# ---------------------------------------------------------------- strace
# strace on the host follows every process the container's systemd starts;
# xmppgate's and the helper's failed system calls show up with their errno
# (SystemCallErrorNumber=EPERM makes a filtered call return EPERM).
if [ "${XG_STRACE:-1}" != 0 ] && command -v strace >/dev/null; then
	strace -f -q -e signal=none -s 80 -o "$LOGS/strace.txt" -p "$LEADER" 2>"$LOGS/strace.err" &
	STRACE_PID=$!
	for _ in $(seq 1 50); do
		[ "$(awk '/^TracerPid:/ { print $2 }' "/proc/$LEADER/status")" != 0 ] && break
		sleep 0.1
	done
	[ "$(awk '/^TracerPid:/ { print $2 }' "/proc/$LEADER/status")" != 0 ] ||
		{ log "note: strace did not attach: $(cat "$LOGS/strace.err")"; kill "$STRACE_PID" 2>/dev/null; wait "$STRACE_PID" 2>/dev/null; STRACE_PID=; }
else
	log "note: no strace on the host (or XG_STRACE=0): system calls are not traced"
fi

# ---------------------------------------------------------------- logins
CLIENT="/usr/bin/python3 /usr/local/share/xmppgate-unit-check/xmpp_client.py
	--host 127.0.0.1 --port 5222 --ca /usr/local/share/xmppgate-unit-check/ca.pem --timeout 20"
check "alice logs in through the socket-activated unit (STARTTLS, PLAIN, bind, message)"
# shellcheck disable=SC2086
out=$(in_ct 60 $CLIENT --jid "alice@$DOMAIN" --password secret \
	--to "alice@$DOMAIN" --message "hello through xmppgate@.service" 2>"$LOGS/client-ok.err") ||
	fail "client: $out"
echo "    $out"
case $out in
*"login=ok bind=ok jid=alice@$DOMAIN/"*"message=ok"*) ;;
*) fail "unexpected client result: $out" ;;
esac
pass "login through the unit"

check "a wrong password is refused (not-authorized)"
# shellcheck disable=SC2086
out=$(in_ct 60 $CLIENT --jid "alice@$DOMAIN" --password wrong \
	--expect auth-failure --condition not-authorized 2>"$LOGS/client-bad.err") ||
	fail "client: $out"
echo "    $out"
pass "wrong password refused"

check "the journal has one summary line for each: outcome=ok and outcome=refused"
for _ in $(seq 1 100); do
	sums=$(in_ct 10 journalctl -t xmppgate -o cat --no-pager | grep ' summary ')
	[ "$(printf '%s\n' "$sums" | grep -c ' summary ')" -ge 2 ] && break
	sleep 0.2
done
in_ct 10 journalctl -b -o short-precise --no-pager |
	grep ' xmppgate\[[0-9]*\]: \| Started xmppgate@' >"$LOGS/xmppgate-journal.txt"
indent <"$LOGS/xmppgate-journal.txt"
[ "$(printf '%s\n' "$sums" | grep -c ' summary ')" -eq 2 ] ||
	fail "expected 2 summary lines, found: $sums"
ok_line=$(printf '%s\n' "$sums" | sed -n 1p)
bad_line=$(printf '%s\n' "$sums" | sed -n 2p)
expect_summary "$ok_line" outcome=ok user=alice domain=$DOMAIN backend=127.0.0.1:5322 \
	rx='>0' tx='>0' client='*'
expect_summary "$bad_line" outcome=refused user=alice domain=$DOMAIN backend=- client='*'
case $bad_line in
*'reason="client closed the stream after 1 failed attempt"'*) ;;
*) fail "unexpected reason for the refused login: $bad_line" ;;
esac
pass "summary lines as expected"

check "the journal parsed xmppgate's priorities (JOURNAL_STREAM): the failed attempt at notice"
in_ct 10 journalctl -t xmppgate -o cat --no-pager | grep -q '^<[0-7]>' &&
	fail "a log line still carries its <N> prefix: JOURNAL_STREAM not recognised"
in_ct 10 journalctl -t xmppgate -p 5..5 -o cat --no-pager | grep -q 'authentication attempt 1 failed' ||
	fail "the failed attempt is not logged at priority notice"
pass "priorities ok"

check "xmppgate-direct.socket (5223): a Direct TLS login with ALPN runs the same service"
in_ct 30 systemctl enable --now xmppgate-direct.socket >>"$LOGS/enable.log" 2>&1 ||
	{ indent <"$LOGS/enable.log"; fail "systemctl enable --now xmppgate-direct.socket failed"; }
for _ in $(seq 1 50); do
	listening 5223 && break
	sleep 0.2
done
listening 5223 || fail "nothing listens on port 5223 in the container"
# shellcheck disable=SC2086
out=$(in_ct 60 $CLIENT --port 5223 --direct-tls --alpn xmpp-client --jid "alice@$DOMAIN" \
	--password secret --to "alice@$DOMAIN" 2>"$LOGS/client-direct.err") || fail "client: $out"
echo "    $out"
case $out in
*"login=ok bind=ok jid=alice@$DOMAIN/"*"message=ok"*"alpn=xmpp-client"*) ;;
*) fail "unexpected client result: $out" ;;
esac
for _ in $(seq 1 100); do
	n=$(in_ct 10 journalctl -t xmppgate -o cat --no-pager | grep -c ' summary .*outcome=ok')
	[ "$n" -ge 2 ] && break
	sleep 0.2
done
[ "$n" -ge 2 ] || fail "no second outcome=ok summary in the journal"
in_ct 10 journalctl -b --no-pager | grep 'Started xmppgate.*:5223-' | indent
in_ct 10 journalctl -b --no-pager | grep -q 'Started xmppgate.*:5223-' ||
	fail "no service instance for a 5223 connection in the journal"
pass "Direct TLS through the alias unit, with the passwd drop-in applied"

if [ -z "${XG_DEBUG:-}" ]; then
	check "journalctl -u 'xmppgate@*' shows every line xmppgate and its helper logged"
	all=$(in_ct 10 journalctl -t xmppgate -o cat --no-pager | wc -l)
	attributed=$(in_ct 10 journalctl -t xmppgate -u 'xmppgate@*' -o cat --no-pager | wc -l)
	[ "$all" -gt 0 ] && [ "$all" -eq "$attributed" ] ||
		fail "$all lines from xmppgate, $attributed of them attributed to an xmppgate@ unit"
	pass "$all of $all lines"
fi

check "every instance ended cleanly (no failed unit, no leftover instance)"
for _ in $(seq 1 50); do
	left=$(in_ct 10 systemctl list-units --all --no-legend --plain 'xmppgate@*.service' | awk '{ print $1 }')
	[ -z "$left" ] && break
	sleep 0.2
done
failed=$(in_ct 10 systemctl list-units --failed --no-legend --plain 'xmppgate*' | awk '{ print $1 }')
[ -z "$failed" ] || fail "failed units: $failed"
[ -z "$left" ] || fail "instances still loaded: $left"
n=$(in_ct 10 journalctl -u 'xmppgate@*' -o cat --no-pager | grep -c 'Deactivated successfully')
[ "$n" -ge 2 ] || fail "expected 2 'Deactivated successfully', found $n"
pass "$n instances deactivated successfully, none failed"

if [ -n "$STRACE_PID" ]; then
	kill -TERM "$STRACE_PID" 2>/dev/null
	wait "$STRACE_PID" 2>/dev/null
	STRACE_PID=
	check "strace: no system call of xmppgate or its helper denied (EPERM/EACCES/EROFS/ENOSYS, SIGSYS)"
	# Pass 1: the pid that executed $XG_EXE (and the line it
	# did it on: before it, that pid is systemd setting up the sandbox)
	# and every process forked below it.  Pass 2: their failed calls.
	awk '
	NR == FNR {
		if (index($0, "execve(\"" exe "\"") && $0 ~ / = 0$/ && !($1 in at)) {
			at[$1] = FNR
			procs++
		}
		if ($0 ~ /^[0-9]+ (<\.\.\. )?(clone3?|v?fork)[ (]/ && match($0, / = [0-9]+$/)) {
			c = substr($0, RSTART + 3)
			parent[c] = $1
			born[c] = FNR
		}
		next
	}
	FNR == 1 {
		do {
			more = 0
			for (c in parent) {
				p = parent[c]
				if (!(c in kid) && (((p in at) && born[c] > at[p]) || (p in kid))) {
					kid[c] = 1
					more = 1
				}
			}
		} while (more)
	}
	(($1 in at) && FNR > at[$1]) || ($1 in kid) {
		n++
		if ($0 ~ / = -1 (EPERM|EACCES|EROFS|ENOSYS) / || $0 ~ /killed by SIGSYS/)
			print
	}
	END { printf "%d lines of %d xmppgate processes\n", n, procs > "/dev/stderr" }
	' exe="$XG_EXE" "$LOGS/strace.txt" "$LOGS/strace.txt" >"$LOGS/denied.txt" 2>"$LOGS/strace-count.txt"
	traced=$(cat "$LOGS/strace-count.txt")
	case $traced in
	"0 lines"* | *" of 0 "*) fail "strace saw no xmppgate process ($traced)" ;;
	esac
	if [ -s "$LOGS/denied.txt" ]; then
		indent <"$LOGS/denied.txt" | head -n 30
		fail "system calls denied to xmppgate or its helper (above, $LOGS/denied.txt)"
	fi
	pass "none denied ($traced)"
fi

check "nothing that xmppgate or the helper logged says EPERM or EACCES"
in_ct 10 journalctl -t xmppgate -o cat --no-pager >"$LOGS/xmppgate-stderr.txt"
[ -s "$LOGS/xmppgate-stderr.txt" ] || fail "no log line from xmppgate in the journal"
if grep -iE 'not permitted|permission denied|EPERM|EACCES|read-only file system|seccomp|bad system call' \
	"$LOGS/xmppgate-stderr.txt" >"$LOGS/denied-log.txt"; then
	indent <"$LOGS/denied-log.txt"
	fail "xmppgate or the helper logged a denial"
fi
pass "$(wc -l <"$LOGS/xmppgate-stderr.txt") lines, no denial"

# ---------------------------------------------------------------- storm
# A reconnect storm against the shipped xmppgate.socket, unchanged: the
# socket must stay active (no trigger limit may switch it off), every
# connection gets its stream features within 30 s or is refused cleanly
# over MaxConnections=/MaxConnectionsPerSource= (closed by systemd before a
# byte, and counted in the socket's NRefused), and a login works right
# after.  tests/storm.py is bounded in count and time.
STORM="/usr/bin/python3 /usr/local/share/xmppgate-unit-check/storm.py --port 5222 --domain $DOMAIN --deadline 30"
sock_prop() { in_ct 10 systemctl show -p "$1" --value xmppgate.socket; }
# storm_run NAME ARGS...: one storm; checks the socket and the refusals.
storm_run() {
	local name=$1 out rc r0 r1 refused features state
	shift
	r0=$(sock_prop NRefused)
	# shellcheck disable=SC2086
	out=$(in_ct 90 $STORM "$@" 2>"$LOGS/storm-$name.err")
	rc=$?
	echo "    $out"
	# The refusals are counted once systemd has accepted and closed them.
	for _ in $(seq 1 50); do
		r1=$(sock_prop NRefused)
		refused=$(printf '%s\n' "$out" | sed -n 's/.* refused=\([0-9]*\) .*/\1/p')
		[ "$((r1 - r0))" -ge "${refused:-0}" ] && break
		sleep 0.2
	done
	state=$(sock_prop ActiveState)
	echo "    xmppgate.socket: $state, NRefused $r0 -> $r1"
	[ "$state" = active ] || fail "storm $name: xmppgate.socket is $state"
	in_ct 10 journalctl -u xmppgate.socket --no-pager | grep -i 'trigger limit' &&
		fail "storm $name: the trigger limit was hit"
	features=$(printf '%s\n' "$out" | sed -n 's/.* features=\([0-9]*\) .*/\1/p')
	[ -n "$features" ] && [ -n "$refused" ] || fail "storm $name: no result line ($(head -c 300 "$LOGS/storm-$name.err"))"
	# Timeouts are reported after both storms (the second one still says
	# whether the per-source limit refuses cleanly).
	[ "$rc" -eq 0 ] || STORM_SLOW="$STORM_SLOW storm $name: a connection timed out or broke;"
	# Every refusal the clients saw is one systemd counted (none is a
	# failed instance passing for a refusal).
	[ "$((r1 - r0))" -eq "$refused" ] ||
		fail "storm $name: clients saw $refused refusals, systemd counted $((r1 - r0))"
	STORM_FEATURES=$features STORM_REFUSED=$refused
}
# wait_idle: every instance of the storm has ended, none failed.
wait_idle() {
	local left failed
	for _ in $(seq 1 600); do
		left=$(in_ct 10 systemctl list-units --all --no-legend --plain 'xmppgate@*.service' | wc -l)
		[ "$left" -eq 0 ] && break
		sleep 0.2
	done
	[ "$left" -eq 0 ] || fail "$left instances still loaded 120 s after the storm"
	failed=$(in_ct 10 systemctl list-units --failed --no-legend --plain 'xmppgate*' | awk '{ print $1 }')
	[ -z "$failed" ] || fail "failed units after the storm: $failed"
}
if [ "${XG_STORM:-1}" != 0 ]; then
	STORM_SLOW=
	maxconn=$(sock_prop MaxConnections)
	maxsrc=$(sock_prop MaxConnectionsPerSource)
	check "a storm of 2000 connections in 2 s from 200 addresses (MaxConnections=$maxconn, MaxConnectionsPerSource=$maxsrc)"
	storm_run many --count 2000 --within 2 --sources 200
	[ "$STORM_FEATURES" -ge "$maxconn" ] || [ "$STORM_FEATURES" -eq 2000 ] ||
		STORM_SLOW="$STORM_SLOW storm many: $STORM_FEATURES served, fewer than MaxConnections=$maxconn;"
	wait_idle
	# shellcheck disable=SC2086
	out=$(in_ct 60 $CLIENT --jid "alice@$DOMAIN" --password secret --to "alice@$DOMAIN" \
		2>"$LOGS/client-after-storm.err") || fail "login after the storm: $out"
	case $out in
	*"login=ok bind=ok"*) ;;
	*) fail "login after the storm: $out" ;;
	esac
	pass "socket active, $STORM_FEATURES served, $STORM_REFUSED refused and counted, login after it ok"

	check "a storm of 1000 connections in 2 s from one address (a carrier's NAT, or one attacker)"
	storm_run one --count 1000 --within 2 --sources 1
	[ "$STORM_FEATURES" -ge "$maxsrc" ] || [ "$STORM_FEATURES" -eq 1000 ] ||
		STORM_SLOW="$STORM_SLOW storm one: $STORM_FEATURES served, fewer than MaxConnectionsPerSource=$maxsrc;"
	wait_idle
	pass "socket active, $STORM_FEATURES served, $STORM_REFUSED refused and counted"
	[ -z "$STORM_SLOW" ] || fail "${STORM_SLOW%;} (the listener survived, but not every connection was served or refused within 30 s)"
else
	log "note: XG_STORM=0, no storm"
fi

# ---------------------------------------------------------------- live
check "a live instance: systemd-analyze security, user, capabilities, seccomp, mounts"
# The connection is held until /run/unit-check-release exists (at most 15 s).
in_ct 20 /usr/bin/python3 -c '
import os, socket, time
s = socket.create_connection(("127.0.0.1", 5222))
for i in range(150):
    if os.path.exists("/run/unit-check-release"):
        break
    time.sleep(0.1)
' >/dev/null 2>&1 &
HOLD_PID=$!
unit=
for _ in $(seq 1 50); do
	unit=$(in_ct 10 systemctl list-units --no-legend --plain --state=running 'xmppgate@*.service' | awk 'NR == 1 { print $1 }')
	[ -n "$unit" ] && break
	sleep 0.2
done
[ -n "$unit" ] || fail "no running xmppgate@ instance while a connection is open"
in_ct 10 systemctl status --no-pager "$unit" >"$LOGS/status-live.txt" 2>&1
in_ct 10 systemctl status --no-pager xmppgate.socket >"$LOGS/status-socket.txt" 2>&1
indent <"$LOGS/status-live.txt" | head -n 12
in_ct 30 systemd-analyze security --no-pager "$unit" >"$LOGS/security.txt" 2>&1
# (The instance name has colons in it.)
level=$(sed -n 's/.*Overall exposure level for .*: \([0-9][0-9.]*\) .*/\1/p' "$LOGS/security.txt")
grep '✗' "$LOGS/security.txt" | indent
echo "    exposure $level (live instance $unit)"
[ -n "$level" ] || { tail -n 5 "$LOGS/security.txt"; fail "no exposure level"; }
awk -v l="$level" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(l <= m) }' ||
	fail "exposure $level is above $MAX_EXPOSURE"
# live_proc PID BND WHAT: a live xmppgate process: a dynamic user, no
# capabilities (the bounding set BND, hex), no_new_privs, a seccomp
# filter, the root read-only, no /proc/sys.  Sets uid.
live_proc() {
	local pid=$1 bnd=$2 what=$3 st k
	st=$(in_ct 10 cat "/proc/$pid/status")
	printf '%s\n' "$st" | grep -E '^(Uid|Gid|Cap[A-Za-z]*|NoNewPrivs|Seccomp):' | indent
	uid=$(printf '%s\n' "$st" | awk '/^Uid:/ { print $2 }')
	[ -n "$uid" ] && [ "$uid" -ge 61184 ] && [ "$uid" -le 65519 ] ||
		fail "$what runs as uid '$uid', not a dynamic user (61184-65519)"
	for k in CapInh CapPrm CapEff CapAmb; do
		printf '%s\n' "$st" | grep -q "^$k:[[:space:]]*0000000000000000\$" ||
			fail "$what holds capabilities ($k)"
	done
	printf '%s\n' "$st" | grep -q "^CapBnd:[[:space:]]*$bnd\$" ||
		fail "$what: the bounding set is not $bnd"
	printf '%s\n' "$st" | grep -q '^NoNewPrivs:[[:space:]]*1$' || fail "$what: no_new_privs not set"
	printf '%s\n' "$st" | grep -q '^Seccomp:[[:space:]]*2$' || fail "$what: no seccomp filter"
	in_ct 10 cat "/proc/$pid/mountinfo" >"$LOGS/mountinfo-$pid.txt"
	awk '$5 == "/" { print $6 }' "$LOGS/mountinfo-$pid.txt" | grep -q '^ro' ||
		fail "the root is not read-only for $what (ProtectSystem=strict)"
	in_ct 10 test -e "/proc/$pid/root/proc/sys/kernel" &&
		fail "$what sees /proc/sys (ProcSubset=pid)"
	return 0
}
pid=$(in_ct 10 systemctl show -p MainPID --value "$unit")
# CAP_DAC_READ_SEARCH (bit 2) only, for reading the key; dropped.
live_proc "$pid" 0000000000000004 xmppgate
in_ct 10 test -e "/run/credentials/$unit" &&
	fail "the instance has credentials (/run/credentials/$unit): a copy of the key?"
release
pass "uid $uid, no capabilities, no_new_privs, seccomp, read-only /, no /proc/sys, no credentials; exposure $level"

# ---------------------------------------------------------------- key
# The key is out of reach of what xmppgate starts (issue 19, item 4): a
# copy of the shipped service, only ExecStart= changed to exec mode with a
# probe as the helper and one as the program, behind its own socket
# (5298), with the passwd drop-in (so /etc/xmppgate can be entered and the
# key's own mode is what is tested).  Each probe says on its standard
# error (the journal) whether it could read the key, the group-readable
# passwd file and $CREDENTIALS_DIRECTORY, and its capabilities.
check "exec mode under the shipped service: neither the helper nor the program can read the key"
KT=/usr/local/share/xmppgate-unit-check
cat >"$R$KT/probe" <<'EOF'
#!/bin/sh
# probe WHO [exec ARGS...]
who=$1
shift
r() { if cat "$1" >/dev/null 2>&1; then echo readable; else echo denied; fi; }
echo "keyprobe $who key=$(r /etc/xmppgate/key.pem) passwd=$(r /etc/xmppgate/passwd)" \
	"cred=${CREDENTIALS_DIRECTORY:-unset} listen=${LISTEN_FDS:-unset}" \
	"$(grep -E '^Cap(Prm|Eff|Amb):' /proc/self/status | tr -d '\t' | tr '\n' ' ')" >&2
[ "$who" = helper ] && { cat >/dev/null; exit 0; }
shift
exec "$@"
EOF
chmod 755 "$R$KT/probe"
install -m 644 "$top_srcdir/tests/exec_backend.py" "$R$KT/"
sed "s|^ExecStart=-.*|ExecStart=-$XG_EXE --cert /etc/xmppgate/cert.pem --key /etc/xmppgate/key.pem --domain $DOMAIN --auth $KT/helper -- $KT/probe prog exec /usr/bin/python3 $KT/exec_backend.py /dev/null|" \
	"$UNIT" >"$R/etc/systemd/system/xmppgate-keytest@.service"
sed 's/^ListenStream=.*/ListenStream=5298/' "$top_srcdir/units/xmppgate.socket" \
	>"$R/etc/systemd/system/xmppgate-keytest.socket"
mkdir -p "$R/etc/systemd/system/xmppgate-keytest@.service.d"
cp "$R/etc/systemd/system/xmppgate@.service.d/passwd.conf" "$R/etc/systemd/system/xmppgate-keytest@.service.d/"
# The probe argument "helper" comes first for the helper (xmppgate runs it
# with no arguments): a wrapper gives it.
printf '#!/bin/sh\nexec %s/probe helper\n' "$KT" >"$R$KT/helper"
chmod 755 "$R$KT/helper"
in_ct 20 systemctl daemon-reload
in_ct 20 systemctl start xmppgate-keytest.socket || fail "xmppgate-keytest.socket did not start"
out=$(in_ct 40 $CLIENT --port 5298 --jid "alice@$DOMAIN" --password anything 2>&1) ||
	{ printf '%s\n' "$out" | indent; fail "login through the key test service failed"; }
echo "    $out"
for _ in $(seq 1 50); do
	in_ct 10 journalctl -o cat --no-pager | grep '^keyprobe ' >"$LOGS/keyprobe.txt"
	[ "$(grep -c . "$LOGS/keyprobe.txt")" -ge 2 ] && break
	sleep 0.2
done
indent <"$LOGS/keyprobe.txt"
grep -q '^keyprobe helper ' "$LOGS/keyprobe.txt" || fail "the helper probe did not report"
grep -q '^keyprobe prog ' "$LOGS/keyprobe.txt" || fail "the program probe did not report"
grep -q 'passwd=readable' "$LOGS/keyprobe.txt" || fail "the probes could not even read the passwd file"
if grep 'key=readable' "$LOGS/keyprobe.txt"; then
	fail "the helper or the program read the key"
fi
grep 'keyprobe prog' "$LOGS/keyprobe.txt" | grep -q 'cred=unset listen=unset' ||
	fail "CREDENTIALS_DIRECTORY or LISTEN_FDS reached the program"
for k in CapPrm CapEff CapAmb; do
	grep -q "$k:0000000000000000.*$k\|$k:0000000000000000" "$LOGS/keyprobe.txt" || fail "a probe has $k"
	if grep -v "$k:0000000000000000" "$LOGS/keyprobe.txt" | grep -q .; then
		fail "a probe holds capabilities ($k)"
	fi
done
in_ct 20 systemctl stop xmppgate-keytest.socket
pass "key denied to the helper and the program, no capabilities, no credentials"


# ---------------------------------------------------------------- cost
# XG_COST=1: what a systemd instance costs, with the shipped unit and with
# each expensive directive taken away on its own (a drop-in per variant).
# Per variant: the first-features latency of 40 connections, 5 a second
# (p50), and the spawn rate of 100 connections opened at once (100 divided
# by the time until the last one had its features).  Both from
# tests/storm.py inside the container; the machine's load shows in every
# row alike, so read the rows against each other.
if [ -n "${XG_COST:-}" ]; then
	check "cost of the service's directives (XG_COST=1)"
	# The variant with credentials: how the units read the key before
	# (LoadCredential=, a copy per instance on a mount of its own).
	D=$R/etc/systemd/system/xmppgate@.service.d/zz-cost.conf
	CRED='LoadCredential=cert:/etc/xmppgate/cert.pem
LoadCredential=key:/etc/xmppgate/key.pem
ExecStart=
ExecStart=-'"$XG_EXE"' --cert ${CREDENTIALS_DIRECTORY}/cert --key ${CREDENTIALS_DIRECTORY}/key $XMPPGATE_OPTS'
	NOMNT='ProtectSystem=no
ProtectHome=no
PrivateTmp=no
PrivateDevices=no
PrivateMounts=no
ProtectKernelTunables=no
ProtectKernelModules=no
ProtectKernelLogs=no
ProtectControlGroups=no
ProtectProc=default
ProcSubset=all'
	# name|drop-in; DynamicUser= implies PrivateTmp= and ProtectSystem=,
	# so the variants without a mount namespace run as a fixed user.
	variants=(
		"shipped|"
		"no DynamicUser (User=nobody)|DynamicUser=no
User=nobody"
		"with LoadCredential (as before)|$CRED"
		"no PrivateUsers|PrivateUsers=no"
		"no PrivateDevices|PrivateDevices=no"
		"no ProtectProc, ProcSubset|ProtectProc=default
ProcSubset=all"
		"no mount namespace (User=nobody)|DynamicUser=no
User=nobody
$NOMNT"
		"no seccomp filter|SystemCallFilter=
SystemCallArchitectures="
		"none of these (User=nobody)|DynamicUser=no
User=nobody
$NOMNT
PrivateUsers=no
SystemCallFilter=
SystemCallArchitectures="
	)
	printf '    %-36s %12s %12s\n' variant "p50 ms" "spawn/s" | tee "$LOGS/cost.txt"
	for v in "${variants[@]}"; do
		name=${v%%|*}
		dropin=${v#*|}
		if [ -n "$dropin" ]; then printf '[Service]\n%s\n' "$dropin" >"$D"; else rm -f "$D"; fi
		in_ct 30 systemctl daemon-reload || fail "daemon-reload for variant '$name'"
		lat=$(in_ct 150 $STORM --count 40 --within 8 --sources 40 --deadline 120 2>>"$LOGS/cost.err")
		p50=$(printf '%s\n' "$lat" | sed -n 's/.* p50_ms=\([0-9.]*\) .*/\1/p')
		wait_idle
		burst=$(in_ct 150 $STORM --count 100 --within 0 --sources 100 --deadline 120 2>>"$LOGS/cost.err")
		max=$(printf '%s\n' "$burst" | sed -n 's/.* max_ms=\([0-9.]*\) .*/\1/p')
		wait_idle
		printf '%s | %s\n' "$lat" "$burst" >>"$LOGS/cost-raw.txt"
		case $lat$burst in *" features=40 "*" features=100 "*) ;; *)
			printf '%s\n%s\n' "$lat" "$burst" | indent
			fail "variant '$name': not every connection got its features" ;;
		esac
		printf '    %-36s %12s %12s\n' "$name" "$p50" \
			"$(awk -v m="$max" 'BEGIN { printf "%.1f", 100000 / m }')" | tee -a "$LOGS/cost.txt"
	done
	rm -f "$D"
	in_ct 30 systemctl daemon-reload
	pass "cost measured ($LOGS/cost.txt)"
fi

# ---------------------------------------------------------------- pool
# The pooled mode under the shipped units, unchanged: xmppgate-pool.socket
# (Accept=no, port 5222) and xmppgate-pool.service, with the passwd
# drop-in as for xmppgate@.service (xmppgate(8) "systemd").  As
# xmppgate(8) "Pooled mode" says, the per-connection sockets are disabled
# first: the pool takes port 5222 in their place.  Then a login (which
# starts the service), the live pool and a child of it (the checks of
# the live instance above, with an empty bounding set: the pool's key
# comes as a credential), a reload (SIGHUP: a re-exec, the pid stays),
# and with XG_STORM the same storm as above: the socket and the service
# stay active (no restart), every connection gets its features within
# 30 s or is refused and counted in the pool's lines (flushed by a
# reload), no child is killed, and a login works right after.
# pool_refusals: the connections the pool refused so far, by its lines
# ("pool: N refused (...) since the last such line").
pool_refusals() {
	in_ct 20 journalctl -u xmppgate-pool.service -o cat --no-pager |
		sed -n 's/.* pool: \([0-9]*\) refused (.*/\1/p' | awk '{ s += $1 } END { print s + 0 }'
}
# pool_reload: systemctl reload, then wait until the pool says it has
# re-executed (at most 40 s); its MainPID stays.
pool_reload() {
	local n0 n pid0
	pid0=$(in_ct 10 systemctl show -p MainPID --value xmppgate-pool.service)
	n0=$(in_ct 20 journalctl -u xmppgate-pool.service -o cat --no-pager | grep -c 're-executed (SIGHUP)')
	in_ct 30 systemctl reload xmppgate-pool.service || fail "systemctl reload xmppgate-pool.service failed"
	for _ in $(seq 1 200); do
		n=$(in_ct 20 journalctl -u xmppgate-pool.service -o cat --no-pager | grep -c 're-executed (SIGHUP)')
		[ "$n" -gt "$n0" ] && break
		sleep 0.2
	done
	[ "$n" -gt "$n0" ] || {
		in_ct 10 journalctl -u xmppgate-pool.service -o cat --no-pager | tail -n 15 | indent
		fail "the pool did not re-execute on systemctl reload"
	}
	[ "$(in_ct 10 systemctl show -p MainPID --value xmppgate-pool.service)" = "$pid0" ] ||
		fail "the pool's MainPID changed on reload ($pid0)"
	in_ct 10 systemctl is-active --quiet xmppgate-pool.service ||
		fail "xmppgate-pool.service is not active after the reload"
}
# pool_login WHAT: alice logs in through port 5222.
pool_login() {
	local out
	# shellcheck disable=SC2086
	out=$(in_ct 60 $CLIENT --jid "alice@$DOMAIN" --password secret --to "alice@$DOMAIN" \
		--message "hello through xmppgate-pool.service" 2>"$LOGS/client-pool-$1.err") ||
		fail "login through the pool ($1): $out"
	case $out in
	*"login=ok bind=ok jid=alice@$DOMAIN/"*"message=ok"*) ;;
	*) fail "login through the pool ($1): $out" ;;
	esac
	echo "    $out"
}
if [ "${XG_RELAY:-1}" != 0 ]; then
	check "xmppgate-relay: its socket, service and sysusers.d file installed unchanged; a hand-off from the group"
	RUNIT=$top_builddir/units/xmppgate-relay.service
	[ -f "$RUNIT" ] || fail "no $RUNIT: run make first"
	RELAY_EXE=$(sed -n 's/^ExecStart=\([^ ]*\) .*/\1/p' "$RUNIT")
	case $RELAY_EXE in /*/xmppgate-relay) ;; *) fail "no ExecStart=/.../xmppgate-relay in $RUNIT" ;; esac
	install -D -m 755 "$RUN/xmppgate-relay" "$R$RELAY_EXE"
	install -m 644 "$top_srcdir/units/xmppgate-relay.socket" "$RUNIT" "$R/etc/systemd/system/"
	install -D -m 644 "$top_srcdir/units/xmppgate-relay.sysusers" "$R/usr/lib/sysusers.d/xmppgate-relay.conf"
	install -m 644 "$top_srcdir/tests/relayd_send.py" "$R$KT/"
	RSEND="/usr/bin/python3 $KT/relayd_send.py /run/xmppgate-relay.sock"
	in_ct 30 systemd-sysusers >"$LOGS/sysusers.log" 2>&1 ||
		{ indent <"$LOGS/sysusers.log"; fail "systemd-sysusers failed"; }
	rgid=$(in_ct 10 getent group xmppgate-relay | cut -d: -f3)
	[ -n "$rgid" ] || fail "systemd-sysusers made no group xmppgate-relay"
	in_ct 30 systemctl daemon-reload || fail "daemon-reload"
	in_ct 30 systemctl enable --now xmppgate-relay.socket >>"$LOGS/enable.log" 2>&1 ||
		{ indent <"$LOGS/enable.log"; fail "systemctl enable --now xmppgate-relay.socket failed"; }
	mode=$(in_ct 10 stat -c '%U:%G %a %F' /run/xmppgate-relay.sock)
	echo "    /run/xmppgate-relay.sock: $mode"
	[ "$mode" = "root:xmppgate-relay 660 socket" ] || fail "the socket is $mode"
	# As a per-connection service with SupplementaryGroups=xmppgate-relay
	# would: another user (nobody here), in the group.
	out=$(in_ct 120 setpriv --reuid=nobody --regid=nogroup --groups="$rgid" $RSEND flow 8 2>&1)
	printf '%s\n' "$out" | indent
	printf '%s\n' "$out" | grep -qx 'c2b bytes 8388608 sha256 same' &&
		printf '%s\n' "$out" | grep -qx 'b2c bytes 8388608 sha256 same' ||
		fail "the session through xmppgate-relay.service did not flow"
	for _ in $(seq 1 50); do
		sums=$(in_ct 10 journalctl -u xmppgate-relay.service -o cat --no-pager | grep ' summary ')
		[ -n "$sums" ] && break
		sleep 0.2
	done
	[ "$(printf '%s\n' "$sums" | grep -c .)" -eq 1 ] || fail "not one summary line from the relay: $sums"
	expect_summary "$sums" outcome=ok rx=$((1000 + 8388608)) tx=$((2000 + 8388608)) user=alice
	if in_ct 10 journalctl -u xmppgate-relay.service -o cat --no-pager |
		grep -iE 'not permitted|permission denied|EPERM|EACCES|fatal|seccomp|bad system call'; then
		fail "xmppgate-relay logged a denial or a fatal error (above)"
	fi
	pass "8 MiB each way from nobody in group $rgid, one summary line"

	check "a process outside the group cannot reach the relay"
	out=$(in_ct 30 setpriv --reuid=nobody --regid=nogroup --clear-groups $RSEND answer good 2>&1)
	echo "    $out"
	case $out in
	"(cannot connect: Permission denied)") ;;
	*) fail "a process outside the group got: $out" ;;
	esac
	pass "EACCES at connect (SocketMode=0660)"

	check "the live relay: user, capabilities, seccomp, mounts; exposure"
	rpid=$(in_ct 10 systemctl show -p MainPID --value xmppgate-relay.service)
	[ -n "$rpid" ] && [ "$rpid" != 0 ] || fail "xmppgate-relay.service has no main process"
	live_proc "$rpid" 0000000000000000 xmppgate-relay
	in_ct 10 grep -E '^Max open files' "/proc/$rpid/limits" | indent
	in_ct 30 systemd-analyze security --no-pager xmppgate-relay.service >"$LOGS/security-relay.txt" 2>&1
	rlevel=$(sed -n 's/.*Overall exposure level for .*: \([0-9][0-9.]*\) .*/\1/p' "$LOGS/security-relay.txt")
	grep '✗' "$LOGS/security-relay.txt" | indent
	[ -n "$rlevel" ] || { tail -n 5 "$LOGS/security-relay.txt"; fail "no exposure level for the relay"; }
	awk -v l="$rlevel" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(l <= m) }' ||
		fail "the relay's exposure $rlevel is above $MAX_EXPOSURE"
	pass "uid $uid, no capabilities, no_new_privs, seccomp, read-only /, no /proc/sys; exposure $rlevel"

	# relay_hold NAME: one idle session held by the relay, in the
	# background, until the relay ends it (bounded by relayd_send.py).
	relay_hold() {
		in_ct 10 rm -f "/tmp/relay-$1.ready"
		in_ct 90 setpriv --reuid=nobody --regid=nogroup --groups="$rgid" \
			$RSEND hold 1 "/tmp/relay-$1.ready" >"$LOGS/relay-$1.out" 2>&1 &
		HOLD_BG=$!
		for _ in $(seq 1 100); do
			in_ct 10 test -e "/tmp/relay-$1.ready" && return 0
			sleep 0.1
		done
		fail "the relay did not take the session ($1): $(cat "$LOGS/relay-$1.out")"
	}
	# relay_hold_ended NAME: the held session's both ends closed.
	relay_hold_ended() {
		local rc=0
		wait "$HOLD_BG" || rc=$?
		grep -q '^ended 2 of 2 ends' "$LOGS/relay-$1.out" && [ "$rc" -eq 0 ] ||
			fail "the held session ($1) was not ended: $(cat "$LOGS/relay-$1.out")"
	}

	check "systemctl stop xmppgate-relay.service ends a held session with its summary"
	relay_hold stop
	# (systemctl warns that the socket can start it again: it should.)
	in_ct 30 systemctl stop xmppgate-relay.service >>"$LOGS/enable.log" 2>&1 ||
		fail "systemctl stop xmppgate-relay.service"
	relay_hold_ended stop
	in_ct 10 journalctl -u xmppgate-relay.service -o cat --no-pager |
		grep -q ' summary .*outcome=ok reason="relay stopping"' ||
		fail "no 'relay stopping' summary"
	in_ct 10 systemctl is-active --quiet xmppgate-relay.socket || fail "the socket stopped with the service"
	pass "relay stopping, the socket still listening"

	check "a SIGKILLed relay cuts its sessions only, and the next hand-off is served"
	relay_hold kill
	rpid=$(in_ct 10 systemctl show -p MainPID --value xmppgate-relay.service)
	# As a crash: the main process killed, Restart=always applies.
	in_ct 10 systemctl kill --kill-whom=main --signal=SIGKILL xmppgate-relay.service ||
		fail "systemctl kill xmppgate-relay.service"
	relay_hold_ended kill
	out=$(in_ct 120 setpriv --reuid=nobody --regid=nogroup --groups="$rgid" $RSEND flow 1 2>&1)
	printf '%s\n' "$out" | grep -qx 'c2b bytes 1048576 sha256 same' ||
		{ printf '%s\n' "$out" | indent; fail "no hand-off served after the relay was killed"; }
	rpid2=$(in_ct 10 systemctl show -p MainPID --value xmppgate-relay.service)
	echo "    main pid $rpid killed, now $rpid2; NRestarts $(in_ct 10 systemctl show -p NRestarts --value xmppgate-relay.service)"
	[ "$rpid2" != "$rpid" ] || fail "the relay was not restarted"
	pass "restarted, served"
fi

if [ "${XG_POOL:-1}" != 0 ]; then
	check "the pooled mode: xmppgate-pool.socket and .service installed unchanged, in xmppgate.socket's place"
	PUNIT=$top_builddir/units/xmppgate-pool.service
	[ -f "$PUNIT" ] || fail "no $PUNIT: run make first"
	grep -q "^ExecStart=$XG_EXE --listen " "$PUNIT" || fail "$PUNIT does not run $XG_EXE --listen"
	install -m 644 "$top_srcdir/units/xmppgate-pool.socket" "$PUNIT" "$R/etc/systemd/system/"
	mkdir -p "$R/etc/systemd/system/xmppgate-pool.service.d"
	cp "$R/etc/systemd/system/xmppgate@.service.d/passwd.conf" \
		"$R/etc/systemd/system/xmppgate-pool.service.d/"
	in_ct 30 systemctl disable --now xmppgate.socket xmppgate-direct.socket >>"$LOGS/enable.log" 2>&1 ||
		{ indent <"$LOGS/enable.log"; fail "systemctl disable --now xmppgate.socket xmppgate-direct.socket failed"; }
	wait_idle
	in_ct 30 systemctl daemon-reload || fail "daemon-reload"
	in_ct 30 systemctl enable --now xmppgate-pool.socket >>"$LOGS/enable.log" 2>&1 ||
		{ indent <"$LOGS/enable.log"; fail "systemctl enable --now xmppgate-pool.socket failed"; }
	for _ in $(seq 1 100); do
		listening 5222 && break
		sleep 0.2
	done
	listening 5222 || fail "nothing listens on port 5222 after xmppgate-pool.socket started"
	in_ct 10 systemctl is-active --quiet xmppgate-pool.socket || fail "xmppgate-pool.socket is not active"
	st=$(in_ct 10 systemctl is-active xmppgate-pool.service)
	[ "$st" = inactive ] || fail "xmppgate-pool.service is $st before the first connection"
	pass "xmppgate-pool.socket listening on 5222, the service waits for the first connection"

	check "a login through the pool starts xmppgate-pool.service (Type=notify)"
	pool_login first
	in_ct 10 systemctl is-active --quiet xmppgate-pool.service || fail "xmppgate-pool.service is not active"
	for _ in $(seq 1 100); do
		sums=$(in_ct 10 journalctl -u xmppgate-pool.service -o cat --no-pager | grep ' summary .*outcome=ok')
		[ -n "$sums" ] && break
		sleep 0.2
	done
	[ -n "$sums" ] || fail "no outcome=ok summary line from xmppgate-pool.service"
	expect_summary "$(printf '%s\n' "$sums" | sed -n 1p)" outcome=ok user=alice domain=$DOMAIN \
		backend=127.0.0.1:5322 rx='>0' tx='>0' client='*'
	in_ct 10 journalctl -u xmppgate-pool.service -o cat --no-pager | grep ' pool: ' | indent
	pass "logged in, one summary line, the pool's lines in its unit's journal"

	check "the live pool and a child of it: user, capabilities, seccomp, mounts; exposure"
	in_ct 10 rm -f /run/unit-check-release
	in_ct 20 /usr/bin/python3 -c '
import os, socket, time
s = socket.create_connection(("127.0.0.1", 5222))
s.sendall(b"<?xml version=\"1.0\"?><stream:stream to=\"'"$DOMAIN"'\" xmlns=\"jabber:client\" xmlns:stream=\"http://etherx.jabber.org/streams\" version=\"1.0\">")
for i in range(150):
    if os.path.exists("/run/unit-check-release"):
        break
    time.sleep(0.1)
' >/dev/null 2>&1 &
	HOLD_PID=$!
	ppid=$(in_ct 10 systemctl show -p MainPID --value xmppgate-pool.service)
	kid=
	for _ in $(seq 1 50); do
		kid=$(in_ct 10 cat "/proc/$ppid/task/$ppid/children" | awk '{ print $1 }')
		[ -n "$kid" ] && break
		sleep 0.2
	done
	[ -n "$kid" ] || fail "no child of the pool ($ppid) while a connection is open"
	echo "    the pool, pid $ppid:"
	live_proc "$ppid" 0000000000000000 "the pool"
	puid=$uid
	echo "    its child, pid $kid:"
	live_proc "$kid" 0000000000000000 "a child of the pool"
	[ "$uid" = "$puid" ] || fail "the child runs as $uid, the pool as $puid"
	in_ct 10 ls -ln /run/credentials/xmppgate-pool.service 2>&1 | indent
	in_ct 30 systemd-analyze security --no-pager xmppgate-pool.service >"$LOGS/security-pool.txt" 2>&1
	plevel=$(sed -n 's/.*Overall exposure level for .*: \([0-9][0-9.]*\) .*/\1/p' "$LOGS/security-pool.txt")
	grep '✗' "$LOGS/security-pool.txt" | indent
	[ -n "$plevel" ] || { tail -n 5 "$LOGS/security-pool.txt"; fail "no exposure level for the pool"; }
	awk -v l="$plevel" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(l <= m) }' ||
		fail "the pool's exposure $plevel is above $MAX_EXPOSURE"
	release
	pass "uid $uid for both, no capabilities (empty bounding set), no_new_privs, seccomp, read-only /, no /proc/sys; exposure $plevel"

	check "systemctl reload xmppgate-pool.service: SIGHUP, a re-exec, the pid stays; a login after"
	pool_reload
	in_ct 10 journalctl -u xmppgate-pool.service -o cat --no-pager | grep 'SIGHUP' | indent
	pool_login reload
	pass "reloaded, logged in after"

	if [ "${XG_STORM:-1}" != 0 ]; then
		check "a storm of 2000 connections in 2 s from 200 addresses against the pool"
		ppid=$(in_ct 10 systemctl show -p MainPID --value xmppgate-pool.service)
		r0=$(pool_refusals)
		# shellcheck disable=SC2086
		out=$(in_ct 90 $STORM --count 2000 --within 2 --sources 200 2>"$LOGS/storm-pool.err")
		rc=$?
		echo "    $out"
		printf '%s\n' "$out" >"$LOGS/storm-pool.txt"
		pool_reload	# the refusal counts it holds back are written
		r1=$(pool_refusals)
		refused=$(printf '%s\n' "$out" | sed -n 's/.* refused=\([0-9]*\) .*/\1/p')
		features=$(printf '%s\n' "$out" | sed -n 's/.* features=\([0-9]*\) .*/\1/p')
		[ -n "$features" ] && [ -n "$refused" ] ||
			fail "pool storm: no result line ($(head -c 300 "$LOGS/storm-pool.err"))"
		echo "    xmppgate-pool.socket $(in_ct 10 systemctl is-active xmppgate-pool.socket)," \
			"xmppgate-pool.service $(in_ct 10 systemctl is-active xmppgate-pool.service)," \
			"NRestarts $(in_ct 10 systemctl show -p NRestarts --value xmppgate-pool.service)," \
			"refusals counted $r0 -> $r1"
		in_ct 10 systemctl is-active --quiet xmppgate-pool.socket || fail "pool storm: the socket is not active"
		in_ct 10 systemctl is-active --quiet xmppgate-pool.service || fail "pool storm: the service is not active"
		[ "$(in_ct 10 systemctl show -p MainPID --value xmppgate-pool.service)" = "$ppid" ] ||
			fail "pool storm: the pool was restarted (MainPID $ppid)"
		in_ct 10 journalctl -b -o cat --no-pager | grep 'Suppressed .*xmppgate-pool' | indent
		in_ct 10 journalctl -u xmppgate-pool.service -o cat --no-pager | grep -E ' pool: [0-9]* refused \(| pool: child [0-9]* .*killed by signal| pool: fatal' |
			tail -n 20 | indent
		in_ct 10 journalctl -u xmppgate-pool.service -o cat --no-pager |
			grep -qE ' pool: child [0-9]* .*killed by signal| pool: fatal' &&
			fail "pool storm: a child was killed by a signal or the pool failed"
		[ "$rc" -eq 0 ] || fail "pool storm: a connection timed out or broke"
		[ "$((r1 - r0))" -eq "$refused" ] ||
			fail "pool storm: clients saw $refused refusals, the pool counted $((r1 - r0))"
		pool_login storm
		pass "socket and service active, $features served, $refused refused and counted, login after it ok"
	fi
fi

if [ "${XG_S2SOUT:-1}" != 0 ]; then
	check "xmppgate-s2s-out: its socket and service installed unchanged; the backend's stream to a domain no DNS server answers for"
	OUNIT=$top_builddir/units/xmppgate-s2s-out@.service
	[ -f "$OUNIT" ] || fail "no $OUNIT: run make first"
	install -m 644 "$top_srcdir/units/xmppgate-s2s-out.socket" "$OUNIT" "$R/etc/systemd/system/"
	# /etc/xmppgate is the helper's group's here (above): the same drop-in.
	mkdir -p "$R/etc/systemd/system/xmppgate-s2s-out@.service.d"
	cp "$R/etc/systemd/system/xmppgate@.service.d/passwd.conf" \
		"$R/etc/systemd/system/xmppgate-s2s-out@.service.d/"
	install -m 644 "$top_srcdir/tests/s2s_out_raw.py" "$R$KT/"
	# No DNS server in the private network: libunbound's queries go to
	# 127.0.0.1:53, where nothing listens.  The root file system has no
	# ca-certificates: the test CA stands for the system store.
	printf 'XMPPGATE_S2S_OUT_OPTS="--domain %s --dns-server 127.0.0.1@53 --backend-timeout 5 --s2s-ca %s/ca.pem"\n' \
		"$DOMAIN" "$KT" >"$R/etc/default/xmppgate-s2s-out"
	in_ct 30 systemctl daemon-reload || fail "daemon-reload"
	in_ct 30 systemctl enable --now xmppgate-s2s-out.socket >>"$LOGS/enable.log" 2>&1 ||
		{ indent <"$LOGS/enable.log"; fail "systemctl enable --now xmppgate-s2s-out.socket failed"; }
	out=$(in_ct 60 /usr/bin/python3 "$KT/s2s_out_raw.py" 5271 --from "$DOMAIN" \
		--to nowhere.example.net --timeout 30 2>&1)
	echo "    $out"
	[ "$out" = "PROXY=local error=remote-connection-failed text=the remote server is not reachable" ] ||
		fail "xmppgate-s2s-out@.service did not answer with PROXY LOCAL and <remote-connection-failed/>"
	for _ in $(seq 1 50); do
		sums=$(in_ct 10 journalctl -t xmppgate -o cat --no-pager | grep ' summary .*server=nowhere.example.net ')
		[ -n "$sums" ] && break
		sleep 0.2
	done
	echo "    $sums"
	expect_summary "$sums" domain=$DOMAIN outcome=tempfail
	in_ct 10 systemctl --failed --no-legend | grep -q 'xmppgate-s2s-out' &&
		fail "an xmppgate-s2s-out instance failed"
	if in_ct 10 journalctl -t xmppgate -o cat --no-pager | grep 'nowhere.example.net' |
		grep -iE 'not permitted|permission denied|EPERM|EACCES|fatal|seccomp|bad system call'; then
		fail "xmppgate --s2s-out logged a denial or a fatal error (above)"
	fi
	pass "PROXY LOCAL and the stream error from the hardened service, one summary line"
fi

# ---------------------------------------------------------------- collect
in_ct 20 journalctl -b -o short-precise --no-pager >"$LOGS/journal.txt" 2>&1
RESULT=0
