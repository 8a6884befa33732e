/*
 * SCRAM (RFC 5802, RFC 7677), the server side, over bytes the caller has
 * base64-decoded.  The stored credentials (RFC 5803) come from the helper,
 * so the password never reaches us: the client proves it knows the key
 * whose hash is StoredKey.  Channel binding (-PLUS) data comes from the
 * caller's TLS session.  Hashes and HMACs are GnuTLS's.
 *
 * Why not GNU SASL: libgsasl 2.2 (Debian 12's, and upstream's newest)
 * knows only tls-unique and tls-exporter; XEP-0440 makes
 * tls-server-end-point the one binding every server must take.  The
 * exchange is small, and here it is a pure function that is fuzzed.
 * The tests use libgsasl as an independent client.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include "xmppgate.h"

static const struct {
	const char *name;
	enum scram_hash hash;
	int	plus;
} mechs[] = {
	{ "SCRAM-SHA-1", SCRAM_SHA1, 0 },
	{ "SCRAM-SHA-1-PLUS", SCRAM_SHA1, 1 },
	{ "SCRAM-SHA-256", SCRAM_SHA256, 0 },
	{ "SCRAM-SHA-256-PLUS", SCRAM_SHA256, 1 },
};

int
scram_mech(const char *name, enum scram_hash *h, int *plus)
{
	size_t i;

	for (i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++)
		if (strcmp(name, mechs[i].name) == 0) {
			*h = mechs[i].hash;
			*plus = mechs[i].plus;
			return 0;
		}
	return -1;
}

const char *
scram_hash_name(enum scram_hash h)
{
	return h == SCRAM_SHA256 ? "SHA-256" : "SHA-1";
}

size_t
scram_hash_len(enum scram_hash h)
{
	return h == SCRAM_SHA256 ? 32 : 20;
}

const char *
scram_cb_name(int cb)
{
	switch (cb) {
	case SCRAM_CB_TLS_UNIQUE:
		return "tls-unique";
	case SCRAM_CB_TLS_SERVER_END_POINT:
		return "tls-server-end-point";
	case SCRAM_CB_TLS_EXPORTER:
		return "tls-exporter";
	}
	return "none";
}

static int
cb_from_name(const char *s, size_t n)
{
	int cb;

	for (cb = SCRAM_CB_TLS_UNIQUE; cb <= SCRAM_CB_TLS_EXPORTER; cb <<= 1)
		if (strlen(scram_cb_name(cb)) == n &&
		    memcmp(scram_cb_name(cb), s, n) == 0)
			return cb;
	return 0;
}

static int
hmac(enum scram_hash h, const void *key, size_t keylen, const void *d,
    size_t dlen, uint8_t *out)
{
	return gnutls_hmac_fast(h == SCRAM_SHA256 ? GNUTLS_MAC_SHA256 :
	    GNUTLS_MAC_SHA1, key, keylen, d, dlen, out) < 0 ? -1 : 0;
}

static int
hash(enum scram_hash h, const void *d, size_t dlen, uint8_t *out)
{
	return gnutls_hash_fast(h == SCRAM_SHA256 ? GNUTLS_DIG_SHA256 :
	    GNUTLS_DIG_SHA1, d, dlen, out) < 0 ? -1 : 0;
}

/* Compared in time that depends only on n. */
static int
same(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint8_t d = 0;
	size_t i;

	for (i = 0; i < n; i++)
		d |= a[i] ^ b[i];
	return d == 0;
}

/* Base64 into a fixed buffer: its decoded length, or -1. */
static long
b64_into(const char *s, size_t n, uint8_t *out, size_t outsz)
{
	gnutls_datum_t d = { NULL, 0 };
	long r = -1;

	if (xg_b64_decode(s, n, &d) == -1)
		return -1;
	if (d.size <= outsz) {
		memcpy(out, d.data, d.size);
		r = (long)d.size;
	}
	explicit_bzero(d.data, d.size);
	gnutls_free(d.data);
	return r;
}

/*
 * saslname (RFC 5802 5.1): "," and "=" come as "=2C" and "=3D", any other
 * "=" is an error.  Decoded into out (outsz with the NUL); -1 if bad.
 */
static int
saslname(const char *s, size_t n, char *out, size_t outsz, size_t *outlen)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		char c = s[i];
		if (c == '\0' || c == ',')
			return -1;
		if (c == '=') {
			if (n - i >= 3 && s[i + 1] == '2' && s[i + 2] == 'C')
				c = ',';
			else if (n - i >= 3 && s[i + 1] == '3' &&
			    s[i + 2] == 'D')
				c = '=';
			else
				return -1;
			i += 2;
		}
		if (o + 1 >= outsz)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	*outlen = o;
	return 0;
}

/* printable = %x21-2B / %x2D-7E: a nonce. */
static int
printable(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e || s[i] == ',')
			return 0;
	return 1;
}

/* attr-val extensions: ALPHA "=" value, comma separated, value without
 * NUL or ",".  1 when s[0..n) is a list of them. */
static int
extensions(const char *s, size_t n)
{
	const char *e, *end = s + n;

	if (n == 0)
		return 0;
	while (s < end) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')) ||
		    end - s < 2 || s[1] != '=')
			return 0;
		e = memchr(s, ',', (size_t)(end - s));
		if (memchr(s, '\0', (size_t)((e ? e : end) - s)) != NULL)
			return 0;
		if (e == NULL)
			return 1;
		s = e + 1;
		if (s == end)
			return 0;
	}
	return 1;
}

enum scram_result
scram_client_first(struct scram *sc, enum scram_hash h, int plus,
    int cb_allowed, const uint8_t *msg, size_t len, const char *domain)
{
	const char *m = (const char *)msg, *end = m + len, *p, *e, *at, *why;
	char name[XG_SASL_FIELD_MAX * 3 + 2], authz[XG_LOCALPART_MAX + 1];
	size_t nlen, dlen = strlen(domain);

	memset(sc, 0, sizeof(*sc));
	sc->hash = h;
	sc->plus = plus;
	if (len == 0 || len >= XG_SCRAM_MSG_MAX ||
	    memchr(m, '\0', len) != NULL)
		return SCRAM_MALFORMED;
	/* gs2-cbind-flag: "p=" cb-name, "n" or "y". */
	if ((e = memchr(m, ',', len)) == NULL)
		return SCRAM_MALFORMED;
	if (m[0] == 'p' && e - m > 2 && m[1] == '=') {
		if (!plus)
			return SCRAM_MALFORMED;	/* RFC 5802 6 */
		sc->cbtype = cb_from_name(m + 2, (size_t)(e - m - 2));
		if (sc->cbtype == 0 || (sc->cbtype & cb_allowed) == 0)
			return SCRAM_CB_UNSUPPORTED;
	} else if (e - m == 1 && m[0] == 'n') {
		if (plus)
			return SCRAM_MALFORMED;
	} else if (e - m == 1 && m[0] == 'y') {
		if (plus)
			return SCRAM_MALFORMED;
		/* The client can bind but thinks we cannot: a downgrade
		 * when we offered -PLUS (RFC 5802 6). */
		if (cb_allowed != 0)
			return SCRAM_CB_DOWNGRADE;
	} else
		return SCRAM_MALFORMED;
	/* [ "a=" saslname ] "," */
	p = e + 1;
	if ((e = memchr(p, ',', (size_t)(end - p))) == NULL)
		return SCRAM_MALFORMED;
	if (e > p) {
		if (e - p < 3 || p[0] != 'a' || p[1] != '=' ||
		    saslname(p + 2, (size_t)(e - p - 2), sc->authzid,
		    sizeof(sc->authzid), &nlen) == -1)
			return SCRAM_MALFORMED;
	}
	sc->gs2_len = (size_t)(e + 1 - m);
	memcpy(sc->gs2, m, sc->gs2_len);
	/* client-first-message-bare: "n=" saslname ",r=" nonce [,ext] */
	p = e + 1;
	sc->cfirst_len = (size_t)(end - p);
	memcpy(sc->cfirst, p, sc->cfirst_len);
	if (end - p < 2 || p[0] != 'n' || p[1] != '=')
		return SCRAM_MALFORMED;	/* "m=" (mandatory ext.) too */
	if ((e = memchr(p, ',', (size_t)(end - p))) == NULL ||
	    saslname(p + 2, (size_t)(e - p - 2), name, sizeof(name), &nlen)
	    == -1)
		return SCRAM_MALFORMED;
	p = e + 1;
	if (end - p < 3 || p[0] != 'r' || p[1] != '=')
		return SCRAM_MALFORMED;
	p += 2;
	e = memchr(p, ',', (size_t)(end - p));
	sc->nonce_len = (size_t)((e ? e : end) - p);
	if (sc->nonce_len > XG_SCRAM_NONCE_MAX ||
	    !printable(p, sc->nonce_len))
		return SCRAM_MALFORMED;
	memcpy(sc->nonce, p, sc->nonce_len);
	if (e != NULL && !extensions(e + 1, (size_t)(end - e - 1)))
		return SCRAM_MALFORMED;
	/* The user, as for PLAIN: a localpart, or user@our domain. */
	if ((at = memchr(name, '@', nlen)) != NULL) {
		if (nlen - (size_t)(at - name) - 1 != dlen ||
		    strncasecmp(at + 1, domain, dlen) != 0)
			return SCRAM_MALFORMED;
		nlen = (size_t)(at - name);
	}
	/* The name the helper looks the credentials up by, prepared as the
	 * backend stores it; the proof covers cfirst, the bytes as sent. */
	if (xg_localpart_prep(name, nlen, sc->user, sizeof(sc->user),
	    &why) == -1) {
		explicit_bzero(name, sizeof(name));
		return SCRAM_BAD_USER;
	}
	explicit_bzero(name, sizeof(name));
	/* The authzid may only name the user's own bare JID, passed on as
	 * prepared (the gs2-header the binding checks stays as sent). */
	nlen = strlen(sc->authzid);
	if (nlen > 0) {
		if (xg_bare_jid_user(sc->authzid, nlen, domain, authz,
		    sizeof(authz)) == -1 || strcmp(authz, sc->user) != 0)
			return SCRAM_BAD_AUTHZID;
		if ((size_t)snprintf(sc->authzid, sizeof(sc->authzid), "%s@%s",
		    sc->user, domain) >= sizeof(sc->authzid))
			return SCRAM_BAD_AUTHZID;
	}
	return SCRAM_OK;
}

/*
 * XEP-0474 (0.4 and later) caps: at most this many mechanism names and as
 * many channel binding types, and this much joined text.  xmppgate offers
 * at most six mechanisms and two binding types; a list beyond either is a
 * caller's bug, answered with -1 rather than a truncated hash.
 */
#define SSDP_NAMES_MAX	16
#define SSDP_TEXT_MAX	1024
#define SSDP_MECH_SEP	'\x1e'	/* between names of one list */
#define SSDP_CB_SEP	'\x1f'	/* between the two lists */

/* names (NULL-ended) sorted by i;octet (RFC 4790 9.3: strcmp compares as
 * unsigned char) and joined by SSDP_MECH_SEP at t[*len..); -1 if a list
 * is too long, a name empty or holding a separator, or t full. */
static int
ssdp_join(const char *const *names, char *t, size_t *len)
{
	const char *v[SSDP_NAMES_MAX], *x;
	size_t n, i, j, l;

	for (n = 0; names[n] != NULL; n++)
		if (n == SSDP_NAMES_MAX)
			return -1;
		else
			v[n] = names[n];
	for (i = 1; i < n; i++)		/* insertion sort: n is small */
		for (j = i; j > 0 && strcmp(v[j - 1], v[j]) > 0; j--) {
			x = v[j];
			v[j] = v[j - 1];
			v[j - 1] = x;
		}
	for (i = 0; i < n; i++) {
		l = strlen(v[i]);
		if (l == 0 || strchr(v[i], SSDP_MECH_SEP) != NULL ||
		    strchr(v[i], SSDP_CB_SEP) != NULL ||
		    SSDP_TEXT_MAX - *len < l + (i > 0))
			return -1;
		if (i > 0)
			t[(*len)++] = SSDP_MECH_SEP;
		memcpy(t + *len, v[i], l);
		*len += l;
	}
	return 0;
}

int
scram_ssdp(enum scram_hash h, const char *const *mnames,
    const char *const *cbs, char *out, size_t outsz)
{
	char t[SSDP_TEXT_MAX];
	uint8_t d[SCRAM_HASH_MAX];
	size_t len = 0;

	if (mnames == NULL || ssdp_join(mnames, t, &len) == -1)
		return -1;
	if (cbs != NULL) {
		if (len == SSDP_TEXT_MAX)
			return -1;
		t[len++] = SSDP_CB_SEP;
		if (ssdp_join(cbs, t, &len) == -1)
			return -1;
	}
	if (hash(h, t, len, d) == -1 ||
	    xg_b64_encode(d, scram_hash_len(h), out, outsz) == 0)
		return -1;
	return 0;
}

/*
 * With sc->ssdp set (XEP-0474), ",h=" and it end the message, so that
 * AuthMessage, and with it the client's proof, covers the hash.  The caller
 * sets sc->ssdp after scram_client_first(), which clears the whole struct
 * as scram_wipe() does: a value never carries over to another attempt.
 */
int
scram_server_first(struct scram *sc, const struct scram_creds *cr,
    const char *snonce)
{
	char salt[XG_SCRAM_SALT_MAX * 2];
	size_t sn = strlen(snonce), hn = strnlen(sc->ssdp, sizeof(sc->ssdp));
	int n;

	if (cr->hash != sc->hash || sn == 0 || sn > XG_SCRAM_NONCE_MAX ||
	    !printable(snonce, sn) || hn == sizeof(sc->ssdp) ||
	    (hn > 0 && !printable(sc->ssdp, hn)) ||
	    xg_b64_encode(cr->salt, cr->salt_len, salt, sizeof(salt)) == 0)
		return -1;
	memcpy(sc->nonce + sc->nonce_len, snonce, sn);
	sc->nonce_len += sn;
	sc->nonce[sc->nonce_len] = '\0';
	n = snprintf(sc->sfirst, sizeof(sc->sfirst), "r=%s,s=%s,i=%lu%s%s",
	    sc->nonce, salt, cr->iter, sc->ssdp[0] != '\0' ? ",h=" : "",
	    sc->ssdp);
	if (n < 0 || (size_t)n >= sizeof(sc->sfirst))
		return -1;
	sc->sfirst_len = (size_t)n;
	return 0;
}

enum scram_result
scram_client_final(struct scram *sc, const struct scram_creds *cr,
    const uint8_t *msg, size_t len, const uint8_t *cb, size_t cblen,
    char *out, size_t outsz)
{
	const char *m = (const char *)msg, *end = m + len, *p, *e, *pr, *c1;
	uint8_t cbind[XG_SCRAM_MSG_MAX + XG_SCRAM_CB_MAX];
	uint8_t proof[SCRAM_HASH_MAX], sig[SCRAM_HASH_MAX], key[SCRAM_HASH_MAX];
	uint8_t stored[SCRAM_HASH_MAX];
	char am[3 * XG_SCRAM_MSG_MAX + 2], v[2 * SCRAM_HASH_MAX + 4];
	size_t hl = scram_hash_len(sc->hash), amlen, i;
	long n;
	enum scram_result r = SCRAM_MALFORMED;

	if (len == 0 || len >= XG_SCRAM_MSG_MAX ||
	    memchr(m, '\0', len) != NULL || cr->hash != sc->hash ||
	    cblen > XG_SCRAM_CB_MAX || sc->sfirst_len == 0)
		return SCRAM_MALFORMED;
	/* "c=" base64 ",r=" nonce [,extensions] ",p=" base64: the proof
	 * is the last attribute. */
	if (len < 2 || m[0] != 'c' || m[1] != '=' ||
	    (e = memchr(m, ',', len)) == NULL)
		return SCRAM_MALFORMED;
	c1 = e;
	for (pr = end - 1; pr > e && *pr != ','; pr--)
		;
	if (pr == e || end - pr < 4 || pr[1] != 'p' || pr[2] != '=')
		return SCRAM_MALFORMED;
	n = b64_into(pr + 3, (size_t)(end - pr - 3), proof, sizeof(proof));
	if (n == -1)
		return SCRAM_BAD_BASE64;
	if ((size_t)n != hl)
		return SCRAM_MALFORMED;
	p = e + 1;
	if (pr - p < 2 || p[0] != 'r' || p[1] != '=')
		goto done;
	p += 2;
	e = memchr(p, ',', (size_t)(pr - p));
	if (e != NULL && !extensions(e + 1, (size_t)(pr - e - 1)))
		goto done;
	/* The binding: our gs2-header and, with -PLUS, our channel's. */
	n = b64_into(m + 2, (size_t)(c1 - m - 2), cbind,
	    sizeof(cbind));
	if (n == -1) {
		r = SCRAM_BAD_BASE64;
		goto done;
	}
	if ((size_t)n != sc->gs2_len + (sc->cbtype ? cblen : 0) ||
	    memcmp(cbind, sc->gs2, sc->gs2_len) != 0 ||
	    (sc->cbtype && !same(cbind + sc->gs2_len, cb, cblen)) ||
	    (sc->cbtype && cblen == 0)) {
		r = SCRAM_BAD_BINDING;
		goto done;
	}
	if ((size_t)((e ? e : pr) - p) != sc->nonce_len ||
	    memcmp(p, sc->nonce, sc->nonce_len) != 0) {
		r = SCRAM_BAD_NONCE;
		goto done;
	}
	/* AuthMessage = client-first-bare "," server-first ","
	 * client-final-without-proof */
	amlen = sc->cfirst_len + 1 + sc->sfirst_len + 1 + (size_t)(pr - m);
	memcpy(am, sc->cfirst, sc->cfirst_len);
	am[sc->cfirst_len] = ',';
	memcpy(am + sc->cfirst_len + 1, sc->sfirst, sc->sfirst_len);
	am[sc->cfirst_len + 1 + sc->sfirst_len] = ',';
	memcpy(am + sc->cfirst_len + sc->sfirst_len + 2, m, (size_t)(pr - m));
	/* ClientKey = proof XOR HMAC(StoredKey, AuthMessage), and
	 * H(ClientKey) must be StoredKey. */
	if (hmac(sc->hash, cr->stored_key, hl, am, amlen, sig) == -1)
		goto done;
	for (i = 0; i < hl; i++)
		key[i] = proof[i] ^ sig[i];
	if (hash(sc->hash, key, hl, stored) == -1)
		goto done;
	if (!same(stored, cr->stored_key, hl)) {
		r = SCRAM_BAD_PROOF;
		goto done;
	}
	if (hmac(sc->hash, cr->server_key, hl, am, amlen, sig) == -1 ||
	    xg_b64_encode(sig, hl, v, sizeof(v)) == 0 ||
	    (size_t)snprintf(out, outsz, "v=%s", v) >= outsz)
		goto done;
	r = SCRAM_OK;
done:
	explicit_bzero(key, sizeof(key));
	explicit_bzero(proof, sizeof(proof));
	explicit_bzero(sig, sizeof(sig));
	explicit_bzero(am, sizeof(am));
	return r;
}

/* RFC 5803: SCRAM-SHA-256$ITER:SALT$STOREDKEY:SERVERKEY */
int
scram_creds_parse(const char *s, size_t n, struct scram_creds *cr)
{
	const char *end = s + n, *d, *c, *d2, *c2;
	char num[16];
	unsigned long it;
	size_t hl;
	int plus;

	memset(cr, 0, sizeof(*cr));
	if ((d = memchr(s, '$', n)) == NULL || (size_t)(d - s) >= sizeof(num))
		return -1;
	memcpy(num, s, (size_t)(d - s));
	num[d - s] = '\0';
	if (scram_mech(num, &cr->hash, &plus) == -1 || plus)
		return -1;
	hl = scram_hash_len(cr->hash);
	d++;
	if ((c = memchr(d, ':', (size_t)(end - d))) == NULL ||
	    (d2 = memchr(c, '$', (size_t)(end - c))) == NULL ||
	    (c2 = memchr(d2, ':', (size_t)(end - d2))) == NULL ||
	    (size_t)(c - d) >= sizeof(num))
		goto bad;
	memcpy(num, d, (size_t)(c - d));
	num[c - d] = '\0';
	if (xg_decimal(num, 8, &it) == -1 || it == 0 ||
	    it > XG_SCRAM_ITER_MAX)
		goto bad;
	cr->iter = it;
	{
		long sl = b64_into(c + 1, (size_t)(d2 - c - 1), cr->salt,
		    sizeof(cr->salt));
		if (sl <= 0)
			goto bad;
		cr->salt_len = (size_t)sl;
	}
	if (b64_into(d2 + 1, (size_t)(c2 - d2 - 1), cr->stored_key,
	    sizeof(cr->stored_key)) != (long)hl ||
	    b64_into(c2 + 1, (size_t)(end - c2 - 1), cr->server_key,
	    sizeof(cr->server_key)) != (long)hl)
		goto bad;
	return 0;
bad:
	explicit_bzero(cr, sizeof(*cr));
	return -1;
}

size_t
scram_creds_format(const struct scram_creds *cr, char *out, size_t outsz)
{
	char salt[XG_SCRAM_SALT_MAX * 2], st[SCRAM_HASH_MAX * 2],
	    sv[SCRAM_HASH_MAX * 2];
	size_t hl = scram_hash_len(cr->hash);
	int n;

	if (xg_b64_encode(cr->salt, cr->salt_len, salt, sizeof(salt)) == 0 ||
	    xg_b64_encode(cr->stored_key, hl, st, sizeof(st)) == 0 ||
	    xg_b64_encode(cr->server_key, hl, sv, sizeof(sv)) == 0)
		return 0;
	n = snprintf(out, outsz, "SCRAM-%s$%lu:%s$%s:%s",
	    scram_hash_name(cr->hash), cr->iter, salt, st, sv);
	return n < 0 || (size_t)n >= outsz ? 0 : (size_t)n;
}

int
scram_creds_from_password(enum scram_hash h, const char *pass, size_t plen,
    const uint8_t *salt, size_t saltlen, unsigned long iter,
    struct scram_creds *cr)
{
	gnutls_datum_t k = { (unsigned char *)(uintptr_t)pass, (unsigned)plen };
	gnutls_datum_t sl = { (unsigned char *)(uintptr_t)salt,
	    (unsigned)saltlen };
	uint8_t salted[SCRAM_HASH_MAX], ck[SCRAM_HASH_MAX];
	size_t hl = scram_hash_len(h);
	int rc = -1;

	memset(cr, 0, sizeof(*cr));
	if (saltlen == 0 || saltlen > sizeof(cr->salt) || iter == 0 ||
	    iter > XG_SCRAM_ITER_MAX)
		return -1;
	cr->hash = h;
	cr->iter = iter;
	memcpy(cr->salt, salt, saltlen);
	cr->salt_len = saltlen;
	/* SaltedPassword = Hi(password, salt, i), which is PBKDF2. */
	if (gnutls_pbkdf2(h == SCRAM_SHA256 ? GNUTLS_MAC_SHA256 :
	    GNUTLS_MAC_SHA1, &k, &sl, (unsigned)iter, salted, hl) < 0 ||
	    hmac(h, salted, hl, "Client Key", 10, ck) == -1 ||
	    hash(h, ck, hl, cr->stored_key) == -1 ||
	    hmac(h, salted, hl, "Server Key", 10, cr->server_key) == -1)
		goto done;
	rc = 0;
done:
	explicit_bzero(salted, sizeof(salted));
	explicit_bzero(ck, sizeof(ck));
	if (rc == -1)
		explicit_bzero(cr, sizeof(*cr));
	return rc;
}

int
scram_creds_check(const struct scram_creds *cr, const char *pass,
    size_t plen)
{
	struct scram_creds t;
	int ok;

	if (scram_creds_from_password(cr->hash, pass, plen, cr->salt,
	    cr->salt_len, cr->iter, &t) == -1)
		return 0;
	ok = same(t.stored_key, cr->stored_key, scram_hash_len(cr->hash)) &
	    same(t.server_key, cr->server_key, scram_hash_len(cr->hash));
	explicit_bzero(&t, sizeof(t));
	return ok;
}

void
scram_wipe(struct scram *sc)
{
	explicit_bzero(sc, sizeof(*sc));
}
