/*
 * xmppgate-relay: one long-lived process that carries the sessions
 * xmppgate's per-connection processes hand to it after the login (issue
 * 22), so that those processes, their units and their dynamic UIDs go
 * away.  It never parses a client byte: it moves them with splice(2)
 * (relayd_session.c) and logs each session's summary line at its end.
 *
 * main() is the table of contents: options, the fd limit, the listening
 * socket from systemd, then one epoll loop over the listening socket,
 * the hand-offs not yet answered, the sessions and SIGTERM.
 *
 * Its peers (the group given with --allow-group) are trusted not to
 * freeze it: a peer that kept a copy of a socket it handed over can
 * still make a splice() block (relayd_session.c); xmppgate-relay(8)
 * says why that is accepted.
 *
 * A hand-off is one short SOCK_SEQPACKET connection: its peer passes the
 * credential check at accept (SO_PEERCRED, SO_PEERGROUPS) or is closed
 * at once without an answer; it sends one datagram (relaymsg.c) with
 * exactly two fds (SCM_RIGHTS: the client's socket, the backend's); the
 * relay answers "OK" once it holds the session, or "NO reason".  Nothing
 * is read, written or changed on either session fd before "OK" is sent:
 * until then the sender may still keep the session.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>
#include "relayd.h"

#define PROG		"xmppgate-relay"
#define PEERGROUPS_MAX	65536	/* NGROUPS_MAX of Linux */
#define EVENTS_MAX	256	/* epoll events per wait */
#define ACCEPTS_MAX	64	/* hand-offs accepted per wake-up */

struct ropts {
	uid_t	uids[XG_RELAYD_ALLOW_MAX];
	gid_t	gids[XG_RELAYD_ALLOW_MAX];
	int	nuids, ngids;
	int	max_sessions;
	int	pipes;
	int	verbose, syslog, allow_root;
};

struct handoff {
	struct rtag tag;
	int	fd;
	pid_t	pid;
	uid_t	uid;
	int64_t	deadline;
	TAILQ_ENTRY(handoff) e;
};

static TAILQ_HEAD(, handoff) pending = TAILQ_HEAD_INITIALIZER(pending);
static unsigned	npending;
static struct ropts o;
static int	epfd, lfd = -1;
static int64_t	accept_pause_until = -1;	/* not watching lfd until */
static unsigned	session_limit;		/* --max-sessions and the fd limit */
static gid_t	peergroups[PEERGROUPS_MAX];
static int64_t	denied_sec = -1;	/* the last "not allowed" line */
static unsigned	denied_more;		/* not logged since */

static void usage(FILE *, int) __attribute__((noreturn));
static void relay_options(int, char **);
static void usage_error(const char *, ...)
    __attribute__((noreturn, format(printf, 1, 2)));
static void fatal(const char *, ...)
    __attribute__((noreturn, format(printf, 1, 2)));

static void
usage(FILE *f, int code)
{
	fputs(
"usage: " PROG " [options]\n"
"  Started by systemd on a SOCK_SEQPACKET socket (xmppgate-relay.socket);\n"
"  carries the sessions xmppgate --relay hands to it.\n"
"  --allow-uid USER      accept hand-offs from this user (name or number;\n"
"                        repeatable); root and our own user always\n"
"  --allow-group GROUP   ... from a process in this group (name or\n"
"                        number; repeatable)\n"
"  --max-sessions N      sessions held at once (default 10000)\n"
"  --pipes N             empty pipes kept for reuse (default 64)\n"
"  --allow-root          run as root (it needs no privilege)\n"
"  --syslog              log to syslog, not standard error\n"
"  -v, --verbose         debug lines\n"
"  -h, --help\n", f);
	exit(code);
}

static void
usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": usage: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see " PROG " --help)\n", stderr);
	exit(XG_EXIT_USAGE);
}

/* After log_init: one log line, then exit 111. */
static void
fatal(const char *fmt, ...)
{
	char msg[XG_LOG_LINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	xg_log(LOG_ERR, "fatal: %s", msg);
	exit(XG_EXIT_TEMP);
}

static long
number(const char *opt, const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		usage_error("%s wants a number from %ld to %ld, not '%s'",
		    opt, min, max, s);
	return v;
}

/* A user or group by name or number. */
static int
all_digits(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

static void
relay_options(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "allow-uid", required_argument, NULL, 'U' },
		{ "allow-group", required_argument, NULL, 'G' },
		{ "max-sessions", required_argument, NULL, 'm' },
		{ "pipes", required_argument, NULL, 'p' },
		{ "allow-root", no_argument, NULL, 'R' },
		{ "syslog", no_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct passwd *pw;
	struct group *gr;
	int c;

	o.max_sessions = XG_RELAYD_SESSIONS;
	o.pipes = XG_RELAYD_PIPES;
	while ((c = getopt_long(argc, argv, "vh", lo, NULL)) != -1) {
		switch (c) {
		case 'U':
			if (o.nuids == XG_RELAYD_ALLOW_MAX)
				usage_error("at most %d --allow-uid options",
				    XG_RELAYD_ALLOW_MAX);
			if (all_digits(optarg))
				o.uids[o.nuids++] = (uid_t)number("--allow-uid",
				    optarg, 0, INT_MAX);
			else if ((pw = getpwnam(optarg)) != NULL)
				o.uids[o.nuids++] = pw->pw_uid;
			else
				usage_error("--allow-uid: no user '%s'", optarg);
			break;
		case 'G':
			if (o.ngids == XG_RELAYD_ALLOW_MAX)
				usage_error("at most %d --allow-group options",
				    XG_RELAYD_ALLOW_MAX);
			if (all_digits(optarg))
				o.gids[o.ngids++] = (gid_t)number(
				    "--allow-group", optarg, 0, INT_MAX);
			else if ((gr = getgrnam(optarg)) != NULL)
				o.gids[o.ngids++] = gr->gr_gid;
			else
				usage_error("--allow-group: no group '%s'",
				    optarg);
			break;
		case 'm':
			o.max_sessions = (int)number("--max-sessions", optarg,
			    1, XG_RELAYD_SESSIONS_MAX);
			break;
		case 'p':
			o.pipes = (int)number("--pipes", optarg, 0,
			    XG_RELAYD_PIPES_MAX);
			break;
		case 'R': o.allow_root = 1; break;
		case 's': o.syslog = 1; break;
		case 'v': o.verbose = 1; break;
		case 'h': usage(stdout, XG_EXIT_OK);
		default: usage(stderr, XG_EXIT_USAGE);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (geteuid() == 0 && !o.allow_root)
		usage_error("refusing to run as root: it needs no privilege "
		    "(its unit has DynamicUser=); --allow-root to insist");
}

/*
 * The fd limit: the soft one raised to the hard one, then sessions
 * bounded by what fits beside our own fds and the cache of empty pipes:
 * XG_RELAYD_SESSION_FDS per session (its two sockets, and a pipe for each
 * direction, which a stalled direction keeps), so that pipe2() cannot
 * run out of fds while the sessions are within the bound.
 */
static void
fd_budget(void)
{
	struct rlimit rl;
	rlim_t need, room;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		fatal("unable to read RLIMIT_NOFILE: %s", strerror(errno));
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			fatal("unable to raise RLIMIT_NOFILE to %llu: %s",
			    (unsigned long long)rl.rlim_max, strerror(errno));
	}
	need = XG_RELAYD_RESERVE_FDS + 2 * (rlim_t)o.pipes;
	if (rl.rlim_cur < need + XG_RELAYD_SESSION_FDS)
		fatal("RLIMIT_NOFILE %llu leaves no room for a session beside "
		    "--pipes %d (LimitNOFILE=)", (unsigned long long)rl.rlim_cur,
		    o.pipes);
	room = (rl.rlim_cur - need) / XG_RELAYD_SESSION_FDS;
	session_limit = (unsigned)o.max_sessions;
	if (room < session_limit) {
		session_limit = (unsigned)room;
		xg_log(LOG_WARNING, "RLIMIT_NOFILE %llu: at most %u sessions, "
		    "not --max-sessions %d (LimitNOFILE=)",
		    (unsigned long long)rl.rlim_cur, session_limit,
		    o.max_sessions);
	}
}

/* The one listening socket from systemd (Accept=no). */
static int
listen_socket(void)
{
	int n, fd, fl;

	if ((n = sd_listen_fds(1)) < 0)
		fatal("sd_listen_fds: %s", strerror(-n));
	if (n != 1)
		fatal("wants exactly one socket from systemd "
		    "(ListenSequentialPacket=, Accept=no), got %d", n);
	fd = SD_LISTEN_FDS_START;
	if (sd_is_socket(fd, AF_UNIX, SOCK_SEQPACKET, 1) <= 0)
		fatal("fd %d is not a listening AF_UNIX SOCK_SEQPACKET socket",
		    fd);
	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1)
		fatal("fcntl: %s", strerror(errno));
	return fd;
}

/*
 * May this peer hand sessions over?  root, our own user, an --allow-uid,
 * or a process in an --allow-group (its primary group or any of its
 * supplementary ones: the per-connection units have DynamicUser=, a user
 * per connection, and share the group xmppgate-relay).
 */
static int
peer_allowed(int fd, struct ucred *uc)
{
	socklen_t len = sizeof(*uc);
	int i, j, n;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, uc, &len) == -1)
		return 0;
	if (uc->uid == 0 || uc->uid == geteuid())
		return 1;
	for (i = 0; i < o.nuids; i++)
		if (uc->uid == o.uids[i])
			return 1;
	for (i = 0; i < o.ngids; i++)
		if (uc->gid == o.gids[i])
			return 1;
	if (o.ngids == 0)
		return 0;
	len = sizeof(peergroups);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, peergroups, &len) == -1)
		return 0;
	n = (int)(len / sizeof(gid_t));
	for (j = 0; j < n; j++)
		for (i = 0; i < o.ngids; i++)
			if (peergroups[j] == o.gids[i])
				return 1;
	return 0;
}

/* At most one line a second for peers that are not allowed: a local
 * process could otherwise fill the journal. */
static void
log_denied(const struct ucred *uc)
{
	int64_t sec = now_ms() / 1000;

	if (sec == denied_sec) {
		denied_more++;
		return;
	}
	log_conn_id(NULL);
	xg_log(LOG_WARNING, "hand-off refused: peer pid=%ld uid=%lu gid=%lu "
	    "is not allowed (--allow-uid, --allow-group); closed without an "
	    "answer (%u more since the last such line)", (long)uc->pid,
	    (unsigned long)uc->uid, (unsigned long)uc->gid, denied_more);
	denied_sec = sec;
	denied_more = 0;
}

static void
handoff_close(struct handoff *h)
{
	(void)epoll_ctl(epfd, EPOLL_CTL_DEL, h->fd, NULL);
	close(h->fd);
	TAILQ_REMOVE(&pending, h, e);
	npending--;
	free(h);
}

static void
accept_handoffs(void)
{
	struct epoll_event ev;
	struct handoff *h;
	struct ucred uc;
	int fd, i;

	for (i = 0; i < ACCEPTS_MAX; i++) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			/* EMFILE, ENFILE, ENOMEM, ENOBUFS: the listening
			 * socket is level-triggered and stays readable, so
			 * it is not watched for a second (one line); the
			 * backlog keeps the senders waiting. */
			log_conn_id(NULL);
			xg_log(LOG_ERR, "accept: %s; no hand-off accepted for "
			    "a second", strerror(errno));
			(void)epoll_ctl(epfd, EPOLL_CTL_DEL, lfd, NULL);
			accept_pause_until = now_ms() + 1000;
			return;
		}
		memset(&uc, 0, sizeof(uc));
		if (!peer_allowed(fd, &uc)) {
			log_denied(&uc);
			close(fd);
			continue;
		}
		if (npending >= XG_RELAYD_PENDING_MAX ||
		    (h = calloc(1, sizeof(*h))) == NULL) {
			xg_log(LOG_WARNING, "hand-off refused: %u hand-offs "
			    "already waiting for their message (peer pid=%ld)",
			    npending, (long)uc.pid);
			(void)send(fd, "NO busy", 7, MSG_DONTWAIT | MSG_NOSIGNAL);
			close(fd);
			continue;
		}
		h->tag.kind = TAG_HANDOFF;
		h->tag.p = h;
		h->fd = fd;
		h->pid = uc.pid;
		h->uid = uc.uid;
		h->deadline = now_ms() + XG_RELAYD_HANDOFF_MS;
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.ptr = &h->tag;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == -1) {
			xg_log(LOG_ERR, "epoll: %s", strerror(errno));
			close(fd);
			free(h);
			continue;
		}
		TAILQ_INSERT_TAIL(&pending, h, e);
		npending++;
	}
}

/* A session fd we can relay: a stream socket. */
static const char *
fd_unfit(int fd)
{
	struct stat st;
	int type;
	socklen_t len = sizeof(type);

	if (fstat(fd, &st) == -1 || !S_ISSOCK(st.st_mode))
		return "is not a socket";
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1 ||
	    type != SOCK_STREAM)
		return "is not a stream socket";
	return NULL;
}

/* "NO reason" to the sender, and one log line. */
static void
refuse(struct handoff *h, const char *id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
refuse(struct handoff *h, const char *id, const char *fmt, ...)
{
	char why[XG_REASON_MAX], ans[XG_RELAY_ANSWER_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	n = snprintf(ans, sizeof(ans), "NO %s", why);
	if (n < 0 || (size_t)n >= sizeof(ans))
		n = (int)sizeof(ans) - 1;
	(void)send(h->fd, ans, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
	log_conn_id(id);
	xg_log(LOG_WARNING, "hand-off refused: %s (peer pid=%ld uid=%lu)", why,
	    (long)h->pid, (unsigned long)h->uid);
	log_conn_id(NULL);
}

/* The hand-off's message is there (or its end): answer it, close it. */
static void
read_handoff(struct handoff *h)
{
	union {
		char	b[CMSG_SPACE(sizeof(int) * XG_RELAYD_FDS_MAX)];
		struct cmsghdr align;
	} cbuf;
	char buf[XG_RELAYMSG_MAX + 1], why[XG_REASON_MAX];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr mh;
	struct cmsghdr *cm;
	struct relaymsg m;
	struct rsess *s;
	const char *err, *unfit;
	int fds[XG_RELAYD_FDS_MAX * 2], nfds = 0, i, k;
	ssize_t r;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf.b;
	mh.msg_controllen = sizeof(cbuf.b);
	r = recvmsg(h->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return;		/* not yet */
	/* Every fd that came, whatever else is wrong, to be closed. */
	if (r >= 0)
		for (cm = CMSG_FIRSTHDR(&mh); cm != NULL;
		    cm = CMSG_NXTHDR(&mh, cm)) {
			if (cm->cmsg_level != SOL_SOCKET ||
			    cm->cmsg_type != SCM_RIGHTS)
				continue;
			k = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			for (i = 0; i < k && nfds < (int)(sizeof(fds) /
			    sizeof(fds[0])); i++)
				memcpy(&fds[nfds++], CMSG_DATA(cm) +
				    (size_t)i * sizeof(int), sizeof(int));
		}
	if (r == -1) {
		xg_log(LOG_WARNING, "hand-off: read: %s (peer pid=%ld)",
		    strerror(errno), (long)h->pid);
		goto out;
	}
	if (r == 0 && nfds == 0) {
		xg_log(LOG_WARNING, "hand-off: the peer (pid=%ld) closed "
		    "without a message", (long)h->pid);
		goto out;
	}
	if (mh.msg_flags & MSG_TRUNC) {
		refuse(h, NULL, "message longer than %d bytes",
		    XG_RELAYMSG_MAX);
		goto out;
	}
	if (mh.msg_flags & MSG_CTRUNC) {
		refuse(h, NULL, "control data cut off (more than %d fds?)",
		    XG_RELAYD_FDS_MAX);
		goto out;
	}
	if (relaymsg_decode(buf, (size_t)r, &m, &err) == -1) {
		refuse(h, NULL, "bad message: %s", err);
		goto out;
	}
	if (nfds != 2) {
		refuse(h, m.id, "%d fds, not 2 (the client's socket, the "
		    "backend's)", nfds);
		goto out;
	}
	for (i = 0; i < 2; i++)
		if ((unfit = fd_unfit(fds[i])) != NULL) {
			refuse(h, m.id, "the %s fd %s", i == 0 ? "client" :
			    "backend", unfit);
			goto out;
		}
	if (sess_count() >= session_limit) {
		refuse(h, m.id, "too many sessions (%u)", session_limit);
		goto out;
	}
	if ((s = sess_new(&m, fds[0], fds[1], why, sizeof(why))) == NULL) {
		refuse(h, m.id, "%s", why);
		goto out;
	}
	/* Ours from here, once the sender knows. */
	if (send(h->fd, "OK", 2, MSG_DONTWAIT | MSG_NOSIGNAL) != 2) {
		log_conn_id(m.id);
		xg_log(LOG_WARNING, "hand-off: unable to answer OK (%s): the "
		    "sender (pid=%ld) keeps the session", strerror(errno),
		    (long)h->pid);
		log_conn_id(NULL);
		sess_drop(s);
		nfds = 0;
		goto out;
	}
	nfds = 0;
	sess_start(s);
out:
	for (i = 0; i < nfds; i++)
		close_received(fds[i]);
	handoff_close(h);
}

/* Hand-offs that sent nothing in time. */
static void
sweep_handoffs(int64_t now)
{
	struct handoff *h, *next;

	for (h = TAILQ_FIRST(&pending); h != NULL; h = next) {
		next = TAILQ_NEXT(h, e);
		if (now < h->deadline)
			continue;
		xg_log(LOG_WARNING, "hand-off: no message within %d ms (peer "
		    "pid=%ld); closed", XG_RELAYD_HANDOFF_MS, (long)h->pid);
		handoff_close(h);
	}
}

static int
signals(void)
{
	sigset_t set;
	int fd;

	(void)signal(SIGPIPE, SIG_IGN);
	/* Nothing to reload; a stray SIGHUP must not cut every session. */
	(void)signal(SIGHUP, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1 ||
	    (fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		fatal("signalfd: %s", strerror(errno));
	return fd;
}

static void
add_fd(int fd, struct rtag *t)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = t;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == -1)
		fatal("epoll_ctl: %s", strerror(errno));
}

int
main(int argc, char **argv)
{
	static struct epoll_event ev[EVENTS_MAX];
	struct rtag ltag = { TAG_LISTEN, NULL }, stag = { TAG_SIGNAL, NULL };
	struct signalfd_siginfo si;
	struct rtag *t;
	int64_t now, next_sweep;
	int sfd, n, i, stopping = 0;

	/* No core dump and no ptrace by our own user: the sessions' data
	 * passes through here. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	log_ident(PROG);
	relay_options(argc, argv);
	log_init(o.syslog, o.verbose, -1);
	fd_budget();
	sfd = signals();
	lfd = listen_socket();
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatal("epoll_create1: %s", strerror(errno));
	add_fd(lfd, &ltag);
	add_fd(sfd, &stag);
	if (sess_setup(epfd, o.pipes) == -1)
		fatal("out of memory for --pipes %d", o.pipes);
	xg_log(LOG_INFO, "ready: up to %u sessions, %d empty pipes kept",
	    session_limit, o.pipes);
	(void)sd_notify(0, "READY=1");

	next_sweep = now_ms() + 1000;
	while (!stopping) {
		n = epoll_wait(epfd, ev, EVENTS_MAX, sess_busy() ? 0 : 1000);
		if (n == -1 && errno != EINTR)
			fatal("epoll_wait: %s", strerror(errno));
		for (i = 0; i < n; i++) {
			t = ev[i].data.ptr;
			switch (t->kind) {
			case TAG_LISTEN:
				accept_handoffs();
				break;
			case TAG_SIGNAL:
				while (read(sfd, &si, sizeof(si)) ==
				    (ssize_t)sizeof(si))
					stopping = 1;
				break;
			case TAG_HANDOFF:
				read_handoff(t->p);
				break;
			default:
				sess_event(t, ev[i].events);
			}
		}
		sess_run();
		if ((now = now_ms()) >= next_sweep) {
			sess_sweep(now);
			sweep_handoffs(now);
			next_sweep = now + 1000;
		}
		if (accept_pause_until != -1 && now >= accept_pause_until) {
			add_fd(lfd, &ltag);
			accept_pause_until = -1;
		}
	}

	/* SIGTERM: no new hand-off; every session ends with its summary. */
	(void)sd_notify(0, "STOPPING=1");
	close(lfd);
	while (!TAILQ_EMPTY(&pending))
		handoff_close(TAILQ_FIRST(&pending));
	n = (int)sess_count();
	sess_stop_all();
	if (denied_more > 0)
		xg_log(LOG_WARNING, "hand-off refused: %u more peers not "
		    "allowed since the last such line", denied_more);
	xg_log(LOG_INFO, "stopping: %d sessions ended", n);
	return XG_EXIT_OK;
}
