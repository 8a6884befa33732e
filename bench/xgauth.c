/*
 * xgauth -- the benchmark's auth helper (xmppgate-auth(5)): accepts the
 * one user and password it was compiled with (-DXG_USER, -DXG_PASS) and
 * prints nothing, so that in connect mode xmppgate logs in to the
 * backend with the client's own user name and password.  A C program
 * rather than a script so that the helper costs what a helper must
 * (fork, exec, one read), not a shell's start-up.
 *
 *   xgauth		an exec helper: AUTH_USER, the password on stdin,
 *			exit 0 or 1
 *   xgauth -l PATH	a socket helper (SOCKET HELPERS in xmppgate-auth(5)):
 *			binds PATH and answers one connection after the
 *			other in this one process, no fork, for at most an
 *			hour; what a helper that stays up costs at least
 */
#define _GNU_SOURCE
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/time.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REQ_MAX	(16384 + 1023)	/* a whole request, xmppgate-auth(5) */
#define LIFE_S	3600

static int
check(const char *u, const char *pw, size_t n)
{
	if (u == NULL || strcmp(u, XG_USER) != 0)
		return 1;
	if (n != strlen(XG_PASS) || memcmp(pw, XG_PASS, n) != 0)
		return 1;
	return 0;
}

/* One request on FD (read to end of file, as xmppgate shuts its side
 * down after it): 0 accept, 1 reject, -1 not a request. */
static int
answer(int fd)
{
	static char req[REQ_MAX + 1];
	char user[1024], *p, *e, *end;
	size_t n = 0;
	ssize_t r;
	long plen = -1;
	int v;

	while (n < sizeof req && (r = read(fd, req + n, sizeof req - n)) > 0)
		n += r;
	if (n == sizeof req || (end = memmem(req, n, "\n\n", 2)) == NULL)
		return -1;
	user[0] = '\0';
	for (p = req; p <= end; p = e + 1) {
		e = memchr(p, '\n', end + 1 - p);
		*e = '\0';
		if (strncmp(p, "AUTH_USER=", 10) == 0 && strlen(p + 10) < sizeof user)
			strcpy(user, p + 10);
		else if (strncmp(p, "AUTH_PASSWORD_LENGTH=", 21) == 0)
			plen = strtol(p + 21, NULL, 10);
	}
	if (plen < 0 || end + 2 + plen != req + n)
		return -1;
	v = check(user, end + 2, plen);
	memset(req, 0, n);
	return v;
}

static int
serve(const char *path)
{
	struct sockaddr_un sun;
	struct timeval tv = { 10, 0 };
	int lfd, fd, v;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path)
		return 100;
	strcpy(sun.sun_path, path);
	unlink(path);
	if ((lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(lfd, (struct sockaddr *)&sun, sizeof sun) == -1 ||
	    listen(lfd, 64) == -1) {
		perror("xgauth: listen");
		return 111;
	}
	signal(SIGPIPE, SIG_IGN);
	alarm(LIFE_S);
	for (;;) {
		if ((fd = accept(lfd, NULL, NULL)) == -1)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
		v = answer(fd);
		if (v >= 0 && write(fd, v == 0 ? "accept\n" : "reject\n", 7) != 7)
			perror("xgauth: answer");
		close(fd);
	}
}

int
main(int argc, char **argv)
{
	char pw[1024];
	const char *u = getenv("AUTH_USER");
	size_t n = 0;
	ssize_t r;

	if (argc == 3 && strcmp(argv[1], "-l") == 0)
		return serve(argv[2]);
	while (n < sizeof pw && (r = read(0, pw + n, sizeof pw - n)) > 0)
		n += r;
	return check(u, pw, n);
}
