/*
 * libFuzzer target: the pre-auth session, as src/main.c, stream.c and
 * sasl.c drive the parser.  The input's first byte chooses the read
 * sizes (fuzz_common.h), the rest is what the client sends, through TLS
 * after <proceed/>.  A NUL byte in it (never valid XML, so nothing is
 * lost: fuzz_preauth feeds NULs to the parser) marks where the client
 * waits for the server's answer, as a real client waits for <proceed/>
 * and the handshake, or for <success/>: no read spans it.  Bytes of the
 * <starttls/> burst that were read are discarded as stream.c discards
 * them; bytes of it not yet read when <proceed/> goes out would reach
 * the TLS handshake, which fails.
 *
 * This does NOT run those files (they need a socket, a certificate, a
 * TLS handshake and a helper process).  It repeats their order of calls
 * to the pure modules -- next_event, common_event, stream_open, starttls,
 * sasl and plain_payload -- with the I/O, timers and helper replaced:
 * a read returns the next chunk of the input (end of input is the client
 * closing), writes are dropped, the TLS handshake always succeeds, and
 * the helper accepts alice/secret and refuses everything else.  When
 * their phase functions change, this file must change with them.
 *
 * Checked on every path: xp_feed never consumes more than it was given;
 * the read buffer always holds exactly the bytes read and not yet parsed
 * (so nothing read is lost or invented at the hand-off); every event
 * obeys fz_check_event; an error carries a condition and a text; SASL
 * data reaches plain_decode only after the TLS restart; plain_decode's
 * output is bounded and NUL-terminated, and wiped when it refuses.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "xmppgate.h"
#include "fuzz_common.h"

#define DOMAIN		"example.test"	/* the one --domain */
#define MAX_ATTEMPTS	3		/* --max-attempts default */
#define TLS_HANDSHAKE_RECORD 0x16

struct session {
	const uint8_t *in;		/* everything the client sends */
	size_t	inlen, pos;		/* pos: next byte of in to read */
	uint8_t	*got;			/* every byte read, in order */
	size_t	ngot;
	struct fz_reads rd;
	struct xp xp;
	uint8_t	buf[XG_READ_BUF];
	size_t	len;
	int	tls;			/* the handshake "happened" */
	int	first_checked;
	int	header_sent;
	int	failed;
	int	headers;		/* stream headers accepted */
	char	domain[XG_DOMAIN_MAX + 1];
	const char *outcome;
};

static struct session s;
static struct plain_creds creds;

/* Bytes left in the client's current burst (up to the next NUL). */
static size_t
burst_left(const struct session *ss)
{
	const uint8_t *z = memchr(ss->in + ss->pos, '\0', ss->inlen - ss->pos);

	return z ? (size_t)(z - (ss->in + ss->pos)) : ss->inlen - ss->pos;
}

/* The session's conn_read: the next chunk, 0 at the end of the input. */
static size_t
read_chunk(struct session *ss, uint8_t *to, size_t room)
{
	size_t n = fz_reads_next(&ss->rd);

	/* The client waited for us here: start its next burst. */
	while (ss->pos < ss->inlen && ss->in[ss->pos] == '\0')
		ss->pos++;
	if (n > room)
		n = room;
	if (n > burst_left(ss))
		n = burst_left(ss);
	memcpy(to, ss->in + ss->pos, n);
	memcpy(ss->got + ss->ngot, to, n);
	ss->pos += n;
	ss->ngot += n;
	return n;
}

static int
end(struct session *ss, const char *why)
{
	ss->outcome = why;
	return -1;
}

/* The buffer holds exactly the bytes read and not yet parsed. */
static void
check_buffer(const struct session *ss)
{
	FUZZ_CHECK(ss->len <= sizeof(ss->buf));
	FUZZ_CHECK(ss->len <= ss->ngot);
	FUZZ_CHECK(memcmp(ss->buf, ss->got + ss->ngot - ss->len, ss->len) ==
	    0);
}

/* stream.c next_event(). */
static int
next_event(struct session *ss, struct xp_event *ev)
{
	size_t used, n;

	for (;;) {
		enum xp_result r = XP_MORE;
		if (ss->len > 0) {
			memset(ev, 0xA5, sizeof(*ev));
			r = xp_feed(&ss->xp, ss->buf, ss->len, &used, ev);
			FUZZ_CHECK(used <= ss->len);
			memmove(ss->buf, ss->buf + used, ss->len - used);
			ss->len -= used;
			explicit_bzero(ss->buf + ss->len, used);
			check_buffer(ss);
		}
		if (r == XP_EVENT) {
			fz_check_event(ev);
			return 0;
		}
		if (r == XP_ERROR) {
			fz_check_error(&ss->xp);
			return end(ss, "stream error from the parser");
		}
		if (ss->len == sizeof(ss->buf))
			return end(ss, "token too long");
		n = read_chunk(ss, ss->buf + ss->len,
		    sizeof(ss->buf) - ss->len);
		if (n == 0)
			return end(ss, "client closed the connection");
		ss->len += n;
		if (!ss->first_checked && !ss->tls) {
			ss->first_checked = 1;
			if (ss->buf[0] == TLS_HANDSHAKE_RECORD)
				return end(ss, "Direct TLS hello");
		}
	}
}

/* stream.c common_event(). */
static int
common_event(struct session *ss, const struct xp_event *ev)
{
	if (ev->type == XP_EV_CLOSE)
		return end(ss, "client closed the stream");
	if (ev->type == XP_EV_STANZA)
		return end(ss, "stanza before authentication");
	return 0;
}

/* stream.c stream_open(). */
static int
stream_open(struct session *ss)
{
	struct xp_event ev;
	char dom[XG_DOMAIN_MAX + 1];

	if (next_event(ss, &ev) == -1)
		return -1;
	if (ev.type != XP_EV_HEADER)
		return end(ss, "no stream header");
	if (!ev.has_to)
		return end(ss, "stream header without 'to'");
	if (xg_domain_normalize(ev.to, dom, sizeof(dom)) != 0 ||
	    strcmp(dom, DOMAIN) != 0 ||
	    (ss->domain[0] && strcmp(dom, ss->domain) != 0))
		return end(ss, "unknown domain");
	snprintf(ss->domain, sizeof(ss->domain), "%s", dom);
	if (!ev.has_version || strncmp(ev.version, "1.", 2) != 0 ||
	    ev.version[2] == '\0' ||
	    strspn(ev.version + 2, "0123456789") != strlen(ev.version + 2))
		return end(ss, "unsupported stream version");
	ss->header_sent = 1;
	ss->headers++;
	return 0;
}

/* stream.c starttls(). */
static int
starttls(struct session *ss)
{
	struct xp_event ev;

	if (next_event(ss, &ev) == -1 || common_event(ss, &ev) == -1)
		return -1;
	if (ev.type != XP_EV_STARTTLS)
		return end(ss, "STARTTLS is required");
	/* Nothing read before <proceed/> may be used after it. */
	explicit_bzero(ss->buf, sizeof(ss->buf));
	ss->len = 0;
	/* tls_start(): plaintext where the ClientHello should be. */
	if (burst_left(ss) > 0)
		return end(ss, "TLS handshake failed (plaintext after "
		    "<starttls/>)");
	ss->tls = 1;
	xp_restart(&ss->xp);
	ss->header_sent = 0;
	return 0;
}

/* sasl.c sasl_failure(), without the delay and the write. */
static int
sasl_failure(struct session *ss)
{
	ss->failed++;
	if (ss->failed >= MAX_ATTEMPTS)
		return end(ss, "too many failed attempts");
	return 0;
}

/* sasl.c plain_payload(). */
static int
plain_payload(struct session *ss, struct xp_event *ev, int *again)
{
	*again = 0;
	if (!ev->data_empty)
		return 0;
	if (next_event(ss, ev) == -1 || common_event(ss, ev) == -1)
		return -1;
	if (ev->type == XP_EV_ABORT) {
		*again = 1;
		return sasl_failure(ss);
	}
	if (ev->type != XP_EV_RESPONSE)
		return end(ss, "no <response/> after the challenge");
	return 0;
}

/* What plain_decode hands out, whatever the payload. */
static void
check_creds(enum plain_result rc, const struct plain_creds *pc)
{
	FUZZ_CHECK(rc == PLAIN_OK || rc == PLAIN_BAD_BASE64 ||
	    rc == PLAIN_MALFORMED || rc == PLAIN_BAD_AUTHZID ||
	    rc == PLAIN_BAD_USER);
	if (rc != PLAIN_OK) {
		FUZZ_CHECK(fz_zero(pc, sizeof(*pc)));
		return;
	}
	FUZZ_CHECK(pc->user_len >= 1 && pc->user_len <= XG_SASL_FIELD_MAX);
	FUZZ_CHECK(pc->user[pc->user_len] == '\0');
	FUZZ_CHECK(strlen(pc->user) == pc->user_len);
	FUZZ_CHECK(strchr(pc->user, '@') == NULL);
	FUZZ_CHECK(pc->pass_len >= 1 && pc->pass_len <= XG_SASL_FIELD_MAX);
	FUZZ_CHECK(pc->pass[pc->pass_len] == '\0');
	FUZZ_CHECK(memchr(pc->pass, '\0', pc->pass_len) == NULL);
	FUZZ_CHECK(pc->authzid_len < sizeof(pc->authzid));
	FUZZ_CHECK(pc->authzid[pc->authzid_len] == '\0');
	if (pc->authzid_len > 0)
		FUZZ_CHECK(pc->authzid_len == pc->user_len + 1 +
		    strlen(DOMAIN) && memcmp(pc->authzid, pc->user,
		    pc->user_len) == 0 && pc->authzid[pc->user_len] == '@' &&
		    strncasecmp(pc->authzid + pc->user_len + 1, DOMAIN,
		    strlen(DOMAIN)) == 0);
}

/* sasl.c sasl(), with the helper's verdict made up. */
static int
sasl(struct session *ss, struct plain_creds *pc)
{
	struct xp_event ev;
	enum plain_result rc;
	int again;

	for (;;) {
		if (next_event(ss, &ev) == -1 || common_event(ss, &ev) == -1)
			return -1;
		switch (ev.type) {
		case XP_EV_AUTH:
			break;
		case XP_EV_ABORT:
			if (sasl_failure(ss) == -1)
				return -1;
			continue;
		default:
			return end(ss, "unexpected element during SASL");
		}
		if (strcmp(ev.mechanism, "PLAIN") != 0) {
			if (sasl_failure(ss) == -1)
				return -1;
			continue;
		}
		if (plain_payload(ss, &ev, &again) == -1)
			return -1;
		if (again)
			continue;
		/* Credentials are only ever looked at inside TLS, after
		 * both stream headers. */
		FUZZ_CHECK(ss->tls && ss->headers == 2);
		FUZZ_CHECK(ev.type == XP_EV_AUTH || ev.type == XP_EV_RESPONSE);
		rc = plain_decode(ev.data, ev.data_len, ss->domain, pc);
		explicit_bzero(ss->xp.data, sizeof(ss->xp.data));
		explicit_bzero(&ss->xp.tok, sizeof(ss->xp.tok));
		check_creds(rc, pc);
		if (rc == PLAIN_OK && strcmp(pc->user, "alice") == 0 &&
		    strcmp(pc->pass, "secret") == 0) {
			plain_wipe(pc);
			return 0;
		}
		plain_wipe(pc);
		if (sasl_failure(ss) == -1)
			return -1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	memset(&s, 0, sizeof(s));
	s.in = data + 1;
	s.inlen = size - 1;
	s.got = malloc(size);
	FUZZ_CHECK(s.got != NULL);
	fz_reads_init(&s.rd, data[0]);
	xp_init(&s.xp);
	/* main(): the phases in order. */
	if (stream_open(&s) == 0 &&
	    starttls(&s) == 0 &&
	    stream_open(&s) == 0 &&
	    sasl(&s, &creds) == 0) {
		/* handoff(): what is left in the buffer goes to the relay
		 * first; it must be the bytes read after the <auth>. */
		check_buffer(&s);
		FUZZ_CHECK(s.tls && s.headers == 2);
		s.outcome = "accepted";
	}
	FUZZ_CHECK(s.outcome != NULL);
	FUZZ_CHECK(fz_zero(&creds, sizeof(creds)));
	if (fz_show())
		fprintf(stderr, "session: %s (headers %d, tls %d, failed "
		    "attempts %d, input used to byte %zu of %zu)\n", s.outcome,
		    s.headers, s.tls, s.failed, s.pos, s.inlen);
	free(s.got);
	return 0;
}
