/*
 * DNS for outbound federation, with libunbound (a validating resolver
 * library, as issue 24 asks: no hand-written resolver).  srv.c parses
 * and orders the SRV records; this file asks the questions, within a
 * deadline, and checks what comes back: everything in an answer is the
 * remote's (or an attacker's) choice.
 *
 * Queries run asynchronously (ub_resolve_async) in libunbound's own
 * thread (ub_ctx_async(ctx, 1)), not in a forked resolver process, which
 * would hold a copy of this process's memory, keys included, for as long
 * as the context lives.  We wait with poll() on ub_fd() until the
 * deadline, then cancel what is still outstanding.
 *
 * A given server ("ADDR" or "ADDR@PORT") is used as a forwarder
 * (ub_ctx_set_fwd), not as a stub for "." (ub_ctx_set_stub): against a
 * real nsd on loopback, authoritative for "test." only (tests/t-dns.sh),
 * the forwarder got every answer, the stub SERVFAIL for every question
 * (measured with libunbound 1.17.1 and NSD 4.6.1; the stub makes
 * libunbound iterate from ".", which that nsd does not serve); the
 * forwarder sends the question as it is.  nsd ignores the RD bit and
 * answers with its authoritative data.  libunbound refuses to query
 * loopback addresses by default (do-not-query-localhost), so that is
 * turned off when a server is given: a local resolver is the usual case.
 * So is libunbound's built-in NXDOMAIN for "test." (RFC 6761 6.2): a
 * server named explicitly may serve that zone (test set-ups do, with the
 * a.test and b.test of the tests); "invalid.", "localhost." and the rest
 * stay answered locally.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <unbound.h>
#include "xmppgate.h"

#define DNS_TYPE_A	1
#define DNS_TYPE_AAAA	28
#define DNS_TYPE_SRV	33
#define DNS_CLASS_IN	1
#define DNS_RCODE_NXDOMAIN	3
#define DNS_QNAME_MAX	(XG_DOMAIN_NAME_MAX + 20)	/* "_xmpps-server._tcp." */
#define DNS_SERVER_MAX	80	/* "ADDR@PORT" */

/* One outstanding question and, once answered, its result.  The two of a
 * lookup live in struct dns, not on the caller's stack: should ub_cancel
 * fail at the deadline, a late callback writes there, and the context
 * is then refused (broken) rather than trusted with a stale answer. */
struct dns_q {
	const char *what;	/* for messages: "_xmpps-server SRV" */
	int	id;
	int	pending;
	int	timedout;	/* cancelled at the deadline */
	int	err;		/* libunbound's error code, 0 = none */
	struct ub_result *res;
};

struct dns {
	struct ub_ctx *ctx;
	struct dns_q q[2];
	int	broken;		/* a cancel failed: callbacks may still come */
};

static void dns_why(char *why, size_t whysz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int server_ok(const char *server);
static void dns_cb(void *arg, int err, struct ub_result *res);
static int dns_start(struct dns *, const char *name, int type,
    struct dns_q *q, char *why, size_t whysz);
static enum dns_result dns_wait(struct dns *, struct dns_q *q, size_t nq,
    int64_t deadline_ms, char *why, size_t whysz);
static enum dns_result q_result(const struct dns_q *q, int rtype,
    char *why, size_t whysz);
static int host_fold(const char *name, char *buf, char *why, size_t whysz);
static uint32_t dns_rnd(void *arg);
static int addr_of(int type, const char *data, int len, uint16_t port,
    struct sockaddr_storage *ss, socklen_t *sl);
static enum dns_result srv_answer(const struct dns_q *q, int direct_tls,
    struct srv_target *t, size_t *n, size_t *dropped, int *dot, char *why,
    size_t whysz);

static void
dns_why(char *why, size_t whysz, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whysz == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whysz, fmt, ap);
	va_end(ap);
}

const char *
dns_result_str(enum dns_result r)
{
	switch (r) {
	case DNS_OK: return "OK";
	case DNS_NONE: return "NONE";
	case DNS_TIMEOUT: return "TIMEOUT";
	case DNS_FAIL: return "FAIL";
	}
	return "?";
}

/* "ADDR" or "ADDR@PORT", ADDR an IPv4 or IPv6 literal, PORT 1-65535. */
static int
server_ok(const char *server)
{
	char addr[DNS_SERVER_MAX + 1];
	unsigned char buf[sizeof(struct in6_addr)];
	const char *at;
	size_t n = strnlen(server, DNS_SERVER_MAX + 1);
	char *end;
	long port;

	if (n == 0 || n > DNS_SERVER_MAX)
		return 0;
	memcpy(addr, server, n + 1);
	at = strchr(server, '@');
	if (at != NULL) {
		addr[at - server] = '\0';
		if (at[1] < '0' || at[1] > '9')
			return 0;
		errno = 0;
		port = strtol(at + 1, &end, 10);
		if (errno != 0 || *end != '\0' || port < 1 || port > 65535)
			return 0;
	}
	return inet_pton(AF_INET, addr, buf) == 1 ||
	    inet_pton(AF_INET6, addr, buf) == 1;
}

struct dns *
dns_new(const char *server, const char *anchor, char *why, size_t whysz)
{
	struct dns *d;
	int err, fd = -1;

	if (server != NULL && !server_ok(server)) {
		dns_why(why, whysz, "bad DNS server \"%.*s\" (ADDR or"
		    " ADDR@PORT, an IP address)", DNS_SERVER_MAX, server);
		return NULL;
	}
	/* libunbound reads the file only when it first resolves (or when a
	 * zone is added), and then says only "initialization failure". */
	if (anchor != NULL && (fd = open(anchor, O_RDONLY | O_CLOEXEC)) < 0) {
		dns_why(why, whysz, "cannot read the trust anchor file %.200s:"
		    " %s", anchor, strerror(errno));
		return NULL;
	}
	if (fd >= 0)
		close(fd);
	d = calloc(1, sizeof(*d));
	if (d == NULL) {
		dns_why(why, whysz, "out of memory");
		return NULL;
	}
	d->ctx = ub_ctx_create();
	if (d->ctx == NULL) {
		dns_why(why, whysz, "libunbound: cannot create a context");
		free(d);
		return NULL;
	}
	if ((err = ub_ctx_async(d->ctx, 1)) != 0)
		goto bad;
	if (server == NULL) {
		if ((err = ub_ctx_resolvconf(d->ctx, NULL)) != 0 ||
		    (err = ub_ctx_hosts(d->ctx, NULL)) != 0)
			goto bad;
	} else {
		if ((err = ub_ctx_set_option(d->ctx, "do-not-query-localhost:",
		    "no")) != 0 ||
		    (err = ub_ctx_set_fwd(d->ctx, server)) != 0)
			goto bad;
	}
	if (anchor != NULL && (err = ub_ctx_add_ta_file(d->ctx, anchor)) != 0)
		goto bad;
	/* Last: adding a zone finalizes the context's settings. */
	if (server != NULL &&
	    (err = ub_ctx_zone_add(d->ctx, "test.", "nodefault")) != 0)
		goto bad;
	return d;
bad:
	dns_why(why, whysz, "libunbound: %s%s%.200s%s", ub_strerror(err),
	    err == UB_READFILE ? " (" : "", err == UB_READFILE ?
	    (anchor != NULL ? anchor : "resolv.conf or hosts") : "",
	    err == UB_READFILE ? ")" : "");
	dns_free(d);
	return NULL;
}

void
dns_free(struct dns *d)
{
	if (d == NULL)
		return;
	ub_ctx_delete(d->ctx);
	free(d);
}

static void
dns_cb(void *arg, int err, struct ub_result *res)
{
	struct dns_q *q = arg;

	if (!q->pending) {	/* late, after a failed cancel */
		if (res != NULL)
			ub_resolve_free(res);
		return;
	}
	q->pending = 0;
	q->err = err;
	q->res = res;
}

static int
dns_start(struct dns *d, const char *name, int type, struct dns_q *q,
    char *why, size_t whysz)
{
	int err;

	q->pending = 1;
	q->timedout = 0;
	q->err = 0;
	q->res = NULL;
	err = ub_resolve_async(d->ctx, name, type, DNS_CLASS_IN, q, dns_cb,
	    &q->id);
	if (err != 0) {
		q->pending = 0;
		q->err = err;
		dns_why(why, whysz, "libunbound: %s", ub_strerror(err));
		return -1;
	}
	return 0;
}

/*
 * The two questions of a lookup, asked at once into d->q: name[k] of
 * type[k], what[k] for messages.  0, or -1 with why (none left pending).
 */
static int
dns_start_pair(struct dns *d, const char *const name[2], const int type[2],
    const char *const what[2], char *why, size_t whysz)
{
	int k;

	if (d->broken) {
		dns_why(why, whysz, "internal: resolver broken by a failed"
		    " cancel");
		return -1;
	}
	memset(d->q, 0, sizeof(d->q));
	for (k = 0; k < 2; k++) {
		d->q[k].what = what[k];
		if (dns_start(d, name[k], type[k], &d->q[k], why, whysz) < 0) {
			if (k == 1)
				dns_wait(d, d->q, 1, 0, NULL, 0);
			return -1;
		}
	}
	return 0;
}

/*
 * Wait until every started question is answered or the deadline passes;
 * those still pending then are cancelled (their callbacks never run).
 * DNS_TIMEOUT if any was cancelled, DNS_FAIL if libunbound failed.
 */
static enum dns_result
dns_wait(struct dns *d, struct dns_q *q, size_t nq, int64_t deadline_ms,
    char *why, size_t whysz)
{
	struct pollfd pfd;
	int64_t left;
	size_t i, busy;
	int err, rc, failed = 0;

	for (;;) {
		busy = 0;
		for (i = 0; i < nq; i++)
			busy += q[i].pending;
		if (busy == 0)
			return DNS_OK;
		left = deadline_ms - now_ms();
		if (left <= 0)
			break;
		pfd.fd = ub_fd(d->ctx);
		pfd.events = POLLIN;
		pfd.revents = 0;
		rc = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (rc < 0 && errno != EINTR) {
			dns_why(why, whysz, "poll: %s", strerror(errno));
			failed = 1;
			break;
		}
		if (rc > 0 && (err = ub_process(d->ctx)) != 0) {
			dns_why(why, whysz, "libunbound: %s", ub_strerror(err));
			failed = 1;
			break;
		}
	}
	for (i = 0; i < nq; i++)
		if (q[i].pending) {
			if (ub_cancel(d->ctx, q[i].id) != 0)
				d->broken = 1;
			q[i].pending = 0;
			q[i].res = NULL;
			if (failed)
				q[i].err = UB_PIPE;
			else
				q[i].timedout = 1;
		}
	return failed ? DNS_FAIL : DNS_TIMEOUT;
}

/*
 * What one answered question says: DNS_OK (records of rtype to read),
 * DNS_NONE, DNS_TIMEOUT or DNS_FAIL, with why for the last three.
 */
static enum dns_result
q_result(const struct dns_q *q, int rtype, char *why, size_t whysz)
{
	const struct ub_result *r = q->res;

	if (q->timedout) {
		dns_why(why, whysz, "%s: no answer in time", q->what);
		return DNS_TIMEOUT;
	}
	if (q->err != 0 || r == NULL) {
		dns_why(why, whysz, "%s: libunbound: %s", q->what,
		    q->err != 0 ? ub_strerror(q->err) : "no result");
		return DNS_FAIL;
	}
	if (r->bogus) {
		dns_why(why, whysz, "%s: DNSSEC bogus: %s", q->what,
		    r->why_bogus != NULL ? r->why_bogus : "no reason given");
		return DNS_FAIL;
	}
	if (r->nxdomain || r->rcode == DNS_RCODE_NXDOMAIN) {
		dns_why(why, whysz, "%s: no such domain", q->what);
		return DNS_NONE;
	}
	if (r->rcode != 0) {
		dns_why(why, whysz, "%s: server answered rcode %d%s", q->what,
		    r->rcode, r->rcode == 2 ? " (SERVFAIL)" : "");
		return DNS_FAIL;
	}
	if (!r->havedata || r->data == NULL || r->data[0] == NULL ||
	    r->len == NULL) {
		dns_why(why, whysz, "%s: no records", q->what);
		return DNS_NONE;
	}
	if (r->qtype != rtype) {
		dns_why(why, whysz, "%s: answer of type %d", q->what, r->qtype);
		return DNS_FAIL;
	}
	return DNS_OK;
}

/*
 * The records of one SRV answer into t[0..XG_SRV_TARGETS_MAX): bad
 * records and those past the limit are skipped and counted (*dropped,
 * why says the last bad one), "." sets *dot.  DNS_OK if any is left,
 * DNS_NONE if none was (or only "."), DNS_FAIL if all were bad.
 */
static enum dns_result
srv_answer(const struct dns_q *q, int direct_tls, struct srv_target *t,
    size_t *n, size_t *dropped, int *dot, char *why, size_t whysz)
{
	struct srv_target one;
	char err[128];
	size_t i, bad = 0;
	int rc;

	*n = 0;
	for (i = 0; q->res->data[i] != NULL; i++) {
		if (i >= 4096)	/* a 64 KiB answer holds fewer */
			break;
		if (q->res->len[i] < 0) {
			bad++;
			continue;
		}
		/* Into one of our own: t[] has no room past the limit. */
		rc = srv_parse((const uint8_t *)q->res->data[i],
		    (size_t)q->res->len[i], direct_tls, &one, err,
		    sizeof(err));
		if (rc == 1) {
			*dot = 1;
		} else if (rc < 0) {
			bad++;
			dns_why(why, whysz, "%s: skipped a bad record: %s",
			    q->what, err);
		} else if (*n < XG_SRV_TARGETS_MAX) {
			t[(*n)++] = one;
		} else {
			(*dropped)++;
		}
	}
	*dropped += bad;
	if (*n > 0)
		return DNS_OK;
	if (bad > 0)
		return DNS_FAIL;
	dns_why(why, whysz, "%s: service not available (\".\")", q->what);
	return DNS_NONE;
}

/* name lower-cased into buf (XG_DOMAIN_NAME_MAX + 1 bytes) if it is a
 * host name (srv_hostname_ok): 0, else -1 with why. */
static int
host_fold(const char *name, char *buf, char *why, size_t whysz)
{
	size_t i, n = strnlen(name, XG_DOMAIN_NAME_MAX + 1);

	if (n > XG_DOMAIN_NAME_MAX) {
		dns_why(why, whysz, "not a DNS host name: longer than %d",
		    XG_DOMAIN_NAME_MAX);
		return -1;
	}
	for (i = 0; i <= n; i++)
		buf[i] = name[i] >= 'A' && name[i] <= 'Z' ?
		    (char)(name[i] + ('a' - 'A')) : name[i];
	if (!srv_hostname_ok(buf)) {
		dns_why(why, whysz, "not a DNS host name: \"%.64s\"", name);
		return -1;
	}
	return 0;
}

static uint32_t
dns_rnd(void *arg)
{
	(void)arg;
	return arc4random();
}

/*
 * RFC 6120 3.2.1 and XEP-0368 2: both services are asked at once.  Each
 * answer's records are ordered on their own (srv_order), then merged by
 * priority (XEP-0368 puts the two services' records in one list by
 * priority), Direct TLS first at an equal priority (the choice of issue
 * 24: it saves a round trip).  The first XG_SRV_TARGETS_MAX records of
 * each answer are kept.  "." alone for a service drops it; if neither service has
 * a record, a "." makes it "not available" (DNS_NONE), and two "no such
 * name or no records" answers give the fallback, domain:5269 with
 * STARTTLS.  One service failing or timing out while the other has
 * records: those records (the warning in why).  A "." or no records on
 * one side and a failure on the other is that failure (asking again may
 * find the records).
 */
enum dns_result
dns_s2s_targets(struct dns *d, const char *domain, int64_t deadline_ms,
    struct srv_target *out, size_t max, size_t *n, int *secure, char *why,
    size_t whysz)
{
	static const char *const svc[2] = { "_xmpps-server", "_xmpp-server" };
	static const char *const whats[2] = { "_xmpps-server SRV",
	    "_xmpp-server SRV" };
	static const int types[2] = { DNS_TYPE_SRV, DNS_TYPE_SRV };
	struct srv_target t[2][XG_SRV_TARGETS_MAX];
	size_t nt[2] = { 0, 0 }, dropped = 0, i, a, b;
	char name[2][DNS_QNAME_MAX + 1], w[2][256] = { "", "" }, warn[256] = "";
	const char *const names[2] = { name[0], name[1] };
	char dom[XG_DOMAIN_NAME_MAX + 1];
	struct dns_q *q;
	enum dns_result r[2], wr;
	int dot = 0, k, sec = 1;

	*n = 0;
	*secure = 0;
	dns_why(why, whysz, "%s", "");
	if (d == NULL || domain == NULL || out == NULL || max == 0) {
		dns_why(why, whysz, "internal: no resolver or no room");
		return DNS_FAIL;
	}
	if (host_fold(domain, dom, why, whysz) < 0)
		return DNS_FAIL;
	for (k = 0; k < 2; k++)
		snprintf(name[k], sizeof(name[k]), "%s._tcp.%s", svc[k], dom);
	if (dns_start_pair(d, names, types, whats, why, whysz) < 0)
		return DNS_FAIL;
	q = d->q;
	wr = dns_wait(d, q, 2, deadline_ms, w[0], sizeof(w[0]));
	for (k = 0; k < 2; k++) {
		r[k] = q_result(&q[k], DNS_TYPE_SRV, w[k], sizeof(w[k]));
		if (r[k] == DNS_OK)
			r[k] = srv_answer(&q[k], k == 0, t[k], &nt[k], &dropped,
			    &dot, w[k], sizeof(w[k]));
		if (r[k] == DNS_OK && w[k][0] != '\0')
			snprintf(warn, sizeof(warn), "%.255s", w[k]);
	}
	if (r[0] == DNS_OK || r[1] == DNS_OK) {
		for (k = 0; k < 2; k++) {
			if (r[k] == DNS_OK) {
				sec &= q[k].res->secure != 0;
				srv_order(t[k], nt[k], dns_rnd, NULL);
			} else if (r[k] == DNS_NONE) {
				sec &= q[k].res != NULL && q[k].res->secure;
			} else {
				sec = 0;	/* not an answer we used */
				snprintf(warn, sizeof(warn), "%.255s", w[k]);
			}
		}
		for (a = b = 0; *n < max && (a < nt[0] || b < nt[1]); (*n)++)
			if (b >= nt[1] || (a < nt[0] &&
			    t[0][a].priority <= t[1][b].priority))
				out[*n] = t[0][a++];
			else
				out[*n] = t[1][b++];
		dropped += nt[0] - a + nt[1] - b;
		if (dropped > 0 && warn[0] == '\0')
			snprintf(warn, sizeof(warn), "%zu SRV records over"
			    " the limit of %d skipped", dropped,
			    XG_SRV_TARGETS_MAX);
		dns_why(why, whysz, "%s", warn);
		*secure = sec;
		goto done;
	}
	for (k = 0; k < 2; k++)
		if (r[k] == DNS_TIMEOUT || r[k] == DNS_FAIL) {
			/* Both failed: say both. */
			i = (size_t)!k;
			if (r[i] == DNS_TIMEOUT || r[i] == DNS_FAIL)
				dns_why(why, whysz, "%.200s; %.200s", w[0], w[1]);
			else
				dns_why(why, whysz, "%s", w[k]);
			wr = r[0] == DNS_FAIL || r[1] == DNS_FAIL ?
			    DNS_FAIL : DNS_TIMEOUT;
			goto fail;
		}
	/* Both DNS_NONE. */
	if (dot) {
		dns_why(why, whysz, "service not available (SRV target \".\")");
		wr = DNS_NONE;
		goto fail;
	}
	memset(&out[0], 0, sizeof(out[0]));
	memcpy(out[0].host, dom, sizeof(dom));
	out[0].port = XG_SRV_FALLBACK_PORT;
	out[0].direct_tls = 0;
	*n = 1;
	*secure = q[0].res != NULL && q[0].res->secure &&
	    q[1].res != NULL && q[1].res->secure;
done:
	for (k = 0; k < 2; k++)
		if (q[k].res != NULL)
			ub_resolve_free(q[k].res);
	return DNS_OK;
fail:
	for (k = 0; k < 2; k++)
		if (q[k].res != NULL)
			ub_resolve_free(q[k].res);
	return wr;
}

/* One address record into a sockaddr: 0, or -1 if its length is wrong. */
static int
addr_of(int type, const char *data, int len, uint16_t port,
    struct sockaddr_storage *ss, socklen_t *sl)
{
	memset(ss, 0, sizeof(*ss));
	if (type == DNS_TYPE_AAAA) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		if (len != 16)
			return -1;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, data, 16);
		*sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
		if (len != 4)
			return -1;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, data, 4);
		*sl = sizeof(*s4);
	}
	return 0;
}

/*
 * AAAA and A at once; the IPv6 addresses first (RFC 6724's default
 * preference; RFC 8305 would race them, which is the caller's choice).
 * At most XG_DNS_ADDRS_MAX of each family, and max in all; a record of
 * the wrong length makes that answer DNS_FAIL (a server that sends one
 * is broken or hostile).
 */
enum dns_result
dns_addrs(struct dns *d, const char *host, uint16_t port,
    int64_t deadline_ms, struct sockaddr_storage *out, socklen_t *outlen,
    size_t max, size_t *n, int *secure, char *why, size_t whysz)
{
	static const int type[2] = { DNS_TYPE_AAAA, DNS_TYPE_A };
	static const char *const whats[2] = { "AAAA", "A" };
	struct sockaddr_storage ss;
	socklen_t sl;
	char w[2][256] = { "", "" }, hbuf[XG_DOMAIN_NAME_MAX + 1];
	const char *const names[2] = { hbuf, hbuf };
	struct dns_q *q;
	enum dns_result r[2], wr;
	size_t i, got;
	int k, sec = 1;

	*n = 0;
	*secure = 0;
	dns_why(why, whysz, "%s", "");
	if (d == NULL || host == NULL || out == NULL || outlen == NULL ||
	    max == 0) {
		dns_why(why, whysz, "internal: no resolver or no room");
		return DNS_FAIL;
	}
	if (host_fold(host, hbuf, why, whysz) < 0)
		return DNS_FAIL;
	if (dns_start_pair(d, names, type, whats, why, whysz) < 0)
		return DNS_FAIL;
	q = d->q;
	wr = dns_wait(d, q, 2, deadline_ms, w[0], sizeof(w[0]));
	for (k = 0; k < 2; k++) {
		r[k] = q_result(&q[k], type[k], w[k], sizeof(w[k]));
		if (r[k] != DNS_OK)
			continue;
		for (i = got = 0; q[k].res->data[i] != NULL && i < 4096; i++) {
			if (addr_of(type[k], q[k].res->data[i],
			    q[k].res->len[i], port, &ss, &sl) < 0) {
				dns_why(w[k], sizeof(w[k]), "%s: a record of"
				    " %d bytes", q[k].what, q[k].res->len[i]);
				r[k] = DNS_FAIL;
				*n -= got;
				break;
			}
			if (got < XG_DNS_ADDRS_MAX && *n < max) {
				out[*n] = ss;
				outlen[*n] = sl;
				got++;
				(*n)++;
			}
		}
	}
	if (*n > 0) {
		for (k = 0; k < 2; k++)
			if (r[k] == DNS_OK || r[k] == DNS_NONE)
				sec &= q[k].res != NULL && q[k].res->secure;
			else
				dns_why(why, whysz, "%s", w[k]);
		*secure = sec;
		wr = DNS_OK;
	} else if (r[0] == DNS_NONE && r[1] == DNS_NONE) {
		dns_why(why, whysz, "no address (%.200s; %.200s)", w[0],
		    w[1]);
		wr = DNS_NONE;
	} else {
		k = r[0] == DNS_NONE ? 1 : 0;
		if (r[!k] == DNS_NONE)
			dns_why(why, whysz, "%s", w[k]);
		else
			dns_why(why, whysz, "%.200s; %.200s", w[0], w[1]);
		wr = r[0] == DNS_FAIL || r[1] == DNS_FAIL ? DNS_FAIL :
		    DNS_TIMEOUT;
	}
	for (k = 0; k < 2; k++)
		if (q[k].res != NULL)
			ub_resolve_free(q[k].res);
	return wr;
}
