/*
 * libFuzzer target: SRV answers (src/srv.c), srv_parse and srv_order.
 *
 * The input's first byte is a mode (bit 0: direct_tls), the rest one SRV
 * RDATA as libunbound hands it over, in an exact-size copy so that ASan
 * sees a read past its end.  Checks:
 * - the verdict is the model's: a second parser written here the plain
 *   way (labels copied out, then checked), with RFC 2782's "." as 1;
 * - a refusal says why (a terminated, non-empty message, also into an
 *   error buffer of input-chosen size) and leaves the output untouched;
 * - an accepted record has a terminated lower-case host of at most
 *   XG_DOMAIN_NAME_MAX that srv_hostname_ok takes, a port that is not 0,
 *   and written back in wire form it gives the input (case folded);
 * Then the same bytes, cut into 3-byte pieces, are up to
 * XG_SRV_TARGETS_MAX records (priority 0-3, a weight) for srv_order,
 * with a random source seeded from the input:
 * - the result is a permutation of the records, priorities ascending;
 * - the same seed gives the same order;
 * - with a source that always says 0, the order is the model's: stable
 *   by priority, the weight-0 records first within each.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "xmppgate.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The model: -1, 1 or 0 with host (lower case), as srv.c documents. */
static int
m_parse(const uint8_t *r, size_t len, char *host)
{
	char lab[128][64];
	size_t nlab = 0, pos = 6, i, j, hl = 0;

	if (len < 7 || len > 6 + 255)
		return -1;
	if (len == 7 && r[6] == 0)
		return 1;
	for (;;) {
		size_t l;
		if (pos >= len)
			return -1;
		l = r[pos++];
		if (l == 0)
			break;
		if (l > 63 || pos + l > len || nlab == 128)
			return -1;
		memcpy(lab[nlab], r + pos, l);
		lab[nlab][l] = '\0';
		/* A NUL inside a label ends the string early: length differs. */
		if (memchr(r + pos, '\0', l) != NULL)
			return -1;
		nlab++;
		pos += l;
	}
	if (pos != len || nlab == 0)
		return -1;
	for (i = 0; i < nlab; i++) {
		size_t l = strlen(lab[i]);
		for (j = 0; j < l; j++) {
			char c = lab[i][j];
			if (c >= 'A' && c <= 'Z')
				lab[i][j] = c = (char)(c + 32);
			if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			    c == '-'))
				return -1;
		}
		if (lab[i][0] == '-' || lab[i][l - 1] == '-')
			return -1;
		if (hl + (i > 0) + l > XG_DOMAIN_NAME_MAX)
			return -1;
		if (i > 0)
			host[hl++] = '.';
		memcpy(host + hl, lab[i], l);
		hl += l;
	}
	host[hl] = '\0';
	if (r[4] == 0 && r[5] == 0)
		return -1;
	return 0;
}

struct fz_rnd {
	uint32_t x;
};

static uint32_t
fz_xorshift(void *arg)
{
	struct fz_rnd *r = arg;

	r->x ^= r->x << 13;
	r->x ^= r->x >> 17;
	r->x ^= r->x << 5;
	return r->x;
}

static uint32_t
zero_rnd(void *arg)
{
	(void)arg;
	return 0;
}

static void
check_order(const uint8_t *p, size_t n, uint8_t seed)
{
	struct srv_target t[XG_SRV_TARGETS_MAX], a[XG_SRV_TARGETS_MAX];
	struct srv_target b[XG_SRV_TARGETS_MAX], m[XG_SRV_TARGETS_MAX];
	struct fz_rnd r1 = { 0x9E3779B9u ^ seed }, r2 = r1;
	size_t k = 0, i, j, nm = 0;
	int seen[XG_SRV_TARGETS_MAX];

	for (i = 0; i + 3 <= n && k < XG_SRV_TARGETS_MAX; i += 3, k++) {
		memset(&t[k], 0, sizeof(t[k]));
		t[k].host[0] = (char)('a' + k);	/* the record's identity */
		t[k].priority = p[i] & 3;
		t[k].weight = (uint16_t)(p[i + 1] << 8 | p[i + 2]);
		if (p[i] & 4)
			t[k].weight = 0;
		t[k].port = 5269;
	}
	memcpy(a, t, sizeof(t[0]) * k);
	memcpy(b, t, sizeof(t[0]) * k);
	srv_order(a, k, fz_xorshift, &r1);
	srv_order(b, k, fz_xorshift, &r2);
	FUZZ_CHECK(k == 0 || memcmp(a, b, sizeof(t[0]) * k) == 0);
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < k; i++) {
		j = (size_t)(a[i].host[0] - 'a');
		FUZZ_CHECK(j < k && !seen[j]);
		seen[j] = 1;
		FUZZ_CHECK(memcmp(&a[i], &t[j], sizeof(t[j])) == 0);
		if (i > 0)
			FUZZ_CHECK(a[i - 1].priority <= a[i].priority);
	}
	/* With R always 0: stable by priority, weight 0 first. */
	memcpy(b, t, sizeof(t[0]) * k);
	srv_order(b, k, zero_rnd, NULL);
	for (j = 0; j < 4; j++) {
		for (i = 0; i < k; i++)
			if (t[i].priority == j && t[i].weight == 0)
				m[nm++] = t[i];
		for (i = 0; i < k; i++)
			if (t[i].priority == j && t[i].weight != 0)
				m[nm++] = t[i];
	}
	FUZZ_CHECK(nm == k);
	FUZZ_CHECK(k == 0 || memcmp(b, m, sizeof(t[0]) * k) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct srv_target out, before;
	char host[XG_DOMAIN_NAME_MAX + 1], why[128], *small;
	uint8_t *rd, wire[6 + 256];
	size_t len, whysz, i, w;
	int rc, mrc, direct;

	if (size < 1)
		return 0;
	direct = data[0] & 1;
	whysz = (size_t)(data[0] >> 1) % 64;	/* 0 to 63 */
	len = size - 1;
	rd = malloc(len > 0 ? len : 1);
	FUZZ_CHECK(rd != NULL);
	memcpy(rd, data + 1, len);

	memset(&out, 0xA5, sizeof(out));
	before = out;
	why[0] = '\0';
	rc = srv_parse(rd, len, direct, &out, why, sizeof(why));
	mrc = m_parse(rd, len, host);
	if (fz_show())
		fprintf(stderr, "srv_parse %d (model %d) %s\n", rc, mrc,
		    rc == 0 ? out.host : why);
	FUZZ_CHECK(rc == mrc);
	if (rc != 0)
		FUZZ_CHECK(memcmp(&out, &before, sizeof(out)) == 0);
	if (rc < 0) {
		FUZZ_CHECK(fz_terminated(why, sizeof(why)) && why[0] != '\0');
		small = malloc(whysz > 0 ? whysz : 1);
		FUZZ_CHECK(small != NULL);
		memset(small, 'x', whysz > 0 ? whysz : 1);
		FUZZ_CHECK(srv_parse(rd, len, direct, &out, small, whysz) == -1);
		if (whysz > 0)
			FUZZ_CHECK(fz_terminated(small, whysz));
		free(small);
	}
	if (rc == 0) {
		FUZZ_CHECK(fz_terminated(out.host, sizeof(out.host)));
		FUZZ_CHECK(strcmp(out.host, host) == 0);
		FUZZ_CHECK(strlen(out.host) <= XG_DOMAIN_NAME_MAX);
		FUZZ_CHECK(srv_hostname_ok(out.host) == 1);
		FUZZ_CHECK(out.port != 0 && out.direct_tls == direct);
		FUZZ_CHECK(out.priority == (rd[0] << 8 | rd[1]));
		FUZZ_CHECK(out.weight == (rd[2] << 8 | rd[3]));
		FUZZ_CHECK(out.port == (rd[4] << 8 | rd[5]));
		/* Back to wire form: the input, case folded. */
		memcpy(wire, rd, 6);
		w = 6;
		for (i = 0; ; ) {
			size_t l = strcspn(out.host + i, ".");
			wire[w++] = (uint8_t)l;
			memcpy(wire + w, out.host + i, l);
			w += l;
			i += l;
			if (out.host[i] == '\0')
				break;
			i++;
		}
		wire[w++] = 0;
		FUZZ_CHECK(w == len);
		for (i = 6; i < len; i++) {
			uint8_t c = rd[i];
			if (c >= 'A' && c <= 'Z')
				c += 32;
			FUZZ_CHECK(wire[i] == c);
		}
	}
	free(rd);
	check_order(data + 1, size - 1, data[0]);
	return 0;
}
