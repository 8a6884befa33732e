/* Unit tests for relaymsg.c: the hand-off message to xmppgate-relay(8). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <check.h>
#include "xmppgate.h"

static const char GOOD[] = "XGRELAY1 id=0a1b2c3d4e5f rx=123 tx=0 age=4567 "
    "idle=300\nclient=127.0.0.1:40000 domain=example.test user=alice "
    "backend=127.0.0.1:5322";

static void
sample(struct relaymsg *m)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->id, sizeof(m->id), "%s", "0a1b2c3d4e5f");
	m->rx = UINT64_MAX;
	m->tx = 0;
	m->age_ms = XG_RELAY_AGE_MAX;
	m->idle_s = XG_RELAY_IDLE_MAX;
	snprintf(m->fields, sizeof(m->fields), "%s", "client=[::1]:5 "
	    "domain=example.test user=b\xc3\xa9" "a backend=unix:/run/x");
}

START_TEST(t_good)
{
	struct relaymsg m;
	const char *why = "x";

	ck_assert_int_eq(relaymsg_decode(GOOD, strlen(GOOD), &m, &why), 0);
	ck_assert_ptr_null(why);
	ck_assert_str_eq(m.id, "0a1b2c3d4e5f");
	ck_assert_uint_eq(m.rx, 123);
	ck_assert_uint_eq(m.tx, 0);
	ck_assert_int_eq(m.age_ms, 4567);
	ck_assert_int_eq(m.idle_s, 300);
	ck_assert_str_eq(m.fields, "client=127.0.0.1:40000 domain=example.test "
	    "user=alice backend=127.0.0.1:5322");
}
END_TEST

START_TEST(t_roundtrip)
{
	struct relaymsg a, b;
	char buf[XG_RELAYMSG_MAX + 1];
	const char *why;
	ssize_t n;

	sample(&a);
	n = relaymsg_encode(&a, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(relaymsg_decode(buf, (size_t)n, &b, &why), 0);
	ck_assert_str_eq(a.id, b.id);
	ck_assert_uint_eq(a.rx, b.rx);
	ck_assert_uint_eq(a.tx, b.tx);
	ck_assert_int_eq(a.age_ms, b.age_ms);
	ck_assert_int_eq(a.idle_s, b.idle_s);
	ck_assert_str_eq(a.fields, b.fields);
	/* Too small an output buffer: refused, never cut. */
	ck_assert_int_eq(relaymsg_encode(&a, buf, (size_t)n), -1);
	/* The longest fields still fit one message. */
	memset(a.fields, 'x', sizeof(a.fields) - 1);
	a.fields[sizeof(a.fields) - 1] = '\0';
	n = relaymsg_encode(&a, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(relaymsg_decode(buf, (size_t)n, &b, &why), 0);
	ck_assert_str_eq(a.fields, b.fields);
}
END_TEST

/* Each a bad message, and what decode says of it. */
static const struct {
	const char *msg, *why;
} bad[] = {
	{ "", "not a hand-off message (version 1)" },
	{ "XGRELAY2 id=1 rx=1 tx=1 age=1 idle=1\nf", "not a hand-off message (version 1)" },
	{ "xgrelay1 id=1 rx=1 tx=1 age=1 idle=1\nf", "not a hand-off message (version 1)" },
	{ "XGRELAY1 id= rx=1 tx=1 age=1 idle=1\nf", "bad id" },
	{ "XGRELAY1 id=ABC rx=1 tx=1 age=1 idle=1\nf", "bad id" },
	{ "XGRELAY1 id=0123456789abcdef rx=1 tx=1 age=1 idle=1\nf", "bad rx" },
	{ "XGRELAY1 id=1 rx= tx=1 age=1 idle=1\nf", "bad rx" },
	{ "XGRELAY1 id=1 rx=01 tx=1 age=1 idle=1\nf", "bad rx" },
	{ "XGRELAY1 id=1 rx=-1 tx=1 age=1 idle=1\nf", "bad rx" },
	{ "XGRELAY1 id=1 rx=18446744073709551616 tx=1 age=1 idle=1\nf", "bad rx" },
	{ "XGRELAY1 id=1 rx=1  tx=1 age=1 idle=1\nf", "bad tx" },
	{ "XGRELAY1 id=1 rx=1 tx=1x age=1 idle=1\nf", "bad age" },
	{ "XGRELAY1 id=1 rx=1 tx=1 age=9223372036854775808 idle=1\nf", "bad age" },
	{ "XGRELAY1 id=1 rx=1 tx=1 age=3162240000001 idle=1\nf", "bad age" },
	{ "XGRELAY1 id=1 rx=1 tx=1 age=1 idle=2147484\nf", "bad idle" },
	{ "XGRELAY1 id=1 rx=1 tx=1 age=1 idle=1", "no end of the first line" },
	{ "XGRELAY1 id=1 rx=1 tx=1 age=1 idle=1 \nf", "no end of the first line" },
	{ "XGRELAY1 id=1 rx=1 tx=1 age=1 idle=1\n", "bad summary fields" },
	{ "XGRELAY1 id=1 rx=1 tx=1 age=1 idle=1\nuser=\"a\"", "bad summary fields" },
	{ "XGRELAY1 id=1 rx=1 tx=1 age=1 idle=1\na\nb", "bad summary fields" },
	{ "XGRELAY1 id=1 rx=1 tx=1 age=1 idle=1\na\tb", "bad summary fields" },
	{ "XGRELAY1 id=1 rx=1 tx=1 age=1 idle=1\na\x7f", "bad summary fields" },
};

START_TEST(t_bad)
{
	struct relaymsg m;
	const char *why = NULL;

	ck_assert_int_eq(relaymsg_decode(bad[_i].msg, strlen(bad[_i].msg), &m,
	    &why), -1);
	ck_assert_ptr_nonnull(why);
	ck_assert_str_eq(why, bad[_i].why);
}
END_TEST

START_TEST(t_limits)
{
	char buf[XG_RELAYMSG_MAX + 64];
	struct relaymsg m;
	const char *why;
	size_t h;

	/* A NUL in the fields is a control byte like any other. */
	ck_assert_int_eq(relaymsg_decode("XGRELAY1 id=1 rx=1 tx=1 age=1 "
	    "idle=1\na\0b", 40, &m, &why), -1);
	ck_assert_str_eq(why, "bad summary fields");
	/* Fields one byte longer than the buffer: refused. */
	h = (size_t)snprintf(buf, sizeof(buf), "XGRELAY1 id=1 rx=1 tx=1 "
	    "age=1 idle=1\n");
	memset(buf + h, 'x', sizeof(m.fields));
	ck_assert_int_eq(relaymsg_decode(buf, h + sizeof(m.fields), &m, &why),
	    -1);
	ck_assert_str_eq(why, "bad summary fields");
	ck_assert_int_eq(relaymsg_decode(buf, h + sizeof(m.fields) - 1, &m,
	    &why), 0);
	/* A message over XG_RELAYMSG_MAX, whatever it holds. */
	memset(buf, 'x', sizeof(buf));
	ck_assert_int_eq(relaymsg_decode(buf, XG_RELAYMSG_MAX + 1, &m, &why),
	    -1);
	ck_assert_str_eq(why, "too long");
}
END_TEST

/* Every prefix of a good message that ends before its fields is refused
 * (a shorter summary is still one); every byte changed to each
 * other value either still parses or is refused with a reason (ASan
 * watches the reads: each input is an exact-size copy). */
START_TEST(t_mutations)
{
	size_t n = strlen(GOOD), i, head = (size_t)(strchr(GOOD, '\n') - GOOD);
	struct relaymsg m;
	const char *why;
	char *p;
	int v;

	for (i = 0; i <= head + 1; i++) {
		p = malloc(i ? i : 1);
		ck_assert_ptr_nonnull(p);
		memcpy(p, GOOD, i);
		why = NULL;
		ck_assert_int_eq(relaymsg_decode(p, i, &m, &why), -1);
		ck_assert_ptr_nonnull(why);
		free(p);
	}
	for (i = 0; i < n; i++)
		for (v = 0; v < 256; v++) {
			p = malloc(n);
			ck_assert_ptr_nonnull(p);
			memcpy(p, GOOD, n);
			p[i] = (char)v;
			why = NULL;
			if (relaymsg_decode(p, n, &m, &why) == 0) {
				ck_assert_ptr_null(why);
				ck_assert_uint_lt(strlen(m.id), sizeof(m.id));
				ck_assert_uint_lt(strlen(m.fields),
				    sizeof(m.fields));
			} else
				ck_assert_ptr_nonnull(why);
			free(p);
		}
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("relaymsg");
	TCase *tc = tcase_create("relaymsg");
	SRunner *sr;
	int nf;

	tcase_add_test(tc, t_good);
	tcase_add_test(tc, t_roundtrip);
	tcase_add_loop_test(tc, t_bad, 0, (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc, t_limits);
	tcase_add_test(tc, t_mutations);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
