/*
 * libFuzzer target: the remote server's stream as --s2s-out reads it
 * (src/s2sremote.c), rstream_feed.
 *
 * The first byte picks a chunk size (1 to 256); the rest is the remote's
 * bytes, fed once whole-buffer-at-a-time and once in chunks, as reads
 * would bring them.  Checks:
 * - used never passes the bytes given (0 with bytes left means a token
 *   is not whole yet: they are kept and offered again with more);
 * - both feedings see the same sequence of results (RS_* and the final
 *   -1 or end), the same id, the same features: the chunking of reads
 *   never changes what is understood;
 * - a feature set says EXTERNAL only when the bytes hold "EXTERNAL";
 * - every kept string is NUL-terminated within its array.
 */
#define _GNU_SOURCE	/* memmem */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "xmppgate.h"
#include "fuzz_common.h"

#define TRACE_MAX	64	/* results recorded per feeding */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct trace {
	int	res[TRACE_MAX];
	size_t	n;
	char	id[XG_ATTR_VALUE_MAX + 1];
	int	starttls, external, dialback;
};

static void
feed(const uint8_t *d, size_t size, size_t chunk, struct trace *t)
{
	static struct rstream st;
	static uint8_t buf[XG_READ_BUF];
	char why[XG_REASON_MAX];
	size_t len = 0, off = 0, used, take;
	int k;

	memset(&st, 0, sizeof(st));
	memset(t, 0, sizeof(*t));
	for (;;) {
		take = size - off < chunk ? size - off : chunk;
		if (take > sizeof(buf) - len)
			take = sizeof(buf) - len;
		memcpy(buf + len, d + off, take);
		len += take;
		off += take;
		k = rstream_feed(&st, buf, len, &used, why, sizeof(why));
		FUZZ_CHECK(used <= len);
		FUZZ_CHECK(k != -1 || memchr(why, '\0', sizeof(why)) != NULL);
		memmove(buf, buf + used, len - used);
		len -= used;
		FUZZ_CHECK(memchr(st.id, '\0', sizeof(st.id)) != NULL);
		FUZZ_CHECK(memchr(st.mech, '\0', sizeof(st.mech)) != NULL);
		FUZZ_CHECK(memchr(st.cond, '\0', sizeof(st.cond)) != NULL);
		if (k != 0) {
			if (t->n < TRACE_MAX)
				t->res[t->n++] = k;
			if (k == RS_FEATURES) {
				t->starttls = st.starttls;
				t->external = st.external;
				t->dialback = st.dialback;
			}
			if (k == -1)
				break;
			continue;	/* what is left may hold more */
		}
		/* Needs more: at the end, or a full buffer (token too long,
		 * which the caller refuses). */
		if (off == size || len == sizeof(buf))
			break;
	}
	memcpy(t->id, st.id, sizeof(t->id));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct trace whole, pieces;
	size_t chunk;

	if (size < 1)
		return 0;
	chunk = (size_t)data[0] + 1;
	data++;
	size--;
	feed(data, size, size > 0 ? size : 1, &whole);
	feed(data, size, chunk, &pieces);
	/* A token cut by a full buffer can only happen in one of them when
	 * the input is longer than the buffer: compare the shorter ones. */
	if (size < XG_READ_BUF) {
		FUZZ_CHECK(whole.n == pieces.n);
		FUZZ_CHECK(memcmp(whole.res, pieces.res,
		    whole.n * sizeof(int)) == 0);
		FUZZ_CHECK(strcmp(whole.id, pieces.id) == 0);
		FUZZ_CHECK(whole.starttls == pieces.starttls &&
		    whole.external == pieces.external &&
		    whole.dialback == pieces.dialback);
	}
	if (whole.external)
		FUZZ_CHECK(memmem(data, size, "EXTERNAL", 8) != NULL);
	return 0;
}
