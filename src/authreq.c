/*
 * The socket form of the auth helper protocol (xmppgate-auth(5), "SOCKET
 * HELPERS"), both ways, pure: no I/O, no globals, no allocation.
 *
 * Request, xmppgate to helper: the exec helper's environment as lines
 * NAME=VALUE (PATH left out), the line AUTH_PASSWORD_LENGTH=N, an empty
 * line, then exactly N bytes of password.  The password comes after the
 * empty line with its length given first, so no byte of it can be taken
 * for a field; the field values have no control characters, so no field
 * can end early or add one.  Only the names xmppgate sends
 * (authhelper_env(), less PATH) are taken: a helper sets them as its
 * environment, so a name such as LD_PRELOAD must never get there.
 *
 * Answer, helper to xmppgate: one verdict line, "accept", "reject" or
 * "tempfail", then the reply lines of the exec form, then end of file.
 *
 * xmppgate uses the encoder and the verdict parser; the sample helpers in
 * contrib/ use the decoder.
 */
#include <string.h>
#include "xmppgate.h"

#define VERSION_LINE	"XMPPGATE_AUTH_VERSION=1"
#define LENGTH_NAME	"AUTH_PASSWORD_LENGTH"
#define PATH_PREFIX	"PATH="

static int	name_ok(const char *, size_t);
static int	name_allowed(const char *, size_t);
static int	value_ok(const char *, size_t);

/*
 * The names of authhelper_env() but PATH, and nothing else: none of them
 * means anything to the dynamic linker, libc, a shell or an interpreter
 * (SSL_* as a prefix would let in OpenSSL's SSL_CERT_FILE).  A name added
 * there must be added here and in contrib/xmppgate_auth.py, or every
 * socket request fails (tests/check_authsocket.c sends the whole list).
 */
static const char *const allowed[] = {
	"XMPPGATE_AUTH_VERSION",
	"AUTH_MECHANISM", "AUTH_USER", "AUTH_DOMAIN", "AUTH_AUTHZID",
	"AUTH_SCRAM_HASH", "AUTH_CHANNEL_BINDING", "AUTH_ATTEMPT",
	"XMPPGATE_CONN_ID", "PROTO",
	"TCPREMOTEIP", "TCPREMOTEPORT", "TCPLOCALIP", "TCPLOCALPORT",
	"SSL_PROTOCOL", "SSL_CIPHER", "SSL_SESSION_RESUMED", "SSL_TLS_SNI",
	"AUTH_CERT_SHA256", "AUTH_CERT_SUBJECT", "AUTH_CERT_XMPPADDRS",
	"AUTH_CERT_DNSNAMES", "AUTH_CERT_SRVNAMES",
	"S2S_REMOTE_DOMAIN", "S2S_LOCAL_DOMAIN", "S2S_CERT_STATUS",
	"S2S_CERT_MATCH",
	"AUTH_CHANNEL_BINDING_DATA", "AUTH_FAST_CLIENT", "AUTH_FAST_HMAC",
	"AUTH_FAST_INVALIDATE", "AUTH_FAST_COUNT", "AUTH_FAST_MECHANISM",
};

/* An environment variable's name as the exec form uses them. */
static int
name_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > XG_AUTHREQ_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || s[i] == '_' ||
		    (i > 0 && s[i] >= '0' && s[i] <= '9')))
			return 0;
	return 1;
}

static int
name_allowed(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if (strlen(allowed[i]) == n && memcmp(allowed[i], s, n) == 0)
			return 1;
	return 0;
}

/* No control character (so no NUL, CR or LF), as in the environment. */
static int
value_ok(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
			return 0;
	return 1;
}

size_t
authreq_encode(char *const *envp, const char *pass, size_t plen, char *buf,
    size_t bufsz)
{
	char num[24];
	size_t used = 0, n, i, k, nl, head, fields = 0;
	const char *eq;

	if (plen > XG_AUTHREQ_PASS_MAX || (plen > 0 && pass == NULL))
		return 0;
	for (i = 0; envp[i] != NULL; i++) {
		if (strncmp(envp[i], PATH_PREFIX, strlen(PATH_PREFIX)) == 0)
			continue;
		n = strlen(envp[i]);
		if ((eq = memchr(envp[i], '=', n)) == NULL ||
		    !name_ok(envp[i], (size_t)(eq - envp[i])) ||
		    !name_allowed(envp[i], (size_t)(eq - envp[i])) ||
		    !value_ok(eq + 1, n - (size_t)(eq - envp[i]) - 1))
			return 0;
		/* The version line first (the decoder insists on it). */
		if ((used == 0) != (strcmp(envp[i], VERSION_LINE) == 0))
			return 0;
		if (++fields > XG_AUTHREQ_FIELDS_MAX || bufsz - used < n + 1)
			return 0;
		memcpy(buf + used, envp[i], n);
		buf[used + n] = '\n';
		used += n + 1;
	}
	/* The length, digit by digit: no snprintf into a secret's buffer. */
	k = sizeof(num);
	num[--k] = '\0';
	n = plen;
	do {
		num[--k] = (char)('0' + n % 10);
		n /= 10;
	} while (n > 0);
	nl = sizeof(num) - 1 - k;
	head = used + strlen(LENGTH_NAME) + 1 + nl + 2;
	if (used == 0 || head > XG_AUTHREQ_HEAD_MAX || head + plen > bufsz)
		return 0;
	memcpy(buf + used, LENGTH_NAME "=", strlen(LENGTH_NAME) + 1);
	used += strlen(LENGTH_NAME) + 1;
	memcpy(buf + used, num + k, nl);
	used += nl;
	memcpy(buf + used, "\n\n", 2);
	used += 2;
	if (plen > 0)
		memcpy(buf + used, pass, plen);
	return used + plen;
}

int
authreq_decode(char *buf, size_t len, struct authreq *r)
{
	size_t nlen[XG_AUTHREQ_FIELDS_MAX], llen[XG_AUTHREQ_FIELDS_MAX];
	size_t pos = 0, head, i, j, ll, nl, vl;
	unsigned long plen = 0;
	char *l, *end, *eq, *refused = NULL;
	size_t refused_len = 0;
	int last = 0;

	memset(r, 0, sizeof(*r));
	/* Where the fields end: the first empty line, within the bound. */
	for (head = 0; head + 1 < len && head + 2 <= XG_AUTHREQ_HEAD_MAX;
	    head++)
		if (buf[head] == '\n' && buf[head + 1] == '\n')
			break;
	if (head + 1 >= len || head + 2 > XG_AUTHREQ_HEAD_MAX ||
	    buf[head] != '\n' || buf[head + 1] != '\n') {
		if (len >= XG_AUTHREQ_HEAD_MAX || (len > 0 && buf[0] == '\n'))
			return -1;
		return 0;		/* need more */
	}
	head += 2;			/* the fields and the empty line */
	/* Check every line first; write nothing until it is all here. */
	while (pos < head - 1) {
		l = buf + pos;
		end = memchr(l, '\n', head - 1 - pos);
		ll = (size_t)(end - l);
		pos += ll + 1;
		if (last || (eq = memchr(l, '=', ll)) == NULL)
			return -1;
		nl = (size_t)(eq - l);
		vl = ll - nl - 1;
		if (!name_ok(l, nl) || !value_ok(eq + 1, vl))
			return -1;
		if (r->nfields == 0 && (ll != strlen(VERSION_LINE) ||
		    memcmp(l, VERSION_LINE, ll) != 0))
			return -1;
		if (nl == strlen(LENGTH_NAME) &&
		    memcmp(l, LENGTH_NAME, nl) == 0) {
			/* Decimal, no leading zero, at most PASS_MAX. */
			if (vl == 0 || vl > 4 || (eq[1] == '0' && vl > 1))
				return -1;
			for (j = 0; j < vl; j++) {
				if (eq[1 + j] < '0' || eq[1 + j] > '9')
					return -1;
				plen = plen * 10 + (unsigned long)(eq[1 + j] -
				    '0');
			}
			if (plen > XG_AUTHREQ_PASS_MAX)
				return -1;
			last = 1;
			continue;
		}
		if (r->nfields == XG_AUTHREQ_FIELDS_MAX)
			return -1;
		/* Well formed but not ours (PATH, LD_PRELOAD): refused
		 * once the request is whole, not a broken protocol. */
		if (refused == NULL && !name_allowed(l, nl)) {
			refused = l;
			refused_len = nl;
		}
		for (i = 0; i < r->nfields; i++)
			if (nlen[i] == nl && memcmp(r->name[i], l, nl) == 0)
				return -1;
		r->name[r->nfields] = l;
		r->value[r->nfields] = eq + 1;
		nlen[r->nfields] = nl;
		llen[r->nfields] = ll;
		r->nfields++;
	}
	if (!last)
		return -1;
	if (len > head + plen)
		return -1;		/* bytes after the password */
	if (len < head + plen) {
		memset(r, 0, sizeof(*r));
		return 0;		/* need more */
	}
	if (refused != NULL) {
		memset(r, 0, sizeof(*r));
		r->refused = refused;
		r->refused_len = refused_len;
		return -2;
	}
	/* Each line becomes two strings: '=' and '\n' become NULs. */
	for (i = 0; i < r->nfields; i++) {
		r->name[i][nlen[i]] = '\0';
		r->name[i][llen[i]] = '\0';
	}
	r->pass = buf + head;
	r->pass_len = plen;
	r->len = head + plen;
	return 1;
}

int
authreq_verdict(const char *buf, size_t len, enum auth_verdict *v,
    size_t *off)
{
	static const struct { const char *word; enum auth_verdict v; } w[] = {
		{ "accept\n", AUTH_ACCEPT },
		{ "reject\n", AUTH_REJECT },
		{ "tempfail\n", AUTH_TEMPFAIL },
	};
	size_t i, n;

	for (i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		n = strlen(w[i].word);
		if (len >= n && memcmp(buf, w[i].word, n) == 0) {
			*v = w[i].v;
			*off = n;
			return 0;
		}
	}
	return -1;
}
