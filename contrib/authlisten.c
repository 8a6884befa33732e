/*
 * --listen for the sample helpers: see authlisten.h.
 *
 * The parent accepts, checks the peer (--allow-uid), and reads every
 * connection's request itself, in one poll loop, each with a deadline
 * for the whole request: a peer that sends nothing, or a byte now and
 * then, holds one slot of AUTHLISTEN_PENDING_MAX for at most
 * AUTHLISTEN_READ_TIMEOUT seconds and keeps nobody else waiting.  When
 * every slot is taken the connection waiting longest is closed, so a
 * crowd of idle peers cannot lock a new one out.  A whole request
 * (authreq_decode) is forked off: the child sets up the exec helper's
 * environment and password, returns to the helper's main() for the
 * check and answers; SIGALRM ends it after AUTHLISTEN_TIMEOUT.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1		/* accept4, clearenv, ppoll, struct ucred */
#endif
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>
#include "xmppgate.h"
#include "authlisten.h"

#define LOG_EVERY_MS	1000	/* one line of a kind a second at most */
#define ACCEPT_PAUSE_MS	1000	/* after EMFILE and the like */

struct pending {
	int	fd;			/* -1: free */
	int	whole;			/* decoded, waiting for a child */
	int64_t	deadline;
	size_t	len;
	struct authreq rq;		/* whole: into buf */
	char	buf[XG_AUTHREQ_MAX + 1];	/* one more: too long */
};

/* Repeated lines of one kind: the first, then one a second with the
 * number left out in between. */
struct throttle {
	int64_t	last;
	unsigned long quiet;
};

static struct pending pend[AUTHLISTEN_PENDING_MAX];
static uid_t allow[AUTHLISTEN_UIDS_MAX];
static size_t nallow;
static const char *prog;
static struct throttle t_accept, t_peer, t_full, t_closed, t_slow, t_bad,
    t_refused, t_busy, t_fork;

static void	say(struct throttle *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	drop(struct pending *);
static void	admit(int, int64_t);
static void	take(struct pending *);
static int	spawn(struct pending *, int, char *, size_t, size_t *);
static int	become(struct pending *, int, char *, size_t, size_t *);
static void	on_chld(int);
static int64_t	mono_ms(void);

/* As now_ms() of conn.c, which would pull GnuTLS into the passwd helper. */
static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
say(struct throttle *t, const char *fmt, ...)
{
	int64_t now = mono_ms();
	va_list ap;

	if (t->last != 0 && now - t->last < LOG_EVERY_MS) {
		t->quiet++;
		return;
	}
	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (t->quiet > 0)
		fprintf(stderr, " (and %lu more like it)", t->quiet);
	fputc('\n', stderr);
	t->last = now;
	t->quiet = 0;
}

static void
on_chld(int sig)
{
	(void)sig;		/* only to end ppoll */
}

void
authlisten_args(const char *p, int *argc, char ***argv)
{
	char *list, *item, *save = NULL, *end;
	struct passwd *pw;
	unsigned long u;

	while (*argc > 1 && strcmp((*argv)[1], "--allow-uid") == 0) {
		if (*argc < 3) {
			fprintf(stderr, "%s: usage: --allow-uid UID[,UID...]\n",
			    p);
			exit(AUTHLISTEN_EXIT_USAGE);
		}
		if ((list = strdup((*argv)[2])) == NULL) {
			fprintf(stderr, "%s: fatal: out of memory\n", p);
			exit(111);
		}
		for (item = strtok_r(list, ",", &save); item != NULL;
		    item = strtok_r(NULL, ",", &save)) {
			errno = 0;
			u = strtoul(item, &end, 10);
			if (item[0] >= '0' && item[0] <= '9' && *end == '\0' &&
			    errno == 0 && u < (unsigned long)(uid_t)-1)
				;
			else if ((pw = getpwnam(item)) != NULL)
				u = (unsigned long)pw->pw_uid;
			else {
				fprintf(stderr, "%s: --allow-uid: no user %.64s"
				    "\n", p, item);
				exit(AUTHLISTEN_EXIT_USAGE);
			}
			if (nallow == AUTHLISTEN_UIDS_MAX) {
				fprintf(stderr, "%s: --allow-uid: more than %d"
				    "\n", p, AUTHLISTEN_UIDS_MAX);
				exit(AUTHLISTEN_EXIT_USAGE);
			}
			allow[nallow++] = (uid_t)u;
		}
		free(list);
		if (nallow == 0) {
			fprintf(stderr, "%s: --allow-uid: empty\n", p);
			exit(AUTHLISTEN_EXIT_USAGE);
		}
		*argc -= 2;
		*argv += 2;
	}
}

static void
drop(struct pending *q)
{
	if (q->fd != -1)
		close(q->fd);
	q->fd = -1;
	q->whole = 0;
	q->len = 0;
	explicit_bzero(&q->rq, sizeof(q->rq));
	explicit_bzero(q->buf, sizeof(q->buf));
}

/* A new connection: the peer check, then a slot (the longest waiting
 * reader's if none is free). */
static void
admit(int fd, int64_t now)
{
	struct pending *q = NULL, *old = NULL;
	struct ucred cr;
	socklen_t cl = sizeof(cr);
	size_t i;

	if (nallow > 0) {
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) == -1) {
			say(&t_peer, "peer unknown (SO_PEERCRED: %s): closed",
			    strerror(errno));
			close(fd);
			return;
		}
		for (i = 0; i < nallow && allow[i] != cr.uid; i++)
			;
		if (i == nallow) {
			say(&t_peer, "peer pid=%ld uid=%lu not allowed "
			    "(--allow-uid): closed", (long)cr.pid,
			    (unsigned long)cr.uid);
			close(fd);
			return;
		}
	}
	for (i = 0; i < AUTHLISTEN_PENDING_MAX && q == NULL; i++) {
		if (pend[i].fd == -1)
			q = &pend[i];
		else if (!pend[i].whole && (old == NULL ||
		    pend[i].deadline < old->deadline))
			old = &pend[i];
	}
	if (q == NULL && old == NULL) {
		say(&t_full, "%d whole requests wait for a check: connection "
		    "closed", AUTHLISTEN_PENDING_MAX);
		close(fd);
		return;
	}
	if (q == NULL) {
		say(&t_full, "%d connections at once: the one waiting longest "
		    "closed", AUTHLISTEN_PENDING_MAX);
		drop(old);
		q = old;
	}
	q->fd = fd;
	q->whole = 0;
	q->len = 0;
	q->deadline = now + AUTHLISTEN_READ_TIMEOUT * 1000;
}

/* Bytes on a reader's connection. */
static void
take(struct pending *q)
{
	static const char tempfail[] = "tempfail\n";
	ssize_t r;
	int rc;

	if (q->len == sizeof(q->buf)) {
		say(&t_bad, "not a request of xmppgate-auth(5) (SOCKET "
		    "HELPERS)");
		drop(q);
		return;
	}
	r = read(q->fd, q->buf + q->len, sizeof(q->buf) - q->len);
	if (r == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (r <= 0) {
		say(&t_closed, "connection %s within the request",
		    r == 0 ? "closed" : strerror(errno));
		drop(q);
		return;
	}
	q->len += (size_t)r;
	rc = authreq_decode(q->buf, q->len, &q->rq);
	if (rc == 0)
		return;
	if (rc == 1) {
		q->whole = 1;
		return;
	}
	if (rc == -2) {
		/* Never into a helper's environment (LD_PRELOAD, PATH). */
		say(&t_refused, "request refused: field %.*s is not one "
		    "xmppgate sends (xmppgate-auth(5), SOCKET HELPERS)",
		    (int)q->rq.refused_len, q->rq.refused);
		(void)!send(q->fd, tempfail, sizeof(tempfail) - 1,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
	} else
		say(&t_bad, "not a request of xmppgate-auth(5) (SOCKET "
		    "HELPERS)");
	drop(q);
}

/* In the child: nothing of the others, the request as the exec helper
 * gets it, and back to main(); -1 when the environment cannot be set. */
static int
become(struct pending *q, int lfd, char *pass, size_t passsz, size_t *plen)
{
	struct sigaction sa;
	sigset_t none;
	size_t i;
	int fd = q->fd, rc = 0;

	close(lfd);
	for (i = 0; i < AUTHLISTEN_PENDING_MAX; i++)
		if (&pend[i] != q && pend[i].fd != -1)
			drop(&pend[i]);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	alarm(AUTHLISTEN_TIMEOUT);
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	if (clearenv() != 0)
		rc = -1;
	for (i = 0; i < q->rq.nfields && rc == 0; i++)
		if (setenv(q->rq.name[i], q->rq.value[i], 1) == -1)
			rc = -1;
	memcpy(pass, q->rq.pass, q->rq.pass_len);
	pass[q->rq.pass_len] = '\0';
	*plen = q->rq.pass_len;
	q->fd = -1;
	drop(q);
	if (rc == -1) {
		fprintf(stderr, "%s: unable to set the environment\n", prog);
		explicit_bzero(pass, passsz);
		close(fd);
		_exit(1);
	}
	return fd;
}

/* A whole request to a child: in the child the connection, in the parent
 * 0 (the slot freed) or -1 (fork failed; it waits). */
static int
spawn(struct pending *q, int lfd, char *pass, size_t passsz, size_t *plen)
{
	pid_t pid;

	if (q->rq.pass_len >= passsz) {		/* not with our callers */
		say(&t_bad, "password over %zu bytes", passsz - 1);
		drop(q);
		return 0;
	}
	if ((pid = fork()) == -1) {
		say(&t_fork, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0)
		return become(q, lfd, pass, passsz, plen);
	drop(q);
	return 0;
}

int
authlisten(const char *p, char *pass, size_t passsz, size_t *plen)
{
	struct pollfd pf[AUTHLISTEN_PENDING_MAX + 1];
	struct pending *at[AUTHLISTEN_PENDING_MAX + 1];
	struct sigaction sa;
	sigset_t chld, none;
	int64_t now, next, paused = 0;
	int lfd = SD_LISTEN_FDS_START, fd, children = 0, n, i, r;
	struct timespec ts;

	prog = p;
	if (sd_listen_fds(1) != 1 ||
	    sd_is_socket_unix(lfd, SOCK_STREAM, 1, NULL, 0) <= 0) {
		fprintf(stderr, "%s: fatal: --listen wants one listening UNIX "
		    "stream socket from systemd (LISTEN_FDS, Accept=no)\n",
		    prog);
		exit(111);
	}
	(void)fcntl(lfd, F_SETFD, FD_CLOEXEC);
	(void)fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) | O_NONBLOCK);
	for (i = 0; i < AUTHLISTEN_PENDING_MAX; i++)
		pend[i].fd = -1;
	signal(SIGPIPE, SIG_IGN);
	/* SIGCHLD is let through only inside ppoll: an ended child wakes
	 * the loop, and none is missed between the reaping and the wait. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_chld;
	sigaction(SIGCHLD, &sa, NULL);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	sigemptyset(&none);
	for (;;) {
		while (children > 0 && waitpid(-1, NULL, WNOHANG) > 0)
			children--;
		now = mono_ms();
		next = now + 60000;
		n = 0;
		for (i = 0; i < AUTHLISTEN_PENDING_MAX; i++) {
			struct pending *q = &pend[i];

			if (q->fd == -1)
				continue;
			if (q->whole && children < AUTHLISTEN_CHILDREN_MAX) {
				if ((r = spawn(q, lfd, pass, passsz, plen)) > 0)
					return r;	/* the child */
				if (r == 0) {
					children++;
					continue;
				}
			}
			if (now >= q->deadline) {
				if (q->whole)
					say(&t_busy, "%d checks running: a "
					    "request waited %d s, closed",
					    children, AUTHLISTEN_READ_TIMEOUT);
				else
					say(&t_slow, "no whole request within "
					    "%d s: closed",
					    AUTHLISTEN_READ_TIMEOUT);
				drop(q);
				continue;
			}
			if (q->deadline < next)
				next = q->deadline;
			if (q->whole)
				continue;
			pf[n].fd = q->fd;
			pf[n].events = POLLIN;
			at[n++] = q;
		}
		if (paused <= now) {
			pf[n].fd = lfd;
			pf[n].events = POLLIN;
			at[n++] = NULL;
		} else if (paused < next)
			next = paused;
		ts.tv_sec = (time_t)((next - now) / 1000);
		ts.tv_nsec = (long)((next - now) % 1000) * 1000000L;
		if (ppoll(pf, (nfds_t)n, &ts, &none) == -1) {
			if (errno != EINTR) {
				fprintf(stderr, "%s: fatal: poll: %s\n", prog,
				    strerror(errno));
				exit(111);
			}
			continue;
		}
		now = mono_ms();
		for (i = 0; i < n; i++) {
			if (pf[i].revents == 0)
				continue;
			if (at[i] != NULL) {
				take(at[i]);
				continue;
			}
			fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC |
			    SOCK_NONBLOCK);
			if (fd != -1) {
				admit(fd, now);
				continue;
			}
			if (errno != EINTR && errno != EAGAIN &&
			    errno != ECONNABORTED) {
				say(&t_accept, "accept: %s", strerror(errno));
				paused = now + ACCEPT_PAUSE_MS;
			}
		}
	}
}

void
authlisten_answer(int fd, int code, const char *out, size_t outlen)
{
	const char *v = code == 0 ? "accept\n" : code == 1 ? "reject\n" :
	    "tempfail\n";
	char buf[XG_AUTHREQ_ANSWER_MAX];
	size_t len = strlen(v), pos = 0;
	ssize_t r;

	if (outlen > XG_HELPER_REPLY_MAX) {
		v = "tempfail\n";
		len = strlen(v);
		outlen = 0;
	}
	memcpy(buf, v, len);
	if (outlen > 0)
		memcpy(buf + len, out, outlen);
	len += outlen;
	while (pos < len) {
		r = send(fd, buf + pos, len - pos, MSG_NOSIGNAL);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		pos += (size_t)r;
	}
	explicit_bzero(buf, sizeof(buf));
	close(fd);
}
