/*
 * Unit tests of log_escape() (log.c): what every log line goes through,
 * so that client text cannot forge a line or a journal priority.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "xmppgate.h"

static char out[XG_LOG_LINE_MAX];

static const char *
esc(const char *in)
{
	log_escape(in, out, sizeof(out));
	return out;
}

START_TEST(forged_line)
{
	/* mechanism='X&#10;&lt;0>conn=1 summary ...' as the parser hands it
	 * on: the newline is no line break, so "<0>" starts no entry. */
	ck_assert_str_eq(esc("mechanism 'X\n<0>conn=1 summary outcome=ok'"),
	    "mechanism 'X\\x0a<0>conn=1 summary outcome=ok'");
	ck_assert_str_eq(esc("a\r\nb"), "a\\x0d\\x0ab");
	ck_assert_ptr_eq(strchr(esc("\n\n\n"), '\n'), NULL);
}
END_TEST

START_TEST(controls)
{
	ck_assert_str_eq(esc("\x01\x1b[31m\x7f\t"), "\\x01\\x1b[31m\\x7f\\x09");
	/* Our escapes stay ours: a client's "\x0a" is not a newline. */
	ck_assert_str_eq(esc("\\x0a"), "\\\\x0a");
	ck_assert_str_eq(esc("plain text, 'quoted' <b>"),
	    "plain text, 'quoted' <b>");
	ck_assert_str_eq(esc(""), "");
}
END_TEST

START_TEST(utf8)
{
	/* Showable UTF-8 stays readable. */
	ck_assert_str_eq(esc("user=\xc3\xa5lice \xe4\xb8\xad \xf0\x9f\x98\x80"),
	    "user=\xc3\xa5lice \xe4\xb8\xad \xf0\x9f\x98\x80");
	/* Malformed: a stray continuation, 0xff, overlong '/', a surrogate,
	 * above U+10FFFF, a truncated sequence at the end. */
	ck_assert_str_eq(esc("\x80"), "\\x80");
	ck_assert_str_eq(esc("\xff"), "\\xff");
	ck_assert_str_eq(esc("\xc0\xaf"), "\\xc0\\xaf");
	ck_assert_str_eq(esc("\xed\xa0\x80"), "\\xed\\xa0\\x80");
	ck_assert_str_eq(esc("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");
	ck_assert_str_eq(esc("a\xe2\x82"), "a\\xe2\\x82");
	/* Valid but not shown: NEL (U+0085), the line separator U+2028,
	 * the right-to-left override U+202E, an isolate U+2066, the BOM. */
	ck_assert_str_eq(esc("\xc2\x85"), "\\xc2\\x85");
	ck_assert_str_eq(esc("\xe2\x80\xa8"), "\\xe2\\x80\\xa8");
	ck_assert_str_eq(esc("ali\xe2\x80\xae" "ecila"),
	    "ali\\xe2\\x80\\xae" "ecila");
	ck_assert_str_eq(esc("\xe2\x81\xa6"), "\\xe2\\x81\\xa6");
	ck_assert_str_eq(esc("\xef\xbb\xbf"), "\\xef\\xbb\\xbf");
	/* U+00A0 and U+202F (next to the refused ones) are shown. */
	ck_assert_str_eq(esc("\xc2\xa0\xe2\x80\xaf"), "\xc2\xa0\xe2\x80\xaf");
}
END_TEST

START_TEST(cut)
{
	char in[XG_LOG_LINE_MAX], small[16];
	size_t n, i;

	/* A line of newlines is cut at an escape, never inside one. */
	memset(in, '\n', sizeof(in) - 1);
	in[sizeof(in) - 1] = '\0';
	n = log_escape(in, out, sizeof(out));
	ck_assert_uint_eq(n, strlen(out));
	ck_assert_uint_lt(n, sizeof(out));
	ck_assert_str_eq(out + n - 3, "...");
	ck_assert_uint_eq((n - 3) % 4, 0);
	for (i = 0; i < n - 3; i += 4)
		ck_assert_int_eq(memcmp(out + i, "\\x0a", 4), 0);
	/* A small buffer: a UTF-8 character is not split. */
	n = log_escape("ab\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad",
	    small, sizeof(small));
	ck_assert_str_eq(small, "ab\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad...");
	ck_assert_uint_eq(n, strlen(small));
	/* Exactly fitting text is not cut. */
	n = log_escape("0123456789a", small, sizeof(small));
	ck_assert_str_eq(small, "0123456789a");
	ck_assert_uint_eq(log_escape("x", small, 1), 0);
	ck_assert_str_eq(small, "");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("escape");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, forged_line);
	tcase_add_test(tc, controls);
	tcase_add_test(tc, utf8);
	tcase_add_test(tc, cut);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
