/* The lexer: one token at a time, bounded, refusing restricted XML. */
#include <check.h>
#include <string.h>
#include "xmppgate.h"

static struct xml_token tok;

static enum xml_result
lex(const char *s, size_t *used)
{
	return xml_lex((const uint8_t *)s, strlen(s), &tok, used);
}

START_TEST(t_start_tag)
{
	size_t u;

	ck_assert_int_eq(lex("<a:b x='1' y = \"2\" >rest", &u), XML_OK);
	ck_assert_uint_eq(u, 20);
	ck_assert_int_eq(tok.type, XML_TOK_START);
	ck_assert_str_eq(tok.name, "a:b");
	ck_assert_uint_eq(tok.nattrs, 2);
	ck_assert_str_eq(xml_attr_get(&tok, "y", NULL), "2");
	ck_assert_int_eq(tok.empty, 0);
	ck_assert_int_eq(lex("<a b='>'/>", &u), XML_OK);
	ck_assert_int_eq(tok.empty, 1);
	ck_assert_str_eq(xml_attr_get(&tok, "b", NULL), ">");
}
END_TEST

START_TEST(t_end_and_text)
{
	size_t u;

	ck_assert_int_eq(lex("</x >", &u), XML_OK);
	ck_assert_int_eq(tok.type, XML_TOK_END);
	ck_assert_str_eq(tok.name, "x");
	ck_assert_int_eq(lex("a&lt;b&#x41;&#66;<", &u), XML_OK);
	ck_assert_int_eq(tok.type, XML_TOK_TEXT);
	ck_assert_uint_eq(tok.text_len, 5);
	ck_assert_int_eq(memcmp(tok.text, "a<bAB", 5), 0);
	ck_assert_int_eq(tok.text_ws, 0);
	ck_assert_int_eq(lex(" \r\n\t", &u), XML_OK);
	ck_assert_int_eq(tok.text_ws, 1);
	/* A reference split by the read is left for the next read. */
	ck_assert_int_eq(lex("ab&am", &u), XML_OK);
	ck_assert_uint_eq(u, 2);
	ck_assert_int_eq(lex("&am", &u), XML_MORE);
	/* So is a split UTF-8 character. */
	ck_assert_int_eq(lex("x\xe2\x82", &u), XML_OK);
	ck_assert_uint_eq(u, 1);
	ck_assert_int_eq(lex("\xe2\x82", &u), XML_MORE);
}
END_TEST

START_TEST(t_attribute_normalization)
{
	size_t u;

	ck_assert_int_eq(lex("<a b='x\ty\nz&#10;'/>", &u), XML_OK);
	ck_assert_str_eq(xml_attr_get(&tok, "b", NULL), "x y z\n");
}
END_TEST

START_TEST(t_declaration)
{
	size_t u;

	ck_assert_int_eq(lex("<?xml version='1.0'?>", &u), XML_OK);
	ck_assert_int_eq(tok.type, XML_TOK_DECL);
	ck_assert_int_eq(lex("<?xml version='1.0' encoding='utf-8' "
	    "standalone='yes'?>", &u), XML_OK);
	ck_assert_int_eq(lex("<?xml version='1.1'?>", &u), XML_ERR_SYNTAX);
	ck_assert_int_eq(lex("<?xml encoding='UTF-8'?>", &u), XML_ERR_SYNTAX);
	ck_assert_int_eq(lex("<?xml version='1.0' encoding='UTF-16'?>", &u),
	    XML_ERR_ENCODING);
	ck_assert_int_eq(lex("<?xml-stylesheet a?>", &u), XML_ERR_RESTRICTED);
	ck_assert_int_eq(lex("<?pi?>", &u), XML_ERR_RESTRICTED);
	ck_assert_int_eq(lex("<?xm", &u), XML_MORE);
}
END_TEST

START_TEST(t_restricted)
{
	size_t u;

	ck_assert_int_eq(lex("<!--", &u), XML_ERR_RESTRICTED);
	ck_assert_int_eq(lex("<!DOCTYPE x>", &u), XML_ERR_RESTRICTED);
	ck_assert_int_eq(lex("<![CDATA[", &u), XML_ERR_RESTRICTED);
	ck_assert_int_eq(lex("&xxe;", &u), XML_ERR_RESTRICTED);
	ck_assert_int_eq(lex("<a b='&xxe;'>", &u), XML_ERR_RESTRICTED);
}
END_TEST

START_TEST(t_errors)
{
	size_t u;

	ck_assert_int_eq(lex("<a b='1' b='2'>", &u), XML_ERR_SYNTAX);
	ck_assert_int_eq(lex("<a b>", &u), XML_ERR_SYNTAX);
	ck_assert_int_eq(lex("<1a>", &u), XML_ERR_SYNTAX);
	ck_assert_int_eq(lex("<a:>", &u), XML_ERR_SYNTAX);
	ck_assert_int_eq(lex("</a b>", &u), XML_ERR_SYNTAX);
	ck_assert_int_eq(lex("<a b='&#xD800;'>", &u), XML_ERR_CHAR);
	ck_assert_int_eq(lex("<a b='&#x110000;'>", &u), XML_ERR_CHAR);
	ck_assert_int_eq(lex("&#;", &u), XML_ERR_SYNTAX);
	ck_assert_int_eq(lex("\x1b", &u), XML_ERR_CHAR);
	ck_assert_int_eq(lex("\xc1\xbf", &u), XML_ERR_UTF8);
	ck_assert_int_eq(lex("\xf4\x90\x80\x80", &u), XML_ERR_UTF8);
	ck_assert_int_eq(lex("<a", &u), XML_MORE);
	ck_assert_int_eq(lex("<a b='>", &u), XML_MORE);
	ck_assert_int_eq(lex("<", &u), XML_MORE);
	ck_assert_int_eq(lex("", &u), XML_MORE);
}
END_TEST

START_TEST(t_namespaces)
{
	struct xml_ns ns;
	const char *local, *uri;
	size_t u;

	memset(&ns, 0, sizeof(ns));
	ck_assert_int_eq(lex("<s:x xmlns='d' xmlns:s='S' s:a='1'>", &u),
	    XML_OK);
	ck_assert_int_eq(xml_ns_push(&ns, &tok), 0);
	ck_assert_int_eq(xml_ns_check_attrs(&ns, &tok), 0);
	uri = xml_ns_resolve(&ns, "s:x", &local);
	ck_assert_str_eq(uri, "S");
	ck_assert_str_eq(local, "x");
	ck_assert_str_eq(xml_ns_resolve(&ns, "y", &local), "d");
	ck_assert_ptr_null(xml_ns_resolve(&ns, "q:y", &local));
	ck_assert_int_eq(lex("<x q:a='1'>", &u), XML_OK);
	ck_assert_int_eq(xml_ns_check_attrs(&ns, &tok), -1);
	ck_assert_int_eq(lex("<x xmlns:p=''>", &u), XML_OK);
	ck_assert_int_eq(xml_ns_push(&ns, &tok), -1);
}
END_TEST

START_TEST(t_escape)
{
	char out[64];

	xml_escape(out, sizeof(out), "<a&'\">", 6);
	ck_assert_str_eq(out, "&lt;a&amp;&apos;&quot;&gt;");
	xml_escape(out, 6, "&&&", 3);
	ck_assert_str_eq(out, "&amp;");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("xml");
	TCase *tc = tcase_create("lexer");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, t_start_tag);
	tcase_add_test(tc, t_end_and_text);
	tcase_add_test(tc, t_attribute_normalization);
	tcase_add_test(tc, t_declaration);
	tcase_add_test(tc, t_restricted);
	tcase_add_test(tc, t_errors);
	tcase_add_test(tc, t_namespaces);
	tcase_add_test(tc, t_escape);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
