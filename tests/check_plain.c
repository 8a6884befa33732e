/* SASL PLAIN decoding (RFC 4616) and the encoding used at the backend. */
#include <check.h>
#include <string.h>
#include <gnutls/gnutls.h>
#include "xmppgate.h"

static struct plain_creds pc;

/* base64 of raw bytes (which may hold NULs). */
static const char *
b64(const char *raw, size_t n)
{
	static char out[8192];
	gnutls_datum_t in = { (unsigned char *)(uintptr_t)raw, (unsigned)n };
	gnutls_datum_t enc;

	ck_assert_int_eq(gnutls_base64_encode2(&in, &enc), 0);
	memcpy(out, enc.data, enc.size);
	out[enc.size] = '\0';
	gnutls_free(enc.data);
	return out;
}

static enum plain_result
dec(const char *raw, size_t n)
{
	const char *e = b64(raw, n);
	return plain_decode(e, strlen(e), "example.test", &pc);
}

START_TEST(t_good)
{
	ck_assert_int_eq(dec("\0juliet\0r0m30", 13), PLAIN_OK);
	ck_assert_str_eq(pc.user, "juliet");
	ck_assert_uint_eq(pc.pass_len, 5);
	ck_assert_int_eq(memcmp(pc.pass, "r0m30", 5), 0);
	ck_assert_uint_eq(pc.authzid_len, 0);
	/* user@domain for our domain, any case. */
	ck_assert_int_eq(dec("\0juliet@Example.TEST\0p", 22), PLAIN_OK);
	ck_assert_str_eq(pc.user, "juliet");
	/* An authzid naming the user's own bare JID. */
	ck_assert_int_eq(dec("juliet@example.test\0juliet\0p", 28), PLAIN_OK);
	/* Passwords may hold any byte but NUL, UTF-8, newlines, colons. */
	ck_assert_int_eq(dec("\0u\0p\xc3\xa4:\n x", 10), PLAIN_OK);
	ck_assert_uint_eq(pc.pass_len, 7);
}
END_TEST

START_TEST(t_bad)
{
	ck_assert_int_eq(dec("romeo@example.test\0juliet\0p", 27),
	    PLAIN_BAD_AUTHZID);
	ck_assert_int_eq(dec("juliet@other.test\0juliet\0p", 26),
	    PLAIN_BAD_AUTHZID);
	ck_assert_int_eq(dec("\0juliet@other.test\0p", 20), PLAIN_MALFORMED);
	ck_assert_int_eq(dec("\0juliet\0", 8), PLAIN_MALFORMED);
	ck_assert_int_eq(dec("\0\0p", 3), PLAIN_MALFORMED);
	ck_assert_int_eq(dec("juliet\0p", 8), PLAIN_MALFORMED);
	ck_assert_int_eq(dec("\0a\0b\0c", 6), PLAIN_MALFORMED);
	/* Well-formed PLAIN, but no user name (Nodeprep): not-authorized. */
	ck_assert_int_eq(dec("\0ju liet\0p", 10), PLAIN_BAD_USER);
	ck_assert_int_eq(dec("\0ju/liet\0p", 10), PLAIN_BAD_USER);
	ck_assert_int_eq(dec("\0ju\x01liet\0p", 10), PLAIN_BAD_USER);
	ck_assert_int_eq(plain_decode("=", 1, "example.test", &pc),
	    PLAIN_BAD_BASE64);
	ck_assert_int_eq(plain_decode("AGEAYg", 6, "example.test", &pc),
	    PLAIN_BAD_BASE64);
	ck_assert_int_eq(plain_decode("AGEA Yg==", 9, "example.test", &pc),
	    PLAIN_BAD_BASE64);
	ck_assert_int_eq(plain_decode("AG=AYg==", 8, "example.test", &pc),
	    PLAIN_BAD_BASE64);
	ck_assert_int_eq(plain_decode("AGEAYg==", 8, "example.test", &pc),
	    PLAIN_OK);
	/* Failure leaves nothing behind. */
	ck_assert_int_eq(dec("\0juliet\0", 8), PLAIN_MALFORMED);
	ck_assert_uint_eq(pc.pass_len, 0);
	ck_assert_int_eq(pc.user[0], 0);
}
END_TEST

START_TEST(t_limits)
{
	static char raw[4 * XG_SASL_FIELD_MAX];
	size_t n;

	raw[0] = '\0';
	memset(raw + 1, 'u', 255);
	raw[256] = '\0';
	memset(raw + 257, 'p', 255);
	ck_assert_int_eq(dec(raw, 512), PLAIN_OK);	/* RFC 4616: 255 */
	n = 1 + XG_SASL_FIELD_MAX + 1;
	raw[0] = '\0';
	memset(raw + 1, 'u', XG_SASL_FIELD_MAX + 1);
	raw[n] = '\0';
	raw[n + 1] = 'p';
	ck_assert_int_eq(dec(raw, n + 2), PLAIN_MALFORMED);
}
END_TEST

static enum plain_result
ext(const char *raw, char *user, size_t usersz)
{
	const char *e = raw[0] ? b64(raw, strlen(raw)) : "=";
	return external_decode(e, strlen(e), "example.test", user, usersz);
}

START_TEST(t_external)
{
	char u[64];

	/* "=" is the empty authzid: the certificate decides. */
	ck_assert_int_eq(ext("", u, sizeof(u)), PLAIN_OK);
	ck_assert_str_eq(u, "");
	ck_assert_int_eq(ext("juliet@Example.Test", u, sizeof(u)), PLAIN_OK);
	ck_assert_str_eq(u, "juliet");
	/* Another domain, a full JID, no localpart, no '@'. */
	ck_assert_int_eq(ext("juliet@other.test", u, sizeof(u)),
	    PLAIN_BAD_AUTHZID);
	ck_assert_int_eq(ext("juliet@example.test/balcony", u, sizeof(u)),
	    PLAIN_BAD_AUTHZID);
	ck_assert_int_eq(ext("@example.test", u, sizeof(u)),
	    PLAIN_BAD_AUTHZID);
	ck_assert_int_eq(ext("example.test", u, sizeof(u)),
	    PLAIN_BAD_AUTHZID);
	ck_assert_int_eq(ext("ju liet@example.test", u, sizeof(u)),
	    PLAIN_BAD_AUTHZID);
	ck_assert_str_eq(u, "");
	/* A NUL inside, bad base64, and a user that does not fit. */
	ck_assert_int_eq(external_decode(b64("a\0b@example.test", 16), 24,
	    "example.test", u, sizeof(u)), PLAIN_MALFORMED);
	ck_assert_int_eq(external_decode("a b=", 4, "example.test", u,
	    sizeof(u)), PLAIN_BAD_BASE64);
	ck_assert_int_eq(ext("juliet@example.test", u, 6), PLAIN_BAD_AUTHZID);
}
END_TEST

START_TEST(t_external_cert_user)
{
	char u[64];

	external_cert_user("romeo@example.test", "example.test", u, sizeof(u));
	ck_assert_str_eq(u, "romeo");
	external_cert_user("a@other.test romeo@EXAMPLE.test", "example.test",
	    u, sizeof(u));
	ck_assert_str_eq(u, "romeo");
	/* Two in the domain: the client must choose (XEP-0178). */
	external_cert_user("romeo@example.test juliet@example.test",
	    "example.test", u, sizeof(u));
	ck_assert_str_eq(u, "");
	external_cert_user("", "example.test", u, sizeof(u));
	ck_assert_str_eq(u, "");
	external_cert_user("romeo@example.test.evil", "example.test", u,
	    sizeof(u));
	ck_assert_str_eq(u, "");
	external_cert_user("ro/meo@example.test", "example.test", u,
	    sizeof(u));
	ck_assert_str_eq(u, "");
}
END_TEST

START_TEST(t_domain_normalize)
{
	char d[XG_DOMAIN_NAME_MAX + 1];
	char long_label[80];

	ck_assert_int_eq(xg_domain_normalize("Example.TEST.", d, sizeof(d)), 0);
	ck_assert_str_eq(d, "example.test");
	ck_assert_int_eq(xg_domain_normalize("a-b.c", d, sizeof(d)), 0);
	/* Empty labels: "." and ".." can never be file names under
	 * --cert-dir. */
	ck_assert_int_eq(xg_domain_normalize("..", d, sizeof(d)), -1);
	ck_assert_int_eq(xg_domain_normalize(".", d, sizeof(d)), -1);
	ck_assert_int_eq(xg_domain_normalize("a..b", d, sizeof(d)), -1);
	ck_assert_int_eq(xg_domain_normalize(".a", d, sizeof(d)), -1);
	ck_assert_int_eq(xg_domain_normalize("a..", d, sizeof(d)), -1);
	ck_assert_int_eq(xg_domain_normalize("a/b", d, sizeof(d)), -1);
	memset(long_label, 'x', 64);
	long_label[64] = '\0';
	ck_assert_int_eq(xg_domain_normalize(long_label, d, sizeof(d)), -1);
	long_label[63] = '\0';
	ck_assert_int_eq(xg_domain_normalize(long_label, d, sizeof(d)), 0);
}
END_TEST

START_TEST(t_encode_roundtrip)
{
	char out[256];

	ck_assert_int_eq(plain_encode("juliet", "r0m30:\n", out, sizeof(out)),
	    0);
	ck_assert_int_eq(plain_decode(out, strlen(out), "example.test", &pc),
	    PLAIN_OK);
	ck_assert_str_eq(pc.user, "juliet");
	ck_assert_int_eq(memcmp(pc.pass, "r0m30:\n", 7), 0);
	ck_assert_int_eq(plain_encode("juliet", "x", out, 4), -1);
	plain_wipe(&pc);
	ck_assert_uint_eq(pc.pass_len, 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("plain");
	TCase *tc = tcase_create("plain");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, t_good);
	tcase_add_test(tc, t_bad);
	tcase_add_test(tc, t_limits);
	tcase_add_test(tc, t_encode_roundtrip);
	tcase_add_test(tc, t_external);
	tcase_add_test(tc, t_external_cert_user);
	tcase_add_test(tc, t_domain_normalize);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
