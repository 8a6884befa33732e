/*
 * XEP-0388 SASL2 at the front door, for clients whose server has none of
 * it: the offer beside RFC 6120's <mechanisms/> (the same mechanisms and
 * binding types, plus what may come inline), the checks on what an
 * <authenticate> asks besides its mechanism, and, once sasl.c's attempt
 * succeeded and login_backend() logged in, what it asked done with the
 * backend's classic protocols: an XEP-0198 <resume/> (XEP-0388 inline),
 * an RFC 6120 resource bind for XEP-0386 Bind2 and the XEP-0198 <enable/>
 * inside it, a XEP-0484 FAST token from the helper.  Then the <success/>
 * that ends the login with no stream restart: the backend's features
 * follow it at once, less what was done inline.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include "session.h"

#define BIND2_RAND_BYTES	6	/* the server part of a resource */
#define BIND2_IQ_ID		"xg-bind2"
#define NS_STANZAS	"urn:ietf:params:xml:ns:xmpp-stanzas"

/* XEP-0484's mechanisms, strongest binding first, with their types. */
static const struct { const char *name; int cb; } ht[] = {
	{ "HT-SHA-256-EXPR", SCRAM_CB_TLS_EXPORTER },
	{ "HT-SHA-256-UNIQ", SCRAM_CB_TLS_UNIQUE },
	{ "HT-SHA-256-ENDP", SCRAM_CB_TLS_SERVER_END_POINT },
	{ "HT-SHA-256-NONE", 0 },
};

/* Set when add() had to cut: what it built is not sent (sasl2_backend()
 * fails the attempt, sasl2_token() drops the token). */
static int cut;

/* What sasl2_backend() builds <success/>'s children from: the inline
 * resume's answer, and the one of the enable inside Bind2's <bound/>. */
static char part_sm[1024], part_bound[1024];

/* Append to out (bounded, always terminated; cut set when it did not
 * fit). */
static void
add(char *out, size_t outsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
add(char *out, size_t outsz, const char *fmt, ...)
{
	size_t n = strlen(out);
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(out + n, outsz - n, fmt, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= outsz - n) {
		out[n] = '\0';
		cut = 1;
	}
}

int
sasl2_cbtype(const char *mech)
{
	size_t i;

	for (i = 0; i < sizeof(ht) / sizeof(ht[0]); i++)
		if (strcmp(ht[i].name, mech) == 0)
			return ht[i].cb;
	return 0;
}

const char *
sasl2_fast_offered(const struct session *s, const char *mech)
{
	size_t i;

	for (i = 0; s->fast_offered[i] != NULL; i++)
		if (strcmp(s->fast_offered[i], mech) == 0)
			return s->fast_offered[i];
	return NULL;
}

/*
 * SASL2 is offered on a client's stream unless --no-sasl2: the mechanisms
 * of <mechanisms/>; in connect mode Bind2 with stream management inline
 * (exec mode's program binds by itself); with --fast, the HT-* mechanisms
 * this channel can bind to.
 */
void
sasl2_offer(struct session *s, char *out, size_t outsz, char *names,
    size_t namesz)
{
	size_t i, n = 0;

	s->sasl2_offered = 0;
	s->fast_offered[0] = NULL;
	if (s->o->no_sasl2 || s->o->s2s || s->offered[0] == NULL)
		return;
	s->sasl2_offered = 1;
	add(out, outsz, "<authentication xmlns='" NS_SASL2 "'>");
	for (i = 0; s->offered[i] != NULL; i++)
		add(out, outsz, "<mechanism>%s</mechanism>", s->offered[i]);
	/* Exec mode has nothing inline without FAST: no <inline/> then. */
	if (s->o->exec_argv == NULL || s->o->fast)
		add(out, outsz, "<inline>");
	if (s->o->exec_argv == NULL) {
		add(out, outsz, "<bind xmlns='" NS_BIND2 "'><inline>"
		    "<feature var='" NS_SM "'/></inline></bind><sm xmlns='"
		    NS_SM "'/>");
		add(names, namesz, "; sasl2 bind2 sm");
	} else
		add(names, namesz, "; sasl2");
	if (s->o->fast) {
		for (i = 0; i < sizeof(ht) / sizeof(ht[0]); i++)
			if (ht[i].cb == 0 || (s->cb_mask & ht[i].cb))
				s->fast_offered[n++] = ht[i].name;
		s->fast_offered[n] = NULL;
		add(out, outsz, "<fast xmlns='" NS_FAST "'>");
		add(names, namesz, "; fast");
		for (i = 0; i < n; i++) {
			add(out, outsz, "<mechanism>%s</mechanism>",
			    s->fast_offered[i]);
			add(names, namesz, " %s", s->fast_offered[i]);
		}
		add(out, outsz, "</fast>");
	}
	if (s->o->exec_argv == NULL || s->o->fast)
		add(out, outsz, "</inline>");
	add(out, outsz, "</authentication>");
}

int
sasl2_profile(struct session *s, const struct xp_event *ev)
{
	int want = ev->type == XP_EV_AUTHENTICATE ? 2 : 1;

	if (want == 2 && !s->sasl2_offered)
		return stream_error(s, XG_SE_UNSUPPORTED_STANZA_TYPE,
		    "SASL2 is not offered here", XG_EXIT_REFUSED,
		    "<authenticate> where SASL2 was not offered");
	if (s->profile != 0 && s->profile != want)
		return stream_error(s, XG_SE_POLICY_VIOLATION,
		    "SASL and SASL2 elements mixed", XG_EXIT_REFUSED,
		    "<%s> after the other SASL profile's", want == 2 ?
		    "authenticate" : "auth");
	s->profile = want;
	if (want == 2)
		s->s2 = *ev->s2;
	return 0;
}

int
sasl2_request_check(const struct session *s, const struct xp_event *ev,
    enum xg_sasl_failure *sf, char *why, size_t whysz)
{
	const struct xp_sasl2 *r = &s->s2;
	int ht_mech = strncmp(ev->mechanism, "HT-", 3) == 0;
	/* An HT-* not offered here is sasl.c's invalid-mechanism. */
	int ht_offered = sasl2_fast_offered(s, ev->mechanism) != NULL;

	*sf = XG_SF_MALFORMED_REQUEST;
	if (r->fast && !ht_mech) {
		snprintf(why, whysz, "<fast/> with %.32s, not a FAST mechanism",
		    ev->mechanism);
		return 1;
	}
	if (r->request_token && s->fast_offered[0] == NULL) {
		snprintf(why, whysz, "<request-token/> where FAST is not "
		    "offered");
		return 1;
	}
	if (r->request_token && sasl2_fast_offered(s, r->token_mech) ==
	    NULL) {
		snprintf(why, whysz, "<request-token/> for %.32s, which is not "
		    "offered", r->token_mech);
		return 1;
	}
	/* The client id keys the helper's tokens and goes into its request
	 * as it is. */
	if ((r->request_token || ht_offered) && (!r->has_ua_id ||
	    !sasl2_text_ok(r->ua_id, strlen(r->ua_id)))) {
		snprintf(why, whysz, "FAST without <user-agent id='...'>%s",
		    r->has_ua_id ? " (empty, or a control character in it)" :
		    "");
		return 1;
	}
	return 0;
}

/* A XEP-0198 <failed/> for the client: h when the backend gave one, and
 * its condition when it is a plain name. */
static void
sm_failed(char *out, size_t outsz, const struct belem *e, const char *cond)
{
	unsigned long h;
	size_t i;

	if (e != NULL && e->child[0] != '\0') {
		for (i = 0; e->child[i] != '\0' && ((e->child[i] >= 'a' &&
		    e->child[i] <= 'z') || e->child[i] == '-'); i++)
			;
		cond = e->child[i] == '\0' ? e->child : "undefined-condition";
	}
	add(out, outsz, "<failed xmlns='" NS_SM "'");
	if (e != NULL && xg_decimal(e->h, 10, &h) == 0 && h <= 0xffffffffUL)
		add(out, outsz, " h='%lu'", h);
	add(out, outsz, "><%s xmlns='" NS_STANZAS "'/></failed>", cond);
}

/* Write one element to the backend and read its answer. */
static int
exchange(struct session *s, const char *out, struct belem *e, int64_t dl,
    char *why, size_t whysz)
{
	if (conn_write(&s->bc, out, strlen(out), dl) == -1) {
		snprintf(why, whysz, "backend write: %s", strerror(errno));
		return -1;
	}
	return backend_element(&s->bc, dl, s->surplus, sizeof(s->surplus),
	    &s->surplus_len, e, why, whysz);
}

/* The backend is gone or speaks nonsense: the attempt fails. */
static int
broken(enum xg_sasl_failure *sf, char *why, size_t whysz, const char *what)
{
	char w[XG_REASON_MAX];

	snprintf(w, sizeof(w), "%s", why);
	snprintf(why, whysz, "SASL2 %s at the backend: %s", what, w);
	*sf = XG_SF_TEMPORARY_AUTH_FAILURE;
	return 1;
}

/* <resume/> inline: 1 resumed, 0 not (a <failed/> went to success2). */
static int
inline_resume(struct session *s, const char *bare, char *jid, size_t jidsz,
    struct belem *e, int64_t dl, enum xg_sasl_failure *sf, char *why,
    size_t whysz)
{
	char id[XG_SM_ID_MAX + 1], res[XG_SASL_FIELD_MAX + 1];
	char esc[6 * XG_SM_ID_MAX + 1], out[256 + sizeof(esc)];
	char pesc[6 * XG_SM_ID_MAX + 1];

	if (!sasl2_feature_has(s->bfeat, s->bfeat_len, NS_SM)) {
		sm_failed(part_sm, sizeof(part_sm), NULL,
		    "feature-not-implemented");
		return 0;
	}
	sasl2_sm_id_unwrap(s->s2.sm_previd, id, sizeof(id), res, sizeof(res));
	xml_escape(esc, sizeof(esc), id, strlen(id));
	snprintf(out, sizeof(out), "<resume xmlns='" NS_SM "' previd='%s' "
	    "h='%lu'/>", esc, s->s2.sm_h);
	if (exchange(s, out, e, dl, why, whysz) == -1)
		return broken(sf, why, whysz, "resume"), -1;
	if (strcmp(e->ns, NS_SM) == 0 && strcmp(e->name, "resumed") == 0) {
		unsigned long h;

		xml_escape(pesc, sizeof(pesc), s->s2.sm_previd,
		    strlen(s->s2.sm_previd));
		add(part_sm, sizeof(part_sm), "<resumed xmlns='" NS_SM
		    "' previd='%s'", pesc);
		if (xg_decimal(e->h, 10, &h) == 0 && h <= 0xffffffffUL)
			add(part_sm, sizeof(part_sm), " h='%lu'", h);
		add(part_sm, sizeof(part_sm), "/>");
		snprintf(jid, jidsz, res[0] ? "%s/%s" : "%s", bare, res);
		return 1;
	}
	if (strcmp(e->ns, NS_SM) == 0 && strcmp(e->name, "failed") == 0) {
		sm_failed(part_sm, sizeof(part_sm), e,
		    "item-not-found");
		return 0;
	}
	snprintf(why, whysz, "backend answered <resume/> with <%.32s>",
	    e->name);
	return broken(sf, why, whysz, "resume"), -1;
}

/* The resource: the client's tag, '/', a random part (XEP-0386 "Resource
 * identifier generation"); the random part alone without a tag. */
static int
bind2_resource(const struct session *s, char *out, size_t outsz)
{
	uint8_t rnd[BIND2_RAND_BYTES];
	char r[16];

	if (gnutls_rnd(GNUTLS_RND_NONCE, rnd, sizeof(rnd)) < 0 ||
	    xg_b64url(rnd, sizeof(rnd), r, sizeof(r)) == -1)
		return -1;
	if (s->s2.tag[0] != '\0')
		snprintf(out, outsz, "%s/%s", s->s2.tag, r);
	else
		snprintf(out, outsz, "%s", r);
	return 0;
}

/* Bind2: the resource bound by RFC 6120 resource binding; the backend's
 * full JID into jid.  0, or -1 with why (the attempt fails). */
static int
bind2(struct session *s, char *jid, size_t jidsz, char *resource,
    size_t rsz, struct belem *e, int64_t dl, char *why, size_t whysz)
{
	char esc[6 * (XG_BIND2_TAG_MAX + 20) + 1], out[256 + sizeof(esc)];
	const char *slash;

	if (bind2_resource(s, resource, rsz) == -1) {
		snprintf(why, whysz, "no random bytes for the resource");
		return -1;
	}
	xml_escape(esc, sizeof(esc), resource, strlen(resource));
	snprintf(out, sizeof(out), "<iq type='set' id='" BIND2_IQ_ID "'>"
	    "<bind xmlns='" NS_BIND "'><resource>%s</resource></bind></iq>",
	    esc);
	if (exchange(s, out, e, dl, why, whysz) == -1)
		return -1;
	if (strcmp(e->name, "iq") != 0 || strcmp(e->id, BIND2_IQ_ID) != 0) {
		snprintf(why, whysz, "backend sent <%.32s> before answering "
		    "the bind", e->name);
		return -1;
	}
	if (strcmp(e->type, "result") != 0) {
		snprintf(why, whysz, "backend refused the bind of resource "
		    "'%.64s' (%.32s)", resource, e->child);
		return -1;
	}
	/* Its JID, with the resource as it prepared it. */
	if (e->truncated || (slash = strchr(e->text, '/')) == NULL ||
	    slash[1] == '\0') {
		snprintf(why, whysz, "backend's bind result has no full JID");
		return -1;
	}
	snprintf(jid, jidsz, "%s", e->text);
	snprintf(resource, rsz, "%s", slash + 1);
	return 0;
}

/* XEP-0198 <enable/> for Bind2's inline one, answered into success2. */
static int
sm_enable(struct session *s, const char *resource, struct belem *e,
    int64_t dl, char *why, size_t whysz, const char **sm)
{
	char out[128], id[XG_SM_ID_MAX + 1], esc[6 * XG_SM_ID_MAX + 1];
	unsigned long max;

	if (!sasl2_feature_has(s->bfeat, s->bfeat_len, NS_SM)) {
		sm_failed(part_bound, sizeof(part_bound), NULL,
		    "feature-not-implemented");
		*sm = "failed";
		return 0;
	}
	snprintf(out, sizeof(out), "<enable xmlns='" NS_SM "'%s", s->s2.
	    sm_enable_resume ? " resume='true'" : "");
	if (s->s2.sm_enable_max > 0)
		add(out, sizeof(out), " max='%lu'", s->s2.sm_enable_max);
	add(out, sizeof(out), "/>");
	if (exchange(s, out, e, dl, why, whysz) == -1)
		return -1;
	if (strcmp(e->ns, NS_SM) == 0 && strcmp(e->name, "failed") == 0) {
		sm_failed(part_bound, sizeof(part_bound), e,
		    "undefined-condition");
		*sm = "failed";
		return 0;
	}
	if (strcmp(e->ns, NS_SM) != 0 || strcmp(e->name, "enabled") != 0) {
		snprintf(why, whysz, "backend answered <enable/> with <%.32s>",
		    e->name);
		return -1;
	}
	add(part_bound, sizeof(part_bound), "<enabled xmlns='" NS_SM "'");
	id[0] = '\0';
	if (e->smid[0] != '\0' && !e->truncated)
		sasl2_sm_id_wrap(e->smid, resource, id, sizeof(id));
	/* No id we can give back unambiguously: no resumption either. */
	if (id[0] != '\0') {
		xml_escape(esc, sizeof(esc), id, strlen(id));
		add(part_bound, sizeof(part_bound), " id='%s'", esc);
		if (strcmp(e->resume, "true") == 0 || strcmp(e->resume,
		    "1") == 0)
			add(part_bound, sizeof(part_bound), " resume='true'");
	}
	if (xg_decimal(e->max, 10, &max) == 0)
		add(part_bound, sizeof(part_bound), " max='%lu'", max);
	/* No location=: the client comes back through us. */
	add(part_bound, sizeof(part_bound), "/>");
	*sm = "enabled";
	return 0;
}

int
sasl2_backend(struct session *s, const char *buser, enum xg_sasl_failure *sf,
    char *why, size_t whysz)
{
	static struct belem e;
	char bare[XG_SASL_FIELD_MAX * 3 + 2], jid[sizeof(e.text)];
	char res[XG_SASL_FIELD_MAX + 1];
	const char *sm = NULL;
	int64_t dl = now_ms() + (int64_t)s->o->backend_timeout * 1000;
	int resumed = 0, bound = 0;
	size_t n;

	s->success2[0] = part_sm[0] = part_bound[0] = '\0';
	s->surplus_len = 0;
	s->bound2 = 0;
	s->sm_state = SM_NONE;
	cut = 0;
	snprintf(bare, sizeof(bare), "%s@%s", buser, s->c->domain);
	snprintf(jid, sizeof(jid), "%s", bare);
	/* XEP-0388: a resume first; a bind only when it failed. */
	if (s->s2.sm_resume) {
		resumed = inline_resume(s, bare, jid, sizeof(jid), &e, dl, sf,
		    why, whysz);
		if (resumed == -1)
			return 1;
		sm = resumed ? "resumed" : "failed";
	}
	if (!resumed && s->s2.bind) {
		if (bind2(s, jid, sizeof(jid), res, sizeof(res), &e, dl, why,
		    whysz) == -1)
			return broken(sf, why, whysz, "bind");
		bound = 1;
		if (s->s2.sm_enable && sm_enable(s, res, &e, dl, why, whysz,
		    &sm) == -1)
			return broken(sf, why, whysz, "stream management");
	}
	/* Anything before our answers' end would have been taken for one;
	 * what follows <resumed/> (the stanzas it replays) is the client's. */
	if (!resumed && xml_ws_span(s->surplus, s->surplus_len) <
	    s->surplus_len) {
		snprintf(why, whysz, "backend sent more than its answer");
		return broken(sf, why, whysz, "login");
	}
	if (!resumed)
		s->surplus_len = 0;
	add(s->success2, sizeof(s->success2), "<authorization-identifier>");
	n = strlen(s->success2);
	if (xml_escape(s->success2 + n, sizeof(s->success2) - n, jid,
	    strlen(jid)) >= sizeof(s->success2) - n - 1)
		cut = 1;
	add(s->success2, sizeof(s->success2), "</authorization-identifier>"
	    "%s", part_sm);
	if (bound)
		add(s->success2, sizeof(s->success2), "<bound xmlns='" NS_BIND2
		    "'>%s</bound>", part_bound);
	if (cut) {
		snprintf(why, whysz, "the answer does not fit in %d bytes",
		    XG_SASL2_SUCCESS_MAX);
		return broken(sf, why, whysz, "login");
	}
	add(s->c->sasl2, sizeof(s->c->sasl2), "%s%s%s", bound ? ",bind2" : "",
	    sm ? ",sm=" : "", sm ? sm : "");
	s->bound2 = bound;
	s->sm_state = sm == NULL ? SM_NONE : strcmp(sm, "enabled") == 0 ?
	    SM_ENABLED : strcmp(sm, "resumed") == 0 ? SM_RESUMED : SM_FAILED;
	xg_debug("SASL2: %s as %s", s->c->sasl2, jid);
	return 0;
}

void
sasl2_exec_login(struct session *s, const char *user)
{
	char jid[XG_SASL_FIELD_MAX * 3 + 2], esc[6 * sizeof(jid)];

	/* No bind here: the program binds, when the client asks it to. */
	snprintf(jid, sizeof(jid), "%s@%s", user, s->c->domain);
	xml_escape(esc, sizeof(esc), jid, strlen(jid));
	cut = 0;
	s->success2[0] = '\0';
	s->surplus_len = 0;
	add(s->success2, sizeof(s->success2), "<authorization-identifier>%s"
	    "</authorization-identifier>", esc);
	if (cut)
		s->success2[0] = '\0';
	xg_debug("SASL2: %s as %s (exec mode)", s->c->sasl2, jid);
}

/* The program's end of the socket pair is closed (it exited). */
static int
gone(int e)
{
	return e == EPIPE || e == ECONNRESET;
}

int
sasl2_exec_open(struct session *s, int fd)
{
	static struct xml_token t;
	struct conn pc;
	uint8_t buf[XG_READ_BUF];
	char hdr[256 + XG_DOMAIN_MAX];
	size_t len = 0, used;
	int64_t dl = now_ms() + (int64_t)s->o->header_timeout * 1000;
	enum xml_result r = XML_MORE;
	const char *local;
	ssize_t n;

	memset(&pc, 0, sizeof(pc));
	pc.rfd = pc.wfd = fd;
	/* The stream the client does not restart, opened for the program
	 * as a client's restart would be (its to, as the client gave it). */
	if (backend_header(s->c->domain, hdr, sizeof(hdr)) == 0 ||
	    conn_write(&pc, hdr, strlen(hdr), dl) == -1)
		return stream_error(s, XG_SE_INTERNAL_SERVER_ERROR,
		    "internal error", XG_EXIT_TEMP, "exec: the program %s "
		    "before its stream header", gone(errno) ? "ended" :
		    strerror(errno));
	/* Its header is for us; what follows (its features) is the
	 * client's, at once after <success/> (kept in surplus until then:
	 * nothing is promised the client before the program is there). */
	for (;;) {
		while (len > 0 && (r = xml_lex(buf, len, &t, &used)) ==
		    XML_OK) {
			memmove(buf, buf + used, len - used);
			len -= used;
			if (t.type == XML_TOK_DECL || (t.type == XML_TOK_TEXT &&
			    t.text_ws))
				continue;
			local = strchr(t.name, ':') != NULL ?
			    strchr(t.name, ':') + 1 : t.name;
			if (t.type != XML_TOK_START || strcmp(local,
			    "stream") != 0 || t.empty)
				return stream_error(s,
				    XG_SE_INTERNAL_SERVER_ERROR,
				    "internal error", XG_EXIT_TEMP, "exec: the "
				    "program did not open its stream");
			memcpy(s->surplus, buf, len);
			s->surplus_len = len;
			explicit_bzero(buf, sizeof(buf));
			return 0;
		}
		if (len > 0 && r != XML_MORE)
			return stream_error(s, XG_SE_INTERNAL_SERVER_ERROR,
			    "internal error", XG_EXIT_TEMP, "exec: the program "
			    "sent bad XML: %s", xml_result_str(r));
		if (len == sizeof(buf))
			return stream_error(s, XG_SE_INTERNAL_SERVER_ERROR,
			    "internal error", XG_EXIT_TEMP, "exec: the "
			    "program's stream header is too long");
		if ((n = conn_read(&pc, buf + len, sizeof(buf) - len, dl)) <= 0)
			return stream_error(s, XG_SE_INTERNAL_SERVER_ERROR,
			    "internal error", XG_EXIT_TEMP, "exec: the "
			    "program %s before its stream header", n == 0 ||
			    gone(errno) ? "ended" : errno == ETIMEDOUT ?
			    "timed out" : strerror(errno));
		len += (size_t)n;
	}
}

void
sasl2_token(struct session *s, const char *user)
{
	struct auth_request req;
	static struct auth_reply ar;
	char why[XG_REASON_MAX], esc[6 * XG_FAST_TOKEN_MAX + 1];
	enum auth_verdict v;

	if (s->s2.request_token && s->fast_token[0] == '\0') {
		memset(&req, 0, sizeof(req));
		req.mechanism = "FAST-TOKEN";
		req.user = user;
		req.domain = s->c->domain;
		req.attempt = s->failed + 1;
		req.conn = s->c;
		req.fast_client = s->s2.ua_id;
		req.fast_mechanism = s->s2.token_mech;
		v = sasl_check(s, &req, &ar, why, sizeof(why));
		if (v == AUTH_ACCEPT && ar.has_fast_token &&
		    ar.has_fast_expiry) {
			snprintf(s->fast_token, sizeof(s->fast_token), "%s",
			    ar.fast_token);
			snprintf(s->fast_expiry, sizeof(s->fast_expiry), "%s",
			    ar.fast_expiry);
		} else
			xg_log(LOG_NOTICE, "FAST: no token issued (%s)",
			    v == AUTH_ACCEPT ? "the helper gave none" : why);
		auth_reply_wipe(&ar);
	}
	if (s->fast_token[0] != '\0') {
		size_t n = strlen(s->success2);

		char exp[6 * XG_FAST_EXPIRY_LEN + 1];

		/* Both were checked (authhelper.c); escaped all the same. */
		xml_escape(esc, sizeof(esc), s->fast_token,
		    strlen(s->fast_token));
		xml_escape(exp, sizeof(exp), s->fast_expiry,
		    strlen(s->fast_expiry));
		cut = 0;
		add(s->success2, sizeof(s->success2), "<token xmlns='" NS_FAST
		    "' expiry='%s' token='%s'/>", exp, esc);
		if (cut) {
			s->success2[n] = '\0';
			xg_log(LOG_NOTICE, "FAST: the token does not fit in "
			    "<success/>; not sent");
		}
		explicit_bzero(esc, sizeof(esc));
		explicit_bzero(s->fast_token, sizeof(s->fast_token));
		add(s->c->sasl2, sizeof(s->c->sasl2), cut ? ",token=dropped" :
		    ",token=issued");
	}
	if (s->s2.fast_invalidate)
		add(s->c->sasl2, sizeof(s->c->sasl2), ",invalidated");
}

int
sasl2_success(struct session *s, int features)
{
	static char feat[XG_FEATURES_MAX];
	int resumed = s->sm_state == SM_RESUMED;
	int drop_bind = resumed || s->bound2;
	int drop_sm = resumed || s->sm_state == SM_ENABLED;
	size_t n;

	xg_debug("sent: SASL2 success%s", s->success_data[0] ?
	    " (additional data)" : "");
	if (conn_printf(s->c, now_ms() + 10000, "<success xmlns='" NS_SASL2
	    "'>%s%s%s%s</success>", s->success_data[0] ?
	    "<additional-data>" : "", s->success_data, s->success_data[0] ?
	    "</additional-data>" : "", s->success2) == -1)
		return finish(s, XG_EXIT_OK, "client write: %s",
		    strerror(errno));
	explicit_bzero(s->success2, sizeof(s->success2));
	/* XEP-0388: no restart; the features follow at once: the backend's
	 * (less what was done inline), or in exec mode the program's, which
	 * came after its header (sasl2_exec_open()). */
	n = features ? sasl2_features_left(s->bfeat, s->bfeat_len, drop_bind,
	    drop_sm, feat, sizeof(feat)) : 0;
	xg_debug("sent: %s's features (%zu bytes)%s", features ? "the backend" :
	    "the program", features ? n : s->surplus_len, features &&
	    s->surplus_len ? ", then what it replayed after <resumed/>" : "");
	if (conn_write(s->c, feat, n, now_ms() + 10000) == -1 ||
	    (s->surplus_len > 0 && conn_write(s->c, s->surplus,
	    s->surplus_len, now_ms() + 10000) == -1))
		return finish(s, XG_EXIT_OK, "client write: %s",
		    strerror(errno));
	explicit_bzero(s->surplus, sizeof(s->surplus));
	s->surplus_len = 0;
	return 0;
}
