/* Unit tests for proxyproto.c: PROXY v1/v2 parsing and building, and the
 * --trusted-proxy ranges. */
#include <stdlib.h>
#include <string.h>
#include <check.h>
#include "xmppgate.h"

struct good {
	const char *in;
	size_t	len;		/* 0: strlen(in) */
	int	version, local;
	const char *sip, *sport, *dip, *dport;
};

#define V2SIG "\r\n\r\n\0\r\nQUIT\n"

static const struct good goods[] = {
	{ "PROXY TCP4 192.0.2.7 127.0.0.1 40000 5222\r\n", 0, 1, 0,
	    "192.0.2.7", "40000", "127.0.0.1", "5222" },
	{ "PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n", 0, 1, 0,
	    "0.0.0.0", "0", "255.255.255.255", "65535" },
	{ "PROXY TCP6 2001:db8::7 ::1 1 2\r\n", 0, 1, 0,
	    "2001:db8::7", "1", "::1", "2" },
	{ "PROXY TCP6 2001:DB8:0:0::7 0::1 1 2\r\n", 0, 1, 0,
	    "2001:db8::7", "1", "::1", "2" },	/* canonical text */
	{ "PROXY TCP6 ::ffff:192.0.2.9 ::ffff:127.0.0.1 9 10\r\n", 0, 1, 0,
	    "192.0.2.9", "9", "127.0.0.1", "10" },	/* mapped: IPv4 */
	{ "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n", 0, 1, 0,
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "65535",
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "65535" },
	{ "PROXY UNKNOWN\r\n", 0, 1, 1, "", "", "", "" },
	{ "PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n", 0, 1, 1, "", "", "", "" },
	/* v2, TCP over IPv4: 198.51.100.9:41000 -> 127.0.0.1:5222 */
	{ V2SIG "\x21\x11\x00\x0c" "\xc6\x33\x64\x09" "\x7f\x00\x00\x01"
	    "\xa0\x28\x14\x66", 28, 2, 0,
	    "198.51.100.9", "41000", "127.0.0.1", "5222" },
	/* ... with two TLVs (an authority and a NOOP) after the addresses */
	{ V2SIG "\x21\x11\x00\x1a" "\xc6\x33\x64\x09" "\x7f\x00\x00\x01"
	    "\xa0\x28\x14\x66" "\x02\x00\x06" "a.test" "\x04\x00\x02" "xx",
	    42, 2, 0, "198.51.100.9", "41000", "127.0.0.1", "5222" },
	/* TCP over IPv6: 2001:db8::1 port 1 -> ::1 port 2 */
	{ V2SIG "\x21\x21\x00\x24"
	    "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01"
	    "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01" "\x00\x01\x00\x02", 52, 2, 0,
	    "2001:db8::1", "1", "::1", "2" },
	/* LOCAL (a health check): addresses ignored, whatever the family */
	{ V2SIG "\x20\x00\x00\x00", 16, 2, 1, "", "", "", "" },
	{ V2SIG "\x20\x77\x00\x03" "abc", 19, 2, 1, "", "", "", "" },
	/* PROXY with UNSPEC, UDP and UNIX: the connection's own addresses */
	{ V2SIG "\x21\x00\x00\x00", 16, 2, 1, "", "", "", "" },
	{ V2SIG "\x21\x12\x00\x0c" "\x01\x02\x03\x04\x05\x06\x07\x08"
	    "\x00\x01\x00\x02", 28, 2, 1, "", "", "", "" },
};

struct bad {
	const char *in;
	size_t	len;
};

static const struct bad bads[] = {
	{ "<", 0 },
	{ "\x16", 0 },
	{ "GET / HTTP/1.0\r\n", 0 },
	{ "PROXY", 0 },				/* not yet bad: see below */
	{ "proxy TCP4 1.2.3.4 1.2.3.4 1 2\r\n", 0 },
	{ "PROXY  TCP4 1.2.3.4 1.2.3.4 1 2\r\n", 0 },
	{ "PROXY TCP4 1.2.3.4  1.2.3.4 1 2\r\n", 0 },
	{ "PROXY TCP4 1.2.3.4 1.2.3.4 1 2 \r\n", 0 },
	{ "PROXY TCP4 1.2.3.4 1.2.3.4 1\r\n", 0 },
	{ "PROXY TCP4 1.2.3.4 1.2.3.4 1 2 3\r\n", 0 },
	{ "PROXY TCP4 1.2.3.4 1.2.3.4 01 2\r\n", 0 },
	{ "PROXY TCP4 1.2.3.4 1.2.3.4 1 65536\r\n", 0 },
	{ "PROXY TCP4 1.2.3.4 1.2.3.4 -1 2\r\n", 0 },
	{ "PROXY TCP4 1.2.3.4 1.2.3.4 +1 2\r\n", 0 },
	{ "PROXY TCP4 1.2.3 1.2.3.4 1 2\r\n", 0 },
	{ "PROXY TCP4 01.2.3.4 1.2.3.4 1 2\r\n", 0 },
	{ "PROXY TCP4 ::1 ::1 1 2\r\n", 0 },
	{ "PROXY TCP6 1.2.3.4 1.2.3.4 1 2\r\n", 0 },
	{ "PROXY TCP5 1.2.3.4 1.2.3.4 1 2\r\n", 0 },
	{ "PROXY UDP4 1.2.3.4 1.2.3.4 1 2\r\n", 0 },
	{ "PROXY \r\n", 0 },
	{ "PROXY TCP4 1.2.3.4 1.2.3.4 1 2\n", 0 },	/* LF alone */
	{ "PROXY TCP4 1.2.3.4 1.2.3.4 1 2\rX", 0 },
	{ "PROXY TCP4 1.2.3.4\t1.2.3.4 1 2\r\n", 0 },
	{ "PROXY TCP4 1.2.3.4 1.2.3.\xc3\xa9 1 2\r\n", 0 },
	{ "PROXY UNKNOWN \x01\r\n", 0 },
	/* 108 bytes: one more than v1 allows */
	{ "PROXY UNKNOWN xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n", 0 },
	{ "\r\n\r\n\0\r\nQUIX\n", 12 },
	{ V2SIG "\x11\x11\x00\x0c", 16 },		/* version 1 */
	{ V2SIG "\x31\x11\x00\x0c", 16 },		/* version 3 */
	{ V2SIG "\x22\x11\x00\x0c", 16 },		/* command 2 */
	{ V2SIG "\x21\x41\x00\x00", 16 },		/* family 4 */
	{ V2SIG "\x21\x13\x00\x00", 16 },		/* protocol 3 */
	{ V2SIG "\x21\x11\x10\x00", 16 },		/* 4112 bytes: too long */
	{ V2SIG "\x21\x11\x00\x08" "\x01\x02\x03\x04\x05\x06\x07\x08", 24 },
	{ V2SIG "\x21\x21\x00\x0c" "\x01\x02\x03\x04\x05\x06\x07\x08"
	    "\x00\x01\x00\x02", 28 },			/* IPv6, 12 bytes */
	{ V2SIG "\x21\x11\x00\x0e" "\x01\x02\x03\x04\x05\x06\x07\x08"
	    "\x00\x01\x00\x02" "\x04\x00", 30 },	/* TLV head cut */
	{ V2SIG "\x21\x11\x00\x10" "\x01\x02\x03\x04\x05\x06\x07\x08"
	    "\x00\x01\x00\x02" "\x04\x00\x02" "x", 32 },	/* TLV overruns */
};

static size_t
good_len(const struct good *g)
{
	return g->len ? g->len : strlen(g->in);
}

START_TEST(test_good)
{
	const struct good *g = &goods[_i];
	size_t n = good_len(g), used = 0, k;
	struct proxy_info pi;
	const char *why;
	uint8_t buf[256];

	ck_assert_uint_lt(n, sizeof(buf) - 8);
	memcpy(buf, g->in, n);
	ck_assert_int_eq(proxy_parse(buf, n, &pi, &used, &why), PP_OK);
	ck_assert_uint_eq(used, n);
	ck_assert_int_eq(pi.version, g->version);
	ck_assert_int_eq(pi.local, g->local);
	ck_assert_str_eq(pi.src_ip, g->sip);
	ck_assert_str_eq(pi.src_port, g->sport);
	ck_assert_str_eq(pi.dst_ip, g->dip);
	ck_assert_str_eq(pi.dst_port, g->dport);
	/* Bytes after the header are the client's: not taken. */
	memcpy(buf + n, "<stream", 7);
	ck_assert_int_eq(proxy_parse(buf, n + 7, &pi, &used, &why), PP_OK);
	ck_assert_uint_eq(used, n);
	/* Every prefix asks for more, never past the header's end, so a
	 * reader that reads what is asked for never takes a client byte. */
	for (k = 0; k < n; k++) {
		ck_assert_int_eq(proxy_parse(buf, k, &pi, &used, &why),
		    PP_MORE);
		ck_assert_uint_gt(used, k);
		ck_assert_uint_le(used, n);
	}
}
END_TEST

START_TEST(test_bad)
{
	const struct bad *b = &bads[_i];
	size_t n = b->len ? b->len : strlen(b->in), used;
	struct proxy_info pi;
	const char *why = NULL;
	int r;

	r = proxy_parse((const uint8_t *)b->in, n, &pi, &used, &why);
	if (strcmp(b->in, "PROXY") == 0) {
		/* A prefix of a good header: more is asked for. */
		ck_assert_int_eq(r, PP_MORE);
		return;
	}
	ck_assert_msg(r == PP_BAD, "case %d: %d", _i, r);
	ck_assert_ptr_nonnull(why);
	ck_assert_int_gt((int)strlen(why), 0);
}
END_TEST

/* A bad first byte is refused at once: no waiting for more. */
START_TEST(test_early)
{
	struct proxy_info pi;
	const char *why;
	size_t used;

	ck_assert_int_eq(proxy_parse((const uint8_t *)"<", 1, &pi, &used,
	    &why), PP_BAD);
	ck_assert_int_eq(proxy_parse((const uint8_t *)"PX", 2, &pi, &used,
	    &why), PP_BAD);
	ck_assert_int_eq(proxy_parse((const uint8_t *)"\r\n\r\n\0\r\nX", 8,
	    &pi, &used, &why), PP_BAD);
	/* v2 length known after 16 bytes: too long refused then. */
	ck_assert_int_eq(proxy_parse((const uint8_t *)V2SIG "\x21\x11\xff\xff",
	    16, &pi, &used, &why), PP_BAD);
	/* v1 without CR: refused at the 106th byte. */
	{
		uint8_t l[120];
		memset(l, 'x', sizeof(l));
		memcpy(l, "PROXY UNKNOWN ", 14);
		ck_assert_int_eq(proxy_parse(l, 105, &pi, &used, &why),
		    PP_MORE);
		ck_assert_int_eq(proxy_parse(l, 106, &pi, &used, &why),
		    PP_BAD);
		/* 107 with CRLF is the longest good line */
		l[105] = '\r';
		l[106] = '\n';
		ck_assert_int_eq(proxy_parse(l, 107, &pi, &used, &why),
		    PP_OK);
	}
}
END_TEST

struct build {
	int	version;
	const char *sip, *sport, *dip, *dport;
	const char *out;	/* v1: exact text; v2: NULL (round trip) */
	int	local;
	const char *psip, *pdip;	/* what parsing gives back */
};

static const struct build builds[] = {
	{ 1, "192.0.2.7", "40000", "127.0.0.1", "5222",
	    "PROXY TCP4 192.0.2.7 127.0.0.1 40000 5222\r\n", 0,
	    "192.0.2.7", "127.0.0.1" },
	{ 1, "2001:db8::7", "1", "::1", "5222",
	    "PROXY TCP6 2001:db8::7 ::1 1 5222\r\n", 0, "2001:db8::7", "::1" },
	{ 1, "192.0.2.7", "1", "::1", "5222",
	    "PROXY TCP6 ::ffff:192.0.2.7 ::1 1 5222\r\n", 0,
	    "192.0.2.7", "::1" },
	{ 1, "unix", "-", "/run/x", "-", "PROXY UNKNOWN\r\n", 1, "", "" },
	{ 1, "-", "-", "127.0.0.1", "5222", "PROXY UNKNOWN\r\n", 1, "", "" },
	{ 2, "192.0.2.7", "40000", "127.0.0.1", "5222", NULL, 0,
	    "192.0.2.7", "127.0.0.1" },
	{ 2, "2001:db8::7", "65535", "::1", "0", NULL, 0,
	    "2001:db8::7", "::1" },
	{ 2, "::1", "1", "127.0.0.1", "2", NULL, 0, "::1", "127.0.0.1" },
	{ 2, "unix", "-", "-", "-", NULL, 1, "", "" },
};

START_TEST(test_build)
{
	const struct build *b = &builds[_i];
	uint8_t out[XG_PROXY_OUT_MAX];
	struct proxy_info pi;
	const char *why;
	size_t n, used;

	n = proxy_build(b->version, b->sip, b->sport, b->dip, b->dport, out,
	    sizeof(out));
	ck_assert_uint_gt(n, 0);
	if (b->out != NULL) {
		ck_assert_uint_eq(n, strlen(b->out));
		ck_assert(memcmp(out, b->out, n) == 0);
	}
	ck_assert_int_eq(proxy_parse(out, n, &pi, &used, &why), PP_OK);
	ck_assert_uint_eq(used, n);
	ck_assert_int_eq(pi.version, b->version);
	ck_assert_int_eq(pi.local, b->local);
	ck_assert_str_eq(pi.src_ip, b->psip);
	ck_assert_str_eq(pi.dst_ip, b->pdip);
	if (!b->local) {
		ck_assert_str_eq(pi.src_port, b->sport);
		ck_assert_str_eq(pi.dst_port, b->dport);
	}
	/* Too small a buffer: 0, never a cut header. */
	ck_assert_uint_eq(proxy_build(b->version, b->sip, b->sport, b->dip,
	    b->dport, out, n - 1), 0);
}
END_TEST

START_TEST(test_v2_bytes)
{
	static const uint8_t want[] = V2SIG "\x21\x11\x00\x0c"
	    "\xc6\x33\x64\x09" "\x7f\x00\x00\x01" "\xa0\x28\x14\x66";
	uint8_t out[XG_PROXY_OUT_MAX];

	ck_assert_uint_eq(proxy_build(2, "198.51.100.9", "41000", "127.0.0.1",
	    "5222", out, sizeof(out)), 28);
	ck_assert(memcmp(out, want, 28) == 0);
}
END_TEST

/* s2s: TLVs after a v2 header grow its length; our parser takes them. */
START_TEST(test_tlv)
{
	uint8_t out[XG_PROXY_OUT_MAX], big[0x10000];
	struct proxy_info pi;
	const char *why;
	size_t n, used;

	n = proxy_build(2, "127.0.0.1", "5269", "127.0.0.1", "5270", out,
	    sizeof(out));
	ck_assert_uint_eq(n, 28);
	n = proxy_add_tlv(out, n, sizeof(out), PP2_TYPE_AUTHORITY, "b.test", 6);
	ck_assert_uint_eq(n, 37);
	n = proxy_add_tlv(out, n, sizeof(out), PP2_TYPE_XMPPGATE_S2S,
	    "a.test", 6);
	ck_assert_uint_eq(n, 46);
	ck_assert_uint_eq(out[14] << 8 | out[15], 46 - 16);
	ck_assert(memcmp(out + 28, "\x02\x00\x06" "b.test" "\xe0\x00\x06"
	    "a.test", 18) == 0);
	ck_assert_int_eq(proxy_parse(out, n, &pi, &used, &why), PP_OK);
	ck_assert_uint_eq(used, n);
	ck_assert_str_eq(pi.src_port, "5269");
	/* No room, a value too long, not after a v2 header: nothing. */
	ck_assert_uint_eq(proxy_add_tlv(out, n, n + 8, 0xe0, "a.test", 6), 0);
	memset(big, 'x', sizeof(big));
	ck_assert_uint_eq(proxy_add_tlv(out, n, sizeof(out), 0xe0, big,
	    sizeof(big)), 0);
	n = proxy_build(1, "127.0.0.1", "1", "127.0.0.1", "2", out,
	    sizeof(out));
	ck_assert_uint_eq(proxy_add_tlv(out, n, sizeof(out), 0xe0, "a", 1), 0);
}
END_TEST

START_TEST(test_cidr)
{
	struct xg_cidr c[4];

	ck_assert_int_eq(cidr_parse("127.0.0.1", &c[0]), 0);
	ck_assert_int_eq(c[0].bits, 32);
	ck_assert_int_eq(cidr_parse("10.0.0.0/8", &c[1]), 0);
	ck_assert_int_eq(cidr_parse("2001:db8::/32", &c[2]), 0);
	ck_assert_int_eq(cidr_parse("192.0.2.128/25", &c[3]), 0);
	ck_assert_int_eq(cidr_match(c, 4, "127.0.0.1"), 1);
	ck_assert_int_eq(cidr_match(c, 4, "127.0.0.2"), 0);
	ck_assert_int_eq(cidr_match(c, 4, "10.255.1.2"), 1);
	ck_assert_int_eq(cidr_match(c, 4, "11.0.0.0"), 0);
	ck_assert_int_eq(cidr_match(c, 4, "2001:db8:ffff::1"), 1);
	ck_assert_int_eq(cidr_match(c, 4, "2001:db9::1"), 0);
	ck_assert_int_eq(cidr_match(c, 4, "192.0.2.200"), 1);
	ck_assert_int_eq(cidr_match(c, 4, "192.0.2.127"), 0);
	ck_assert_int_eq(cidr_match(c, 4, "::ffff:10.0.0.1"), 0);
	ck_assert_int_eq(cidr_match(c, 4, "unix"), 0);
	ck_assert_int_eq(cidr_match(c, 4, "-"), 0);
	ck_assert_int_eq(cidr_match(c, 0, "127.0.0.1"), 0);
	ck_assert_int_eq(cidr_parse("0.0.0.0/0", &c[0]), 0);
	ck_assert_int_eq(cidr_match(c, 1, "203.0.113.1"), 1);
	ck_assert_int_eq(cidr_match(c, 1, "::1"), 0);

	ck_assert_int_eq(cidr_parse("", &c[0]), -1);
	ck_assert_int_eq(cidr_parse("10.0.0.1/8", &c[0]), -1); /* host bits */
	ck_assert_int_eq(cidr_parse("10.0.0.0/33", &c[0]), -1);
	ck_assert_int_eq(cidr_parse("10.0.0.0/", &c[0]), -1);
	ck_assert_int_eq(cidr_parse("10.0.0.0/08", &c[0]), -1);
	ck_assert_int_eq(cidr_parse("10.0.0.0/-1", &c[0]), -1);
	ck_assert_int_eq(cidr_parse("::/129", &c[0]), -1);
	ck_assert_int_eq(cidr_parse("localhost", &c[0]), -1);
	ck_assert_int_eq(cidr_parse("10.0.0/8", &c[0]), -1);
	ck_assert_int_eq(cidr_parse("/8", &c[0]), -1);
}
END_TEST

static Suite *
proxy_suite(void)
{
	Suite *s = suite_create("proxy");
	TCase *tc = tcase_create("proxy");

	tcase_add_loop_test(tc, test_good, 0,
	    (int)(sizeof(goods) / sizeof(goods[0])));
	tcase_add_loop_test(tc, test_bad, 0,
	    (int)(sizeof(bads) / sizeof(bads[0])));
	tcase_add_test(tc, test_early);
	tcase_add_loop_test(tc, test_build, 0,
	    (int)(sizeof(builds) / sizeof(builds[0])));
	tcase_add_test(tc, test_v2_bytes);
	tcase_add_test(tc, test_cidr);
	tcase_add_test(tc, test_tlv);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(proxy_suite());
	int nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
