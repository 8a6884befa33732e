/* Unit tests for route_lookup and route_load: route mode's map. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <check.h>
#include "xmppgate.h"

static const char map[] =
    "# route map\n"
    "\n"
    "a.example      127.0.0.1:5222\n"
    "  B.Example.\t[::1]:5223   # a comment\n"
    "c.example unix:/run/c.sock\r\n"
    "*              10.0.0.1:5222\n"
    "d.example 127.0.0.2:1";	/* no newline at the end */

/* lookup DOMAIN: ROUTE_FOUND and the host and port, or ROUTE_NONE. */
static int
look(const char *m, size_t len, const char *dom, struct netaddr *na)
{
	const char *why;
	size_t line;

	return route_lookup(m, len, dom, na, &line, &why);
}

START_TEST(t_found)
{
	struct netaddr na;

	ck_assert_int_eq(look(map, strlen(map), "a.example", &na), ROUTE_FOUND);
	ck_assert_str_eq(na.host, "127.0.0.1");
	ck_assert_str_eq(na.port, "5222");
	/* The map's domains are normalized: case, trailing dot. */
	ck_assert_int_eq(look(map, strlen(map), "b.example", &na), ROUTE_FOUND);
	ck_assert_str_eq(na.host, "::1");
	ck_assert_str_eq(na.port, "5223");
	ck_assert_int_eq(look(map, strlen(map), "c.example", &na), ROUTE_FOUND);
	ck_assert_int_eq(na.is_unix, 1);
	ck_assert_str_eq(na.host, "/run/c.sock");
	/* An exact entry after "*" still wins. */
	ck_assert_int_eq(look(map, strlen(map), "d.example", &na), ROUTE_FOUND);
	ck_assert_str_eq(na.host, "127.0.0.2");
	/* Anything else: the default. */
	ck_assert_int_eq(look(map, strlen(map), "e.example", &na), ROUTE_FOUND);
	ck_assert_str_eq(na.host, "10.0.0.1");
}
END_TEST

START_TEST(t_none)
{
	static const char m[] = "a.example 127.0.0.1:5222\n";
	struct netaddr na;
	const char *why;
	size_t line;

	ck_assert_int_eq(look(m, strlen(m), "b.example", &na), ROUTE_NONE);
	/* Not a suffix match. */
	ck_assert_int_eq(look(m, strlen(m), "x.a.example", &na), ROUTE_NONE);
	ck_assert_int_eq(look("", 0, "a.example", &na), ROUTE_NONE);
	/* Checking only: a good map is ROUTE_NONE. */
	ck_assert_int_eq(route_lookup(map, strlen(map), NULL, &na, &line,
	    &why), ROUTE_NONE);
}
END_TEST

static const struct {
	const char *map;
	size_t	line;
	const char *why;
} bads[] = {
	{ "a.example\n", 1, "a domain without an address" },
	{ "a.example 127.0.0.1\n", 1, "not an address" },
	{ "\n\na.example 127.0.0.1:1 extra\n", 3, "more than a domain" },
	{ "a..example 127.0.0.1:1\n", 1, "not a domain name" },
	{ "a_b.example 127.0.0.1:1\n", 1, "not a domain name" },
	{ "* 127.0.0.1:1\n* 127.0.0.1:2\n", 2, "a second '*' line" },
	{ "a.example 127.0.0.1:1\x01\n", 1, "a control character" },
	{ "a.example 127.0.0.1:0\n", 1, "not an address" },
};

START_TEST(t_bad)
{
	struct netaddr na;
	const char *why;
	size_t line;
	const char *m = bads[_i].map;

	ck_assert_int_eq(route_lookup(m, strlen(m), NULL, &na, &line, &why),
	    ROUTE_BAD);
	ck_assert_uint_eq(line, bads[_i].line);
	ck_assert_ptr_nonnull(why);
	ck_assert_msg(strncmp(why, bads[_i].why, strlen(bads[_i].why)) == 0,
	    "%s: why=%s", m, why);
	/* A lookup of any domain finds the bad line too. */
	ck_assert_int_eq(route_lookup(m, strlen(m), "a.example", &na, &line,
	    &why), ROUTE_BAD);
}
END_TEST

START_TEST(t_twice)
{
	static const char m[] = "a.example 127.0.0.1:1\nA.EXAMPLE 127.0.0.1:2\n";
	struct netaddr na;
	const char *why;
	size_t line;

	ck_assert_int_eq(route_lookup(m, strlen(m), "a.example", &na, &line,
	    &why), ROUTE_BAD);
	ck_assert_uint_eq(line, 2);
}
END_TEST

START_TEST(t_limits)
{
	static char big[XG_ROUTE_MAP_MAX + 2];
	char line[XG_ROUTE_LINE_MAX + 8];
	struct netaddr na;
	const char *why;
	size_t n;

	/* A line at the limit is read; one byte more is refused. */
	n = XG_ROUTE_LINE_MAX - strlen("a.example") - strlen("127.0.0.1:1");
	snprintf(line, sizeof(line), "a.example%*s127.0.0.1:1", (int)n, " ");
	ck_assert_uint_eq(strlen(line), XG_ROUTE_LINE_MAX);
	ck_assert_int_eq(look(line, strlen(line), "a.example", &na),
	    ROUTE_FOUND);
	snprintf(line, sizeof(line), "a.example%*s127.0.0.1:1", (int)n + 1,
	    " ");
	ck_assert_int_eq(route_lookup(line, strlen(line), "a.example", &na,
	    &n, &why), ROUTE_BAD);
	ck_assert_str_eq(why, "line too long");
	/* The whole map is bounded too. */
	memset(big, '\n', sizeof(big));
	ck_assert_int_eq(route_lookup(big, XG_ROUTE_MAP_MAX + 1, NULL, &na,
	    &n, &why), ROUTE_BAD);
	ck_assert_int_eq(route_lookup(big, XG_ROUTE_MAP_MAX, NULL, &na, &n,
	    &why), ROUTE_NONE);
}
END_TEST

/* route_load: a file, checked whole, domains twice found. */
START_TEST(t_load)
{
	static char buf[XG_ROUTE_MAP_MAX];
	char path[] = "/tmp/check_route.XXXXXX", err[XG_REASON_MAX];
	FILE *f;
	int fd;

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	fputs("a.example 127.0.0.1:1\nb.example 127.0.0.1:2\n"
	    "B.example. 127.0.0.1:3\n", f);
	fclose(f);
	ck_assert_int_eq(route_load(path, buf, sizeof(buf), err, sizeof(err)),
	    -1);
	ck_assert_msg(strstr(err, "b.example is listed twice") != NULL, "%s",
	    err);
	f = fopen(path, "w");
	fputs("a.example 127.0.0.1:1\nb.example nowhere\n", f);
	fclose(f);
	ck_assert_int_eq(route_load(path, buf, sizeof(buf), err, sizeof(err)),
	    -1);
	ck_assert_msg(strstr(err, "line 2: not an address") != NULL, "%s", err);
	f = fopen(path, "w");
	fputs("a.example 127.0.0.1:1\n", f);
	fclose(f);
	ck_assert_int_eq(route_load(path, buf, sizeof(buf), err, sizeof(err)),
	    (int)strlen("a.example 127.0.0.1:1\n"));
	unlink(path);
	ck_assert_int_eq(route_load(path, buf, sizeof(buf), err, sizeof(err)),
	    -1);
	ck_assert_msg(strstr(err, "No such file") != NULL, "%s", err);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("route");
	TCase *tc = tcase_create("map");
	SRunner *sr;
	int nf;

	tcase_add_test(tc, t_found);
	tcase_add_test(tc, t_none);
	tcase_add_loop_test(tc, t_bad, 0, (int)(sizeof(bads) / sizeof(bads[0])));
	tcase_add_test(tc, t_twice);
	tcase_add_test(tc, t_limits);
	tcase_add_test(tc, t_load);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
