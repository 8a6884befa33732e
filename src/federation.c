/*
 * Federation (--s2s): a remote server's stream, after the arrival and
 * STARTTLS (arrival.c, stream.c) with its certificate asked for
 * (tls.c).  Its restarted header is kept byte for byte; its certificate
 * is checked for the name it gives (s2sid.c, pure); the policy helper is
 * asked once; then either SASL EXTERNAL or XEP-0344 is answered here
 * (s2s_external()), or the backend does dialback itself.  Either way the
 * stream goes to the backend behind a PROXY v2 header that says what we
 * authenticated (s2s_handoff()), and the relay (handoff.c) carries it.
 * Also here: the stream error text for a certificate that cannot be
 * used, and, after XEP-0344, reading away the backend's header and
 * features, which the remote must not see a second time.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <gnutls/gnutls.h>
#include "session.h"

#define S2S_DEPTH_MAX	16	/* nesting in the backend's features */

static int s2s_handoff(struct session *, int, const char *);

/* What the remote's operator reads when a certificate is required
 * (the wording follows Prosody's, which remotes already log). */
static const char *
s2s_cert_refusal(const char *status)
{
	if (status == NULL || strcmp(status, "none") == 0)
		return "Your server did not present a certificate";
	if (strcmp(status, "expired") == 0)
		return "Your server's certificate has expired";
	if (strcmp(status, "not-yet-valid") == 0)
		return "Your server's certificate is not yet valid";
	if (strcmp(status, "untrusted") == 0)
		return "Your server's certificate is not trusted";
	if (strcmp(status, "name-mismatch") == 0)
		return "Your server's certificate is not valid for this name";
	if (strcmp(status, "revoked") == 0)
		return "Your server's certificate has been revoked";
	return "Your server's certificate could not be validated";
}

/*
 * The backend's answer to the header we replayed: an XML declaration, its
 * stream header and its features, read and dropped.  Nothing may follow
 * them before the remote's next stanza; 0, or -1 with why.
 */
static int
s2s_skip_features(struct conn *bc, int64_t deadline, char *why, size_t whysz)
{
	static struct xml_token tok;
	uint8_t buf[XG_READ_BUF];
	size_t len = 0, used, total = 0;
	int depth = 0, features = 0, decl = 0;
	enum xml_result xr;
	ssize_t n;

	for (;;) {
		while (len > 0) {
			xr = xml_lex(buf, len, &tok, &used);
			if (xr == XML_MORE)
				break;
			if (xr != XML_OK) {
				snprintf(why, whysz, "backend sent bad XML: %s",
				    xml_result_str(xr));
				return -1;
			}
			memmove(buf, buf + used, len - used);
			len -= used;
			/* One declaration, before the header. */
			if (tok.type == XML_TOK_DECL && (depth > 0 || decl++)) {
				snprintf(why, whysz, "backend sent a misplaced "
				    "declaration");
				return -1;
			}
			if (tok.type == XML_TOK_START && depth == 0 &&
			    strcmp(tok.name, "stream:stream") != 0) {
				snprintf(why, whysz, "backend sent <%s> "
				    "instead of a stream header", tok.name);
				return -1;
			}
			if (tok.type == XML_TOK_START && depth == 1 &&
			    strcmp(tok.name, "stream:features") != 0) {
				snprintf(why, whysz, "backend sent <%s> "
				    "instead of its features", tok.name);
				return -1;
			}
			if (tok.type == XML_TOK_START && depth == 1)
				features = 1;
			if (tok.type == XML_TOK_START && !tok.empty &&
			    ++depth > S2S_DEPTH_MAX) {
				snprintf(why, whysz, "backend XML too deep");
				return -1;
			}
			if (tok.type == XML_TOK_END && --depth < 1) {
				snprintf(why, whysz, "backend closed its "
				    "stream");
				return -1;
			}
			if (features && depth == 1) {
				/* A newline after the features is dropped;
				 * anything else would be lost. */
				if (xml_ws_span(buf, len) < len) {
					snprintf(why, whysz, "backend sent "
					    "data after its features");
					return -1;
				}
				return 0;
			}
		}
		if (len == sizeof(buf) || total > XG_FEATURES_MAX) {
			snprintf(why, whysz, "backend features too long");
			return -1;
		}
		n = conn_read(bc, buf + len, sizeof(buf) - len, deadline);
		if (n <= 0) {
			snprintf(why, whysz, "backend %s before its features",
			    n == 0 ? "closed the connection" : errno ==
			    ETIMEDOUT ? "timed out" : strerror(errno));
			return -1;
		}
		len += (size_t)n;
		total += (size_t)n;
	}
}

/*
 * s2s: keep every byte from here on for the backend, starting with those
 * read but not parsed yet (a header that came in one record with the
 * element before it), then read the remote's header.  Its bytes are
 * raw[0..hdrlen).
 */
static int
s2s_header(struct session *s, struct xp_event *ev)
{
	memcpy(s->raw, s->buf, s->len);
	s->rawlen = s->len;
	s->keep_raw = 1;
	if (client_header(s, ev) == -1)
		return -1;
	s->keep_raw = 0;
	if (s->rawlen < s->len || s->xp.tail > s->rawlen - s->len)
		return stream_error(s, XG_SE_INTERNAL_SERVER_ERROR,
		    "internal error", XG_EXIT_TEMP, "raw bytes lost");
	/* The backend reads a new document: the whitespace that ended the
	 * remote's old stream would put its declaration out of place. */
	memmove(s->raw, s->raw + s->xp.tail, s->rawlen - s->xp.tail);
	s->rawlen -= s->xp.tail;
	s->hdrlen = s->rawlen - s->len;
	return 0;
}

/*
 * s2s, after TLS: the remote's new header (kept byte for byte in raw for
 * the backend), its certificate checked for the domain it names, and the
 * policy helper.  0 when the certificate names the server and it is
 * welcome (s2s_external() goes on); otherwise the session ends here: a
 * refusal, or the dialback pass-through, in which the backend answers
 * this very header, so that the remote's dialback key is bound to the
 * backend's stream id (XEP-0220 ties it to the receiving stream).
 */
int
s2s_stream(struct session *s)
{
	static struct auth_reply ar;
	struct auth_request req;
	struct xp_event ev;
	struct conn *c = s->c;
	char dom[XG_DOMAIN_MAX + 1], why[XG_REASON_MAX];
	enum auth_verdict v;
	int require = s->o->s2s_require_cert, valid;

	if (s2s_header(s, &ev) == -1)
		return -1;
	if (xg_domain_normalize(ev.to, dom, sizeof(dom)) == -1 ||
	    strcmp(dom, c->domain) != 0)
		return stream_error(s, XG_SE_HOST_UNKNOWN, "this domain is "
		    "not served here", XG_EXIT_REFUSED, "stream 'to' changed "
		    "after TLS");
	if (version_check(s, &ev) == -1 || remote_from(s, &ev) == -1)
		return -1;
	if (strcmp(c->cert_status, "valid") == 0 &&
	    (c->cert_match = s2s_id_match(c->cert_dnsnames,
	    c->cert_srvnames, c->cert_xmppaddrs, c->remote_domain)) ==
	    S2S_MATCH_NONE)
		c->cert_status = "name-mismatch";
	valid = strcmp(c->cert_status, "valid") == 0;
	xg_log(LOG_INFO, "server %s: certificate %s%s%s%s%s",
	    c->remote_domain, c->cert_status, valid ? " by " : "",
	    valid ? s2s_match_name(c->cert_match) : "",
	    c->cert_presented ? " sha256=" : "",
	    c->cert_presented ? c->cert_sha256 : "");
	s->s2s_backend = s->o->backend;
	name_backend(c, &s->s2s_backend);
	if (s->o->auth != NULL) {
		memset(&req, 0, sizeof(req));
		req.mechanism = valid ? "EXTERNAL" : "DIALBACK";
		req.user = c->remote_domain;
		req.domain = c->domain;
		req.attempt = 1;
		req.conn = c;
		v = authhelper_run(s->o->auth, &req, s->o->auth_timeout * 1000,
		    &ar, why, sizeof(why));
		if (v == AUTH_TEMPFAIL)
			return stream_error(s, XG_SE_INTERNAL_SERVER_ERROR,
			    "internal error", XG_EXIT_TEMP, "policy %s",
			    why);
		if (v == AUTH_REJECT) {
			snprintf(why, sizeof(why), "federation with %.200s is "
			    "not allowed here", c->remote_domain);
			return stream_error(s, XG_SE_POLICY_VIOLATION,
			    ar.has_message ? ar.message : why, XG_EXIT_REFUSED,
			    "policy helper refused %s", c->remote_domain);
		}
		if (ar.has_require && strcmp(ar.require, "certificate") != 0)
			return stream_error(s, XG_SE_INTERNAL_SERVER_ERROR,
			    "internal error", XG_EXIT_TEMP, "policy helper: "
			    "require= wants 'certificate'");
		require |= ar.has_require;
		if (ar.has_backend && (netaddr_parse(ar.backend,
		    &s->s2s_backend) == -1 ||
		    !netaddr_loopback(&s->s2s_backend)))
			return stream_error(s, XG_SE_INTERNAL_SERVER_ERROR,
			    "internal error", XG_EXIT_TEMP, "policy helper: "
			    "backend= is not a loopback address or UNIX "
			    "socket");
		if (ar.has_backend)
			name_backend(c, &s->s2s_backend);
	}
	if (valid)
		return 0;
	if (require)
		return stream_error(s, XG_SE_NOT_AUTHORIZED,
		    s2s_cert_refusal(c->cert_status), XG_EXIT_REFUSED,
		    "server %s: certificate %s, and one is required",
		    c->remote_domain, c->cert_status);
	c->s2s_auth = "dialback";
	return s2s_handoff(s, 0, NULL);
}

/*
 * Hand the stream to the backend: a PROXY v2 header that names our domain
 * and, when we authenticated the server (authed), the server; the
 * remote's last header as it came; the rest is the relay.  After XEP-0344
 * the remote has our header already, so the backend's is dropped, and
 * our answer (answer) goes out only once the backend has taken the
 * stream.  Always -1: the session ends here.
 */
static int
s2s_handoff(struct session *s, int authed, const char *answer)
{
	struct conn *c = s->c, bc;
	uint8_t ph[XG_PROXY_OUT_MAX];
	char why[XG_REASON_MAX];
	int64_t dl = now_ms() + (int64_t)s->o->backend_timeout * 1000;
	size_t phlen = 0;
	pid_t pid = 0;
	int fd;

	memset(&bc, 0, sizeof(bc));
	if (s->o->exec_argv != NULL) {
		snprintf(c->backend, sizeof(c->backend), "exec:%s",
		    s->o->exec_argv[0]);
		if ((fd = exec_start(s->o->exec_argv, c, &pid, why,
		    sizeof(why))) == -1)
			return stream_error(s, XG_SE_INTERNAL_SERVER_ERROR,
			    "internal error", XG_EXIT_TEMP, "%s", why);
	} else {
		phlen = proxy_build(2, c->remote_ip, c->remote_port,
		    c->local_ip, c->local_port, ph, sizeof(ph));
		phlen = proxy_add_tlv(ph, phlen, sizeof(ph),
		    PP2_TYPE_AUTHORITY, c->domain, strlen(c->domain));
		if (authed)
			phlen = proxy_add_tlv(ph, phlen, sizeof(ph),
			    PP2_TYPE_XMPPGATE_S2S, c->remote_domain,
			    strlen(c->remote_domain));
		if (phlen == 0)
			return stream_error(s, XG_SE_INTERNAL_SERVER_ERROR,
			    "internal error", XG_EXIT_TEMP,
			    "PROXY header does not fit");
		if ((fd = netaddr_connect(&s->s2s_backend, dl, why,
		    sizeof(why))) == -1)
			return stream_error(s, XG_SE_REMOTE_CONNECTION_FAILED,
			    "the server is not reachable", XG_EXIT_TEMP,
			    "backend %s: %s", c->backend, why);
	}
	bc.rfd = bc.wfd = fd;
	if ((phlen > 0 && conn_write(&bc, ph, phlen, dl) == -1) ||
	    conn_write(&bc, s->raw, s->hdrlen, dl) == -1)
		snprintf(why, sizeof(why), "write: %s", strerror(errno));
	else if (answer == NULL || s2s_skip_features(&bc, dl, why,
	    sizeof(why)) == 0)
		why[0] = '\0';
	explicit_bzero(s->raw, sizeof(s->raw));
	if (why[0] == '\0' && answer != NULL &&
	    conn_printf(c, s->deadline, "%s", answer) == -1)
		snprintf(why, sizeof(why), "client write: %s",
		    strerror(errno));
	if (why[0] != '\0') {
		close(fd);
		if (pid > 0)
			reap(pid);
		return stream_error(s, XG_SE_REMOTE_CONNECTION_FAILED,
		    "the server is not reachable", XG_EXIT_TEMP,
		    "backend %s: %s", c->backend, why);
	}
	relay(s, fd);
	if (pid > 0)
		reap(pid);
	return -1;
}

/* RFC 6120 6.4.2 for EXTERNAL: the authzid, "=" for an empty one, or a
 * challenge first when there was no initial response.  0 with authz (may
 * be ""), 1 after a <failure/>, -1 when the session ended. */
static int
external_authzid(struct session *s, struct xp_event *ev, char *authz,
    size_t authzsz)
{
	gnutls_datum_t d = { NULL, 0 };
	const char *fail = NULL;

	if (ev->data_empty) {
		xg_debug("sent: empty challenge");
		if (conn_printf(s->c, s->deadline, "<challenge xmlns='"
		    NS_SASL "'/>") == -1)
			return finish(s, XG_EXIT_REFUSED, "client write: %s",
			    strerror(errno));
		if (next_event(s, ev) == -1 || common_event(s, ev) == -1)
			return -1;
		if (ev->type == XP_EV_ABORT)
			fail = "aborted";
		else if (ev->type != XP_EV_RESPONSE)
			return stream_error(s, XG_SE_POLICY_VIOLATION,
			    "a SASL response was expected", XG_EXIT_REFUSED,
			    "no <response/> after the challenge");
	}
	authz[0] = '\0';
	if (fail == NULL && ev->data_len == 1 && ev->data[0] == '=')
		return 0;
	if (fail == NULL && ev->data_len > 0) {
		if (xg_b64_decode(ev->data, ev->data_len, &d) == -1)
			fail = "incorrect-encoding";
		else if (d.size >= authzsz || memchr(d.data, '\0', d.size))
			fail = "invalid-authzid";
		else {
			memcpy(authz, d.data, d.size);
			authz[d.size] = '\0';
		}
		if (d.data != NULL)
			gnutls_free(d.data);
	}
	if (fail == NULL)
		return 0;
	xg_debug("sent: failure %s", fail);
	if (conn_printf(s->c, s->deadline, "<failure xmlns='" NS_SASL
	    "'><%s/></failure>", fail) == -1)
		return finish(s, XG_EXIT_REFUSED, "client write: %s",
		    strerror(errno));
	return 1;
}

/*
 * s2s with a certificate that names the server: our header and features,
 * then SASL EXTERNAL (XEP-0178), or a <db:result> for that server that we
 * answer ourselves (XEP-0344: the certificate is the proof).  Either way
 * the stream goes to the backend as authenticated.
 */
int
s2s_external(struct session *s)
{
	struct xp_event ev;
	struct conn *c = s->c;
	char authz[XG_DOMAIN_MAX + 1], dom[XG_DOMAIN_MAX + 1];
	char answer[2 * XG_DOMAIN_NAME_MAX + 128];
	int r;

	if (send_header(s) == -1)
		return finish(s, XG_EXIT_REFUSED, "client write: %s",
		    strerror(errno));
	xg_debug("sent: features EXTERNAL%s", s->db ? ", dialback" : "");
	if (conn_printf(s->c, s->deadline, "<stream:features><mechanisms "
	    "xmlns='" NS_SASL "'><mechanism>EXTERNAL</mechanism></mechanisms>"
	    "%s</stream:features>", s->db ? "<dialback xmlns='"
	    NS_DIALBACK_FEATURE "'/>" : "") == -1)
		return finish(s, XG_EXIT_REFUSED, "client write: %s",
		    strerror(errno));
	for (;;) {
		if (next_event(s, &ev) == -1 || common_event(s, &ev) == -1)
			return -1;
		if (ev.type == XP_EV_DIALBACK) {
			if (ev.name[0] != 'r')
				return stream_error(s, XG_SE_POLICY_VIOLATION,
				    "send <db:verify> on a stream of its own",
				    XG_EXIT_REFUSED, "<db:verify> on a stream "
				    "with a verified certificate");
			if (!ev.has_from || xg_domain_normalize(ev.from, dom,
			    sizeof(dom)) == -1 || strcmp(dom,
			    c->remote_domain) != 0 || !ev.has_to ||
			    xg_domain_normalize(ev.to, dom, sizeof(dom)) ==
			    -1 || strcmp(dom, c->domain) != 0)
				return stream_error(s, XG_SE_INVALID_FROM,
				    "this stream is for the domain your "
				    "certificate names", XG_EXIT_REFUSED,
				    "<db:result> for another pair of domains");
			/* The prefix declared here: the remote may have used
			 * a default namespace instead of xmlns:db. */
			snprintf(answer, sizeof(answer), "<db:result xmlns:db='"
			    NS_DIALBACK "' from='%.253s' to='%.253s' "
			    "type='valid'/>", c->domain, c->remote_domain);
			xg_debug("client: db:result; sent: valid (XEP-0344)");
			c->s2s_auth = "certificate";
			return s2s_handoff(s, 1, answer);
		}
		if (ev.type != XP_EV_AUTH)
			return stream_error(s, XG_SE_POLICY_VIOLATION,
			    ev.type == XP_EV_STARTTLS ? "TLS is already up" :
			    "authenticate first", XG_EXIT_REFUSED,
			    "<%s> where <auth> was expected", ev.name);
		if (strcmp(ev.mechanism, "EXTERNAL") != 0) {
			xg_debug("sent: failure invalid-mechanism");
			if (conn_printf(s->c, s->deadline, "<failure xmlns='"
			    NS_SASL "'><invalid-mechanism/></failure>") == -1)
				return finish(s, XG_EXIT_REFUSED, "client "
				    "write: %s", strerror(errno));
			if (++s->failed >= s->o->max_attempts)
				return stream_error(s, XG_SE_POLICY_VIOLATION,
				    "too many attempts", XG_EXIT_REFUSED,
				    "%d failed attempts", s->failed);
			continue;
		}
		if ((r = external_authzid(s, &ev, authz, sizeof(authz))) == -1)
			return -1;
		if (r == 1) {
			if (++s->failed >= s->o->max_attempts)
				return stream_error(s, XG_SE_POLICY_VIOLATION,
				    "too many attempts", XG_EXIT_REFUSED,
				    "%d failed attempts", s->failed);
			continue;
		}
		/* XEP-0178: the authzid is the stream's 'from', or none. */
		if (authz[0] != '\0' && (xg_domain_normalize(authz, dom,
		    sizeof(dom)) == -1 || strcmp(dom, c->remote_domain) != 0)) {
			xg_debug("sent: failure invalid-authzid");
			conn_printf(s->c, s->deadline, "<failure xmlns='"
			    NS_SASL "'><invalid-authzid/></failure>"
			    "</stream:stream>");
			close_client(s->c);
			return finish(s, XG_EXIT_REFUSED, "EXTERNAL authzid "
			    "is not %s", c->remote_domain);
		}
		break;
	}
	c->s2s_auth = "external";
	xg_debug("sent: success");
	if (conn_printf(s->c, s->deadline, "<success xmlns='" NS_SASL "'/>")
	    == -1)
		return finish(s, XG_EXIT_OK, "client write: %s",
		    strerror(errno));
	/* The remote's new header is the backend's to answer. */
	xp_restart(&s->xp);
	s->xp.s2s = 1;
	s->header_sent = 0;
	s->restarting = 1;
	s->deadline = now_ms() + ((int64_t)s->o->header_timeout + 1) * 1000;
	if (s2s_header(s, &ev) == -1)
		return -1;
	if (xg_domain_normalize(ev.to, dom, sizeof(dom)) == -1 ||
	    strcmp(dom, c->domain) != 0)
		return stream_error(s, XG_SE_HOST_UNKNOWN, "this domain is "
		    "not served here", XG_EXIT_REFUSED, "stream 'to' changed "
		    "after SASL");
	if (version_check(s, &ev) == -1 || remote_from(s, &ev) == -1)
		return -1;
	return s2s_handoff(s, 1, NULL);
}
