/*
 * After the login: the hand-off.  In connect mode the backend login
 * (login_backend(), which sasl() calls once the helper accepted; with
 * --backend-tls a child carries the backend's TLS, tls_pump()); then
 * <success/>, the client's stream restart answered with the backend's
 * features, and the relay (relay.c, or splice.c when ktls.c could move
 * the client's TLS into the kernel).  In exec mode PROG is started
 * instead (exec.c).  The federation (federation.c) ends in the same
 * relay().
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <gnutls/gnutls.h>
#include <gnutls/socket.h>
#include "session.h"

#define EXEC_WAIT_MS		5000	/* for the exec'd program to exit */

static int stream_restart(struct session *);

/*
 * --backend-tls: a child of ours carries the backend's TLS, relaying it
 * to one end of a socket pair; we relay the client to the other end as
 * to a plain backend.  The same relay code runs on both sides.  Returns
 * our end, or -1 with errno.  Started only after the credentials and the
 * stack were wiped, so the child never holds them; it drops the client's
 * TLS session and our certificate keys before it relays.
 */
static int
tls_pump(struct session *s, struct conn *bc)
{
	char why[XG_REASON_MAX];
	int sp[2], fl;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1) {
		backend_close(bc);
		return -1;
	}
	if ((pid = fork()) == -1) {
		close(sp[0]);
		close(sp[1]);
		backend_close(bc);
		return -1;
	}
	if (pid == 0) {
		close(sp[0]);
		/* No alert, no bye: deinit only forgets the session. */
		gnutls_deinit(s->c->tls);
		s->c->tls = NULL;
		tls_free(s->tls);
		close(s->c->rfd);
		if (s->c->wfd != s->c->rfd)
			close(s->c->wfd);
		if ((fl = fcntl(sp[1], F_GETFL)) != -1)
			(void)fcntl(sp[1], F_SETFL, fl | O_NONBLOCK);
		(void)relay_run(bc, sp[1], NULL, 0, s->o->idle_timeout, why,
		    sizeof(why));
		if (why[0] != '\0')
			xg_debug("backend TLS relay: %s", why);
		_exit(0);
	}
	close(sp[1]);
	/* Only the child speaks TLS to the backend now. */
	backend_close(bc);
	if ((fl = fcntl(sp[0], F_GETFL)) != -1)
		(void)fcntl(sp[0], F_SETFL, fl | O_NONBLOCK);
	s->pump = pid;
	return sp[0];
}

/* The backend's address as logs show it. */
void
name_backend(struct conn *c, const struct netaddr *na)
{
	if (na->is_unix)
		snprintf(c->backend, sizeof(c->backend), "unix:%s", na->host);
	else
		snprintf(c->backend, sizeof(c->backend), strchr(na->host,
		    ':') ? "[%s]:%s" : "%s:%s", na->host, na->port);
}

/*
 * Connect mode: log in at the backend the helper named, or ours.  0 with
 * *fd on success, 1 when the backend refused (*sf), -1 when the session
 * ended because the backend cannot be reached.
 */
int
login_backend(struct session *s, const struct plain_creds *pc,
    const struct auth_reply *ar, int *fd, enum xg_sasl_failure *sf,
    char *why, size_t whysz)
{
	struct conn *bc = &s->bc;
	struct backend_opts bo;
	struct netaddr na;
	uint8_t ph[XG_PROXY_OUT_MAX];
	int rc, unreachable;

	if (ar->has_backend) {
		preopen_drop(s, "the helper named another backend");
		if (netaddr_parse(ar->backend, &na) == -1)
			return stream_error(s, XG_SE_INTERNAL_SERVER_ERROR,
			    "internal error", XG_EXIT_TEMP,
			    "bad backend from the helper");
		snprintf(s->c->backend, sizeof(s->c->backend), "%s",
		    ar->backend);
	} else {
		na = s->o->backend;
		name_backend(s->c, &na);
	}
	bo.tls = s->o->backend_tls;
	bo.ca = s->o->backend_ca;
	bo.proxy_hdr = NULL;
	bo.proxy_len = 0;
	if (s->o->proxy_protocol) {
		/* The client as we know it: after --accept-proxy-protocol,
		 * the load balancer's client. */
		bo.proxy_len = proxy_build(s->o->proxy_protocol,
		    s->c->remote_ip, s->c->remote_port, s->c->local_ip,
		    s->c->local_port, ph, sizeof(ph));
		if (bo.proxy_len == 0)
			return stream_error(s, XG_SE_INTERNAL_SERVER_ERROR,
			    "internal error", XG_EXIT_TEMP,
			    "PROXY header does not fit");
		bo.proxy_hdr = ph;
	}
	preopen_take(s, &bo);
	rc = backend_login(&na, &bo, s->c->domain,
	    ar->has_user ? ar->user : pc->user,
	    ar->has_pass ? ar->pass : pc->pass,
	    now_ms() + (int64_t)s->o->backend_timeout * 1000, bc, sf,
	    &unreachable, why, whysz);
	if (rc == -1 && unreachable == XG_BACKEND_PREOPEN_FAILED) {
		/* It broke before our <auth>: what we would have done
		 * without it, with the whole --backend-timeout. */
		xg_debug("backend pre-open: %s; connecting afresh", why);
		bo.prefd = -1;
		bo.pre_proxy = bo.pre_header = 0;
		rc = backend_login(&na, &bo, s->c->domain,
		    ar->has_user ? ar->user : pc->user,
		    ar->has_pass ? ar->pass : pc->pass,
		    now_ms() + (int64_t)s->o->backend_timeout * 1000, bc, sf,
		    &unreachable, why, whysz);
	}
	if (rc == 0) {
		if (backend_restart(bc, s->c->domain, now_ms() +
		    (int64_t)s->o->backend_timeout * 1000, s->bfeat,
		    sizeof(s->bfeat), &s->bfeat_len, why, whysz) == -1) {
			backend_close(bc);
			return stream_error(s, XG_SE_REMOTE_CONNECTION_FAILED,
			    "the server is not reachable", XG_EXIT_TEMP,
			    "%s", why);
		}
		*fd = bc->rfd;		/* handoff() starts tls_pump() */
		return 0;
	}
	if (unreachable)
		return stream_error(s, XG_SE_REMOTE_CONNECTION_FAILED,
		    "the server is not reachable", XG_EXIT_TEMP, "%s", why);
	return 1;
}

/*
 * Connect mode, after <success/>: the client restarts its stream with us,
 * and gets the features the backend sent us when we restarted ours with
 * it (backend_restart(), without <starttls/>).  From then on the bytes
 * are copied.
 */
static int
stream_restart(struct session *s)
{
	xp_restart(&s->xp);
	/* --header-timeout bounds it, with its own error; a second later
	 * than that, the phase's. */
	s->deadline = now_ms() + ((int64_t)s->o->header_timeout + 1) * 1000;
	s->restarting = 1;
	if (stream_header(s) == -1)
		return -1;
	xg_debug("sent: the backend's features");
	if (conn_write(s->c, s->bfeat, s->bfeat_len, s->deadline) == -1)
		return finish(s, XG_EXIT_OK, "client write: %s",
		    strerror(errno));
	return 0;
}

static int
send_success(struct session *s)
{
	xg_debug("sent: success%s", s->success_data[0] ?
	    " (server-final)" : "");
	if (conn_printf(s->c, now_ms() + 10000, "<success xmlns='" NS_SASL
	    "'%s%s%s", s->success_data[0] ? ">" : "/>", s->success_data,
	    s->success_data[0] ? "</success>" : "") == -1)
		return finish(s, XG_EXIT_OK, "client write: %s",
		    strerror(errno));
	return 0;
}

/* fds a and b are the same open socket (inetd gives it twice). */
static int
same_socket(int a, int b)
{
	struct stat sa, sb;

	return a == b || (fstat(a, &sa) == 0 && fstat(b, &sb) == 0 &&
	    S_ISSOCK(sa.st_mode) && sa.st_dev == sb.st_dev &&
	    sa.st_ino == sb.st_ino);
}

/*
 * The client's record layer into the kernel, so that the relay splices:
 * 1 GnuTLS did it itself (its config says ktls = true and it was built
 * with kTLS), 2 ktls_move() did it (the GnuTLS session is gone then: the
 * keys live only in the kernel), 0 the user-space relay goes on with
 * GnuTLS, -1 the session cannot go on (why).  One log line either way.
 */
static int
ktls_ready(struct session *s, char *why, size_t whysz)
{
	struct conn *c = s->c;
	int mode = 0, r;

#if GNUTLS_VERSION_NUMBER >= 0x030703
	mode = (int)gnutls_transport_is_ktls_enabled(c->tls);
	if (mode == GNUTLS_KTLS_DUPLEX) {
		xg_log(LOG_INFO, "kernel TLS: in use, splice(2) relay (by "
		    "GnuTLS)");
		return 1;
	}
#endif
	if (mode != 0) {
		xg_log(LOG_INFO, "kernel TLS: not in use (GnuTLS enabled one "
		    "way of it); relaying in user space");
		return 0;
	}
	if (!ktls_kernel_has(why, whysz))
		r = 0;
	else if (!same_socket(c->rfd, c->wfd)) {
		/* The keys go to rfd's socket; a wfd that is another would
		 * carry the relay's bytes to the client in plaintext. */
		snprintf(why, whysz, "the connection's read and write fds "
		    "are not one socket");
		r = 0;
	} else
		r = ktls_move(c->tls, c->rfd, s->buf, sizeof(s->buf), &s->len,
		    why, whysz);
	if (r == 1) {
		xg_log(LOG_INFO, "kernel TLS: in use, %s (%s)",
		    s->o->no_splice ? "copying relay (--no-splice)" :
		    "splice(2) relay", why);
		/* Nothing may write to the socket as GnuTLS again; its copy
		 * of the keys is wiped with the session. */
		gnutls_deinit(c->tls);
		c->tls = NULL;
		why[0] = '\0';
		return 2;
	}
	if (r == -1) {
		xg_log(LOG_ERR, "kernel TLS: failed half-way (%s); ending the "
		    "session", why);
		gnutls_deinit(c->tls);	/* it cannot speak on this socket */
		c->tls = NULL;
		return -1;
	}
	xg_log(LOG_INFO, "kernel TLS: not in use (%s); relaying in user "
	    "space", why);
	why[0] = '\0';
	return 0;
}

int
relay(struct session *s, int fd)
{
	char why[XG_REASON_MAX] = "";
	int k;

	if (s->o->s2s && strcmp(s->c->s2s_auth, "dialback") == 0)
		xg_log(LOG_INFO, "server %s: dialback is the backend's, "
		    "relaying to %s", s->c->remote_domain, s->c->backend);
	else if (s->o->s2s)
		xg_log(LOG_INFO, "server %s authenticated by %s, relaying to "
		    "%s", s->c->remote_domain, strcmp(s->c->s2s_auth,
		    "external") == 0 ? "EXTERNAL" : "certificate (XEP-0344)",
		    s->c->backend);
	else
		xg_log(LOG_INFO, "user %s@%s logged in, relaying to %s",
		    s->c->user, s->c->domain, s->c->backend);
	/* Before M_PERTURB goes: a session moved into the kernel is
	 * freed here by gnutls_deinit(), its TLS 1.2 master secret with
	 * it, and a freed block is still overwritten. */
	k = ktls_ready(s, why, sizeof(why));
	/* The credentials are gone; the relay's records are the user's
	 * traffic, and filling each freed one would only cost time. */
	mallopt(M_PERTURB, 0);
	/* What the login freed (parser, GnuTLS's handshake state, the
	 * helper's answer) goes back to the kernel: a long-lived idle
	 * session keeps only what the relay uses. */
	(void)malloc_trim(0);
	/* It sends close_notify when the session ends properly; after an
	 * error the client must see the cut.  Either way the session was
	 * the user's: exit 0, the reason says how it ended. */
	if (k == -1) {
		/* The client sees a cut, never a corrupt stream. */
		explicit_bzero(s->buf, sizeof(s->buf));
		close(fd);
		return finish(s, XG_EXIT_TEMP, "kernel TLS: %s", why);
	}
	if (k > 0 && s->o->relay != NULL) {
		if (relay_handoff(s, fd, why, sizeof(why)) == 1) {
			/* The relay logs the summary when the session ends;
			 * our copies of the fds go with this process. */
			xg_log(LOG_INFO, "handed to the relay (%s)",
			    s->o->relay);
			close(fd);
			s->exitcode = XG_EXIT_OK;
			return -1;
		}
		xg_log(LOG_WARNING, "relay hand-off: not done (%s); relaying "
		    "in this process", why);
		why[0] = '\0';
	} else if (s->o->relay != NULL)
		xg_log(LOG_INFO, "relay hand-off: not done (kernel TLS is not "
		    "in use); relaying in this process");
	if (k > 0) {
		struct splice_relay sr;
		size_t npend = s->len;

		memset(&sr, 0, sizeof(sr));
		sr.crfd = s->c->rfd;
		sr.cwfd = s->c->wfd;
		sr.bfd = fd;
		sr.pend = s->buf;
		sr.npend = s->len;
		sr.idle_timeout_s = s->o->idle_timeout;
		sr.no_splice = s->o->no_splice;
		sr.ktls = k == 1 ? s->c->tls : NULL;
		sr.kernel_tls = k == 2;
		(void)splice_relay(&sr, why, sizeof(why));
		/* The pending bytes were counted when they were read. */
		s->c->rx += sr.rx - (sr.rx < npend ? sr.rx : npend);
		s->c->tx += sr.tx;
	} else
		(void)relay_run(s->c, fd, s->buf, s->len, s->o->idle_timeout,
		    why, sizeof(why));
	explicit_bzero(s->buf, sizeof(s->buf));
	close(fd);
	return finish(s, XG_EXIT_OK, "%s", why);
}

/* A child that has seen end of file: a moment to exit, then SIGKILL. */
void
reap(pid_t pid)
{
	int64_t until = now_ms() + EXEC_WAIT_MS;
	int status;

	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (now_ms() > until) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		usleep(10000);
	}
}

/* After the login: <success/>, then the relay to the backend or PROG. */
int
handoff(struct session *s, int bfd)
{
	char why[XG_REASON_MAX];
	size_t ws;
	int fd;
	pid_t pid;

	if (bfd >= 0 && s->bc.tls != NULL) {
		if ((fd = tls_pump(s, &s->bc)) == -1)
			return stream_error(s, XG_SE_REMOTE_CONNECTION_FAILED,
			    "the server is not reachable", XG_EXIT_TEMP,
			    "unable to start the backend TLS relay: %s",
			    strerror(errno));
		bfd = fd;
	}
	if (bfd >= 0) {
		/* SASL2 (sasl2.c) has no restart: its <success/> is followed
		 * by the features at once. */
		if (s->profile == 2 ? sasl2_success(s, 1) == -1 :
		    send_success(s) == -1 || stream_restart(s) == -1)
			close(bfd);
		else
			relay(s, bfd);
		if (s->pump > 0)
			reap(s->pump);
		return -1;
	}
	snprintf(s->c->backend, sizeof(s->c->backend), "exec:%s",
	    s->o->exec_argv[0]);
	if ((fd = exec_start(s->o->exec_argv, s->c, &pid, why,
	    sizeof(why))) == -1)
		return stream_error(s, XG_SE_INTERNAL_SERVER_ERROR,
		    "internal error", XG_EXIT_TEMP, "%s", why);
	/* The program reads the restarted stream as a new document: the
	 * whitespace that ended the old one (a client's newline after
	 * </auth>) is not passed on, as far as it came with the <auth>. */
	ws = xml_ws_span(s->buf, s->len);
	memmove(s->buf, s->buf + ws, s->len - ws);
	s->len -= ws;
	/* SASL2: no restart from the client; sasl2.c opens the program's
	 * stream in its place. */
	if (s->profile == 2 ? sasl2_exec_open(s, fd) == -1 ||
	    sasl2_success(s, 0) == -1 : send_success(s) == -1) {
		close(fd);
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
		return -1;
	}
	relay(s, fd);
	reap(pid);
	return -1;
}
