/*
 * SASL PLAIN (RFC 4616): [authzid] NUL authcid NUL passwd, base64 in
 * XMPP (RFC 6120 6.4.2).  Base64 itself is GnuTLS's; we only check the
 * alphabet first because RFC 6120 forbids whitespace and GnuTLS does not.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <gnutls/gnutls.h>
#include "xmppgate.h"

static int
b64_strict(const char *s, size_t n)
{
	size_t i, pad = 0;

	if (n == 0 || n % 4 != 0)
		return -1;
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad)
			return -1;	/* '=' only at the end */
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '+' || c == '/'))
			return -1;
	}
	return pad > 2 ? -1 : 0;
}

int
xg_b64_decode(const char *b64, size_t b64len, gnutls_datum_t *out)
{
	gnutls_datum_t in;

	if (b64_strict(b64, b64len) == -1)
		return -1;
	in.data = (unsigned char *)(uintptr_t)b64;
	in.size = (unsigned int)b64len;
	return gnutls_base64_decode2(&in, out) < 0 ? -1 : 0;
}

int
xg_b64_encode(const void *d, size_t n, char *out, size_t outsz)
{
	gnutls_datum_t in = { (unsigned char *)(uintptr_t)d, (unsigned)n };
	gnutls_datum_t enc = { NULL, 0 };
	size_t r = 0;

	if (gnutls_base64_encode2(&in, &enc) == 0 && enc.size < outsz) {
		memcpy(out, enc.data, enc.size);
		out[enc.size] = '\0';
		r = enc.size;
	}
	if (enc.data != NULL) {
		explicit_bzero(enc.data, enc.size);
		gnutls_free(enc.data);
	}
	return (int)r;
}

/* RFC 7622 3.3.1 forbids these in a localpart; controls are never OK. */
int
xg_localpart_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c == 0x7f || strchr("\"&'/:<>@", c))
			return 0;
	}
	return 1;
}

/* The prepared localpart of a bare JID of domain ("user@domain", the
 * domain in any case), or -1. */
int
xg_bare_jid_user(const char *s, size_t n, const char *domain, char *user,
    size_t usersz)
{
	const char *at, *why;
	size_t dlen = strlen(domain), ulen;

	if ((at = memchr(s, '@', n)) == NULL)
		return -1;
	ulen = (size_t)(at - s);
	if (n - ulen - 1 != dlen || strncasecmp(at + 1, domain, dlen) != 0)
		return -1;
	return xg_localpart_prep(s, ulen, user, usersz, &why);
}

enum plain_result
plain_decode(const char *b64, size_t b64len, const char *domain,
    struct plain_creds *pc)
{
	gnutls_datum_t out = { NULL, 0 };
	const char *p, *z1, *z2, *end, *at, *why;
	char authz[XG_LOCALPART_MAX + 1];
	size_t ulen, dlen = strlen(domain);
	enum plain_result r = PLAIN_MALFORMED;

	memset(pc, 0, sizeof(*pc));
	if (xg_b64_decode(b64, b64len, &out) == -1)
		return PLAIN_BAD_BASE64;
	p = (const char *)out.data;
	end = p + out.size;
	if ((z1 = memchr(p, '\0', out.size)) == NULL ||
	    (z2 = memchr(z1 + 1, '\0', (size_t)(end - z1 - 1))) == NULL ||
	    memchr(z2 + 1, '\0', (size_t)(end - z2 - 1)) != NULL)
		goto done;
	pc->authzid_len = (size_t)(z1 - p);
	ulen = (size_t)(z2 - z1 - 1);
	pc->pass_len = (size_t)(end - z2 - 1);
	if (pc->authzid_len >= sizeof(pc->authzid) || ulen == 0 ||
	    ulen > XG_SASL_FIELD_MAX || pc->pass_len == 0 ||
	    pc->pass_len > XG_SASL_FIELD_MAX)
		goto done;
	memcpy(pc->pass, z2 + 1, pc->pass_len);
	/* A client may send user@domain as the authcid: only for ours. */
	if ((at = memchr(z1 + 1, '@', ulen)) != NULL) {
		size_t rest = (size_t)(z2 - at - 1);
		if (rest != dlen || strncasecmp(at + 1, domain, dlen) != 0)
			goto done;
		ulen = (size_t)(at - z1 - 1);
	}
	/* Structure checked: a bad name is a wrong name (not-authorized). */
	if (xg_localpart_prep(z1 + 1, ulen, pc->user, sizeof(pc->user),
	    &why) == -1) {
		r = PLAIN_BAD_USER;
		goto done;
	}
	pc->user_len = strlen(pc->user);
	/* The authzid may only name the user's own bare JID (RFC 6120 6.3.8),
	 * compared and passed on as prepared. */
	if (pc->authzid_len > 0) {
		if (xg_bare_jid_user(p, pc->authzid_len, domain, authz,
		    sizeof(authz)) == -1 || strcmp(authz, pc->user) != 0) {
			r = PLAIN_BAD_AUTHZID;
			goto done;
		}
		pc->authzid_len = (size_t)snprintf(pc->authzid,
		    sizeof(pc->authzid), "%s@%s", pc->user, domain);
		if (pc->authzid_len >= sizeof(pc->authzid)) {
			r = PLAIN_BAD_AUTHZID;
			goto done;
		}
	}
	r = PLAIN_OK;
done:
	if (out.data) {
		explicit_bzero(out.data, out.size);
		gnutls_free(out.data);
	}
	if (r != PLAIN_OK)
		plain_wipe(pc);
	return r;
}

int
plain_encode(const char *user, const char *pass, char *out, size_t outsz)
{
	char raw[2 * XG_SASL_FIELD_MAX + 3];
	size_t ul = strlen(user), pl = strlen(pass);
	int rc;

	if (ul > XG_SASL_FIELD_MAX || pl > XG_SASL_FIELD_MAX)
		return -1;
	raw[0] = '\0';
	memcpy(raw + 1, user, ul);
	raw[1 + ul] = '\0';
	memcpy(raw + 2 + ul, pass, pl);
	rc = xg_b64_encode(raw, 2 + ul + pl, out, outsz) > 0 ? 0 : -1;
	explicit_bzero(raw, sizeof(raw));
	return rc;
}

void
plain_wipe(struct plain_creds *pc)
{
	explicit_bzero(pc, sizeof(*pc));
}

/*
 * SASL EXTERNAL (RFC 4422 appendix A, XEP-0178): the message is only the
 * authorization identity, "=" when empty (RFC 6120 6.4.2).  A non-empty
 * one must be a bare JID of our domain; its localpart goes to user.
 */
enum plain_result
external_decode(const char *b64, size_t b64len, const char *domain,
    char *user, size_t usersz)
{
	gnutls_datum_t out = { NULL, 0 };
	const char *p;
	enum plain_result r = PLAIN_BAD_AUTHZID;

	user[0] = '\0';
	if (b64len == 1 && b64[0] == '=')
		return PLAIN_OK;
	if (xg_b64_decode(b64, b64len, &out) == -1)
		return PLAIN_BAD_BASE64;
	p = (const char *)out.data;
	if (memchr(p, '\0', out.size) != NULL) {
		r = PLAIN_MALFORMED;
		goto done;
	}
	if (xg_bare_jid_user(p, out.size, domain, user, usersz) == -1) {
		user[0] = '\0';
		goto done;
	}
	r = PLAIN_OK;
done:
	explicit_bzero(out.data, out.size);
	gnutls_free(out.data);
	return r;
}

/*
 * The localpart of the one XmppAddr in the space separated list that is
 * in domain; "" when there is none or more than one (XEP-0178 3: then
 * the client must name the identity it wants).
 */
void
external_cert_user(const char *xmppaddrs, const char *domain, char *user,
    size_t usersz)
{
	const char *p = xmppaddrs, *e;
	char one[XG_LOCALPART_MAX + 1];
	size_t found = 0;

	user[0] = '\0';
	while (*p != '\0') {
		e = strchr(p, ' ');
		if (e == NULL)
			e = p + strlen(p);
		if (xg_bare_jid_user(p, (size_t)(e - p), domain, one,
		    sizeof(one)) == 0 && strlen(one) < usersz &&
		    found++ == 0)
			memcpy(user, one, strlen(one) + 1);
		p = *e ? e + 1 : e;
	}
	if (found != 1)
		user[0] = '\0';
}
