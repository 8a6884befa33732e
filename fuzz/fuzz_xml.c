/*
 * libFuzzer target: the XML lexer (src/xml.c) over arbitrary bytes, and
 * xml_escape().
 *
 * xml_lex is called over the input token after token until it asks for
 * more or refuses, and each answer is checked:
 *   - *used never exceeds the bytes given; XML_OK consumes at least one
 *     byte, every other answer consumes none;
 *   - a tag is at most XG_TAG_MAX bytes, starts with '<' and ends with
 *     '>', has a non-empty NUL-terminated name, at most XG_ATTRS_MAX
 *     attributes with distinct non-empty names and decoded values of
 *     value_len <= XG_ATTR_VALUE_MAX bytes (NUL-terminated, no NUL
 *     inside, valid UTF-8);
 *   - text is 1..sizeof(text) decoded bytes of valid UTF-8, no longer
 *     than the bytes it came from, which hold no '<'; text_ws is set
 *     exactly when the source is white space without references;
 *   - "need more" leaves fewer than XG_TAG_MAX bytes waiting (so the
 *     caller's XG_READ_BUF buffer can never fill up with one token);
 *   - answers do not depend on how much of the stream has arrived:
 *     lexing only the bytes a token consumed gives the same token, and
 *     a shorter prefix of the buffer gives "need more", the same tag,
 *     the same error, or a piece of the same text -- never something
 *     that more bytes would take back.
 * The per-token checks run a second time on the input placed behind a
 * prefix that takes it to within a few bytes of one named limit (see
 * lex_at_limits).
 * xml_escape is called with an output buffer of an input-chosen size,
 * allocated to exactly that size so ASan sees any overrun; the output
 * must be terminated, hold no markup character, decode to a prefix of
 * the input, be the whole input when the buffer is large enough, and
 * (for input that is XML text) lex back to the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "xmppgate.h"
#include "fuzz_common.h"

static struct xml_token tok, tok2;

static int
is_ws(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void
check_token(const uint8_t *src, size_t used, const struct xml_token *t)
{
	size_t i, j;

	switch (t->type) {
	case XML_TOK_DECL:
	case XML_TOK_START:
	case XML_TOK_END:
		FUZZ_CHECK(used >= 3 && used <= XG_TAG_MAX);
		FUZZ_CHECK(src[0] == '<' && src[used - 1] == '>');
		FUZZ_CHECK(fz_terminated(t->name, sizeof(t->name)));
		FUZZ_CHECK(t->name[0] != '\0');
		FUZZ_CHECK(t->nattrs <= XG_ATTRS_MAX);
		for (i = 0; i < t->nattrs; i++) {
			const struct xml_attr *a = &t->attrs[i];
			FUZZ_CHECK(fz_terminated(a->name, sizeof(a->name)));
			FUZZ_CHECK(a->name[0] != '\0');
			FUZZ_CHECK(a->value_len <= XG_ATTR_VALUE_MAX);
			FUZZ_CHECK(a->value[a->value_len] == '\0');
			FUZZ_CHECK(memchr(a->value, '\0', a->value_len) ==
			    NULL);
			FUZZ_CHECK(fz_xml_utf8((const uint8_t *)a->value,
			    a->value_len));
			for (j = 0; j < i; j++)
				FUZZ_CHECK(strcmp(t->attrs[j].name,
				    a->name) != 0);
		}
		if (t->type == XML_TOK_END) {
			FUZZ_CHECK(src[1] == '/');
			FUZZ_CHECK(t->nattrs == 0 && !t->empty);
		}
		if (t->type == XML_TOK_DECL) {
			FUZZ_CHECK(memcmp(src, "<?xml", 5) == 0);
			FUZZ_CHECK(strcmp(t->name, "xml") == 0);
			FUZZ_CHECK(t->nattrs >= 1 &&
			    strcmp(t->attrs[0].name, "version") == 0);
		}
		if (t->type == XML_TOK_START) {
			FUZZ_CHECK(src[1] != '/' && src[1] != '?' &&
			    src[1] != '!');
			FUZZ_CHECK(t->empty == (src[used - 2] == '/'));
		}
		break;
	case XML_TOK_TEXT:
		FUZZ_CHECK(memchr(src, '<', used) == NULL);
		FUZZ_CHECK(t->text_len > 0 && t->text_len <= sizeof(t->text));
		/* A reference is never longer decoded than written. */
		FUZZ_CHECK(t->text_len <= used);
		FUZZ_CHECK(fz_xml_utf8((const uint8_t *)t->text,
		    t->text_len));
		{
			int ws = memchr(src, '&', used) == NULL;
			for (i = 0; i < used && ws; i++)
				ws = is_ws(src[i]);
			FUZZ_CHECK(t->text_ws == ws);
		}
		break;
	default:
		FUZZ_CHECK(!"token type out of range");
	}
}

static int
same_token(const struct xml_token *a, const struct xml_token *b)
{
	size_t i;

	if (a->type != b->type)
		return 0;
	if (a->type == XML_TOK_TEXT)
		return a->text_len == b->text_len && a->text_ws == b->text_ws &&
		    memcmp(a->text, b->text, a->text_len) == 0;
	if (strcmp(a->name, b->name) != 0 || a->empty != b->empty ||
	    a->nattrs != b->nattrs)
		return 0;
	for (i = 0; i < a->nattrs; i++)
		if (strcmp(a->attrs[i].name, b->attrs[i].name) != 0 ||
		    a->attrs[i].value_len != b->attrs[i].value_len ||
		    memcmp(a->attrs[i].value, b->attrs[i].value,
		    a->attrs[i].value_len) != 0)
			return 0;
	return 1;
}

/*
 * The answer for buf[0..k) with k < n, against the answer (r, used, tok)
 * already had for buf[0..n).
 */
static void
check_prefix(const uint8_t *buf, size_t k, enum xml_result r, size_t used)
{
	enum xml_result rk;
	size_t uk;

	rk = xml_lex(buf, k, &tok2, &uk);
	FUZZ_CHECK(uk <= k);
	if (rk == XML_MORE)
		return;
	if (rk != XML_OK) {
		/* An error is final: more bytes cannot make it go away. */
		FUZZ_CHECK(r == rk);
		return;
	}
	FUZZ_CHECK(r == XML_OK);
	if (tok2.type == XML_TOK_TEXT) {
		/* A piece of the same text, which more bytes only extend. */
		FUZZ_CHECK(tok.type == XML_TOK_TEXT);
		FUZZ_CHECK(uk <= used);
		FUZZ_CHECK(tok2.text_len <= tok.text_len);
		FUZZ_CHECK(memcmp(tok2.text, tok.text, tok2.text_len) == 0);
		if (tok.text_ws)
			FUZZ_CHECK(tok2.text_ws);
	} else {
		FUZZ_CHECK(uk == used);
		FUZZ_CHECK(same_token(&tok, &tok2));
	}
}

/* Decode the five predefined entities; -1 on anything else after '&'. */
static long
unescape(const char *s, size_t n, char *out)
{
	static const struct { const char *e; char c; } ents[] = {
		{ "&lt;", '<' }, { "&gt;", '>' }, { "&amp;", '&' },
		{ "&quot;", '"' }, { "&apos;", '\'' },
	};
	size_t i = 0, o = 0, k;

	while (i < n) {
		if (s[i] != '&') {
			out[o++] = s[i++];
			continue;
		}
		for (k = 0; k < 5; k++) {
			size_t el = strlen(ents[k].e);
			if (n - i >= el && memcmp(s + i, ents[k].e, el) == 0) {
				out[o++] = ents[k].c;
				i += el;
				break;
			}
		}
		if (k == 5)
			return -1;
	}
	return (long)o;
}

static void
fuzz_escape(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	size_t outsz, o, i, nn = 0, off, u, got = 0;
	char *out, *dec, *nonul, *lexed;
	long dl;
	enum xml_result r;

	/* 0 .. 6 * size + 1: from "nothing fits" to "all fits". */
	outsz = size == 0 ? 0 :
	    ((size_t)data[0] | (size_t)data[size - 1] << 8) % (6 * size + 2);
	out = malloc(outsz ? outsz : 1);
	dec = malloc(outsz + 1);
	nonul = malloc(size + 1);
	FUZZ_CHECK(out && dec && nonul);
	o = xml_escape(out, outsz, in, size);
	if (outsz == 0) {
		FUZZ_CHECK(o == 0);
		goto done;
	}
	FUZZ_CHECK(o < outsz);
	FUZZ_CHECK(out[o] == '\0');
	for (i = 0; i < o; i++)
		FUZZ_CHECK(out[i] != '<' && out[i] != '>' && out[i] != '"' &&
		    out[i] != '\'' && out[i] != '\0');
	/* NUL bytes are dropped: C strings cannot carry them. */
	for (i = 0; i < size; i++)
		if (in[i] != '\0')
			nonul[nn++] = in[i];
	dl = unescape(out, o, dec);
	FUZZ_CHECK(dl >= 0);
	FUZZ_CHECK((size_t)dl <= nn && memcmp(dec, nonul, (size_t)dl) == 0);
	if (outsz >= 6 * size + 1)
		FUZZ_CHECK((size_t)dl == nn);
	/* What we send as text must read back as that text. */
	if ((size_t)dl == nn && nn > 0 && fz_xml_utf8((uint8_t *)nonul, nn)) {
		lexed = malloc(nn);
		FUZZ_CHECK(lexed != NULL);
		for (off = 0; off < o; off += u) {
			r = xml_lex((const uint8_t *)out + off, o - off, &tok2,
			    &u);
			FUZZ_CHECK(r == XML_OK && tok2.type == XML_TOK_TEXT);
			FUZZ_CHECK(got + tok2.text_len <= nn);
			memcpy(lexed + got, tok2.text, tok2.text_len);
			got += tok2.text_len;
		}
		FUZZ_CHECK(got == nn && memcmp(lexed, nonul, nn) == 0);
		free(lexed);
	}
done:
	free(out);
	free(dec);
	free(nonul);
}

/* Lex buf[0..size) token by token, checking every answer; thorough
 * also lexes shorter prefixes and each token's bytes alone. */
static void
lex_all(const uint8_t *data, size_t size, int thorough)
{
	size_t off = 0, used, left, k, steps = 0;
	enum xml_result r;
	uint8_t *copy;

	/* The lexer must not read past what it was given: an exact copy
	 * lets ASan see a read of buf[len]. */
	copy = malloc(size ? size : 1);
	FUZZ_CHECK(copy != NULL);
	memcpy(copy, data, size);
	for (;;) {
		left = size - off;
		r = xml_lex(copy + off, left, &tok, &used);
		FUZZ_CHECK(r >= XML_OK && r <= XML_ERR_LIMIT);
		FUZZ_CHECK(used <= left);
		/* Shorter prefixes: one byte short, and one chosen by the
		 * input. */
		if (thorough && left > 1)
			check_prefix(copy + off, left - 1, r, used);
		if (thorough && left > 2) {
			k = ((size_t)copy[off] * 131 + steps) % left;
			check_prefix(copy + off, k, r, used);
		}
		if (r != XML_OK) {
			FUZZ_CHECK(used == 0);
			break;
		}
		FUZZ_CHECK(used > 0);
		check_token(copy + off, used, &tok);
		/* The bytes consumed, alone, give the same token. */
		if (thorough) {
			size_t u2;
			enum xml_result r2 = xml_lex(copy + off, used, &tok2,
			    &u2);
			FUZZ_CHECK(r2 == XML_OK && u2 == used);
			FUZZ_CHECK(same_token(&tok, &tok2));
		}
		off += used;
		steps++;
	}
	if (r == XML_MORE)
		FUZZ_CHECK(size - off < XG_TAG_MAX);
	free(copy);
}

static size_t
fill(uint8_t *p, const char *s)
{
	size_t n = strlen(s);

	memcpy(p, s, n);
	return n;
}

/*
 * The input again, behind a prefix that brings it to within a few bytes
 * of one named limit, chosen with the offset by its first byte: the text
 * buffer (sizeof(text)), XG_ATTR_VALUE_MAX, XG_TAG_MAX, XG_NAME_MAX or
 * XG_ATTRS_MAX.  Off-by-one errors live at those edges, which mutating
 * a 4 KiB input by hand would seldom reach exactly.
 */
static void
lex_at_limits(const uint8_t *data, size_t size)
{
	uint8_t *buf;
	size_t n = 0, i, k;
	unsigned sel, off;

	if (size == 0)
		return;
	sel = data[0] % 5;
	off = (unsigned)(data[0] / 5) % 48;	/* 0..47 */
	buf = malloc(2 * XG_TAG_MAX + size);
	FUZZ_CHECK(buf != NULL);
	switch (sel) {
	case 0:		/* text: the input starts at 4072..4119 */
		k = sizeof(tok.text) - 24 + off;
		memset(buf, 'a', k);
		n = k;
		break;
	case 1:		/* an attribute value of 1000..1047 bytes so far */
		n = fill(buf, "<a b='");
		k = XG_ATTR_VALUE_MAX - 24 + off;
		memset(buf + n, 'v', k);
		n += k;
		break;
	case 2:		/* a tag of 4072..4119 bytes so far */
		n = fill(buf, "<a");
		for (i = 0; i < 3; i++) {
			n += fill(buf + n, " b='");
			buf[n - 3] = (uint8_t)('b' + i);
			memset(buf + n, 'v', 1000);
			n += 1000;
			n += fill(buf + n, "'");
		}
		n += fill(buf + n, " e='");
		k = XG_TAG_MAX - 24 + off - n;
		memset(buf + n, 'v', k);
		n += k;
		break;
	case 3:		/* a name of 40..87 bytes so far */
		n = fill(buf, "<");
		k = XG_NAME_MAX - 24 + off;
		memset(buf + n, 'n', k);
		n += k;
		break;
	default:	/* 8..23 attributes so far */
		n = fill(buf, "<a");
		k = XG_ATTRS_MAX - 8 + off % 16;
		for (i = 0; i < k; i++)
			n += (size_t)sprintf((char *)buf + n, " a%zu='1'", i);
		break;
	}
	memcpy(buf + n, data + 1, size - 1);
	lex_all(buf, n + size - 1, 0);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	lex_all(data, size, 1);
	lex_at_limits(data, size);
	fuzz_escape(data, size);
	return 0;
}
