/*
 * libFuzzer target: route mode's map (src/routemap.c), route_lookup.
 *
 * The input is a domain, a NUL, and a map (an input without a NUL is all
 * map, looked up for "a.example").  The map is an operator's file, not a
 * client's bytes, but the domain is the client's, and a map is read by
 * every connection.  Checks:
 * - checking the whole map (domain NULL) never finds anything: it says
 *   ROUTE_NONE or ROUTE_BAD, and ROUTE_BAD names a line that exists and
 *   a reason;
 * - a good map never makes a lookup ROUTE_BAD, except for a domain that
 *   is listed twice; a bad map makes every lookup ROUTE_BAD at the same
 *   line (or at an earlier second line of the domain looked up);
 * - ROUTE_FOUND gives an address netaddr_parse() would give: a unix path
 *   that starts with '/', or a host and a port of 1 to 5 digits;
 * - the map is read exactly within its bytes (an exact-size copy, so ASan
 *   sees any read past the end), and longer than XG_ROUTE_MAP_MAX it is
 *   refused.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "xmppgate.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t
lines_in(const char *m, size_t len)
{
	size_t i, n = len > 0;

	for (i = 0; i < len; i++)
		if (m[i] == '\n' && i + 1 < len)
			n++;
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char dom[XG_DOMAIN_MAX + 1], raw[XG_DOMAIN_MAX + 1];
	const uint8_t *nul;
	const char *why, *why2;
	struct netaddr na;
	size_t line, line2, mlen;
	char *map;
	int r, r2;

	nul = memchr(data, '\0', size < sizeof(raw) ? size : sizeof(raw));
	if (nul != NULL) {
		memcpy(raw, data, (size_t)(nul - data) + 1);
		mlen = size - (size_t)(nul - data) - 1;
		data = nul + 1;
	} else {
		strcpy(raw, "a.example");
		mlen = size;
	}
	map = malloc(mlen ? mlen : 1);
	FUZZ_CHECK(map != NULL);
	memcpy(map, data, mlen);

	r = route_lookup(map, mlen, NULL, &na, &line, &why);
	FUZZ_CHECK(r == ROUTE_NONE || r == ROUTE_BAD);
	if (r == ROUTE_BAD) {
		FUZZ_CHECK(why != NULL);
		FUZZ_CHECK(mlen > XG_ROUTE_MAP_MAX ||
		    (line >= 1 && line <= lines_in(map, mlen)));
	}
	if (xg_domain_normalize(raw, dom, sizeof(dom)) == 0) {
		r2 = route_lookup(map, mlen, dom, &na, &line2, &why2);
		if (r == ROUTE_BAD) {
			/* ... or earlier, at the domain's second line. */
			FUZZ_CHECK(r2 == ROUTE_BAD && (line2 == line ||
			    (line2 < line &&
			    strcmp(why2, "a domain twice") == 0)));
		} else if (r2 == ROUTE_BAD) {
			FUZZ_CHECK(strcmp(why2, "a domain twice") == 0);
		} else if (r2 == ROUTE_FOUND) {
			if (na.is_unix)
				FUZZ_CHECK(na.host[0] == '/');
			else
				FUZZ_CHECK(na.host[0] != '\0' &&
				    strlen(na.port) >= 1 &&
				    strlen(na.port) <= 5);
		}
		if (fz_show())
			fprintf(stderr, "route: check %d lookup %s: %d\n", r,
			    dom, r2);
	}
	free(map);
	return 0;
}
