/*
 * The XML stream with the peer, before authentication, for every mode
 * that reads one (the client, the federation, route mode's one header):
 * reading and parsing (next_event(), common_event()), the stream headers
 * both ways, the features (STARTTLS before TLS, the SASL mechanisms
 * after it), STARTTLS itself, and the end of a session: a stream error,
 * the polite close, and finish(), which logs the summary line.  The
 * parser is pure (preauth.c); this is its I/O.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include "session.h"

#define DRAIN_MS		2000	/* reading after our close, so no RST */

/*
 * Close the connection politely: TLS close_notify, our half closed, then
 * read and drop what the client still sends for a moment, so the kernel
 * does not answer unread data with a reset that could eat our last words.
 */
void
close_client(struct conn *c)
{
	uint8_t junk[XG_DRAIN_BUF];
	int64_t until = now_ms() + DRAIN_MS;
	int i, one = 1;

	/* close_notify and FIN leave in one segment: a peer that sees the
	 * alert and writes before the FIN arrives would otherwise get a
	 * reset, not an orderly close.  Not a TCP socket: nothing to do. */
	(void)setsockopt(c->wfd, IPPROTO_TCP, TCP_CORK, &one, sizeof(one));
	if (c->tls)
		gnutls_bye(c->tls, GNUTLS_SHUT_WR);
	shutdown(c->wfd, SHUT_WR);
	for (i = 0; i < 64; i++)
		if (conn_read(c, junk, sizeof(junk), until) <= 0)
			break;
}

int
finish(struct session *s, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->c->outcome, sizeof(s->c->outcome), fmt, ap);
	va_end(ap);
	s->exitcode = code;
	preopen_drop(s, "the session ended");
	log_summary(s->c, code);
	return -1;
}

int
send_header(struct session *s)
{
	unsigned char rnd[XG_STREAM_ID_BYTES];
	char id[2 * XG_STREAM_ID_BYTES + 1];
	size_t i;

	gnutls_rnd(GNUTLS_RND_NONCE, rnd, sizeof(rnd));
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(id + 2 * i, 3, "%02x", rnd[i]);
	s->header_sent = 1;
	xg_debug("sent: stream header from=%s id=%s",
	    s->c->domain[0] ? s->c->domain : "-", id);
	/* --s2s-out, the backend's header refused before it was read
	 * whole: PROXY v2 LOCAL and a server's header (s2sout.c). */
	if (s->o->s2s_out)
		return s2sout_greet_local(s);
	if (s->o->s2s)		/* RFC 6120 4.7.2: 'to' the server that
				 * named itself; XEP-0220 prefix if it did */
		return conn_printf(s->c, s->deadline, "<?xml version='1.0'?>"
		    "<stream:stream xmlns='" NS_SERVER "' xmlns:stream='"
		    NS_STREAMS "'%s id='%s'%s%s%s%s%s%s version='1.0' "
		    "xml:lang='en'>", s->db ? " xmlns:db='" NS_DIALBACK "'" :
		    "", id, s->c->domain[0] ? " from='" : "", s->c->domain,
		    s->c->domain[0] ? "'" : "", s->c->remote_domain[0] ?
		    " to='" : "", s->c->remote_domain,
		    s->c->remote_domain[0] ? "'" : "");
	return conn_printf(s->c, s->deadline, "<?xml version='1.0'?>"
	    "<stream:stream xmlns='" NS_CLIENT "' xmlns:stream='" NS_STREAMS
	    "' id='%s'%s%s%s version='1.0' xml:lang='en'>", id,
	    s->c->domain[0] ? " from='" : "", s->c->domain,
	    s->c->domain[0] ? "'" : "");
}

/* RFC 6120 4.9: the error, our close tag, and the end of the connection. */
int
stream_error(struct session *s, enum xg_stream_error e, const char *text,
    int code, const char *fmt, ...)
{
	char esc[2 * XG_REASON_MAX], reason[XG_REASON_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (!s->header_sent)
		send_header(s);
	xml_escape(esc, sizeof(esc), text, strlen(text));
	xg_debug("sent: stream error %s (%s)", xg_stream_error_name(e), text);
	conn_printf(s->c, now_ms() + 5000, "<stream:error><%s xmlns='"
	    NS_STREAM_ERR "'/><text xmlns='" NS_STREAM_ERR "'>%s</text>"
	    "</stream:error></stream:stream>", xg_stream_error_name(e), esc);
	close_client(s->c);
	return finish(s, code, "%s: %s", xg_stream_error_name(e), reason);
}

/* The next client event, reading as needed; -1 when the session ended. */
int
next_event(struct session *s, struct xp_event *ev)
{
	size_t used;
	ssize_t n;
	int64_t dl;

	for (;;) {
		enum xp_result r = XP_MORE;
		if (s->len > 0) {
			r = xp_feed(&s->xp, s->buf, s->len, &used, ev);
			memmove(s->buf, s->buf + used, s->len - used);
			s->len -= used;
			/* No stale copy of what was parsed (an <auth>
			 * payload) stays behind in the buffer. */
			explicit_bzero(s->buf + s->len, used);
		}
		if (r == XP_EVENT)
			return 0;
		if (r == XP_ERROR)
			return stream_error(s, s->xp.err, s->xp.errtext,
			    XG_EXIT_REFUSED, "%s", s->xp.errtext);
		if (s->len == sizeof(s->buf))
			return stream_error(s, XG_SE_POLICY_VIOLATION,
			    "token too long", XG_EXIT_REFUSED,
			    "token too long");
		dl = s->deadline;
		if (s->want_header && s->header_deadline < dl)
			dl = s->header_deadline;
		n = conn_read(s->c, s->buf + s->len, sizeof(s->buf) - s->len,
		    dl);
		if (n == 0 && s->restarting) {
			close_client(s->c);
			return finish(s, XG_EXIT_OK, "client closed the "
			    "connection before its stream restart");
		}
		if (n == 0) {
			close_client(s->c);
			return finish(s, XG_EXIT_REFUSED, "client closed the "
			    "connection before authenticating");
		}
		if (n == -1 && errno == ETIMEDOUT && dl < s->deadline)
			return stream_error(s, XG_SE_CONNECTION_TIMEOUT,
			    "no stream header in time", XG_EXIT_REFUSED,
			    "no stream header within %d s",
			    s->o->header_timeout);
		if (n == -1 && errno == ETIMEDOUT)
			return stream_error(s, XG_SE_CONNECTION_TIMEOUT,
			    "too slow", XG_EXIT_REFUSED,
			    "pre-authentication timeout (%d s)", s->o->timeout);
		if (n == -1) {
			close_client(s->c);
			return finish(s, XG_EXIT_REFUSED, "client read: %s",
			    strerror(errno));
		}
		s->len += (size_t)n;
		if (s->keep_raw) {
			if ((size_t)n > sizeof(s->raw) - s->rawlen)
				return stream_error(s, XG_SE_POLICY_VIOLATION,
				    "stream header too long", XG_EXIT_REFUSED,
				    "more than %zu bytes before the stream "
				    "header ended", sizeof(s->raw));
			memcpy(s->raw + s->rawlen, s->buf + s->len - (size_t)n,
			    (size_t)n);
			s->rawlen += (size_t)n;
		}
		/* A TLS handshake record where XML must start: a client
		 * that wants Direct TLS (XEP-0368), and --starttls-only (or
		 * a connection arrive() could not peek at). */
		if (!s->first_checked && s->c->tls == NULL) {
			s->first_checked = 1;
			if (s->buf[0] == TLS_HANDSHAKE_RECORD)
				return stream_error(s, XG_SE_NOT_WELL_FORMED,
				    "TLS is not spoken here before STARTTLS "
				    "(Direct TLS is not enabled)",
				    XG_EXIT_REFUSED, "TLS ClientHello on the "
				    "STARTTLS port (Direct TLS is not enabled)");
		}
	}
}

/* Events that end the session the same way in every phase. */
int
common_event(struct session *s, const struct xp_event *ev)
{
	if (ev->type == XP_EV_CLOSE) {
		conn_printf(s->c, now_ms() + 5000, "</stream:stream>");
		close_client(s->c);
		/* Giving up after a failure is still a refusal: one guess
		 * per connection must not look like a clean visit.  After
		 * a temporary failure it is ours (a broken helper). */
		if (s->failed > 0)
			return finish(s, s->last_failure ==
			    XG_SF_TEMPORARY_AUTH_FAILURE ? XG_EXIT_TEMP :
			    XG_EXIT_REFUSED, "client closed the stream after "
			    "%d failed attempt%s", s->failed,
			    s->failed == 1 ? "" : "s");
		return finish(s, XG_EXIT_OK, "client closed the stream "
		    "before authenticating");
	}
	if (ev->type == XP_EV_STANZA)
		return stream_error(s, XG_SE_NOT_AUTHORIZED,
		    "authenticate first", XG_EXIT_REFUSED,
		    "<%s/> before authentication", ev->name);
	return 0;
}

/* The client's stream header, with a 'to': 0, or -1 when the session
 * ended (a stream error sent). */
int
client_header(struct session *s, struct xp_event *ev)
{
	int r;

	/* The first header is timed from the connection's start, the one
	 * after TLS from the end of the handshake. */
	s->header_deadline = (s->c->tls ? now_ms() : s->c->start_ms) +
	    (int64_t)s->o->header_timeout * 1000;
	s->want_header = 1;
	r = next_event(s, ev);
	s->want_header = 0;
	if (r == -1)
		return -1;
	if (ev->type != XP_EV_HEADER)
		return stream_error(s, XG_SE_NOT_WELL_FORMED, "expected a "
		    "stream header", XG_EXIT_REFUSED, "no stream header");
	xg_debug("client: stream header to=%s version=%s",
	    ev->has_to ? ev->to : "-", ev->has_version ? ev->version : "-");
	if (!ev->has_to)
		return stream_error(s, XG_SE_HOST_UNKNOWN, "no 'to' attribute",
		    XG_EXIT_REFUSED, "stream header without 'to'");
	return 0;
}

/* RFC 6120 4.7.5: we speak 1.0; a missing version means pre-1.0. */
int
version_check(struct session *s, const struct xp_event *ev)
{
	if (!ev->has_version || strncmp(ev->version, "1.", 2) != 0 ||
	    ev->version[2] == '\0' ||
	    strspn(ev->version + 2, "0123456789") != strlen(ev->version + 2))
		return stream_error(s, XG_SE_UNSUPPORTED_VERSION,
		    "version 1.0 required", XG_EXIT_REFUSED,
		    "unsupported stream version");
	return 0;
}

/* s2s: the server names itself in 'from' (RFC 6120 4.7.1), the same
 * name in every header of the connection. */
int
remote_from(struct session *s, const struct xp_event *ev)
{
	char dom[XG_DOMAIN_MAX + 1];

	s->db = ev->has_db;
	if (!ev->has_from || xg_domain_normalize(ev->from, dom,
	    sizeof(dom)) == -1)
		return stream_error(s, XG_SE_INVALID_FROM, "a 'from' naming "
		    "your server is required", XG_EXIT_REFUSED, ev->has_from ?
		    "stream 'from' is not a domain" : "stream header without "
		    "'from'");
	if (s->c->remote_domain[0] && strcmp(dom, s->c->remote_domain) != 0)
		return stream_error(s, XG_SE_INVALID_FROM, "'from' changed "
		    "within the connection", XG_EXIT_REFUSED, "stream 'from' "
		    "%s after %s", dom, s->c->remote_domain);
	snprintf(s->c->remote_domain, sizeof(s->c->remote_domain), "%s", dom);
	return 0;
}

/* Read the client's stream header and answer with ours. */
int
stream_header(struct session *s)
{
	struct xp_event ev;
	char dom[XG_DOMAIN_MAX + 1], err[XG_REASON_MAX];
	enum certs_result cr = CERTS_UNKNOWN;

	if (client_header(s, &ev) == -1)
		return -1;
	/* Before TLS the 'to' picks the certificate; after it, the 'to'
	 * must be what the first header (or SNI) named. */
	if (xg_domain_normalize(ev.to, dom, sizeof(dom)) == 0) {
		if (s->c->tls == NULL)
			cr = certs_select(s->tls, dom, err, sizeof(err));
		else
			cr = certs_domain_allowed(s->o, dom) ? CERTS_OK :
			    CERTS_UNKNOWN;
	}
	if (cr == CERTS_ERROR)
		return stream_error(s, XG_SE_INTERNAL_SERVER_ERROR,
		    "server configuration error", XG_EXIT_TEMP, "%s", err);
	if (cr == CERTS_UNKNOWN)
		return stream_error(s, XG_SE_HOST_UNKNOWN, "this domain is "
		    "not served here", XG_EXIT_REFUSED, "unknown domain");
	if (s->c->domain[0] && strcmp(dom, s->c->domain) != 0)
		return stream_error(s, XG_SE_HOST_UNKNOWN, "this domain is "
		    "not served here", XG_EXIT_REFUSED, s->c->direct_tls ?
		    "stream 'to' is not the SNI name" : "unknown domain");
	snprintf(s->c->domain, sizeof(s->c->domain), "%s", dom);
	if (version_check(s, &ev) == -1 ||
	    (s->o->s2s && remote_from(s, &ev) == -1))
		return -1;
	if (send_header(s) == -1)
		return finish(s, XG_EXIT_REFUSED, "client write: %s",
		    strerror(errno));
	return 0;
}

/*
 * The channel binding types this TLS connection has, of those offered:
 * tls-server-end-point always, tls-exporter on TLS 1.3 (RFC 9266),
 * tls-unique only on TLS 1.2 (it is not defined for 1.3), each only when
 * GnuTLS can give its data.
 */
static int
cb_types(struct conn *c)
{
	static const struct { int bit; gnutls_channel_binding_t t; } ts[] = {
		{ SCRAM_CB_TLS_EXPORTER, GNUTLS_CB_TLS_EXPORTER },
		{ SCRAM_CB_TLS_SERVER_END_POINT, GNUTLS_CB_TLS_SERVER_END_POINT },
		{ SCRAM_CB_TLS_UNIQUE, GNUTLS_CB_TLS_UNIQUE },
	};
	gnutls_protocol_t v = gnutls_protocol_get_version(c->tls);
	gnutls_datum_t d;
	int mask = 0;
	size_t i;

	for (i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
		if ((ts[i].bit == SCRAM_CB_TLS_UNIQUE && v != GNUTLS_TLS1_2) ||
		    (ts[i].bit == SCRAM_CB_TLS_EXPORTER && v != GNUTLS_TLS1_3))
			continue;
		if (gnutls_session_channel_binding(c->tls, ts[i].t, &d) == 0) {
			if (d.size > 0 && d.size <= XG_SCRAM_CB_MAX)
				mask |= ts[i].bit;
			gnutls_free(d.data);
		}
	}
	return mask;
}

/*
 * The SASL feature after TLS: EXTERNAL first when a certificate verified,
 * then --sasl-mechanisms in order (-PLUS only when the connection has a
 * binding type), SASL2's offer (sasl2.c), and XEP-0440's list of binding
 * types with -PLUS or FAST's bound forms.  The offer is kept in the
 * session (offered, offered_cb) for XEP-0474.
 */
static void
mechanisms(struct session *s, int ext, char *out, size_t outsz,
    char *names, size_t namesz)
{
	enum scram_hash h;
	int plus = 0, bit, cbadv;
	size_t i, n = 0, ncb = 0;

	/* The binding data are asked for only when -PLUS may be offered,
	 * or FAST's bound forms. */
	s->cb_mask = 0;
	for (i = 0; i < s->o->nmechs; i++)
		if (scram_mech(s->o->mechs[i], &h, &plus) == 0 && plus) {
			s->cb_mask = cb_types(s->c);
			break;
		}
	if (s->o->fast && s->cb_mask == 0)
		s->cb_mask = cb_types(s->c);
	s->plus_offered = 0;
	if (ext)
		s->offered[n++] = "EXTERNAL";
	for (i = 0; i < s->o->nmechs; i++) {
		if (scram_mech(s->o->mechs[i], &h, &plus) == 0 && plus) {
			if (s->cb_mask == 0)
				continue;
			s->plus_offered = 1;
		}
		s->offered[n++] = s->o->mechs[i];
	}
	s->offered[n] = NULL;
	snprintf(out, outsz, "<mechanisms xmlns='" NS_SASL "'>");
	names[0] = '\0';
	for (i = 0; i < n; i++) {
		snprintf(out + strlen(out), outsz - strlen(out),
		    "<mechanism>%s</mechanism>", s->offered[i]);
		snprintf(names + strlen(names), namesz - strlen(names),
		    "%s%s", i ? " " : "", s->offered[i]);
	}
	snprintf(out + strlen(out), outsz - strlen(out), "</mechanisms>");
	sasl2_offer(s, out + strlen(out), outsz - strlen(out),
	    names + strlen(names), namesz - strlen(names));
	/* XEP-0440's list goes with every mechanism that binds: -PLUS, and
	 * FAST's bound forms. */
	cbadv = s->plus_offered;
	for (i = 0; s->fast_offered[i] != NULL; i++)
		if (sasl2_cbtype(s->fast_offered[i]) != 0)
			cbadv = 1;
	if (cbadv)
		for (bit = SCRAM_CB_TLS_UNIQUE; bit <= SCRAM_CB_TLS_EXPORTER;
		    bit <<= 1)
			if (s->cb_mask & bit)
				s->offered_cb[ncb++] = scram_cb_name(bit);
	s->offered_cb[ncb] = NULL;
	if (ncb == 0)
		return;
	snprintf(out + strlen(out), outsz - strlen(out),
	    "<sasl-channel-binding xmlns='" NS_SASL_CB "'>");
	snprintf(names + strlen(names), namesz - strlen(names), "; binding");
	for (i = 0; i < ncb; i++) {
		snprintf(out + strlen(out), outsz - strlen(out),
		    "<channel-binding type='%s'/>", s->offered_cb[i]);
		snprintf(names + strlen(names), namesz - strlen(names),
		    " %s", s->offered_cb[i]);
	}
	snprintf(out + strlen(out), outsz - strlen(out),
	    "</sasl-channel-binding>");
}

/* The client's stream header, ours, and the features. */
int
stream_open(struct session *s)
{
	if (stream_header(s) == -1)
		return -1;
	/* The client's domain is known: a pre-opened backend gets our
	 * header while the client goes on (preopen.c). */
	preopen_stream(s);
	if (s->c->tls == NULL) {
		xg_debug("sent: features starttls required%s", s->db ?
		    ", dialback" : "");
		if (conn_printf(s->c, s->deadline, "<stream:features>"
		    "<starttls xmlns='" NS_TLS "'><required/></starttls>%s"
		    "</stream:features>", s->db ? "<dialback xmlns='"
		    NS_DIALBACK_FEATURE "'/>" : "") == -1)
			return finish(s, XG_EXIT_REFUSED, "client write: %s",
			    strerror(errno));
	} else {
		/* XEP-0178: EXTERNAL first when a certificate verified (and
		 * the helper speaks the native protocol). */
		int ext = s->c->cert_verified &&
		    s->o->auth_protocol == XG_AP_NATIVE;

		char m[XG_SASL_OFFER_MAX], names[512];

		mechanisms(s, ext, m, sizeof(m), names, sizeof(names));
		xg_debug("sent: features mechanisms %s", names);
		if (conn_printf(s->c, s->deadline, "<stream:features>%s"
		    "</stream:features>", m) == -1)
			return finish(s, XG_EXIT_REFUSED, "client write: %s",
			    strerror(errno));
	}
	return 0;
}

int
starttls(struct session *s)
{
	struct xp_event ev;
	char err[XG_REASON_MAX];
	int64_t hs;

	if (next_event(s, &ev) == -1 || common_event(s, &ev) == -1)
		return -1;
	if (ev.type != XP_EV_STARTTLS)
		return stream_error(s, XG_SE_POLICY_VIOLATION,
		    "STARTTLS is required", XG_EXIT_REFUSED,
		    "<%s> before STARTTLS", ev.type == XP_EV_AUTH ? "auth" :
		    ev.type == XP_EV_AUTHENTICATE ? "authenticate" :
		    ev.type == XP_EV_RESPONSE ? "response" :
		    ev.type == XP_EV_DIALBACK ? (ev.name[0] == 'r' ?
		    "db:result" : "db:verify") : "abort");
	xg_debug("client: starttls; sent: proceed");
	if (conn_printf(s->c, s->deadline, "<proceed xmlns='" NS_TLS "'/>")
	    == -1)
		return finish(s, XG_EXIT_REFUSED, "client write: %s",
		    strerror(errno));
	/* Nothing read before <proceed/> may be used after it.  The
	 * newline a client writes after each element is not worth a
	 * notice: it ends the old stream (xp_restart()). */
	if (xml_ws_span(s->buf, s->len) < s->len)
		xg_log(LOG_NOTICE, "discarded %zu plaintext bytes sent after "
		    "<starttls/>", s->len);
	explicit_bzero(s->buf, sizeof(s->buf));
	s->len = 0;
	hs = now_ms() + (int64_t)s->o->handshake_timeout * 1000;
	if (tls_start(s->c, s->tls, 0, hs < s->deadline ? hs : s->deadline,
	    err, sizeof(err)) == -1) {
		close_client(s->c);
		return finish(s, XG_EXIT_REFUSED, "%s", err);
	}
	xg_debug("TLS up: %s %s%s", s->c->tls_protocol, s->c->tls_cipher,
	    s->c->tls_resumed ? " (resumed)" : "");
	xp_restart(&s->xp);
	s->xp.s2s = s->o->s2s;
	s->header_sent = 0;
	return 0;
}
