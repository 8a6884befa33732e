/*
 * libFuzzer target: the pre-auth parser (src/preauth.c, xp_feed) fed
 * the same bytes twice, (a) all in one buffer and (b) in reads whose
 * sizes the input's first byte chooses (see fuzz_common.h; 0x00 is byte
 * by byte), with unconsumed bytes kept and more appended, as stream.c's
 * next_event does.
 *
 * The parser is a pure function over bytes, so both feedings must give
 * the same transcript: every event with all its fields, then the same
 * end (the same stream error and text, or the same count of bytes left
 * waiting).  Every event is checked on its own (fz_check_event: bounded
 * NUL-terminated strings, data_len <= XG_SASL_B64_MAX, ...), *used never
 * exceeds what was given, an error is final (feeding more only repeats
 * it), and "need more" never leaves XG_TAG_MAX or more bytes waiting,
 * so stream.c's XG_READ_BUF buffer cannot fill up with one token.
 *
 * The first byte's top bit feeds a server's stream (xp.s2s: jabber:server,
 * 'from', dialback elements) instead of a client's.
 *
 * As tests/check_preauth.c does, <starttls/> is followed by xp_restart()
 * (the stream restart after TLS) on the same remaining bytes, and the
 * parser is fed on after every event (stream.c would stop at <iq/> and
 * </stream:stream>; the parser must then refuse whatever follows).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "xmppgate.h"
#include "fuzz_common.h"

struct transcript {
	char	*s;
	size_t	len, cap;
};

static void
put(struct transcript *t, const void *p, size_t n)
{
	if (t->len + n > t->cap) {
		t->cap = (t->len + n) * 2 + 256;
		t->s = realloc(t->s, t->cap);
		FUZZ_CHECK(t->s != NULL);
	}
	memcpy(t->s + t->len, p, n);
	t->len += n;
}

static void
puts_field(struct transcript *t, const char *name, const char *v, size_t n)
{
	char num[32];

	put(t, name, strlen(name));
	snprintf(num, sizeof(num), "[%zu]=", n);
	put(t, num, strlen(num));
	put(t, v, n);
	put(t, ";", 1);
}

static struct xp xp;
static int s2s;

/* Every field of an <authenticate>. */
static void
record_sasl2(struct transcript *t, const struct xp_sasl2 *s2)
{
	char line[160];

	puts_field(t, "ua_id", s2->ua_id, strlen(s2->ua_id));
	puts_field(t, "software", s2->software, strlen(s2->software));
	puts_field(t, "device", s2->device, strlen(s2->device));
	puts_field(t, "tag", s2->tag, strlen(s2->tag));
	puts_field(t, "previd", s2->sm_previd, strlen(s2->sm_previd));
	puts_field(t, "token_mech", s2->token_mech, strlen(s2->token_mech));
	snprintf(line, sizeof(line), "ir=%d ua=%d bind=%d tag=%d other=%d "
	    "enable=%d,%d,%lu resume=%d,%lu token=%d fast=%d,%d,%d,%lu;",
	    s2->has_ir, s2->has_ua_id, s2->bind, s2->has_tag, s2->bind_other,
	    s2->sm_enable, s2->sm_enable_resume, s2->sm_enable_max,
	    s2->sm_resume, s2->sm_h, s2->request_token, s2->fast,
	    s2->fast_invalidate, s2->has_fast_count, s2->fast_count);
	put(t, line, strlen(line));
}

static void
record(struct transcript *t, const struct xp_event *ev)
{
	char head[64];

	fz_check_event(ev);
	snprintf(head, sizeof(head), "\nEV%d has_to=%d has_version=%d "
	    "empty=%d ", (int)ev->type, ev->has_to, ev->has_version,
	    ev->data_empty);
	put(t, head, strlen(head));
	puts_field(t, "to", ev->to, strlen(ev->to));
	puts_field(t, "version", ev->version, strlen(ev->version));
	puts_field(t, "lang", ev->lang, strlen(ev->lang));
	puts_field(t, "mechanism", ev->mechanism, strlen(ev->mechanism));
	puts_field(t, "name", ev->name, strlen(ev->name));
	puts_field(t, "from", ev->from, strlen(ev->from));
	puts_field(t, "id", ev->id, strlen(ev->id));
	put(t, ev->has_from ? "F" : "-", 1);
	put(t, ev->has_db ? "D" : "-", 1);
	if (ev->type == XP_EV_HEADER) {
		/* The old stream's whitespace, however it was read. */
		snprintf(head, sizeof(head), "tail=%zu;", xp.tail);
		put(t, head, strlen(head));
	}
	if (ev->data != NULL)
		puts_field(t, "data", ev->data, ev->data_len);
	put(t, ev->sasl2 ? "2" : "-", 1);
	if (ev->s2 != NULL)
		record_sasl2(t, ev->s2);
}

static void
record_end(struct transcript *t, const struct xp *p, enum xp_result r,
    size_t waiting)
{
	char line[XG_REASON_MAX + 64];

	if (r == XP_ERROR)
		snprintf(line, sizeof(line), "\nERROR %s (%s)",
		    xg_stream_error_name(p->err), p->errtext);
	else
		snprintf(line, sizeof(line), "\nMORE %zu", waiting);
	put(t, line, strlen(line));
}

/*
 * Feed in[0..n) in reads of sizes from rd (all at once when rd is NULL);
 * returns the transcript in t.
 */
static void
run(const uint8_t *in, size_t n, struct fz_reads *rd, struct transcript *t)
{
	uint8_t *buf = malloc(n ? n : 1);
	size_t blen = 0, pos = 0, used, chunk;
	struct xp_event ev;
	enum xp_result r = XP_MORE;

	FUZZ_CHECK(buf != NULL);
	t->len = 0;
	xp_init(&xp);
	xp.s2s = s2s;
	while (pos < n) {
		chunk = rd ? fz_reads_next(rd) : n;
		if (chunk > n - pos)
			chunk = n - pos;
		memcpy(buf + blen, in + pos, chunk);
		blen += chunk;
		pos += chunk;
		for (;;) {
			/* Fresh garbage in the event: the parser must set
			 * every field it hands out. */
			memset(&ev, 0xA5, sizeof(ev));
			r = xp_feed(&xp, buf, blen, &used, &ev);
			FUZZ_CHECK(r == XP_EVENT || r == XP_MORE ||
			    r == XP_ERROR);
			FUZZ_CHECK(used <= blen);
			if (r == XP_EVENT) {
				record(t, &ev);
				/* ev.data points into the parser: copied
				 * above, before the bytes move. */
				memmove(buf, buf + used, blen - used);
				blen -= used;
				if (ev.type == XP_EV_STARTTLS)
					xp_restart(&xp);
				continue;
			}
			memmove(buf, buf + used, blen - used);
			blen -= used;
			break;
		}
		if (r == XP_ERROR)
			break;
		FUZZ_CHECK(blen < XG_TAG_MAX);
	}
	if (r == XP_ERROR) {
		enum xg_stream_error e = xp.err;
		const char *text = xp.errtext;

		fz_check_error(&xp);
		/* Final: feeding anything more repeats the same error. */
		{
			uint8_t more = '<';
			FUZZ_CHECK(xp_feed(&xp, &more, 1, &used, &ev) ==
			    XP_ERROR);
			FUZZ_CHECK(used == 0 && xp.err == e &&
			    strcmp(xp.errtext, text) == 0);
		}
	}
	record_end(t, &xp, r, blen);
	free(buf);
}

static void
show(const char *what, const struct transcript *t)
{
	fprintf(stderr, "---- %s:%.*s\n", what, (int)t->len, t->s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct transcript whole, split;
	struct fz_reads rd;

	if (size < 1)
		return 0;
	s2s = (data[0] & 0x80) != 0;
	fz_reads_init(&rd, data[0] & 0x7f);
	run(data + 1, size - 1, NULL, &whole);
	run(data + 1, size - 1, &rd, &split);
	if (whole.len != split.len ||
	    memcmp(whole.s, split.s, whole.len) != 0) {
		show("fed whole", &whole);
		show("fed in reads", &split);
		FUZZ_CHECK(!"the transcript depends on how the bytes were "
		    "split into reads");
	}
	if (fz_show())
		show("transcript", &whole);
	return 0;
}
