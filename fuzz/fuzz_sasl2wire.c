/*
 * libFuzzer target: src/sasl2wire.c, what SASL2 reads of the backend's
 * features after an inline login and the XEP-0198 ids it hands out.
 *
 * The input's first byte is a mode: bit 0 drop_bind, bit 1 drop_sm, the
 * rest sizes the output buffer; the bytes after it are the backend's
 * features (an exact-size copy, so that ASan sees a read past its end).
 * Checks:
 * - sasl2_features_left() writes at most the buffer's size and never more
 *   than it read, only bytes of the input in their order (a subsequence),
 *   and with room for the whole input it is idempotent: filtering its own
 *   output changes nothing;
 * - after drop_sm (and drop_bind) with room for everything,
 *   sasl2_feature_has() finds no stream management (resource binding) in
 *   the output;
 * - the same bytes, cut at a NUL into an id and a resource, wrapped by
 *   sasl2_sm_id_wrap() fit XG_SM_ID_MAX (or are "", when even the dot
 *   does not fit) and unwrapped by sasl2_sm_id_unwrap() give the id back,
 *   and the resource when it went in (the split is at the last dot, and
 *   the part after it is ours).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "xmppgate.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OUT_MAX	(XG_FEATURES_MAX + 16)

/* b is a subsequence of a. */
static int
subseq(const char *a, size_t an, const char *b, size_t bn)
{
	size_t i = 0, j = 0;

	for (; i < an && j < bn; i++)
		if (a[i] == b[j])
			j++;
	return j == bn;
}

static int
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char out[OUT_MAX], again[OUT_MAX];
	static char w[2 * XG_SM_ID_MAX + 2], id[XG_SM_ID_MAX + 1];
	static char r[XG_SASL_FIELD_MAX + 1], back[XG_SM_ID_MAX + 1];
	char *in;
	size_t n, m, outsz, len;
	int drop_bind, drop_sm;
	const char *nul;

	if (size < 1 || size - 1 > XG_FEATURES_MAX)
		return 0;
	drop_bind = data[0] & 1;
	drop_sm = (data[0] >> 1) & 1;
	len = size - 1;
	outsz = (data[0] >> 2) == 63 ? OUT_MAX : (size_t)(data[0] >> 2) * 40;
	if ((in = malloc(len ? len : 1)) == NULL)
		return 0;
	memcpy(in, data + 1, len);

	memset(out, 0x55, sizeof(out));
	n = sasl2_features_left(in, len, drop_bind, drop_sm, out, outsz);
	FUZZ_CHECK(n <= outsz && n <= len);
	FUZZ_CHECK(subseq(in, len, out, n));
	if (outsz < OUT_MAX)
		FUZZ_CHECK(out[outsz] == 0x55 || outsz >= OUT_MAX);
	if (outsz == OUT_MAX) {
		m = sasl2_features_left(out, n, drop_bind, drop_sm, again,
		    sizeof(again));
		FUZZ_CHECK(m == n && memcmp(out, again, n) == 0);
		if (drop_sm)
			FUZZ_CHECK(!sasl2_feature_has(out, n, NS_SM));
		if (drop_bind)
			FUZZ_CHECK(!sasl2_feature_has(out, n, NS_BIND));
	}

	/* The ids: "ID\0RESOURCE" from the same bytes. */
	nul = memchr(in, '\0', len);
	if (nul != NULL && (size_t)(nul - in) <= XG_SM_ID_MAX &&
	    len - (size_t)(nul - in) - 1 <= XG_SASL_FIELD_MAX &&
	    memchr(nul + 1, '\0', len - (size_t)(nul - in) - 1) == NULL) {
		char res[XG_SASL_FIELD_MAX + 1];

		memcpy(id, in, (size_t)(nul - in));
		id[nul - in] = '\0';
		memcpy(res, nul + 1, len - (size_t)(nul - in) - 1);
		res[len - (size_t)(nul - in) - 1] = '\0';
		sasl2_sm_id_wrap(id, res, w, sizeof(w));
		FUZZ_CHECK(strlen(w) <= XG_SM_ID_MAX);
		/* No id only when even the dot does not fit. */
		FUZZ_CHECK(w[0] != '\0' || strlen(id) + 1 > XG_SM_ID_MAX);
		if (w[0] != '\0') {
			sasl2_sm_id_unwrap(w, back, sizeof(back), r, sizeof(r));
			FUZZ_CHECK(strcmp(back, id) == 0);
			/* The resource comes back when it went in whole. */
			if (r[0] != '\0')
				FUZZ_CHECK(strcmp(r, res) == 0);
			if (res[0] != '\0' && printable(res) &&
			    strlen(w) > strlen(id) + 1)
				FUZZ_CHECK(strcmp(r, res) == 0);
		}
		/* Any previd a client sends: bounded, terminated outputs. */
		sasl2_sm_id_unwrap(id, back, sizeof(back), r, sizeof(r));
		FUZZ_CHECK(fz_terminated(back, sizeof(back)));
		FUZZ_CHECK(fz_terminated(r, sizeof(r)));
		FUZZ_CHECK(printable(r));
	}
	free(in);
	return 0;
}
