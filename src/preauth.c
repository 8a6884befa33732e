/*
 * What a client may send before authentication (RFC 6120 4-6), as a pure
 * function over bytes: feed it what was read, it consumes whole tokens
 * and returns one event, "need more", or the stream error to send.
 * Whether an event is allowed in the current phase is the session's
 * business (stream.c, sasl.c, federation.c); this file only knows the
 * grammar.
 */
#include <string.h>
#include "xmppgate.h"

enum { S_START, S_RESTART, S_PROLOG, S_STREAM, S_CHILD, S_SASL2, S_DONE };
enum { C_STARTTLS, C_AUTH, C_RESPONSE, C_ABORT, C_DIALBACK, C_AUTHENTICATE,
    C_RESPONSE2, C_ABORT2 };

/*
 * What an element inside a XEP-0388 <authenticate> is (xp.s2what).  The
 * ones from W_IR on are known children: one of each at most (xp.s2seen).
 * W_SKIP is anything else, with its subtree: <supported>, an extension
 * we do not take, a child of an element that holds only attributes.
 */
enum {
	W_AUTHENTICATE, W_SKIP,
	W_IR, W_UA, W_SOFTWARE, W_DEVICE, W_BIND, W_TAG,
	W_ENABLE, W_RESUME, W_REQUEST_TOKEN, W_FAST,
};
static const char *const duplicate[] = {
	[W_IR] = "duplicate <initial-response>",
	[W_UA] = "duplicate <user-agent>",
	[W_SOFTWARE] = "duplicate <software>",
	[W_DEVICE] = "duplicate <device>",
	[W_BIND] = "duplicate <bind>",
	[W_TAG] = "duplicate <tag>",
	[W_ENABLE] = "duplicate <enable>",
	[W_RESUME] = "duplicate <resume>",
	[W_REQUEST_TOKEN] = "duplicate <request-token>",
	[W_FAST] = "duplicate <fast>",
};

static enum xp_result finish_child(struct xp *, struct xp_event *, int);

void
xp_init(struct xp *p)
{
	memset(p, 0, sizeof(*p));
	p->state = S_START;
}

/*
 * A restarted stream (RFC 6120 4.3.3, after <proceed/> or <success/>).
 * It may open with an XML declaration like the first one did (4.3.1,
 * 11.5), and whitespace before that declaration is the old stream's: a
 * client that ends each element with a newline has written it after
 * its <starttls/> or <auth>.  p->tail counts those bytes, for a caller
 * that passes the new stream on as it came.
 */
void
xp_restart(struct xp *p)
{
	int s2s = p->s2s;

	xp_init(p);
	p->s2s = s2s;
	p->state = S_RESTART;
}

static enum xp_result
fail(struct xp *p, enum xg_stream_error e, const char *text)
{
	p->err = e;
	p->errtext = text;
	p->state = S_DONE;
	return XP_ERROR;
}

static enum xp_result
lex_fail(struct xp *p, enum xml_result r)
{
	switch (r) {
	case XML_ERR_UTF8:
		/* RFC 6120 4.9.3.22: improperly encoded UTF-8. */
		return fail(p, XG_SE_UNSUPPORTED_ENCODING, "invalid UTF-8");
	case XML_ERR_ENCODING:
		return fail(p, XG_SE_UNSUPPORTED_ENCODING,
		    "only UTF-8 is supported");
	case XML_ERR_RESTRICTED:
		return fail(p, XG_SE_RESTRICTED_XML, xml_result_str(r));
	case XML_ERR_LIMIT:
		return fail(p, XG_SE_POLICY_VIOLATION, "size limit exceeded");
	default:
		return fail(p, XG_SE_NOT_WELL_FORMED, xml_result_str(r));
	}
}

static void
copy_attr(const struct xml_token *t, const char *name, char *out,
    size_t outsz, int *has)
{
	size_t len;
	const char *v = xml_attr_get(t, name, &len);

	if (v == NULL || len >= outsz)
		return;		/* absent, or too long: the session decides */
	memcpy(out, v, len + 1);
	if (has)
		*has = 1;
}

/*
 * Bring the tag's declarations into scope ns and resolve its name into *uri
 * (NULL for an unprefixed name with no default namespace) and *local;
 * -1 with p failed.
 */
static int
open_scope(struct xp *p, struct xml_ns *ns, const char **uri,
    const char **local)
{
	const struct xml_token *t = &p->tok;
	int r;

	if ((r = xml_ns_push(ns, t)) == -2)
		return fail(p, XG_SE_POLICY_VIOLATION, "size limit exceeded"), -1;
	if (r == 0)
		r = xml_ns_check_attrs(ns, t);
	if (r == -2)
		return fail(p, XG_SE_NOT_WELL_FORMED, "duplicate attribute"), -1;
	if (r != 0)
		return fail(p, XG_SE_NOT_WELL_FORMED,
		    "bad namespace declaration"), -1;
	*uri = xml_ns_resolve(ns, t->name, local);
	if (*uri == NULL && strchr(t->name, ':') != NULL)
		return fail(p, XG_SE_NOT_WELL_FORMED, "undeclared prefix"), -1;
	return 0;
}

static enum xp_result
header(struct xp *p, struct xp_event *ev)
{
	const struct xml_token *t = &p->tok;
	const char *uri, *local;
	size_t len;

	if (t->type != XML_TOK_START)
		return fail(p, XG_SE_NOT_WELL_FORMED,
		    "expected a stream header");
	if (open_scope(p, &p->stream_ns, &uri, &local) == -1)
		return XP_ERROR;
	if (uri == NULL || strcmp(uri, NS_STREAMS) != 0)
		return fail(p, XG_SE_INVALID_NAMESPACE,
		    "stream namespace must be " NS_STREAMS);
	if (strcmp(local, "stream") != 0)
		return fail(p, XG_SE_BAD_FORMAT, "expected a stream header");
	uri = xml_ns_resolve(&p->stream_ns, "", &local);
	if (!p->s2s && (uri == NULL || strcmp(uri, NS_CLIENT) != 0))
		return fail(p, XG_SE_INVALID_NAMESPACE,
		    "content namespace must be " NS_CLIENT);
	if (p->s2s && (uri == NULL || strcmp(uri, NS_SERVER) != 0))
		return fail(p, XG_SE_INVALID_NAMESPACE,
		    "content namespace must be " NS_SERVER);
	if (t->empty)
		return fail(p, XG_SE_BAD_FORMAT, "empty stream element");
	memset(ev, 0, sizeof(*ev));
	ev->type = XP_EV_HEADER;
	if (xml_attr_get(t, "to", &len) != NULL && len > XG_DOMAIN_MAX)
		return fail(p, XG_SE_HOST_UNKNOWN, "'to' too long");
	copy_attr(t, "to", ev->to, sizeof(ev->to), &ev->has_to);
	if (p->s2s) {
		/* A server names itself (RFC 6120 4.7.1); XEP-0220: the
		 * dialback prefix, declared when it speaks dialback. */
		if (xml_attr_get(t, "from", &len) != NULL &&
		    len > XG_DOMAIN_MAX)
			return fail(p, XG_SE_INVALID_FROM, "'from' too long");
		copy_attr(t, "from", ev->from, sizeof(ev->from),
		    &ev->has_from);
		uri = xml_ns_resolve(&p->stream_ns, "db:x", &local);
		ev->has_db = uri != NULL && strcmp(uri, NS_DIALBACK) == 0;
	}
	if (xml_attr_get(t, "version", &len) != NULL &&
	    len >= sizeof(ev->version))
		return fail(p, XG_SE_UNSUPPORTED_VERSION, "bad version");
	copy_attr(t, "version", ev->version, sizeof(ev->version),
	    &ev->has_version);
	if (xml_attr_get(t, "xml:lang", &len) != NULL &&
	    len >= sizeof(ev->lang))
		return fail(p, XG_SE_POLICY_VIOLATION, "xml:lang too long");
	copy_attr(t, "xml:lang", ev->lang, sizeof(ev->lang), NULL);
	p->state = S_STREAM;
	return XP_EVENT;
}

/* An element at depth 1: one of ours, or a stanza we must refuse. */
static enum xp_result
element(struct xp *p, struct xp_event *ev)
{
	const struct xml_token *t = &p->tok;
	struct xml_ns ns = p->stream_ns;
	const char *uri, *local;

	if (open_scope(p, &ns, &uri, &local) == -1)
		return XP_ERROR;
	if (uri == NULL)	/* xmlns='' took the default namespace away */
		return fail(p, XG_SE_NOT_WELL_FORMED, "undeclared prefix");
	memset(ev, 0, sizeof(*ev));
	strcpy(ev->name, local);
	p->mech[0] = '\0';
	p->from[0] = p->to[0] = p->id[0] = '\0';
	p->has_from = p->has_to = 0;
	if (strcmp(uri, NS_TLS) == 0 && strcmp(local, "starttls") == 0)
		p->cur = C_STARTTLS;
	else if (strcmp(uri, NS_SASL) == 0 && strcmp(local, "auth") == 0) {
		p->cur = C_AUTH;
		copy_attr(t, "mechanism", p->mech, sizeof(p->mech), NULL);
	} else if (strcmp(uri, NS_SASL) == 0 && strcmp(local, "response") == 0)
		p->cur = C_RESPONSE;
	else if (strcmp(uri, NS_SASL) == 0 && strcmp(local, "abort") == 0)
		p->cur = C_ABORT;
	else if (!p->s2s && strcmp(uri, NS_SASL2) == 0 &&
	    strcmp(local, "authenticate") == 0) {
		/* XEP-0388; its children are walked in S_SASL2. */
		p->cur = C_AUTHENTICATE;
		copy_attr(t, "mechanism", p->mech, sizeof(p->mech), NULL);
		memset(&p->s2, 0, sizeof(p->s2));
		p->s2seen = 0;
		p->s2elems = 0;
		p->s2depth = 1;
		p->s2what[1] = W_AUTHENTICATE;
		strcpy(p->s2names[1], t->name);
		p->s2ns = ns;
		p->s2nsn[1] = ns.n;
	} else if (!p->s2s && strcmp(uri, NS_SASL2) == 0 &&
	    strcmp(local, "response") == 0)
		p->cur = C_RESPONSE2;	/* xmpp.js's mechanism= ignored */
	else if (!p->s2s && strcmp(uri, NS_SASL2) == 0 &&
	    strcmp(local, "abort") == 0)
		p->cur = C_ABORT2;
	else if (p->s2s && strcmp(uri, NS_DIALBACK) == 0 &&
	    (strcmp(local, "result") == 0 || strcmp(local, "verify") == 0)) {
		/* XEP-0220: the attributes and the key (kept in data). */
		size_t len;

		p->cur = C_DIALBACK;
		if ((xml_attr_get(t, "from", &len) != NULL &&
		    len > XG_DOMAIN_MAX) || (xml_attr_get(t, "to", &len) !=
		    NULL && len > XG_DOMAIN_MAX) || (xml_attr_get(t, "id",
		    &len) != NULL && len > XG_NAME_MAX))
			return fail(p, XG_SE_POLICY_VIOLATION,
			    "dialback attribute too long");
		copy_attr(t, "from", p->from, sizeof(p->from), &p->has_from);
		copy_attr(t, "to", p->to, sizeof(p->to), &p->has_to);
		copy_attr(t, "id", p->id, sizeof(p->id), NULL);
	} else if (strcmp(uri, p->s2s ? NS_SERVER : NS_CLIENT) == 0 &&
	    (strcmp(local, "iq") == 0 ||
	    strcmp(local, "message") == 0 || strcmp(local, "presence") == 0)) {
		/* RFC 6120 4.9.3.12: stanzas before authentication. */
		ev->type = XP_EV_STANZA;
		p->state = S_DONE;
		return XP_EVENT;
	} else
		return fail(p, XG_SE_UNSUPPORTED_STANZA_TYPE,
		    "element not allowed before authentication");
	strcpy(p->curname, t->name);
	p->datalen = 0;
	p->data[0] = '\0';
	if (!t->empty) {
		p->state = p->cur == C_AUTHENTICATE ? S_SASL2 : S_CHILD;
		return XP_MORE;
	}
	return finish_child(p, ev, 1);
}

/* An attribute that XEP-0198 and XEP-0484 type xs:boolean; absent is
 * false.  0, or -1 when it is something else. */
static int
bool_attr(const struct xml_token *t, const char *name, int *out)
{
	const char *v = xml_attr_get(t, name, NULL);

	*out = v != NULL && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
	if (v == NULL || *out || strcmp(v, "false") == 0 ||
	    strcmp(v, "0") == 0)
		return 0;
	return -1;
}

/* An xs:unsignedInt attribute (XEP-0198 h and max, XEP-0484 count):
 * 0 (*has set when present), or -1 when it is not 0..4294967295. */
static int
uint_attr(const struct xml_token *t, const char *name, unsigned long *out,
    int *has)
{
	size_t len;
	const char *v = xml_attr_get(t, name, &len);

	if (v == NULL)
		return 0;
	if (xg_decimal(v, 10, out) == -1 ||
	    (len == 10 && strcmp(v, "4294967295") > 0))
		return -1;
	*has = 1;
	return 0;
}

/* A child of an element inside <authenticate>: XEP-0388's own, XEP-0386
 * <bind>, XEP-0198 <resume> and <enable>, XEP-0484 <request-token> and
 * <fast>. */
static int
kind(int parent, const char *uri, const char *local)
{
#define IS(ns, name) (strcmp(uri, (ns)) == 0 && strcmp(local, (name)) == 0)
	if (uri == NULL)
		return W_SKIP;
	if (parent == W_AUTHENTICATE) {
		if (IS(NS_SASL2, "initial-response"))
			return W_IR;
		if (IS(NS_SASL2, "user-agent"))
			return W_UA;
		if (IS(NS_BIND2, "bind"))
			return W_BIND;
		if (IS(NS_SM, "resume"))
			return W_RESUME;
		if (IS(NS_FAST, "request-token"))
			return W_REQUEST_TOKEN;
		if (IS(NS_FAST, "fast"))
			return W_FAST;
	} else if (parent == W_UA) {
		if (IS(NS_SASL2, "software"))
			return W_SOFTWARE;
		if (IS(NS_SASL2, "device"))
			return W_DEVICE;
	} else if (parent == W_BIND) {
		if (IS(NS_BIND2, "tag"))
			return W_TAG;
		if (IS(NS_SM, "enable"))
			return W_ENABLE;
	}
	return W_SKIP;
#undef IS
}

/* The attributes of a known child into p->s2. */
static enum xp_result
child_attrs(struct xp *p, int w)
{
	const struct xml_token *t = &p->tok;
	struct xp_sasl2 *s2 = &p->s2;
	const char *v;
	size_t len;
	int has = 0;

	switch (w) {
	case W_IR:
		s2->has_ir = 1;
		break;
	case W_UA:
		if ((v = xml_attr_get(t, "id", &len)) == NULL)
			break;
		if (len > XG_SASL2_UA_ID_MAX)
			return fail(p, XG_SE_POLICY_VIOLATION,
			    "user-agent id too long");
		memcpy(s2->ua_id, v, len + 1);
		s2->has_ua_id = 1;
		break;
	case W_BIND:
		s2->bind = 1;
		break;
	case W_TAG:
		s2->has_tag = 1;
		break;
	case W_ENABLE:
		s2->sm_enable = 1;
		if (bool_attr(t, "resume", &s2->sm_enable_resume) == -1)
			return fail(p, XG_SE_BAD_FORMAT,
			    "bad 'resume' on <enable>");
		if (uint_attr(t, "max", &s2->sm_enable_max, &has) == -1)
			return fail(p, XG_SE_BAD_FORMAT,
			    "bad 'max' on <enable>");
		break;
	case W_RESUME:
		s2->sm_resume = 1;
		if ((v = xml_attr_get(t, "previd", &len)) == NULL || len == 0)
			return fail(p, XG_SE_BAD_FORMAT,
			    "<resume> without 'previd'");
		if (len > XG_SM_ID_MAX)
			return fail(p, XG_SE_POLICY_VIOLATION,
			    "resume previd too long");
		memcpy(s2->sm_previd, v, len + 1);
		if (uint_attr(t, "h", &s2->sm_h, &has) == -1)
			return fail(p, XG_SE_BAD_FORMAT, "bad 'h' on <resume>");
		if (!has)
			return fail(p, XG_SE_BAD_FORMAT, "<resume> without 'h'");
		break;
	case W_REQUEST_TOKEN:
		s2->request_token = 1;
		if ((v = xml_attr_get(t, "mechanism", &len)) == NULL ||
		    len == 0)
			return fail(p, XG_SE_BAD_FORMAT,
			    "<request-token> without 'mechanism'");
		if (len > XG_NAME_MAX)
			return fail(p, XG_SE_POLICY_VIOLATION,
			    "request-token mechanism too long");
		memcpy(s2->token_mech, v, len + 1);
		break;
	case W_FAST:
		s2->fast = 1;
		if (bool_attr(t, "invalidate", &s2->fast_invalidate) == -1)
			return fail(p, XG_SE_BAD_FORMAT,
			    "bad 'invalidate' on <fast>");
		if (uint_attr(t, "count", &s2->fast_count,
		    &s2->has_fast_count) == -1)
			return fail(p, XG_SE_BAD_FORMAT,
			    "bad 'count' on <fast>");
		break;
	}
	return XP_MORE;
}

/* A start tag inside <authenticate>: bounded in depth and count, its
 * namespace scope kept per depth, known children collected. */
static enum xp_result
s2_open(struct xp *p)
{
	const struct xml_token *t = &p->tok;
	int parent = p->s2what[p->s2depth], w;
	const char *uri, *local;

	if (parent == W_IR || parent == W_TAG || parent == W_SOFTWARE ||
	    parent == W_DEVICE)
		return fail(p, XG_SE_BAD_FORMAT, "unexpected child element");
	if (p->s2depth >= XG_SASL2_DEPTH_MAX)
		return fail(p, XG_SE_POLICY_VIOLATION,
		    "SASL2 request too deep");
	if (++p->s2elems > XG_SASL2_ELEMS_MAX)
		return fail(p, XG_SE_POLICY_VIOLATION,
		    "SASL2 request too large");
	if (open_scope(p, &p->s2ns, &uri, &local) == -1)
		return XP_ERROR;
	w = kind(parent, uri, local);
	if (w == W_SKIP && parent == W_BIND)
		p->s2.bind_other++;	/* XEP-0386: carbons, csi */
	if (w >= W_IR) {
		if (p->s2seen & (1u << w))
			return fail(p, XG_SE_POLICY_VIOLATION, duplicate[w]);
		p->s2seen |= 1u << w;
		if (child_attrs(p, w) == XP_ERROR)
			return XP_ERROR;
	}
	if (!t->empty) {
		p->s2depth++;
		p->s2what[p->s2depth] = w;
		strcpy(p->s2names[p->s2depth], t->name);
		p->s2nsn[p->s2depth] = p->s2ns.n;
	} else
		p->s2ns.n = p->s2nsn[p->s2depth];
	return XP_MORE;
}

/* Append text to a field of at most max bytes; -1 when it would not fit. */
static int
append(char *field, size_t max, const struct xml_token *t)
{
	size_t n = strlen(field);

	if (t->text_len > max - n)
		return -1;
	memcpy(field + n, t->text, t->text_len);
	field[n + t->text_len] = '\0';
	return 0;
}

static enum xp_result
s2_text(struct xp *p)
{
	const struct xml_token *t = &p->tok;

	switch (p->s2what[p->s2depth]) {
	case W_IR:
		if (t->text_len > XG_SASL_B64_MAX - p->datalen)
			return fail(p, XG_SE_POLICY_VIOLATION,
			    "SASL data too long");
		memcpy(p->data + p->datalen, t->text, t->text_len);
		p->datalen += t->text_len;
		p->data[p->datalen] = '\0';
		break;
	case W_TAG:
		if (append(p->s2.tag, XG_BIND2_TAG_MAX, t) == -1)
			return fail(p, XG_SE_POLICY_VIOLATION,
			    "bind tag too long");
		break;
	case W_SOFTWARE:
		if (append(p->s2.software, XG_SASL2_UA_TEXT_MAX, t) == -1)
			return fail(p, XG_SE_POLICY_VIOLATION,
			    "user-agent software too long");
		break;
	case W_DEVICE:
		if (append(p->s2.device, XG_SASL2_UA_TEXT_MAX, t) == -1)
			return fail(p, XG_SE_POLICY_VIOLATION,
			    "user-agent device too long");
		break;
	case W_AUTHENTICATE:
	case W_UA:
	case W_BIND:
		if (!t->text_ws)
			return fail(p, XG_SE_BAD_FORMAT, "unexpected text");
		break;
	}
	return XP_MORE;		/* elsewhere text is ignored */
}

/* One token inside <authenticate>; its end tag is the event. */
static enum xp_result
s2_token(struct xp *p, struct xp_event *ev)
{
	switch (p->tok.type) {
	case XML_TOK_TEXT:
		return s2_text(p);
	case XML_TOK_START:
		return s2_open(p);
	case XML_TOK_END:
		if (strcmp(p->tok.name, p->s2names[p->s2depth]) != 0)
			return fail(p, XG_SE_NOT_WELL_FORMED,
			    "mismatched end tag");
		if (--p->s2depth > 0) {
			p->s2ns.n = p->s2nsn[p->s2depth];
			return XP_MORE;
		}
		memset(ev, 0, sizeof(*ev));
		return finish_child(p, ev, p->datalen == 0);
	default:
		return fail(p, XG_SE_NOT_WELL_FORMED,
		    "misplaced XML declaration");
	}
}

static enum xp_result
finish_child(struct xp *p, struct xp_event *ev, int empty)
{
	switch (p->cur) {
	case C_STARTTLS:
		ev->type = XP_EV_STARTTLS;
		break;
	case C_AUTH:
		ev->type = XP_EV_AUTH;
		break;
	case C_RESPONSE:
	case C_RESPONSE2:
		ev->type = XP_EV_RESPONSE;
		ev->sasl2 = p->cur == C_RESPONSE2;
		break;
	case C_AUTHENTICATE:
		ev->type = XP_EV_AUTHENTICATE;
		strcpy(ev->name, "authenticate");
		ev->s2 = &p->s2;
		break;
	case C_DIALBACK:
		ev->type = XP_EV_DIALBACK;
		strcpy(ev->name, p->curname + (strchr(p->curname, ':') ?
		    strchr(p->curname, ':') - p->curname + 1 : 0));
		strcpy(ev->from, p->from);
		ev->has_from = p->has_from;
		strcpy(ev->to, p->to);
		ev->has_to = p->has_to;
		strcpy(ev->id, p->id);
		break;
	default:
		ev->type = XP_EV_ABORT;
		ev->sasl2 = p->cur == C_ABORT2;
		break;
	}
	strcpy(ev->mechanism, p->mech);
	ev->data = p->data;
	ev->data_len = p->datalen;
	ev->data_empty = empty;
	p->state = S_STREAM;
	return XP_EVENT;
}

enum xp_result
xp_feed(struct xp *p, const uint8_t *buf, size_t len, size_t *used,
    struct xp_event *ev)
{
	enum xml_result r;
	enum xp_result xr;
	size_t off = 0, u;
	const char *uri, *local;

	*used = 0;
	if (p->state == S_DONE && len > 0)
		return fail(p, p->err ? p->err : XG_SE_NOT_WELL_FORMED,
		    p->errtext ? p->errtext : "data after the stream ended");
	while (off < len) {
		r = xml_lex(buf + off, len - off, &p->tok, &u);
		if (r == XML_MORE)
			break;
		if (r != XML_OK)
			return lex_fail(p, r);
		off += u;
		*used = off;
		switch (p->state) {
		case S_RESTART:
			if (p->tok.type == XML_TOK_TEXT && p->tok.text_ws) {
				p->tail += u;
				continue;
			}
			/* FALLTHROUGH */
		case S_START:
			if (p->tok.type == XML_TOK_DECL) {
				p->state = S_PROLOG;
				continue;
			}
			/* FALLTHROUGH */
		case S_PROLOG:
			if (p->tok.type == XML_TOK_TEXT && p->tok.text_ws) {
				p->state = S_PROLOG;
				continue;
			}
			if (p->tok.type == XML_TOK_DECL)
				return fail(p, XG_SE_NOT_WELL_FORMED,
				    "misplaced XML declaration");
			return header(p, ev);
		case S_STREAM:
			switch (p->tok.type) {
			case XML_TOK_TEXT:
				if (p->tok.text_ws)
					continue;	/* keepalive */
				return fail(p, XG_SE_BAD_FORMAT,
				    "text at stream level");
			case XML_TOK_DECL:
				return fail(p, XG_SE_NOT_WELL_FORMED,
				    "misplaced XML declaration");
			case XML_TOK_END:
				uri = xml_ns_resolve(&p->stream_ns,
				    p->tok.name, &local);
				if (uri == NULL || strcmp(uri, NS_STREAMS) ||
				    strcmp(local, "stream"))
					return fail(p, XG_SE_NOT_WELL_FORMED,
					    "mismatched end tag");
				memset(ev, 0, sizeof(*ev));
				ev->type = XP_EV_CLOSE;
				p->state = S_DONE;
				p->err = XG_SE_NOT_WELL_FORMED;
				p->errtext = "data after the stream ended";
				return XP_EVENT;
			case XML_TOK_START:
				xr = element(p, ev);
				if (xr == XP_MORE)
					continue;
				return xr;
			}
			break;
		case S_CHILD:
			if (p->tok.type == XML_TOK_TEXT) {
				if (p->cur == C_AUTH || p->cur == C_RESPONSE ||
				    p->cur == C_RESPONSE2 ||
				    p->cur == C_DIALBACK) {
					if (p->datalen + p->tok.text_len >
					    XG_SASL_B64_MAX)
						return fail(p,
						    XG_SE_POLICY_VIOLATION,
						    "SASL data too long");
					memcpy(p->data + p->datalen,
					    p->tok.text, p->tok.text_len);
					p->datalen += p->tok.text_len;
					p->data[p->datalen] = '\0';
				} else if (!p->tok.text_ws)
					return fail(p, XG_SE_BAD_FORMAT,
					    "unexpected text");
				continue;
			}
			if (p->tok.type != XML_TOK_END)
				return fail(p, XG_SE_BAD_FORMAT,
				    "unexpected child element");
			if (strcmp(p->tok.name, p->curname) != 0)
				return fail(p, XG_SE_NOT_WELL_FORMED,
				    "mismatched end tag");
			memset(ev, 0, sizeof(*ev));
			return finish_child(p, ev, p->datalen == 0);
		case S_SASL2:
			xr = s2_token(p, ev);
			if (xr == XP_MORE)
				continue;
			return xr;
		default:
			return fail(p, XG_SE_NOT_WELL_FORMED, "internal state");
		}
	}
	return XP_MORE;
}
