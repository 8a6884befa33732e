/*
 * xmppgate-relay's sessions: each moves bytes both ways between a
 * client's socket (kernel TLS or plain TCP) and its backend's with
 * splice(2), driven by one epoll set for all of them, and never blocks:
 * one stuck session must not stall the others.
 *
 * Each direction moves source -> pipe -> destination as src/splice.c's
 * does, but holds a pipe only while bytes are in flight: a direction
 * takes one when its source is readable (from a bounded cache of empty
 * pipes, else a new pipe2()) and gives it back as soon as it is empty
 * (to the cache, else closed), so an idle session holds two sockets and
 * no pipe.  No direction ever waits for another's pipe: a client that
 * stops reading stalls its own direction only (issue 22, review 4).  The
 * fd limit has room for two pipes per session (relayd.c's fd_budget());
 * the pipes keep the kernel's default size, whose per-user accounting
 * (pipe-user-pages-soft) bounds the memory that stalled ones hold.  If
 * pipe2() fails all the same, the direction waits for the once-a-second
 * sweep and tries again; the session goes on.  Backpressure is the
 * pipe's: a direction reads only while its pipe has room, so a
 * destination that does not read stops its source.
 *
 * Every socket came from a peer that may have kept a copy of it, and a
 * copy shares the file status flags: a peer that clears O_NONBLOCK would
 * make splice() block (tcp_splice_read() and the socket's sendmsg follow
 * the file's flag, not SPLICE_F_NONBLOCK).  So the flag is set again
 * before each splice() on a socket when it was cleared (a race with such
 * a peer stays possible; xmppgate-relay(8) says why the peers are
 * trusted that far), and every close() of a session's socket turns
 * SO_LINGER off first, so that a peer's linger time cannot block it.
 *
 * epoll is edge-triggered: each fd's "readable" and "writable" are
 * flags set by an event and cleared only by EAGAIN, so a step tries an
 * operation only when it may succeed.  A read that says EAGAIN while the
 * pipe holds bytes may mean a full pipe (its capacity counts pages, see
 * splice.c), so it leaves "readable" set and the out step decides.
 *
 * Kernel TLS (the client socket has the "tls" TCP ULP): a record other
 * than application data makes splice fail with EINVAL or EIO, or say 0
 * for an empty record; ktls_recv_record() reads it then, without
 * waiting.  A data record it returns (rare) is kept in a buffer of its
 * own and written out first, never with a blocking write (splice.c's
 * ktls_control() may wait 30 s for that: not here).  close_notify ends
 * the client's direction; other alerts and a KeyUpdate end the session
 * with ktls_recv_record()'s reason.  The end of the backend's direction
 * is a close_notify (ktls_try_close_notify(), again when the socket has
 * room), then shutdown(2).
 */
#define _GNU_SOURCE	/* splice(2), F_GETPIPE_SZ */
#include "config.h"

#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include "relayd.h"

#ifndef TCP_ULP
#define TCP_ULP		31
#endif
#define SPLICE_FLAGS	(SPLICE_F_MOVE | SPLICE_F_NONBLOCK)

struct rpipe {
	int	r, w;
	size_t	cap;		/* bytes it may hold */
};

struct rdir {
	const char *from_name, *to_name;	/* "client", "backend" */
	int	from, to;
	int	from_ktls, to_ktls;
	int	*from_rd, *to_wr;	/* the session's readiness flags */
	struct rpipe pp;		/* r -1 while nothing is in flight */
	size_t	held;			/* bytes in the pipe */
	uint8_t	*rec;			/* a record ktls_recv_record() read */
	size_t	roff, nrec;
	int	reading;		/* the source has not ended */
	int	zero;			/* kTLS said 0 with bytes in the pipe */
	int	bye;			/* close_notify sent (or given up) */
	int	shut;			/* the end passed on */
	int	waiting;		/* for a pipe: until the sweep */
	uint64_t count;			/* bytes delivered */
	struct rsess *s;
};

struct rsess {
	struct relaymsg m;
	int	cfd, bfd;
	int	ktls;			/* the client socket has kernel TLS */
	int	c_rd, c_wr, b_rd, b_wr;	/* readiness (edge-triggered) */
	struct rtag ctag, btag;
	struct rdir cb, bc;		/* client to backend, and back */
	int64_t	start_ms, last_ms;
	const char *first;		/* which side ended first */
	int	started;		/* sess_start() ran: counted, relaying */
	int	queued;			/* in the run queue */
	TAILQ_ENTRY(rsess) all, runq;
};

static TAILQ_HEAD(, rsess) sessions = TAILQ_HEAD_INITIALIZER(sessions);
static TAILQ_HEAD(, rsess) runq = TAILQ_HEAD_INITIALIZER(runq);
static int	epfd = -1;
static unsigned	nsess;
static unsigned	npipes;			/* in existence */
static struct rpipe *spare;		/* the cache of empty pipes */
static unsigned	nspare, spare_max;
static int64_t	pipe_fail_sec = -1;	/* the last "pipe2 failed" line */
static unsigned	pipe_fail_more;		/* failures not logged since */

static void sess_end(struct rsess *, int exitcode, const char *why);

static int
again(void)
{
	return errno == EAGAIN || errno == EWOULDBLOCK;
}

/* Errors of the relay itself rather than of a peer (outcome=tempfail). */
static int
own_failure(int err)
{
	return err == ENOMEM || err == ENOBUFS || err == EMFILE ||
	    err == ENFILE;
}

int
sess_setup(int ep, int cache)
{
	epfd = ep;
	spare_max = (unsigned)cache;
	if (cache > 0 && (spare = calloc((size_t)cache,
	    sizeof(*spare))) == NULL)
		return -1;
	return 0;
}

void
close_received(int fd)
{
	struct linger lg = { 0, 0 };
	socklen_t len = sizeof(lg);

	/* A peer's SO_LINGER {1, N} with bytes unsent would block close()
	 * up to N s; off, the kernel sends them in the background.  Only
	 * when it is on: a sender that keeps the session (a refusal) finds
	 * its socket as it was.  Not a socket: ENOTSOCK, nothing to do. */
	if (getsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, &len) == 0 &&
	    lg.l_onoff != 0) {
		lg.l_onoff = 0;
		lg.l_linger = 0;
		(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(fd);
}

unsigned
sess_count(void)
{
	return nsess;
}

unsigned
sess_pipes(void)
{
	return npipes;
}

static void
enqueue(struct rsess *s)
{
	if (!s->queued) {
		TAILQ_INSERT_TAIL(&runq, s, runq);
		s->queued = 1;
	}
}

/* At most one line a second for pipes that could not be made. */
static void
log_pipe_failure(int err)
{
	int64_t sec = now_ms() / 1000;

	if (sec == pipe_fail_sec) {
		pipe_fail_more++;
		return;
	}
	log_conn_id(NULL);
	xg_log(LOG_ERR, "relay: pipe2: %s: the direction waits and tries again "
	    "within a second (%u more such failures since the last such line)",
	    strerror(err), pipe_fail_more);
	pipe_fail_sec = sec;
	pipe_fail_more = 0;
}

/* A pipe for d (from the cache, else a new one): 0, or -1 when none
 * could be made (logged; d waits for the sweep). */
static int
pipe_get(struct rdir *d)
{
	int p[2], sz;

	if (nspare > 0) {
		d->pp = spare[--nspare];
		return 0;
	}
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) == -1) {
		log_pipe_failure(errno);
		d->waiting = 1;
		return -1;
	}
	/* The kernel's default size: no F_SETPIPE_SZ (1024 pipes of
	 * 256 KiB would pass pipe-user-pages-soft), and the kernel may
	 * give a smaller one to a user over that limit. */
	d->pp = (struct rpipe){ p[0], p[1], 4096 };
	if ((sz = fcntl(p[0], F_GETPIPE_SZ)) > 0)
		d->pp.cap = (size_t)sz;
	npipes++;
	return 0;
}

static void
pipe_close(struct rpipe *pp)
{
	close(pp->r);
	close(pp->w);
	pp->r = pp->w = -1;
	npipes--;
}

/* An empty pipe back to the cache, or closed when it is full. */
static void
pipe_put(struct rdir *d)
{
	if (nspare < spare_max)
		spare[nspare++] = d->pp;
	else
		pipe_close(&d->pp);
	d->pp.r = d->pp.w = -1;
}

/* A pipe that may hold bytes (a session's end): closed. */
static void
pipe_drop(struct rdir *d)
{
	if (d->held > 0)
		pipe_close(&d->pp);
	else
		pipe_put(d);
	d->held = 0;
}

/*
 * The kTLS client said EINVAL, EIO or 0 with the pipe empty: the next
 * record is not plain data.  1 progress, 0 nothing yet (the fd is not
 * readable), -1 with why.
 */
static int
dir_control(struct rdir *d, char *why, size_t whysz)
{
	uint8_t tmp[XG_RELAY_BUF];
	ssize_t r;

	r = ktls_recv_record(d->from, tmp, sizeof(tmp), why, whysz);
	if (r == KTLS_REC_AGAIN) {
		*d->from_rd = 0;
		return 0;
	}
	if (r == KTLS_REC_SKIP)
		return 1;
	if (r == -1)
		return -1;
	if (r == 0) {
		d->reading = 0;	/* close_notify, or the TCP end */
		return 1;
	}
	if ((d->rec = malloc((size_t)r)) == NULL) {
		explicit_bzero(tmp, sizeof(tmp));
		snprintf(why, whysz, "relay: %s read: out of memory",
		    d->from_name);
		return -2;
	}
	memcpy(d->rec, tmp, (size_t)r);
	d->nrec = (size_t)r;
	d->roff = 0;
	explicit_bzero(tmp, sizeof(tmp));
	return 1;
}

static void
rec_free(struct rdir *d)
{
	if (d->rec != NULL) {
		explicit_bzero(d->rec, d->roff + d->nrec);
		free(d->rec);
		d->rec = NULL;
	}
	d->nrec = d->roff = 0;
}

/*
 * One pass over one direction: 1 progress, 0 it waits, -1 with why (a
 * peer's error or end), -2 with why (the relay's own failure).
 */
static int
dir_step(struct rdir *d, char *why, size_t whysz)
{
	int moved = 0, c;
	ssize_t r;

	/* Out: a record read by ktls_recv_record() first, then the pipe. */
	if ((d->nrec > 0 || d->held > 0) && *d->to_wr) {
		if (d->nrec > 0)
			r = send(d->to, d->rec + d->roff, d->nrec,
			    MSG_DONTWAIT | MSG_NOSIGNAL);
		else {
			/* again, if a peer with a copy cleared it */
			(void)fd_nonblock(d->to);
			r = splice(d->pp.r, NULL, d->to, NULL, d->held,
			    SPLICE_FLAGS);
		}
		if (r > 0) {
			if (d->nrec > 0) {
				d->roff += (size_t)r;
				d->nrec -= (size_t)r;
				if (d->nrec == 0)
					rec_free(d);
			} else
				d->held -= (size_t)r;
			d->count += (uint64_t)r;
			moved = 1;
		} else if (r == -1 && again())
			*d->to_wr = 0;
		else if (r == -1 && errno == EINTR)
			moved = 1;
		else if (r == -1 && own_failure(errno)) {
			snprintf(why, whysz, "relay: %s write: %s",
			    d->to_name, strerror(errno));
			return -2;
		} else {
			snprintf(why, whysz, "%s write: %s", d->to_name,
			    r == 0 ? "wrote nothing" : strerror(errno));
			return -1;
		}
	}

	/* In: while the pipe has room (none made: the sweep wakes it). */
	if (d->reading && *d->from_rd && d->nrec == 0 &&
	    !(d->zero && d->held > 0) && !d->waiting) {
		if (d->pp.r == -1 && pipe_get(d) == -1)
			return moved;
		if (d->held < d->pp.cap) {
			(void)fd_nonblock(d->from);
			r = splice(d->from, NULL, d->pp.w, NULL,
			    d->pp.cap - d->held, SPLICE_FLAGS);
			if (r > 0) {
				d->held += (size_t)r;
				d->zero = 0;
				moved = 1;
			} else if (r == 0 && d->from_ktls) {
				/* The end, or an empty record: the record
				 * layer says, once the pipe is empty. */
				d->zero = 1;
				if (d->held == 0) {
					if ((c = dir_control(d, why,
					    whysz)) < 0)
						return c;
					d->zero = 0;
					moved |= c;
				}
			} else if (r == 0) {
				d->reading = 0;
				moved = 1;
			} else if (again()) {
				if (d->held == 0)
					*d->from_rd = 0;
				/* else perhaps a full pipe: the out step */
			} else if (d->from_ktls && (errno == EINVAL ||
			    errno == EIO)) {
				if (d->held == 0) {
					if ((c = dir_control(d, why,
					    whysz)) < 0)
						return c;
					moved |= c;
				}
			} else if (errno == EINTR)
				moved = 1;
			else if (own_failure(errno)) {
				snprintf(why, whysz, "relay: %s read: %s",
				    d->from_name, strerror(errno));
				return -2;
			} else {
				snprintf(why, whysz, "%s read: %s",
				    d->from_name, strerror(errno));
				return -1;
			}
		}
	}

	/* Idle: no pipe held. */
	if (d->pp.r != -1 && d->held == 0)
		pipe_put(d);

	/* The end: the source is done and everything is delivered. */
	if (!d->reading && !d->shut && d->nrec == 0 && d->held == 0) {
		if (d->to_ktls && !d->bye) {
			if (!*d->to_wr)
				return moved;
			if (ktls_try_close_notify(d->to) == 1) {
				*d->to_wr = 0;	/* again when writable */
				return moved;
			}
			d->bye = 1;	/* sent, or the client sees a cut */
		}
		(void)shutdown(d->to, SHUT_WR);	/* ENOTCONN: gone anyway */
		d->shut = 1;
		moved = 1;
	}
	return moved;
}

static void
dir_init(struct rsess *s, struct rdir *d, int client_to_backend)
{
	d->s = s;
	d->reading = 1;
	d->pp.r = d->pp.w = -1;
	if (client_to_backend) {
		d->from_name = "client";
		d->to_name = "backend";
		d->from = s->cfd;
		d->to = s->bfd;
		d->from_ktls = s->ktls;
		d->from_rd = &s->c_rd;
		d->to_wr = &s->b_wr;
	} else {
		d->from_name = "backend";
		d->to_name = "client";
		d->from = s->bfd;
		d->to = s->cfd;
		d->to_ktls = s->ktls;
		d->from_rd = &s->b_rd;
		d->to_wr = &s->c_wr;
	}
}

/* Does the client socket have kernel TLS (the "tls" upper layer)? */
static int
has_ktls(int fd)
{
	char ulp[16];
	socklen_t len = sizeof(ulp);

	memset(ulp, 0, sizeof(ulp));
	if (getsockopt(fd, IPPROTO_TCP, TCP_ULP, ulp, &len) == -1)
		return 0;	/* not TCP, or no ULP support at all */
	return strncmp(ulp, "tls", sizeof(ulp)) == 0;
}

struct rsess *
sess_new(const struct relaymsg *m, int cfd, int bfd, char *why,
    size_t whysz)
{
	struct epoll_event ev;
	struct rsess *s;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(why, whysz, "out of memory");
		return NULL;
	}
	s->m = *m;
	s->cfd = cfd;
	s->bfd = bfd;
	s->ktls = has_ktls(cfd);
	s->ctag.kind = TAG_CLIENT;
	s->btag.kind = TAG_BACKEND;
	s->ctag.p = s->btag.p = s;
	dir_init(s, &s->cb, 1);
	dir_init(s, &s->bc, 0);
	/* Watched before "OK" (a watch changes nothing on the socket), so
	 * that nothing can fail once the sender has let the session go.
	 * No event is read before sess_start(): the loop is ours. */
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
	ev.data.ptr = &s->ctag;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, s->cfd, &ev) == -1) {
		snprintf(why, whysz, "epoll: %s", strerror(errno));
		free(s);
		return NULL;
	}
	ev.data.ptr = &s->btag;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, s->bfd, &ev) == -1) {
		snprintf(why, whysz, "epoll: %s", strerror(errno));
		(void)epoll_ctl(epfd, EPOLL_CTL_DEL, s->cfd, NULL);
		free(s);
		return NULL;
	}
	return s;
}

void
sess_drop(struct rsess *s)
{
	/* The sender keeps the sockets: the watches must go before our
	 * fds, or they would outlive them (the files are still open). */
	(void)epoll_ctl(epfd, EPOLL_CTL_DEL, s->cfd, NULL);
	(void)epoll_ctl(epfd, EPOLL_CTL_DEL, s->bfd, NULL);
	close_received(s->cfd);
	close_received(s->bfd);
	free(s);
}

void
sess_start(struct rsess *s)
{
	char why[XG_REASON_MAX];

	s->start_ms = s->last_ms = now_ms();
	TAILQ_INSERT_TAIL(&sessions, s, all);
	nsess++;
	log_conn_id(s->m.id);
	xg_debug("session taken over (%s)", s->ktls ? "kernel TLS" :
	    "plain TCP");
	log_conn_id(NULL);
	if (fd_nonblock(s->cfd) == -1 || fd_nonblock(s->bfd) == -1) {
		snprintf(why, sizeof(why), "relay: fcntl: %s", strerror(errno));
		sess_end(s, XG_EXIT_TEMP, why);
		return;
	}
	s->started = 1;
	/* Whatever is there already: try once, then wait for edges. */
	s->c_rd = s->c_wr = s->b_rd = s->b_wr = 1;
	enqueue(s);
}

void
sess_event(struct rtag *t, uint32_t events)
{
	struct rsess *s = t->p;
	int *rd = t->kind == TAG_CLIENT ? &s->c_rd : &s->b_rd;
	int *wr = t->kind == TAG_CLIENT ? &s->c_wr : &s->b_wr;

	/* An error or hang-up: both steps try, and read what it is. */
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		*rd = 1;
	if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
		*wr = 1;
	enqueue(s);
}

/* The session's end: its one summary line, and everything it held. */
static void
sess_end(struct rsess *s, int exitcode, const char *why)
{
	struct rdir *d[2] = { &s->cb, &s->bc };
	int i;

	log_conn_id(s->m.id);
	log_summary_line(s->m.fields, s->m.rx + s->cb.count,
	    s->m.tx + s->bc.count, s->m.age_ms + (now_ms() - s->start_ms),
	    exitcode, why);
	log_conn_id(NULL);
	/* Watched since sess_new(); before the close, as a peer may hold
	 * the files open. */
	(void)epoll_ctl(epfd, EPOLL_CTL_DEL, s->cfd, NULL);
	(void)epoll_ctl(epfd, EPOLL_CTL_DEL, s->bfd, NULL);
	for (i = 0; i < 2; i++) {
		if (d[i]->pp.r != -1)
			pipe_drop(d[i]);
		rec_free(d[i]);
	}
	if (s->queued)
		TAILQ_REMOVE(&runq, s, runq);
	TAILQ_REMOVE(&sessions, s, all);
	nsess--;
	close_received(s->cfd);
	close_received(s->bfd);
	free(s);
}

/* Steps until both directions wait (or XG_RELAYD_STEPS, for fairness:
 * then it runs again after the others). */
static void
sess_step(struct rsess *s)
{
	char why[XG_REASON_MAX];
	int a, b, i;

	for (i = 0; i < XG_RELAYD_STEPS; i++) {
		if ((a = dir_step(&s->cb, why, sizeof(why))) >= 0)
			b = dir_step(&s->bc, why, sizeof(why));
		else
			b = a;
		if (b < 0) {
			/* A peer's error ends it as the in-process relay
			 * does (ok); the relay's own failure, tempfail. */
			sess_end(s, b == -2 ? XG_EXIT_TEMP : XG_EXIT_OK, why);
			return;
		}
		if (s->first == NULL && (!s->cb.reading || !s->bc.reading))
			s->first = !s->cb.reading ? "client" : "backend";
		if (s->cb.shut && s->bc.shut) {
			snprintf(why, sizeof(why), "%s closed first",
			    s->first != NULL ? s->first : "client");
			sess_end(s, XG_EXIT_OK, why);
			return;
		}
		if (!a && !b)
			return;
		s->last_ms = now_ms();
	}
	enqueue(s);
}

int
sess_busy(void)
{
	return !TAILQ_EMPTY(&runq);
}

void
sess_run(void)
{
	struct rsess *s;
	unsigned n = 0, max = nsess + 1;

	/* Each session queued now runs once; one queued again by its
	 * step waits for the next round (after epoll_wait). */
	while ((s = TAILQ_FIRST(&runq)) != NULL && n++ < max) {
		TAILQ_REMOVE(&runq, s, runq);
		s->queued = 0;
		sess_step(s);
	}
}

/* The idle timeout (or the relay's stop): both ends told, as splice.c
 * does, a close_notify only when nothing is owed to the client. */
static void
sess_cut(struct rsess *s)
{
	if (s->ktls && s->bc.held == 0 && s->bc.nrec == 0 && !s->bc.bye)
		(void)ktls_try_close_notify(s->cfd);
	(void)shutdown(s->cfd, SHUT_WR);
	(void)shutdown(s->bfd, SHUT_WR);
}

void
sess_sweep(int64_t now)
{
	struct rsess *s, *next;
	char why[XG_REASON_MAX];

	for (s = TAILQ_FIRST(&sessions); s != NULL; s = next) {
		next = TAILQ_NEXT(s, all);
		/* A direction that could not get a pipe tries again. */
		if (s->cb.waiting || s->bc.waiting) {
			s->cb.waiting = s->bc.waiting = 0;
			enqueue(s);
		}
		if (s->m.idle_s <= 0 || now - s->last_ms <
		    (int64_t)s->m.idle_s * 1000)
			continue;
		snprintf(why, sizeof(why), "idle timeout (%d s)", s->m.idle_s);
		sess_cut(s);
		sess_end(s, XG_EXIT_OK, why);
	}
}

void
sess_stop_all(void)
{
	struct rsess *s;
	char why[XG_REASON_MAX];
	size_t lost;

	while ((s = TAILQ_FIRST(&sessions)) != NULL) {
		lost = s->cb.held + s->cb.nrec + s->bc.held + s->bc.nrec;
		sess_cut(s);
		if (lost == 0)
			sess_end(s, XG_EXIT_OK, "relay stopping");
		else {
			snprintf(why, sizeof(why), "relay stopping (%zu bytes "
			    "in flight lost)", lost);
			sess_end(s, XG_EXIT_TEMP, why);
		}
	}
	while (nspare > 0)
		pipe_close(&spare[--nspare]);
	free(spare);
	spare = NULL;
}
