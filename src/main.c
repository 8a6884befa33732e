/*
 * xmppgate: an XMPP front door.  One process per client connection:
 * stream, STARTTLS, SASL PLAIN checked by a helper, then a backend login
 * (or an exec'd program), then a byte relay.  main() is the table of
 * contents; each phase is one function below or one file.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <gnutls/crypto.h>
#include <gnutls/socket.h>
#include "session.h"

#define FREE_FILL		0xa5	/* freed heap bytes before the relay */

static void std_fds_open(void);
static int s2s_stream(struct session *);
static int s2s_external(struct session *);
static int s2s_handoff(struct session *, int, const char *);

int
main(int argc, char **argv)
{
	static struct options o;
	static struct conn c;
	static struct session s;
	static struct plain_creds creds;
	static struct auth_reply reply;
	struct tlsctx tls;
	char err[XG_REASON_MAX];
	int bfd = -1;

	/* Writes to a gone peer or helper are errors, not deaths; SIGCHLD
	 * stays default so that waitpid() sees the helper's status. */
	/* Run by a checkpassword program that accepted (authproto.c). */
	if (argc == 2 && strcmp(argv[1], "--checkpassword-reply") == 0)
		return checkpassword_reply();
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	/* Until the relay, glibc overwrites every freed block: what GnuTLS
	 * decrypted (an <auth> payload) and freed is gone with it. */
	mallopt(M_PERTURB, FREE_FILL);
	std_fds_open();
	parse_options(argc, argv, &o);
	if (conn_init(&c) == -1) {
		log_init(1, o.verbose, 0);
		xg_log(LOG_ERR, "fatal: unable to find the connection: %s",
		    strerror(errno));
		return XG_EXIT_TEMP;
	}
	log_init(o.use_syslog, o.verbose, c.rfd);
	log_conn(&c);
	s.o = &o;
	s.c = &c;
	s.tls = &tls;
	s.deadline = c.start_ms + (int64_t)o.timeout * 1000;
	s.fail_delay_ms = -1;
	xg_debug("connection from %s:%s", c.remote_ip, c.remote_port);

	/* Route mode: one plaintext header picks the backend, which does
	 * STARTTLS and SASL itself; then splice(2) both ways. */
	if (o.route != NULL) {
		if (route_start(&s) == 0 &&	/* the map, privileges */
		    proxy_accept(&s) == 0)	/* the load balancer's word */
			route_stream(&s);	/* header, backend, splice */
		return s.exitcode;
	}

	/* --cert/--key, --client-ca and --ticket-key are read before any
	 * byte from the client (--cert-dir and --cert-helper: the domain's
	 * certificate once its name is known).  The client learns only that
	 * the server is broken, the log says why. */
	if (tls_load(&tls, &o, err, sizeof(err)) == -1) {
		stream_error(&s, XG_SE_INTERNAL_SERVER_ERROR,
		    "server configuration error", XG_EXIT_TEMP, "%s", err);
		return s.exitcode;
	}
	if (priv_drop(o.user, err, sizeof(err)) == -1) {
		stream_error(&s, XG_SE_INTERNAL_SERVER_ERROR,
		    "server configuration error", XG_EXIT_TEMP, "%s", err);
		tls_free(&tls);
		return s.exitcode;
	}

	/* Federation: a server's stream, STARTTLS with its certificate
	 * asked for, then EXTERNAL (or XEP-0344) when the certificate names
	 * it, or the backend's own dialback when it does not. */
	if (o.s2s) {
		s.xp.s2s = 1;
		c.cert_status = "none";	/* until TLS says more */
		if (proxy_accept(&s) == 0 &&	/* the load balancer's word */
		    stream_open(&s) == 0 &&	/* header, STARTTLS required */
		    starttls(&s) == 0 &&	/* TLS, a certificate asked */
		    s2s_stream(&s) == 0)	/* certificate, policy (or the
						 * dialback pass-through) */
			s2s_external(&s);	/* EXTERNAL, hand-off, relay */
		explicit_bzero(s.buf, sizeof(s.buf));
		tls_free(&tls);
		return s.exitcode;
	}

	/* Each phase returns -1 once finish() has logged the summary. */
	if (proxy_accept(&s) == 0 &&		/* the load balancer's word */
	    arrive(&s) == 0 &&			/* Direct TLS, or STARTTLS */
	    stream_open(&s) == 0 &&		/* header, mechanisms */
	    sasl(&s, &creds, &reply, &bfd) == 0) /* SASL, helper, login */
		handoff(&s, bfd);		/* <success/>, relay */
	/* Every path ends here: no credential outlives the session. */
	plain_wipe(&creds);
	auth_reply_wipe(&reply);
	explicit_bzero(s.buf, sizeof(s.buf));
	explicit_bzero(&s.xp, sizeof(s.xp));
	scram_wipe(&s.scram);
	explicit_bzero(&s.screds, sizeof(s.screds));
	tls_free(&tls);
	return s.exitcode;
}

/* A closed fd 0, 1 or 2 would be reused by the next open(): fill it. */
static void
std_fds_open(void)
{
	int fd;

	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2)
		;
	if (fd > 2)
		close(fd);
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
static int
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
static int
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
