/*
 * SASL, the client's authentication after TLS: the attempts, each with
 * the mechanism the client chose of those stream_open() offered
 * (EXTERNAL with a verified client certificate, PLAIN, SCRAM and its
 * -PLUS forms), the credentials decoded by the pure sasl_plain.c and
 * sasl_scram.c, the helper's verdict (authhelper.c, or authproto.c for
 * checkpassword and ejabberd), and the answers: <failure/> after a
 * growing delay, <see-other-host/>, or, once accepted, the backend login
 * (login_backend(), handoff.c).  After every attempt the credentials and
 * the stack below us are wiped (secrets_wipe()).
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include "session.h"

#define STACK_WIPE		(64 * 1024)	/* stack cleared after auth */


/* The mechanism's name if this connection offers it (after TLS, in
 * stream_open()), else NULL.  The name outlives the client's event. */
static const char *
mech_offered(const struct session *s, const char *name)
{
	enum scram_hash h;
	int plus = 0;
	size_t i;

	if (scram_mech(name, &h, &plus) == 0 && plus && !s->plus_offered)
		return NULL;
	for (i = 0; i < s->o->nmechs; i++)
		if (strcmp(s->o->mechs[i], name) == 0)
			return s->o->mechs[i];
	return NULL;
}

/* The namespace of the client's SASL profile: RFC 6120's or XEP-0388's. */
static const char *
sasl_ns(const struct session *s)
{
	return s->profile == 2 ? NS_SASL2 : NS_SASL;
}

static int
sasl_failure(struct session *s, enum xg_sasl_failure f,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* One failed attempt: growing delay, <failure/>, and the attempt limit. */
static int
sasl_failure(struct session *s, enum xg_sasl_failure f,
    const char *fmt, ...)
{
	char why[XG_REASON_MAX], text[8 * XG_FAILURE_TEXT_MAX];
	va_list ap;
	int64_t d;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	s->failed++;
	s->last_failure = f;
	/* It was opened for this attempt; the next one connects afresh. */
	preopen_drop(s, "the attempt failed");
	xg_log(LOG_NOTICE, "authentication attempt %d failed: %s", s->failed,
	    why);
	d = xg_fail_delay_ms(s->o->auth_delay_ms, s->failed);
	/* The helper's delay= replaces ours for this answer. */
	if (s->fail_delay_ms >= 0) {
		d = s->fail_delay_ms;
		xg_debug("helper's delay: %lld ms", (long long)d);
	}
	s->fail_delay_ms = -1;
	/* RFC 6120 6.5: a <text/> for the user, from the helper's message=. */
	text[0] = '\0';
	if (s->fail_text[0] != '\0') {
		snprintf(text, sizeof(text), "<text xml:lang='en'>");
		n = strlen(text);
		xml_escape(text + n, sizeof(text) - n - sizeof("</text>"),
		    s->fail_text, strlen(s->fail_text));
		strcat(text, "</text>");
		s->fail_text[0] = '\0';
	}
	if (d > 0) {
		struct timespec ts = { d / 1000, (d % 1000) * 1000000 };
		while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
			;
	}
	xg_debug("sent: failure %s%s", xg_sasl_failure_name(f),
	    text[0] ? " with text" : "");
	/* XEP-0388: the condition keeps RFC 6120's namespace. */
	if (conn_printf(s->c, s->deadline, "<failure xmlns='%s'><%s%s/>%s"
	    "</failure>", sasl_ns(s), xg_sasl_failure_name(f), s->profile ==
	    2 ? " xmlns='" NS_SASL "'" : "", text) == -1)
		return finish(s, XG_EXIT_REFUSED, "client write: %s",
		    strerror(errno));
	if (s->failed >= s->o->max_attempts)
		return stream_error(s, XG_SE_POLICY_VIOLATION,
		    "too many failed authentication attempts",
		    XG_EXIT_REFUSED, "%d failed attempts (last: %s)",
		    s->failed, why);
	return 0;
}

/*
 * The client's next element inside an exchange: <response/> or <abort/>
 * of its own profile (a <response/> of the other one ends the stream).
 * 0 with ev, or -1 when the session ended.
 */
static int
sasl_next(struct session *s, struct xp_event *ev)
{
	if (next_event(s, ev) == -1 || common_event(s, ev) == -1)
		return -1;
	if ((ev->type == XP_EV_RESPONSE || ev->type == XP_EV_ABORT) &&
	    ev->sasl2 != (s->profile == 2))
		return stream_error(s, XG_SE_POLICY_VIOLATION,
		    "SASL and SASL2 elements mixed", XG_EXIT_REFUSED,
		    "a <%s/> of the other SASL profile", ev->type ==
		    XP_EV_ABORT ? "abort" : "response");
	return 0;
}

/* The PLAIN payload: the <auth> initial response or, after an empty
 * challenge, the <response> (RFC 6120 6.4.2). */
static int
plain_payload(struct session *s, struct xp_event *ev, int *again)
{
	*again = 0;
	if (!ev->data_empty)
		return 0;
	xg_debug("sent: empty challenge");
	if (conn_printf(s->c, s->deadline, "<challenge xmlns='%s'/>",
	    sasl_ns(s)) == -1)
		return finish(s, XG_EXIT_REFUSED, "client write: %s",
		    strerror(errno));
	if (sasl_next(s, ev) == -1)
		return -1;
	if (ev->type == XP_EV_ABORT) {
		*again = 1;
		return sasl_failure(s, XG_SF_ABORTED, "aborted");
	}
	if (ev->type != XP_EV_RESPONSE)
		return stream_error(s, XG_SE_POLICY_VIOLATION,
		    "expected <response/>", XG_EXIT_REFUSED,
		    "no <response/> after the challenge");
	return 0;
}

/*
 * The credentials, and the stack below us: library calls that handled
 * them (GnuTLS's base64 coders work line by line in a local buffer) leave
 * copies in their dead frames, which a long relay would keep for hours.
 */
static void __attribute__((noinline))
stack_wipe(void)
{
	char area[STACK_WIPE];

	explicit_bzero(area, sizeof(area));
	__asm__ __volatile__("" : : "r"(area) : "memory");
}

static void
secrets_wipe(struct session *s, struct plain_creds *pc, struct auth_reply *ar)
{
	plain_wipe(pc);
	auth_reply_wipe(ar);
	/* The attempt's base64 payload, whatever path it took. */
	explicit_bzero(s->xp.data, sizeof(s->xp.data));
	scram_wipe(&s->scram);
	explicit_bzero(&s->screds, sizeof(s->screds));
	stack_wipe();
}

/*
 * PLAIN: the payload decoded and checked.  0 with pc and req filled, 1
 * when the attempt failed (the failure was sent), -1 when the session
 * ended.
 */
static int
plain_attempt(struct session *s, struct xp_event *ev, struct plain_creds *pc,
    struct auth_request *req)
{
	int again, rc;

	if (plain_payload(s, ev, &again) == -1)
		return -1;
	if (again)
		return 1;
	rc = plain_decode(ev->data, ev->data_len, s->c->domain, pc);
	/* The payload's base64 text, whatever it held. */
	explicit_bzero(s->xp.data, sizeof(s->xp.data));
	explicit_bzero(&s->xp.tok, sizeof(s->xp.tok));
	switch (rc) {
	case PLAIN_OK:
		break;
	case PLAIN_BAD_BASE64:
		return sasl_failure(s, XG_SF_INCORRECT_ENCODING,
		    "bad base64") == -1 ? -1 : 1;
	case PLAIN_BAD_AUTHZID:
		return sasl_failure(s, XG_SF_INVALID_AUTHZID,
		    "foreign authzid") == -1 ? -1 : 1;
	case PLAIN_BAD_USER:
		return sasl_failure(s, XG_SF_NOT_AUTHORIZED, "user name "
		    "refused by Nodeprep") == -1 ? -1 : 1;
	default:
		return sasl_failure(s, XG_SF_MALFORMED_REQUEST,
		    "malformed PLAIN") == -1 ? -1 : 1;
	}
	req->mechanism = "PLAIN";
	req->user = pc->user;
	req->authzid = pc->authzid_len ? pc->authzid : NULL;
	req->pass = pc->pass;
	req->pass_len = pc->pass_len;
	return 0;
}

/*
 * EXTERNAL (XEP-0178), offered only after a client certificate verified:
 * the user is the one the client names, or the certificate's only
 * XmppAddr of this domain, or left to the helper (AUTH_USER empty).
 */
static int
external_attempt(struct session *s, struct xp_event *ev,
    struct plain_creds *pc, struct auth_request *req)
{
	int again, rc;

	if (plain_payload(s, ev, &again) == -1)
		return -1;
	if (again)
		return 1;
	rc = external_decode(ev->data, ev->data_len, s->c->domain, pc->user,
	    sizeof(pc->user));
	if (rc == PLAIN_BAD_BASE64)
		return sasl_failure(s, XG_SF_INCORRECT_ENCODING,
		    "bad base64") == -1 ? -1 : 1;
	if (rc != PLAIN_OK)
		return sasl_failure(s, XG_SF_INVALID_AUTHZID, "EXTERNAL "
		    "authzid is not a JID of %s", s->c->domain) == -1 ? -1 : 1;
	if (pc->user[0] != '\0')
		snprintf(pc->authzid, sizeof(pc->authzid), "%s@%s", pc->user,
		    s->c->domain);
	else
		external_cert_user(s->c->cert_xmppaddrs, s->c->domain,
		    pc->user, sizeof(pc->user));
	pc->user_len = strlen(pc->user);
	req->mechanism = "EXTERNAL";
	req->user = pc->user;
	req->authzid = pc->authzid[0] ? pc->authzid : NULL;
	req->pass = NULL;
	req->pass_len = 0;
	return 0;
}

/*
 * After the helper accepted EXTERNAL: the session's user is the helper's
 * identity (it may not change one the client asked for), and connect
 * mode needs the backend password from the helper.  0, or 1 with sf and
 * why for a failed attempt.
 */
static int
external_accepted(struct session *s, struct plain_creds *pc,
    const struct auth_reply *ar, enum xg_sasl_failure *sf, char *why,
    size_t whysz)
{
	*sf = XG_SF_TEMPORARY_AUTH_FAILURE;
	if (ar->has_identity && pc->authzid[0] != '\0' &&
	    strcmp(ar->identity, pc->user) != 0) {
		*sf = XG_SF_INVALID_AUTHZID;
		snprintf(why, whysz, "helper mapped the certificate to %.64s, "
		    "not to the requested %.64s", ar->identity, pc->user);
		return 1;
	}
	if (ar->has_identity) {
		/* The helper names the user: one canonical name, as for
		 * every other way in (a name that preparation changes is
		 * the helper's mistake, not the client's). */
		char prep[sizeof(pc->user)];
		const char *pwhy = NULL;

		if (xg_localpart_prep(ar->identity, strlen(ar->identity),
		    prep, sizeof(prep), &pwhy) == -1 ||
		    strcmp(prep, ar->identity) != 0) {
			snprintf(why, whysz, "helper's identity %.64s is not a "
			    "prepared user name (%s)", ar->identity,
			    pwhy != NULL ? pwhy : "Nodeprep changes it");
			return 1;
		}
		snprintf(pc->user, sizeof(pc->user), "%s", ar->identity);
	}
	if (pc->user[0] == '\0') {
		snprintf(why, whysz, "helper accepted EXTERNAL without an "
		    "identity");
		return 1;
	}
	if (s->o->exec_argv == NULL || ar->has_backend) {
		if (!ar->has_pass) {
			snprintf(why, whysz, "helper gave no backend password "
			    "for EXTERNAL");
			return 1;
		}
	}
	pc->user_len = strlen(pc->user);
	return 0;
}

/*
 * The helper rejected (exit 1) or failed: its message= and delay= go to
 * the <failure/> that sasl_failure() sends.  1, or -1 if the session ended.
 */
static int
helper_refused(struct session *s, enum auth_verdict v,
    const struct auth_reply *ar, const char *why)
{
	if (ar->has_message)
		snprintf(s->fail_text, sizeof(s->fail_text), "%s",
		    ar->message);
	if (ar->has_delay)
		s->fail_delay_ms = ar->delay_ms;
	/* condition= can only be credentials-expired (a FAST token). */
	if (v == AUTH_REJECT && ar->has_condition)
		return sasl_failure(s, XG_SF_CREDENTIALS_EXPIRED, "helper "
		    "rejected: the FAST token expired") == -1 ? -1 : 1;
	if (v == AUTH_REJECT)
		return sasl_failure(s, XG_SF_NOT_AUTHORIZED, "helper rejected")
		    == -1 ? -1 : 1;
	return sasl_failure(s, XG_SF_TEMPORARY_AUTH_FAILURE, "%s", why) == -1 ?
	    -1 : 1;
}

/* A SCRAM message refused: its <failure/>.  1, or -1 if the session
 * ended. */
static int
scram_refused(struct session *s, enum scram_result r)
{
	enum xg_sasl_failure f = XG_SF_NOT_AUTHORIZED;
	const char *why;

	switch (r) {
	case SCRAM_BAD_BASE64:
		f = XG_SF_INCORRECT_ENCODING;
		why = "bad base64";
		break;
	case SCRAM_BAD_AUTHZID:
		f = XG_SF_INVALID_AUTHZID;
		why = "foreign authzid";
		break;
	case SCRAM_BAD_USER:
		why = "user name refused by Nodeprep";
		break;
	case SCRAM_CB_UNSUPPORTED:
		why = "channel binding type not offered on this connection";
		break;
	case SCRAM_CB_DOWNGRADE:
		why = "client says we cannot bind to the channel, but -PLUS "
		    "was offered (a downgrade?)";
		break;
	case SCRAM_BAD_BINDING:
		why = "channel binding data is not this connection's";
		break;
	case SCRAM_BAD_NONCE:
		why = "nonce is not this exchange's (a replay?)";
		break;
	case SCRAM_BAD_PROOF:
		why = "wrong password (bad proof)";
		break;
	default:
		f = XG_SF_MALFORMED_REQUEST;
		why = "malformed message";
		break;
	}
	return sasl_failure(s, f, "SCRAM: %s", why) == -1 ? -1 : 1;
}

/* The SCRAM messages the client sends, decoded: client-first in <auth>
 * or the <response> after an empty challenge, client-final in the next
 * <response>.  0, or the scram_refused() / session end result. */
static int
scram_message(struct session *s, const struct xp_event *ev,
    gnutls_datum_t *d)
{
	d->data = NULL;
	d->size = 0;
	if (ev->data_empty || xg_b64_decode(ev->data, ev->data_len, d) == -1)
		return scram_refused(s, ev->data_empty ? SCRAM_MALFORMED :
		    SCRAM_BAD_BASE64);
	return 0;
}

/*
 * SCRAM (RFC 5802, RFC 7677) with the helper's stored credentials; the
 * password never reaches us.  client-first; the helper is asked for the
 * user's credentials (AUTH_SCRAM_HASH); server-first; client-final with
 * the proof and, for -PLUS, this TLS channel's binding.  0 when the proof
 * verified (ar is the helper's accept, s->success_data the server's final
 * message); 1 when the attempt failed and was answered; -1 when the
 * session ended.
 */
static int
scram_attempt(struct session *s, const char *mech, struct xp_event *ev,
    struct plain_creds *pc, struct auth_request *req, struct auth_reply *ar)
{
	static const gnutls_channel_binding_t cbt[] = { 0,
	    GNUTLS_CB_TLS_UNIQUE, GNUTLS_CB_TLS_SERVER_END_POINT, 0,
	    GNUTLS_CB_TLS_EXPORTER };
	struct scram *sc = &s->scram;
	gnutls_datum_t d, cb = { NULL, 0 };
	enum scram_hash h;
	enum scram_result r;
	enum auth_verdict v;
	char why[XG_REASON_MAX], sn[40], ch[4 * XG_SCRAM_MSG_MAX / 3 + 8];
	char final[96];
	uint8_t rnd[18];
	int plus = 0, again, rc;

	(void)scram_mech(mech, &h, &plus);
	if (plain_payload(s, ev, &again) == -1)
		return -1;
	if (again)
		return 1;
	if ((rc = scram_message(s, ev, &d)) != 0)
		return rc;
	r = scram_client_first(sc, h, plus, s->plus_offered ? s->cb_mask : 0,
	    d.data, d.size, s->c->domain);
	explicit_bzero(d.data, d.size);
	gnutls_free(d.data);
	if (r != SCRAM_OK)
		return scram_refused(s, r);
	snprintf(pc->user, sizeof(pc->user), "%s", sc->user);
	pc->user_len = strlen(pc->user);
	snprintf(pc->authzid, sizeof(pc->authzid), "%s", sc->authzid);
	snprintf(s->c->user, sizeof(s->c->user), "%s", pc->user);
	req->mechanism = mech;
	req->user = pc->user;
	req->authzid = pc->authzid[0] ? pc->authzid : NULL;
	req->scram_hash = scram_hash_name(h);
	req->cbtype = sc->cbtype ? scram_cb_name(sc->cbtype) : NULL;
	req->domain = s->c->domain;
	req->attempt = s->failed + 1;
	req->conn = s->c;
	xg_debug("SCRAM: user %s, binding %s; asking the helper for "
	    "SCRAM-%s credentials", pc->user, scram_cb_name(sc->cbtype),
	    req->scram_hash);
	if ((v = sasl_check(s, req, ar, why, sizeof(why))) != AUTH_ACCEPT)
		return helper_refused(s, v, ar, why);
	if (!ar->has_scram)
		return sasl_failure(s, XG_SF_TEMPORARY_AUTH_FAILURE, "helper "
		    "accepted %s without SCRAM credentials (scram=)",
		    mech) == -1 ? -1 : 1;
	if (scram_creds_parse(ar->scram, strlen(ar->scram), &s->screds) ==
	    -1 || s->screds.hash != h)
		return sasl_failure(s, XG_SF_TEMPORARY_AUTH_FAILURE, "helper's "
		    "scram= is not for SCRAM-%s", scram_hash_name(h)) == -1 ?
		    -1 : 1;
	/* Connect mode logs in with the helper's password: we never learn
	 * the client's (xmppgate-auth(5)). */
	if (!ar->has_redirect && !ar->has_pass &&
	    (s->o->exec_argv == NULL || ar->has_backend))
		return sasl_failure(s, XG_SF_TEMPORARY_AUTH_FAILURE, "helper "
		    "gave no backend password (password=) for %s in connect "
		    "mode", mech) == -1 ? -1 : 1;
	/* XEP-0474: what we offered, in the server-first-message, so that
	 * the client's proof covers it. */
	if (scram_ssdp(h, s->offered, s->offered_cb[0] ? s->offered_cb : NULL,
	    sc->ssdp, sizeof(sc->ssdp)) == -1)
		sc->ssdp[0] = '\0';
	if (gnutls_rnd(GNUTLS_RND_NONCE, rnd, sizeof(rnd)) < 0 ||
	    xg_b64_encode(rnd, sizeof(rnd), sn, sizeof(sn)) == 0 ||
	    scram_server_first(sc, &s->screds, sn) == -1 ||
	    xg_b64_encode(sc->sfirst, sc->sfirst_len, ch, sizeof(ch)) == 0)
		return stream_error(s, XG_SE_INTERNAL_SERVER_ERROR,
		    "internal error", XG_EXIT_TEMP, "SCRAM: server-first");
	xg_debug("sent: challenge (server-first)");
	if (conn_printf(s->c, s->deadline, "<challenge xmlns='%s'>%s"
	    "</challenge>", sasl_ns(s), ch) == -1)
		return finish(s, XG_EXIT_REFUSED, "client write: %s",
		    strerror(errno));
	if (sasl_next(s, ev) == -1)
		return -1;
	if (ev->type == XP_EV_ABORT)
		return sasl_failure(s, XG_SF_ABORTED, "aborted") == -1 ? -1 : 1;
	if (ev->type != XP_EV_RESPONSE)
		return stream_error(s, XG_SE_POLICY_VIOLATION,
		    "expected <response/>", XG_EXIT_REFUSED,
		    "no <response/> after the SCRAM challenge");
	if ((rc = scram_message(s, ev, &d)) != 0)
		return rc;
	if (sc->cbtype != 0 && gnutls_session_channel_binding(s->c->tls,
	    cbt[sc->cbtype], &cb) < 0) {
		cb.data = NULL;
		cb.size = 0;
	}
	r = scram_client_final(sc, &s->screds, d.data, d.size, cb.data,
	    cb.size, final, sizeof(final));
	explicit_bzero(d.data, d.size);
	gnutls_free(d.data);
	gnutls_free(cb.data);
	explicit_bzero(s->xp.data, sizeof(s->xp.data));
	if (r != SCRAM_OK)
		return scram_refused(s, r);
	if (xg_b64_encode(final, strlen(final), s->success_data,
	    sizeof(s->success_data)) == 0)
		return stream_error(s, XG_SE_INTERNAL_SERVER_ERROR,
		    "internal error", XG_EXIT_TEMP, "SCRAM: server-final");
	return 0;
}

/* A channel binding type (SCRAM_CB_*) as GnuTLS names it. */
static gnutls_channel_binding_t
gnutls_cb(int cbtype)
{
	return cbtype == SCRAM_CB_TLS_UNIQUE ? GNUTLS_CB_TLS_UNIQUE :
	    cbtype == SCRAM_CB_TLS_EXPORTER ? GNUTLS_CB_TLS_EXPORTER :
	    GNUTLS_CB_TLS_SERVER_END_POINT;
}

/*
 * FAST (XEP-0484): username NUL HMAC(token, "Initiator" || this channel's
 * binding data), one round trip.  The helper keeps the tokens and checks
 * the HMAC (xmppgate-auth(5), FAST); the token never reaches us.  0 when
 * it accepted (s->success_data is its Responder HMAC, a rotated token in
 * s->fast_token), 1 when the attempt failed and was answered, -1 when the
 * session ended.
 */
static int
fast_attempt(struct session *s, const char *mech, struct xp_event *ev,
    struct plain_creds *pc, struct auth_request *req, struct auth_reply *ar)
{
	gnutls_datum_t d = { NULL, 0 }, cb = { NULL, 0 };
	char hmac[64], cbd[4 * XG_SCRAM_CB_MAX / 3 + 8], count[24];
	char why[XG_REASON_MAX];
	const char *pwhy = NULL;
	const uint8_t *nul;
	int cbtype = sasl2_cbtype(mech), rc;
	enum auth_verdict v;

	if (!s->s2.has_ua_id)
		return sasl_failure(s, XG_SF_MALFORMED_REQUEST, "FAST without "
		    "<user-agent id='...'>") == -1 ? -1 : 1;
	if (ev->data_empty)
		return sasl_failure(s, XG_SF_MALFORMED_REQUEST, "FAST without "
		    "an initial response") == -1 ? -1 : 1;
	rc = xg_b64_decode(ev->data, ev->data_len, &d);
	explicit_bzero(s->xp.data, sizeof(s->xp.data));
	if (rc == -1)
		return sasl_failure(s, XG_SF_INCORRECT_ENCODING, "bad base64")
		    == -1 ? -1 : 1;
	nul = memchr(d.data, '\0', d.size);
	if (nul == NULL || nul == d.data || (size_t)(nul - d.data) >
	    XG_SASL_FIELD_MAX || d.size - (size_t)(nul - d.data) - 1 !=
	    XG_FAST_HMAC_LEN) {
		explicit_bzero(d.data, d.size);
		gnutls_free(d.data);
		return sasl_failure(s, XG_SF_MALFORMED_REQUEST, "malformed "
		    "FAST response (user NUL 32-byte HMAC)") == -1 ? -1 : 1;
	}
	rc = xg_localpart_prep((const char *)d.data, (size_t)(nul - d.data),
	    pc->user, sizeof(pc->user), &pwhy);
	if (rc == 0 && xg_b64_encode(nul + 1, XG_FAST_HMAC_LEN, hmac,
	    sizeof(hmac)) == 0)
		rc = -1;
	explicit_bzero(d.data, d.size);
	gnutls_free(d.data);
	if (rc == -1)
		return sasl_failure(s, XG_SF_NOT_AUTHORIZED, "user name refused "
		    "by Nodeprep") == -1 ? -1 : 1;
	pc->user_len = strlen(pc->user);
	snprintf(s->c->user, sizeof(s->c->user), "%s", pc->user);
	cbd[0] = '\0';
	if (cbtype != 0 && (gnutls_session_channel_binding(s->c->tls,
	    gnutls_cb(cbtype), &cb) < 0 || cb.size == 0 || cb.size >
	    XG_SCRAM_CB_MAX || xg_b64_encode(cb.data, cb.size, cbd,
	    sizeof(cbd)) == 0)) {
		gnutls_free(cb.data);
		explicit_bzero(hmac, sizeof(hmac));
		return sasl_failure(s, XG_SF_TEMPORARY_AUTH_FAILURE, "no %s "
		    "binding data for %s", scram_cb_name(cbtype), mech) == -1 ?
		    -1 : 1;
	}
	gnutls_free(cb.data);
	snprintf(count, sizeof(count), "%lu", s->s2.fast_count);
	req->mechanism = mech;
	req->user = pc->user;
	req->domain = s->c->domain;
	req->attempt = s->failed + 1;
	req->conn = s->c;
	req->cbtype = cbtype ? scram_cb_name(cbtype) : NULL;
	req->cbdata = cbtype ? cbd : NULL;
	req->fast_client = s->s2.ua_id;
	req->fast_hmac = hmac;
	req->fast_invalidate = s->s2.fast_invalidate;
	req->fast_count = s->s2.has_fast_count ? count : NULL;
	xg_debug("FAST: user %s, %s; asking the helper", pc->user, mech);
	v = sasl_check(s, req, ar, why, sizeof(why));
	explicit_bzero(hmac, sizeof(hmac));
	req->fast_hmac = NULL;
	if (v != AUTH_ACCEPT)
		return helper_refused(s, v, ar, why);
	if (!ar->has_fast_responder)
		return sasl_failure(s, XG_SF_TEMPORARY_AUTH_FAILURE, "helper "
		    "accepted %s without fast-responder=", mech) == -1 ? -1 : 1;
	if (!ar->has_redirect && !ar->has_pass &&
	    (s->o->exec_argv == NULL || ar->has_backend))
		return sasl_failure(s, XG_SF_TEMPORARY_AUTH_FAILURE, "helper "
		    "gave no backend password (password=) for %s in connect "
		    "mode", mech) == -1 ? -1 : 1;
	if (xg_b64_encode(ar->fast_responder, XG_FAST_HMAC_LEN,
	    s->success_data, sizeof(s->success_data)) == 0)
		return stream_error(s, XG_SE_INTERNAL_SERVER_ERROR,
		    "internal error", XG_EXIT_TEMP, "FAST: responder");
	/* A rotated token (XEP-0484 "Token rotation"), for <success>. */
	if (ar->has_fast_token && ar->has_fast_expiry) {
		snprintf(s->fast_token, sizeof(s->fast_token), "%s",
		    ar->fast_token);
		snprintf(s->fast_expiry, sizeof(s->fast_expiry), "%s",
		    ar->fast_expiry);
	}
	return 0;
}

/*
 * The helper sent the user elsewhere (redirect=): RFC 6120 4.9.3.19, the
 * stream error <see-other-host/> naming the host; the client reconnects
 * there.  The session ended as the helper wanted: exit 0.
 */
static int
see_other_host(struct session *s, const char *host)
{
	char esc[6 * XG_BACKEND_ADDR_MAX + 1];

	xml_escape(esc, sizeof(esc), host, strlen(host));
	xg_debug("sent: stream error see-other-host %s", host);
	conn_printf(s->c, now_ms() + 5000, "<stream:error><see-other-host "
	    "xmlns='" NS_STREAM_ERR "'>%s</see-other-host></stream:error>"
	    "</stream:stream>", esc);
	close_client(s->c);
	return finish(s, XG_EXIT_OK, "see-other-host: the helper sent %s to "
	    "%s", s->c->user, host);
}

/* One attempt's verdict, from the helper in its --auth-protocol. */
enum auth_verdict
sasl_check(struct session *s, const struct auth_request *req,
    struct auth_reply *ar, char *why, size_t whysz)
{
	int t = s->o->auth_timeout * 1000;

	switch (s->o->auth_protocol) {
	case XG_AP_CHECKPASSWORD:
		return authproto_checkpassword(s->o->auth, s->o->self, req, t,
		    ar, why, whysz);
	case XG_AP_EJABBERD:
		memset(ar, 0, sizeof(*ar));
		return authproto_ejabberd(s->o->auth, req, t, why, whysz);
	default:
		return authhelper_run(s->o->auth, req, t, ar, why, whysz);
	}
}

int
sasl(struct session *s, struct plain_creds *pc, struct auth_reply *ar,
    int *bfd)
{
	struct xp_event ev;
	struct auth_request req;
	enum auth_verdict v;
	enum xg_sasl_failure sf;
	char why[XG_REASON_MAX], host[XG_BACKEND_ADDR_MAX + 1];
	const char *mech;
	int rc, scram;

	for (;;) {
		if (next_event(s, &ev) == -1 || common_event(s, &ev) == -1)
			return -1;
		switch (ev.type) {
		case XP_EV_AUTH:
		case XP_EV_AUTHENTICATE:
			if (sasl2_profile(s, &ev) == -1)
				return -1;
			break;
		case XP_EV_ABORT:
			if (ev.sasl2 && !s->sasl2_offered)
				return stream_error(s,
				    XG_SE_UNSUPPORTED_STANZA_TYPE,
				    "SASL2 is not offered here",
				    XG_EXIT_REFUSED, "<abort> of SASL2 where "
				    "SASL2 was not offered");
			if (s->profile == 0)
				s->profile = ev.sasl2 ? 2 : 1;
			if (ev.sasl2 != (s->profile == 2))
				return stream_error(s, XG_SE_POLICY_VIOLATION,
				    "SASL and SASL2 elements mixed",
				    XG_EXIT_REFUSED, "an <abort/> of the other "
				    "SASL profile");
			if (sasl_failure(s, XG_SF_ABORTED,
			    "aborted") == -1)
				return -1;
			continue;
		default:
			return stream_error(s, XG_SE_POLICY_VIOLATION,
			    "unexpected element", XG_EXIT_REFUSED,
			    "<%s> during SASL", ev.type == XP_EV_STARTTLS ?
			    "starttls" : ev.type == XP_EV_HEADER ? "stream" :
			    "response");
		}
		xg_debug("client: auth mechanism=%s (payload not logged)",
		    ev.mechanism);
		memset(&req, 0, sizeof(req));
		plain_wipe(pc);
		s->success_data[0] = '\0';
		scram = 0;
		explicit_bzero(s->fast_token, sizeof(s->fast_token));
		s->fast_expiry[0] = '\0';
		s->c->sasl2[0] = '\0';
		if (s->profile == 2 && sasl2_request_check(s, &ev, &sf, why,
		    sizeof(why)) == 1) {
			secrets_wipe(s, pc, ar);
			if (sasl_failure(s, sf, "%s", why) == -1)
				return -1;
			continue;
		}
		/* XEP-0388: <initial-response/> is an empty response, what
		 * RFC 6120 writes as '='; no element means none at all. */
		if (s->profile == 2 && s->s2.has_ir && ev.data_len == 0) {
			ev.data = "=";
			ev.data_len = 1;
			ev.data_empty = 0;
		}
		if (strcmp(ev.mechanism, "PLAIN") == 0 &&
		    mech_offered(s, "PLAIN") != NULL)
			rc = plain_attempt(s, &ev, pc, &req);
		else if (strcmp(ev.mechanism, "EXTERNAL") == 0 &&
		    s->c->cert_verified && s->o->auth_protocol == XG_AP_NATIVE)
			rc = external_attempt(s, &ev, pc, &req);
		else if (strncmp(ev.mechanism, "SCRAM-", 6) == 0 &&
		    (mech = mech_offered(s, ev.mechanism)) != NULL) {
			rc = scram_attempt(s, mech, &ev, pc, &req, ar);
			scram = 1;
		} else if (s->profile == 2 && (mech = sasl2_fast_offered(s,
		    ev.mechanism)) != NULL) {
			rc = fast_attempt(s, mech, &ev, pc, &req, ar);
			scram = 1;	/* the helper was asked already */
		} else
			rc = sasl_failure(s, XG_SF_INVALID_MECHANISM,
			    "mechanism '%.32s'", ev.mechanism) == -1 ? -1 : 1;
		if (rc == -1)
			return -1;
		if (rc == 1) {
			secrets_wipe(s, pc, ar);
			continue;
		}
		snprintf(s->c->user, sizeof(s->c->user), "%s", pc->user);
		req.domain = s->c->domain;
		req.attempt = s->failed + 1;
		req.conn = s->c;
		/* SCRAM asked the helper already, and checked the proof. */
		v = scram ? AUTH_ACCEPT : sasl_check(s, &req, ar, why, sizeof(why));
		if (v == AUTH_ACCEPT && strcmp(req.mechanism, "EXTERNAL") == 0 &&
		    external_accepted(s, pc, ar, &sf, why, sizeof(why)) == 1)
			v = AUTH_TEMPFAIL;	/* sf and why are set */
		else if (v == AUTH_ACCEPT && ar->has_redirect) {
			snprintf(host, sizeof(host), "%s", ar->redirect);
			secrets_wipe(s, pc, ar);
			return see_other_host(s, host);
		} else if (v == AUTH_ACCEPT) {
			snprintf(s->c->user, sizeof(s->c->user), "%s",
			    pc->user);
			if (!ar->has_backend && s->o->exec_argv != NULL) {
				if (s->profile == 2) {
					snprintf(s->c->sasl2,
					    sizeof(s->c->sasl2), "%s",
					    req.mechanism);
					sasl2_exec_login(s, pc->user);
					sasl2_token(s, pc->user);
				}
				secrets_wipe(s, pc, ar);
				*bfd = -1;	/* exec mode */
				return 0;
			}
			rc = login_backend(s, pc, ar, bfd, &sf, why,
			    sizeof(why));
			/* SASL2: what the client asked for besides the login
			 * (Bind2, stream management, a FAST token). */
			if (rc == 0 && s->profile == 2)
				snprintf(s->c->sasl2, sizeof(s->c->sasl2),
				    "%s", req.mechanism);
			if (rc == 0 && s->profile == 2 && (rc = sasl2_backend(s,
			    ar->has_user ? ar->user : pc->user, &sf, why,
			    sizeof(why))) == 1)
				backend_close(&s->bc);
			if (rc == 0 && s->profile == 2)
				sasl2_token(s, pc->user);
			secrets_wipe(s, pc, ar);
			if (rc <= 0)
				return rc;
		} else {
			rc = helper_refused(s, v, ar, why);
			secrets_wipe(s, pc, ar);
			if (rc == -1)
				return -1;
			continue;
		}
		secrets_wipe(s, pc, ar);
		if (sasl_failure(s, sf, "%s", why) == -1)
			return -1;
	}
}
