/*
 * xmppgate-auth-extauth: an xmppgate-auth(5) helper that asks an ejabberd
 * external-auth script (an "extauth" script, also used through Prosody's
 * mod_auth_external), unchanged.  It is what --auth-protocol ejabberd
 * does inside xmppgate, as a program of its own: for a native helper that
 * does more (routing, rate limits) and asks the script for the password
 * check only, or to try a script by hand.
 *
 *	xmppgate-auth-extauth SCRIPT [TIMEOUT]
 *
 * The password on stdin, AUTH_USER and AUTH_DOMAIN in the environment, as
 * xmppgate gives them, for AUTH_MECHANISM=PLAIN only: any other mechanism
 * is refused (exit 1) without asking the script.  SCRIPT (an absolute path) is run with that same
 * environment and no arguments, sent one request (a 2-byte big-endian
 * length, then auth:USER:DOMAIN:PASSWORD) and answered by a 2-byte length
 * and a 2-byte 0 or 1; its stdin is then closed, and a script that does
 * not exit is killed after TIMEOUT seconds (default 5; its answer still
 * counts).  Exit 0 accept, 1 reject, 111 when the script fails (the
 * reason on stderr).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "xmppgate.h"

#define PROG		"xmppgate-auth-extauth"
#define TIMEOUT_DEFAULT	5
#define TIMEOUT_MAX	3600

static char pass[XG_SASL_FIELD_MAX + 2];

static void __attribute__((noreturn))
done(int code, const char *why)
{
	explicit_bzero(pass, sizeof(pass));
	if (why != NULL)
		fprintf(stderr, "%s: %s\n", PROG, why);
	exit(code);
}

int
main(int argc, char **argv)
{
	struct auth_request req;
	char why[XG_REASON_MAX], *end;
	const char *mech;
	size_t len = 0;
	ssize_t r;
	long t = TIMEOUT_DEFAULT;
	enum auth_verdict v;

	/* A script that dies before reading its request must be an error
	 * reported (111), not a SIGPIPE that kills us. */
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2 || argc > 3 || argv[1][0] != '/')
		done(XG_EXIT_TEMP, "usage: " PROG " /PATH/TO/SCRIPT [TIMEOUT]");
	if (argc == 3) {
		errno = 0;
		t = strtol(argv[2], &end, 10);
		if (errno || *end != '\0' || t < 1 || t > TIMEOUT_MAX)
			done(XG_EXIT_TEMP, "TIMEOUT: seconds, 1 to 3600");
	}
	/* An extauth script checks passwords only: every other mechanism
	 * (EXTERNAL, SCRAM) is refused here and never reaches it as a
	 * password check with an empty password (xmppgate-auth(5)). */
	if ((mech = getenv("AUTH_MECHANISM")) == NULL)
		done(XG_EXIT_TEMP, "AUTH_MECHANISM not set; see "
		    "xmppgate-auth(5)");
	if (strcmp(mech, "PLAIN") != 0) {
		fprintf(stderr, "%s: mechanism %.32s not handled: refused\n",
		    PROG, mech);
		done(XG_EXIT_REFUSED, NULL);
	}
	/* The password: all of stdin.  Too long, or a NUL: wrong. */
	while (len < sizeof(pass) - 1) {
		r = read(0, pass + len, sizeof(pass) - 1 - len);
		if (r == 0)
			break;
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			done(XG_EXIT_TEMP, "unable to read the password");
		len += (size_t)r;
	}
	if (len > XG_SASL_FIELD_MAX || memchr(pass, '\0', len) != NULL)
		done(XG_EXIT_REFUSED, NULL);

	memset(&req, 0, sizeof(req));
	req.mechanism = "PLAIN";
	req.user = getenv("AUTH_USER");
	req.domain = getenv("AUTH_DOMAIN");
	req.pass = pass;
	req.pass_len = len;
	req.attempt = getenv("AUTH_ATTEMPT") ? atoi(getenv("AUTH_ATTEMPT")) : 1;
	if (req.user == NULL || req.domain == NULL)
		done(XG_EXIT_TEMP, "AUTH_USER or AUTH_DOMAIN not set; see "
		    "xmppgate-auth(5)");
	v = authproto_ejabberd(argv[1], &req, (int)t * 1000, why, sizeof(why));
	if (v == AUTH_ACCEPT)
		done(XG_EXIT_OK, NULL);
	if (v == AUTH_REJECT)
		done(XG_EXIT_REFUSED, NULL);
	done(XG_EXIT_TEMP, why);
}
