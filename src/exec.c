/*
 * Exec mode: run PROG with a socketpair on its fds 0 and 1, in the UCSPI
 * tradition (TCPREMOTEIP and friends), plus who logged in.  xmppgate stays
 * in front as the TLS relay, so PROG never sees TLS or the password.
 */
#define _GNU_SOURCE	/* close_range(2) */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "xmppgate.h"

#define JID_MAX	(XG_SASL_FIELD_MAX + 1 + XG_DOMAIN_MAX)
#define ENV_KEEP_MAX	32	/* inherited variables passed on, at most */
#define ENV_OURS_MAX	16	/* the variables set here */
/* The values set here: names, a JID, a domain and short fields. */
#define ENV_BUF_SIZE	(4 * JID_MAX + 1024)

extern char **environ;

static int	env_kept(const char *);
static void	close_from(unsigned int, unsigned int);
static void	child_fail(int, int) __attribute__((noreturn));
static void	child(char **, const struct conn *, int, int)
		    __attribute__((noreturn));

/*
 * What PROG inherits of our own environment: an allow-list of what a
 * program needs to run (its PATH, its user's home, the locale and time
 * zone).  Nothing else: not CREDENTIALS_DIRECTORY (systemd's copies of
 * secrets), LISTEN_* and NOTIFY_SOCKET (fds and a socket meant for us),
 * REMOTE_ADDR (the TCP* variables below say it), XMPPGATE_OPTS and
 * whatever else the service manager or inetd set for xmppgate.  A program
 * that needs more gets it on its command line, e.g. -- env NAME=VALUE PROG.
 */
static int
env_kept(const char *nv)
{
	static const char *const keep[] = { "PATH", "HOME", "USER",
	    "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR" };
	size_t i, n;

	if (strncmp(nv, "LC_", 3) == 0)
		return strchr(nv, '=') != NULL;
	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		n = strlen(keep[i]);
		if (strncmp(nv, keep[i], n) == 0 && nv[n] == '=')
			return 1;
	}
	return 0;
}

/* Close fds lo..hi (hi inclusive, ~0U for all). */
static void
close_from(unsigned int lo, unsigned int hi)
{
	long max;
	unsigned int fd;

	if (lo > hi)
		return;
	if (close_range(lo, hi, 0) == 0)
		return;
	/* Kernels before 5.9 have no close_range. */
	if ((max = sysconf(_SC_OPEN_MAX)) < 0)
		max = 1024;
	for (fd = lo; fd <= hi && fd < (unsigned long)max; fd++)
		(void)close((int)fd);
}

/* Tell the parent why, through the close-on-exec pipe, and give up. */
static void
child_fail(int errfd, int e)
{
	ssize_t r;

	do
		r = write(errfd, &e, sizeof(e));
	while (r == -1 && errno == EINTR);
	_exit(XG_EXIT_TEMP);
}

/*
 * In a child before execve(): every signal back to its default action and
 * an empty mask.  Ignored signals survive execve(), including those our own
 * parent ignored; glibc's signal() cannot reach the two signals it reserves
 * (32 and 33), so this asks the kernel directly.  An all-zero kernel
 * sigaction is SIG_DFL with no flags on every architecture.
 */
void
child_default_signals(void)
{
	unsigned char dfl[64];
	sigset_t none;
	int sig;

	memset(dfl, 0, sizeof(dfl));
	for (sig = 1; sig < _NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)syscall(SYS_rt_sigaction, sig, dfl, NULL,
			    (size_t)_NSIG / 8);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static void
child(char **argv, const struct conn *c, int sock, int errfd)
{
	static char envbuf[ENV_BUF_SIZE];
	static char *envp[ENV_KEEP_MAX + ENV_OURS_MAX + 1];
	char jid[JID_MAX + 1];
	int fd, null;

	/* Out of the way of 0, 1 and 2 first: either may be one of them
	 * when xmppgate was started with a standard fd closed. */
	if ((fd = fcntl(errfd, F_DUPFD_CLOEXEC, 3)) == -1)
		child_fail(errfd, errno);
	errfd = fd;
	if ((sock = fcntl(sock, F_DUPFD_CLOEXEC, 3)) == -1)
		child_fail(errfd, errno);
	if (dup2(sock, 0) == -1 || dup2(sock, 1) == -1)
		child_fail(errfd, errno);
	/* In inetd mode fd 2 is the client: never hand it over. */
	if (!log_stderr_usable()) {
		if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1)
			child_fail(errfd, errno);
		if (dup2(null, 2) == -1)
			child_fail(errfd, errno);
	}
	close_from(3, (unsigned int)errfd - 1);
	close_from((unsigned int)errfd + 1, ~0U);

	/* We ignore SIGPIPE; PROG expects the defaults, and no mask. */
	child_default_signals();

	snprintf(jid, sizeof(jid), "%s@%s", c->user, c->domain);
	{
		const char *ours[ENV_OURS_MAX][2];
		size_t i, k = 0, n = 0, used = 0;
		int w;

		for (i = 0; environ != NULL && environ[i] != NULL; i++)
			if (env_kept(environ[i]) && n < ENV_KEEP_MAX)
				envp[n++] = environ[i];
#define OUR(name, value) do { ours[k][0] = (name); ours[k][1] = (value); \
	k++; } while (0)
		OUR("PROTO", "TCP");
		OUR("TCPREMOTEIP", c->remote_ip);
		OUR("TCPREMOTEPORT", c->remote_port);
		OUR("TCPLOCALIP", c->local_ip);
		OUR("TCPLOCALPORT", c->local_port);
		OUR("XMPP_DOMAIN", c->domain);
		OUR("SSL_PROTOCOL", c->tls_protocol);
		OUR("SSL_CIPHER", c->tls_cipher);
		/* s2s: the remote server, and how it was authenticated
		 * (xmppgate by its certificate, or nobody yet: PROG runs
		 * dialback); a client: who logged in. */
		if (c->s2s_auth != NULL) {
			OUR("XMPP_S2S_REMOTE", c->remote_domain);
			OUR("XMPP_S2S_AUTH", c->s2s_auth);
			OUR("XMPP_S2S_CERT_STATUS", c->cert_status);
		} else {
			OUR("XMPP_USER", c->user);
			OUR("XMPP_JID", jid);
		}
#undef OUR
		for (i = 0; i < k; i++) {
			w = snprintf(envbuf + used, sizeof(envbuf) - used,
			    "%s=%s", ours[i][0], ours[i][1] ? ours[i][1] : "");
			if (w < 0 || (size_t)w >= sizeof(envbuf) - used)
				child_fail(errfd, E2BIG);
			envp[n++] = envbuf + used;
			used += (size_t)w + 1;
		}
		envp[n] = NULL;
	}
	environ = envp;		/* execvp() looks up PATH in it */

	execvp(argv[0], argv);
	child_fail(errfd, errno);
}

int
exec_start(char **argv, const struct conn *c, pid_t *pid, char *why,
    size_t whysz)
{
	int sv[2], ep[2], e, fl, save;
	ssize_t r;
	pid_t p;

	if (argv == NULL || argv[0] == NULL) {
		snprintf(why, whysz, "exec: no program");
		errno = EINVAL;
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		snprintf(why, whysz, "socketpair: %s", strerror(errno));
		return -1;
	}
	/* exec failures come back through this pipe; EOF means exec ran. */
	if (pipe2(ep, O_CLOEXEC) == -1) {
		save = errno;
		snprintf(why, whysz, "pipe: %s", strerror(save));
		close(sv[0]);
		close(sv[1]);
		errno = save;
		return -1;
	}
	if ((p = fork()) == -1) {
		save = errno;
		snprintf(why, whysz, "fork: %s", strerror(save));
		close(sv[0]);
		close(sv[1]);
		close(ep[0]);
		close(ep[1]);
		errno = save;
		return -1;
	}
	if (p == 0) {
		close(sv[0]);
		close(ep[0]);
		child(argv, c, sv[1], ep[1]);
	}

	close(sv[1]);
	close(ep[1]);
	do
		r = read(ep[0], &e, sizeof(e));
	while (r == -1 && errno == EINTR);
	close(ep[0]);
	if (r == (ssize_t)sizeof(e)) {
		snprintf(why, whysz, "exec %s: %s", argv[0], strerror(e));
		close(sv[0]);
		while (waitpid(p, NULL, 0) == -1 && errno == EINTR)
			;
		errno = e;
		return -1;
	}

	if ((fl = fcntl(sv[0], F_GETFL)) == -1 ||
	    fcntl(sv[0], F_SETFL, fl | O_NONBLOCK) == -1) {
		save = errno;
		snprintf(why, whysz, "fcntl: %s", strerror(save));
		close(sv[0]);
		*pid = p;	/* running; the caller reaps it */
		errno = save;
		return -1;
	}
	*pid = p;
	return sv[0];
}
