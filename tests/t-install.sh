#!/bin/bash
# `make install DESTDIR=...` with a prefix other than the configured one:
# the installed services and manual pages name the programs where they
# were installed, and those exist (./configure && make && make install
# once put /usr/local/sbin/xmppgate on disk and /usr/sbin/xmppgate in the
# unit).  `make uninstall` takes every file away again.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

require_xmppgate
D=$XG_TMP/dest
P=/opt/xg-prefix-test

check "make install DESTDIR=... prefix=$P"
make -s -C "$top_builddir" install DESTDIR="$D" prefix="$P" >"$XG_TMP/install.log" 2>&1 ||
	{ show_log "$XG_TMP/install.log"; fail "make install failed"; }
[ -x "$D$P/sbin/xmppgate" ] || fail "no $P/sbin/xmppgate"
[ -x "$D$P/libexec/xmppgate/xmppgate-auth-passwd" ] || fail "no $P/libexec/xmppgate/xmppgate-auth-passwd"
pass "installed"

check "the installed units run the installed xmppgate and helper"
U=$(find "$D" -name 'xmppgate@.service' -type f)
[ -n "$U" ] || fail "no xmppgate@.service installed"
UD=$(dirname "$U")
[ "$(readlink "$UD/xmppgate-direct@.service")" = xmppgate@.service ] ||
	fail "xmppgate-direct@.service is not a link to xmppgate@.service"
for u in xmppgate@.service xmppgate-s2s@.service; do
	f=$UD/$u
	[ -f "$f" ] || fail "no $u installed"
	exe=$(sed -n 's/^ExecStart=-\([^ ]*\) .*/\1/p' "$f")
	echo "    $u: ExecStart $exe"
	[ "$exe" = "$P/sbin/xmppgate" ] || fail "$u runs $exe, not $P/sbin/xmppgate"
done
f=$UD/xmppgate-pool.service
[ -f "$f" ] && [ -f "$UD/xmppgate-pool.socket" ] || fail "no xmppgate-pool.service and .socket installed"
exe=$(sed -n 's/^ExecStart=\([^ ]*\) --listen .*/\1/p' "$f")
echo "    xmppgate-pool.service: ExecStart $exe"
[ "$exe" = "$P/sbin/xmppgate" ] || fail "xmppgate-pool.service runs $exe, not $P/sbin/xmppgate"
f=$UD/xmppgate-relay.service
[ -f "$f" ] && [ -f "$UD/xmppgate-relay.socket" ] || fail "no xmppgate-relay.service and .socket installed"
exe=$(sed -n 's/^ExecStart=\([^ ]*\) .*/\1/p' "$f")
echo "    xmppgate-relay.service: ExecStart $exe"
[ "$exe" = "$P/sbin/xmppgate-relay" ] || fail "xmppgate-relay.service runs $exe, not $P/sbin/xmppgate-relay"
[ -x "$D$P/sbin/xmppgate-relay" ] || fail "no $P/sbin/xmppgate-relay"
grep -qx 'g xmppgate-relay -' "$D$P/lib/sysusers.d/xmppgate-relay.conf" ||
	fail "no $P/lib/sysusers.d/xmppgate-relay.conf making the group xmppgate-relay"
grep -q "^Environment=\"XMPPGATE_OPTS=.*--auth $P/libexec/xmppgate/xmppgate-auth-passwd " "$U" ||
	fail "xmppgate@.service's default --auth is not $P/libexec/xmppgate/xmppgate-auth-passwd"
pass "$P/sbin/xmppgate, $P/libexec/xmppgate/xmppgate-auth-passwd"

check "the installed manual pages name the installed programs, and they exist"
M="$D$P/share/man/man8/xmppgate.8 $D$P/share/man/man8/xmppgate-relay.8 $D$P/share/man/man5/xmppgate-auth.5 $D$P/share/man/man5/xmppgate-cert.5"
for m in $M; do
	[ -f "$m" ] || fail "no ${m#"$D"}"
done
# shellcheck disable=SC2086
if grep -n '@[a-z]*dir@\|/usr/sbin/xmppgate\|/usr/libexec/xmppgate\|/usr/local/sbin/xmppgate\|/usr/local/libexec/xmppgate' $M "$UD/xmppgate@.service" "$UD/xmppgate-s2s@.service" "$UD/xmppgate-pool.service" "$UD/xmppgate-relay.service"; then
	fail "paths of another prefix, or left unsubstituted, above"
fi
n=0
# shellcheck disable=SC2086
for p in $(cat $M "$UD"/xmppgate*@.service "$UD"/xmppgate-pool.service "$UD"/xmppgate-relay.service | grep -o "$P/[A-Za-z0-9_./-]*" | sort -u); do
	[ -e "$D$p" ] || fail "$p is named but not installed"
	n=$((n + 1))
done
[ "$n" -ge 3 ] || fail "only $n paths under $P named"
pass "$n paths under $P named, all installed"

check "make uninstall leaves no file"
make -s -C "$top_builddir" uninstall DESTDIR="$D" prefix="$P" >"$XG_TMP/uninstall.log" 2>&1 ||
	{ show_log "$XG_TMP/uninstall.log"; fail "make uninstall failed"; }
left=$(find "$D" \( -type f -o -type l \) | head -n 5)
[ -z "$left" ] || fail "left after make uninstall: $left"
pass "none"
