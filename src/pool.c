/*
 * --listen, the pooled mode.  Started once on a listening socket (systemd
 * Accept=no, inetd "wait", systemd-socket-activate without --accept), the
 * parent reads the options, certificates and GnuTLS state once, drops
 * privileges, and forks one child per accepted connection.  The child
 * returns to main() with the connection on fds 0 and 1 and serves it as a
 * process started for it would: its own address space, not dumpable, the
 * same phases, exit statuses and summary line.
 *
 * The parent never reads a byte from a client: it accepts, counts, forks,
 * reaps and logs.  It re-executes itself, so that children are forked
 * from a fresh address layout, when a child dies by a signal (a crash
 * probe learns nothing about the next child), every --reexec-after
 * connections, every --reexec-interval minutes, and on SIGHUP.  The
 * listening sockets cross the exec as LISTEN_FDS (the pid stays), the
 * live children (pid and source) in a memfd, so bounds and reaping stay
 * right (their tables and that memfd: poolkids.c).  The new image is
 * first checked by a child that execs it in check mode
 * (XMPPGATE_POOL_CHECK: load the certificates, drop privileges, exit)
 * while the old image serves on (after a crash it accepts nothing until
 * the new layout, or the check failed): a bad certificate or a broken binary
 * keeps the old image serving and is logged, and the attempt repeats
 * every POOL_RETRY_MS.  Every path here is bounded in time; no error of one
 * connection (accept, fork) loses the listening socket.
 */
#define _GNU_SOURCE 1		/* accept4 */
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>
#include "session.h"

#define POOL_ACCEPT_BATCH	64	/* accepts per wake-up, then signals */
#define POOL_BACKOFF_MS		100	/* after EMFILE, ENOBUFS, fork failing */
#define POOL_CHECK_MS		30000	/* the new image's check, at most */
#define POOL_RETRY_MS		10000	/* a failed re-exec, tried again */
#define POOL_STOP_MS		5000	/* SIGTERM: the children's time to go */
#define POOL_LOG_EVERY_MS	1000	/* one line per kind of refusal */
#define POOL_ENV_CHECK		"XMPPGATE_POOL_CHECK"
#define POOL_ENV_MAX		512	/* environment entries passed on */

/* Lines that a storm could repeat: one per POOL_LOG_EVERY_MS, counted. */
struct ratelog {
	const char *what;
	int	prio;			/* of the latest one */
	unsigned long n;		/* since the last line */
	int64_t	last;			/* when the last line was written */
	char	detail[128];		/* of the latest one */
};

static int	lfds[XG_POOL_LISTEN_MAX];
static int	nlfds;
static int	sigfd = -1;
static char	self[PATH_MAX];		/* this image's binary */
static int	tls_failed;		/* tls_load() or priv_drop() failed:
					 * tls_err says why */
static char	tls_err[XG_REASON_MAX];
static unsigned long generation;	/* images so far, 1 at first start */
static unsigned long conns;		/* accepted by this image */
static char	why[XG_REASON_MAX];	/* re-exec wanted: why; "" not */
static int64_t	retry_at;		/* ... not before this */
static int64_t	reexec_at;		/* --reexec-interval: then */
static int64_t	backoff_until;		/* no accept before */
static int	stopping;
static pid_t	check_pid;		/* the new image's check, running */
static int64_t	check_until;		/* ... killed then */
static int	check_st, check_done;	/* ... its status, once reaped */
static int	hup_in_check;		/* SIGHUP came while it ran */
static int	crash_hold;		/* a child crashed: no accept until
					 * the new layout, or its check failed */
static struct ratelog r_max = { "refused (--max-conns)", LOG_WARNING, 0, 0,
    "" };
static struct ratelog r_src = { "refused (--max-conns-per-source)",
    LOG_WARNING, 0, 0, "" };
static struct ratelog r_acc = { "accept failures", LOG_WARNING, 0, 0, "" };
static struct ratelog r_fork = { "refused (fork failed)", LOG_ERR, 0, 0, "" };

static void	usage_fatal(const char *, ...)
    __attribute__((noreturn, format(printf, 1, 2)));
static void	find_sockets(struct options *);
static void	ratelog(struct ratelog *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static void	ratelog_flush(struct ratelog *, int64_t);
static int64_t	ratelog_due(const struct ratelog *);
static void	reap_children(void);
static int	handle_signals(void);
static int	accept_some(const struct options *, int);
static int	start_child(const struct options *, int,
		    const struct sockaddr_storage *, socklen_t);
static void	child_setup(int);
static void	want_reexec(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
static void	check_start(char **);
static void	check_end(char **);
static void	reexec(char **);
static void	stop(void) __attribute__((noreturn));
static void	check_mode(struct options *, struct tlsctx *)
		    __attribute__((noreturn));

static void
usage_fatal(const char *fmt, ...)
{
	va_list ap;

	fputs("xmppgate: usage: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see xmppgate(8), --listen)\n", stderr);
	exit(XG_EXIT_USAGE);
}

/* A stream socket that listens (SO_ACCEPTCONN). */
static int
is_listener(int fd)
{
	int v = 0, t = 0;
	socklen_t l = sizeof(v), lt = sizeof(t);

	return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &l) == 0 &&
	    v == 1 && getsockopt(fd, SOL_SOCKET, SO_TYPE, &t, &lt) == 0 &&
	    t == SOCK_STREAM;
}

/*
 * The listening sockets: LISTEN_FDS (systemd Accept=no, our own re-exec),
 * else fd 0 (inetd "wait").  They end up at fds 3, 4, ... (where a
 * re-exec passes them), non-blocking and close-on-exec; fds 0 and 1 and
 * an fd 2 that was the socket become /dev/null (inetd puts the socket on
 * all three), and then the log goes to syslog.
 */
static void
find_sockets(struct options *o)
{
	struct stat s2, sl;
	int n, i, fd, fl, nul;

	if ((n = sd_listen_fds(1)) < 0)
		usage_fatal("--listen: LISTEN_FDS: %s", strerror(-n));
	if (n > XG_POOL_LISTEN_MAX)
		usage_fatal("--listen: %d sockets passed, at most %d", n,
		    XG_POOL_LISTEN_MAX);
	for (i = 0; i < n; i++) {
		fd = SD_LISTEN_FDS_START + i;
		if (!is_listener(fd))
			usage_fatal("--listen: fd %d is not a listening stream "
			    "socket (Accept=no is the pooled mode; Accept=yes "
			    "starts one xmppgate per connection, without "
			    "--listen)", fd);
		lfds[nlfds++] = fd;
	}
	if (n == 0) {
		if (!is_listener(0))
			usage_fatal("--listen wants a listening socket: from "
			    "systemd (Accept=no), inetd (wait) or "
			    "systemd-socket-activate without --accept; fd 0 "
			    "is none");
		/* fd 3 may hold something inherited: it goes. */
		if (dup2(0, SD_LISTEN_FDS_START) == -1)
			usage_fatal("--listen: dup2: %s", strerror(errno));
		lfds[nlfds++] = SD_LISTEN_FDS_START;
	}
	nul = open("/dev/null", O_RDWR);
	if (fstat(2, &s2) == 0 && fstat(lfds[0], &sl) == 0 &&
	    s2.st_dev == sl.st_dev && s2.st_ino == sl.st_ino) {
		o->use_syslog = 1;	/* the children's too */
		if (nul >= 0)
			dup2(nul, 2);
	}
	for (fd = 0; fd <= 1 && nul >= 0; fd++)
		if (is_listener(fd))
			dup2(nul, fd);
	if (nul > 2)
		close(nul);
	for (i = 0; i < nlfds; i++) {
		fl = fcntl(lfds[i], F_GETFL);
		if (fl == -1 || fcntl(lfds[i], F_SETFL, fl | O_NONBLOCK) == -1 ||
		    fcntl(lfds[i], F_SETFD, FD_CLOEXEC) == -1)
			usage_fatal("--listen: fd %d: %s", lfds[i],
			    strerror(errno));
	}
	/* The children find the client by getpeername(), never by what
	 * the environment of the pool says. */
	unsetenv("REMOTE_ADDR");
	unsetenv("REMOTE_PORT");
	unsetenv("TCPREMOTEIP");
	unsetenv("TCPREMOTEPORT");
}


/* ---- rate-limited lines ---- */

static void
ratelog_flush(struct ratelog *r, int64_t now)
{
	if (r->n == 0)
		return;
	xg_log(r->prio, "pool: %lu %s since the last such line: %s", r->n,
	    r->what, r->detail);
	r->n = 0;
	r->last = now;
}

/* Count one, and write the line at most once per POOL_LOG_EVERY_MS. */
static void
ratelog(struct ratelog *r, int prio, const char *fmt, ...)
{
	int64_t now = now_ms();
	va_list ap;

	r->prio = prio;
	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
	va_end(ap);
	r->n++;
	if (r->last == 0 || now - r->last >= POOL_LOG_EVERY_MS)
		ratelog_flush(r, now);
}

static int64_t
ratelog_due(const struct ratelog *r)
{
	return r->n > 0 ? r->last + POOL_LOG_EVERY_MS : INT64_MAX;
}

static void
ratelogs_flush(int force)
{
	struct ratelog *all[] = { &r_max, &r_src, &r_acc, &r_fork };
	int64_t now = now_ms();
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (force || ratelog_due(all[i]) <= now)
			ratelog_flush(all[i], now);
}

/* ---- children ---- */

/*
 * Reap every child that has ended.  The check child of a re-exec is not
 * in the table: its status goes to check_st and check_done.
 */
static void
reap_children(void)
{
	char sig[64], ip[64], port[8];
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (check_pid > 0 && !check_done && pid == check_pid) {
			check_st = status;
			check_done = 1;
			continue;
		}
		if (pool_kid_gone(pid, ip, sizeof(ip), port, sizeof(port))
		    == -1) {
			snprintf(ip, sizeof(ip), "-");
			snprintf(port, sizeof(port), "-");
		}
		if (WIFEXITED(status)) {
			xg_log(LOG_INFO, "pool: child %ld client=%s:%s exited "
			    "with code %d (%zu running)", (long)pid, ip, port,
			    WEXITSTATUS(status), pool_kids());
			continue;
		}
		snprintf(sig, sizeof(sig), "%d (%s)", WTERMSIG(status),
		    strsignal(WTERMSIG(status)));
		xg_log(stopping ? LOG_INFO : LOG_ERR, "pool: child %ld "
		    "client=%s:%s killed by signal %s (%zu running)",
		    (long)pid, ip, port, sig, pool_kids());
		if (!stopping) {
			want_reexec("child %ld killed by signal %s", (long)pid,
			    sig);
			/* The next connection is a new layout's: none is
			 * accepted until then (a crash probe would learn
			 * about the next child), now, not at a retry. */
			crash_hold = 1;
			retry_at = 0;
		}
	}
}

/*
 * Read what the signalfd holds: SIGCHLD reaps, SIGHUP asks for a re-exec,
 * SIGTERM and SIGINT stop.  0, or 1 when stopping was asked for.
 */
static int
handle_signals(void)
{
	struct signalfd_siginfo si;
	int stop_now = 0;

	while (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			break;		/* reaped below, all at once */
		case SIGHUP:
			xg_log(LOG_INFO, "pool: SIGHUP: reloading");
			want_reexec("SIGHUP");
			retry_at = 0;	/* also a re-exec that failed: now */
			hup_in_check = check_pid > 0;	/* after it */
			break;
		default:
			stop_now = 1;
		}
	}
	reap_children();
	return stop_now;
}

/* A child for each connection waiting, up to a batch.  1 in the child. */
static int
accept_some(const struct options *o, int lfd)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int k, fd;

	for (k = 0; k < POOL_ACCEPT_BATCH; k++) {
		sl = sizeof(ss);
		memset(&ss, 0, sizeof(ss));
		fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
		if (fd >= 0) {
			if (start_child(o, fd, &ss, sl) == 1)
				return 1;
			continue;
		}
		switch (errno) {
		case EAGAIN:
#if EWOULDBLOCK != EAGAIN
		case EWOULDBLOCK:
#endif
			return 0;
		case EINTR:
		/* That one connection is gone, or a firewall refused it
		 * (accept(2): network errors are passed on). */
		case ECONNABORTED: case EPROTO: case EPERM: case ENETDOWN:
		case ENOPROTOOPT: case EHOSTDOWN: case ENONET:
		case EHOSTUNREACH: case EOPNOTSUPP: case ENETUNREACH:
			continue;
		case EMFILE: case ENFILE: case ENOBUFS: case ENOMEM:
			/* Out of descriptors or memory: the connections wait
			 * in the backlog while we pause, rather than spin. */
			ratelog(&r_acc, LOG_WARNING, "accept: %s; pausing "
			    "%d ms", strerror(errno), POOL_BACKOFF_MS);
			backoff_until = now_ms() + POOL_BACKOFF_MS;
			return 0;
		default:
			xg_log(LOG_ERR, "pool: fatal: accept on fd %d: %s",
			    lfd, strerror(errno));
			exit(XG_EXIT_TEMP);
		}
	}
	return 0;
}

/*
 * Over a bound, the connection is closed at once, before a byte is sent
 * or read (the parent does not speak XMPP), and counted.  Else a child:
 * 1 in the child, 0 in the parent.
 */
static int
start_child(const struct options *o, int fd, const struct sockaddr_storage *ss,
    socklen_t sl)
{
	uint8_t key[16];
	char ip[64], port[8];
	pid_t pid;

	pool_source_key(ss, sl, key, ip, sizeof(ip), port, sizeof(port));
	if (pool_kids() >= (size_t)o->max_conns) {
		close(fd);
		ratelog(&r_max, LOG_WARNING, "%d connections at once, the "
		    "latest refused from %s", o->max_conns, ip);
		return 0;
	}
	if (o->max_per_source > 0 &&
	    pool_kids_from(key) >= (uint32_t)o->max_per_source) {
		close(fd);
		ratelog(&r_src, LOG_WARNING, "%d connections from %s%s", 
		    o->max_per_source, ip, strchr(ip, ':') ? "/64" : "");
		return 0;
	}
	if ((pid = fork()) == -1) {
		close(fd);
		ratelog(&r_fork, LOG_ERR, "fork: %s; a connection from %s "
		    "closed, pausing %d ms", strerror(errno), ip,
		    POOL_BACKOFF_MS);
		backoff_until = now_ms() + POOL_BACKOFF_MS;
		return 0;
	}
	if (pid == 0) {
		child_setup(fd);
		return 1;
	}
	close(fd);
	pool_kid_add(pid, key, ip, port);
	conns++;
	if (o->reexec_conns > 0 && conns >= (unsigned long)o->reexec_conns)
		want_reexec("%lu connections", conns);
	return 0;
}

/* In the child: nothing of the parent's but the connection, on 0 and 1. */
static void
child_setup(int fd)
{
	sigset_t none;
	int i;

	close(sigfd);
	for (i = 0; i < nlfds; i++)
		close(lfds[i]);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (dup2(fd, 0) == -1 || dup2(fd, 1) == -1)
		_exit(XG_EXIT_TEMP);
	if (fd > 1)
		close(fd);
	/* Inherited from the parent already; said again, as a process
	 * started per connection says it. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		_exit(XG_EXIT_TEMP);
}

/* ---- re-exec ---- */

static void
want_reexec(const char *fmt, ...)
{
	va_list ap;

	if (why[0] != '\0')
		return;		/* one re-exec serves every reason */
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	retry_at = 0;
}

/*
 * The new image, checked first: a child execs it with POOL_ENV_CHECK, and
 * it loads what the options name and drops privileges as the new parent
 * will, then exits 0.  Meanwhile the pool serves on: connections are
 * accepted and children reaped by this image (check_end() takes the
 * verdict).  A fork that fails is a failed check.
 */
static void
check_start(char **argv)
{
	sigset_t none;
	pid_t pid;

	if ((pid = fork()) == -1) {
		xg_log(LOG_ERR, "pool: not re-executing (%s): its check: fork: "
		    "%s; again in %d s", why, strerror(errno),
		    POOL_RETRY_MS / 1000);
		retry_at = now_ms() + POOL_RETRY_MS;
		crash_hold = 0;
		return;
	}
	if (pid == 0) {
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		setenv(POOL_ENV_CHECK, "1", 1);
		execv(self, argv);
		_exit(127);
	}
	check_pid = pid;
	check_until = now_ms() + POOL_CHECK_MS;
	check_done = 0;
	hup_in_check = 0;
}

/* The check ended, or ran out of time: re-exec, or say why not. */
static void
check_end(char **argv)
{
	char err[XG_REASON_MAX];
	int st = check_st;

	if (!check_done) {
		kill(check_pid, SIGKILL);
		waitpid(check_pid, &st, 0);
		snprintf(err, sizeof(err), "its check did not end within %d s",
		    POOL_CHECK_MS / 1000);
	} else if (WIFEXITED(st) && WEXITSTATUS(st) == 0 && hup_in_check) {
		/* It read the files before the SIGHUP: check them again. */
		check_pid = 0;
		hup_in_check = 0;
		retry_at = 0;
		return;
	} else if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		check_pid = 0;
		reexec(argv);	/* returns if it failed */
		crash_hold = 0;
		return;
	} else if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
		snprintf(err, sizeof(err), "%.200s could not be run", self);
	else if (WIFEXITED(st))
		snprintf(err, sizeof(err), "its check exited with code %d "
		    "(its reason is logged above)", WEXITSTATUS(st));
	else
		snprintf(err, sizeof(err), "its check was killed by signal %d",
		    WTERMSIG(st));
	check_pid = 0;
	xg_log(LOG_ERR, "pool: not re-executing (%s): the new image failed: "
	    "%s; serving on with this one, again in %d s%s", why, err,
	    POOL_RETRY_MS / 1000, hup_in_check ? " (now: a SIGHUP came "
	    "meanwhile)" : "");
	retry_at = hup_in_check ? 0 : now_ms() + POOL_RETRY_MS;
	hup_in_check = 0;
	crash_hold = 0;		/* the old layout serves on, said above */
}

/*
 * The checked image, executed with the listening sockets at fds 3, 4, ...
 * (LISTEN_FDS, LISTEN_PID: ours, the pid stays) and the state.  Returns
 * only when that failed: the old image serves on, and the attempt is made
 * again after POOL_RETRY_MS.
 */
static void
reexec(char **argv)
{
	extern char **environ;
	static char *envp[POOL_ENV_MAX + 4];
	char e_fds[32], e_pid[32], e_state[48];
	size_t n = 0, i;
	int sfd, k;

	ratelogs_flush(1);
	if ((sfd = pool_state_write(generation, why)) == -1)
		xg_log(LOG_WARNING, "pool: unable to pass the children on "
		    "(%s): they are reaped but not counted", strerror(errno));
	for (i = 0; environ[i] != NULL; i++)
		if (strncmp(environ[i], "LISTEN_", 7) != 0 &&
		    strncmp(environ[i], "XMPPGATE_POOL_", 14) != 0) {
			if (n == POOL_ENV_MAX) {
				xg_log(LOG_ERR, "pool: not re-executing (%s): "
				    "more than %d environment variables; "
				    "serving on with this image", why,
				    POOL_ENV_MAX);
				if (sfd >= 0)
					close(sfd);
				retry_at = INT64_MAX;	/* until SIGHUP */
				return;
			}
			envp[n++] = environ[i];
		}
	snprintf(e_fds, sizeof(e_fds), "LISTEN_FDS=%d", nlfds);
	snprintf(e_pid, sizeof(e_pid), "LISTEN_PID=%ld", (long)getpid());
	envp[n++] = e_fds;
	envp[n++] = e_pid;
	if (sfd >= 0) {
		snprintf(e_state, sizeof(e_state), "%s=%d", XG_POOL_ENV_STATE,
		    sfd);
		envp[n++] = e_state;
		fcntl(sfd, F_SETFD, 0);
	}
	envp[n] = NULL;
	for (k = 0; k < nlfds; k++)
		fcntl(lfds[k], F_SETFD, 0);
	xg_log(LOG_INFO, "pool: re-executing %s (%s), %zu children running",
	    self, why, pool_kids());
	/* The signal mask stays blocked across execve: nothing that comes
	 * meanwhile is lost, the new image's signalfd reads it. */
	execve(self, argv, envp);
	xg_log(LOG_ERR, "pool: not re-executing (%s): execve %s: %s; serving "
	    "on with this image, again in %d s", why, self, strerror(errno),
	    POOL_RETRY_MS / 1000);
	for (k = 0; k < nlfds; k++)
		fcntl(lfds[k], F_SETFD, FD_CLOEXEC);
	if (sfd >= 0)
		close(sfd);
	retry_at = now_ms() + POOL_RETRY_MS;
}

/*
 * SIGTERM, SIGINT: no more connections; the children get SIGTERM and
 * POOL_STOP_MS to end, then the pool exits 0 (what is left is killed).
 */
static void
stop(void)
{
	int64_t deadline = now_ms() + POOL_STOP_MS, left;
	struct pollfd p;
	size_t i;

	stopping = 1;
	for (i = 0; i < (size_t)nlfds; i++)
		close(lfds[i]);
	if (check_pid > 0 && !check_done) {	/* a re-exec's check */
		kill(check_pid, SIGKILL);
		waitpid(check_pid, NULL, 0);
	}
	check_pid = 0;
	xg_log(LOG_INFO, "pool: stopping, %zu children to end", pool_kids());
	pool_kids_kill(SIGTERM);
	while (pool_kids() > 0 && (left = deadline - now_ms()) > 0) {
		p.fd = sigfd;
		p.events = POLLIN;
		if (poll(&p, 1, (int)left) > 0)
			handle_signals();
	}
	pool_kids_kill(SIGKILL);
	ratelogs_flush(1);
	xg_log(LOG_INFO, "pool: stopped");
	exit(XG_EXIT_OK);
}

/* XMPPGATE_POOL_CHECK: what the new image will load, loaded; then exit. */
static void
check_mode(struct options *o, struct tlsctx *tls)
{
	char err[XG_REASON_MAX];

	log_init(o->use_syslog, 0, -1);
	if (tls_load(tls, o, err, sizeof(err)) == -1 ||
	    priv_drop(o->user, err, sizeof(err)) == -1) {
		xg_log(LOG_ERR, "pool: check of the new image: %s", err);
		exit(XG_EXIT_TEMP);
	}
	tls_free(tls);
	exit(XG_EXIT_OK);
}

int
pool_tls_error(char *err, size_t errsz)
{
	if (!tls_failed)
		return 0;
	snprintf(err, errsz, "%s", tls_err);
	return -1;
}

void
pool_serve(struct options *o, struct tlsctx *tls, char **argv)
{
	char err[XG_REASON_MAX];
	const char *state;
	struct pollfd p[1 + XG_POOL_LISTEN_MAX];
	sigset_t mask;
	int64_t now, next;
	ssize_t n;
	int i, np, resumed;

	if (getenv(POOL_ENV_CHECK) != NULL)
		check_mode(o, tls);
	state = getenv(XG_POOL_ENV_STATE);
	resumed = state != NULL;
	find_sockets(o);
	log_init(o->use_syslog, o->verbose, lfds[0]);
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0 ||
	    (size_t)n >= sizeof(self) - 1) {
		xg_log(LOG_ERR, "pool: fatal: cannot find this program in "
		    "/proc/self/exe");
		exit(XG_EXIT_TEMP);
	}
	self[n] = '\0';
	/* Signals are read from a signalfd; blocked, none is lost, also
	 * not across a re-exec (the mask is kept). */
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) == -1 ||
	    (sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) == -1) {
		xg_log(LOG_ERR, "pool: fatal: signalfd: %s", strerror(errno));
		exit(XG_EXIT_TEMP);
	}
	pool_tables_init(o->max_conns);
	generation = 1;
	if (resumed) {
		generation = pool_state_read(state);
		unsetenv(XG_POOL_ENV_STATE);
		reap_children();	/* those that ended meanwhile */
	}
	/* The certificates, once for every child, and the privileges.  When
	 * either fails, the pool serves on as a process per connection
	 * would: each child gives its client <internal-server-error/>
	 * before reading a byte (pool_tls_error()), and a re-exec is tried
	 * every POOL_RETRY_MS and on SIGHUP, after its check.  The
	 * listening socket is never given up for a file or a user. */
	if (tls_load(tls, o, tls_err, sizeof(tls_err)) == -1)
		tls_failed = 1;
	if (priv_drop(o->user, err, sizeof(err)) == -1) {
		if (tls_failed)
			xg_log(LOG_ERR, "pool: %s", err);
		tls_failed = 1;
		snprintf(tls_err, sizeof(tls_err), "%s", err);
	}
	if (tls_failed)
		xg_log(LOG_ERR, "pool: %s; every connection gets "
		    "<internal-server-error/> until it is fixed (tried again "
		    "every %d s and on SIGHUP)", tls_err, POOL_RETRY_MS / 1000);
	why[0] = '\0';
	if (tls_failed) {
		want_reexec("the configuration did not load");
		retry_at = now_ms() + POOL_RETRY_MS;
	}
	reexec_at = o->reexec_minutes > 0 ? now_ms() +
	    (int64_t)o->reexec_minutes * 60000 : INT64_MAX;
	/* The parent counts sources by the address accept() gives: behind
	 * a load balancer that is the balancer's, for every client. */
	if (!resumed && o->accept_proxy && o->max_per_source > 0)
		xg_log(LOG_WARNING, "pool: --max-conns-per-source %d counts "
		    "the address of the peer that sends the PROXY header, "
		    "not its clients: set it to 0 behind a load balancer",
		    o->max_per_source);
	/* Logged after the warning: a reader that saw this line has seen
	 * every line of the start. */
	if (!resumed)
		xg_log(LOG_INFO, "pool: serving %d listening socket(s) from fd "
		    "3: --max-conns %d, --max-conns-per-source %d, re-exec "
		    "after %d connections and every %d minutes (0: never)",
		    nlfds, o->max_conns, o->max_per_source, o->reexec_conns,
		    o->reexec_minutes);
	sd_notify(0, "READY=1");

	for (;;) {
		now = now_ms();
		if (stopping)
			stop();
		if (now >= reexec_at) {
			want_reexec("%d minutes", o->reexec_minutes);
			/* Armed again: a re-exec that failed must not leave
			 * the timer in the past (poll would never sleep). */
			reexec_at = now + (int64_t)o->reexec_minutes * 60000;
		}
		if (why[0] != '\0' && now >= retry_at && check_pid == 0)
			check_start(argv);
		if (check_pid > 0 && (check_done || now >= check_until))
			check_end(argv);	/* returns if no re-exec */
		ratelogs_flush(0);
		/* Wake for the next timer: a refusal line due, the end of
		 * a pause, a re-exec to try again, the interval. */
		now = now_ms();
		next = reexec_at;
		if (why[0] != '\0' && check_pid == 0 && retry_at < next)
			next = retry_at;
		if (check_pid > 0 && check_until < next)
			next = check_until;
		if (ratelog_due(&r_max) < next) next = ratelog_due(&r_max);
		if (ratelog_due(&r_src) < next) next = ratelog_due(&r_src);
		if (ratelog_due(&r_acc) < next) next = ratelog_due(&r_acc);
		if (ratelog_due(&r_fork) < next) next = ratelog_due(&r_fork);
		if (backoff_until > now && backoff_until < next)
			next = backoff_until;
		np = 0;
		p[np].fd = sigfd;
		p[np++].events = POLLIN;
		if (now >= backoff_until && !crash_hold)
			for (i = 0; i < nlfds; i++) {
				p[np].fd = lfds[i];
				p[np++].events = POLLIN;
			}
		/* A timer already due is a zero wait, never a negative
		 * one: poll() would block for good on the signalfd alone
		 * while a pause has the listening sockets left out. */
		if (poll(p, (nfds_t)np, next == INT64_MAX ? -1 :
		    next <= now ? 0 :
		    next - now > INT_MAX ? INT_MAX : (int)(next - now)) <= 0)
			continue;
		if (p[0].revents && handle_signals())
			stop();
		for (i = 1; i < np; i++)
			if (p[i].revents && accept_some(o, p[i].fd) == 1)
				return;		/* the child */
	}
}
