/*
 * libFuzzer target: the hand-off message to xmppgate-relay (src/relaymsg.c),
 * relaymsg_decode.  The relay's peer has passed SO_PEERCRED, but a bad
 * message must still be refused whole.  Checks:
 * - a refusal always says why, and an accepted message says nothing;
 * - an accepted message's id is lower-case hex, its fields free of
 *   control bytes and '"', every string within its buffer, age and idle
 *   within their bounds;
 * - it encodes again to exactly the input (one spelling per message),
 *   and that decodes to the same values;
 * - the input is an exact-size copy, so ASan sees a read past its end.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "xmppgate.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[XG_RELAYMSG_MAX + 1], *in;
	struct relaymsg m, m2;
	const char *why = "unset";
	ssize_t n;
	size_t i;
	int r;

	in = malloc(size ? size : 1);
	FUZZ_CHECK(in != NULL);
	memcpy(in, data, size);
	r = relaymsg_decode(in, size, &m, &why);
	if (fz_show())
		fprintf(stderr, "relaymsg: %zu bytes: %s\n", size,
		    r == 0 ? "accepted" : why);
	if (r != 0) {
		FUZZ_CHECK(r == -1 && why != NULL && why[0] != '\0');
		free(in);
		return 0;
	}
	FUZZ_CHECK(why == NULL);
	FUZZ_CHECK(strlen(m.id) > 0 && strlen(m.id) < sizeof(m.id));
	for (i = 0; m.id[i] != '\0'; i++)
		FUZZ_CHECK((m.id[i] >= '0' && m.id[i] <= '9') ||
		    (m.id[i] >= 'a' && m.id[i] <= 'f'));
	FUZZ_CHECK(strlen(m.fields) > 0 && strlen(m.fields) < sizeof(m.fields));
	for (i = 0; m.fields[i] != '\0'; i++)
		FUZZ_CHECK((unsigned char)m.fields[i] >= 0x20 &&
		    m.fields[i] != 0x7f && m.fields[i] != '"');
	FUZZ_CHECK(m.age_ms >= 0 && m.age_ms <= XG_RELAY_AGE_MAX);
	FUZZ_CHECK(m.idle_s >= 0 && m.idle_s <= XG_RELAY_IDLE_MAX);
	n = relaymsg_encode(&m, out, sizeof(out));
	FUZZ_CHECK(n == (ssize_t)size && memcmp(out, in, size) == 0);
	FUZZ_CHECK(relaymsg_decode(out, (size_t)n, &m2, &why) == 0);
	FUZZ_CHECK(strcmp(m.id, m2.id) == 0 && m.rx == m2.rx &&
	    m.tx == m2.tx && m.age_ms == m2.age_ms && m.idle_s == m2.idle_s &&
	    strcmp(m.fields, m2.fields) == 0);
	free(in);
	return 0;
}
