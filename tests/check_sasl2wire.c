/*
 * Unit tests for sasl2wire.c: the backend's features asked and filtered
 * after an inline login (Prosody 0.12's own post-login features), and the
 * XEP-0198 id that carries the bound resource, both ways.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <check.h>
#include "xmppgate.h"

/* Prosody 0.12.3 with mod_smacks and mod_csi, after the login. */
static const char prosody[] =
    "<stream:features>"
    "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><required/></bind>"
    "<session xmlns='urn:ietf:params:xml:ns:xmpp-session'><optional/>"
    "</session>"
    "<sm xmlns='urn:xmpp:sm:2'><optional/></sm>"
    "<sm xmlns='urn:xmpp:sm:3'><optional/></sm>"
    "<csi xmlns='urn:xmpp:csi:0'/>"
    "<ver xmlns='urn:xmpp:features:rosterver'/>"
    "</stream:features>";

static const char *
left(const char *in, int drop_bind, int drop_sm, char *out, size_t outsz)
{
	size_t n = sasl2_features_left(in, strlen(in), drop_bind, drop_sm,
	    out, outsz - 1);

	out[n] = '\0';
	return out;
}

START_TEST(t_features_left)
{
	char out[1024];

	ck_assert_str_eq(left(prosody, 0, 0, out, sizeof(out)), prosody);
	ck_assert_str_eq(left(prosody, 1, 0, out, sizeof(out)),
	    "<stream:features>"
	    "<sm xmlns='urn:xmpp:sm:2'><optional/></sm>"
	    "<sm xmlns='urn:xmpp:sm:3'><optional/></sm>"
	    "<csi xmlns='urn:xmpp:csi:0'/>"
	    "<ver xmlns='urn:xmpp:features:rosterver'/>"
	    "</stream:features>");
	ck_assert_str_eq(left(prosody, 1, 1, out, sizeof(out)),
	    "<stream:features><csi xmlns='urn:xmpp:csi:0'/>"
	    "<ver xmlns='urn:xmpp:features:rosterver'/></stream:features>");
	/* An empty feature element and the namespace only on the feature
	 * itself: a <bind/> nested in another feature is that feature's. */
	ck_assert_str_eq(left("<stream:features><x xmlns='urn:y'>"
	    "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></x>"
	    "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>"
	    "</stream:features>", 1, 1, out, sizeof(out)),
	    "<stream:features><x xmlns='urn:y'>"
	    "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></x>"
	    "</stream:features>");
}
END_TEST

START_TEST(t_features_left_room)
{
	char out[40];
	size_t n;

	/* What does not fit is left out whole, never cut in a tag; the end
	 * tag, shorter, still fits.  (sasl2.c's buffer is as large as the
	 * features it filters.) */
	n = sasl2_features_left(prosody, strlen(prosody), 1, 1, out,
	    sizeof(out) - 1);
	out[n] = '\0';
	ck_assert_str_eq(out, "<stream:features></stream:features>");
}
END_TEST

START_TEST(t_feature_has)
{
	static const char nested[] = "<stream:features><x xmlns='a'>"
	    "<sm xmlns='urn:xmpp:sm:3'/>xmlns='urn:xmpp:sm:3'</x>"
	    "</stream:features>";
	static const char empty[] = "<stream:features></stream:features>";

	ck_assert_int_eq(sasl2_feature_has(prosody, strlen(prosody),
	    NS_SM), 1);
	ck_assert_int_eq(sasl2_feature_has(prosody, strlen(prosody),
	    NS_BIND), 1);
	ck_assert_int_eq(sasl2_feature_has(prosody, strlen(prosody),
	    "urn:xmpp:carbons:2"), 0);
	/* Only a feature's own namespace counts, not text or a child's. */
	ck_assert_int_eq(sasl2_feature_has(nested, strlen(nested), NS_SM), 0);
	ck_assert_int_eq(sasl2_feature_has(empty, strlen(empty), NS_SM), 0);
}
END_TEST

START_TEST(t_sm_id)
{
	char w[XG_SM_ID_MAX + 1], id[XG_SM_ID_MAX + 1], r[XG_SASL_FIELD_MAX + 1];

	sasl2_sm_id_wrap("2b8f-11aa", "phone/Ab_-12xY", w, sizeof(w));
	ck_assert_str_eq(w, "2b8f-11aa.cGhvbmUvQWJfLTEyeFk");
	sasl2_sm_id_unwrap(w, id, sizeof(id), r, sizeof(r));
	ck_assert_str_eq(id, "2b8f-11aa");
	ck_assert_str_eq(r, "phone/Ab_-12xY");
	/* No resource: an empty part, so a backend id with a dot comes back
	 * whole. */
	sasl2_sm_id_wrap("a.b", "", w, sizeof(w));
	ck_assert_str_eq(w, "a.b.");
	sasl2_sm_id_unwrap(w, id, sizeof(id), r, sizeof(r));
	ck_assert_str_eq(id, "a.b");
	ck_assert_str_eq(r, "");
	/* An id we did not make (a classic <enable/>'s): whole, no resource. */
	sasl2_sm_id_unwrap("0f2e-uuid-like", id, sizeof(id), r, sizeof(r));
	ck_assert_str_eq(id, "0f2e-uuid-like");
	ck_assert_str_eq(r, "");
	/* A part that is not base64url, or decodes to a control character:
	 * the whole previd goes to the backend, no resource. */
	sasl2_sm_id_unwrap("abc.!!", id, sizeof(id), r, sizeof(r));
	ck_assert_str_eq(id, "abc.!!");
	ck_assert_str_eq(r, "");
	sasl2_sm_id_unwrap("abc.AQ", id, sizeof(id), r, sizeof(r));	/* 0x01 */
	ck_assert_str_eq(id, "abc.AQ");
	ck_assert_str_eq(r, "");
}
END_TEST

START_TEST(t_sm_id_limits)
{
	char big[XG_SM_ID_MAX + 1], w[2 * XG_SM_ID_MAX], id[XG_SM_ID_MAX + 1];
	char r[XG_SASL_FIELD_MAX + 1], res[200];

	/* A resource that would take the id past XG_SM_ID_MAX: left out. */
	memset(big, 'i', 200);
	big[200] = '\0';
	memset(res, 'r', 100);
	res[100] = '\0';
	sasl2_sm_id_wrap(big, res, w, sizeof(w));
	ck_assert_uint_eq(strlen(w), 201);
	ck_assert_int_eq(w[200], '.');
	sasl2_sm_id_unwrap(w, id, sizeof(id), r, sizeof(r));
	ck_assert_str_eq(id, big);
	/* An id of XG_SM_ID_MAX: no room for the dot, so no id at all (one
	 * without a dot could be cut wrongly on a resume). */
	memset(big, 'i', XG_SM_ID_MAX - 4);
	memcpy(big + XG_SM_ID_MAX - 4, ".YWJ", 4);
	big[XG_SM_ID_MAX] = '\0';
	sasl2_sm_id_wrap(big, "res", w, sizeof(w));
	ck_assert_str_eq(w, "");
	big[XG_SM_ID_MAX - 1] = '\0';
	sasl2_sm_id_wrap(big, "res", w, sizeof(w));
	ck_assert_uint_eq(strlen(w), XG_SM_ID_MAX);
	sasl2_sm_id_unwrap(w, id, sizeof(id), r, sizeof(r));
	ck_assert_str_eq(id, big);
	/* Every wrapped id fits a client's previd (XG_SM_ID_MAX). */
	memset(big, 'i', XG_SM_ID_MAX - 5);
	big[XG_SM_ID_MAX - 5] = '\0';
	sasl2_sm_id_wrap(big, "abc", w, sizeof(w));
	ck_assert_uint_le(strlen(w), XG_SM_ID_MAX);
	ck_assert_str_eq(w + XG_SM_ID_MAX - 5, ".YWJj");
}
END_TEST

START_TEST(t_text_ok)
{
	ck_assert_int_eq(sasl2_text_ok("phone-1", 7), 1);
	ck_assert_int_eq(sasl2_text_ok("\xc3\xa9 ~", 4), 1);	/* UTF-8, space, ~ */
	ck_assert_int_eq(sasl2_text_ok("", 0), 0);
	ck_assert_int_eq(sasl2_text_ok("a\tb", 3), 0);
	ck_assert_int_eq(sasl2_text_ok("ab\x7f", 3), 0);
	ck_assert_int_eq(sasl2_text_ok("ab\x1f", 3), 0);
	ck_assert_int_eq(sasl2_text_ok("a\0b", 3), 0);	/* a NUL within n */
	ck_assert_int_eq(sasl2_text_ok("ab\n", 2), 1);	/* only n bytes count */
}
END_TEST

START_TEST(t_b64url)
{
	char out[16];

	ck_assert_int_eq(xg_b64url("\xfb\xff", 2, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "-_8");
	ck_assert_int_eq(xg_b64url("abcdefghij", 10, out, 8), -1);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("sasl2wire");
	TCase *tc = tcase_create("sasl2wire");
	SRunner *sr;
	int nf;

	tcase_add_test(tc, t_features_left);
	tcase_add_test(tc, t_features_left_room);
	tcase_add_test(tc, t_feature_has);
	tcase_add_test(tc, t_sm_id);
	tcase_add_test(tc, t_sm_id_limits);
	tcase_add_test(tc, t_text_ok);
	tcase_add_test(tc, t_b64url);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
