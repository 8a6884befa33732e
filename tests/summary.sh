# tests/summary.sh -- reading xmppgate's summary lines (xmppgate(8) LOGGING),
# sourced by tests/lib.sh and scripts/unit-check.sh.  The caller defines
# fail MESSAGE.

# summary_field LINE KEY: the value of KEY= in a summary line.
summary_field() {
	printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}

# expect_summary LINE KEY=VALUE...: each field has the value ("*" matches
# any value that is not "-"; ">0" means a number above zero; "a|b" either).
expect_summary() {
	local line=$1 kv k v got
	shift
	for kv in "$@"; do
		k=${kv%%=*}
		v=${kv#*=}
		got=$(summary_field "$line" "$k")
		case $v in
		'*') [ -n "$got" ] && [ "$got" != - ] ||
			fail "summary: $k should be set: $line" ;;
		'>0') case $got in
			'' | *[!0-9]*) fail "summary: $k=$got is not a number: $line" ;;
			esac
			[ "$got" -gt 0 ] || fail "summary: $k should be > 0: $line" ;;
		*'|'*) case "|$v|" in
			*"|$got|"*) ;;
			*) fail "summary: expected $k=$v, got $k=$got: $line" ;;
			esac ;;
		*) [ "$got" = "$v" ] || fail "summary: expected $k=$v, got $k=$got: $line" ;;
		esac
	done
}
