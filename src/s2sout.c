/*
 * Outbound federation (--s2s-out): the backend's own server-to-server
 * stream, opened in plaintext on loopback, leaves through us.  In order:
 * the backend's header names both domains (stream.c's parser, the same
 * limits); the policy helper is asked; DNS gives the remote's places
 * (dns.c: _xmpps-server, _xmpp-server, DOMAIN:5269); each is tried in
 * order within --backend-timeout: Direct TLS or STARTTLS as the initiating
 * server, our certificate for the 'from' domain offered, the remote's
 * checked for its domain (s2sid.c), then SASL EXTERNAL when the remote
 * offers it.  The backend learns what happened from a PROXY v2 header in
 * front of our answer (TLV 0xE0: the remote authenticated us and we it;
 * without it the backend runs dialback through us; LOCAL: no remote, a
 * stream error follows), and the relay (relay.c) carries the rest.
 *
 * The remote's bytes go through a reader of their own (s2sremote.c,
 * pure): its header's id, its features, <proceed/>, <success/> and
 * <failure/>, a stream error's condition.
 */
#include "config.h"

#include <errno.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <gnutls/gnutls.h>
#include "session.h"

#define S2SOUT_TARGET_ADDRS	8	/* addresses tried per target */
#define S2SOUT_TRY_MS		10000	/* one address: connect, TLS, stream */

struct remote {
	struct conn rc;			/* fds and TLS of the remote */
	struct rstream st;
	uint8_t	buf[XG_READ_BUF];	/* read, not yet parsed */
	size_t	len;
	int	direct;			/* Direct TLS (XEP-0368) */
	char	addr[96];		/* HOST:PORT as the log shows it */
};

/* The remote's next complete top-level element (RS_*), reading as
 * needed; -1 with why. */
static int
rnext(struct remote *r, int64_t deadline, char *why, size_t whysz)
{
	size_t used;
	ssize_t n;
	int k;

	for (;;) {
		k = rstream_feed(&r->st, r->buf, r->len, &used, why, whysz);
		memmove(r->buf, r->buf + used, r->len - used);
		r->len -= used;
		if (k != 0)
			return k;
		if (r->len == sizeof(r->buf)) {
			snprintf(why, whysz, "the remote sent a token too "
			    "long");
			return -1;
		}
		n = conn_read(&r->rc, r->buf + r->len, sizeof(r->buf) - r->len,
		    deadline);
		if (n <= 0) {
			snprintf(why, whysz, "the remote %s", n == 0 ?
			    "closed the connection" : errno == ETIMEDOUT ?
			    "timed out" : strerror(errno));
			return -1;
		}
		r->len += (size_t)n;
	}
}

/* Our header to the remote, and a fresh reader for its answer. */
static int
rheader(struct remote *r, const struct conn *c, int64_t deadline,
    char *why, size_t whysz)
{
	memset(&r->st, 0, sizeof(r->st));
	if (conn_printf(&r->rc, deadline, "<?xml version='1.0'?>"
	    "<stream:stream xmlns='" NS_SERVER "' xmlns:stream='" NS_STREAMS
	    "' xmlns:db='" NS_DIALBACK "' from='%s' to='%s' version='1.0'>",
	    c->domain, c->remote_domain) == -1) {
		snprintf(why, whysz, "write to the remote: %s",
		    strerror(errno));
		return -1;
	}
	switch (rnext(r, deadline, why, whysz)) {
	case RS_FEATURES:
		return 0;
	case -1:
		return -1;	/* why says what came instead */
	default:
		snprintf(why, whysz, "the remote sent no features");
		return -1;
	}
}

/* "ADDR:PORT" of a socket address, numeric. */
static void
addr_text(const struct sockaddr *sa, socklen_t len, char *ip, size_t ipsz,
    char *port, size_t portsz)
{
	if (getnameinfo(sa, len, ip, ipsz, port, portsz, NI_NUMERICHOST |
	    NI_NUMERICSERV) != 0) {
		snprintf(ip, ipsz, "-");
		snprintf(port, portsz, "-");
	}
}

/*
 * One address of one target: connect, TLS (Direct, or STARTTLS with no
 * plaintext kept across it).  0, or -1 with why (r->rc closed).  Nothing
 * goes over the TLS until the remote's certificate is checked.
 */
static int
try_addr(struct session *s, struct remote *r, const struct srv_target *t,
    const struct sockaddr_storage *ss, socklen_t sl, int64_t deadline,
    char *why, size_t whysz)
{
	struct conn *c = s->c;
	struct netaddr na;
	char err[XG_REASON_MAX];
	int fd, k;

	memset(&r->rc, 0, sizeof(r->rc));
	r->len = 0;
	r->direct = t->direct_tls;
	memset(&na, 0, sizeof(na));
	addr_text((const struct sockaddr *)ss, sl, na.host, sizeof(na.host),
	    na.port, sizeof(na.port));
	snprintf(r->addr, sizeof(r->addr), strchr(na.host, ':') ? "[%s]:%s" :
	    "%s:%s", na.host, na.port);
	xg_debug("remote %s: trying %s (%s, %s)", c->remote_domain, r->addr,
	    t->host, t->direct_tls ? "Direct TLS" : "STARTTLS");
	if ((fd = netaddr_connect(&na, deadline, err, sizeof(err))) == -1) {
		snprintf(why, whysz, "%.95s: %.150s", r->addr, err);
		return -1;
	}
	r->rc.rfd = r->rc.wfd = fd;
	r->rc.cert_status = "none";
	if (!t->direct_tls) {
		if (rheader(r, c, deadline, err, sizeof(err)) == -1)
			goto fail;
		if (!r->st.starttls) {
			snprintf(err, sizeof(err), "the remote offers no "
			    "STARTTLS");
			goto fail;
		}
		if (conn_printf(&r->rc, deadline, "<starttls xmlns='" NS_TLS
		    "'/>") == -1) {
			snprintf(err, sizeof(err), "write: %s",
			    strerror(errno));
			goto fail;
		}
		if ((k = rnext(r, deadline, err, sizeof(err))) == -1)
			goto fail;
		if (k != RS_PROCEED) {
			snprintf(err, sizeof(err), "the remote refused "
			    "STARTTLS");
			goto fail;
		}
		/* Nothing said in plaintext may be read as if it came
		 * over TLS. */
		if (r->len > 0) {
			snprintf(err, sizeof(err), "the remote sent data "
			    "after <proceed/>");
			goto fail;
		}
	}
	if (tls_s2s_client_start(&r->rc, s->tls, c->remote_domain,
	    t->direct_tls, deadline, err, sizeof(err)) == -1)
		goto fail;
	return 0;
fail:
	snprintf(why, whysz, "%.95s: %.150s", r->addr, err);
	backend_close(&r->rc);
	return -1;
}

/*
 * Where a remote's DNS may not send us: 1 for loopback (unless
 * --s2s-out-loopback), 2 for what is never a server (unspecified,
 * multicast, broadcast, link-local: 169.254.169.254 is a cloud's
 * metadata service), else 0.  IPv4-mapped IPv6 counts as its IPv4.
 */
static int
addr_forbidden(const struct sockaddr_storage *ss)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };
	static const uint8_t zero[16];
	const uint8_t *a;

	if (ss->ss_family == AF_INET6) {
		a = ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;
		if (memcmp(a, mapped, 12) == 0)
			a += 12;	/* the IPv4 rules below */
		else if (memcmp(a, zero, 15) == 0)
			return a[15] == 1 ? 1 : 2;	/* ::1, :: */
		else
			return a[0] == 0xff || (a[0] == 0xfe &&
			    (a[1] & 0xc0) == 0x80) ? 2 : 0;
	} else if (ss->ss_family == AF_INET)
		a = (const uint8_t *)&((const struct sockaddr_in *)ss)->
		    sin_addr.s_addr;
	else
		return 2;
	if (a[0] == 127)
		return 1;
	return a[0] == 0 || a[0] >= 224 || (a[0] == 169 && a[1] == 254) ?
	    2 : 0;
}

/*
 * 1 when ss is one of this host's own addresses (any interface): a
 * connection there stays on this host, as one to loopback does.  On a
 * getifaddrs() failure, 1: refused rather than guessed.
 */
static int
addr_own(const struct sockaddr_storage *ss)
{
	struct ifaddrs *ifa, *i;
	int own = 0;

	if (getifaddrs(&ifa) == -1)
		return 1;
	for (i = ifa; i != NULL && !own; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family !=
		    ss->ss_family)
			continue;
		if (ss->ss_family == AF_INET)
			own = memcmp(&((const struct sockaddr_in *)(const void *)
			    i->ifa_addr)->sin_addr, &((const struct sockaddr_in *)
			    ss)->sin_addr, sizeof(struct in_addr)) == 0;
		else
			own = memcmp(&((const struct sockaddr_in6 *)(const void *)
			    i->ifa_addr)->sin6_addr, &((const struct sockaddr_in6 *)
			    ss)->sin6_addr, sizeof(struct in6_addr)) == 0;
	}
	freeifaddrs(ifa);
	return own;
}

/*
 * The remote's places from DNS, each address tried in order until one
 * gives a TLS stream.  0; 1 when DNS says there is no such server; 2
 * when its only addresses are ones we never connect to; -1 for a
 * temporary failure (why: the last reason).
 */
static int
reach(struct session *s, struct remote *r, int64_t deadline, char *why,
    size_t whysz)
{
	static struct srv_target t[XG_SRV_TARGETS_MAX];
	struct sockaddr_storage ss[S2SOUT_TARGET_ADDRS];
	socklen_t sl[S2SOUT_TARGET_ADDRS];
	struct conn *c = s->c;
	struct dns *d;
	enum dns_result dr;
	int64_t try;
	size_t n = 0, na, i, j;
	int secure = 0, tried = 0, lookups_failed = 0, refused = 0, k;

	if ((d = dns_new(s->o->dns_server, NULL, why, whysz)) == NULL)
		return -1;
	dr = dns_s2s_targets(d, c->remote_domain, deadline, t,
	    XG_SRV_TARGETS_MAX, &n, &secure, why, whysz);
	if (dr == DNS_NONE || (dr == DNS_OK && n == 0)) {
		dns_free(d);
		return 1;
	}
	if (dr != DNS_OK) {
		dns_free(d);
		return -1;
	}
	snprintf(why, whysz, "no address");
	for (i = 0; i < n; i++) {
		dr = dns_addrs(d, t[i].host, t[i].port, deadline, ss, sl,
		    S2SOUT_TARGET_ADDRS, &na, &secure, why, whysz);
		if (dr != DNS_OK) {
			xg_log(LOG_NOTICE, "remote %s: %s: %s",
			    c->remote_domain, t[i].host, why);
			lookups_failed += dr != DNS_NONE;
			continue;
		}
		for (j = 0; j < na; j++) {
			k = addr_forbidden(&ss[j]);
			if (k == 0 && addr_own(&ss[j]))
				k = 1;	/* this host: as loopback */
			if (k == 2 || (k == 1 && !s->o->s2s_out_loopback)) {
				snprintf(why, whysz, "%.100s: %s", t[i].host,
				    k == 1 ? "an address of this host (loopback "
				    "or another) (see --s2s-out-loopback)" :
				    "an address that is no server's");
				xg_log(LOG_WARNING, "remote %s: %s",
				    c->remote_domain, why);
				refused = 1;
				continue;
			}
			if (now_ms() >= deadline) {
				dns_free(d);
				snprintf(why, whysz, "no place answered in "
				    "time (--backend-timeout)");
				return -1;
			}
			tried = 1;
			try = now_ms() + S2SOUT_TRY_MS;
			if (try_addr(s, r, &t[i], &ss[j], sl[j], try < deadline
			    ? try : deadline, why, whysz) == 0) {
				dns_free(d);
				return 0;
			}
			xg_log(LOG_NOTICE, "remote %s: %s", c->remote_domain,
			    why);
		}
	}
	dns_free(d);
	/* Every place named has no address at all: no such server. */
	if (!tried && lookups_failed == 0 && !refused) {
		snprintf(why, whysz, "no address for %.200s", n == 1 ? t[0].host :
		    "any of its targets");
		return 1;
	}
	return !tried && refused ? 2 : -1;
}

/*
 * What goes to the backend before anything else: a PROXY v2 header.
 * PROXY with the remote's address, TLV 0x02 the remote domain and, when
 * we authenticated both ways (authed), TLV 0xE0 the remote domain; or
 * LOCAL (r NULL): there is no remote, a stream error follows.
 */
static int
backend_proxy(struct session *s, const struct remote *r, int authed)
{
	static const uint8_t local_hdr[16] = { '\r', '\n', '\r', '\n', 0,
	    '\r', '\n', 'Q', 'U', 'I', 'T', '\n', 0x20, 0x00, 0, 0 };
	struct sockaddr_storage ss;
	socklen_t sl;
	uint8_t ph[XG_PROXY_OUT_MAX];
	char sip[64], sport[8], dip[64], dport[8];
	const char *dom = s->c->remote_domain;
	size_t phlen;

	if (r == NULL)
		return conn_write(s->c, local_hdr, sizeof(local_hdr),
		    now_ms() + 5000);
	sl = sizeof(ss);
	if (getpeername(r->rc.rfd, (struct sockaddr *)&ss, &sl) == -1)
		return -1;
	addr_text((struct sockaddr *)&ss, sl, sip, sizeof(sip), sport,
	    sizeof(sport));
	sl = sizeof(ss);
	if (getsockname(r->rc.rfd, (struct sockaddr *)&ss, &sl) == -1)
		return -1;
	addr_text((struct sockaddr *)&ss, sl, dip, sizeof(dip), dport,
	    sizeof(dport));
	phlen = proxy_build(2, sip, sport, dip, dport, ph, sizeof(ph));
	phlen = proxy_add_tlv(ph, phlen, sizeof(ph), PP2_TYPE_AUTHORITY, dom,
	    strlen(dom));
	if (authed)
		phlen = proxy_add_tlv(ph, phlen, sizeof(ph),
		    PP2_TYPE_XMPPGATE_S2S, dom, strlen(dom));
	if (phlen == 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return conn_write(s->c, ph, phlen, s->deadline);
}

/* Our header to the backend, as the remote's: its domain, its id (a
 * domain not known yet is left out). */
static int
backend_header_out(struct session *s, const char *id)
{
	const struct conn *c = s->c;
	char esc[2 * XG_ATTR_VALUE_MAX + 1];

	xml_escape(esc, sizeof(esc), id, strlen(id));
	s->header_sent = 1;
	return conn_printf(s->c, s->deadline, "<?xml version='1.0'?>"
	    "<stream:stream xmlns='" NS_SERVER "' xmlns:stream='" NS_STREAMS
	    "' xmlns:db='" NS_DIALBACK "'%s%s%s%s%s%s id='%s' version='1.0'>",
	    c->remote_domain[0] ? " from='" : "", c->remote_domain,
	    c->remote_domain[0] ? "'" : "", c->domain[0] ? " to='" : "",
	    c->domain, c->domain[0] ? "'" : "", esc);
}

int
s2sout_greet_local(struct session *s)
{
	s->header_sent = 1;
	if (backend_proxy(s, NULL, 0) == -1)
		return -1;
	return backend_header_out(s, "xmppgate-no-remote");
}

/* The session ends before any remote carries it: LOCAL, our header, the
 * stream error (stream.c), the summary.  Always -1. */
int
s2sout_refuse(struct session *s, enum xg_stream_error e, const char *text,
    int code, const char *reason)
{
	if (!s->header_sent)
		s2sout_greet_local(s);
	s->header_sent = 1;
	return stream_error(s, e, text, code, "%s", reason);
}

/* The backend's header: 'from' one of our domains (its certificate
 * loaded), 'to' the remote, version 1.0.  0, or -1 (ended). */
static int
s2sout_header(struct session *s)
{
	struct xp_event ev;
	struct conn *c = s->c;
	char from[XG_DOMAIN_MAX + 1], to[XG_DOMAIN_MAX + 1];
	char err[XG_REASON_MAX];
	enum certs_result cr;

	s->xp.s2s = 1;
	if (client_header(s, &ev) == -1)
		return -1;
	if (xg_domain_normalize(ev.to, to, sizeof(to)) == -1)
		return s2sout_refuse(s, XG_SE_HOST_UNKNOWN, "'to' is not a "
		    "domain", XG_EXIT_REFUSED, "stream 'to' is not a domain");
	snprintf(c->remote_domain, sizeof(c->remote_domain), "%s", to);
	if (!ev.has_from || xg_domain_normalize(ev.from, from,
	    sizeof(from)) == -1)
		return s2sout_refuse(s, XG_SE_INVALID_FROM, "a 'from' naming "
		    "your domain is required", XG_EXIT_REFUSED,
		    "stream 'from' missing or not a domain");
	if (version_check(s, &ev) == -1)
		return -1;
	cr = certs_select(s->tls, from, err, sizeof(err));
	if (cr == CERTS_ERROR)
		return s2sout_refuse(s, XG_SE_INTERNAL_SERVER_ERROR,
		    "server configuration error", XG_EXIT_TEMP, err);
	if (cr == CERTS_UNKNOWN)
		return s2sout_refuse(s, XG_SE_INVALID_FROM, "this domain is "
		    "not served here", XG_EXIT_REFUSED, "stream 'from' is "
		    "not one of our domains");
	snprintf(c->domain, sizeof(c->domain), "%s", from);
	if (strcmp(from, to) == 0)
		return s2sout_refuse(s, XG_SE_HOST_UNKNOWN, "a stream to "
		    "ourselves", XG_EXIT_REFUSED, "stream 'to' is its 'from'");
	xg_debug("backend: stream from %s to %s", from, to);
	return 0;
}

/* The policy helper, asked once: 0, or -1 (ended). */
static int
s2sout_policy(struct session *s)
{
	static struct auth_reply ar;
	struct auth_request req;
	struct conn *c = s->c;
	char why[XG_REASON_MAX], msg[XG_REASON_MAX];
	enum auth_verdict v;

	if (s->o->auth == NULL)
		return 0;
	memset(&req, 0, sizeof(req));
	req.mechanism = "S2S-OUT";
	req.user = c->remote_domain;
	req.domain = c->domain;
	req.attempt = 1;
	req.conn = c;
	v = authhelper_run(s->o->auth, &req, s->o->auth_timeout * 1000, &ar,
	    why, sizeof(why));
	if (v == AUTH_TEMPFAIL) {
		snprintf(msg, sizeof(msg), "policy %.200s", why);
		return s2sout_refuse(s, XG_SE_INTERNAL_SERVER_ERROR,
		    "internal error", XG_EXIT_TEMP, msg);
	}
	if (v == AUTH_REJECT) {
		snprintf(msg, sizeof(msg), "policy helper refused %.200s",
		    c->remote_domain);
		snprintf(why, sizeof(why), "federation with %.200s is not "
		    "allowed here", c->remote_domain);
		return s2sout_refuse(s, XG_SE_POLICY_VIOLATION,
		    ar.has_message ? ar.message : why, XG_EXIT_REFUSED, msg);
	}
	if ((ar.has_require && strcmp(ar.require, "certificate") != 0) ||
	    ar.has_backend || ar.has_user || ar.has_pass)
		return s2sout_refuse(s, XG_SE_INTERNAL_SERVER_ERROR,
		    "internal error", XG_EXIT_TEMP, "policy helper: for an "
		    "outgoing stream only require=certificate, message= and "
		    "delay= have a meaning");
	return 0;
}

/*
 * The remote's certificate must name its domain: an outgoing stream
 * carries our users' stanzas, and dialback proves only who we are, never
 * who the remote is.  0, or -1 (ended).
 */
static int
s2sout_cert(struct session *s, struct remote *r)
{
	struct conn *c = s->c, *rc = &r->rc;
	char reason[XG_REASON_MAX];
	int valid;

	if (strcmp(rc->cert_status, "valid") == 0 &&
	    (rc->cert_match = s2s_id_match(rc->cert_dnsnames,
	    rc->cert_srvnames, rc->cert_xmppaddrs, c->remote_domain)) ==
	    S2S_MATCH_NONE)
		rc->cert_status = "name-mismatch";
	valid = strcmp(rc->cert_status, "valid") == 0;
	c->cert_status = rc->cert_status;
	c->cert_match = rc->cert_match;
	c->cert_presented = rc->cert_presented;
	snprintf(c->cert_sha256, sizeof(c->cert_sha256), "%s",
	    rc->cert_sha256);
	xg_log(LOG_INFO, "server %s: certificate %s%s%s%s%s",
	    c->remote_domain, c->cert_status, valid ? " by " : "",
	    valid ? s2s_match_name(c->cert_match) : "",
	    c->cert_presented ? " sha256=" : "",
	    c->cert_presented ? c->cert_sha256 : "");
	if (valid)
		return 0;
	snprintf(reason, sizeof(reason), "server %.100s at %.95s: certificate %s",
	    c->remote_domain, r->addr, c->cert_status);
	backend_close(rc);
	return s2sout_refuse(s, XG_SE_REMOTE_CONNECTION_FAILED,
	    "the certificate of the remote server is not valid for it",
	    XG_EXIT_REFUSED, reason);
}

/*
 * SASL EXTERNAL with our certificate, when the remote offers it: 1 when
 * it succeeded (the stream restarted, the new features read), 0 when the
 * backend is to do dialback, -1 with why when the remote is lost.
 */
static int
s2sout_external(struct session *s, struct remote *r, int64_t dl, char *why,
    size_t whysz)
{
	struct conn *c = s->c;
	char b64[2 * XG_DOMAIN_NAME_MAX + 8];
	int k;

	if (!r->st.external) {
		xg_debug("remote %s: no EXTERNAL offered", c->remote_domain);
		return 0;
	}
	if (xg_b64_encode(c->domain, strlen(c->domain), b64,
	    sizeof(b64)) == 0) {
		snprintf(why, whysz, "our domain does not fit in <auth/>");
		return -1;
	}
	if (conn_printf(&r->rc, dl, "<auth xmlns='" NS_SASL "' mechanism="
	    "'EXTERNAL'>%s</auth>", b64) == -1) {
		snprintf(why, whysz, "write: %s", strerror(errno));
		return -1;
	}
	if ((k = rnext(r, dl, why, whysz)) == -1)
		return -1;
	if (k == RS_FAILURE) {
		xg_log(LOG_NOTICE, "remote %s: EXTERNAL refused; the backend "
		    "may use dialback", c->remote_domain);
		return 0;
	}
	if (k != RS_SUCCESS) {
		snprintf(why, whysz, "no answer to <auth/>");
		return -1;
	}
	if (rheader(r, c, dl, why, whysz) == -1)
		return -1;
	return 1;
}

/*
 * --s2s-out: the whole session.  Always -1: finish() has logged the
 * summary (exitcode set).
 */
int
s2sout(struct session *s)
{
	static struct remote r;
	struct conn *c = s->c;
	char why[XG_REASON_MAX], reason[XG_REASON_MAX + 128];
	int64_t deadline;
	int k, authed;

	c->cert_status = "none";	/* an s2s summary line from here */
	if (s2sout_header(s) == -1 || s2sout_policy(s) == -1)
		return -1;
	memset(&r, 0, sizeof(r));
	/* One deadline from DNS to the remote's last features: the backend
	 * waits at most --backend-timeout for its answer. */
	deadline = now_ms() + (int64_t)s->o->backend_timeout * 1000;
	if ((k = reach(s, &r, deadline, why, sizeof(why))) != 0) {
		snprintf(reason, sizeof(reason), "remote %.100s: %s%.150s",
		    c->remote_domain, k == 1 ? "no such server in DNS: " : "",
		    why);
		return s2sout_refuse(s, XG_SE_REMOTE_CONNECTION_FAILED,
		    k == 1 ? "the remote server does not exist" : k == 2 ?
		    "the address of the remote server is not allowed" :
		    "the remote server is not reachable", k > 0 ?
		    XG_EXIT_REFUSED : XG_EXIT_TEMP, reason);
	}
	snprintf(c->backend, sizeof(c->backend), "%s", r.addr);
	snprintf(c->tls_protocol, sizeof(c->tls_protocol), "%s",
	    r.rc.tls_protocol);
	snprintf(c->tls_cipher, sizeof(c->tls_cipher), "%s",
	    r.rc.tls_cipher);
	if (s2sout_cert(s, &r) == -1)
		return -1;
	if ((authed = rheader(&r, c, deadline, why, sizeof(why))) == 0)
		authed = s2sout_external(s, &r, deadline, why, sizeof(why));
	if (authed == -1) {
		backend_close(&r.rc);
		snprintf(reason, sizeof(reason), "remote %.100s at %.95s: "
		    "%.150s", c->remote_domain, r.addr, why);
		return s2sout_refuse(s, XG_SE_REMOTE_CONNECTION_FAILED,
		    "the remote server is not reachable", XG_EXIT_TEMP,
		    reason);
	}
	c->s2s_auth = authed ? "external" : "dialback";
	xg_log(LOG_INFO, "remote %s at %s: %s %s, %s", c->remote_domain,
	    r.addr, r.direct ? "Direct TLS" : "STARTTLS", c->tls_protocol,
	    authed ? "EXTERNAL accepted" : "dialback by the backend");
	/* The backend's answer: the header, ours as the remote's, and the
	 * features it needs (none after EXTERNAL; dialback otherwise). */
	if (backend_proxy(s, &r, authed) == -1 ||
	    backend_header_out(s, r.st.id) == -1 ||
	    conn_printf(c, s->deadline, "<stream:features>%s"
	    "</stream:features>", !authed && r.st.dialback ?
	    "<dialback xmlns='" NS_DIALBACK_FEATURE "'><errors/></dialback>" :
	    "") == -1 ||
	    (s->len > 0 && conn_write(&r.rc, s->buf, s->len, s->deadline) ==
	    -1)) {
		snprintf(why, sizeof(why), "write: %s", strerror(errno));
		backend_close(&r.rc);
		return finish(s, XG_EXIT_TEMP, "%s", why);
	}
	c->rx += s->len;
	explicit_bzero(s->buf, sizeof(s->buf));
	s->len = 0;
	k = relay_run(&r.rc, c->rfd, r.buf, r.len, s->o->idle_timeout, why,
	    sizeof(why));
	/* rx is what came from the backend, tx what went to it. */
	c->rx += r.rc.tx;
	c->tx += r.rc.rx;
	backend_close(&r.rc);
	return finish(s, k == 0 ? XG_EXIT_OK : XG_EXIT_TEMP, "%s", why);
}
