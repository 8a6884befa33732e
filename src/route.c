/*
 * Route mode (--route MAP): no TLS, no SASL.  The map is read before any
 * client byte and before the privileges go (route_start()); then the
 * client's plaintext stream header, parsed as strictly as in the other
 * modes (stream.c), names the domain, the map (routemap.c, whose lookup
 * is pure) names its backend, and every byte read so far and the rest of
 * the connection go there as they came (splice.c).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include "session.h"

/* The map, read by route_start() and looked up by route_stream(): this
 * file's own, no other phase sees it. */
static char	routemap[XG_ROUTE_MAP_MAX];
static size_t	routemap_len;

/* Route mode, before any byte from the client: the map, then the
 * privileges go. */
int
route_start(struct session *s)
{
	char err[XG_REASON_MAX];
	ssize_t n;

	if ((n = route_load(s->o->route, routemap, sizeof(routemap), err,
	    sizeof(err))) == -1 || priv_drop(s->o->user, err,
	    sizeof(err)) == -1)
		return stream_error(s, XG_SE_INTERNAL_SERVER_ERROR,
		    "server configuration error", XG_EXIT_TEMP, "%s", err);
	routemap_len = (size_t)n;
	return 0;
}

/*
 * Route mode: the client's plaintext stream header, parsed as strictly as
 * ever, names the domain; the map names its backend.  Every byte read so
 * far goes to the backend as it came (after a PROXY header, if asked
 * for), and splice(2) carries the rest: the backend answers the header,
 * offers STARTTLS and does the rest itself.
 */
int
route_stream(struct session *s)
{
	struct splice_relay sr;
	struct xp_event ev;
	struct netaddr na;
	struct conn bc;
	char dom[XG_DOMAIN_MAX + 1], why[XG_REASON_MAX];
	uint8_t ph[XG_PROXY_OUT_MAX];
	const char *bad;
	size_t line, phlen = 0;
	int64_t dl;
	int r;

	s->keep_raw = 1;
	if (client_header(s, &ev) == -1)
		return -1;
	if (xg_domain_normalize(ev.to, dom, sizeof(dom)) == -1 ||
	    (r = route_lookup(routemap, routemap_len, dom, &na, &line,
	    &bad)) == ROUTE_NONE)
		return stream_error(s, XG_SE_HOST_UNKNOWN, "this domain is "
		    "not served here", XG_EXIT_REFUSED, "unknown domain");
	if (r == ROUTE_BAD)	/* checked at start: cannot happen */
		return stream_error(s, XG_SE_INTERNAL_SERVER_ERROR,
		    "server configuration error", XG_EXIT_TEMP,
		    "--route line %zu: %s", line, bad);
	snprintf(s->c->domain, sizeof(s->c->domain), "%s", dom);
	name_backend(s->c, &na);
	if (s->o->proxy_protocol && (phlen = proxy_build(s->o->proxy_protocol,
	    s->c->remote_ip, s->c->remote_port, s->c->local_ip,
	    s->c->local_port, ph, sizeof(ph))) == 0)
		return stream_error(s, XG_SE_INTERNAL_SERVER_ERROR,
		    "internal error", XG_EXIT_TEMP, "PROXY header does not fit");
	dl = now_ms() + (int64_t)s->o->backend_timeout * 1000;
	memset(&bc, 0, sizeof(bc));
	if ((bc.rfd = bc.wfd = netaddr_connect(&na, dl, why,
	    sizeof(why))) == -1)
		return stream_error(s, XG_SE_REMOTE_CONNECTION_FAILED,
		    "the server is not reachable", XG_EXIT_TEMP,
		    "backend %s: %s", s->c->backend, why);
	if (phlen > 0 && conn_write(&bc, ph, phlen, dl) == -1) {
		close(bc.rfd);
		return stream_error(s, XG_SE_REMOTE_CONNECTION_FAILED,
		    "the server is not reachable", XG_EXIT_TEMP,
		    "backend %s: write: %s", s->c->backend, strerror(errno));
	}
	xg_log(LOG_INFO, "routing %s to %s", dom, s->c->backend);

	memset(&sr, 0, sizeof(sr));
	sr.crfd = s->c->rfd;
	sr.cwfd = s->c->wfd;
	sr.bfd = bc.rfd;
	sr.pend = s->raw;
	sr.npend = s->rawlen;
	sr.idle_timeout_s = s->o->idle_timeout;
	sr.no_splice = s->o->no_splice;
	(void)splice_relay(&sr, why, sizeof(why));
	close(bc.rfd);
	s->c->rx = sr.rx;
	s->c->tx = sr.tx;
	return finish(s, XG_EXIT_OK, "%s (%s)", why, sr.spliced ? "splice" :
	    "user-space copy");
}
