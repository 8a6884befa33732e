/*
 * What SASL2 (sasl2.c) reads and writes beyond the client's parser, as
 * pure functions over bytes: the backend's features asked and filtered,
 * and the XEP-0198 id a client gets, which carries the bound resource.
 */
#include <stdio.h>
#include <string.h>
#include <gnutls/gnutls.h>
#include "xmppgate.h"

int
xg_b64url(const void *in, size_t n, char *out, size_t outsz)
{
	size_t i, len;

	if ((len = xg_b64_encode(in, n, out, outsz)) == 0)
		return -1;
	for (i = 0; i < len; i++)
		out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
	while (len > 0 && out[len - 1] == '=')
		out[--len] = '\0';
	return 0;
}

/* A feature (a child of <stream:features>, at depth 1) names its
 * namespace with its own default declaration, as servers write them;
 * NULL for any other token. */
static const char *
feature_ns(const struct xml_token *t, int depth)
{
	if (t->type == XML_TOK_START && depth == 1)
		return xml_attr_get(t, "xmlns", NULL);
	return NULL;
}

int
sasl2_feature_has(const char *feat, size_t len, const char *ns)
{
	static struct xml_token t;
	const uint8_t *p = (const uint8_t *)feat;
	size_t used;
	int depth = 0;
	const char *x;

	while (len > 0 && xml_lex(p, len, &t, &used) == XML_OK) {
		x = feature_ns(&t, depth);
		if (x != NULL && strcmp(x, ns) == 0)
			return 1;
		if (t.type == XML_TOK_START && !t.empty)
			depth++;
		else if (t.type == XML_TOK_END && depth-- == 0)
			break;
		p += used;
		len -= used;
	}
	return 0;
}

size_t
sasl2_features_left(const char *feat, size_t len, int drop_bind, int drop_sm,
    char *out, size_t outsz)
{
	static struct xml_token t;
	const uint8_t *p = (const uint8_t *)feat;
	size_t used, n = 0;
	int depth = 0, skip = 0;
	const char *ns;

	while (len > 0 && xml_lex(p, len, &t, &used) == XML_OK) {
		int copy = skip == 0;

		if (t.type == XML_TOK_START) {
			ns = feature_ns(&t, depth);
			if (skip == 0 && ns != NULL && ((drop_bind &&
			    (strcmp(ns, NS_BIND) == 0 ||
			    strcmp(ns, NS_SESSION) == 0)) || (drop_sm &&
			    strncmp(ns, "urn:xmpp:sm:", 12) == 0))) {
				copy = 0;
				if (!t.empty)
					skip = depth + 1;
			}
			if (!t.empty)
				depth++;
		} else if (t.type == XML_TOK_END) {
			if (depth == 0)
				break;	/* not the features' end: stop */
			if (skip == depth) {
				skip = 0;
				copy = 0;
			}
			depth--;
		}
		if (copy && n + used < outsz) {
			memcpy(out + n, p, used);
			n += used;
		}
		p += used;
		len -= used;
	}
	return n;
}

int
sasl2_text_ok(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n && (unsigned char)p[i] >= 0x20 && p[i] != 0x7f; i++)
		;
	return n > 0 && i == n;
}

void
sasl2_sm_id_wrap(const char *id, const char *resource, char *out,
    size_t outsz)
{
	char r[4 * XG_SASL_FIELD_MAX / 3 + 8];
	size_t n = strlen(id), m = 0;

	out[0] = '\0';
	/* Without room for the dot, no id: an id of ours always has one. */
	if (n + 1 >= outsz || n + 1 > XG_SM_ID_MAX)
		return;
	memcpy(out, id, n + 1);
	r[0] = '\0';
	if (sasl2_text_ok(resource, strlen(resource)) && xg_b64url(resource,
	    strlen(resource), r, sizeof(r)) == 0)
		m = strlen(r);
	if (n + 1 + m >= outsz || n + 1 + m > XG_SM_ID_MAX)
		r[0] = '\0', m = 0;
	out[n] = '.';
	memcpy(out + n + 1, r, m + 1);
}

void
sasl2_sm_id_unwrap(const char *previd, char *id, size_t idsz, char *resource,
    size_t rsz)
{
	const char *dot = strrchr(previd, '.');
	char b[XG_SM_ID_MAX + 4];
	gnutls_datum_t d = { NULL, 0 };
	size_t i, n;

	snprintf(id, idsz, "%s", previd);
	resource[0] = '\0';
	if (dot == NULL)
		return;
	if ((n = strlen(dot + 1)) == 0) {	/* no resource in it */
		snprintf(id, idsz, "%.*s", (int)(dot - previd), previd);
		return;
	}
	if (n + 3 >= sizeof(b))
		return;
	for (i = 0; i < n; i++) {
		char c = dot[1 + i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return;
		b[i] = c == '-' ? '+' : c == '_' ? '/' : c;
	}
	while (i % 4 != 0)
		b[i++] = '=';
	if (xg_b64_decode(b, i, &d) == -1)
		return;
	if (d.size < rsz && sasl2_text_ok((const char *)d.data, d.size)) {
		memcpy(resource, d.data, d.size);
		resource[d.size] = '\0';
		snprintf(id, idsz, "%.*s", (int)(dot - previd), previd);
	}
	gnutls_free(d.data);
}
