/* Unit tests for srv.c: SRV RDATA parsing and RFC 2782 ordering. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <check.h>
#include "xmppgate.h"

/* prio, weight, port and a dotted name ("" is the root) in wire form;
 * the length. */
static size_t
rdata(uint8_t *out, unsigned prio, unsigned weight, unsigned port,
    const char *name)
{
	size_t n = 6;
	const char *p = name, *dot;

	out[0] = prio >> 8; out[1] = prio & 0xFF;
	out[2] = weight >> 8; out[3] = weight & 0xFF;
	out[4] = port >> 8; out[5] = port & 0xFF;
	while (*p != '\0') {
		dot = strchr(p, '.');
		if (dot == NULL)
			dot = p + strlen(p);
		out[n++] = (uint8_t)(dot - p);
		memcpy(out + n, p, (size_t)(dot - p));
		n += (size_t)(dot - p);
		p = *dot == '.' ? dot + 1 : dot;
	}
	out[n++] = 0;
	return n;
}

/* n characters of labels "aaa..a" with a dot every 61. */
static void
fill(char *s, size_t n, size_t every)
{
	size_t i;

	for (i = 0; i < n; i++)
		s[i] = i % (every + 1) == every ? '.' : 'a';
	s[n] = '\0';
}

START_TEST(t_good)
{
	uint8_t b[300];
	struct srv_target t;
	char why[128];
	size_t n;

	n = rdata(b, 10, 20, 5269, "xmpp.a.test");
	ck_assert_int_eq(srv_parse(b, n, 0, &t, why, sizeof(why)), 0);
	ck_assert_str_eq(t.host, "xmpp.a.test");
	ck_assert_uint_eq(t.priority, 10);
	ck_assert_uint_eq(t.weight, 20);
	ck_assert_uint_eq(t.port, 5269);
	ck_assert_int_eq(t.direct_tls, 0);
	/* Case folded, digits and hyphens, direct_tls kept, big numbers. */
	n = rdata(b, 65535, 65535, 65535, "XMPP-1.A9.Test");
	ck_assert_int_eq(srv_parse(b, n, 7, &t, why, sizeof(why)), 0);
	ck_assert_str_eq(t.host, "xmpp-1.a9.test");
	ck_assert_uint_eq(t.priority, 65535);
	ck_assert_uint_eq(t.weight, 65535);
	ck_assert_uint_eq(t.port, 65535);
	ck_assert_int_eq(t.direct_tls, 1);
	/* One label, and a 63-byte label. */
	n = rdata(b, 0, 0, 1, "localhost");
	ck_assert_int_eq(srv_parse(b, n, 0, &t, why, sizeof(why)), 0);
	ck_assert_str_eq(t.host, "localhost");
}
END_TEST

START_TEST(t_limits)
{
	uint8_t b[600];
	struct srv_target t;
	char why[128], name[400];
	size_t n;

	/* A 63-byte label is fine, 64 is refused (0x40: a label type). */
	fill(name, 63, 100);
	n = rdata(b, 1, 1, 1, name);
	ck_assert_int_eq(srv_parse(b, n, 0, &t, why, sizeof(why)), 0);
	ck_assert_str_eq(t.host, name);
	fill(name, 64, 100);
	n = rdata(b, 1, 1, 1, name);
	ck_assert_int_eq(srv_parse(b, n, 0, &t, why, sizeof(why)), -1);
	ck_assert_str_eq(why, "SRV target label too long");
	/* 253 characters is the longest name, 254 too long. */
	fill(name, 253, 60);
	n = rdata(b, 1, 1, 1, name);
	ck_assert_uint_eq(n, 6 + 255);
	ck_assert_int_eq(srv_parse(b, n, 0, &t, why, sizeof(why)), 0);
	ck_assert_str_eq(t.host, name);
	fill(name, 254, 60);
	n = rdata(b, 1, 1, 1, name);
	ck_assert_int_eq(srv_parse(b, n, 0, &t, why, sizeof(why)), -1);
	ck_assert_str_eq(why, "SRV record too long");
	/* Too long in text but not past XG_SRV_RDATA_MAX: a "name" of 127
	 * one-byte labels is 253 characters; 128 of them is 255. */
	for (n = 0; n < 255; n++)
		name[n] = n % 2 ? '.' : 'a';
	name[255] = '\0';
	n = rdata(b, 1, 1, 1, name);
	ck_assert_uint_eq(n, 6 + 257);
	ck_assert_int_eq(srv_parse(b, n, 0, &t, why, sizeof(why)), -1);
	name[253] = '\0';
	n = rdata(b, 1, 1, 1, name);
	ck_assert_int_eq(srv_parse(b, n, 0, &t, why, sizeof(why)), 0);
	/* Build by hand: 6 + 256 bytes, names over 253 characters. */
	memset(b, 0, sizeof(b));
	b[5] = 1;
	for (n = 6; n < 6 + 254; n += 2) {
		b[n] = 1;
		b[n + 1] = 'a';
	}
	b[n] = 0;	/* 127 labels = 253 characters */
	ck_assert_int_eq(srv_parse(b, n + 1, 0, &t, why, sizeof(why)), 0);
	ck_assert_uint_eq(strlen(t.host), 253);
	b[n] = 1;	/* 128 labels: 255 characters, 263 bytes */
	b[n + 1] = 'a';
	b[n + 2] = 0;
	ck_assert_int_eq(srv_parse(b, n + 3, 0, &t, why, sizeof(why)), -1);
	ck_assert_str_eq(why, "SRV record too long");
	/* A name's text is its wire length less 2, so a name over 253
	 * characters is always caught by the RDATA bound first. */
}
END_TEST

START_TEST(t_dot)
{
	uint8_t b[16];
	struct srv_target t;
	char why[128];
	size_t n;

	n = rdata(b, 0, 0, 0, "");
	ck_assert_uint_eq(n, 7);
	ck_assert_int_eq(srv_parse(b, n, 0, &t, why, sizeof(why)), 1);
	n = rdata(b, 5, 7, 5269, "");
	ck_assert_int_eq(srv_parse(b, n, 1, &t, why, sizeof(why)), 1);
	/* "." with something after it is bad. */
	b[7] = 0;
	ck_assert_int_eq(srv_parse(b, 8, 0, &t, why, sizeof(why)), -1);
	ck_assert_str_eq(why, "bytes after the SRV target");
}
END_TEST

/* Raw RDATA and the message it must be refused with. */
static const struct {
	const char *bytes;
	size_t len;
	const char *why;
} bad[] = {
	{ "", 0, "SRV record too short" },
	{ "\0\0\0\0\0", 5, "SRV record too short" },
	{ "\0\0\0\0\0\1", 6, "SRV record too short" },
	/* Compression pointers, and the two reserved label types. */
	{ "\0\0\0\0\0\1\xc0\x0c", 8, "compressed SRV target" },
	{ "\0\0\0\0\0\1\1a\xc0\x0c", 10, "compressed SRV target" },
	{ "\0\0\0\0\0\1\x40", 7, "SRV target label too long" },
	{ "\0\0\0\0\0\1\x80", 7, "SRV target label too long" },
	/* Runs past the end: no terminator, a label longer than what is left. */
	{ "\0\0\0\0\0\1\1a", 8, "SRV target runs past the record" },
	{ "\0\0\0\0\0\1\5ab", 9, "SRV target runs past the record" },
	{ "\0\0\0\0\0\1\2ab", 9, "SRV target runs past the record" },
	/* Trailing bytes. */
	{ "\0\0\0\0\0\1\1a\0\0", 10, "bytes after the SRV target" },
	{ "\0\0\0\0\0\1\1a\0x", 10, "bytes after the SRV target" },
	/* Characters outside LDH, in every place. */
	{ "\0\0\0\0\0\1\3a_b\0", 11, "SRV target has a byte outside letters, digits and '-'" },
	{ "\0\0\0\0\0\1\1_\0", 9, "SRV target has a byte outside letters, digits and '-'" },
	{ "\0\0\0\0\0\1\3a.b\0", 11, "SRV target has a byte outside letters, digits and '-'" },
	{ "\0\0\0\0\0\1\3a b\0", 11, "SRV target has a byte outside letters, digits and '-'" },
	{ "\0\0\0\0\0\1\3a\0b\0", 11, "SRV target has a byte outside letters, digits and '-'" },
	{ "\0\0\0\0\0\1\3a\xc3\xa9\0", 11, "SRV target has a byte outside letters, digits and '-'" },
	{ "\0\0\0\0\0\1\1*\1a\0", 11, "SRV target has a byte outside letters, digits and '-'" },
	{ "\0\0\0\0\0\1\3a/b\0", 11, "SRV target has a byte outside letters, digits and '-'" },
	/* Hyphens at a label's ends. */
	{ "\0\0\0\0\0\1\2-a\0", 10, "SRV target label starts or ends with '-'" },
	{ "\0\0\0\0\0\1\2a-\0", 10, "SRV target label starts or ends with '-'" },
	{ "\0\0\0\0\0\1\1a\1-\0", 11, "SRV target label starts or ends with '-'" },
	/* Port 0. */
	{ "\0\0\0\0\0\0\1a\0", 9, "SRV port 0" },
};

START_TEST(t_bad)
{
	struct srv_target t;
	char why[128];

	memset(&t, 0x5A, sizeof(t));
	ck_assert_int_eq(srv_parse((const uint8_t *)bad[_i].bytes,
	    bad[_i].len, 0, &t, why, sizeof(why)), -1);
	ck_assert_str_eq(why, bad[_i].why);
	/* A refusal leaves out alone. */
	ck_assert_int_eq(((unsigned char *)&t)[0], 0x5A);
	/* A small or absent error buffer is fine. */
	ck_assert_int_eq(srv_parse((const uint8_t *)bad[_i].bytes,
	    bad[_i].len, 0, &t, why, 4), -1);
	ck_assert_uint_eq(strlen(why), 3);
	ck_assert_int_eq(srv_parse((const uint8_t *)bad[_i].bytes,
	    bad[_i].len, 0, &t, NULL, 0), -1);
}
END_TEST

START_TEST(t_null)
{
	uint8_t b[32];
	struct srv_target t;
	char why[64];
	size_t n = rdata(b, 1, 1, 1, "a");

	ck_assert_int_eq(srv_parse(NULL, n, 0, &t, why, sizeof(why)), -1);
	ck_assert_int_eq(srv_parse(b, n, 0, NULL, why, sizeof(why)), -1);
	srv_order(NULL, 3, NULL, NULL);
}
END_TEST

START_TEST(t_hostname_ok)
{
	char name[300];

	ck_assert_int_eq(srv_hostname_ok("a.test"), 1);
	ck_assert_int_eq(srv_hostname_ok("xn--bcher-kva.test"), 1);
	ck_assert_int_eq(srv_hostname_ok("localhost"), 1);
	ck_assert_int_eq(srv_hostname_ok("A.Test"), 0);	/* lower case only */
	ck_assert_int_eq(srv_hostname_ok(""), 0);
	ck_assert_int_eq(srv_hostname_ok("a.test."), 0);
	ck_assert_int_eq(srv_hostname_ok(".a.test"), 0);
	ck_assert_int_eq(srv_hostname_ok("a..test"), 0);
	ck_assert_int_eq(srv_hostname_ok("-a.test"), 0);
	ck_assert_int_eq(srv_hostname_ok("a-.test"), 0);
	ck_assert_int_eq(srv_hostname_ok("a_b.test"), 0);
	ck_assert_int_eq(srv_hostname_ok("a b.test"), 0);
	ck_assert_int_eq(srv_hostname_ok(NULL), 0);
	fill(name, 63, 100);
	ck_assert_int_eq(srv_hostname_ok(name), 1);
	fill(name, 64, 100);
	ck_assert_int_eq(srv_hostname_ok(name), 0);
	fill(name, 253, 60);
	ck_assert_int_eq(srv_hostname_ok(name), 1);
	fill(name, 254, 60);
	ck_assert_int_eq(srv_hostname_ok(name), 0);
}
END_TEST

/* A fixed sequence of "random" numbers, repeated. */
struct seq {
	const uint32_t *v;
	size_t n, i;
};

static uint32_t
seq_rnd(void *arg)
{
	struct seq *s = arg;

	return s->v[s->i++ % s->n];
}

static void
mk(struct srv_target *t, const char *host, unsigned prio, unsigned weight)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->host, sizeof(t->host), "%s", host);
	t->priority = (uint16_t)prio;
	t->weight = (uint16_t)weight;
	t->port = 5269;
}

/* The hosts in order, space-separated. */
static const char *
order(struct srv_target *t, size_t n)
{
	static char buf[256];
	size_t i;

	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		if (i > 0)
			strcat(buf, " ");
		strcat(buf, t[i].host);
	}
	return buf;
}

START_TEST(t_order_priority)
{
	struct srv_target t[5];
	uint32_t zero = 0;
	struct seq s = { &zero, 1, 0 };

	mk(&t[0], "p20", 20, 5);
	mk(&t[1], "p10", 10, 5);
	mk(&t[2], "p5", 5, 0);
	mk(&t[3], "p65535", 65535, 0);
	mk(&t[4], "p0", 0, 100);
	srv_order(t, 5, seq_rnd, &s);
	ck_assert_str_eq(order(t, 5), "p0 p5 p10 p20 p65535");
	ck_assert_uint_eq(t[4].priority, 65535);
}
END_TEST

START_TEST(t_order_weight)
{
	struct srv_target t[3];
	uint32_t v[1];
	struct seq s = { v, 1, 0 };

	/* Weight 0 is put first; R in [0, 40]: 0 picks it. */
	v[0] = 0;
	mk(&t[0], "b10", 10, 10); mk(&t[1], "c30", 10, 30);
	mk(&t[2], "a0", 10, 0);
	srv_order(t, 3, seq_rnd, &s);
	ck_assert_str_eq(order(t, 3), "a0 b10 c30");
	/* R = 40: the last record, then R = 40 % 11 = 7: b10. */
	v[0] = 40; s.i = 0;
	mk(&t[0], "b10", 10, 10); mk(&t[1], "c30", 10, 30);
	mk(&t[2], "a0", 10, 0);
	srv_order(t, 3, seq_rnd, &s);
	ck_assert_str_eq(order(t, 3), "c30 b10 a0");
	/* R = 5: b10 (running sum 10 >= 5), then R = 5 of [0, 30]: c30. */
	v[0] = 5; s.i = 0;
	mk(&t[0], "b10", 10, 10); mk(&t[1], "c30", 10, 30);
	mk(&t[2], "a0", 10, 0);
	srv_order(t, 3, seq_rnd, &s);
	ck_assert_str_eq(order(t, 3), "b10 c30 a0");
	/* R = 10 + 41 * k is 10 for every k: running sum 10 >= 10, b10. */
	v[0] = 10 + 41 * 1000; s.i = 0;
	mk(&t[0], "b10", 10, 10); mk(&t[1], "c30", 10, 30);
	mk(&t[2], "a0", 10, 0);
	srv_order(t, 3, seq_rnd, &s);
	ck_assert_str_eq(order(t, 3), "b10 c30 a0");
	/* R = 11: past b10's running sum, c30; then 11 % 11 = 0: a0. */
	v[0] = 11; s.i = 0;
	mk(&t[0], "b10", 10, 10); mk(&t[1], "c30", 10, 30);
	mk(&t[2], "a0", 10, 0);
	srv_order(t, 3, seq_rnd, &s);
	ck_assert_str_eq(order(t, 3), "c30 a0 b10");
}
END_TEST

START_TEST(t_order_zero)
{
	struct srv_target t[4];
	uint32_t v[] = { 123456789, 987654321, 55555 };
	struct seq s = { v, 3, 0 };

	/* All weight 0: sum 0, R = 0, the first left each time: kept. */
	mk(&t[0], "z1", 1, 0); mk(&t[1], "z2", 1, 0);
	mk(&t[2], "z3", 1, 0); mk(&t[3], "q", 0, 0);
	srv_order(t, 4, seq_rnd, &s);
	ck_assert_str_eq(order(t, 4), "q z1 z2 z3");
	/* No random source: treated as R = 0 every time. */
	mk(&t[0], "w5", 1, 5); mk(&t[1], "w0", 1, 0); mk(&t[2], "w7", 1, 7);
	srv_order(t, 3, NULL, NULL);
	ck_assert_str_eq(order(t, 3), "w0 w5 w7");
	/* One record, none. */
	srv_order(t, 1, seq_rnd, &s);
	srv_order(t, 0, seq_rnd, &s);
	ck_assert_str_eq(order(t, 3), "w0 w5 w7");
}
END_TEST

static uint32_t
xorshift(void *arg)
{
	uint32_t *x = arg;

	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

START_TEST(t_order_deterministic)
{
	struct srv_target a[8], b[8];
	uint32_t x = 2463534242u, y = 2463534242u;
	size_t i;
	char first[256];

	for (i = 0; i < 8; i++) {
		char h[8];
		snprintf(h, sizeof(h), "h%zu", i);
		mk(&a[i], h, (unsigned)(i % 3), (unsigned)(i * 7));
	}
	memcpy(b, a, sizeof(a));
	srv_order(a, 8, xorshift, &x);
	srv_order(b, 8, xorshift, &y);
	snprintf(first, sizeof(first), "%s", order(a, 8));
	ck_assert_str_eq(first, order(b, 8));
	for (i = 1; i < 8; i++)
		ck_assert_uint_le(a[i - 1].priority, a[i].priority);
}
END_TEST

/* Over many runs, weights 1 and 3 come first about 1:3 (RFC 2782). */
START_TEST(t_order_spread)
{
	struct srv_target t[2];
	uint32_t x = 88172645u;
	unsigned heavy = 0, i, runs = 20000;

	for (i = 0; i < runs; i++) {
		mk(&t[0], "light", 5, 1);
		mk(&t[1], "heavy", 5, 3);
		srv_order(t, 2, xorshift, &x);
		heavy += strcmp(t[0].host, "heavy") == 0;
	}
	/* R is uniform in [0, 4]; running sums 1 and 4: R = 2, 3, 4 pick
	 * heavy, 3 of 5, so 12,000 expected (RFC 2782's inclusive range
	 * gives the first record one value more than its weight). */
	ck_assert_uint_gt(heavy, 11400);
	ck_assert_uint_lt(heavy, 12600);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("srv");
	TCase *tc = tcase_create("srv");
	SRunner *sr;
	int nf;

	tcase_add_test(tc, t_good);
	tcase_add_test(tc, t_limits);
	tcase_add_test(tc, t_dot);
	tcase_add_loop_test(tc, t_bad, 0, (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc, t_null);
	tcase_add_test(tc, t_hostname_ok);
	tcase_add_test(tc, t_order_priority);
	tcase_add_test(tc, t_order_weight);
	tcase_add_test(tc, t_order_zero);
	tcase_add_test(tc, t_order_deterministic);
	tcase_add_test(tc, t_order_spread);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
