/*
 * Connect mode: the backend opened while the client is still logging in
 * with us, so that the connect, the PROXY header and the backend's
 * stream header and features have arrived by the time the helper
 * accepts (issue 23).  Only what does not depend on the credentials goes
 * out early: the connect once the client's first stream header came (or
 * the first byte of its Direct TLS handshake), the PROXY header and our
 * stream header (its 'to' is the client's domain, from that header or
 * SNI) once the connect finished; the backend's answer waits in the
 * socket.  A host name is not looked up before the login, and
 * --backend-tls direct is not pre-opened (preopen_start()).
 *
 * The connection belongs to one login: a failed attempt, a helper that
 * names another backend (backend=) or the end of the session closes it
 * unused, so it is never open past the pre-authentication deadline.  If
 * it broke before the login used it, login_backend() connects afresh,
 * as without it.  Its fd is close-on-exec: no helper or PROG inherits it.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include "session.h"

/* A small write on a fresh connection, all at once or not at all. */
static int
pre_send(int fd, const void *p, size_t n)
{
	ssize_t r;

	do
		r = send(fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (r == -1 && errno == EINTR);
	if (r == (ssize_t)n)
		return 0;
	if (r >= 0)
		errno = EAGAIN;
	return -1;
}

void
preopen_start(struct session *s)
{
	char why[XG_REASON_MAX];

	if (s->pre_tried)
		return;		/* once per session */
	s->pre_tried = 1;
	s->pre_fd = -1;
	/* Not with --backend-tls direct: its connection would sit without
	 * a ClientHello for the whole login, which TLS servers time out,
	 * and only the connect's round trip would be saved. */
	if (s->o->s2s || s->o->exec_argv != NULL || !s->o->has_backend ||
	    s->o->no_backend_preopen || s->o->backend_tls == XG_BTLS_DIRECT)
		return;		/* connect mode only: not federation */
	if ((s->pre_fd = netaddr_connect_start(&s->o->backend, why,
	    sizeof(why))) == -1) {
		xg_debug("backend pre-open: %s; connecting after the login",
		    why);
		return;
	}
	s->pre_proxy = s->pre_header = 0;
	xg_debug("backend pre-open: connecting");
}

void
preopen_stream(struct session *s)
{
	uint8_t ph[XG_PROXY_OUT_MAX];
	char hdr[256 + XG_DOMAIN_MAX];
	size_t n;
	int r;

	preopen_start(s);	/* the STARTTLS path: at the first header */
	if (s->pre_fd < 0 || s->pre_header)
		return;
	if ((r = netaddr_connect_wait(s->pre_fd, 0)) == 0)
		return;		/* the next look, or the login, waits */
	if (r == -1) {
		preopen_drop(s, strerror(errno));
		return;
	}
	if (s->o->proxy_protocol && !s->pre_proxy) {
		n = proxy_build(s->o->proxy_protocol, s->c->remote_ip,
		    s->c->remote_port, s->c->local_ip, s->c->local_port, ph,
		    sizeof(ph));
		if (n == 0 || pre_send(s->pre_fd, ph, n) == -1) {
			preopen_drop(s, n == 0 ? "PROXY header does not fit" :
			    strerror(errno));
			return;
		}
		s->pre_proxy = 1;
	}
	if (s->c->domain[0] == '\0' || s->o->backend_tls == XG_BTLS_DIRECT)
		return;
	if ((n = backend_header(s->c->domain, hdr, sizeof(hdr))) == 0 ||
	    pre_send(s->pre_fd, hdr, n) == -1) {
		preopen_drop(s, n == 0 ? "stream header does not fit" :
		    strerror(errno));
		return;
	}
	s->pre_header = 1;
	xg_debug("backend pre-open: stream header sent for %s",
	    s->c->domain);
}

void
preopen_take(struct session *s, struct backend_opts *bo)
{
	bo->prefd = s->pre_fd;
	bo->pre_proxy = s->pre_fd >= 0 && s->pre_proxy;
	bo->pre_header = s->pre_fd >= 0 && s->pre_header;
	if (s->pre_fd >= 0)
		xg_debug("backend pre-open: used for the login");
	s->pre_fd = -1;
	s->pre_proxy = s->pre_header = 0;
}

void
preopen_drop(struct session *s, const char *why)
{
	if (s->pre_fd < 0)
		return;
	close(s->pre_fd);
	s->pre_fd = -1;
	s->pre_proxy = s->pre_header = 0;
	xg_debug("backend pre-open: dropped unused (%s)", why);
}
