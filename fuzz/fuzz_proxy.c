/*
 * libFuzzer target: the PROXY protocol (src/proxyproto.c), proxy_parse
 * and proxy_build.
 *
 * The input is first parsed as what a load balancer sent.  Checks:
 * - PP_OK: the header is 15..4096 bytes and within the input; parsing
 *   just the header gives the same answer; every shorter prefix asks for
 *   more, never for a byte past the header (so arrival.c, which reads what
 *   is asked for, never takes a byte of the client's); a client address
 *   is one inet_pton() takes, in canonical text, with ports 0..65535; and
 *   building a header from the result and parsing it gives it back.
 * - PP_MORE: it asks for more than it has, within the named limits, and
 *   every prefix asks for more too (a prefix is never refused when the
 *   whole is not).
 * - PP_BAD: a reason is given.
 * A good header's framing is also checked against a small model of the
 * specification (model_framing).
 * The input is then split at NULs into the four strings proxy_build takes
 * (client address and port, our address and port): each version's header
 * must parse back to those addresses when they are IP addresses and
 * ports, and to "no client address" otherwise.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "xmppgate.h"
#include "fuzz_common.h"

#define PREFIX_ALL	256	/* headers up to this long: every prefix */

static void
check_canonical(const char *ip, const char *port)
{
	unsigned char bin[16];
	char txt[64];
	char *end;
	unsigned long v;
	int af = strchr(ip, ':') ? AF_INET6 : AF_INET;

	FUZZ_CHECK(inet_pton(af, ip, bin) == 1);
	FUZZ_CHECK(inet_ntop(af, bin, txt, sizeof(txt)) != NULL);
	FUZZ_CHECK(strcmp(txt, ip) == 0);
	FUZZ_CHECK(port[0] >= '0' && port[0] <= '9');
	v = strtoul(port, &end, 10);
	FUZZ_CHECK(*end == '\0' && v <= 65535);
	FUZZ_CHECK(port[0] != '0' || port[1] == '\0');
}

static void
check_prefixes(const uint8_t *d, size_t n, size_t limit)
{
	struct proxy_info pi;
	const char *why;
	size_t k, used, step = n > PREFIX_ALL ? n / 64 + 1 : 1;

	for (k = 0; k < n; k += step) {
		FUZZ_CHECK(proxy_parse(d, k, &pi, &used, &why) == PP_MORE);
		FUZZ_CHECK(used > k && used <= limit);
	}
	if (n > 0) {
		FUZZ_CHECK(proxy_parse(d, n - 1, &pi, &used, &why) == PP_MORE);
		FUZZ_CHECK(used > n - 1 && used <= limit);
	}
}

/*
 * A model of a good header's framing, written from the specification:
 * v1 is "PROXY " and printable ASCII up to the first CRLF, with exactly
 * six single-space separated fields for TCP4/TCP6 (after UNKNOWN,
 * anything printable); v2's TLVs after the
 * family's address block fill the header exactly (LOCAL and UNSPEC
 * blocks are not looked into).
 */
static void
model_framing(const uint8_t *d, size_t used, const struct proxy_info *pi)
{
	size_t i, sp = 0, alen, p, tl;

	if (pi->version == 1) {
		FUZZ_CHECK(memcmp(d, "PROXY ", 6) == 0);
		FUZZ_CHECK(d[used - 2] == '\r' && d[used - 1] == '\n');
		for (i = 0; i < used - 2; i++) {
			FUZZ_CHECK(d[i] >= 0x20 && d[i] <= 0x7e);
			if (d[i] == ' ' && !pi->local) {
				FUZZ_CHECK(i + 1 < used - 2 && d[i + 1] != ' ');
				sp++;
			}
		}
		if (!pi->local)
			FUZZ_CHECK(sp == 5);
		else
			FUZZ_CHECK(memcmp(d + 6, "UNKNOWN", 7) == 0);
		return;
	}
	FUZZ_CHECK(used >= 16 && d[12] >> 4 == 2 && (d[12] & 15) <= 1);
	FUZZ_CHECK(used == 16 + ((size_t)d[14] << 8 | d[15]));
	if ((d[12] & 15) == 0 || d[13] == 0) {
		FUZZ_CHECK(pi->local);
		return;
	}
	switch (d[13]) {
	case 0x11: case 0x12: alen = 12; break;
	case 0x21: case 0x22: alen = 36; break;
	case 0x31: case 0x32: alen = 216; break;
	default: FUZZ_CHECK(0); return;
	}
	FUZZ_CHECK(pi->local == !(d[13] == 0x11 || d[13] == 0x21));
	for (p = 16 + alen; p < used; p += 3 + tl) {
		FUZZ_CHECK(used - p >= 3);
		tl = (size_t)d[p + 1] << 8 | d[p + 2];
		FUZZ_CHECK(tl <= used - p - 3);
	}
	FUZZ_CHECK(p == used);
}

static void
parse_checks(const uint8_t *d, size_t n)
{
	struct proxy_info pi, pi2;
	uint8_t out[XG_PROXY_OUT_MAX];
	const char *why = NULL;
	size_t used = 0, used2, m;
	int r;

	r = proxy_parse(d, n, &pi, &used, &why);
	if (r == PP_BAD) {
		FUZZ_CHECK(why != NULL && why[0] != '\0');
		return;
	}
	if (r == PP_MORE && n == 0) {
		FUZZ_CHECK(used == 1);
		return;
	}
	if (r == PP_MORE) {
		FUZZ_CHECK(used > n);
		FUZZ_CHECK(used <= (d[0] == 'P' ? XG_PROXY_V1_MAX :
		    XG_PROXY_HDR_MAX));
		check_prefixes(d, n, used);
		return;
	}
	FUZZ_CHECK(r == PP_OK);
	FUZZ_CHECK(used >= 15 && used <= n && used <= XG_PROXY_HDR_MAX);
	FUZZ_CHECK(pi.version == (d[0] == 'P' ? 1 : 2));
	if (pi.version == 1)
		FUZZ_CHECK(used <= XG_PROXY_V1_MAX);
	FUZZ_CHECK(proxy_parse(d, used, &pi2, &used2, &why) == PP_OK);
	FUZZ_CHECK(used2 == used && memcmp(&pi, &pi2, sizeof(pi)) == 0);
	check_prefixes(d, used, used);
	model_framing(d, used, &pi);
	if (pi.local) {
		FUZZ_CHECK(pi.src_ip[0] == '\0' && pi.dst_ip[0] == '\0');
		return;
	}
	check_canonical(pi.src_ip, pi.src_port);
	check_canonical(pi.dst_ip, pi.dst_port);
	m = proxy_build(pi.version, pi.src_ip, pi.src_port, pi.dst_ip,
	    pi.dst_port, out, sizeof(out));
	FUZZ_CHECK(m > 0);
	FUZZ_CHECK(proxy_parse(out, m, &pi2, &used2, &why) == PP_OK);
	FUZZ_CHECK(used2 == m && !pi2.local);
	FUZZ_CHECK(strcmp(pi.src_ip, pi2.src_ip) == 0);
	FUZZ_CHECK(strcmp(pi.dst_ip, pi2.dst_ip) == 0);
	FUZZ_CHECK(strcmp(pi.src_port, pi2.src_port) == 0);
	FUZZ_CHECK(strcmp(pi.dst_port, pi2.dst_port) == 0);
}

/* An IP address inet_pton() takes, and a port 0..65535 as we write it. */
static int
usable(const char *ip, const char *port)
{
	unsigned char bin[16];
	size_t i, n = strlen(port);

	if (inet_pton(AF_INET, ip, bin) != 1 &&
	    inet_pton(AF_INET6, ip, bin) != 1)
		return 0;
	if (n == 0 || n > 5 || (n > 1 && port[0] == '0'))
		return 0;
	for (i = 0; i < n; i++)
		if (port[i] < '0' || port[i] > '9')
			return 0;
	return strtoul(port, NULL, 10) <= 65535;
}

static void
build_checks(const uint8_t *d, size_t n)
{
	char f[4][80];
	uint8_t out[XG_PROXY_OUT_MAX];
	struct proxy_info pi;
	const char *why;
	size_t i, k = 0, j = 0, m, used;
	int v, ok;

	memset(f, 0, sizeof(f));
	for (i = 0; i < n && k < 4; i++) {
		if (d[i] == '\0') {
			k++;
			j = 0;
		} else if (j < sizeof(f[0]) - 1)
			f[k][j++] = (char)d[i];
	}
	ok = usable(f[0], f[1]) && usable(f[2], f[3]);
	for (v = 1; v <= 2; v++) {
		m = proxy_build(v, f[0], f[1], f[2], f[3], out, sizeof(out));
		FUZZ_CHECK(m > 0);
		FUZZ_CHECK(proxy_parse(out, m, &pi, &used, &why) == PP_OK);
		FUZZ_CHECK(used == m && pi.version == v);
		FUZZ_CHECK(pi.local == !ok);
		if (!ok)
			continue;
		/* Same address, maybe in canonical or IPv4 text. */
		for (k = 0; k < 2; k++) {
			unsigned char a[16], b[16];
			const char *got = k ? pi.dst_ip : pi.src_ip;
			const char *want = f[2 * k];
			int wa = strchr(want, ':') ? AF_INET6 : AF_INET;
			int ga = strchr(got, ':') ? AF_INET6 : AF_INET;

			FUZZ_CHECK(inet_pton(wa, want, a) == 1);
			FUZZ_CHECK(inet_pton(ga, got, b) == 1);
			if (wa == ga)
				FUZZ_CHECK(memcmp(a, b, wa == AF_INET ? 4 :
				    16) == 0);
			else if (wa == AF_INET6)	/* mapped, given back */
				FUZZ_CHECK(memcmp(a + 12, b, 4) == 0);
			else
				FUZZ_CHECK(0);
			FUZZ_CHECK(strtoul(k ? pi.dst_port : pi.src_port,
			    NULL, 10) == strtoul(f[2 * k + 1], NULL, 10));
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	parse_checks(data, size);
	build_checks(data, size);
	return 0;
}
