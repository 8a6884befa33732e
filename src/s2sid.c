/*
 * A remote server's certificate identity: does the certificate it
 * presented name the domain it claims in its stream's 'from'?
 *
 * RFC 6120 13.7.2 applies RFC 6125 section 6 to XMPP servers, with the
 * source domain as the reference identity.  Three kinds of presented
 * identifier count, in this order when several match:
 * - DNS-ID, a dNSName equal to the domain (RFC 6125 6.4.1);
 * - SRV-ID, an SRVName (RFC 4985) equal to "_xmpp-server." and the
 *   domain (RFC 6125 6.5.1; RFC 6120 13.7.1.2), no wildcards;
 * - XmppAddr, an id-on-xmppAddr equal to the bare domain (RFC 6120
 *   13.7.1.4, XEP-0178 3), no wildcards;
 * - and a wildcard DNS-ID, "*." and at least two labels, whose '*' stands
 *   for exactly one non-empty left-most label (RFC 6125 6.4.3, XEP-0178
 *   3); a partial wildcard ("f*.a.test") matches nothing.
 * There is no CN-ID: RFC 9525, which obsoletes RFC 6125, forbids it.
 *
 * Written by hand, not with gnutls_x509_crt_check_hostname2(): that looks
 * only at dNSNames, and falls back to the subject's CN when it finds none
 * (seen with GnuTLS 3.7.9 while researching issue 8).  The function is
 * pure, compares in place, and is fuzzed (fuzz/fuzz_s2sid.c) against a
 * second, simpler model.
 *
 * The lists are tls.c's: identifiers separated by spaces.  Comparison is
 * ASCII case-insensitive, one trailing dot is dropped, and an identifier
 * with a byte outside printable ASCII, or longer than XG_DOMAIN_MAX,
 * matches nothing: IDNs must already be A-labels (RFC 6125 6.4.2).
 */
#include <string.h>
#include "xmppgate.h"

#define SRV_PREFIX	"_xmpp-server."
#define SRV_PREFIX_LEN	(sizeof(SRV_PREFIX) - 1)

static int
lower(unsigned char ch)
{
	return ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch;
}

/* a[0..an) and b[0..bn) are the same, but for ASCII case. */
static int
same(const char *a, size_t an, const char *b, size_t bn)
{
	size_t i;

	if (an != bn)
		return 0;
	for (i = 0; i < an; i++)
		if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
			return 0;
	return 1;
}

/* Printable ASCII, not a space (which separates the list's entries). */
static int
printable(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

/* s[0..n) is two or more labels, none of them empty. */
static int
labels2(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || s[0] == '.' || s[n - 1] == '.' ||
	    memchr(s, '.', n) == NULL)
		return 0;
	for (i = 1; i < n; i++)
		if (s[i] == '.' && s[i - 1] == '.')
			return 0;
	return 1;
}

/* Does the presented identifier id[0..n) name domain d[0..dn) as kind? */
static int
names(const char *id, size_t n, const char *d, size_t dn,
    enum s2s_match kind)
{
	const char *dot;

	if (n > XG_DOMAIN_MAX || !printable(id, n))
		return 0;
	if (n > 0 && id[n - 1] == '.')
		n--;
	switch (kind) {
	case S2S_MATCH_DNS:
		return same(id, n, d, dn);
	case S2S_MATCH_SRV:
		return n > SRV_PREFIX_LEN &&
		    same(id, SRV_PREFIX_LEN, SRV_PREFIX, SRV_PREFIX_LEN) &&
		    same(id + SRV_PREFIX_LEN, n - SRV_PREFIX_LEN, d, dn);
	case S2S_MATCH_XMPPADDR:
		return memchr(id, '@', n) == NULL &&
		    memchr(id, '/', n) == NULL && same(id, n, d, dn);
	case S2S_MATCH_WILDCARD:
		/* "*." then the domain without its (non-empty) first label. */
		if (n < 2 || id[0] != '*' || id[1] != '.' ||
		    !labels2(id + 2, n - 2))
			return 0;
		if ((dot = memchr(d, '.', dn)) == NULL || dot == d)
			return 0;
		return same(id + 2, n - 2, dot + 1, dn - (size_t)(dot - d) - 1);
	default:
		return 0;
	}
}

/* Does any identifier of the space-separated list name d[0..dn)? */
static int
any(const char *list, const char *d, size_t dn, enum s2s_match kind)
{
	size_t n;

	for (; *list != '\0'; list += n) {
		while (*list == ' ')
			list++;
		n = strcspn(list, " ");
		if (n > 0 && names(list, n, d, dn, kind))
			return 1;
	}
	return 0;
}

enum s2s_match
s2s_id_match(const char *dnsnames, const char *srvnames,
    const char *xmppaddrs, const char *domain)
{
	size_t dn;

	if (dnsnames == NULL || srvnames == NULL || xmppaddrs == NULL ||
	    domain == NULL)
		return S2S_MATCH_NONE;
	/* The domain obeys an identifier's rules too, and has no '*'. */
	dn = strnlen(domain, XG_DOMAIN_MAX + 1);
	if (dn == 0 || dn > XG_DOMAIN_MAX || !printable(domain, dn) ||
	    memchr(domain, '*', dn) != NULL)
		return S2S_MATCH_NONE;
	if (any(dnsnames, domain, dn, S2S_MATCH_DNS))
		return S2S_MATCH_DNS;
	if (any(srvnames, domain, dn, S2S_MATCH_SRV))
		return S2S_MATCH_SRV;
	if (any(xmppaddrs, domain, dn, S2S_MATCH_XMPPADDR))
		return S2S_MATCH_XMPPADDR;
	if (any(dnsnames, domain, dn, S2S_MATCH_WILDCARD))
		return S2S_MATCH_WILDCARD;
	return S2S_MATCH_NONE;
}

const char *
s2s_match_name(enum s2s_match m)
{
	switch (m) {
	case S2S_MATCH_DNS:
		return "dns-id";
	case S2S_MATCH_SRV:
		return "srv-id";
	case S2S_MATCH_XMPPADDR:
		return "xmppaddr";
	case S2S_MATCH_WILDCARD:
		return "wildcard";
	default:
		return "none";
	}
}

/*
 * An SRVName's otherName value (RFC 4985 2: an IA5String) from its DER,
 * for a GnuTLS whose headers lack GNUTLS_SAN_OTHERNAME_SRV (Debian 12's
 * libgnutls28-dev before 3.7.9-2+deb12u7): it hands the value over
 * undecoded.  DER only: one IA5String, its length in the shortest form,
 * nothing after it.  The name, NUL terminated, goes to out; -1 when der
 * is anything else, empty, holds a byte outside printable ASCII or a
 * space, or does not fit in outsz.
 */
int
s2s_srvname_der(const unsigned char *der, size_t len, char *out,
    size_t outsz)
{
	size_t n, hdr, i;

	if (der == NULL || out == NULL || outsz == 0 || len < 2 ||
	    der[0] != 0x16)
		return -1;
	if (der[1] < 0x80) {
		n = der[1];
		hdr = 2;
	} else if (der[1] == 0x81 && len >= 3 && der[2] >= 0x80) {
		n = der[2];
		hdr = 3;
	} else if (der[1] == 0x82 && len >= 4 && der[2] != 0) {
		n = (size_t)der[2] << 8 | der[3];
		hdr = 4;
	} else
		return -1;
	if (n == 0 || len - hdr != n || n >= outsz)
		return -1;
	for (i = 0; i < n; i++)
		if (der[hdr + i] <= 0x20 || der[hdr + i] >= 0x7f)
			return -1;
	memcpy(out, der + hdr, n);
	out[n] = '\0';
	return 0;
}
