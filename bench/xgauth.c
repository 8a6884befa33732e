/*
 * xgauth -- the benchmark's auth helper (xmppgate-auth(5)): accepts the
 * one user and password it was compiled with (-DXG_USER, -DXG_PASS) and
 * prints nothing, so that in connect mode xmppgate logs in to the
 * backend with the client's own user name and password.  A C program
 * rather than a script so that the helper costs what a helper must
 * (fork, exec, one read), not a shell's start-up.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
main(void)
{
	char pw[1024];
	const char *u = getenv("AUTH_USER");
	size_t n = 0;
	ssize_t r;

	while (n < sizeof pw && (r = read(0, pw + n, sizeof pw - n)) > 0)
		n += r;
	if (u == NULL || strcmp(u, XG_USER) != 0)
		return 1;
	if (n != strlen(XG_PASS) || memcmp(pw, XG_PASS, n) != 0)
		return 1;
	return 0;
}
