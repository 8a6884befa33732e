/*
 * The relay: after login, copy bytes both ways between the client (TLS)
 * and the backend (a plain socket) until both directions are closed.
 *
 * Each direction has one fixed buffer and its own state, as in s6's
 * stls_run: a direction reads while its buffer has room, writes while it
 * holds bytes, and when its source ends it flushes, then passes the end
 * on (shutdown(2) to the backend, close_notify and shutdown(2) to the
 * client).  Every step is non-blocking; a pass that moves nothing records
 * what each step waits for, and only then do we poll.
 *
 * Two GnuTLS rules shape the code.  Records GnuTLS has already read and
 * decrypted are invisible to poll, so the client is read again after
 * every successful read until it says E_AGAIN (or the buffer is full, and
 * then freeing room counts as progress, which brings us back here before
 * any poll).  And GnuTLS never sees E_AGAIN on the way out: its push
 * function only appends finished records to our queue (tq), which the
 * loop writes to the socket.  A send that GnuTLS had to repeat after
 * E_AGAIN could otherwise go out twice when a TLS 1.3 KeyUpdate arrives
 * in between (GnuTLS 3.7 then encrypts the repeated data anew under the
 * next key, while the first record is still queued).  New records are
 * made only while the queue has room for two more, so whatever a read
 * makes GnuTLS send (a KeyUpdate, an alert) always fits.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <gnutls/gnutls.h>
#include "xmppgate.h"

static void	want_tls(struct waits *, const struct conn *);
static int	tls_err(char *, size_t, const char *, ssize_t);
static ssize_t	queue_push(gnutls_transport_ptr_t, const void *, size_t);
static ssize_t	direct_push(gnutls_transport_ptr_t, const void *, size_t);
static int	queue_flush(int);

static uint8_t	c2b[XG_RELAY_BUF];	/* client to backend */
static uint8_t	b2c[XG_RELAY_BUF];	/* backend to client */
static uint8_t	tq[XG_TLS_QUEUE];	/* TLS records for the client */
static size_t	tq_off, tq_len;		/* tq[tq_off..tq_len) to write */
static uint64_t	tq_pushed, tq_written;	/* bytes through the queue */

/* GnuTLS's push function during the relay: queue, never E_AGAIN. */
static ssize_t
queue_push(gnutls_transport_ptr_t unused, const void *p, size_t n)
{
	(void)unused;
	if (n > sizeof(tq) - tq_len && tq_off > 0) {
		memmove(tq, tq + tq_off, tq_len - tq_off);
		tq_len -= tq_off;
		tq_off = 0;
	}
	if (n > sizeof(tq) - tq_len) {
		errno = ENOBUFS;	/* cannot happen: see the rule above */
		return -1;
	}
	memcpy(tq + tq_len, p, n);
	tq_len += n;
	tq_pushed += n;
	return (ssize_t)n;
}

/* After the relay: GnuTLS writes straight to the socket again. */
static ssize_t
direct_push(gnutls_transport_ptr_t ptr, const void *p, size_t n)
{
	return sock_write((int)(intptr_t)ptr, p, n);
}

/* Write queued records: 1 when some went out, 0 on EAGAIN, -1. */
static int
queue_flush(int fd)
{
	ssize_t r;

	r = sock_write(fd, tq + tq_off, tq_len - tq_off);
	if (r > 0) {
		tq_written += (uint64_t)r;
		if ((tq_off += (size_t)r) == tq_len)
			tq_off = tq_len = 0;
		return 1;
	}
	if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return 0;
	if (r == 0)
		errno = EIO;
	return -1;
}

void
poll_want(struct waits *w, int fd, short ev)
{
	nfds_t i;

	for (i = 0; i < w->n; i++)
		if (w->pfd[i].fd == fd) {
			w->pfd[i].events |= ev;
			return;
		}
	w->pfd[w->n].fd = fd;
	w->pfd[w->n].events = ev;
	w->pfd[w->n].revents = 0;
	w->n++;
}

/* Wait for what w names: 0 (also after EINTR: the caller looks again),
 * -1 with why when nothing is waited for (every open direction has a
 * step, so this cannot happen), poll fails or an fd is not open. */
int
poll_waits(struct waits *w, int timeout, char *why, size_t whysz)
{
	nfds_t i;

	if (w->n == 0) {
		snprintf(why, whysz, "relay stalled");
		return -1;
	}
	if (poll(w->pfd, w->n, timeout) == -1) {
		if (errno == EINTR)
			return 0;
		snprintf(why, whysz, "poll: %s", strerror(errno));
		return -1;
	}
	for (i = 0; i < w->n; i++)
		if (w->pfd[i].revents & POLLNVAL) {
			snprintf(why, whysz, "poll: fd %d not open",
			    w->pfd[i].fd);
			return -1;
		}
	return 0;
}

/* What the last GnuTLS call that said E_AGAIN is waiting for. */
static void
want_tls(struct waits *w, const struct conn *c)
{
	if (gnutls_record_get_direction(c->tls) == 1)
		poll_want(w, c->wfd, POLLOUT);
	else
		poll_want(w, c->rfd, POLLIN);
}

static int
tls_err(char *why, size_t whysz, const char *what, ssize_t r)
{
	if (r == GNUTLS_E_PUSH_ERROR || r == GNUTLS_E_PULL_ERROR)
		snprintf(why, whysz, "client %s: %s", what, strerror(errno));
	else
		snprintf(why, whysz, "client %s: %s", what,
		    gnutls_strerror((int)r));
	return -1;
}

int
fd_nonblock(int fd)
{
	int fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1)
		return -1;
	return (fl & O_NONBLOCK) ? 0 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Both ends are normally sockets; MSG_NOSIGNAL guards against EPIPE
 * killing us even if SIGPIPE were not ignored. */
ssize_t
sock_write(int fd, const void *p, size_t n)
{
	ssize_t r;

	r = send(fd, p, n, MSG_NOSIGNAL);
	if (r == -1 && errno == ENOTSOCK)
		r = write(fd, p, n);
	return r;
}

int
relay_run(struct conn *c, int bfd, const uint8_t *pend_b, size_t npend_b,
    int idle_timeout_s, char *why, size_t whysz)
{
	struct waits w;
	size_t c_off = 0, c_len = 0;	/* c2b[c_off..c_len) to send */
	size_t b_off = 0, b_len = 0;	/* b2c[b_off..b_len) to send */
	int c_reading = 1, b_shut = 0;	/* client to backend direction */
	int b_reading = 1, c_bye = 0, c_shut = 0; /* backend to client */
	int c_gone = 0;			/* GnuTLS takes no more for the client */
	uint64_t data_end = 0;		/* queued bytes before close_notify */
	const char *first = NULL;	/* which side closed first */
	int64_t last = now_ms(), left;
	int progress, moved, timeout, fl, ret = -1;
	ssize_t r;

	snprintf(why, whysz, "relay");
	/* Both callers hand us a non-blocking fd; one blocking read would
	 * freeze the other direction, so make sure. */
	if ((fl = fcntl(bfd, F_GETFL)) == -1 || (!(fl & O_NONBLOCK) &&
	    fcntl(bfd, F_SETFL, fl | O_NONBLOCK) == -1)) {
		snprintf(why, whysz, "backend fd: %s", strerror(errno));
		return -1;
	}
	tq_off = tq_len = 0;
	tq_pushed = tq_written = 0;
	gnutls_transport_set_push_function(c->tls, queue_push);
	for (;;) {
		progress = moved = 0;
		w.n = 0;

		/* Client to buffer. */
		if (c_reading && c_len == sizeof(c2b) && c_off > 0) {
			memmove(c2b, c2b + c_off, c_len - c_off);
			c_len -= c_off;
			c_off = 0;
		}
		if (c_reading && c_len < sizeof(c2b)) {
			r = gnutls_record_recv(c->tls, c2b + c_len,
			    sizeof(c2b) - c_len);
			if (r > 0) {
				c_len += (size_t)r;
				c->rx += (uint64_t)r;
				moved = 1;
			} else if (r == 0 ||
			    r == GNUTLS_E_PREMATURE_TERMINATION) {
				/* close_notify, or a bare TCP FIN: either
				 * way no more is coming. */
				c_reading = 0;
				progress = 1;
				if (first == NULL)
					first = "client";
			} else if (r == GNUTLS_E_AGAIN)
				want_tls(&w, c);
			else if (r == GNUTLS_E_INTERRUPTED)
				progress = 1;
			else if (r != GNUTLS_E_REHANDSHAKE &&
			    !gnutls_error_is_fatal((int)r))
				progress = 1;	/* a warning alert */
			else {
				tls_err(why, whysz, "read", r);
				goto out;
			}
		}

		/* Buffer to backend; bytes read before the relay go first. */
		if (npend_b > 0 || c_len > c_off) {
			if (npend_b > 0)
				r = sock_write(bfd, pend_b, npend_b);
			else
				r = sock_write(bfd, c2b + c_off,
				    c_len - c_off);
			if (r > 0) {
				if (npend_b > 0) {
					pend_b += r;
					npend_b -= (size_t)r;
				} else if ((c_off += (size_t)r) == c_len)
					c_off = c_len = 0;
				moved = 1;
			} else if (r == -1 && (errno == EAGAIN ||
			    errno == EWOULDBLOCK))
				poll_want(&w, bfd, POLLOUT);
			else if (r == -1 && errno == EINTR)
				progress = 1;
			else {
				snprintf(why, whysz, "backend write: %s",
				    r == 0 ? "wrote nothing" : strerror(errno));
				goto out;
			}
		}
		if (!c_reading && !b_shut && npend_b == 0 && c_len == c_off) {
			/* ENOTCONN: the backend is gone entirely, and its
			 * read side will tell us. */
			(void)shutdown(bfd, SHUT_WR);
			b_shut = 1;
			progress = 1;
		}

		/* Backend to buffer. */
		if (b_reading && b_len == sizeof(b2c) && b_off > 0) {
			memmove(b2c, b2c + b_off, b_len - b_off);
			b_len -= b_off;
			b_off = 0;
		}
		if (b_reading && b_len < sizeof(b2c)) {
			r = read(bfd, b2c + b_len, sizeof(b2c) - b_len);
			if (r > 0) {
				b_len += (size_t)r;
				moved = 1;
			} else if (r == 0) {
				b_reading = 0;
				progress = 1;
				if (first == NULL)
					first = "backend";
			} else if (errno == EAGAIN || errno == EWOULDBLOCK)
				poll_want(&w, bfd, POLLIN);
			else if (errno == EINTR)
				progress = 1;
			else {
				snprintf(why, whysz, "backend read: %s",
				    strerror(errno));
				goto out;
			}
		}

		/* Buffer to client: into records while the queue has room,
		 * then the end (close_notify) after the last byte.  Once the
		 * client is gone, what the backend says has nowhere to go. */
		if (c_gone && b_len > b_off) {
			b_off = b_len = 0;
			moved = 1;
		}
		if (b_len > b_off &&
		    sizeof(tq) - (tq_len - tq_off) >= 2 * XG_TLS_RECORD_MAX) {
			r = gnutls_record_send(c->tls, b2c + b_off,
			    b_len - b_off);
			if (r > 0) {
				c->tx += (uint64_t)r;
				if ((b_off += (size_t)r) == b_len)
					b_off = b_len = 0;
				moved = 1;
			} else if (r == GNUTLS_E_AGAIN)	/* not with our push */
				want_tls(&w, c);
			else if (r == GNUTLS_E_INTERRUPTED)
				progress = 1;
			else if (r == GNUTLS_E_INVALID_SESSION && !c_reading) {
				/* The client ended with a bare FIN (logging
				 * out at once, without close_notify): GnuTLS
				 * has invalidated the session and sends no
				 * more records on it.  The client closed
				 * first; the rest of the backend's (its
				 * closing tag) is dropped, and no
				 * close_notify follows a cut-off stream. */
				c_gone = c_bye = 1;
				b_off = b_len = 0;
				progress = 1;
			} else {
				tls_err(why, whysz, "write", r);
				goto out;
			}
		}
		if (!b_reading && !c_bye && b_len == b_off) {
			data_end = tq_pushed;
			r = gnutls_bye(c->tls, GNUTLS_SHUT_WR);
			if (r < 0 && r != GNUTLS_E_INTERRUPTED &&
			    r != GNUTLS_E_AGAIN) {
				tls_err(why, whysz, "close", r);
				goto out;
			}
			c_bye = r == 0;
			progress = 1;
		}
		if (tq_len > tq_off) {
			r = queue_flush(c->wfd);
			if (r > 0)
				moved = 1;
			else if (r == 0)
				poll_want(&w, c->wfd, POLLOUT);
			else if (c_gone || (c_bye && !c_reading &&
			    tq_written >= data_end)) {
				/* A client that has already gone misses
				 * only our close_notify: no data is lost. */
				tq_off = tq_len = 0;
				progress = 1;
			} else {
				snprintf(why, whysz, "client write: %s",
				    strerror(errno));
				goto out;
			}
		}
		if (c_bye && !c_shut && tq_len == tq_off) {
			(void)shutdown(c->wfd, SHUT_WR);
			c_shut = 1;
			progress = 1;
		}

		if (b_shut && c_shut) {
			snprintf(why, whysz, "%s closed first",
			    first != NULL ? first : "client");
			ret = 0;
			goto out;
		}
		if (moved)
			last = now_ms();
		if (moved || progress)
			continue;

		/* Nothing moved: every open step is waiting on an fd. */
		timeout = -1;
		if (idle_timeout_s > 0) {
			left = last + (int64_t)idle_timeout_s * 1000 - now_ms();
			if (left <= 0) {
				/* A deliberate end: close both ways, but a
				 * close_notify only when nothing for the
				 * client is stuck in our buffers. */
				snprintf(why, whysz, "idle timeout (%d s)",
				    idle_timeout_s);
				gnutls_transport_set_push_function(c->tls,
				    direct_push);
				if (tq_len == tq_off && b_len == b_off)
					(void)gnutls_bye(c->tls,
					    GNUTLS_SHUT_WR);
				(void)shutdown(c->wfd, SHUT_WR);
				(void)shutdown(bfd, SHUT_WR);
				ret = 0;
				goto out;
			}
			timeout = left > INT_MAX ? INT_MAX : (int)left;
		}
		if (poll_waits(&w, timeout, why, whysz) == -1)
			goto out;
	}

out:
	/* On an error the client gets no close_notify from anyone: it must
	 * not take a cut-off session for a complete one. */
	gnutls_transport_set_push_function(c->tls, direct_push);
	/* The buffers held the user's traffic. */
	explicit_bzero(c2b, sizeof(c2b));
	explicit_bzero(b2c, sizeof(b2c));
	explicit_bzero(tq, sizeof(tq));
	return ret;
}
