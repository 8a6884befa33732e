/*
 * --auth unix:/PATH: the helper is a service that stays up, reached on a
 * UNIX stream socket (xmppgate-auth(5), SOCKET HELPERS).  Per attempt one
 * connection: the request (authreq.c) written, our side shut down for
 * writing, the answer read to end of file, closed.  Nothing crosses
 * between connections.  Everything that goes wrong (no socket, refused,
 * no permission, --auth-timeout, garbage, too much, an early close) is a
 * temporary failure with its reason, as for an exec helper.
 *
 * Who may connect is the socket's file permissions' business; who
 * answered (SO_PEERCRED) is logged for every attempt.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1		/* struct ucred */
#endif
#include <sys/types.h>
#include <sys/socket.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include "xmppgate.h"
#include "seterr.h"

#define ENV_BUF_SIZE	16384	/* as authhelper.c: the fields */

static int	exchange(int, const char *, size_t, char *, size_t, size_t *,
		    int *, int64_t, char *, size_t);

/*
 * Write req, shut our side down, read the answer until end of file or
 * ans is full (*overflow: one byte more came).  0, or -1 with err (and
 * *timed_out for the deadline).  A helper may answer without reading
 * everything: a write that fails ends the writing, not the exchange.
 */
static int
exchange(int fd, const char *req, size_t reqlen, char *ans, size_t anssz,
    size_t *anslen, int *overflow, int64_t deadline, char *err,
    size_t errsz)
{
	size_t wpos = 0, rlen = 0;
	int writing = 1;
	ssize_t r;

	*anslen = 0;
	*overflow = 0;
	for (;;) {
		struct pollfd p = { fd, writing ? POLLOUT : POLLIN, 0 };
		int64_t left = deadline - now_ms();
		int n;

		if (left <= 0) {
			*anslen = rlen;
			seterr(err, errsz, "timed out");
			return -1;
		}
		n = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			seterr(err, errsz, "poll: %s", strerror(errno));
			return -1;
		}
		if (n == 0)
			continue;
		if (writing) {
			r = send(fd, req + wpos, reqlen - wpos, MSG_NOSIGNAL);
			if (r > 0)
				wpos += (size_t)r;
			if (r == -1 && (errno == EAGAIN || errno == EINTR))
				continue;
			/* All written, or the helper stopped reading: its
			 * answer may be there all the same. */
			if (r == -1 || wpos == reqlen) {
				(void)shutdown(fd, SHUT_WR);
				writing = 0;
			}
			continue;
		}
		r = read(fd, ans + rlen, anssz - rlen);
		if (r == -1 && (errno == EAGAIN || errno == EINTR))
			continue;
		/* A reset after its answer (it closed with our request
		 * unread) ends the answer like a close. */
		if (r == 0 || (r == -1 && errno == ECONNRESET))
			break;
		if (r == -1) {
			*anslen = rlen;
			seterr(err, errsz, "read: %s", strerror(errno));
			return -1;
		}
		rlen += (size_t)r;
		if (rlen == anssz) {
			*overflow = 1;
			break;
		}
	}
	*anslen = rlen;
	return 0;
}

enum auth_verdict
authsocket_run(const char *addr, const struct auth_request *req,
    int timeout_ms, struct auth_reply *out, char *why, size_t whysz)
{
	char envbuf[ENV_BUF_SIZE];
	char *envp[XG_AUTH_ENV_MAX];
	char reqbuf[XG_AUTHREQ_MAX];
	char ans[XG_AUTHREQ_ANSWER_MAX + 1];	/* one more: too long */
	char err[XG_REASON_MAX];
	struct netaddr na;
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	enum auth_verdict v = AUTH_TEMPFAIL, said;
	int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	size_t reqlen, anslen = 0, off;
	int fd = -1, overflow = 0;

	memset(out, 0, sizeof(*out));
	seterr(why, whysz, "helper: temporary failure");
	if (netaddr_parse(addr, &na) == -1 || !na.is_unix) {
		seterr(why, whysz, "helper: %s is not unix:/PATH", addr);
		goto done;
	}
	if (authhelper_env(req, envbuf, sizeof(envbuf), envp,
	    XG_AUTH_ENV_MAX) == -1 || (reqlen = authreq_encode(envp,
	    req->pass, req->pass_len, reqbuf, sizeof(reqbuf))) == 0) {
		seterr(why, whysz, "helper: request has a control character "
		    "or is too long");
		goto done;
	}
	if ((fd = netaddr_connect(&na, deadline, err, sizeof(err))) == -1) {
		seterr(why, whysz, "helper: %s", err);
		goto done;
	}
	/* Who answers: the socket's permissions let us in, this says
	 * whom we reached. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0)
		xg_log(LOG_INFO, "auth helper %s: peer pid=%ld uid=%lu "
		    "gid=%lu", addr, (long)cred.pid, (unsigned long)cred.uid,
		    (unsigned long)cred.gid);
	else
		xg_log(LOG_INFO, "auth helper %s: peer unknown "
		    "(SO_PEERCRED: %s)", addr, strerror(errno));
	if (exchange(fd, reqbuf, reqlen, ans, sizeof(ans), &anslen,
	    &overflow, deadline, err, sizeof(err)) == -1) {
		if (strcmp(err, "timed out") != 0)
			seterr(why, whysz, "helper %s: %s", addr, err);
		else if (timeout_ms % 1000 == 0)
			seterr(why, whysz, "helper %s timed out after %d s",
			    addr, timeout_ms / 1000);
		else
			seterr(why, whysz, "helper %s timed out after %d ms",
			    addr, timeout_ms);
		goto done;
	}
	if (overflow) {
		seterr(why, whysz, "helper %s: answer over %d bytes", addr,
		    XG_AUTHREQ_ANSWER_MAX);
		goto done;
	}
	if (anslen == 0) {
		seterr(why, whysz, "helper %s: closed the connection without "
		    "an answer", addr);
		goto done;
	}
	if (authreq_verdict(ans, anslen, &said, &off) == -1) {
		seterr(why, whysz, "helper %s: answer does not start with a "
		    "line accept, reject or tempfail", addr);
		goto done;
	}
	if (anslen - off > XG_HELPER_REPLY_MAX) {
		seterr(why, whysz, "helper %s reply: over %d bytes", addr,
		    XG_HELPER_REPLY_MAX);
		goto done;
	}
	if (said != AUTH_ACCEPT) {
		v = said;
		seterr(why, whysz, v == AUTH_REJECT ? "helper rejected the "
		    "credentials" : "helper: temporary failure");
		/* As for an exec helper: a bad message= or delay= is only
		 * logged, the failure stands. */
		if (anslen > off && authhelper_parse_failure(ans + off,
		    anslen - off, out, err, sizeof(err)) == -1)
			xg_log(LOG_WARNING, "helper failure reply ignored: %s",
			    err);
	} else if (authhelper_parse_reply(ans + off, anslen - off, out, err,
	    sizeof(err)) == -1) {
		seterr(why, whysz, "helper %s reply: %s", addr, err);
	} else {
		seterr(why, whysz, "helper accepted the credentials");
		v = AUTH_ACCEPT;
	}
done:
	if (fd != -1)
		close(fd);
	explicit_bzero(reqbuf, sizeof(reqbuf));
	explicit_bzero(ans, sizeof(ans));
	explicit_bzero(envbuf, sizeof(envbuf));
	return v;
}
