/* Unit tests for netaddr_parse: backend address syntax. */
#include <stdlib.h>
#include <string.h>
#include <check.h>
#include "xmppgate.h"

struct good {
	const char *in;
	int	is_unix;
	const char *host;
	const char *port;
};

static const struct good goods[] = {
	{ "127.0.0.1:5222", 0, "127.0.0.1", "5222" },
	{ "localhost:5222", 0, "localhost", "5222" },
	{ "xmpp.example.org:1", 0, "xmpp.example.org", "1" },
	{ "backend-1.example:65535", 0, "backend-1.example", "65535" },
	{ "[::1]:5222", 0, "::1", "5222" },
	{ "[2001:db8::5]:5269", 0, "2001:db8::5", "5269" },
	{ "[::ffff:192.0.2.1]:80", 0, "::ffff:192.0.2.1", "80" },
	{ "[fe80::1%eth0]:5222", 0, "fe80::1%eth0", "5222" },
	{ "unix:/run/prosody/c2s.sock", 1, "/run/prosody/c2s.sock", "" },
	{ "unix:/x", 1, "/x", "" },
	{ "unix:5222", 0, "unix", "5222" },	/* a host named unix */
	{ "host:05222", 0, "host", "5222" },
};

static const char *const bads[] = {
	"",
	"127.0.0.1",			/* missing port */
	"127.0.0.1:",			/* empty port */
	"localhost:0",			/* port 0 */
	"localhost:65536",
	"localhost:99999",
	"localhost:123456",
	"localhost:+1",
	"localhost:-1",
	"localhost: 1",
	"localhost:1 ",
	"localhost:0x10",
	"localhost:1a",
	":5222",			/* empty host */
	"local host:5222",		/* embedded space */
	"local\thost:5222",
	"host\n:5222",
	"a:b:5222",			/* ':' in host: IPv6 needs brackets */
	"::1:5222",
	"[::1]",			/* no port */
	"[::1]:",
	"[::1]5222",
	"[::1:5222",			/* no closing bracket */
	"[]:5222",
	"[not-ipv6]:5222",
	"[127.0.0.1]:5222",
	"[::1]:0",
	"[::1]:65536",
	"[fe80::1%]:5222",
	"unix:",
	"unix:relative/path",
	"unix:/path\nx",
};

START_TEST(test_good)
{
	const struct good *g = &goods[_i];
	struct netaddr na;

	ck_assert_msg(netaddr_parse(g->in, &na) == 0, "rejected \"%s\"",
	    g->in);
	ck_assert_int_eq(na.is_unix, g->is_unix);
	ck_assert_str_eq(na.host, g->host);
	ck_assert_str_eq(na.port, g->port);
}
END_TEST

START_TEST(test_bad)
{
	struct netaddr na;

	ck_assert_msg(netaddr_parse(bads[_i], &na) == -1, "accepted \"%s\"",
	    bads[_i]);
}
END_TEST

START_TEST(test_null)
{
	struct netaddr na;

	ck_assert_int_eq(netaddr_parse(NULL, &na), -1);
}
END_TEST

/* The whole string is bounded by XG_BACKEND_ADDR_MAX, and a unix path by
 * sizeof(sun_path) (108 on Linux). */
START_TEST(test_lengths)
{
	char s[XG_BACKEND_ADDR_MAX + 16];
	struct netaddr na;
	size_t n;

	/* HOST:PORT exactly at the limit: accepted. */
	n = XG_BACKEND_ADDR_MAX - strlen(":5222");
	memset(s, 'a', n);
	strcpy(s + n, ":5222");
	ck_assert_uint_eq(strlen(s), XG_BACKEND_ADDR_MAX);
	ck_assert_int_eq(netaddr_parse(s, &na), 0);
	ck_assert_uint_eq(strlen(na.host), n);

	/* One more: refused. */
	memset(s, 'a', n + 1);
	strcpy(s + n + 1, ":5222");
	ck_assert_int_eq(netaddr_parse(s, &na), -1);

	/* Far over. */
	memset(s, 'a', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	s[10] = ':';
	ck_assert_int_eq(netaddr_parse(s, &na), -1);

	/* unix: a path of 107 bytes fits sun_path, 108 does not. */
	strcpy(s, "unix:/");
	memset(s + 6, 'p', 106);
	s[6 + 106] = '\0';
	ck_assert_int_eq(netaddr_parse(s, &na), 0);
	ck_assert_int_eq(na.is_unix, 1);
	ck_assert_uint_eq(strlen(na.host), 107);
	s[6 + 106] = 'p';
	s[6 + 107] = '\0';
	ck_assert_int_eq(netaddr_parse(s, &na), -1);
}
END_TEST

static Suite *
netaddr_suite(void)
{
	Suite *s = suite_create("netaddr");
	TCase *tc = tcase_create("parse");

	tcase_add_loop_test(tc, test_good, 0,
	    (int)(sizeof(goods) / sizeof(goods[0])));
	tcase_add_loop_test(tc, test_bad, 0,
	    (int)(sizeof(bads) / sizeof(bads[0])));
	tcase_add_test(tc, test_null);
	tcase_add_test(tc, test_lengths);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(netaddr_suite());
	int nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
