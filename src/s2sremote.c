/*
 * The remote server's stream as --s2s-out reads it (pure): we are the
 * initiating server, so this is the other half of preauth.c.  Its header
 * (jabber:server, version 1.x, its id), its features (STARTTLS, SASL
 * EXTERNAL among the mechanisms, dialback), <proceed/>, <success/>,
 * <failure/>, and a stream error's condition.  Everything else at the
 * top level before the hand-off is refused.  Bytes in, one completed
 * top-level element out, through the bounded lexer (xml.c).
 */
#include <stdio.h>
#include <string.h>
#include "xmppgate.h"

#define RS_DEPTH_MAX		16	/* nesting in the remote's elements */

/* The namespaces that matter at the top of the remote's stream. */
enum { TNS_OTHER, TNS_STREAMS, TNS_TLS, TNS_SASL };

static int
known_ns(const char *uri)
{
	return strcmp(uri, NS_STREAMS) == 0 ? TNS_STREAMS :
	    strcmp(uri, NS_TLS) == 0 ? TNS_TLS :
	    strcmp(uri, NS_SASL) == 0 ? TNS_SASL : TNS_OTHER;
}

/*
 * One token of the remote's stream (pure).  0 to go on, RS_* when a
 * depth-1 element is complete, -1 with why for anything a remote server
 * must not send here.
 */
static int
rtoken(struct rstream *r, const struct xml_token *t, char *why, size_t whysz)
{
	const char *uri, *local, *v;
	struct xml_ns ns;
	size_t n;

	if (!r->header) {
		if (t->type == XML_TOK_DECL && r->decl++ == 0)
			return 0;
		if (t->type == XML_TOK_TEXT && t->text_ws)
			return 0;
		if (t->type != XML_TOK_START || xml_ns_push(&r->ns, t) < 0 ||
		    (uri = xml_ns_resolve(&r->ns, t->name, &local)) == NULL ||
		    strcmp(uri, NS_STREAMS) != 0 ||
		    strcmp(local, "stream") != 0 || t->empty) {
			snprintf(why, whysz, "the remote sent no stream "
			    "header");
			return -1;
		}
		if ((uri = xml_ns_resolve(&r->ns, "x", &local)) == NULL ||
		    strcmp(uri, NS_SERVER) != 0) {
			snprintf(why, whysz, "the remote's stream is not "
			    "jabber:server");
			return -1;
		}
		if ((v = xml_attr_get(t, "version", &n)) == NULL ||
		    strncmp(v, "1.", 2) != 0) {
			snprintf(why, whysz, "the remote's stream is not "
			    "version 1.0");
			return -1;
		}
		v = xml_attr_get(t, "id", &n);
		snprintf(r->id, sizeof(r->id), "%s", v != NULL ? v : "");
		r->header = 1;
		r->depth = 1;
		return 0;
	}
	switch (t->type) {
	case XML_TOK_DECL:
		snprintf(why, whysz, "the remote sent a misplaced "
		    "declaration");
		return -1;
	case XML_TOK_TEXT:
		if (r->in_mech && r->mechlen + t->text_len <= RS_MECH_MAX) {
			memcpy(r->mech + r->mechlen, t->text, t->text_len);
			r->mechlen += t->text_len;
			r->mech[r->mechlen] = '\0';
		} else if (r->in_mech) {
			r->mechlen = RS_MECH_MAX + 1;	/* not EXTERNAL */
			r->mech[0] = '\0';
		}
		return 0;
	case XML_TOK_START:
		/* In scope: the header's declarations, and at depth 3 those
		 * of the element around (<mechanisms xmlns=...>). */
		ns = r->depth == 3 ? r->ns2 : r->ns;
		if (xml_ns_push(&ns, t) < 0 ||
		    (uri = xml_ns_resolve(&ns, t->name, &local)) == NULL)
			uri = "", local = t->name;
		if (r->depth == 2)
			r->ns2 = ns;
		if (r->depth == 1) {
			snprintf(r->top, sizeof(r->top), "%s", local);
			r->topns = known_ns(uri);
			if (strcmp(r->top, "features") == 0 &&
			    r->topns == TNS_STREAMS)
				r->starttls = r->external = r->dialback = 0;
			r->cond[0] = '\0';
		} else if (r->depth == 2 && r->topns == TNS_STREAMS &&
		    strcmp(r->top, "features") == 0) {
			if (strcmp(uri, NS_TLS) == 0 &&
			    strcmp(local, "starttls") == 0)
				r->starttls = 1;
			if (strcmp(uri, NS_DIALBACK_FEATURE) == 0 &&
			    strcmp(local, "dialback") == 0)
				r->dialback = 1;
		} else if (r->depth == 3 && r->topns == TNS_STREAMS &&
		    strcmp(r->top, "features") == 0 &&
		    strcmp(uri, NS_SASL) == 0 && !t->empty &&
		    strcmp(local, "mechanism") == 0) {
			r->in_mech = 1;
			r->mechlen = 0;
			r->mech[0] = '\0';
		} else if (r->depth == 2 && r->topns == TNS_STREAMS &&
		    strcmp(r->top, "error") == 0 && r->cond[0] == '\0' &&
		    strcmp(uri, NS_STREAM_ERR) == 0 &&
		    strcmp(local, "text") != 0)
			snprintf(r->cond, sizeof(r->cond), "%s", local);
		if (!t->empty) {
			if (++r->depth > RS_DEPTH_MAX) {
				snprintf(why, whysz, "the remote's XML is too "
				    "deep");
				return -1;
			}
			return 0;
		}
		if (r->depth != 1)
			return 0;
		break;		/* an empty element at depth 1 is complete */
	case XML_TOK_END:
		if (r->in_mech && r->depth == 4) {
			r->in_mech = 0;
			if (strcmp(r->mech, "EXTERNAL") == 0)
				r->external = 1;
		}
		if (--r->depth > 1)
			return 0;
		if (r->depth == 0) {
			snprintf(why, whysz, "the remote closed its stream");
			return -1;
		}
		break;
	}
	/* A depth-1 element is complete. */
	if (r->topns == TNS_STREAMS && strcmp(r->top, "features") == 0)
		return RS_FEATURES;
	if (r->topns == TNS_STREAMS && strcmp(r->top, "error") == 0) {
		snprintf(why, whysz, "the remote sent a stream error: %s",
		    r->cond[0] ? r->cond : "(no condition)");
		return -1;
	}
	if (r->topns == TNS_TLS && strcmp(r->top, "proceed") == 0)
		return RS_PROCEED;
	if (r->topns == TNS_SASL && strcmp(r->top, "success") == 0)
		return RS_SUCCESS;
	if (r->topns == TNS_SASL && strcmp(r->top, "failure") == 0)
		return RS_FAILURE;
	snprintf(why, whysz, "the remote sent <%s> unasked", r->top);
	return -1;
}

int
rstream_feed(struct rstream *r, const uint8_t *buf, size_t len, size_t *used,
    char *why, size_t whysz)
{
	static struct xml_token tok;
	enum xml_result xr;
	size_t n;
	int k;

	*used = 0;
	while (*used < len) {
		xr = xml_lex(buf + *used, len - *used, &tok, &n);
		if (xr == XML_MORE)
			return 0;
		if (xr != XML_OK) {
			snprintf(why, whysz, "the remote sent bad XML: %s",
			    xml_result_str(xr));
			return -1;
		}
		*used += n;
		if ((k = rtoken(r, &tok, why, whysz)) != 0)
			return k;
	}
	return 0;
}
