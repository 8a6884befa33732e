/*
 * The hand-off message: what a per-connection process tells
 * xmppgate-relay(8) about a session it hands over, beside the two fds
 * (SCM_RIGHTS: the client's kernel-TLS socket, then the backend's), and
 * the relay's one-line answer.  Pure functions over bytes, so the relay's
 * parser is unit tested and fuzzed (fuzz/fuzz_relaymsg.c) like the others; its peer has passed
 * SO_PEERCRED, but a bad message is still refused, never half used.
 *
 * The message, one SOCK_SEQPACKET datagram:
 *   "XGRELAY1 id=ID rx=N tx=N age=MS idle=S\n" FIELDS
 * ID the connection id (hex), rx/tx the bytes from/to the client so
 * far, age the session's age in ms (at most XG_RELAY_AGE_MAX, so that the
 * relay can add its own time to it), idle --idle-timeout (0 none), and
 * FIELDS the summary line's "client=... domain=... user=... backend=..."
 * part, as log_summary_fields() made it (no control bytes, no '"').
 * The answer: "OK" when the relay holds the session (the sender must
 * then close its copies and exit), or "NO reason" (the sender keeps it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "xmppgate.h"

/* The number at s[*pos..len) (decimal, <= max); -1 if none or bigger. */
static int
num(const char *s, size_t len, size_t *pos, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = *pos;

	if (i >= len || s[i] < '0' || s[i] > '9')
		return -1;
	if (s[i] == '0' && i + 1 < len && s[i + 1] >= '0' && s[i + 1] <= '9')
		return -1;		/* one spelling per number */
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		if (v > (max - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*pos = i;
	*out = v;
	return 0;
}

/* The literal word w at s[*pos..len). */
static int
lit(const char *s, size_t len, size_t *pos, const char *w)
{
	size_t n = strlen(w);

	if (len - *pos < n || memcmp(s + *pos, w, n) != 0)
		return -1;
	*pos += n;
	return 0;
}

ssize_t
relaymsg_encode(const struct relaymsg *m, char *out, size_t outsz)
{
	int n;

	n = snprintf(out, outsz, "XGRELAY1 id=%s rx=%llu tx=%llu age=%lld "
	    "idle=%d\n%s", m->id, (unsigned long long)m->rx,
	    (unsigned long long)m->tx, (long long)m->age_ms, m->idle_s,
	    m->fields);
	if (n < 0 || (size_t)n >= outsz || (size_t)n > XG_RELAYMSG_MAX)
		return -1;
	return n;
}

int
relaymsg_decode(const char *s, size_t len, struct relaymsg *m,
    const char **why)
{
	size_t pos = 0, i, k;
	uint64_t v;

	memset(m, 0, sizeof(*m));
	*why = "too long";
	if (len > XG_RELAYMSG_MAX)
		return -1;
	*why = "not a hand-off message (version 1)";
	if (lit(s, len, &pos, "XGRELAY1 id=") == -1)
		return -1;
	*why = "bad id";
	for (k = 0; pos < len && k < sizeof(m->id) - 1 &&
	    ((s[pos] >= '0' && s[pos] <= '9') ||
	    (s[pos] >= 'a' && s[pos] <= 'f')); pos++)
		m->id[k++] = s[pos];
	m->id[k] = '\0';
	if (k == 0)
		return -1;
	*why = "bad rx";
	if (lit(s, len, &pos, " rx=") == -1 ||
	    num(s, len, &pos, UINT64_MAX, &m->rx) == -1)
		return -1;
	*why = "bad tx";
	if (lit(s, len, &pos, " tx=") == -1 ||
	    num(s, len, &pos, UINT64_MAX, &m->tx) == -1)
		return -1;
	*why = "bad age";
	if (lit(s, len, &pos, " age=") == -1 ||
	    num(s, len, &pos, XG_RELAY_AGE_MAX, &v) == -1)
		return -1;
	m->age_ms = (int64_t)v;
	*why = "bad idle";
	if (lit(s, len, &pos, " idle=") == -1 ||
	    num(s, len, &pos, XG_RELAY_IDLE_MAX, &v) == -1)
		return -1;
	m->idle_s = (int)v;
	*why = "no end of the first line";
	if (lit(s, len, &pos, "\n") == -1)
		return -1;
	*why = "bad summary fields";
	if (len - pos == 0 || len - pos >= sizeof(m->fields))
		return -1;
	for (i = pos; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || s[i] == '"')
			return -1;
	memcpy(m->fields, s + pos, len - pos);
	m->fields[len - pos] = '\0';
	*why = NULL;
	return 0;
}
