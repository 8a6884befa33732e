/*
 * The arrival of a connection, before any XML: with
 * --accept-proxy-protocol the load balancer's PROXY header first
 * (proxyproto.c parses it), then, in client mode, the first byte picks
 * Direct TLS (XEP-0368: the handshake at once, SNI naming the domain) or
 * the XML stream, which must go through STARTTLS (stream.c).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include "session.h"

/* Direct TLS: the handshake first; SNI names the domain (tls.c). */
static int
direct_tls(struct session *s)
{
	char err[XG_REASON_MAX];
	int64_t hs;

	s->c->direct_tls = 1;
	hs = s->c->start_ms + (int64_t)s->o->handshake_timeout * 1000;
	if (tls_start(s->c, s->tls, 1, hs < s->deadline ? hs : s->deadline,
	    err, sizeof(err)) == -1) {
		close_client(s->c);
		return finish(s, s->tls->sni_result == CERTS_ERROR ?
		    XG_EXIT_TEMP : XG_EXIT_REFUSED, "%s", err);
	}
	snprintf(s->c->domain, sizeof(s->c->domain), "%s", s->c->sni);
	xg_debug("Direct TLS up: %s %s%s", s->c->tls_protocol,
	    s->c->tls_cipher, s->c->tls_resumed ? " (resumed)" : "");
	return 0;
}

/*
 * --accept-proxy-protocol: a load balancer in front says who the client
 * is, in a PROXY header (v1 or v2) before the client's first byte.  Only
 * a --trusted-proxy may say so; from any other peer the connection is
 * refused.  The header is read exactly, no byte of the client's with it,
 * so that Direct TLS detection and the stream follow as without one.
 */
int
proxy_accept(struct session *s)
{
	uint8_t hdr[XG_PROXY_HDR_MAX];
	struct proxy_info pi;
	struct conn *c = s->c;
	int64_t dl = c->start_ms + (int64_t)s->o->header_timeout * 1000;
	const char *why;
	size_t len = 0, want;
	ssize_t n;
	int r;

	if (!s->o->accept_proxy)
		return 0;
	if (dl > s->deadline)
		dl = s->deadline;
	if (!cidr_match(s->o->trusted, s->o->ntrusted, c->remote_ip)) {
		close_client(c);
		return finish(s, XG_EXIT_REFUSED, "peer %s is not a "
		    "--trusted-proxy", c->remote_ip);
	}
	while ((r = proxy_parse(hdr, len, &pi, &want, &why)) == PP_MORE) {
		n = conn_read(c, hdr + len, want - len, dl);
		if (n > 0) {
			len += (size_t)n;
			continue;
		}
		close_client(c);
		if (n == 0)
			return finish(s, XG_EXIT_REFUSED, "proxy closed the "
			    "connection before its PROXY header");
		if (errno == ETIMEDOUT)
			return finish(s, XG_EXIT_REFUSED, "no PROXY header "
			    "within %d s", s->o->header_timeout);
		return finish(s, XG_EXIT_REFUSED, "proxy read: %s",
		    strerror(errno));
	}
	if (r == PP_BAD) {
		close_client(c);
		return finish(s, XG_EXIT_REFUSED, "bad PROXY header: %s", why);
	}
	snprintf(c->proxy_ip, sizeof(c->proxy_ip), "%s", c->remote_ip);
	snprintf(c->proxy_port, sizeof(c->proxy_port), "%s", c->remote_port);
	if (!pi.local) {
		snprintf(c->remote_ip, sizeof(c->remote_ip), "%s", pi.src_ip);
		snprintf(c->remote_port, sizeof(c->remote_port), "%s",
		    pi.src_port);
		snprintf(c->local_ip, sizeof(c->local_ip), "%s", pi.dst_ip);
		snprintf(c->local_port, sizeof(c->local_port), "%s",
		    pi.dst_port);
	}
	xg_log(LOG_INFO, "proxied client=%s%s%s:%s via=%s%s%s:%s version=%d%s",
	    strchr(c->remote_ip, ':') ? "[" : "", c->remote_ip,
	    strchr(c->remote_ip, ':') ? "]" : "", c->remote_port,
	    strchr(c->proxy_ip, ':') ? "[" : "", c->proxy_ip,
	    strchr(c->proxy_ip, ':') ? "]" : "", c->proxy_port, pi.version,
	    pi.local ? " (no client address: LOCAL or UNKNOWN)" : "");
	explicit_bzero(hdr, sizeof(hdr));
	return 0;
}

/*
 * XEP-0368: on one port, a TLS handshake record as the first byte starts
 * Direct TLS, anything else is the XML stream, which must then go
 * through STARTTLS.  The byte is only peeked at: GnuTLS or the parser
 * reads it.
 */
int
arrive(struct session *s)
{
	int64_t dl = s->c->start_ms + (int64_t)s->o->header_timeout * 1000;
	int first = -3;

	if (s->o->tls_mode != XG_TLS_STARTTLS_ONLY) {
		first = conn_peek(s->c, dl < s->deadline ? dl : s->deadline);
		if (first == -2) {
			close_client(s->c);
			return finish(s, XG_EXIT_REFUSED, "client closed the "
			    "connection before authenticating");
		}
		if (first == -1 && errno == ETIMEDOUT)
			return stream_error(s, XG_SE_CONNECTION_TIMEOUT,
			    "no stream header in time", XG_EXIT_REFUSED,
			    "no stream header within %d s",
			    s->o->header_timeout);
		if (first == -1 && errno != ENOTSOCK) {
			close_client(s->c);
			return finish(s, XG_EXIT_REFUSED, "client read: %s",
			    strerror(errno));
		}
	}
	/* A TLS client has spoken: connect mode opens the backend now,
	 * while the client logs in (a STARTTLS client: at its first stream
	 * header, preopen_stream()). */
	if (first == TLS_HANDSHAKE_RECORD || (first == -1 &&
	    s->o->tls_mode == XG_TLS_DIRECT_ONLY)) {
		preopen_start(s);
		return direct_tls(s);
	}
	if (s->o->tls_mode == XG_TLS_DIRECT_ONLY)
		return stream_error(s, XG_SE_POLICY_VIOLATION, "only Direct "
		    "TLS (XEP-0368) is spoken here", XG_EXIT_REFUSED,
		    "plaintext on a --direct-tls-only port");
	if (stream_open(s) == -1 || starttls(s) == -1)
		return -1;
	return 0;
}
