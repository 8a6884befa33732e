/*
 * Shared by the libFuzzer targets: a check that aborts with a message
 * (so libFuzzer keeps the input as a crash), the read-size generator that
 * splits an input into reads, and the checks every pre-auth event obeys.
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "xmppgate.h"

/* Like assert(), but never compiled out, and it says which check. */
#define FUZZ_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: check failed: %s\n",		\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

/* XG_FUZZ_SHOW set: say what an input did (for replaying seeds). */
static inline int
fz_show(void)
{
	static int show = -1;

	if (show < 0)
		show = getenv("XG_FUZZ_SHOW") != NULL;
	return show;
}

/* A base64 character's value (RFC 4648), or -1: for the models. */
static inline int
fz_b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* s holds a NUL within its first sz bytes. */
static inline int
fz_terminated(const char *s, size_t sz)
{
	return memchr(s, '\0', sz) != NULL;
}

/* All sz bytes are zero (a wiped structure). */
static inline int
fz_zero(const void *p, size_t sz)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < sz; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

/*
 * Is p[0..n) UTF-8 made of XML 1.0 characters?  Written out here rather
 * than taken from xml.c, so the lexer's own decoder is checked against
 * a second one.
 */
static inline int
fz_xml_utf8(const uint8_t *p, size_t n)
{
	size_t i = 0, k, len;
	uint32_t c;

	while (i < n) {
		uint8_t b = p[i];
		if (b < 0x80) {
			len = 1;
			c = b;
		} else if ((b & 0xE0) == 0xC0) {
			len = 2;
			c = b & 0x1F;
		} else if ((b & 0xF0) == 0xE0) {
			len = 3;
			c = b & 0x0F;
		} else if ((b & 0xF8) == 0xF0) {
			len = 4;
			c = b & 0x07;
		} else
			return 0;
		if (i + len > n)
			return 0;
		for (k = 1; k < len; k++) {
			if ((p[i + k] & 0xC0) != 0x80)
				return 0;
			c = (c << 6) | (p[i + k] & 0x3F);
		}
		if ((len == 2 && c < 0x80) || (len == 3 && c < 0x800) ||
		    (len == 4 && c < 0x10000))
			return 0;		/* overlong */
		if (!(c == 0x9 || c == 0xA || c == 0xD ||
		    (c >= 0x20 && c <= 0xD7FF) || (c >= 0xE000 && c <= 0xFFFD) ||
		    (c >= 0x10000 && c <= 0x10FFFF)))
			return 0;
		i += len;
	}
	return 1;
}

/*
 * Read sizes drawn from one input byte: its low four bits give the
 * largest read (1 << bits: 1 byte, i.e. byte by byte, up to 32 KiB), the
 * high four seed a xorshift generator for the sizes in between.  Every
 * input decides its own splitting, so a crash replays exactly.
 *
 * After FZ_READS_MAX reads the rest comes in reads as large as the caller
 * allows.  The parser scans an unfinished tag again on every read, so a
 * 4 KiB tag in one-byte reads costs 8 M byte steps: ~10 ms in the real
 * program, seconds under the fuzzer's instrumentation, which would make
 * such inputs slow enough to pass for hangs.
 */
#define FZ_READS_MAX	256

struct fz_reads {
	uint32_t state;
	size_t	max;
	unsigned n;
};

static inline void
fz_reads_init(struct fz_reads *r, uint8_t b)
{
	r->max = (size_t)1 << (b & 0x0F);
	r->state = 0x9E3779B9u ^ ((uint32_t)(b >> 4) * 0x01000193u);
	r->n = 0;
}

static inline size_t
fz_reads_next(struct fz_reads *r)
{
	uint32_t x = r->state;

	if (++r->n > FZ_READS_MAX)
		return SIZE_MAX / 2;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	r->state = x;
	return 1 + (size_t)x % r->max;
}

/* A string field of struct xp_sasl2: terminated within its array, at
 * most max bytes, decoded XML text (UTF-8, no NUL). */
#define FZ_S2_STR(f, max) do { \
	FUZZ_CHECK(fz_terminated((f), sizeof(f))); \
	FUZZ_CHECK(strlen(f) <= (max)); \
	FUZZ_CHECK(fz_xml_utf8((const uint8_t *)(f), strlen(f))); \
} while (0)

/* What an <authenticate> carries: every limit, and no field set without
 * the element that sets it. */
static inline void
fz_check_sasl2(const struct xp_event *ev)
{
	const struct xp_sasl2 *s2 = ev->s2;

	FUZZ_CHECK(s2 != NULL);
	FZ_S2_STR(s2->ua_id, XG_SASL2_UA_ID_MAX);
	FZ_S2_STR(s2->software, XG_SASL2_UA_TEXT_MAX);
	FZ_S2_STR(s2->device, XG_SASL2_UA_TEXT_MAX);
	FZ_S2_STR(s2->tag, XG_BIND2_TAG_MAX);
	FZ_S2_STR(s2->sm_previd, XG_SM_ID_MAX);
	FZ_S2_STR(s2->token_mech, XG_NAME_MAX);
	if (!s2->has_ir)
		FUZZ_CHECK(ev->data_len == 0);
	if (!s2->has_ua_id)
		FUZZ_CHECK(s2->ua_id[0] == '\0');
	if (!s2->has_tag)
		FUZZ_CHECK(s2->tag[0] == '\0');
	if (!s2->bind)
		FUZZ_CHECK(!s2->has_tag && !s2->sm_enable &&
		    s2->bind_other == 0);
	FUZZ_CHECK(s2->bind_other >= 0 &&
	    s2->bind_other <= XG_SASL2_ELEMS_MAX);
	if (!s2->sm_enable)
		FUZZ_CHECK(!s2->sm_enable_resume && s2->sm_enable_max == 0);
	FUZZ_CHECK(s2->sm_enable_max <= 4294967295UL);
	/* <resume>: both attributes required; <request-token>: its
	 * mechanism required. */
	FUZZ_CHECK((s2->sm_previd[0] != '\0') == (s2->sm_resume != 0));
	FUZZ_CHECK(s2->sm_h <= 4294967295UL);
	if (!s2->sm_resume)
		FUZZ_CHECK(s2->sm_h == 0);
	FUZZ_CHECK((s2->token_mech[0] != '\0') == (s2->request_token != 0));
	if (!s2->fast)
		FUZZ_CHECK(!s2->fast_invalidate && !s2->has_fast_count);
	if (!s2->has_fast_count)
		FUZZ_CHECK(s2->fast_count == 0);
	FUZZ_CHECK(s2->fast_count <= 4294967295UL);
	FUZZ_CHECK(strcmp(ev->name, "authenticate") == 0);
}

/*
 * What every event xp_feed returns must satisfy, whatever the input:
 * bounded, NUL-terminated strings, SASL data within XG_SASL_B64_MAX.
 */
static inline void
fz_check_event(const struct xp_event *ev)
{
	FUZZ_CHECK(ev->type >= XP_EV_HEADER &&
	    ev->type <= XP_EV_AUTHENTICATE);
	FUZZ_CHECK(fz_terminated(ev->from, sizeof(ev->from)));
	FUZZ_CHECK(fz_terminated(ev->id, sizeof(ev->id)));
	FUZZ_CHECK(strlen(ev->from) <= XG_DOMAIN_MAX);
	if (!ev->has_from)
		FUZZ_CHECK(ev->from[0] == '\0');
	FUZZ_CHECK(fz_xml_utf8((const uint8_t *)ev->from, strlen(ev->from)));
	FUZZ_CHECK(fz_xml_utf8((const uint8_t *)ev->id, strlen(ev->id)));
	/* Only a server's header says dialback; only dialback has an id. */
	if (ev->type != XP_EV_HEADER)
		FUZZ_CHECK(!ev->has_db);
	if (ev->type != XP_EV_DIALBACK)
		FUZZ_CHECK(ev->id[0] == '\0');
	FUZZ_CHECK(fz_terminated(ev->to, sizeof(ev->to)));
	FUZZ_CHECK(fz_terminated(ev->version, sizeof(ev->version)));
	FUZZ_CHECK(fz_terminated(ev->lang, sizeof(ev->lang)));
	FUZZ_CHECK(fz_terminated(ev->mechanism, sizeof(ev->mechanism)));
	FUZZ_CHECK(fz_terminated(ev->name, sizeof(ev->name)));
	FUZZ_CHECK(strlen(ev->to) <= XG_DOMAIN_MAX);
	if (!ev->has_to)
		FUZZ_CHECK(ev->to[0] == '\0');
	if (!ev->has_version)
		FUZZ_CHECK(ev->version[0] == '\0');
	/* Attribute values arrive decoded: valid UTF-8, never a NUL. */
	FUZZ_CHECK(fz_xml_utf8((const uint8_t *)ev->to, strlen(ev->to)));
	FUZZ_CHECK(fz_xml_utf8((const uint8_t *)ev->lang, strlen(ev->lang)));
	if (ev->type != XP_EV_AUTH && ev->type != XP_EV_AUTHENTICATE)
		FUZZ_CHECK(ev->mechanism[0] == '\0');
	/* SASL2 only where it is: its <authenticate>, <response>, <abort>. */
	FUZZ_CHECK((ev->s2 != NULL) == (ev->type == XP_EV_AUTHENTICATE));
	FUZZ_CHECK(ev->sasl2 == 0 || (ev->sasl2 == 1 &&
	    (ev->type == XP_EV_RESPONSE || ev->type == XP_EV_ABORT)));
	if (ev->type == XP_EV_AUTHENTICATE)
		fz_check_sasl2(ev);
	switch (ev->type) {
	case XP_EV_DIALBACK:
		FUZZ_CHECK(strcmp(ev->name, "result") == 0 ||
		    strcmp(ev->name, "verify") == 0);
		/* FALLTHROUGH */
	case XP_EV_AUTHENTICATE:
	case XP_EV_AUTH:
	case XP_EV_RESPONSE:
	case XP_EV_STARTTLS:
	case XP_EV_ABORT:
		FUZZ_CHECK(ev->data != NULL);
		FUZZ_CHECK(ev->data_len <= XG_SASL_B64_MAX);
		FUZZ_CHECK(ev->data[ev->data_len] == '\0');
		FUZZ_CHECK(memchr(ev->data, '\0', ev->data_len) == NULL);
		FUZZ_CHECK(fz_xml_utf8((const uint8_t *)ev->data,
		    ev->data_len));
		/* "No initial response" is exactly "no text at all". */
		FUZZ_CHECK(ev->data_empty == (ev->data_len == 0));
		break;
	case XP_EV_STANZA:
		FUZZ_CHECK(strcmp(ev->name, "iq") == 0 ||
		    strcmp(ev->name, "message") == 0 ||
		    strcmp(ev->name, "presence") == 0);
		FUZZ_CHECK(ev->data == NULL && ev->data_len == 0);
		break;
	default:
		FUZZ_CHECK(ev->data == NULL && ev->data_len == 0);
		break;
	}
}

/* After XP_ERROR: a condition and a text to send. */
static inline void
fz_check_error(const struct xp *p)
{
	FUZZ_CHECK((p->err > XG_SE_NONE &&
	    p->err <= XG_SE_UNDEFINED_CONDITION) ||
	    p->err == XG_SE_INVALID_FROM);
	FUZZ_CHECK(p->errtext != NULL && p->errtext[0] != '\0');
	FUZZ_CHECK(strlen(p->errtext) < XG_REASON_MAX);
}

#endif
