/*
 * --listen for the sample helpers: see authlisten.h.  The parent only
 * accepts and forks; a child reads one request with the limits of
 * xmppgate-auth(5) (authreq_decode), becomes the exec helper it would
 * have been (environment and password), and answers on the connection.
 * SIGALRM ends a child that a client keeps waiting.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1		/* accept4, clearenv */
#endif
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>
#include "xmppgate.h"
#include "authlisten.h"

static int	one_request(const char *, int, char *, size_t, size_t *);

/* In the child: read and decode; 0 with the environment set, or -1. */
static int
one_request(const char *prog, int fd, char *pass, size_t passsz,
    size_t *plen)
{
	static char buf[XG_AUTHREQ_MAX + 1];
	struct authreq rq;
	size_t len = 0, i;
	ssize_t r;
	int rc = 0;

	while (rc == 0) {
		if (len == sizeof(buf)) {
			rc = -1;
			break;
		}
		r = read(fd, buf + len, sizeof(buf) - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			fprintf(stderr, "%s: connection %s within the request\n",
			    prog, r == 0 ? "closed" : strerror(errno));
			explicit_bzero(buf, sizeof(buf));
			return -1;
		}
		len += (size_t)r;
		rc = authreq_decode(buf, len, &rq);
	}
	if (rc == -1 || rq.pass_len >= passsz) {
		fprintf(stderr, "%s: not a request of xmppgate-auth(5) "
		    "(SOCKET HELPERS)\n", prog);
		explicit_bzero(buf, sizeof(buf));
		return -1;
	}
	if (clearenv() != 0)
		rc = -1;
	for (i = 0; i < rq.nfields && rc == 1; i++)
		if (setenv(rq.name[i], rq.value[i], 1) == -1)
			rc = -1;
	memcpy(pass, rq.pass, rq.pass_len);
	pass[rq.pass_len] = '\0';
	*plen = rq.pass_len;
	explicit_bzero(buf, sizeof(buf));
	if (rc == -1) {
		fprintf(stderr, "%s: unable to set the environment\n", prog);
		explicit_bzero(pass, passsz);
		return -1;
	}
	return 0;
}

int
authlisten(const char *prog, char *pass, size_t passsz, size_t *plen)
{
	int lfd = SD_LISTEN_FDS_START, fd, n = 0;
	pid_t pid;

	if (sd_listen_fds(1) != 1 ||
	    sd_is_socket_unix(lfd, SOCK_STREAM, 1, NULL, 0) <= 0) {
		fprintf(stderr, "%s: fatal: --listen wants one listening UNIX "
		    "stream socket from systemd (LISTEN_FDS, Accept=no)\n",
		    prog);
		exit(111);
	}
	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		/* Reap; at the limit, wait for one child to end. */
		while (n > 0 && waitpid(-1, NULL, n >= AUTHLISTEN_CHILDREN_MAX ?
		    0 : WNOHANG) > 0)
			n--;
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno != EINTR && errno != ECONNABORTED) {
				fprintf(stderr, "%s: accept: %s\n", prog,
				    strerror(errno));
				sleep(1);	/* EMFILE and the like */
			}
			continue;
		}
		if ((pid = fork()) == -1) {
			fprintf(stderr, "%s: fork: %s\n", prog,
			    strerror(errno));
			close(fd);
			sleep(1);
			continue;
		}
		if (pid > 0) {
			close(fd);
			n++;
			continue;
		}
		close(lfd);
		signal(SIGPIPE, SIG_DFL);
		alarm(AUTHLISTEN_TIMEOUT);
		if (one_request(prog, fd, pass, passsz, plen) == -1)
			_exit(1);
		return fd;
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
