/*
 * libFuzzer target: SASL PLAIN (src/sasl_plain.c), plain_decode and
 * plain_encode.
 *
 * Input: one mode byte, then the payload.  Bit 7 of the mode byte
 * chooses what the payload is: 0, the base64 text of <auth> as the
 * client sent it; 1, the decoded message ([authzid] NUL authcid NUL
 * passwd), which the harness encodes first, so the fuzzer reaches the
 * field checks without having to write base64.  Bits 0-1 choose the
 * served domain.
 *
 * plain_decode's verdict and fields are compared with a model written
 * here from RFC 4616, RFC 6120 6.4.2/6.3.8 and xmppgate-auth(5): strict
 * base64 (no white space, '=' only as final padding, zero pad bits as
 * RFC 4648 3.5 allows a decoder to demand), exactly two NULs,
 * authcid and passwd of 1..1023 bytes, "user@DOMAIN" reduced to "user"
 * only for the served domain, a localpart that GNU libidn's Nodeprep
 * (called here directly) takes and that then has no control, space or
 * "&'/:<>@ (else PLAIN_BAD_USER), and an authzid that is empty or the
 * user's own bare JID once its localpart is prepared too, given back as
 * user@domain.
 * On refusal the credentials must be wiped.  An accepted user and
 * password are encoded again with plain_encode, into a buffer of the
 * exact size (and one byte less, which must be refused), and must
 * decode to themselves.
 *
 * The same text also goes to external_decode (SASL EXTERNAL, XEP-0178),
 * checked against its own model: "=" is the empty authorization
 * identity; otherwise strict base64 of a bare JID of the served domain,
 * no NUL, whose localpart passes the same checks and comes back prepared.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <gnutls/gnutls.h>
#include <stringprep.h>
#include "xmppgate.h"
#include "fuzz_common.h"

static const char *const domains[] = {
	"example.test", "a", "xn--bcher-kva.example", "localhost",
};

static struct plain_creds pc, pc2;


/* Strict base64 into out; the decoded length, or -1. */
static long
b64_decode(const char *s, size_t n, uint8_t *out)
{
	size_t i, o = 0, pad = 0;
	uint32_t acc = 0;
	int k;

	if (n == 0 || n % 4 != 0)
		return -1;
	while (pad < 2 && s[n - 1 - pad] == '=')
		pad++;
	for (i = 0; i < n - pad; i++) {
		if ((k = fz_b64val(s[i])) < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)k;
		if (i % 4 == 3) {
			out[o++] = (uint8_t)(acc >> 16);
			out[o++] = (uint8_t)(acc >> 8);
			out[o++] = (uint8_t)acc;
			acc = 0;
		}
	}
	/* RFC 4648 3.5: the pad bits of canonical base64 are zero (GnuTLS
	 * refuses others, and RFC 6120 6.5.3 calls that incorrect-encoding). */
	if (pad == 1) {		/* 3 symbols: 2 bytes */
		if (acc & 0x3)
			return -1;
		out[o++] = (uint8_t)(acc >> 10);
		out[o++] = (uint8_t)(acc >> 2);
	} else if (pad == 2) {	/* 2 symbols: 1 byte */
		if (acc & 0xF)
			return -1;
		out[o++] = (uint8_t)(acc >> 4);
	}
	return (long)o;
}

static int
localpart_ok(const uint8_t *s, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] <= 0x20 || s[i] == 0x7f || s[i] == '"' ||
		    s[i] == '&' || s[i] == '\'' || s[i] == '/' ||
		    s[i] == ':' || s[i] == '<' || s[i] == '>' || s[i] == '@')
			return 0;
	return 1;
}

/* The model's preparation: libidn's Nodeprep, then the localpart rules;
 * 0 with out, or -1. */
static int
nodeprep(const uint8_t *s, size_t n, char *out)
{
	char buf[XG_LOCALPART_MAX + 1];
	size_t len;

	if (n == 0 || n > XG_LOCALPART_MAX || memchr(s, 0, n) != NULL)
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (stringprep(buf, sizeof(buf), STRINGPREP_NO_UNASSIGNED,
	    stringprep_xmpp_nodeprep) != STRINGPREP_OK)
		return -1;
	len = strlen(buf);
	if (len == 0 || !localpart_ok((const uint8_t *)buf, len))
		return -1;
	memcpy(out, buf, len + 1);
	return 0;
}

static char want_user[XG_LOCALPART_MAX + 1];
static char want_authz[2 * XG_LOCALPART_MAX + 2];

/* The model: what plain_decode must say about the decoded message; the
 * user and authzid it must give are in want_user and want_authz. */
static enum plain_result
model(const uint8_t *m, size_t n, const char *domain, size_t *uoff,
    size_t *ulen, size_t *poff, size_t *plen, size_t *zlen)
{
	char authz[XG_LOCALPART_MAX + 1];
	const uint8_t *zat;

	const uint8_t *z1, *z2, *at;
	size_t dl = strlen(domain), clen;

	if ((z1 = memchr(m, 0, n)) == NULL ||
	    (z2 = memchr(z1 + 1, 0, n - (size_t)(z1 + 1 - m))) == NULL ||
	    memchr(z2 + 1, 0, n - (size_t)(z2 + 1 - m)) != NULL)
		return PLAIN_MALFORMED;
	*zlen = (size_t)(z1 - m);
	*uoff = (size_t)(z1 + 1 - m);
	clen = (size_t)(z2 - z1 - 1);
	*poff = (size_t)(z2 + 1 - m);
	*plen = n - *poff;
	if (*zlen >= sizeof(pc.authzid) || clen == 0 ||
	    clen > XG_SASL_FIELD_MAX || *plen == 0 ||
	    *plen > XG_SASL_FIELD_MAX)
		return PLAIN_MALFORMED;
	*ulen = clen;
	if ((at = memchr(z1 + 1, '@', clen)) != NULL) {
		if ((size_t)(z2 - at - 1) != dl ||
		    strncasecmp((const char *)at + 1, domain, dl) != 0)
			return PLAIN_MALFORMED;
		*ulen = (size_t)(at - z1 - 1);
	}
	if (nodeprep(m + *uoff, *ulen, want_user) == -1)
		return PLAIN_BAD_USER;
	want_authz[0] = '\0';
	if (*zlen > 0) {
		if ((zat = memchr(m, '@', *zlen)) == NULL ||
		    *zlen - (size_t)(zat - m) - 1 != dl ||
		    strncasecmp((const char *)zat + 1, domain, dl) != 0 ||
		    nodeprep(m, (size_t)(zat - m), authz) == -1 ||
		    strcmp(authz, want_user) != 0)
			return PLAIN_BAD_AUTHZID;
		snprintf(want_authz, sizeof(want_authz), "%s@%s", want_user,
		    domain);
	}
	return PLAIN_OK;
}

/* The model of external_decode for the decoded message m. */
static enum plain_result
ext_model(const uint8_t *m, size_t n, const char *domain, size_t *ulen)
{
	const uint8_t *at;
	size_t dl = strlen(domain);

	if (memchr(m, 0, n) != NULL)
		return PLAIN_MALFORMED;
	if ((at = memchr(m, '@', n)) == NULL)
		return PLAIN_BAD_AUTHZID;
	*ulen = (size_t)(at - m);
	if (n - *ulen - 1 != dl ||
	    strncasecmp((const char *)at + 1, domain, dl) != 0 ||
	    nodeprep(m, *ulen, want_user) == -1)
		return PLAIN_BAD_AUTHZID;
	return PLAIN_OK;
}

static void
check_external(const char *b64, size_t b64len, const uint8_t *msg, long mlen,
    const char *domain)
{
	static char user[XG_SASL_FIELD_MAX + 1];
	enum plain_result got, want;
	size_t ulen = 0;

	if (b64len == 1 && b64[0] == '=')
		want = PLAIN_OK;
	else
		want = mlen < 0 ? PLAIN_BAD_BASE64 :
		    ext_model(msg, (size_t)mlen, domain, &ulen);
	memset(user, 0xA5, sizeof(user));
	got = external_decode(b64, b64len, domain, user, sizeof(user));
	if (got != want) {
		fprintf(stderr, "external_decode said %d, the model %d\n",
		    (int)got, (int)want);
		FUZZ_CHECK(got == want);
	}
	if (got != PLAIN_OK || (b64len == 1 && b64[0] == '=')) {
		FUZZ_CHECK(user[0] == '\0');
		return;
	}
	FUZZ_CHECK(strcmp(user, want_user) == 0);
}

static void
check_encode(const char *domain)
{
	size_t raw = 2 + pc.user_len + pc.pass_len;
	size_t need = 4 * ((raw + 2) / 3) + 1;
	char *out = malloc(need);

	FUZZ_CHECK(out != NULL);
	/* One byte short: refused, and nothing written past the end. */
	FUZZ_CHECK(plain_encode(pc.user, pc.pass, out, need - 1) == -1);
	FUZZ_CHECK(plain_encode(pc.user, pc.pass, out, need) == 0);
	FUZZ_CHECK(strlen(out) == need - 1);
	FUZZ_CHECK(plain_decode(out, need - 1, domain, &pc2) == PLAIN_OK);
	FUZZ_CHECK(pc2.authzid_len == 0);
	FUZZ_CHECK(pc2.user_len == pc.user_len &&
	    strcmp(pc2.user, pc.user) == 0);
	FUZZ_CHECK(pc2.pass_len == pc.pass_len &&
	    memcmp(pc2.pass, pc.pass, pc.pass_len) == 0);
	plain_wipe(&pc2);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *domain;
	char *b64 = NULL;
	size_t b64len;
	uint8_t *msg = NULL;
	long mlen;
	gnutls_datum_t in, enc = { NULL, 0 };
	enum plain_result got, want;
	size_t uoff = 0, ulen = 0, poff = 0, plen = 0, zlen = 0;

	if (size < 1)
		return 0;
	domain = domains[data[0] & 3];
	if (data[0] & 0x80) {
		if (size - 1 > 3 * XG_SASL_FIELD_MAX + 8)
			return 0;
		in.data = (unsigned char *)(uintptr_t)(data + 1);
		in.size = (unsigned int)(size - 1);
		FUZZ_CHECK(gnutls_base64_encode2(&in, &enc) == 0);
		b64 = malloc(enc.size ? enc.size : 1);
		FUZZ_CHECK(b64 != NULL);
		memcpy(b64, enc.data, enc.size);
		b64len = enc.size;
		gnutls_free(enc.data);
	} else {
		/* An exact copy, so ASan sees a read past the text. */
		b64len = size - 1;
		b64 = malloc(b64len ? b64len : 1);
		FUZZ_CHECK(b64 != NULL);
		memcpy(b64, data + 1, b64len);
	}
	msg = malloc(b64len + 3);
	FUZZ_CHECK(msg != NULL);
	mlen = b64_decode(b64, b64len, msg);
	want = mlen < 0 ? PLAIN_BAD_BASE64 :
	    model(msg, (size_t)mlen, domain, &uoff, &ulen, &poff, &plen, &zlen);

	check_external(b64, b64len, msg, mlen, domain);
	memset(&pc, 0xA5, sizeof(pc));
	got = plain_decode(b64, b64len, domain, &pc);
	if (got != want) {
		fprintf(stderr, "plain_decode said %d, the model %d\n",
		    (int)got, (int)want);
		FUZZ_CHECK(got == want);
	}
	if (got != PLAIN_OK) {
		FUZZ_CHECK(fz_zero(&pc, sizeof(pc)));
		goto done;
	}
	FUZZ_CHECK(ulen > 0 && pc.user_len == strlen(want_user) &&
	    strcmp(pc.user, want_user) == 0);
	FUZZ_CHECK(pc.pass_len == plen && memcmp(pc.pass, msg + poff, plen) ==
	    0 && pc.pass[plen] == '\0');
	FUZZ_CHECK(pc.authzid_len == strlen(want_authz) &&
	    strcmp(pc.authzid, want_authz) == 0 && (zlen > 0) ==
	    (want_authz[0] != '\0'));
	check_encode(domain);
	plain_wipe(&pc);
	FUZZ_CHECK(fz_zero(&pc, sizeof(pc)));
done:
	free(b64);
	free(msg);
	return 0;
}
