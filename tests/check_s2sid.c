/* Unit tests for s2s_id_match: a remote server's certificate identity. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <check.h>
#include "xmppgate.h"

#define NONE	S2S_MATCH_NONE
#define DNS	S2S_MATCH_DNS
#define SRV	S2S_MATCH_SRV
#define XMPP	S2S_MATCH_XMPPADDR
#define WILD	S2S_MATCH_WILDCARD

/* dNSNames, SRVNames, XmppAddrs, the domain, and the answer. */
static const struct {
	const char *dns, *srv, *xmpp, *domain;
	enum s2s_match want;
} cases[] = {
	/* DNS-ID: equal, but for ASCII case and one trailing dot. */
	{ "a.test", "", "", "a.test", DNS },
	{ "A.Test", "", "", "a.test", DNS },
	{ "A.TEST.", "", "", "a.test", DNS },
	{ "a.test..", "", "", "a.test", NONE },
	{ "b.test", "", "", "a.test", NONE },
	{ "x.a.test", "", "", "a.test", NONE },	/* not a suffix match */
	{ "test", "", "", "a.test", NONE },
	{ "a.tes", "", "", "a.test", NONE },
	{ "a.testx", "", "", "a.test", NONE },
	{ ".a.test", "", "", "a.test", NONE },
	{ ".", "", "", "a.test", NONE },
	/* The domain should come lower case; it is folded all the same. */
	{ "a.test", "", "", "A.Test", DNS },
	/* Lists: several entries, extra spaces, empty entries skipped. */
	{ "b.test a.test", "", "", "a.test", DNS },
	{ "  b.test   a.test  ", "", "", "a.test", DNS },
	{ "a.test c.test", "", "", "c.test", DNS },
	{ "b.test  c.test", "", "", "a.test", NONE },
	{ "   ", "   ", "   ", "a.test", NONE },
	{ "b.test\ta.test", "", "", "a.test", NONE },	/* a tab is no space */
	/* SRV-ID: "_xmpp-server." and the domain, nothing else. */
	{ "", "_xmpp-server.a.test", "", "a.test", SRV },
	{ "", "_XMPP-Server.A.TEST.", "", "a.test", SRV },
	{ "", "_xmpp-client.a.test", "", "a.test", NONE },
	{ "", "_xmpp-server._tcp.a.test", "", "a.test", NONE },
	{ "", "_xmpp-server.b.test", "", "a.test", NONE },
	{ "", "xmpp-server.a.test", "", "a.test", NONE },
	{ "", "_xmpp-server.", "", "a.test", NONE },
	{ "", "_xmpp-server", "", "a.test", NONE },
	{ "", "a.test", "", "a.test", NONE },	/* no service label */
	{ "", "_xmpp-server.*.a.test", "", "foo.a.test", NONE },
	{ "", "b.test _xmpp-client.a.test _xmpp-server.a.test", "",
	    "a.test", SRV },
	{ "_xmpp-server.a.test", "", "", "a.test", NONE },	/* wrong list */
	/* XmppAddr: the bare domain only, no wildcards. */
	{ "", "", "a.test", "a.test", XMPP },
	{ "", "", "A.TEST.", "a.test", XMPP },
	{ "", "", "u@a.test", "a.test", NONE },
	{ "", "", "a.test/r", "a.test", NONE },
	{ "", "", "u@a.test/r", "a.test", NONE },
	{ "", "", "*.a.test", "foo.a.test", NONE },
	{ "", "", "x.a.test", "a.test", NONE },
	{ "", "", "u@a.test a.test/r a.test", "a.test", XMPP },
	/* Wildcard: "*." over exactly one non-empty left-most label. */
	{ "*.a.test", "", "", "foo.a.test", WILD },
	{ "*.A.Test.", "", "", "foo.a.test", WILD },
	{ "*.a.test", "", "", "FOO.a.test", WILD },
	{ "*.a.test", "", "", "a.test", NONE },
	{ "*.a.test", "", "", "x.foo.a.test", NONE },
	{ "*.a.test", "", "", ".a.test", NONE },
	{ "*.test", "", "", "a.test", NONE },	/* one label after "*." */
	{ "*.test", "", "", "test", NONE },
	{ "*.test.", "", "", "a.test", NONE },
	{ "*", "", "", "a", NONE },
	{ "*.", "", "", "a.test", NONE },
	{ "f*.a.test", "", "", "foo.a.test", NONE },	/* partial */
	{ "*x.a.test", "", "", "foox.a.test", NONE },
	{ "**.a.test", "", "", "foo.a.test", NONE },
	{ "a.*.test", "", "", "a.foo.test", NONE },
	{ "*.*.test", "", "", "x.a.test", NONE },
	{ "*.a.test..", "", "", "foo.a.test", NONE },
	{ "*..a.test", "", "", "foo..a.test", NONE },	/* empty label */
	{ "b.test *.a.test", "", "", "foo.a.test", WILD },
	/* Precedence: DNS-ID, SRV-ID, XmppAddr, wildcard. */
	{ "*.b.test x.b.test", "_xmpp-server.x.b.test", "x.b.test",
	    "x.b.test", DNS },
	{ "*.b.test", "_xmpp-server.x.b.test", "x.b.test", "x.b.test", SRV },
	{ "*.b.test", "", "x.b.test", "x.b.test", XMPP },
	{ "*.b.test", "_xmpp-server.y.b.test", "y.b.test", "x.b.test", WILD },
	{ "*.b.test", "_xmpp-server.x.b.test", "", "x.b.test", SRV },
	{ "x.b.test", "", "x.b.test", "x.b.test", DNS },
	/* Only printable ASCII: IDNs must be A-labels. */
	{ "\xc3\xa9.a.test", "", "", "\xc3\xa9.a.test", NONE },
	{ "*.a.test", "", "", "\xc3\xa9.a.test", NONE },
	{ "", "", "\xc3\xa9.a.test", "\xc3\xa9.a.test", NONE },
	{ "", "_xmpp-server.\xc3\xa9.test", "", "\xc3\xa9.test", NONE },
	{ "xn--9ca.a.test", "", "", "xn--9ca.a.test", DNS },
	{ "\xc3\xa9.a.test", "", "", "xn--9ca.a.test", NONE },
	{ "a\x01.test", "", "", "a\x01.test", NONE },
	{ "a.test\x7f", "", "", "a.test\x7f", NONE },
	{ "*.a.test", "", "", "f\x1fo.a.test", NONE },
	{ "\xc3\xa9.a.test a.test", "", "", "a.test", DNS },
	/* A domain with '*' in it names nothing. */
	{ "*.a.test", "", "", "*.a.test", NONE },
	{ "*.a.test", "", "*.a.test", "*.a.test", NONE },
	/* A domain must come without its trailing dot. */
	{ "a.test", "", "", "a.test.", NONE },
	{ "a.test.", "", "", "a.test.", NONE },
	/* Nothing, or nothing but spaces. */
	{ "", "", "", "a.test", NONE },
	{ "a.test", "_xmpp-server.a.test", "a.test", "", NONE },
};

START_TEST(t_cases)
{
	enum s2s_match got = s2s_id_match(cases[_i].dns, cases[_i].srv,
	    cases[_i].xmpp, cases[_i].domain);

	ck_assert_msg(got == cases[_i].want,
	    "case %d: dns \"%s\" srv \"%s\" xmpp \"%s\" domain \"%s\": "
	    "%s, not %s", _i, cases[_i].dns, cases[_i].srv, cases[_i].xmpp,
	    cases[_i].domain, s2s_match_name(got),
	    s2s_match_name(cases[_i].want));
}
END_TEST

/* The certificates of the research notes' section 1.2, as tls.c would
 * list their names, presented by b.test's peer claiming a.test. */
START_TEST(t_research_certs)
{
	/* good: dns_name = "a.test" */
	ck_assert_int_eq(s2s_id_match("a.test", "", "", "a.test"), DNS);
	/* wrong domain: dns_name = "c.test" */
	ck_assert_int_eq(s2s_id_match("c.test", "", "", "a.test"), NONE);
	/* XmppAddr only: xmpp_name = "a.test" */
	ck_assert_int_eq(s2s_id_match("", "", "a.test", "a.test"), XMPP);
	/* SRV-ID: the IA5String SRVName */
	ck_assert_int_eq(s2s_id_match("", "_xmpp-server.a.test", "",
	    "a.test"), SRV);
	/* wildcard: dns_name = "*.a.test", for a.test itself and below */
	ck_assert_int_eq(s2s_id_match("*.a.test", "", "", "a.test"), NONE);
	ck_assert_int_eq(s2s_id_match("*.a.test", "", "", "foo.a.test"), WILD);
	ck_assert_int_eq(s2s_id_match("*.a.test", "", "", "x.foo.a.test"),
	    NONE);
	/* No certificate names at all (the "no SAN" certificate). */
	ck_assert_int_eq(s2s_id_match("", "", "", "a.test"), NONE);
}
END_TEST

START_TEST(t_null)
{
	ck_assert_int_eq(s2s_id_match(NULL, "", "", "a.test"), NONE);
	ck_assert_int_eq(s2s_id_match("", NULL, "", "a.test"), NONE);
	ck_assert_int_eq(s2s_id_match("", "", NULL, "a.test"), NONE);
	ck_assert_int_eq(s2s_id_match("a.test", "", "", NULL), NONE);
	/* A NULL list is refused, even when another list names the domain. */
	ck_assert_int_eq(s2s_id_match(NULL, "", "a.test", "a.test"), NONE);
	ck_assert_int_eq(s2s_id_match("a.test", NULL, "", "a.test"), NONE);
	ck_assert_int_eq(s2s_id_match("a.test", "", NULL, "a.test"), NONE);
	ck_assert_int_eq(s2s_id_match(NULL, NULL, NULL, NULL), NONE);
}
END_TEST

/* n characters: labels of "aaa...a" with a dot every 60 bytes. */
static void
fill(char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		s[i] = i % 61 == 60 ? '.' : 'a';
	s[n] = '\0';
}

START_TEST(t_limits)
{
	char dom[XG_DOMAIN_MAX + 2], id[XG_DOMAIN_MAX + 8];
	char list[2 * XG_DOMAIN_MAX + 16], srv[XG_DOMAIN_MAX + 32];

	/* A domain and a DNS-ID of XG_DOMAIN_MAX bytes. */
	fill(dom, XG_DOMAIN_MAX);
	ck_assert_int_eq(s2s_id_match(dom, "", dom, dom), DNS);
	ck_assert_int_eq(s2s_id_match("", "", dom, dom), XMPP);
	/* The same with its trailing dot is one byte too long: skipped. */
	snprintf(id, sizeof(id), "%s.", dom);
	ck_assert_int_eq(s2s_id_match(id, "", "", dom), NONE);
	ck_assert_int_eq(s2s_id_match("", "", id, dom), NONE);
	/* ... but a good entry after it is still found. */
	snprintf(list, sizeof(list), "%s %s", id, dom);
	ck_assert_int_eq(s2s_id_match(list, "", "", dom), DNS);
	/* The SRV-ID counts its prefix: a 1010-byte domain is the longest. */
	fill(dom, XG_DOMAIN_MAX - 13);
	snprintf(srv, sizeof(srv), "_xmpp-server.%s", dom);
	ck_assert_uint_eq(strlen(srv), XG_DOMAIN_MAX);
	ck_assert_int_eq(s2s_id_match("", srv, "", dom), SRV);
	fill(dom, XG_DOMAIN_MAX - 12);
	snprintf(srv, sizeof(srv), "_xmpp-server.%s", dom);
	ck_assert_int_eq(s2s_id_match("", srv, "", dom), NONE);
	/* A domain over XG_DOMAIN_MAX names nothing, not even itself. */
	fill(dom, XG_DOMAIN_MAX + 1);
	ck_assert_int_eq(s2s_id_match(dom, "", dom, dom), NONE);
}
END_TEST

START_TEST(t_wildcard_limits)
{
	char dom[XG_DOMAIN_MAX + 2], id[XG_DOMAIN_MAX + 8];

	/* "x." and a 1021-byte rest: the domain is 1023 bytes, and the
	 * wildcard "*." and the same rest is too. */
	fill(dom + 2, XG_DOMAIN_MAX - 2);
	dom[0] = 'x';
	dom[1] = '.';
	snprintf(id, sizeof(id), "*.%s", dom + 2);
	ck_assert_uint_eq(strlen(dom), XG_DOMAIN_MAX);
	ck_assert_uint_eq(strlen(id), XG_DOMAIN_MAX);
	ck_assert_int_eq(s2s_id_match(id, "", "", dom), WILD);
	/* Its trailing dot makes the identifier one byte too long. */
	snprintf(id, sizeof(id), "*.%s.", dom + 2);
	ck_assert_int_eq(s2s_id_match(id, "", "", dom), NONE);
}
END_TEST

START_TEST(t_names)
{
	ck_assert_str_eq(s2s_match_name(NONE), "none");
	ck_assert_str_eq(s2s_match_name(DNS), "dns-id");
	ck_assert_str_eq(s2s_match_name(SRV), "srv-id");
	ck_assert_str_eq(s2s_match_name(XMPP), "xmppaddr");
	ck_assert_str_eq(s2s_match_name(WILD), "wildcard");
	ck_assert_str_eq(s2s_match_name((enum s2s_match)99), "none");
}
END_TEST

/* The raw SRVName value an older GnuTLS hands over (the DER of an
 * IA5String, as certtool's other_name writes it). */
START_TEST(t_srvname_der)
{
	static const unsigned char ok[] = "\x16\x13_xmpp-server.a.test";
	unsigned char der[300 + 4], bad[sizeof(ok)];
	char out[300];
	size_t i;

	ck_assert_int_eq(s2s_srvname_der(ok, sizeof(ok) - 1, out,
	    sizeof(out)), 0);
	ck_assert_str_eq(out, "_xmpp-server.a.test");
	ck_assert_int_eq(s2s_id_match("", out, "", "a.test"), SRV);
	/* Exactly fits (with its NUL), one byte short. */
	ck_assert_int_eq(s2s_srvname_der(ok, sizeof(ok) - 1, out, 20), 0);
	ck_assert_int_eq(s2s_srvname_der(ok, sizeof(ok) - 1, out, 19), -1);
	/* Truncated, a byte after it, another string type (UTF8String). */
	for (i = 0; i < sizeof(ok) - 1; i++)
		ck_assert_int_eq(s2s_srvname_der(ok, i, out, sizeof(out)), -1);
	memcpy(der, ok, sizeof(ok));
	ck_assert_int_eq(s2s_srvname_der(der, sizeof(ok), out, sizeof(out)),
	    -1);
	memcpy(bad, ok, sizeof(ok));
	bad[0] = 0x0c;
	ck_assert_int_eq(s2s_srvname_der(bad, sizeof(ok) - 1, out,
	    sizeof(out)), -1);
	/* A space, a control character, a byte above ASCII. */
	memcpy(bad, ok, sizeof(ok));
	bad[5] = ' ';
	ck_assert_int_eq(s2s_srvname_der(bad, sizeof(ok) - 1, out,
	    sizeof(out)), -1);
	bad[5] = '\n';
	ck_assert_int_eq(s2s_srvname_der(bad, sizeof(ok) - 1, out,
	    sizeof(out)), -1);
	bad[5] = 0xc3;
	ck_assert_int_eq(s2s_srvname_der(bad, sizeof(ok) - 1, out,
	    sizeof(out)), -1);
	/* Empty; the long length forms, shortest only. */
	ck_assert_int_eq(s2s_srvname_der((const unsigned char *)"\x16\x00",
	    2, out, sizeof(out)), -1);
	der[0] = 0x16;
	der[1] = 0x81;
	der[2] = 200;
	memset(der + 3, 'a', 200);
	ck_assert_int_eq(s2s_srvname_der(der, 203, out, sizeof(out)), 0);
	ck_assert_uint_eq(strlen(out), 200);
	der[2] = 0x7f;			/* 0x81 0x7f: not the shortest */
	ck_assert_int_eq(s2s_srvname_der(der, 3 + 0x7f, out, sizeof(out)),
	    -1);
	der[1] = 0x82;
	der[2] = 0x01;
	der[3] = 0x0e;			/* 270 */
	memset(der + 4, 'b', 270);
	ck_assert_int_eq(s2s_srvname_der(der, 274, out, sizeof(out)), 0);
	ck_assert_uint_eq(strlen(out), 270);
	ck_assert_int_eq(s2s_srvname_der(der, 274, out, 270), -1);
	der[2] = 0x00;
	der[3] = 0xc8;			/* 0x82 0x00 0xc8: not the shortest */
	ck_assert_int_eq(s2s_srvname_der(der, 4 + 200, out, sizeof(out)),
	    -1);
	der[1] = 0x83;
	ck_assert_int_eq(s2s_srvname_der(der, 274, out, sizeof(out)), -1);
	ck_assert_int_eq(s2s_srvname_der(NULL, 2, out, sizeof(out)), -1);
	ck_assert_int_eq(s2s_srvname_der(ok, sizeof(ok) - 1, NULL, 10), -1);
	ck_assert_int_eq(s2s_srvname_der(ok, sizeof(ok) - 1, out, 0), -1);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("s2sid");
	TCase *tc = tcase_create("match");
	SRunner *sr;
	int nf;

	tcase_add_loop_test(tc, t_cases, 0,
	    (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, t_research_certs);
	tcase_add_test(tc, t_null);
	tcase_add_test(tc, t_limits);
	tcase_add_test(tc, t_wildcard_limits);
	tcase_add_test(tc, t_names);
	tcase_add_test(tc, t_srvname_der);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
