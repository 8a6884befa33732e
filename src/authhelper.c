/*
 * The auth helper protocol, version 1 (xmppgate-auth(5), doc/design.md):
 * the helper runs once per attempt with a clean environment describing
 * the attempt, reads the password on stdin, answers with its exit status
 * and, on success, optional key=value lines on stdout.
 *
 * The password goes only down the pipe, never into argv or the
 * environment, where other users could read it from /proc.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1		/* pipe2, close_range */
#endif
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include "xmppgate.h"
#include "seterr.h"

#define HELPER_PATH_ENV	"/usr/local/bin:/usr/bin:/bin"
#define ENV_BUF_SIZE	16384	/* user, domain, authzid, certificate names */
#define KEY_SHOW_MAX	32	/* how much of a bad key an error quotes */

static int	env_add(char *, size_t, size_t *, char **, size_t, size_t *,
		    const char *, const char *);
static void	show_key(char *, size_t, const char *, size_t);
static int	parse(const char *, size_t, struct auth_reply *, int, char *,
		    size_t);
static int	redirect_ok(const char *);
static int	fast_token_ok(const char *, size_t);
static int	fast_expiry_ok(const char *, size_t);
static void	fast_expiry_future(struct auth_reply *);
static void	keep_failure(struct auth_reply *);
static int	has_ctl(const char *, size_t);
static void	child(const struct helper_spec *, int, int, int)
		    __attribute__((noreturn));
static void	close_above(int);
static int	wait_child(pid_t, int64_t, int *);
static int64_t	left_ms(int64_t);

/* ---- environment (pure) ---- */

static int
has_ctl(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
			return 1;
	return 0;
}

/* Append NAME=value to buf and its address to envp; -1 when it does not
 * fit (one envp slot is always kept for the final NULL) or the value has
 * a control character. */
static int
env_add(char *buf, size_t bufsz, size_t *used, char **envp, size_t nenvp,
    size_t *n, const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value);

	if (has_ctl(value, vl))
		return -1;
	if (*n + 1 >= nenvp || bufsz - *used < nl + 1 + vl + 1)
		return -1;
	envp[*n] = buf + *used;
	memcpy(buf + *used, name, nl);
	buf[*used + nl] = '=';
	memcpy(buf + *used + nl + 1, value, vl);
	buf[*used + nl + 1 + vl] = '\0';
	*used += nl + 1 + vl + 1;
	(*n)++;
	envp[*n] = NULL;
	return 0;
}

int
authhelper_env(const struct auth_request *req, char *buf, size_t bufsz,
    char **envp, size_t nenvp)
{
	const struct conn *c = req->conn;
	/* A client's certificate counts once verified; a server's names are
	 * told whatever its verdict, with the verdict. */
	int certs = c && (c->cert_verified || c->cert_presented);
	int s2s = c && c->cert_status != NULL;
	size_t used = 0, n = 0;
	char attempt[24];
	struct { const char *name, *value; int optional; } v[] = {
		{ "XMPPGATE_AUTH_VERSION", "1", 0 },
		{ "PATH", HELPER_PATH_ENV, 0 },
		{ "AUTH_MECHANISM", req->mechanism ? req->mechanism : "PLAIN", 0 },
		{ "AUTH_USER", req->user ? req->user : "", 0 },
		{ "AUTH_DOMAIN", req->domain ? req->domain : "", 0 },
		{ "AUTH_AUTHZID", req->authzid ? req->authzid : "", 1 },
		{ "AUTH_SCRAM_HASH", req->scram_hash ? req->scram_hash : "", 1 },
		{ "AUTH_CHANNEL_BINDING", req->cbtype ? req->cbtype : "", 1 },
		{ "AUTH_CHANNEL_BINDING_DATA", req->cbdata ? req->cbdata : "",
		    1 },
		/* FAST (XEP-0484): a token check or a token's issue */
		{ "AUTH_FAST_CLIENT", req->fast_client ? req->fast_client : "",
		    1 },
		{ "AUTH_FAST_HMAC", req->fast_hmac ? req->fast_hmac : "", 1 },
		{ "AUTH_FAST_INVALIDATE", req->fast_invalidate ? "1" : "", 1 },
		{ "AUTH_FAST_COUNT", req->fast_count ? req->fast_count : "", 1 },
		{ "AUTH_FAST_MECHANISM", req->fast_mechanism ?
		    req->fast_mechanism : "", 1 },
		{ "AUTH_ATTEMPT", attempt, 0 },
		{ "XMPPGATE_CONN_ID", c ? c->id : "", 0 },
		{ "PROTO", "TCP", 0 },
		{ "TCPREMOTEIP", c ? c->remote_ip : "", 0 },
		{ "TCPREMOTEPORT", c ? c->remote_port : "", 0 },
		{ "TCPLOCALIP", c ? c->local_ip : "", 0 },
		{ "TCPLOCALPORT", c ? c->local_port : "", 0 },
		{ "SSL_PROTOCOL", c ? c->tls_protocol : "", 1 },
		{ "SSL_CIPHER", c ? c->tls_cipher : "", 1 },
		{ "SSL_SESSION_RESUMED", c && c->tls_resumed ? "1" : "", 1 },
		{ "SSL_TLS_SNI", c ? c->sni : "", 1 },
		{ "AUTH_CERT_SHA256", c && certs ? c->cert_sha256 : "", 1 },
		{ "AUTH_CERT_SUBJECT", c && certs ? c->cert_subject : "", 1 },
		{ "AUTH_CERT_XMPPADDRS", c && certs ? c->cert_xmppaddrs : "",
		    1 },
		{ "AUTH_CERT_DNSNAMES", c && certs ? c->cert_dnsnames : "", 1 },
		/* s2s: the remote server and its certificate's verdict */
		{ "AUTH_CERT_SRVNAMES", c && certs ? c->cert_srvnames : "", 1 },
		{ "S2S_REMOTE_DOMAIN", s2s ? c->remote_domain : "", 1 },
		{ "S2S_LOCAL_DOMAIN", s2s ? c->domain : "", 1 },
		{ "S2S_CERT_STATUS", s2s ? c->cert_status : "", 1 },
		{ "S2S_CERT_MATCH", s2s ? s2s_match_name(c->cert_match) : "",
		    1 },
	};
	size_t i;

	if (buf == NULL || envp == NULL || nenvp == 0)
		return -1;
	envp[0] = NULL;
	snprintf(attempt, sizeof(attempt), "%d", req->attempt);
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		if (v[i].optional && v[i].value[0] == '\0')
			continue;
		if (env_add(buf, bufsz, &used, envp, nenvp, &n, v[i].name,
		    v[i].value) == -1) {
			envp[0] = NULL;
			return -1;
		}
	}
	return (int)n;
}

/* ---- reply (pure) ---- */

/* A key fit to quote in a log line: printable ASCII, shortened. */
static void
show_key(char *out, size_t outsz, const char *k, size_t klen)
{
	size_t i, n = klen < outsz - 1 ? klen : outsz - 1;

	for (i = 0; i < n; i++)
		out[i] = (k[i] > 0x20 && k[i] < 0x7f) ? k[i] : '?';
	out[n] = '\0';
}

int
authhelper_parse_reply(const char *buf, size_t len, struct auth_reply *r,
    char *err, size_t errsz)
{
	return parse(buf, len, r, 0, err, errsz);
}

int
authhelper_parse_failure(const char *buf, size_t len, struct auth_reply *r,
    char *err, size_t errsz)
{
	return parse(buf, len, r, 1, err, errsz);
}

/* A redirect target (RFC 6120 4.9.3.19): a domain, or host:port. */
static int
redirect_ok(const char *v)
{
	struct netaddr na;
	char d[XG_DOMAIN_NAME_MAX + 1];

	if (strchr(v, ':') != NULL)
		return netaddr_parse(v, &na) == 0 && !na.is_unix;
	return xg_domain_normalize(v, d, sizeof(d)) == 0;
}

/* XEP-0484 token: it goes into an XML attribute and a helper's store; a
 * short alphabet keeps it clear of both quoting rules. */
static int
fast_token_ok(const char *v, size_t n)
{
	return n >= XG_FAST_TOKEN_MIN && strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789._~:+/=-") == n;
}

/* Exactly YYYY-MM-DDThh:mm:ssZ (XEP-0082 DateTime in UTC, no fraction),
 * a real date: month 01-12, the month's days (leap years), 00:00:00 to
 * 23:59:59. */
static int
fast_expiry_ok(const char *v, size_t n)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	int y, mo, d, h, mi, sec, leap;
	size_t i;

	if (n != XG_FAST_EXPIRY_LEN || sizeof(shape) - 1 != n)
		return 0;
	for (i = 0; i < n; i++)
		if (shape[i] == 'd' ? (v[i] < '0' || v[i] > '9') :
		    v[i] != shape[i])
			return 0;
#define DIG2(p) ((v[p] - '0') * 10 + (v[(p) + 1] - '0'))
	y = DIG2(0) * 100 + DIG2(2);
	mo = DIG2(5);
	d = DIG2(8);
	h = DIG2(11);
	mi = DIG2(14);
	sec = DIG2(17);
#undef DIG2
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (mo < 1 || mo > 12 || d < 1 ||
	    d > mdays[mo - 1] + (mo == 2 && leap))
		return 0;
	return h <= 23 && mi <= 59 && sec <= 59;
}

/* The reply after an accept, or (failure) after a rejection. */
static int
parse(const char *buf, size_t len, struct auth_reply *r, int failure,
    char *err, size_t errsz)
{
	struct netaddr na;
	char delay[8];
	char responder[64];	/* base64 of XG_FAST_HMAC_LEN, and room to
				 * tell a longer one by its content */
	size_t pos = 0, line = 0;

	memset(r, 0, sizeof(*r));
	if (len > XG_HELPER_REPLY_MAX) {
		seterr(err, errsz, "reply over %d bytes", XG_HELPER_REPLY_MAX);
		return -1;
	}
	if (memchr(buf, '\0', len) != NULL) {
		seterr(err, errsz, "reply contains a NUL byte");
		return -1;
	}
	while (pos < len) {
		const char *l = buf + pos, *eq, *val, *nl;
		size_t llen, klen, vlen, cap;
		char *dst;
		int *has;
		char shown[KEY_SHOW_MAX + 1];

		line++;
		nl = memchr(l, '\n', len - pos);
		llen = nl ? (size_t)(nl - l) : len - pos;
		pos += llen + (nl != NULL);
		if (llen == 0)
			continue;
		if ((eq = memchr(l, '=', llen)) == NULL) {
			seterr(err, errsz, "line %zu: no '='", line);
			goto bad;
		}
		klen = (size_t)(eq - l);
		val = eq + 1;
		vlen = llen - klen - 1;
		if (klen == 0) {
			seterr(err, errsz, "line %zu: empty key", line);
			goto bad;
		}
		show_key(shown, sizeof(shown), l, klen);
		if (failure && klen == 7 && memcmp(l, "message", 7) == 0) {
			dst = r->message;
			cap = sizeof(r->message) - 1;
			has = &r->has_message;
		} else if (failure && klen == 5 && memcmp(l, "delay", 5) == 0) {
			dst = delay;
			cap = 5;
			has = &r->has_delay;
		} else if (failure && klen == 9 &&
		    memcmp(l, "condition", 9) == 0) {
			dst = r->condition;
			cap = sizeof(r->condition) - 1;
			has = &r->has_condition;
		} else if (failure) {
			seterr(err, errsz, "line %zu: key '%s' is not for a "
			    "rejection", line, shown);
			goto bad;
		} else if (klen == 9 && memcmp(l, "condition", 9) == 0) {
			seterr(err, errsz, "line %zu: key 'condition' is only "
			    "for a rejection", line);
			goto bad;
		} else if (klen == 10 && memcmp(l, "fast-token", 10) == 0) {
			dst = r->fast_token;
			cap = sizeof(r->fast_token) - 1;
			has = &r->has_fast_token;
		} else if (klen == 11 && memcmp(l, "fast-expiry", 11) == 0) {
			dst = r->fast_expiry;
			cap = sizeof(r->fast_expiry) - 1;
			has = &r->has_fast_expiry;
		} else if (klen == 14 && memcmp(l, "fast-responder", 14) == 0) {
			dst = responder;
			cap = sizeof(responder) - 1;
			has = &r->has_fast_responder;
		} else if (klen == 8 && memcmp(l, "redirect", 8) == 0) {
			dst = r->redirect;
			cap = sizeof(r->redirect) - 1;
			has = &r->has_redirect;
		} else if (klen == 7 && memcmp(l, "backend", 7) == 0) {
			dst = r->backend;
			cap = sizeof(r->backend) - 1;
			has = &r->has_backend;
		} else if (klen == 4 && memcmp(l, "user", 4) == 0) {
			dst = r->user;
			cap = sizeof(r->user) - 1;
			has = &r->has_user;
		} else if (klen == 8 && memcmp(l, "password", 8) == 0) {
			dst = r->pass;
			cap = sizeof(r->pass) - 1;
			has = &r->has_pass;
		} else if (klen == 8 && memcmp(l, "identity", 8) == 0) {
			dst = r->identity;
			cap = sizeof(r->identity) - 1;
			has = &r->has_identity;
		} else if (klen == 7 && memcmp(l, "require", 7) == 0) {
			dst = r->require;
			cap = sizeof(r->require) - 1;
			has = &r->has_require;
		} else if (klen == 5 && memcmp(l, "scram", 5) == 0) {
			dst = r->scram;
			cap = sizeof(r->scram) - 1;
			has = &r->has_scram;
		} else {
			seterr(err, errsz, "line %zu: unknown key '%s'", line,
			    shown);
			goto bad;
		}
		if (*has) {
			seterr(err, errsz, "line %zu: duplicate key '%s'", line,
			    shown);
			goto bad;
		}
		if (vlen == 0) {
			seterr(err, errsz, "line %zu: empty value for '%s'",
			    line, shown);
			goto bad;
		}
		if (vlen > cap) {
			seterr(err, errsz, "line %zu: value for '%s' too long",
			    line, shown);
			goto bad;
		}
		if (has_ctl(val, vlen)) {
			seterr(err, errsz,
			    "line %zu: control character in value for '%s'",
			    line, shown);
			goto bad;
		}
		memcpy(dst, val, vlen);
		dst[vlen] = '\0';
		*has = 1;
		if (dst == r->pass)
			r->pass_len = vlen;
		/* The session's user: a localpart, never a JID or a path. */
		if (dst == r->identity && (strpbrk(dst, "@/ \"&'<>:") != NULL ||
		    vlen > XG_SASL_FIELD_MAX)) {
			seterr(err, errsz, "line %zu: identity is not a "
			    "localpart", line);
			goto bad;
		}
		if (dst == delay) {
			if (strspn(delay, "0123456789") != vlen ||
			    (r->delay_ms = atoi(delay)) > XG_FAILURE_DELAY_MAX) {
				seterr(err, errsz, "line %zu: delay is not a "
				    "number of ms up to %d", line,
				    XG_FAILURE_DELAY_MAX);
				goto bad;
			}
		}
		if (dst == r->scram) {
			struct scram_creds cr;
			int ok = scram_creds_parse(r->scram, vlen, &cr) == 0;

			explicit_bzero(&cr, sizeof(cr));
			if (!ok) {
				seterr(err, errsz, "line %zu: scram is not an "
				    "RFC 5803 SCRAM-SHA-1 or SCRAM-SHA-256 "
				    "value", line);
				goto bad;
			}
		}
		if (dst == r->condition &&
		    strcmp(r->condition, "credentials-expired") != 0) {
			seterr(err, errsz, "line %zu: condition is not "
			    "credentials-expired", line);
			goto bad;
		}
		if (dst == r->fast_token && !fast_token_ok(dst, vlen)) {
			seterr(err, errsz, "line %zu: fast-token is not %d to "
			    "%d characters of A-Z a-z 0-9 ._~:+/=-", line,
			    XG_FAST_TOKEN_MIN, XG_FAST_TOKEN_MAX);
			goto bad;
		}
		if (dst == r->fast_expiry && !fast_expiry_ok(dst, vlen)) {
			seterr(err, errsz, "line %zu: fast-expiry is not a "
			    "date YYYY-MM-DDThh:mm:ssZ", line);
			goto bad;
		}
		if (dst == responder) {
			gnutls_datum_t d = { NULL, 0 };
			int ok = xg_b64_decode(responder, vlen, &d) == 0 &&
			    d.size == XG_FAST_HMAC_LEN;

			if (ok)
				memcpy(r->fast_responder, d.data,
				    XG_FAST_HMAC_LEN);
			if (d.data != NULL) {
				explicit_bzero(d.data, d.size);
				gnutls_free(d.data);
			}
			explicit_bzero(responder, sizeof(responder));
			if (!ok) {
				seterr(err, errsz, "line %zu: fast-responder "
				    "is not base64 of %d bytes", line,
				    XG_FAST_HMAC_LEN);
				goto bad;
			}
		}
		if (dst == r->redirect && !redirect_ok(r->redirect)) {
			seterr(err, errsz, "line %zu: redirect is not a domain "
			    "or host:port", line);
			goto bad;
		}
		if (dst == r->backend && netaddr_parse(r->backend, &na) == -1) {
			seterr(err, errsz, "line %zu: bad backend address",
			    line);
			goto bad;
		}
	}
	if (r->has_fast_token != r->has_fast_expiry) {
		seterr(err, errsz, "%s without %s", r->has_fast_token ?
		    "fast-token" : "fast-expiry", r->has_fast_token ?
		    "fast-expiry" : "fast-token");
		goto bad;
	}
	return 0;
bad:
	explicit_bzero(responder, sizeof(responder));
	auth_reply_wipe(r);
	return -1;
}

void
auth_reply_wipe(struct auth_reply *r)
{
	explicit_bzero(r, sizeof(*r));
}

/* Wipe all but the failure's message=, delay= and condition=. */
static void
keep_failure(struct auth_reply *r)
{
	char msg[sizeof(r->message)], cond[sizeof(r->condition)];
	int has_msg = r->has_message, has_delay = r->has_delay;
	int has_cond = r->has_condition, delay = r->delay_ms;

	memcpy(msg, r->message, sizeof(msg));
	memcpy(cond, r->condition, sizeof(cond));
	auth_reply_wipe(r);
	memcpy(r->message, msg, sizeof(msg));
	memcpy(r->condition, cond, sizeof(cond));
	r->has_message = has_msg;
	r->has_delay = has_delay;
	r->has_condition = has_cond;
	r->delay_ms = delay;
}

/* A new token that is already expired is of no use to the client, and a
 * sign of a helper's clock or store gone wrong: dropped with a warning,
 * the accept stands (xmppgate-auth(5) FAST). */
static void
fast_expiry_future(struct auth_reply *r)
{
	struct tm tm;
	time_t t;

	if (!r->has_fast_token)
		return;
	memset(&tm, 0, sizeof(tm));
	if (strptime(r->fast_expiry, "%Y-%m-%dT%H:%M:%SZ", &tm) != NULL &&
	    (t = timegm(&tm)) != (time_t)-1 && t > time(NULL))
		return;
	xg_log(LOG_WARNING, "helper gave a fast-token that expires at %s, "
	    "not in the future: dropped", r->fast_expiry);
	explicit_bzero(r->fast_token, sizeof(r->fast_token));
	explicit_bzero(r->fast_expiry, sizeof(r->fast_expiry));
	r->has_fast_token = r->has_fast_expiry = 0;
}

/* ---- running the helper ---- */

static int64_t
left_ms(int64_t deadline)
{
	int64_t l = deadline - now_ms();

	return l > 0 ? l : 0;
}

/* Close every descriptor above fd. */
static void
close_above(int fd)
{
	struct rlimit rl;
	int max = 65536;

#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 34)
	if (close_range((unsigned)fd + 1, ~0U, 0) == 0)
		return;
#endif
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)max)
		max = (int)rl.rlim_cur;
	while (++fd < max)
		close(fd);
}

/* In the child: only async-signal-safe calls.  An exec failure is
 * reported as errno on errfd (close-on-exec, so EOF means success).  The
 * input pipe becomes fd 0, or fd 3 (checkpassword) with fd 0 on
 * /dev/null; the output pipe fd 1. */
static void
child(const struct helper_spec *h, int in, int out, int errfd)
{
	char *argv[2];
	int e, fd, keep;

	setpgid(0, 0);
	/* Move our pipe ends above 4 first, in case one of them is 0-4. */
	if ((errfd = fcntl(errfd, F_DUPFD_CLOEXEC, 5)) == -1 ||
	    (in = fcntl(in, F_DUPFD, 5)) == -1 ||
	    (out = fcntl(out, F_DUPFD, 5)) == -1 ||
	    dup2(in, h->infd) == -1 || dup2(out, 1) == -1)
		goto fail;
	if (h->infd != 0) {
		if ((fd = open("/dev/null", O_RDONLY)) == -1)
			goto fail;
		if (fd != 0 && (dup2(fd, 0) == -1 || close(fd) == -1))
			goto fail;
	}
	if (!log_stderr_usable()) {
		if ((fd = open("/dev/null", O_WRONLY)) == -1)
			goto fail;
		if (fd != 2 && dup2(fd, 2) == -1)
			goto fail;
	}
	/* Keep only 0-2 (and 3), and errfd (close-on-exec) for the exec. */
	keep = h->infd > 2 ? h->infd : 2;
	for (fd = keep + 1; fd < errfd; fd++)
		close(fd);
	close_above(errfd);
	/* Ignored signals (SIGPIPE) stay ignored across exec: reset. */
	child_default_signals();
	argv[0] = (char *)h->path;
	argv[1] = NULL;
	execve(h->path, h->argv ? h->argv : argv, h->envp);
fail:
	e = errno;
	(void)!write(errfd, &e, sizeof(e));
	_exit(XG_EXIT_TEMP);
}

/* Wait for pid until deadline: 0 with *status, or -1 on timeout. */
static int
wait_child(pid_t pid, int64_t deadline, int *status)
{
	pid_t r;
#ifdef SYS_pidfd_open
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (pfd != -1) {
		for (;;) {
			struct pollfd p = { pfd, POLLIN, 0 };
			int64_t l;

			r = waitpid(pid, status, WNOHANG);
			if (r == pid || (r == -1 && errno != EINTR))
				break;
			if ((l = left_ms(deadline)) == 0) {
				close(pfd);
				return -1;
			}
			if (poll(&p, 1, (int)l) == -1 && errno != EINTR)
				break;
		}
		close(pfd);
		if (r == -1)
			*status = XG_EXIT_TEMP << 8;	/* lost: not ours */
		return 0;
	}
#endif
	for (;;) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return 0;
		if (r == -1 && errno != EINTR) {
			*status = XG_EXIT_TEMP << 8;
			return 0;
		}
		if (left_ms(deadline) == 0)
			return -1;
		nanosleep(&ts, NULL);
	}
}

int
helper_run(const struct helper_spec *h, size_t *outlen, int *overflow,
    int *status, char *why, size_t whysz)
{
	const char *in = h->in;
	char *out = h->out;
	size_t inlen = h->inlen, outsz = h->outsz;
	int timeout_ms = h->timeout_ms;
	char drain[512];
	size_t rlen = 0, wpos = 0;
	int pin[2] = { -1, -1 }, pout[2] = { -1, -1 }, perr[2] = { -1, -1 };
	int timed_out = 0, e, n, rc = -1;
	int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	ssize_t r;
	pid_t pid;

	*outlen = 0;
	*overflow = 0;
	*status = XG_EXIT_TEMP << 8;
	if (pipe2(pin, O_CLOEXEC) == -1 || pipe2(pout, O_CLOEXEC) == -1 ||
	    pipe2(perr, O_CLOEXEC) == -1) {
		seterr(why, whysz, "unable to create pipe: %s",
		    strerror(errno));
		goto done;
	}
	if ((pid = fork()) == -1) {
		seterr(why, whysz, "unable to fork: %s", strerror(errno));
		goto done;
	}
	if (pid == 0)
		child(h, pin[0], pout[1], perr[1]);
	/* Also here, so that kill(-pid) cannot race the child's setpgid. */
	setpgid(pid, pid);
	close(pin[0]);
	close(pout[1]);
	close(perr[1]);
	pin[0] = pout[1] = perr[1] = -1;

	/* EOF without errno: the exec succeeded. */
	while ((r = read(perr[0], &e, sizeof(e))) == -1 && errno == EINTR)
		;
	if (r == (ssize_t)sizeof(e)) {
		waitpid(pid, status, 0);
		seterr(why, whysz, "unable to exec %s: %s", h->path,
		    strerror(e));
		goto done;
	}

	fcntl(pin[1], F_SETFL, O_NONBLOCK);
	fcntl(pout[0], F_SETFL, O_NONBLOCK);
	if (inlen == 0) {
		close(pin[1]);
		pin[1] = -1;
	}
	/* Write the input and read the output until the helper closes its
	 * stdout.  Output over the limit is drained, not stored, so the
	 * helper's exit status still decides. */
	while (pout[0] != -1) {
		struct pollfd p[2];
		int64_t l;

		p[0].fd = pout[0];
		p[0].events = POLLIN;
		p[1].fd = pin[1];
		p[1].events = POLLOUT;
		if ((l = left_ms(deadline)) == 0) {
			timed_out = 1;
			break;
		}
		n = poll(p, pin[1] != -1 ? 2 : 1, (int)l);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			seterr(why, whysz, "poll: %s", strerror(errno));
			timed_out = 1;	/* kill it: we cannot go on */
			break;
		}
		if (pin[1] != -1 && p[1].revents) {
			r = write(pin[1], in + wpos, inlen - wpos);
			if (r > 0)
				wpos += (size_t)r;
			/* EPIPE: the helper did not read it; its business. */
			if ((r == -1 && errno != EAGAIN && errno != EINTR) ||
			    wpos == inlen) {
				close(pin[1]);
				pin[1] = -1;
			}
		}
		if (p[0].revents) {
			if (rlen < outsz)
				r = read(pout[0], out + rlen, outsz - rlen);
			else
				r = read(pout[0], drain, sizeof(drain));
			if (r > 0 && rlen < outsz)
				rlen += (size_t)r;
			else if (r > 0)
				*overflow = 1;
			/* EOF, an error, or all we wait for is here. */
			if (r == 0 || (r == -1 && errno != EAGAIN &&
			    errno != EINTR) || (h->stop_when_full &&
			    rlen == outsz)) {
				close(pout[0]);
				pout[0] = -1;
			}
		}
	}
	if (pin[1] != -1) {
		close(pin[1]);
		pin[1] = -1;
	}
	*outlen = rlen;
	if (!timed_out && wait_child(pid, deadline, status) == -1)
		timed_out = 1;
	if (timed_out) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		while (waitpid(pid, status, 0) == -1 && errno == EINTR)
			;
		if (timeout_ms % 1000 == 0)
			seterr(why, whysz, "timed out after %d s",
			    timeout_ms / 1000);
		else
			seterr(why, whysz, "timed out after %d ms",
			    timeout_ms);
		goto done;
	}
	rc = 0;
done:
	if (pin[0] != -1)
		close(pin[0]);
	if (pin[1] != -1)
		close(pin[1]);
	if (pout[0] != -1)
		close(pout[0]);
	if (pout[1] != -1)
		close(pout[1]);
	if (perr[0] != -1)
		close(perr[0]);
	if (perr[1] != -1)
		close(perr[1]);
	explicit_bzero(drain, sizeof(drain));
	return rc;
}

enum auth_verdict
authhelper_run(const char *path, const struct auth_request *req,
    int timeout_ms, struct auth_reply *out, char *why, size_t whysz)
{
	char envbuf[ENV_BUF_SIZE];
	char *envp[XG_AUTH_ENV_MAX];
	char reply[XG_HELPER_REPLY_MAX + 1];
	char err[128];
	size_t rlen = 0;
	int status = 0, overflow = 0;
	enum auth_verdict v = AUTH_TEMPFAIL;
	struct helper_spec h = { .path = path, .envp = envp, .in = req->pass,
	    .inlen = req->pass_len, .out = reply, .outsz = sizeof(reply),
	    .timeout_ms = timeout_ms };

	/* A helper that stays up (authsocket.c): the same request and
	 * reply, over a socket. */
	if (strncmp(path, "unix:", 5) == 0) {
		v = authsocket_run(path, req, timeout_ms, out, why, whysz);
		if (v != AUTH_ACCEPT)
			keep_failure(out);
		else
			fast_expiry_future(out);
		return v;
	}
	memset(out, 0, sizeof(*out));
	seterr(why, whysz, "helper: temporary failure");
	if (authhelper_env(req, envbuf, sizeof(envbuf), envp,
	    XG_AUTH_ENV_MAX) == -1) {
		seterr(why, whysz, "helper: request has a control character "
		    "or is too long");
		return AUTH_TEMPFAIL;
	}
	if (helper_run(&h, &rlen, &overflow, &status, err,
	    sizeof(err)) == -1) {
		if (strncmp(err, "timed out", 9) == 0)
			seterr(why, whysz, "helper %s", err);
		else
			seterr(why, whysz, "helper: %s", err);
		goto done;
	}
	if (rlen > XG_HELPER_REPLY_MAX)
		overflow = 1;

	if (WIFSIGNALED(status)) {
		seterr(why, whysz, "helper killed by signal %d",
		    WTERMSIG(status));
	} else if (!WIFEXITED(status)) {
		seterr(why, whysz, "helper: unknown wait status %d", status);
	} else if (WEXITSTATUS(status) == 1 ||
	    WEXITSTATUS(status) == XG_EXIT_TEMP) {
		v = WEXITSTATUS(status) == 1 ? AUTH_REJECT : AUTH_TEMPFAIL;
		seterr(why, whysz, v == AUTH_REJECT ? "helper rejected the "
		    "credentials" : "helper: temporary failure");
		/* message= and delay= for the failure; a bad one is only
		 * logged, the rejection stands. */
		if (rlen > 0 && (overflow || rlen > XG_HELPER_REPLY_MAX ||
		    authhelper_parse_failure(reply, rlen, out, err,
		    sizeof(err)) == -1))
			xg_log(LOG_WARNING, "helper failure reply ignored: %s",
			    overflow || rlen > XG_HELPER_REPLY_MAX ?
			    "too long" : err);
	} else if (WEXITSTATUS(status) != 0) {
		seterr(why, whysz, "helper exited %d", WEXITSTATUS(status));
	} else if (overflow) {
		seterr(why, whysz, "helper reply: over %d bytes",
		    XG_HELPER_REPLY_MAX);
	} else if (authhelper_parse_reply(reply, rlen, out, err,
	    sizeof(err)) == -1) {
		seterr(why, whysz, "helper reply: %s", err);
	} else {
		seterr(why, whysz, "helper accepted the credentials");
		v = AUTH_ACCEPT;
		fast_expiry_future(out);
	}
done:
	explicit_bzero(reply, sizeof(reply));
	explicit_bzero(envbuf, sizeof(envbuf));
	/* A failure keeps only what its reply may say. */
	if (v != AUTH_ACCEPT)
		keep_failure(out);
	return v;
}
