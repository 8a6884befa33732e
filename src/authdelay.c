/*
 * The delay before a failed authentication attempt is answered: the
 * first is --auth-delay, each further one doubles it, up to
 * XG_AUTH_DELAY_MAX.  Computed without a shift that could overflow: with
 * --max-attempts 100 a plain "base << (failed - 1)" is undefined from
 * the 65th failure and, on x86-64, negative (no delay at all) from the
 * 55th.
 */
#include "xmppgate.h"

int
xg_fail_delay_ms(int base_ms, int failed)
{
	int64_t d = base_ms;
	int i;

	if (base_ms <= 0 || failed <= 0)
		return 0;
	if (base_ms >= XG_AUTH_DELAY_MAX)
		return XG_AUTH_DELAY_MAX;
	/* d < XG_AUTH_DELAY_MAX before each doubling: no overflow, and at
	 * most about 15 rounds. */
	for (i = 1; i < failed && d < XG_AUTH_DELAY_MAX; i++)
		d *= 2;
	return d > XG_AUTH_DELAY_MAX ? XG_AUTH_DELAY_MAX : (int)d;
}
