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
static const char *ident = "xmppgate";	/* syslog's and stderr's name */

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
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	else if ((js = getenv("JOURNAL_STREAM")) != NULL &&
	    sscanf(js, "%llu:%llu", &dev, &ino) == 2 &&
	    (unsigned long long)se.st_dev == dev &&
	    (unsigned long long)se.st_ino == ino)
		to_journal = 1;
}

void
log_ident(const char *name)
{
	ident = name;
}

void
log_conn(const struct conn *c)
{
	log_conn_id(c->id);
}

void
log_conn_id(const char *id)
{
	snprintf(prefix, sizeof(prefix), "conn=%s", id && id[0] ? id : "-");
}

int
log_stderr_usable(void)
{
	return stderr_ok;
}

/*
 * The length of the UTF-8 character at s[0..n) if it is well formed and
 * one a log line may show as it is, else 0.  Refused besides malformed
 * sequences (overlong, surrogates, above U+10FFFF): the C1 controls (NEL
 * is a line break to some readers), the line and paragraph separators,
 * and the bidirectional controls and BOM, which reorder or hide text.
 */
static size_t
utf8_showable(const unsigned char *s, size_t n)
{
	uint32_t cp, min;
	size_t len, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2, cp = s[0] & 0x1f, min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3, cp = s[0] & 0x0f, min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4, cp = s[0] & 0x07, min = 0x10000;
	} else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	if (cp <= 0x9f || cp == 0x061c || cp == 0x200e || cp == 0x200f ||
	    (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
	    cp == 0xfeff)
		return 0;
	return len;
}

/*
 * Every log line passes here whole, so no caller can forget it: client
 * text in any argument (a mechanism, a 'to', a user name, a debug line)
 * cannot end the line, start another with a "<N>" priority of its
 * choosing in the journal, or hide itself from a terminal.  Printable
 * ASCII and showable UTF-8 stay; a backslash becomes "\\" and any other
 * byte "\xNN", so an escape in the log is always ours.  Cut at a
 * character, never inside an escape, with "..." when cut.
 */
size_t
log_escape(const char *in, char *out, size_t outsz)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0, o = 0, n = strlen(in), k, room;

	if (outsz == 0)
		return 0;
	room = outsz > 4 ? outsz - 4 : 0;	/* "..." and the NUL */
	while (i < n) {
		if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\\')
			k = 1;
		else if (s[i] >= 0x80 && (k = utf8_showable(s + i, n - i)) > 0)
			;
		else
			k = 0;
		if (o + (k ? k : s[i] == '\\' ? 2 : 4) > room) {
			if (outsz > 4) {
				memcpy(out + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (k > 0) {
			memcpy(out + o, s + i, k);
			o += k;
			i += k;
		} else if (s[i] == '\\') {
			out[o++] = '\\';
			out[o++] = '\\';
			i++;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[s[i] >> 4];
			out[o++] = hex[s[i] & 0xf];
			i++;
		}
	}
	out[o] = '\0';
	return o;
}

static void
vlog(int prio, const char *fmt, va_list ap)
{
	char raw[XG_LOG_LINE_MAX], msg[XG_LOG_LINE_MAX];

	vsnprintf(raw, sizeof(raw), fmt, ap);
	log_escape(raw, msg, sizeof(msg));
	if (to_syslog)
		syslog(prio, "%s %s", prefix, msg);
	else if (to_journal)
		fprintf(stderr, "<%d>%s %s\n", prio, prefix, msg);
	else
		fprintf(stderr, "%s[%ld]: %s %s\n", ident, (long)getpid(),
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

size_t
log_summary_fields(const struct conn *c, char *out, size_t outsz)
{
	char a[96], d[128], u[300], b[128], s2[128];
	int n;

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
	n = snprintf(out, outsz, "client=%s domain=%s user=%s backend=%s%s%s",
	    a, tok(c->domain, d, sizeof(d)), u, tok(c->backend, b, sizeof(b)),
	    c->sasl2[0] ? " sasl2=" : "", c->sasl2[0] ? tok(c->sasl2, s2,
	    sizeof(s2)) : "");
	return n < 0 ? 0 : (size_t)n < outsz ? (size_t)n : outsz - 1;
}

void
log_summary_line(const char *fields, uint64_t rx, uint64_t tx, int64_t ms,
    int exitcode, const char *reason)
{
	char r[256];
	const char *outcome = exitcode == XG_EXIT_OK ? "ok" :
	    exitcode == XG_EXIT_REFUSED ? "refused" : "tempfail";
	size_t i;

	/* The reason is ours, but may quote client text: no quotes in it. */
	snprintf(r, sizeof(r), "%s", reason && reason[0] ? reason : "-");
	for (i = 0; r[i]; i++)
		if (r[i] == '"' || (unsigned char)r[i] < 0x20)
			r[i] = '\'';
	xg_log(exitcode == XG_EXIT_TEMP ? LOG_ERR : LOG_INFO,
	    "summary %s rx=%llu tx=%llu duration=%lld.%03lld outcome=%s "
	    "reason=\"%s\"", fields, (unsigned long long)rx,
	    (unsigned long long)tx, (long long)(ms / 1000),
	    (long long)(ms % 1000), outcome, r);
}

void
log_summary(const struct conn *c, int exitcode)
{
	char f[XG_SUMMARY_FIELDS_MAX];

	log_summary_fields(c, f, sizeof(f));
	log_summary_line(f, c->rx, c->tx, now_ms() - c->start_ms, exitcode,
	    c->outcome);
}
