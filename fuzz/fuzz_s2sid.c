/*
 * libFuzzer target: a remote server's certificate identity (src/s2sid.c),
 * s2s_id_match.
 *
 * The input is four parts, each ended by a NUL or a newline: the
 * dNSNames, the SRVNames, the XmppAddrs (space-separated lists, as tls.c
 * makes them) and the domain; missing parts are empty, anything after the
 * fourth is ignored.  The names are the remote's, chosen by whoever made
 * its certificate.  Checks:
 * - the answer is the model's: a second matcher written here the plain
 *   way (lower-case copies, strtok_r, strcmp, labels split into arrays),
 *   with the precedence DNS-ID, SRV-ID, XmppAddr, wildcard;
 * - it never names a kind whose list has no entry;
 * - the same again with "_xmpp-server." put before each XmppAddr for the
 *   SRV list, so that SRV-IDs match (and compete with the other kinds)
 *   without the fuzzer having to find that prefix;
 * - any NULL argument gives S2S_MATCH_NONE;
 * - every string is an exact-size copy, so ASan sees a read past its NUL.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "xmppgate.h"
#include "fuzz_common.h"

#define M_SRV		"_xmpp-server."
#define M_LABELS	(XG_DOMAIN_MAX + 1)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *
dup_lower(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	size_t i;

	FUZZ_CHECK(d != NULL);
	for (i = 0; i < n; i++)
		d[i] = s[i] >= 'A' && s[i] <= 'Z' ? s[i] + ('a' - 'A') : s[i];
	d[n] = '\0';
	return d;
}

/* Every byte is printable ASCII other than a space. */
static int
m_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s < '!' || *s > '~')
			return 0;
	return 1;
}

/* Cut s at every '.': the labels, empty ones too. */
static size_t
m_split(char *s, char **lab)
{
	size_t n = 0;

	lab[n++] = s;
	for (; *s != '\0'; s++)
		if (*s == '.') {
			*s = '\0';
			lab[n++] = s + 1;
		}
	return n;
}

/* Is t "*" then two or more non-empty labels, those of dom but its first
 * (which must not be empty)? */
static int
m_wild(const char *t, const char *dom)
{
	char tc[XG_DOMAIN_MAX + 1], dc[XG_DOMAIN_MAX + 1];
	char *lt[M_LABELS], *ld[M_LABELS];
	size_t nt, nd, i;

	strcpy(tc, t);
	strcpy(dc, dom);
	nt = m_split(tc, lt);
	nd = m_split(dc, ld);
	if (nt < 3 || strcmp(lt[0], "*") != 0 || nt != nd || ld[0][0] == '\0')
		return 0;
	for (i = 1; i < nt; i++)
		if (lt[i][0] == '\0' || strcmp(lt[i], ld[i]) != 0)
			return 0;
	return 1;
}

/* Does one entry of list (lower case) name dom (lower case) as kind? */
static int
m_any(const char *list, const char *dom, enum s2s_match kind)
{
	char srv[sizeof(M_SRV) + XG_DOMAIN_MAX];
	char *copy, *t, *save;
	size_t n;
	int found = 0;

	snprintf(srv, sizeof(srv), "%s%s", M_SRV, dom);
	copy = strdup(list);
	FUZZ_CHECK(copy != NULL);
	for (t = strtok_r(copy, " ", &save); t != NULL && !found;
	    t = strtok_r(NULL, " ", &save)) {
		n = strlen(t);
		if (n > XG_DOMAIN_MAX || !m_ascii(t))
			continue;
		if (n > 0 && t[n - 1] == '.')
			t[n - 1] = '\0';
		switch (kind) {
		case S2S_MATCH_DNS:
			found = strcmp(t, dom) == 0;
			break;
		case S2S_MATCH_SRV:
			found = strcmp(t, srv) == 0;
			break;
		case S2S_MATCH_XMPPADDR:
			found = strchr(t, '@') == NULL &&
			    strchr(t, '/') == NULL && strcmp(t, dom) == 0;
			break;
		case S2S_MATCH_WILDCARD:
			found = m_wild(t, dom);
			break;
		default:
			break;
		}
	}
	free(copy);
	return found;
}

static enum s2s_match
model(const char *dns, const char *srv, const char *xmpp, const char *dom)
{
	static const enum s2s_match order[] = { S2S_MATCH_DNS, S2S_MATCH_SRV,
	    S2S_MATCH_XMPPADDR, S2S_MATCH_WILDCARD };
	const char *lists[] = { dns, srv, xmpp, dns };
	enum s2s_match r = S2S_MATCH_NONE;
	char *l, *d;
	size_t i;

	if (strlen(dom) == 0 || strlen(dom) > XG_DOMAIN_MAX || !m_ascii(dom) ||
	    strchr(dom, '*') != NULL)
		return S2S_MATCH_NONE;
	d = dup_lower(dom, strlen(dom));
	for (i = 0; i < 4 && r == S2S_MATCH_NONE; i++) {
		l = dup_lower(lists[i], strlen(lists[i]));
		if (m_any(l, d, order[i]))
			r = order[i];
		free(l);
	}
	free(d);
	return r;
}

/* The list has an entry: a byte that is not a space. */
static int
has_entry(const char *list)
{
	return list[strspn(list, " ")] != '\0';
}

/* Each entry of list with "_xmpp-server." before it. */
static char *
as_srv(const char *list)
{
	const char *p;
	char *out, *o;
	size_t k = 0;

	for (p = list; *p != '\0'; p++)
		k += *p != ' ' && (p == list || p[-1] == ' ');
	out = malloc(strlen(list) + k * (sizeof(M_SRV) - 1) + 1);
	FUZZ_CHECK(out != NULL);
	for (o = out, p = list; *p != '\0'; p++) {
		if (*p != ' ' && (p == list || p[-1] == ' ')) {
			memcpy(o, M_SRV, sizeof(M_SRV) - 1);
			o += sizeof(M_SRV) - 1;
		}
		*o++ = *p;
	}
	*o = '\0';
	return out;
}

static void
check(const char *dns, const char *srv, const char *xmpp, const char *dom)
{
	enum s2s_match r, want;

	r = s2s_id_match(dns, srv, xmpp, dom);
	want = model(dns, srv, xmpp, dom);
	if (fz_show())
		fprintf(stderr, "s2sid: dns \"%s\" srv \"%s\" xmpp \"%s\" "
		    "domain \"%s\": %s (model %s)\n", dns, srv, xmpp, dom,
		    s2s_match_name(r), s2s_match_name(want));
	FUZZ_CHECK(r == want);
	FUZZ_CHECK(r != S2S_MATCH_DNS || has_entry(dns));
	FUZZ_CHECK(r != S2S_MATCH_WILDCARD || has_entry(dns));
	FUZZ_CHECK(r != S2S_MATCH_SRV || has_entry(srv));
	FUZZ_CHECK(r != S2S_MATCH_XMPPADDR || has_entry(xmpp));
	FUZZ_CHECK(strcmp(s2s_match_name(r), "none") != 0 ||
	    r == S2S_MATCH_NONE);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *part[4], *srv;
	size_t i, n, pos = 0;

	for (i = 0; i < 4; i++) {
		for (n = 0; pos + n < size && data[pos + n] != '\0' &&
		    data[pos + n] != '\n'; n++)
			;
		part[i] = malloc(n + 1);
		FUZZ_CHECK(part[i] != NULL);
		memcpy(part[i], data + pos, n);
		part[i][n] = '\0';
		pos += n + (pos + n < size);
	}

	check(part[0], part[1], part[2], part[3]);
	/* Again with the XmppAddrs as SRV-IDs too, so that SRV-IDs match
	 * (and meet the other kinds) without the fuzzer having to find
	 * the prefix. */
	srv = as_srv(part[2]);
	check(part[0], srv, part[2], part[3]);
	free(srv);

	FUZZ_CHECK(s2s_id_match(NULL, part[1], part[2], part[3]) ==
	    S2S_MATCH_NONE);
	FUZZ_CHECK(s2s_id_match(part[0], NULL, part[2], part[3]) ==
	    S2S_MATCH_NONE);
	FUZZ_CHECK(s2s_id_match(part[0], part[1], NULL, part[3]) ==
	    S2S_MATCH_NONE);
	FUZZ_CHECK(s2s_id_match(part[0], part[1], part[2], NULL) ==
	    S2S_MATCH_NONE);
	for (i = 0; i < 4; i++)
		free(part[i]);
	return 0;
}
