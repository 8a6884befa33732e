/*
 * The auth protocols operators already have scripts for, beside the
 * native one (authhelper.c, xmppgate-auth(5)):
 *
 * checkpassword: DJB's interface.  The program reads user NUL password
 * NUL timestamp NUL on fd 3 and, when the password is right, execs the
 * program named by its arguments, here xmppgate --checkpassword-reply,
 * which prints the reply lines of the native protocol from what the
 * program left in its environment (Dovecot's USER and EXTRA proxy
 * fields).  Exit 1 rejects, 2 is misuse, 111 a temporary failure.
 *
 * ejabberd: ejabberd's external auth.  One request, a 2-byte big-endian
 * length then "auth:User:Server:Password", one answer, 2-byte length 2
 * then 2-byte 1 (yes) or 0 (no); then stdin is closed, and a script that
 * loops on stdin sees end of file and exits (or is killed at the timeout).
 *
 * Both run once per attempt, like the native helper, with its clean
 * environment and timeout.
 */
#include <sys/types.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "xmppgate.h"

#define EJ_REQUEST_MAX	(2 + 8 + 2 * XG_SASL_FIELD_MAX + XG_DOMAIN_MAX)
#define EJ_ANSWER	4		/* length 2, then 0 or 1 */
#define CP_REQUEST_MAX	(2 * XG_SASL_FIELD_MAX + 32)
#define CP_ENV_PORT	"5222"		/* Dovecot's port, when none is given */

/* The native reply parsed, or AUTH_TEMPFAIL with why. */
static enum auth_verdict
reply(const char *buf, size_t len, int overflow, struct auth_reply *out,
    const char *what, char *why, size_t whysz)
{
	char err[128];

	if (overflow || len > XG_HELPER_REPLY_MAX) {
		snprintf(why, whysz, "%s reply: over %d bytes", what,
		    XG_HELPER_REPLY_MAX);
		return AUTH_TEMPFAIL;
	}
	if (authhelper_parse_reply(buf, len, out, err, sizeof(err)) == -1) {
		snprintf(why, whysz, "%s reply: %s", what, err);
		return AUTH_TEMPFAIL;
	}
	snprintf(why, whysz, "%s accepted the credentials", what);
	return AUTH_ACCEPT;
}

enum auth_verdict
authproto_checkpassword(const char *path, const char *self,
    const struct auth_request *req, int timeout_ms, struct auth_reply *out,
    char *why, size_t whysz)
{
	char envbuf[16384], request[CP_REQUEST_MAX], buf[XG_HELPER_REPLY_MAX + 1];
	char *envp[XG_AUTH_ENV_MAX], err[XG_REASON_MAX];
	char *argv[] = { (char *)path, (char *)self,
	    (char *)"--checkpassword-reply", NULL };
	size_t ulen = strlen(req->user), len = 0, rlen = 0;
	int overflow = 0, status, n;
	enum auth_verdict v = AUTH_TEMPFAIL;
	struct helper_spec h = { .path = path, .argv = argv, .envp = envp,
	    .infd = 3, .in = request, .out = buf, .outsz = sizeof(buf),
	    .timeout_ms = timeout_ms };

	memset(out, 0, sizeof(*out));
	if (authhelper_env(req, envbuf, sizeof(envbuf), envp,
	    XG_AUTH_ENV_MAX) == -1) {
		snprintf(why, whysz, "checkpassword: request has a control "
		    "character or is too long");
		return AUTH_TEMPFAIL;
	}
	/* user NUL password NUL timestamp NUL */
	memcpy(request, req->user, ulen + 1);
	memcpy(request + ulen + 1, req->pass, req->pass_len);
	len = ulen + 1 + req->pass_len;
	request[len++] = '\0';
	n = snprintf(request + len, sizeof(request) - len, "%lld",
	    (long long)time(NULL));
	len += (size_t)n + 1;
	h.inlen = len;
	if (helper_run(&h, &rlen, &overflow, &status, err, sizeof(err)) == -1)
		snprintf(why, whysz, "checkpassword%s%s",
		    strncmp(err, "timed out", 9) == 0 ? " " : ": ", err);
	else if (WIFSIGNALED(status))
		snprintf(why, whysz, "checkpassword killed by signal %d",
		    WTERMSIG(status));
	else if (WEXITSTATUS(status) == 1) {
		snprintf(why, whysz, "checkpassword rejected the credentials");
		v = AUTH_REJECT;
	} else if (WEXITSTATUS(status) == 2)
		snprintf(why, whysz, "checkpassword: misuse (exit 2)");
	else if (WEXITSTATUS(status) == XG_EXIT_TEMP)
		snprintf(why, whysz, "checkpassword: temporary failure");
	else if (WEXITSTATUS(status) != 0)
		snprintf(why, whysz, "checkpassword exited %d",
		    WEXITSTATUS(status));
	else
		v = reply(buf, rlen, overflow, out, "checkpassword", why,
		    whysz);
	explicit_bzero(request, sizeof(request));
	explicit_bzero(buf, sizeof(buf));
	explicit_bzero(envbuf, sizeof(envbuf));
	if (v != AUTH_ACCEPT)
		auth_reply_wipe(out);
	return v;
}

enum auth_verdict
authproto_ejabberd(const char *path, const struct auth_request *req,
    int timeout_ms, char *why, size_t whysz)
{
	char envbuf[16384], request[EJ_REQUEST_MAX], ans[EJ_ANSWER];
	char *envp[XG_AUTH_ENV_MAX], err[XG_REASON_MAX];
	size_t body, alen = 0;
	int overflow = 0, status, rc;
	enum auth_verdict v = AUTH_TEMPFAIL;
	struct helper_spec h = { .path = path, .envp = envp, .in = request,
	    .out = ans, .outsz = sizeof(ans), .stop_when_full = 1,
	    .timeout_ms = timeout_ms };

	if (authhelper_env(req, envbuf, sizeof(envbuf), envp,
	    XG_AUTH_ENV_MAX) == -1) {
		snprintf(why, whysz, "ejabberd helper: request has a control "
		    "character or is too long");
		return AUTH_TEMPFAIL;
	}
	/* The user and the domain cannot hold ':' (plain_decode and
	 * xg_domain_normalize refuse it); the password may, last. */
	rc = snprintf(request + 2, sizeof(request) - 2, "auth:%s:%s:",
	    req->user, req->domain);
	if (rc < 0 || (size_t)rc + req->pass_len > sizeof(request) - 2 ||
	    (size_t)rc + req->pass_len > 0xffff) {
		snprintf(why, whysz, "ejabberd helper: request too long");
		return AUTH_TEMPFAIL;
	}
	body = (size_t)rc;
	memcpy(request + 2 + body, req->pass, req->pass_len);
	body += req->pass_len;
	request[0] = (char)(body >> 8);
	request[1] = (char)(body & 0xff);
	h.inlen = 2 + body;
	rc = helper_run(&h, &alen, &overflow, &status, err, sizeof(err));
	/* The answer counts even when the script then had to be killed. */
	if (alen == EJ_ANSWER && ans[0] == 0 && ans[1] == 2 && ans[2] == 0 &&
	    (ans[3] == 0 || ans[3] == 1)) {
		v = ans[3] ? AUTH_ACCEPT : AUTH_REJECT;
		snprintf(why, whysz, "ejabberd helper %s the credentials%s",
		    ans[3] ? "accepted" : "rejected", rc == -1 ?
		    " (then did not exit: killed)" : "");
	} else if (alen > 0)
		snprintf(why, whysz, "ejabberd helper: bad answer "
		    "(%zu bytes: %02x %02x ...)", alen,
		    (unsigned char)ans[0], alen > 1 ? (unsigned char)ans[1] : 0);
	else if (rc == -1)
		snprintf(why, whysz, "ejabberd helper%s%s",
		    strncmp(err, "timed out", 9) == 0 ? " " : ": ", err);
	else if (WIFSIGNALED(status))
		snprintf(why, whysz, "ejabberd helper killed by signal %d "
		    "without an answer", WTERMSIG(status));
	else
		snprintf(why, whysz, "ejabberd helper exited %d without an "
		    "answer", WEXITSTATUS(status));
	explicit_bzero(request, sizeof(request));
	explicit_bzero(envbuf, sizeof(envbuf));
	return v;
}

/*
 * xmppgate --checkpassword-reply: the program a checkpassword program
 * execs on success.  It turns Dovecot's conventions into reply lines on
 * standard output: the proxy fields named in EXTRA (host, port,
 * destuser, pass) become backend=, user= and password=.  Exit 0, or 111
 * when a field cannot be written (the attempt then fails temporarily).
 */
int
checkpassword_reply(void)
{
	const char *extra = getenv("EXTRA"), *host = NULL, *port = NULL;
	const char *destuser = NULL, *pass = NULL;
	char name[64];
	const char *p = extra ? extra : "", *e;
	size_t n;
	int ok = 1;

	while (*p != '\0') {
		while (*p == ' ')
			p++;
		if ((e = strchr(p, ' ')) == NULL)
			e = p + strlen(p);
		n = (size_t)(e - p);
		if (n > 0 && n < sizeof(name)) {
			memcpy(name, p, n);
			name[n] = '\0';
			if (strcmp(name, "host") == 0)
				host = getenv("host");
			else if (strcmp(name, "port") == 0)
				port = getenv("port");
			else if (strcmp(name, "destuser") == 0)
				destuser = getenv("destuser");
			else if (strcmp(name, "pass") == 0)
				pass = getenv("pass");
		}
		p = e;
	}
	if (host != NULL && *host != '\0')
		ok &= printf(strchr(host, ':') ? "backend=[%s]:%s\n" :
		    "backend=%s:%s\n", host, port && *port ? port :
		    CP_ENV_PORT) > 0;
	if (destuser != NULL && *destuser != '\0')
		ok &= printf("user=%s\n", destuser) > 0;
	if (pass != NULL && *pass != '\0')
		ok &= printf("password=%s\n", pass) > 0;
	ok &= fflush(stdout) == 0;
	return ok ? XG_EXIT_OK : XG_EXIT_TEMP;
}
