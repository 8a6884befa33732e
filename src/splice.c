/*
 * The plaintext relay: copy both ways between two kernel sockets, with
 * splice(2) through a pipe per direction, so the bytes never enter user
 * space.  Route mode uses it between the client and the backend (the
 * backend speaks TLS with the client itself); so does connect mode when
 * GnuTLS put the client's TLS record layer into the kernel (kTLS).
 *
 * Each direction moves source -> pipe -> destination, as relay.c moves
 * source -> buffer -> destination: it reads while the pipe has room,
 * writes while the pipe holds bytes, and after its source ends and the
 * pipe is empty it passes the end on with shutdown(2).  --no-splice (or
 * an fd splice refuses) copies through a user-space buffer instead, the
 * baseline the benchmark compares with.
 *
 * A pipe's capacity counts pages, not bytes: a socket can fill it with
 * fewer bytes than F_GETPIPE_SZ says.  So a read that says EAGAIN while
 * the pipe holds bytes waits for the destination, never for the source
 * (which may be readable, and poll would return at once, forever).
 *
 * Kernel TLS: a record that is not application data (an alert, a
 * KeyUpdate, a NewSessionTicket) makes splice fail with EINVAL (or EIO);
 * it is read then (recvmsg with its record type): by GnuTLS when GnuTLS
 * put the session into the kernel, by ktls_recv_record() when ktls.c did
 * (sr->kernel_tls).  The end is a close_notify, sent the same way.
 */
#define _GNU_SOURCE	/* splice(2), F_GETPIPE_SZ */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <gnutls/gnutls.h>
#include "xmppgate.h"

#define SPLICE_FLAGS	(SPLICE_F_MOVE | SPLICE_F_NONBLOCK)
#define KTLS_WRITE_POLLS	30	/* seconds for a rare record read by GnuTLS */

struct dir {
	const char *from_name, *to_name;	/* "client", "backend" */
	int	from, to;
	int	p[2];			/* the pipe; -1 when copying */
	size_t	cap;			/* the pipe's capacity in bytes */
	uint8_t	*buf;			/* copying: buf[off..off+held) */
	size_t	off;
	size_t	held;			/* bytes in the pipe or the buffer */
	const uint8_t *pend;		/* bytes to send before the rest */
	size_t	npend;
	int	reading, shut;
	int	in_wait, out_wait;	/* said EAGAIN: try after poll */
	gnutls_session_t ktls;		/* from or to is this kTLS socket */
	int	kernel_tls;		/* ... or one with no GnuTLS session */
	int	ktls_from;		/* ... and it is the source */
	int	zero;			/* it read 0: the end, or an empty
					 * record? asked once the pipe is
					 * empty */
	uint64_t count;			/* bytes delivered */
};

static uint8_t	c2b[XG_RELAY_BUF], b2c[XG_RELAY_BUF];	/* copying only */

static int
again(void)
{
	return errno == EAGAIN || errno == EWOULDBLOCK;
}

/* Both fds sockets (or pipes): splice can carry them. */
static int
spliceable(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && (S_ISSOCK(st.st_mode) ||
	    S_ISFIFO(st.st_mode));
}

static int
dir_init(struct dir *d, int use_splice, uint8_t *buf)
{
	int sz;

	d->p[0] = d->p[1] = -1;
	d->buf = buf;
	d->cap = XG_RELAY_BUF;
	d->reading = 1;
	if (!use_splice)
		return 0;
	if (pipe2(d->p, O_NONBLOCK | O_CLOEXEC) == -1)
		return -1;
	/* A larger pipe moves more per call; it costs pages only while
	 * bytes are in flight.  The kernel may refuse (pipe-max-size,
	 * pipe-user-pages-soft): then the default stays. */
	(void)fcntl(d->p[0], F_SETPIPE_SZ, XG_SPLICE_PIPE);
	d->cap = (sz = fcntl(d->p[0], F_GETPIPE_SZ)) > 0 ? (size_t)sz : 4096;
	return 0;
}

/* From splice to the user-space buffer, when splice refuses an fd
 * (EINVAL) before the pipe ever held a byte. */
static void
dir_copy(struct dir *d)
{
	close(d->p[0]);
	close(d->p[1]);
	d->p[0] = d->p[1] = -1;
	d->cap = XG_RELAY_BUF;
}

/*
 * A kTLS source said EINVAL or EIO with the pipe empty: a control record
 * is next.  GnuTLS or ktls_recv_record() reads it: close_notify ends the
 * direction, another alert or a handshake message (a TLS 1.3 KeyUpdate)
 * the session, a record with data (none is expected here) is written out
 * at once.
 * 1 progress, 0 nothing to read yet, -1 with why.
 */
static int
ktls_control(struct dir *d, char *why, size_t whysz)
{
	uint8_t tmp[XG_RELAY_BUF];
	ssize_t r;

	if (d->kernel_tls) {
		r = ktls_recv_record(d->from, tmp, sizeof(tmp), why, whysz);
		if (r == KTLS_REC_AGAIN)
			return 0;
		if (r == KTLS_REC_SKIP)
			return 1;
		if (r == -1)
			return -1;
	} else
		r = gnutls_record_recv(d->ktls, tmp, sizeof(tmp));
	if (r == 0 || r == GNUTLS_E_PREMATURE_TERMINATION) {
		d->reading = 0;
		return 1;
	}
	if (r > 0) {
		/* Into the pipe with vmsplice would need pages of ours;
		 * this is rare enough to write out directly. */
		size_t off = 0;
		int polls = 0;

		while (off < (size_t)r) {
			ssize_t n = sock_write(d->to, tmp + off,
			    (size_t)r - off);
			if (n > 0) {
				off += (size_t)n;
				continue;
			}
			if (n == -1 && (errno == EINTR || again()) &&
			    polls++ < KTLS_WRITE_POLLS) {
				struct pollfd pf = { d->to, POLLOUT, 0 };
				(void)poll(&pf, 1, 1000);
				continue;
			}
			snprintf(why, whysz, "%s write: %s", d->to_name,
			    n == 0 ? "wrote nothing" : n == -1 &&
			    (errno == EINTR || again()) ? "timed out" :
			    strerror(errno));
			explicit_bzero(tmp, sizeof(tmp));
			return -1;
		}
		d->count += (uint64_t)r;
		explicit_bzero(tmp, sizeof(tmp));
		return 1;
	}
	if (r == GNUTLS_E_AGAIN)
		return 0;
	if (r == GNUTLS_E_INTERRUPTED || !gnutls_error_is_fatal((int)r))
		return 1;	/* a warning alert: read on */
	snprintf(why, whysz, "%s read: %s", d->from_name,
	    gnutls_strerror((int)r));
	return -1;
}

/*
 * One pass over one direction: 1 when bytes moved or its state changed,
 * 0 when every step waits (registered in w), -1 with why.
 */
static int
dir_step(struct dir *d, struct waits *w, char *why, size_t whysz)
{
	int moved = 0;
	ssize_t r;

	/* Out: what was read before the relay, then the pipe or buffer. */
	if ((d->npend > 0 || d->held > 0) && d->out_wait)
		poll_want(w, d->to, POLLOUT);
	else if (d->npend > 0 || d->held > 0) {
		if (d->npend > 0)
			r = sock_write(d->to, d->pend, d->npend);
		else if (d->p[0] >= 0)
			r = splice(d->p[0], NULL, d->to, NULL, d->held,
			    SPLICE_FLAGS);
		else
			r = sock_write(d->to, d->buf + d->off, d->held);
		if (r > 0) {
			if (d->npend > 0) {
				d->pend += r;
				d->npend -= (size_t)r;
			} else {
				d->held -= (size_t)r;
				d->off = d->held == 0 ? 0 : d->off + (size_t)r;
			}
			d->count += (uint64_t)r;
			moved = 1;
		} else if (r == -1 && again()) {
			poll_want(w, d->to, POLLOUT);
			d->out_wait = 1;
		} else if (r == -1 && errno == EINTR)
			moved = 1;	/* again, at once */
		else {
			snprintf(why, whysz, "%s write: %s", d->to_name,
			    r == 0 ? "wrote nothing" : strerror(errno));
			return -1;
		}
	}

	/* In: while there is room.  A copying direction refills its
	 * buffer only once it is empty, as cat(1) does. */
	if (d->reading && d->in_wait)
		poll_want(w, d->from, POLLIN);
	else if (d->reading && d->npend == 0 && !(d->zero && d->held > 0) &&
	    (d->p[0] >= 0 ? d->held < d->cap : d->held == 0)) {
		if (d->p[0] >= 0)
			r = splice(d->from, NULL, d->p[1], NULL,
			    d->cap - d->held, SPLICE_FLAGS);
		else
			r = read(d->from, d->buf, XG_RELAY_BUF);
		if (r > 0) {
			d->held += (size_t)r;
			d->zero = 0;
			moved = 1;
		} else if (r == 0 && (d->ktls != NULL || d->kernel_tls) &&
		    d->ktls_from) {
			/* The end, or an empty TLS record (splice says 0 for
			 * both): the record layer tells, once the pipe is
			 * empty; until then no read (0 again and again). */
			d->zero = 1;
			if (d->held == 0 && (r = ktls_control(d, why,
			    whysz)) == -1)
				return -1;
			if (d->held == 0) {
				d->zero = 0;
				moved = 1;
				if (r == 0) {	/* an empty record: more */
					poll_want(w, d->from, POLLIN);
					d->in_wait = 1;
				}
			}
		} else if (r == 0) {
			d->reading = 0;
			moved = 1;
		} else if (again()) {
			if (d->held == 0) {
				poll_want(w, d->from, POLLIN);
				d->in_wait = 1;
			}
			/* else: a full pipe; the out step waits */
		} else if ((d->ktls != NULL || d->kernel_tls) &&
		    d->ktls_from && (errno == EINVAL || errno == EIO)) {
			/* With bytes in the pipe, the out step drains it
			 * (or waits) first; then splice says it again. */
			if (d->held == 0 && (r = ktls_control(d, why,
			    whysz)) == -1)
				return -1;
			if (d->held == 0 && r == 1)
				moved = 1;
			else if (d->held == 0) {
				poll_want(w, d->from, POLLIN);
				d->in_wait = 1;
			}
		} else if (errno == EINVAL && d->p[0] >= 0 && d->held == 0 &&
		    d->count == 0) {
			dir_copy(d);
			moved = 1;
		} else if (errno == EINTR)
			moved = 1;
		else {
			snprintf(why, whysz, "%s read: %s", d->from_name,
			    strerror(errno));
			return -1;
		}
	}

	/* The end: the source is done and everything is delivered. */
	if (!d->reading && !d->shut && d->npend == 0 && d->held == 0) {
		if (d->ktls != NULL && !d->ktls_from)
			(void)gnutls_bye(d->ktls, GNUTLS_SHUT_WR);
		else if (d->kernel_tls && !d->ktls_from)
			(void)ktls_send_close_notify(d->to);
		(void)shutdown(d->to, SHUT_WR);	/* ENOTCONN: gone anyway */
		d->shut = 1;
		moved = 1;
	}
	return moved;
}

/* After poll: the steps whose fd is ready try again. */
static void
dir_ready(struct dir *d, const struct waits *w)
{
	nfds_t i;

	for (i = 0; i < w->n; i++) {
		if (w->pfd[i].fd == d->from && (w->pfd[i].revents &
		    (POLLIN | POLLHUP | POLLERR)))
			d->in_wait = 0;
		if (w->pfd[i].fd == d->to && (w->pfd[i].revents &
		    (POLLOUT | POLLHUP | POLLERR)))
			d->out_wait = 0;
	}
}

static void
dir_free(struct dir *d)
{
	if (d->p[0] >= 0) {
		close(d->p[0]);
		close(d->p[1]);
	}
}

int
splice_relay(struct splice_relay *sr, char *why, size_t whysz)
{
	struct dir cb, bc;		/* client to backend, and back */
	struct waits w;
	int64_t last = now_ms(), left;
	int use, a, b, timeout, ret = -1;
	const char *first = NULL;

	memset(&cb, 0, sizeof(cb));
	memset(&bc, 0, sizeof(bc));
	cb.p[0] = cb.p[1] = bc.p[0] = bc.p[1] = -1;
	snprintf(why, whysz, "relay");
	use = !sr->no_splice && spliceable(sr->crfd) &&
	    spliceable(sr->cwfd) && spliceable(sr->bfd);
	if (fd_nonblock(sr->crfd) == -1 || fd_nonblock(sr->cwfd) == -1 ||
	    fd_nonblock(sr->bfd) == -1) {
		snprintf(why, whysz, "fcntl: %s", strerror(errno));
		return -1;
	}
	if (dir_init(&cb, use, c2b) == -1 || dir_init(&bc, use, b2c) == -1) {
		snprintf(why, whysz, "pipe: %s", strerror(errno));
		goto out;
	}
	cb.from_name = bc.to_name = "client";
	cb.to_name = bc.from_name = "backend";
	cb.from = sr->crfd;
	cb.to = bc.from = sr->bfd;
	bc.to = sr->cwfd;
	cb.pend = sr->pend;
	cb.npend = sr->npend;
	cb.ktls = bc.ktls = sr->ktls;
	cb.kernel_tls = bc.kernel_tls = sr->kernel_tls;
	cb.ktls_from = 1;

	for (;;) {
		w.n = 0;
		if ((a = dir_step(&cb, &w, why, whysz)) == -1 ||
		    (b = dir_step(&bc, &w, why, whysz)) == -1)
			goto out;
		if (first == NULL && (!cb.reading || !bc.reading))
			first = !cb.reading ? "client" : "backend";
		if (cb.shut && bc.shut) {
			snprintf(why, whysz, "%s closed first", first != NULL ?
			    first : "client");
			ret = 0;
			goto out;
		}
		if (a || b) {
			last = now_ms();
			continue;
		}
		timeout = -1;
		if (sr->idle_timeout_s > 0) {
			left = last + (int64_t)sr->idle_timeout_s * 1000 -
			    now_ms();
			if (left <= 0) {
				snprintf(why, whysz, "idle timeout (%d s)",
				    sr->idle_timeout_s);
				if (sr->ktls != NULL && bc.held == 0)
					(void)gnutls_bye(sr->ktls,
					    GNUTLS_SHUT_WR);
				else if (sr->kernel_tls && bc.held == 0)
					(void)ktls_send_close_notify(sr->cwfd);
				(void)shutdown(sr->cwfd, SHUT_WR);
				(void)shutdown(sr->bfd, SHUT_WR);
				ret = 0;
				goto out;
			}
			timeout = left > INT_MAX ? INT_MAX : (int)left;
		}
		if (poll_waits(&w, timeout, why, whysz) == -1)
			goto out;
		dir_ready(&cb, &w);
		dir_ready(&bc, &w);
	}
out:
	sr->rx = cb.count;
	sr->tx = bc.count;
	sr->spliced = use && cb.p[0] >= 0 && bc.p[0] >= 0;
	dir_free(&cb);
	dir_free(&bc);
	if (!use) {
		explicit_bzero(c2b, sizeof(c2b));
		explicit_bzero(b2c, sizeof(b2c));
	}
	return ret;
}

/*
 * Does this kernel have kernel TLS?  Asking for the "tls" upper layer on
 * a TCP socket that is not connected tells without side effects: ENOENT
 * when the kernel has no such ULP (CONFIG_TLS off, or the module cannot
 * be loaded), ENOTCONN when it has one (it wants an established socket).
 */
int
ktls_kernel_has(char *why, size_t whysz)
{
	int fd, r, e;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(why, whysz, "socket: %s", strerror(errno));
		return 0;
	}
	r = setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", sizeof("tls"));
	e = errno;
	close(fd);
	if (r == 0 || e == ENOTCONN) {
		snprintf(why, whysz, "the kernel has TLS");
		return 1;
	}
	snprintf(why, whysz, "the kernel has no TLS (TCP_ULP tls: %s)",
	    strerror(e));
	return 0;
}
