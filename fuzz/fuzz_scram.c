/*
 * libFuzzer target: SCRAM's server side (src/sasl_scram.c).
 *
 * Input: one mode byte, then the client-first-message, a NUL, and the
 * client-final-message (both decoded, as xmppgate passes them).  Mode
 * bit 0 chooses SHA-256 over SHA-1, bit 1 the -PLUS mechanism, bits 2-4
 * the channel binding types this connection offers, bit 5 whether the
 * harness writes a correct client-final itself instead of taking the
 * input's.
 *
 * Checks: a client-first the server takes splits into gs2-header and
 * client-first-bare that give back the input exactly; its user is a
 * localpart without '@'; its authzid is empty or that user's bare JID of
 * the domain; the binding type agrees with the mechanism and the offer.
 * An input's own client-final is never accepted (that would take the
 * password, or an HMAC forgery).  A client-final the harness computes
 * from the password, independently of the server code, is accepted, with
 * the server signature it computes too; after one changed proof byte it
 * is refused.  The parsed stored credentials (RFC 5803) format back to
 * the same text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include "xmppgate.h"
#include "fuzz_common.h"

#define DOMAIN "example.test"
static const uint8_t cbdata[32] = { 0x42, 1, 2, 3 };
static struct scram_creds creds[2];
static struct scram sc;

static void
b64(const void *d, size_t n, char *o, size_t osz)
{
	gnutls_datum_t in = { (unsigned char *)(uintptr_t)d, (unsigned)n };
	gnutls_datum_t enc;

	FUZZ_CHECK(gnutls_base64_encode2(&in, &enc) == 0);
	FUZZ_CHECK(enc.size < osz);
	memcpy(o, enc.data, enc.size);
	o[enc.size] = '\0';
	gnutls_free(enc.data);
}

static void
init(void)
{
	static const uint8_t salt[] = "fuzz salt";
	char text[512];
	struct scram_creds p;
	int h;

	for (h = 0; h < 2; h++) {
		FUZZ_CHECK(scram_creds_from_password(h, "pencil", 6, salt,
		    sizeof(salt) - 1, 4096, &creds[h]) == 0);
		FUZZ_CHECK(scram_creds_format(&creds[h], text, sizeof(text)) >
		    0);
		FUZZ_CHECK(scram_creds_parse(text, strlen(text), &p) == 0);
		FUZZ_CHECK(memcmp(&p, &creds[h], sizeof(p)) == 0);
	}
}

/* The client's final message for "pencil", computed here. */
static size_t
good_final(enum scram_hash h, char *out, size_t outsz, char *v, size_t vsz)
{
	gnutls_mac_algorithm_t mac = h ? GNUTLS_MAC_SHA256 : GNUTLS_MAC_SHA1;
	size_t hl = scram_hash_len(h), i;
	gnutls_datum_t k = { (unsigned char *)"pencil", 6 };
	gnutls_datum_t s = { creds[h].salt, (unsigned)creds[h].salt_len };
	uint8_t sp[32], ck[32], st[32], sig[32], sk[32], bind[XG_SCRAM_MSG_MAX + 32];
	static char cbb[2 * XG_SCRAM_MSG_MAX], wo[4 * XG_SCRAM_MSG_MAX],
	    am[8 * XG_SCRAM_MSG_MAX];
	char pb[64], vb[64];
	size_t bl = sc.gs2_len;

	memcpy(bind, sc.gs2, sc.gs2_len);
	if (sc.cbtype) {
		memcpy(bind + bl, cbdata, sizeof(cbdata));
		bl += sizeof(cbdata);
	}
	b64(bind, bl, cbb, sizeof(cbb));
	snprintf(wo, sizeof(wo), "c=%s,r=%s", cbb, sc.nonce);
	snprintf(am, sizeof(am), "%.*s,%.*s,%s", (int)sc.cfirst_len,
	    sc.cfirst, (int)sc.sfirst_len, sc.sfirst, wo);
	FUZZ_CHECK(gnutls_pbkdf2(mac, &k, &s, 4096, sp, hl) == 0);
	gnutls_hmac_fast(mac, sp, hl, "Client Key", 10, ck);
	gnutls_hash_fast(h ? GNUTLS_DIG_SHA256 : GNUTLS_DIG_SHA1, ck, hl, st);
	gnutls_hmac_fast(mac, st, hl, am, strlen(am), sig);
	for (i = 0; i < hl; i++)
		sig[i] ^= ck[i];
	b64(sig, hl, pb, sizeof(pb));
	gnutls_hmac_fast(mac, sp, hl, "Server Key", 10, sk);
	gnutls_hmac_fast(mac, sk, hl, am, strlen(am), sig);
	b64(sig, hl, vb, sizeof(vb));
	snprintf(v, vsz, "v=%s", vb);
	return (size_t)snprintf(out, outsz, "%s,p=%s", wo, pb);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	static char final[16 * XG_SCRAM_MSG_MAX];
	char out[128], v[128];
	const uint8_t *cf, *cl, *z;
	size_t cflen, cllen, ulen, n;
	enum scram_hash h;
	enum scram_result r;
	int plus, allowed, own;

	if (!ready) {
		init();
		ready = 1;
	}
	if (size < 1)
		return 0;
	h = (data[0] & 1) ? SCRAM_SHA256 : SCRAM_SHA1;
	plus = (data[0] >> 1) & 1;
	allowed = (data[0] >> 2) & 7;
	own = (data[0] >> 5) & 1;
	cf = data + 1;
	if ((z = memchr(cf, '\0', size - 1)) != NULL) {
		cflen = (size_t)(z - cf);
		cl = z + 1;
		cllen = size - 1 - cflen - 1;
	} else {
		cflen = size - 1;
		cl = NULL;
		cllen = 0;
	}
	r = scram_client_first(&sc, h, plus, allowed, cf, cflen, DOMAIN);
	if (fz_show())
		fprintf(stderr, "client-first: %d\n", r);
	if (r != SCRAM_OK)
		return 0;
	/* gs2-header + client-first-bare is the message, exactly. */
	FUZZ_CHECK(sc.gs2_len + sc.cfirst_len == cflen);
	FUZZ_CHECK(memcmp(sc.gs2, cf, sc.gs2_len) == 0);
	FUZZ_CHECK(memcmp(sc.cfirst, cf + sc.gs2_len, sc.cfirst_len) == 0);
	ulen = strlen(sc.user);
	FUZZ_CHECK(ulen > 0 && ulen <= XG_SASL_FIELD_MAX);
	FUZZ_CHECK(xg_localpart_ok(sc.user, ulen));
	n = strlen(sc.authzid);
	FUZZ_CHECK(n == 0 || (n == ulen + 1 + strlen(DOMAIN) &&
	    memcmp(sc.authzid, sc.user, ulen) == 0 && sc.authzid[ulen] == '@' &&
	    strcasecmp(sc.authzid + ulen + 1, DOMAIN) == 0));
	if (plus)
		FUZZ_CHECK(sc.cbtype != 0 && (sc.cbtype & allowed) == sc.cbtype);
	else
		FUZZ_CHECK(sc.cbtype == 0);
	FUZZ_CHECK(scram_server_first(&sc, &creds[h], "SNONCE") == 0);
	FUZZ_CHECK(sc.nonce_len >= 7 &&
	    memcmp(sc.nonce + sc.nonce_len - 6, "SNONCE", 6) == 0);
	if (!own) {
		if (cl != NULL) {
			r = scram_client_final(&sc, &creds[h], cl, cllen,
			    cbdata, sizeof(cbdata), out, sizeof(out));
			FUZZ_CHECK(r != SCRAM_OK);
		}
		return 0;
	}
	n = good_final(h, final, sizeof(final), v, sizeof(v));
	if (n >= XG_SCRAM_MSG_MAX) {
		/* Too long for the server: refused, never accepted. */
		FUZZ_CHECK(scram_client_final(&sc, &creds[h],
		    (const uint8_t *)final, n, cbdata, sizeof(cbdata), out,
		    sizeof(out)) == SCRAM_MALFORMED);
		return 0;
	}
	r = scram_client_final(&sc, &creds[h], (const uint8_t *)final, n,
	    cbdata, sizeof(cbdata), out, sizeof(out));
	FUZZ_CHECK(r == SCRAM_OK);
	FUZZ_CHECK(strcmp(out, v) == 0);
	/* The proof's first character changed: refused. */
	{
		char *p = strstr(final, ",p=");
		FUZZ_CHECK(p != NULL);
		p[3] = p[3] == 'A' ? 'B' : 'A';
		r = scram_client_final(&sc, &creds[h],
		    (const uint8_t *)final, n, cbdata, sizeof(cbdata), out,
		    sizeof(out));
		FUZZ_CHECK(r == SCRAM_BAD_PROOF);
	}
	return 0;
}
