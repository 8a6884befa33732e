/*
 * Unit tests of xg_localpart_prep() (localpart.c): user names prepared
 * with Nodeprep as Prosody and ejabberd prepare them, and what is refused.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "xmppgate.h"

static char out[XG_LOCALPART_MAX + 1];
static const char *why;

static int
prep(const char *in)
{
	memset(out, 0xa5, sizeof(out));
	return xg_localpart_prep(in, strlen(in), out, sizeof(out), &why);
}

static void
refused(const char *in, const char *reason)
{
	ck_assert_msg(prep(in) == -1, "'%s' was taken as '%s'", in, out);
	ck_assert_str_eq(out, "");
	ck_assert_str_eq(why, reason);
}

START_TEST(canonical)
{
	ck_assert_int_eq(prep("alice"), 0);
	ck_assert_str_eq(out, "alice");
	ck_assert_ptr_eq(why, NULL);
	/* Case folded. */
	ck_assert_int_eq(prep("ALICE"), 0);
	ck_assert_str_eq(out, "alice");
	/* Full-width U+FF41 (NFKC) and U+FF21. */
	ck_assert_int_eq(prep("\xef\xbd\x81lice"), 0);
	ck_assert_str_eq(out, "alice");
	ck_assert_int_eq(prep("\xef\xbc\xa1LICE"), 0);
	ck_assert_str_eq(out, "alice");
	/* Decomposed A + ring (U+030A) composes; German sharp s folds. */
	ck_assert_int_eq(prep("A\xcc\x8angstr\xc3\xb6m"), 0);
	ck_assert_str_eq(out, "\xc3\xa5ngstr\xc3\xb6m");
	ck_assert_int_eq(prep("stra\xc3\x9f" "e"), 0);
	ck_assert_str_eq(out, "strasse");
	/* A soft hyphen (U+00AD) is mapped to nothing. */
	ck_assert_int_eq(prep("al\xc2\xad" "ice"), 0);
	ck_assert_str_eq(out, "alice");
	/* Right-to-left text on its own is fine (RFC 3454 6). */
	ck_assert_int_eq(prep("\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d"), 0);
}
END_TEST

START_TEST(not_utf8)
{
	refused("al\xff" "ice", "not UTF-8");
	refused("\xc0\xaf", "not UTF-8");		/* overlong '/' */
	refused("a\xed\xa0\x80", "not UTF-8");		/* a surrogate */
	refused("alice\xe2\x82", "not UTF-8");		/* truncated */
	/* A NUL inside the name (SCRAM's saslname cannot, PLAIN's split
	 * cannot, but the function is not trusting its callers). */
	ck_assert_int_eq(xg_localpart_prep("a\0b", 3, out, sizeof(out), &why),
	    -1);
	ck_assert_str_eq(why, "not UTF-8");
}
END_TEST

START_TEST(prohibited)
{
	/* The right-to-left override, and the other bidi embeddings. */
	refused("ali\xe2\x80\xae" "ecila", "a character Nodeprep prohibits");
	refused("\xe2\x80\xaa" "alice", "a character Nodeprep prohibits");
	/* Controls, C0 and C1, DEL. */
	refused("a\x01" "b", "a character Nodeprep prohibits");
	refused("alice\n", "a character Nodeprep prohibits");
	refused("a\x7f", "a character Nodeprep prohibits");
	refused("a\xc2\x85", "a character Nodeprep prohibits");
	/* What a localpart may not hold (RFC 7622 3.3.1), also after NFKC
	 * (U+FF20 is a full-width '@'). */
	refused("a b", "a character Nodeprep prohibits");
	refused("a@b", "a character Nodeprep prohibits");
	refused("a/b", "a character Nodeprep prohibits");
	refused("a\xef\xbc\xa0" "b", "a character Nodeprep prohibits");
	/* Private use. */
	refused("a\xee\x80\x80", "a character Nodeprep prohibits");
	/* Left-to-right and right-to-left letters mixed. */
	refused("a\xd7\xa9", "mixed-direction text");
	/* An unassigned code point (U+0378). */
	refused("a\xcd\xb8", "an unassigned code point");
}
END_TEST

START_TEST(lengths)
{
	char in[XG_LOCALPART_MAX + 2];
	char small[8];
	size_t i;

	refused("", "empty");
	/* Only a zero-width space, mapped to nothing: empty. */
	refused("\xe2\x80\x8b", "empty");
	/* The limit is taken, one more octet is not. */
	memset(in, 'a', XG_LOCALPART_MAX);
	in[XG_LOCALPART_MAX] = '\0';
	ck_assert_int_eq(prep(in), 0);
	ck_assert_uint_eq(strlen(out), XG_LOCALPART_MAX);
	in[XG_LOCALPART_MAX] = 'a';
	in[XG_LOCALPART_MAX + 1] = '\0';
	refused(in, "too long");
	/* U+FB03 (3 octets) becomes "ffi" (3 octets): 341 of them are
	 * taken at the limit. */
	for (i = 0; i + 3 <= 3 * 341; i += 3)
		memcpy(in + i, "\xef\xac\x83", 3);
	in[i] = '\0';
	ck_assert_uint_le(strlen(in), XG_LOCALPART_MAX);
	ck_assert_int_eq(prep(in), 0);
	ck_assert_uint_eq(strlen(out), 3 * 341);
	/* Longer after preparation: U+3300 (3 octets) becomes four
	 * katakana (12 octets), so 86 of them (258 octets) become 1032. */
	for (i = 0; i < 3 * 86; i += 3)
		memcpy(in + i, "\xe3\x8c\x80", 3);
	in[i] = '\0';
	ck_assert_uint_le(strlen(in), XG_LOCALPART_MAX);
	refused(in, "too long");
	/* 85 of them (1020 octets after NFKC) are taken. */
	in[3 * 85] = '\0';
	ck_assert_int_eq(prep(in), 0);
	ck_assert_uint_eq(strlen(out), 12 * 85);
	/* The caller's buffer bounds it too. */
	ck_assert_int_eq(xg_localpart_prep("ALICEBOB", 8, small,
	    sizeof(small), &why), -1);
	ck_assert_str_eq(small, "");
	ck_assert_int_eq(xg_localpart_prep("ALICEBO", 7, small,
	    sizeof(small), &why), 0);
	ck_assert_str_eq(small, "alicebo");
}
END_TEST

/* The SASL decoders use it: PLAIN's authcid and authzid, EXTERNAL's
 * requested authzid, a certificate's XmppAddr. */
START_TEST(in_sasl)
{
	struct plain_creds pc;
	char user[XG_SASL_FIELD_MAX + 1], b64[256];
	const char *msg;

	msg = "ALICE@Example.Test\0\xef\xbc\xa1lice@example.test\0pw";
	ck_assert_int_gt(xg_b64_encode(msg, 18 + 1 + 20 + 1 + 2, b64,
	    sizeof(b64)), 0);
	ck_assert_int_eq(plain_decode(b64, strlen(b64), "example.test", &pc),
	    PLAIN_OK);
	ck_assert_str_eq(pc.user, "alice");
	ck_assert_uint_eq(pc.user_len, 5);
	ck_assert_str_eq(pc.authzid, "alice@example.test");
	ck_assert_uint_eq(pc.authzid_len, 18);
	plain_wipe(&pc);
	msg = "\0ali\xe2\x80\xae" "ce\0pw";
	ck_assert_int_gt(xg_b64_encode(msg, 1 + 8 + 1 + 2, b64, sizeof(b64)),
	    0);
	ck_assert_int_eq(plain_decode(b64, strlen(b64), "example.test", &pc),
	    PLAIN_BAD_USER);
	msg = "bob@example.test\0ALICE\0pw";
	ck_assert_int_gt(xg_b64_encode(msg, 16 + 1 + 5 + 1 + 2, b64,
	    sizeof(b64)), 0);
	ck_assert_int_eq(plain_decode(b64, strlen(b64), "example.test", &pc),
	    PLAIN_BAD_AUTHZID);
	ck_assert_int_gt(xg_b64_encode("ALICE@example.test", 18, b64,
	    sizeof(b64)), 0);
	ck_assert_int_eq(external_decode(b64, strlen(b64), "example.test",
	    user, sizeof(user)), PLAIN_OK);
	ck_assert_str_eq(user, "alice");
	ck_assert_int_gt(xg_b64_encode("al\x01" "ce@example.test", 15, b64,
	    sizeof(b64)), 0);
	ck_assert_int_eq(external_decode(b64, strlen(b64), "example.test",
	    user, sizeof(user)), PLAIN_BAD_AUTHZID);
	ck_assert_str_eq(user, "");
	external_cert_user("bob@other.test ALICE@example.test", "example.test",
	    user, sizeof(user));
	ck_assert_str_eq(user, "alice");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("localpart");
	TCase *tc = tcase_create("nodeprep");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, canonical);
	tcase_add_test(tc, not_utf8);
	tcase_add_test(tc, prohibited);
	tcase_add_test(tc, lengths);
	tcase_add_test(tc, in_sasl);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
