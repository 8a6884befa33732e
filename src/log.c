/*
 * Logging never reaches the client: syslog when asked, or when fd 2 is
 * the connection itself (inetd dup2s the socket onto 0, 1 and 2), else
 * stderr, with sd-daemon(3) "<N>" priority prefixes when JOURNAL_STREAM
 * says fd 2 is the journal.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <sys/stat.h>
#include "xmppgate.h"

static int	to_syslog = 1;
static int	to_journal;
static int	stderr_ok;
static int	debug;
static char	prefix[64] = "conn=-";

void
log_init(int use_syslog, int verbose, int conn_fd)
{
	struct stat se, sc;
	const char *js;
	unsigned long long dev, ino;

	debug = verbose;
	stderr_ok = fstat(2, &se) == 0 && !(fstat(conn_fd, &sc) == 0 &&
	    se.st_dev == sc.st_dev && se.st_ino == sc.st_ino);
	to_syslog = use_syslog || !stderr_ok;
	if (to_syslog)
		openlog("xmppgate", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	else if ((js = getenv("JOURNAL_STREAM")) != NULL &&
	    sscanf(js, "%llu:%llu", &dev, &ino) == 2 &&
	    (unsigned long long)se.st_dev == dev &&
	    (unsigned long long)se.st_ino == ino)
		to_journal = 1;
}

void
log_conn(const struct conn *c)
{
	snprintf(prefix, sizeof(prefix), "conn=%s", c->id);
}

int
log_stderr_usable(void)
{
	return stderr_ok;
}

static void
vlog(int prio, const char *fmt, va_list ap)
{
	char msg[XG_LOG_LINE_MAX];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (to_syslog)
		syslog(prio, "%s %s", prefix, msg);
	else if (to_journal)
		fprintf(stderr, "<%d>%s %s\n", prio, prefix, msg);
	else
		fprintf(stderr, "xmppgate[%ld]: %s %s\n", (long)getpid(),
		    prefix, msg);
}

void
xg_log(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(prio, fmt, ap);
	va_end(ap);
}

void
xg_debug(const char *fmt, ...)
{
	va_list ap;

	if (!debug)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

/* Values in the summary come partly from the client: keep them one token. */
static const char *
tok(const char *s, char *out, size_t outsz)
{
	size_t i;

	if (s == NULL || *s == '\0')
		return "-";
	for (i = 0; s[i] != '\0' && i + 1 < outsz; i++)
		out[i] = ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f ||
		    s[i] == '"') ? '?' : s[i];
	out[i] = '\0';
	return out;
}

void
log_summary(const struct conn *c, int exitcode)
{
	char a[96], d[128], u[300], b[128], s2[128], r[256];
	int64_t ms = now_ms() - c->start_ms;
	const char *outcome = exitcode == XG_EXIT_OK ? "ok" :
	    exitcode == XG_EXIT_REFUSED ? "refused" : "tempfail";
	size_t i;

	/* The reason is ours, but may quote client text: no quotes in it. */
	snprintf(r, sizeof(r), "%s", c->outcome[0] ? c->outcome : "-");
	for (i = 0; r[i]; i++)
		if (r[i] == '"' || (unsigned char)r[i] < 0x20)
			r[i] = '\'';
	snprintf(a, sizeof(a), strchr(c->remote_ip, ':') ? "[%s]:%s" :
	    "%s:%s", c->remote_ip, c->remote_port);
	/* s2s: the remote server and how it was authenticated, in place
	 * of a user. */
	if (c->cert_status != NULL)
		snprintf(u, sizeof(u), "%s server=%s auth=%s",
		    tok(c->user, b, sizeof(b)), tok(c->remote_domain, s2, sizeof(s2)),
		    c->s2s_auth ? c->s2s_auth : "-");
	else		/* tok() may give "-" and leave u alone */
		snprintf(u, sizeof(u), "%s", tok(c->user, b, sizeof(b)));
	xg_log(exitcode == XG_EXIT_TEMP ? LOG_ERR : LOG_INFO,
	    "summary client=%s domain=%s user=%s backend=%s rx=%llu "
	    "tx=%llu duration=%lld.%03lld outcome=%s reason=\"%s\"",
	    a, tok(c->domain, d, sizeof(d)),
	    u, tok(c->backend, b, sizeof(b)),
	    (unsigned long long)c->rx, (unsigned long long)c->tx,
	    (long long)(ms / 1000), (long long)(ms % 1000), outcome, r);
}
