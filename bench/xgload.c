/*
 * xgload -- the load generator and the small servers of bench/run.sh.
 *
 *   xgload login  [opts] -c CONC -P PROCS -t SECS [-n MAX]
 *	Full XMPP logins (TCP, stream, STARTTLS or Direct TLS, TLS
 *	handshake, SASL PLAIN, stream restart, resource bind), CONC at a
 *	time in PROCS forked processes (threads inside each), for SECS
 *	seconds or MAX logins.  Prints one line: count, errors, wall time,
 *	logins/s, p50 and p99 latency in ms, and the mean ms and the p50 ms
 *	of each step (first features / STARTTLS / TLS handshake / features
 *	after TLS / SASL PLAIN / restart and bind; see NSTAGE).  -R FILE
 *	appends each login's times to FILE, a line each: the whole login
 *	and its steps, in ms.
 *   xgload bulk   [opts] -D c2s|s2c|both -b BYTES
 *	One connection, logged in (or not, -m plain), then BYTES one way or
 *	both ways through "xgload sink" at the far end; prints MiB/s.
 *   xgload hold   [opts] -n N -t SECS
 *	N logged-in connections held open; prints "ready N" and waits for
 *	SIGTERM or SECS.
 *   xgload ttfb   -n RUNS [-r FILE] [-R RAWFILE] -- PROG [ARG ...]
 *	Start PROG RUNS times on a connected loopback socket (fds 0 and 1,
 *	as inetd does), the client's stream header (FILE) already sent;
 *	time from just before posix_spawn() to the moment the client end
 *	becomes readable.  -R appends every sample (ms) to RAWFILE.
 *   xgload spawn  -p PORT -r STATFILE -t SECS -- PROG [ARG ...]
 *	A process per connection, as systemd-socket-activate --accept, that
 *	also sums its children's CPU time into STATFILE (see cmd_spawn).
 *   xgload sink   [-H] [-p PORT]
 *	The plaintext far end of "bulk": on fds 0/1 (exec mode, stunnel's
 *	exec=) or as a forking TCP listener on 127.0.0.1:PORT (-p).  With -H it
 *	first reads an XMPP stream header (route mode replays the
 *	client's).  Then a line "c2s|s2c|both BYTES", then it sinks and/or
 *	sources BYTES, and acknowledges what it sank with one byte.
 *
 * Common options: -a ADDR (127.0.0.1) -p PORT -d DOMAIN -u USER -w PASS
 * -C CAFILE (verify the server certificate for DOMAIN) -x PRIORITY
 * -m starttls|direct|plain (how TLS starts; plain: no TLS, and a login
 * only with -u: SASL PLAIN and bind in the clear).
 *
 * login's -M MECH: PLAIN (the default: RFC 6120 SASL PLAIN, restart,
 * resource bind), or XEP-0388 SASL2 with SCRAM-SHA-256 (two round trips)
 * or XEP-0484 FAST with HT-SHA-256-NONE (one); with -B these ask for a
 * XEP-0386 Bind2 bind inside <authenticate/>, and the login ends with the
 * features after <success/> (there is no restart).  -K FILE: with
 * SCRAM-SHA-256, each login asks for a FAST token (<request-token/>) and
 * the last one is written to FILE; with HT-SHA-256-NONE the token is read
 * from FILE and used by every login (a NONE token is reusable until it
 * expires).  SCRAM's salted password (PBKDF2) is computed once per
 * process and kept, as a client keeps it, so that the client's own CPU
 * stays small beside the server's.
 *
 * Every socket has 20 s send and receive timeouts, so nothing waits for
 * ever; every loop ends by count or deadline.
 */
#define _GNU_SOURCE
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

extern char **environ;

#define IO_TIMEOUT_S	20
#define MAX_LAT		200000	/* logins whose times are kept, per process */
#define CHUNK		65536
/* Login steps, timed separately: first features (TCP, the server's start
 * and its stream header), STARTTLS to <proceed/>, the TLS handshake, the
 * restarted stream's features, SASL PLAIN to <success/>, and the restart
 * plus resource binding. */
#define NSTAGE		6
/* What is kept of one login: its whole time, then each step's, in ms. */
#define NREC		(1 + NSTAGE)

enum mode { M_STARTTLS, M_DIRECT, M_PLAIN };
/* The login's mechanism (-M). */
enum mech { X_PLAIN, X_SCRAM, X_FAST };

/* The client id XEP-0484 keys tokens on (<user-agent id/>): the same for
 * the login that asks for the token and the ones that use it. */
#define UA_ID		"4e1c8a2e-6f0b-4c55-9d3a-2b7f0c9e1a55"
#define SCRAM_HLEN	32	/* SHA-256 */
#define TOKEN_MAX	256

static struct {
	const char *addr, *domain, *user, *pass, *ca, *prio;
	int port, mode, bind;
	int conc, procs, max;
	double secs;
	const char *dir;
	uint64_t bytes;
	int mech;
	const char *tokfile;
} o = { "127.0.0.1", "bench.test", NULL, NULL, NULL, "NORMAL", 0,
	M_STARTTLS, 1, 1, 1, 0, 5.0, "c2s", 1 << 20, X_PLAIN, NULL };

/* FAST: the token used (-M HT-SHA-256-NONE) or the last one issued. */
static char token[TOKEN_MAX + 1];
static pthread_mutex_t token_mu = PTHREAD_MUTEX_INITIALIZER;

static const char *rawfile;	/* ttfb, login: samples appended here */
static gnutls_certificate_credentials_t cred;
static gnutls_priority_t prio;

struct conn {
	int fd;
	int tls;
	gnutls_session_t s;
	char buf[16384];
	size_t len;
	double ts[NSTAGE + 1];	/* login: when each step ended */
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void __attribute__((noreturn))
die(const char *what)
{
	fprintf(stderr, "xgload: fatal: %s: %s\n", what, strerror(errno));
	exit(111);
}

static void
set_timeouts(int fd)
{
	struct timeval tv = { IO_TIMEOUT_S, 0 };
	int one = 1;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static int
tcp_connect(void)
{
	struct sockaddr_in sin;
	int fd;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons(o.port);
	if (inet_pton(AF_INET, o.addr, &sin.sin_addr) != 1)
		return -1;
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	set_timeouts(fd);
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static ssize_t
c_write(struct conn *c, const void *p, size_t n)
{
	ssize_t r;

	if (!c->tls) {
		do
			r = write(c->fd, p, n);
		while (r == -1 && errno == EINTR);
		return r;
	}
	r = gnutls_record_send(c->s, p, n);
	if (r == GNUTLS_E_INTERRUPTED || r == GNUTLS_E_AGAIN) {
		double end = now() + IO_TIMEOUT_S;
		do
			r = gnutls_record_send(c->s, NULL, 0);
		while ((r == GNUTLS_E_INTERRUPTED || r == GNUTLS_E_AGAIN) &&
		    now() < end);
	}
	return r < 0 ? -1 : r;
}

static int
c_write_all(struct conn *c, const void *p, size_t n)
{
	const char *q = p;
	ssize_t r;

	while (n > 0) {
		if ((r = c_write(c, q, n)) <= 0)
			return -1;
		q += r;
		n -= r;
	}
	return 0;
}

static ssize_t
c_read(struct conn *c, void *p, size_t n)
{
	ssize_t r;

	if (!c->tls) {
		do
			r = read(c->fd, p, n);
		while (r == -1 && errno == EINTR);
		return r;
	}
	/* GnuTLS answers E_AGAIN after a TLS 1.3 post-handshake message
	 * (NewSessionTicket) even on a blocking socket: retry, until the
	 * socket's own timeout has passed. */
	double end = now() + IO_TIMEOUT_S;
	do
		r = gnutls_record_recv(c->s, p, n);
	while ((r == GNUTLS_E_INTERRUPTED || r == GNUTLS_E_AGAIN) && now() < end);
	if (r == GNUTLS_E_PREMATURE_TERMINATION)
		return 0;
	if (r < 0 && getenv("XGLOAD_DEBUG"))
		fprintf(stderr, "xgload: gnutls_record_recv: %s\n", gnutls_strerror(r));
	return r < 0 ? -1 : r;
}

/* Read until MARK has arrived, keeping what the buffer holds (MARK may
 * have come with an earlier read); 0, or -1 on error, end of file or
 * BAD. */
static int
c_more(struct conn *c, const char *mark, const char *bad)
{
	size_t ml = strlen(mark);
	ssize_t r;

	if (memmem(c->buf, c->len, mark, ml) != NULL)
		return 0;
	for (;;) {
		if (c->len == sizeof c->buf) {
			memmove(c->buf, c->buf + c->len - ml, ml);
			c->len = ml;
		}
		r = c_read(c, c->buf + c->len, sizeof c->buf - c->len);
		if (r <= 0)
			return -1;
		c->len += r;
		if (memmem(c->buf, c->len, mark, ml) != NULL)
			return 0;
		if (bad != NULL && memmem(c->buf, c->len, bad, strlen(bad)) != NULL)
			return -1;
	}
}

/* Read until MARK has arrived in what is read from now on. */
static int
c_until(struct conn *c, const char *mark, const char *bad)
{
	c->len = 0;
	return c_more(c, mark, bad);
}

static int
c_tls(struct conn *c)
{
	int r;

	if (gnutls_init(&c->s, GNUTLS_CLIENT) < 0)
		return -1;
	gnutls_priority_set(c->s, prio);
	gnutls_credentials_set(c->s, GNUTLS_CRD_CERTIFICATE, cred);
	gnutls_server_name_set(c->s, GNUTLS_NAME_DNS, o.domain, strlen(o.domain));
	if (o.ca != NULL)
		gnutls_session_set_verify_cert(c->s, o.domain, 0);
	gnutls_transport_set_int(c->s, c->fd);
	c->tls = 1;
	do
		r = gnutls_handshake(c->s);
	while (r < 0 && !gnutls_error_is_fatal(r));
	if (r < 0) {
		fprintf(stderr, "xgload: handshake: %s\n", gnutls_strerror(r));
		return -1;
	}
	return 0;
}

static void
c_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	if (c->tls)
		gnutls_deinit(c->s);
	c->fd = -1;
	c->tls = 0;
}

static int
send_header(struct conn *c)
{
	char h[512];

	snprintf(h, sizeof h, "<?xml version='1.0'?><stream:stream "
	    "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
	    "to='%s' version='1.0'>", o.domain);
	return c_write_all(c, h, strlen(h));
}

static int login_steps(struct conn *, const char **);
static int sasl2_steps(struct conn *, const char **);

/* The whole login of one connection; 0 or -1.  C is left open.  The
 * first failure of a process is reported with the step and what the
 * server last said. */
static int
login(struct conn *c)
{
	static int reported;
	const char *step = "connect";

	if (login_steps(c, &step) == 0)
		return 0;
	if (!reported++)
		fprintf(stderr, "xgload: login failed at %s: %s; last read: %.*s\n",
		    step, strerror(errno), (int)(c->len < 400 ? c->len : 400), c->buf);
	return -1;
}

static int
login_steps(struct conn *c, const char **step)
{
	gnutls_datum_t raw, b64;
	char plain[512], msg[1024];
	int n;

	c->fd = -1;
	c->tls = 0;
	c->len = 0;
	memset(c->ts, 0, sizeof c->ts);
	c->ts[0] = now();
	if ((c->fd = tcp_connect()) == -1)
		return -1;
	*step = "direct TLS";
	if (o.mode == M_DIRECT && c_tls(c) == -1)
		return -1;
	*step = "stream features";
	if (send_header(c) == -1 || c_until(c, "</stream:features>", NULL) == -1)
		return -1;
	c->ts[1] = now();
	/* Without TLS: with a user, on to SASL (the STARTTLS steps take no
	 * time), as xmppgate logs in to a plaintext backend. */
	if (o.mode == M_PLAIN && o.user == NULL)
		return 0;
	if (o.mode == M_PLAIN)
		c->ts[2] = c->ts[3] = c->ts[4] = c->ts[1];
	if (o.mode == M_STARTTLS) {
		static const char st[] = "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";
		*step = "STARTTLS";
		if (c_write_all(c, st, sizeof st - 1) == -1 ||
		    c_until(c, "<proceed", "<failure") == -1)
			return -1;
		c->ts[2] = now();
		if (c_tls(c) == -1)
			return -1;
		c->ts[3] = now();
		if (send_header(c) == -1 ||
		    c_until(c, "</stream:features>", NULL) == -1)
			return -1;
		c->ts[4] = now();
	}
	if (o.user == NULL)
		return 0;
	if (o.mech != X_PLAIN)
		return sasl2_steps(c, step);
	n = snprintf(plain, sizeof plain, "%c%s%c%s", 0, o.user, 0, o.pass);
	raw.data = (unsigned char *)plain;
	raw.size = n;
	if (gnutls_base64_encode2(&raw, &b64) < 0)
		return -1;
	n = snprintf(msg, sizeof msg, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
	    "mechanism='PLAIN'>%s</auth>", b64.data);
	gnutls_free(b64.data);
	*step = "SASL PLAIN";
	if (c_write_all(c, msg, n) == -1 || c_until(c, "<success", "<failure") == -1)
		return -1;
	c->ts[5] = now();
	if (!o.bind)
		return 0;
	static const char bindreq[] = "<iq type='set' id='b1'><bind "
	    "xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>bench</resource>"
	    "</bind></iq>";
	*step = "bind";
	if (send_header(c) == -1 ||
	    c_until(c, "</stream:features>", NULL) == -1 ||
	    c_write_all(c, bindreq, sizeof bindreq - 1) == -1 ||
	    c_until(c, "</iq>", "type='error'") == -1)
		return -1;
	c->ts[6] = now();
	return 0;
}

/* ---- SASL2: SCRAM-SHA-256 and FAST (HT-SHA-256-NONE) ---- */

/* Base64 of N bytes into OUT, without the line breaks GnuTLS may put in;
 * its length, or -1. */
static int
b64enc(const void *p, size_t n, char *out, size_t outsz)
{
	gnutls_datum_t raw = { (unsigned char *)(uintptr_t)p, n }, b;
	size_t i, k = 0;

	if (gnutls_base64_encode2(&raw, &b) < 0)
		return -1;
	for (i = 0; i < b.size && k + 1 < outsz; i++)
		if (b.data[i] != '\n' && b.data[i] != '\r')
			out[k++] = b.data[i];
	out[k] = '\0';
	i = i < b.size;
	gnutls_free(b.data);
	return i ? -1 : (int)k;
}

/* The bytes of base64 text IN (N chars) into OUT; their count, or -1. */
static int
b64dec(const char *in, size_t n, void *out, size_t outsz)
{
	gnutls_datum_t t = { (unsigned char *)(uintptr_t)in, n }, r;
	int k;

	if (gnutls_base64_decode2(&t, &r) < 0)
		return -1;
	k = r.size < outsz ? (int)r.size : -1;
	if (k >= 0)
		memcpy(out, r.data, r.size);
	gnutls_free(r.data);
	return k;
}

/* The text of the first element that starts with OPEN ("<challenge")
 * and ends with CLOSE, from the buffer, into OUT; its length or -1. */
static int
elem_text(const struct conn *c, const char *open, const char *close,
    char *out, size_t outsz)
{
	const char *b = memmem(c->buf, c->len, open, strlen(open)), *e;
	const char *end = c->buf + c->len;

	if (b == NULL || (b = memchr(b, '>', end - b)) == NULL)
		return -1;
	b++;
	if ((e = memmem(b, end - b, close, strlen(close))) == NULL ||
	    (size_t)(e - b) >= outsz)
		return -1;
	memcpy(out, b, e - b);
	out[e - b] = '\0';
	return e - b;
}

/* SCRAM's SaltedPassword (RFC 5802), computed once per salt and count
 * and kept, as a client keeps it. */
static struct {
	pthread_mutex_t mu;
	char salt[128];
	unsigned iter;
	uint8_t key[SCRAM_HLEN];
	int have;
} salted = { PTHREAD_MUTEX_INITIALIZER, "", 0, { 0 }, 0 };

static int
scram_salted(const char *salt64, size_t sl, unsigned iter, uint8_t *out)
{
	uint8_t salt[96];
	int n, ok = 0;

	if (sl >= sizeof salted.salt)
		return -1;
	pthread_mutex_lock(&salted.mu);
	if (!salted.have || salted.iter != iter ||
	    strlen(salted.salt) != sl || memcmp(salted.salt, salt64, sl) != 0) {
		gnutls_datum_t k = { (unsigned char *)(uintptr_t)o.pass, strlen(o.pass) };
		gnutls_datum_t s;

		salted.have = 0;
		if ((n = b64dec(salt64, sl, salt, sizeof salt)) <= 0)
			goto out;
		s.data = salt;
		s.size = n;
		if (gnutls_pbkdf2(GNUTLS_MAC_SHA256, &k, &s, iter, salted.key,
		    SCRAM_HLEN) < 0)
			goto out;
		memcpy(salted.salt, salt64, sl);
		salted.salt[sl] = '\0';
		salted.iter = iter;
		salted.have = 1;
	}
	memcpy(out, salted.key, SCRAM_HLEN);
	ok = 1;
out:
	pthread_mutex_unlock(&salted.mu);
	return ok ? 0 : -1;
}

static int
hmac256(const void *key, size_t kl, const void *m, size_t ml, uint8_t *out)
{
	return gnutls_hmac_fast(GNUTLS_MAC_SHA256, key, kl, m, ml, out) < 0 ? -1 : 0;
}

/* The SCRAM-SHA-256 exchange (RFC 5802, in XEP-0388's elements) up to
 * <success/>, its server signature checked. */
static int
scram_exchange(struct conn *c, const char *bind, const char **step)
{
	static const char gs2[] = "n,,";
	char cn[40], first[256], sfirst[512], fin[768], am[1536];
	char b64[1024], msg[2048], pr[48];
	uint8_t rnd[18], sp[SCRAM_HLEN], ck[SCRAM_HLEN], stk[SCRAM_HLEN];
	uint8_t sig[SCRAM_HLEN], sk[SCRAM_HLEN], v[SCRAM_HLEN], got[64];
	const char *r, *sa, *it, *e;
	char *endp;
	unsigned long iter;
	int n, k;

	if (gnutls_rnd(GNUTLS_RND_NONCE, rnd, sizeof rnd) < 0 ||
	    b64enc(rnd, sizeof rnd, cn, sizeof cn) < 0)
		return -1;
	snprintf(first, sizeof first, "n=%s,r=%s", o.user, cn);
	snprintf(msg, sizeof msg, "%s%s", gs2, first);
	if (b64enc(msg, strlen(msg), b64, sizeof b64) < 0)
		return -1;
	n = snprintf(msg, sizeof msg, "<authenticate xmlns='urn:xmpp:sasl:2' "
	    "mechanism='SCRAM-SHA-256'><initial-response>%s</initial-response>"
	    "<user-agent id='" UA_ID "'/>%s%s</authenticate>", b64, bind,
	    o.tokfile != NULL ? "<request-token xmlns='urn:xmpp:fast:0' "
	    "mechanism='HT-SHA-256-NONE'/>" : "");
	*step = "SCRAM client-first";
	if (c_write_all(c, msg, n) == -1 ||
	    c_until(c, "</challenge>", "<failure") == -1 ||
	    (k = elem_text(c, "<challenge", "</challenge>", b64, sizeof b64)) < 0 ||
	    (k = b64dec(b64, k, sfirst, sizeof sfirst - 1)) <= 0)
		return -1;
	sfirst[k] = '\0';
	/* r=CNONCE+SNONCE,s=SALT,i=ITERATIONS */
	*step = "SCRAM server-first";
	if (strncmp(sfirst, "r=", 2) != 0 || strncmp(sfirst + 2, cn, strlen(cn)) != 0 ||
	    (sa = strstr(sfirst, ",s=")) == NULL || (it = strstr(sfirst, ",i=")) == NULL ||
	    it < sa)
		return -1;
	r = sfirst + 2;
	iter = strtoul(it + 3, &endp, 10);
	if (iter == 0 || iter > 1000000 || (*endp != '\0' && *endp != ','))
		return -1;
	if (scram_salted(sa + 3, it - (sa + 3), iter, sp) == -1)
		return -1;
	snprintf(fin, sizeof fin, "c=biws,r=%.*s", (int)(sa - r), r);
	if (snprintf(am, sizeof am, "%s,%s,%s", first, sfirst, fin) >= (int)sizeof am)
		return -1;
	if (hmac256(sp, SCRAM_HLEN, "Client Key", 10, ck) == -1 ||
	    gnutls_hash_fast(GNUTLS_DIG_SHA256, ck, SCRAM_HLEN, stk) < 0 ||
	    hmac256(stk, SCRAM_HLEN, am, strlen(am), sig) == -1)
		return -1;
	for (k = 0; k < SCRAM_HLEN; k++)
		sig[k] ^= ck[k];	/* ClientProof */
	if (b64enc(sig, SCRAM_HLEN, pr, sizeof pr) < 0)
		return -1;
	n = strlen(fin);
	snprintf(fin + n, sizeof fin - n, ",p=%s", pr);
	if (b64enc(fin, strlen(fin), b64, sizeof b64) < 0)
		return -1;
	n = snprintf(msg, sizeof msg, "<response xmlns='urn:xmpp:sasl:2'>%s</response>", b64);
	*step = "SCRAM client-final";
	if (c_write_all(c, msg, n) == -1 ||
	    c_until(c, "</success>", "<failure") == -1)
		return -1;
	/* additional-data: v=ServerSignature */
	*step = "SCRAM server signature";
	if (hmac256(sp, SCRAM_HLEN, "Server Key", 10, sk) == -1 ||
	    hmac256(sk, SCRAM_HLEN, am, strlen(am), v) == -1 ||
	    (k = elem_text(c, "<additional-data", "</additional-data>", b64, sizeof b64)) < 0 ||
	    (k = b64dec(b64, k, got, sizeof got)) != 2 + 44 ||
	    memcmp(got, "v=", 2) != 0 ||
	    b64enc(v, SCRAM_HLEN, b64, sizeof b64) != 44 ||
	    memcmp(got + 2, b64, 44) != 0)
		return -1;
	if (o.tokfile == NULL)
		return 0;
	/* <token xmlns='urn:xmpp:fast:0' expiry='...' token='...'/> */
	*step = "FAST token in <success/>";
	if ((r = memmem(c->buf, c->len, "<token ", 7)) == NULL ||
	    (r = memmem(r, c->buf + c->len - r, " token='", 8)) == NULL ||
	    (e = memchr(r + 8, '\'', c->buf + c->len - (r + 8))) == NULL ||
	    e - (r + 8) > TOKEN_MAX || e == r + 8)
		return -1;
	pthread_mutex_lock(&token_mu);
	memcpy(token, r + 8, e - (r + 8));
	token[e - (r + 8)] = '\0';
	FILE *f = fopen(o.tokfile, "w");
	k = f != NULL && fprintf(f, "%s\n", token) > 0;
	if (f != NULL && fclose(f) != 0)
		k = 0;
	pthread_mutex_unlock(&token_mu);
	return k ? 0 : -1;
}

/* A FAST login (XEP-0484) with HT-SHA-256-NONE: user NUL
 * HMAC-SHA-256(token, "Initiator") in one round trip; the server's
 * HMAC(token, "Responder") checked in <additional-data/>. */
static int
fast_exchange(struct conn *c, const char *bind, const char **step)
{
	char ir[512], b64[512], msg[2048];
	uint8_t mac[SCRAM_HLEN], got[64];
	size_t ul = strlen(o.user);
	int n, k;

	if (ul + 1 + SCRAM_HLEN > sizeof ir)
		return -1;
	memcpy(ir, o.user, ul);
	ir[ul] = '\0';
	if (hmac256(token, strlen(token), "Initiator", 9, mac) == -1)
		return -1;
	memcpy(ir + ul + 1, mac, SCRAM_HLEN);
	if (b64enc(ir, ul + 1 + SCRAM_HLEN, b64, sizeof b64) < 0)
		return -1;
	n = snprintf(msg, sizeof msg, "<authenticate xmlns='urn:xmpp:sasl:2' "
	    "mechanism='HT-SHA-256-NONE'><initial-response>%s</initial-response>"
	    "<user-agent id='" UA_ID "'/>%s<fast xmlns='urn:xmpp:fast:0'/>"
	    "</authenticate>", b64, bind);
	*step = "FAST authenticate";
	if (c_write_all(c, msg, n) == -1 ||
	    c_until(c, "</success>", "<failure") == -1)
		return -1;
	*step = "FAST responder HMAC";
	if (hmac256(token, strlen(token), "Responder", 9, mac) == -1 ||
	    (k = elem_text(c, "<additional-data", "</additional-data>", b64, sizeof b64)) < 0 ||
	    b64dec(b64, k, got, sizeof got) != SCRAM_HLEN ||
	    memcmp(got, mac, SCRAM_HLEN) != 0)
		return -1;
	return 0;
}

/* After TLS: SASL2's <authenticate/> (with a Bind2 bind under -B), to
 * <success/> (step 5) and the features that follow it (step 6: no
 * restart, the resource is bound already). */
static int
sasl2_steps(struct conn *c, const char **step)
{
	const char *bind = o.bind ?
	    "<bind xmlns='urn:xmpp:bind:0'><tag>bench</tag></bind>" : "";

	*step = "SASL2 offer";
	if (memmem(c->buf, c->len, "urn:xmpp:sasl:2", 15) == NULL)
		return -1;
	if ((o.mech == X_SCRAM ? scram_exchange(c, bind, step) :
	    fast_exchange(c, bind, step)) == -1)
		return -1;
	*step = "Bind2";
	if (o.bind && memmem(c->buf, c->len, "<bound", 6) == NULL)
		return -1;
	c->ts[5] = now();
	*step = "features after <success/>";
	if (c_more(c, "</stream:features>", NULL) == -1)
		return -1;
	c->ts[6] = now();
	return 0;
}

static void
tls_setup(void)
{
	const char *err;

	if (gnutls_certificate_allocate_credentials(&cred) < 0)
		die("gnutls credentials");
	if (o.ca != NULL &&
	    gnutls_certificate_set_x509_trust_file(cred, o.ca, GNUTLS_X509_FMT_PEM) <= 0) {
		fprintf(stderr, "xgload: fatal: cannot load CA %s\n", o.ca);
		exit(111);
	}
	if (gnutls_priority_init(&prio, o.prio, &err) < 0) {
		fprintf(stderr, "xgload: fatal: bad priority at %s\n", err);
		exit(100);
	}
}

/* ---- login ---- */

struct worker {
	pthread_t t;
	double deadline;
	int quota;		/* logins this thread may do */
	double *lat;		/* NREC ms per login: whole, then each step */
	int n, cap, errors;
	double first, last;
	double stage[NSTAGE];	/* summed over the logins, s */
};

static void *
login_thread(void *arg)
{
	struct worker *w = arg;
	struct conn *c = malloc(sizeof *c);
	static const char end[] = "</stream:stream>";
	double t0, t1;

	if (c == NULL)
		return NULL;
	w->first = now();
	w->last = w->first;
	while (w->n + w->errors < w->quota && now() < w->deadline &&
	    w->errors < 50) {
		t0 = now();
		if (login(c) == 0) {
			t1 = now();
			double *rec = w->n < w->cap ? w->lat + w->n * NREC : NULL;
			if (rec != NULL)
				rec[0] = (t1 - t0) * 1000;
			for (int k = 0; k < NSTAGE; k++) {
				double d = c->ts[k + 1] > 0 && c->ts[k] > 0 ?
				    c->ts[k + 1] - c->ts[k] : 0;
				w->stage[k] += d;
				if (rec != NULL)
					rec[1 + k] = d * 1000;
			}
			w->n++;
			c_write_all(c, end, sizeof end - 1);
			w->last = t1;
		} else
			w->errors++;
		c_close(c);
	}
	free(c);
	return NULL;
}

static int
dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
pct(const double *v, int n, double p)
{
	int i = (int)(p * n);

	if (n == 0)
		return 0;
	return v[i >= n ? n - 1 : i];
}

static int
cmd_login(void)
{
	int per = o.conc / o.procs, extra = o.conc % o.procs, p, i;
	int (*pipes)[2] = calloc(o.procs, sizeof *pipes);
	double *all = malloc(sizeof(double) * NREC * MAX_LAT * o.procs);
	double *col = malloc(sizeof(double) * MAX_LAT * o.procs);
	double first = 1e300, last = 0, start = now(), stage[NSTAGE] = { 0 };
	long n = 0, errors = 0, kept = 0;
	pid_t *pids = calloc(o.procs, sizeof *pids);

	if (pipes == NULL || all == NULL || col == NULL || pids == NULL)
		die("malloc");
	for (p = 0; p < o.procs; p++) {
		if (pipe(pipes[p]) == -1)
			die("pipe");
		if ((pids[p] = fork()) == -1)
			die("fork");
		if (pids[p] == 0) {
			int nt = per + (p < extra), quota;
			struct worker *w = calloc(nt, sizeof *w);
			double res[4 + NSTAGE];

			close(pipes[p][0]);
			tls_setup();
			quota = o.max > 0 ? o.max / o.conc : 1 << 30;
			if (quota == 0)
				quota = 1;
			for (i = 0; i < nt; i++) {
				w[i].deadline = start + o.secs;
				w[i].quota = quota;
				w[i].cap = MAX_LAT / nt;
				w[i].lat = malloc(sizeof(double) * NREC * w[i].cap);
				if (w[i].lat == NULL)
					die("malloc");
				if (pthread_create(&w[i].t, NULL, login_thread, &w[i]) != 0)
					die("pthread_create");
			}
			memset(res, 0, sizeof res);
			res[2] = 1e300;
			for (i = 0; i < nt; i++) {
				pthread_join(w[i].t, NULL);
				res[0] += w[i].n;
				res[1] += w[i].errors;
				if (w[i].first < res[2])
					res[2] = w[i].first;
				if (w[i].last > res[3])
					res[3] = w[i].last;
				for (int k = 0; k < NSTAGE; k++)
					res[4 + k] += w[i].stage[k];
			}
			if (write(pipes[p][1], res, sizeof res) != sizeof res)
				_exit(111);
			for (i = 0; i < nt; i++) {
				int k = w[i].n < w[i].cap ? w[i].n : w[i].cap;
				if (write(pipes[p][1], &k, sizeof k) != sizeof k ||
				    write(pipes[p][1], w[i].lat, sizeof(double) * NREC * k) !=
				    (ssize_t)(sizeof(double) * NREC * k))
					_exit(111);
			}
			_exit(0);
		}
		close(pipes[p][1]);
	}
	for (p = 0; p < o.procs; p++) {
		FILE *f = fdopen(pipes[p][0], "r");
		double res[4 + NSTAGE];
		int k, nt = per + (p < extra);

		if (f == NULL || fread(res, sizeof res, 1, f) != 1) {
			fprintf(stderr, "xgload: worker %d gave no result\n", p);
			errors++;
			if (f)
				fclose(f);
			continue;
		}
		n += (long)res[0];
		errors += (long)res[1];
		if (res[2] < first)
			first = res[2];
		if (res[3] > last)
			last = res[3];
		for (k = 0; k < NSTAGE; k++)
			stage[k] += res[4 + k];
		for (i = 0; i < nt; i++) {
			if (fread(&k, sizeof k, 1, f) != 1 ||
			    fread(all + kept * NREC, sizeof(double) * NREC, k, f) != (size_t)k)
				break;
			kept += k;
		}
		fclose(f);
	}
	for (p = 0; p < o.procs; p++)
		waitpid(pids[p], NULL, 0);
	/* -R: every kept login, its whole time and its steps' (ms). */
	if (rawfile != NULL) {
		FILE *f = fopen(rawfile, "a");

		if (f == NULL)
			die(rawfile);
		for (long j = 0; j < kept; j++)
			for (i = 0; i < NREC; i++)
				fprintf(f, "%.3f%c", all[j * NREC + i],
				    i + 1 < NREC ? ' ' : '\n');
		if (fclose(f) != 0)
			die(rawfile);
	}
	/* Column K of the kept records, sorted. */
#define COLUMN(K) do { \
		for (long j = 0; j < kept; j++) \
			col[j] = all[j * NREC + (K)]; \
		qsort(col, kept, sizeof(double), dcmp); \
	} while (0)
	COLUMN(0);
	printf("logins=%ld errors=%ld secs=%.3f rate=%.1f p50_ms=%.3f p99_ms=%.3f "
	    "mean_ms=", n, errors, last - first, n > 0 ? n / (last - first) : 0.0,
	    pct(col, kept, 0.50), pct(col, kept, 0.99));
	/* Mean time of each step (they add up to the mean login). */
	for (i = 0; i < NSTAGE; i++)
		printf("%s%.3f", i ? "/" : "", n > 0 ? stage[i] * 1000 / n : 0.0);
	/* The p50 of each step (they need not add up to the p50 login). */
	printf(" p50s_ms=");
	for (i = 0; i < NSTAGE; i++) {
		COLUMN(1 + i);
		printf("%s%.3f", i ? "/" : "", pct(col, kept, 0.50));
	}
#undef COLUMN
	printf("\n");
	return n > 0 ? 0 : 1;
}

/* ---- bulk ---- */

struct pump {
	struct conn *c;
	uint64_t want, done;
	int fail;
};

/*
 * The plaintext ends of the bulk rows (route mode's client, and the sink
 * on TCP) cost as little as the kernel allows, so that the relay decides
 * the throughput, not they: bytes go out by vmsplice(2) of one constant
 * chunk into a pipe and splice(2) from it to the socket (no copy; the
 * chunk is never written again, so the pages the socket still refers to
 * keep their bytes), and come in with recv(MSG_TRUNC), which a TCP socket
 * answers by dropping the bytes (no copy).  Other fds (exec mode's socket
 * pair, TLS) read and write as before.
 */
static int
is_tcp(int fd)
{
	int d;
	socklen_t l = sizeof d;

	return getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &d, &l) == 0 &&
	    (d == AF_INET || d == AF_INET6);
}

static ssize_t
z_write(int fd, const char *chunk, size_t n)
{
	static __thread int p[2] = { -1, -1 };
	struct iovec iov = { (void *)(uintptr_t)chunk, n };
	ssize_t v, s, left;

	if (p[0] == -1 && pipe(p) == -1)
		return -1;
	do
		v = vmsplice(p[1], &iov, 1, 0);
	while (v == -1 && errno == EINTR);
	if (v <= 0)
		return -1;
	for (left = v; left > 0; left -= s) {
		do
			s = splice(p[0], NULL, fd, NULL, left, SPLICE_F_MOVE);
		while (s == -1 && errno == EINTR);
		if (s <= 0)
			return -1;	/* the pipe's rest is lost: the run fails */
	}
	return v;
}

static ssize_t
z_read(int fd, void *buf, size_t n)
{
	ssize_t r;

	do
		r = recv(fd, buf, n, MSG_TRUNC);
	while (r == -1 && errno == EINTR);
	return r;
}

static void *
bulk_writer(void *arg)
{
	struct pump *p = arg;
	static char chunk[CHUNK];
	ssize_t r;

	int z = !p->c->tls && is_tcp(p->c->fd);

	memset(chunk, 'x', sizeof chunk);
	while (p->done < p->want) {
		uint64_t left = p->want - p->done;
		size_t n = left < CHUNK ? left : CHUNK;
		if ((r = z ? z_write(p->c->fd, chunk, n) :
		    c_write(p->c, chunk, n)) <= 0) {
			p->fail = 1;
			break;
		}
		p->done += r;
	}
	return NULL;
}

static int
cmd_bulk(void)
{
	static char buf[CHUNK];
	struct conn *c = calloc(1, sizeof *c);
	struct pump w = { 0 };
	pthread_t wt;
	uint64_t rwant, rgot = 0;
	char line[64];
	int c2s = strcmp(o.dir, "s2c") != 0, s2c = strcmp(o.dir, "c2s") != 0;
	double t0, t1;
	struct rusage ru;
	ssize_t r;

	if (c == NULL)
		die("malloc");
	tls_setup();
	o.bind = 0;
	if (o.mode == M_PLAIN) {
		c->fd = -1;
		if ((c->fd = tcp_connect()) == -1)
			die("connect");
		if (send_header(c) == -1)
			die("write");
	} else if (o.user == NULL) {	/* Direct TLS to a plain TLS relay */
		if ((c->fd = tcp_connect()) == -1)
			die("connect");
		if (c_tls(c) == -1)
			exit(111);
	} else if (login(c) == -1) {
		fprintf(stderr, "xgload: login failed\n");
		exit(111);
	}
	snprintf(line, sizeof line, "%s %llu\n", o.dir, (unsigned long long)o.bytes);
	w.c = c;
	w.want = c2s ? o.bytes : 0;
	rwant = (s2c ? o.bytes : 0) + (c2s ? 1 : 0);
	t0 = now();
	if (c_write_all(c, line, strlen(line)) == -1)
		die("write");
	if (pthread_create(&wt, NULL, bulk_writer, &w) != 0)
		die("pthread_create");
	while (rgot < rwant) {
		/* (the last byte, c2s's "k", is only counted) */
		if ((r = !c->tls && is_tcp(c->fd) ? z_read(c->fd, buf,
		    sizeof buf) : c_read(c, buf, sizeof buf)) <= 0)
			break;
		rgot += r;
	}
	pthread_join(wt, NULL);
	t1 = now();
	if (rgot < rwant || w.fail) {
		fprintf(stderr, "xgload: bulk %s: short: read %llu of %llu, wrote %llu of %llu\n",
		    o.dir, (unsigned long long)rgot, (unsigned long long)rwant,
		    (unsigned long long)w.done, (unsigned long long)w.want);
		return 1;
	}
	getrusage(RUSAGE_SELF, &ru);
	printf("dir=%s bytes=%llu secs=%.4f mibps=%.1f cipher=%s client_cpu_s=%.3f\n",
	    o.dir, (unsigned long long)o.bytes, t1 - t0,
	    o.bytes / 1048576.0 / (t1 - t0),
	    c->tls ? gnutls_cipher_get_name(gnutls_cipher_get(c->s)) : "none",
	    ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
	c_close(c);
	free(c);
	return 0;
}

/* ---- hold ---- */

static volatile sig_atomic_t stop;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int
cmd_hold(void)
{
	struct conn *c = calloc(o.max, sizeof *c);
	struct sigaction sa;
	double deadline;
	int i;

	if (c == NULL)
		die("malloc");
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	tls_setup();
	for (i = 0; i < o.max; i++)
		if (login(&c[i]) == -1) {
			fprintf(stderr, "xgload: hold: login %d failed\n", i + 1);
			return 1;
		}
	printf("ready %d\n", o.max);
	fflush(stdout);
	deadline = now() + o.secs;
	while (!stop && now() < deadline)
		poll(NULL, 0, 200);
	for (i = 0; i < o.max; i++)
		c_close(&c[i]);
	return 0;
}

/* ---- ttfb ---- */

static int
cmd_ttfb(char **argv, const char *reqfile)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof sin;
	char req[1024];
	ssize_t reqlen = 0;
	double *v = malloc(sizeof(double) * (o.max > 0 ? o.max : 1));
	int lfd, i, got = 0, fails = 0;

	if (v == NULL)
		die("malloc");
	if (reqfile != NULL) {
		FILE *f = fopen(reqfile, "r");
		if (f == NULL)
			die(reqfile);
		reqlen = fread(req, 1, sizeof req, f);
		fclose(f);
	}
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof sin) == -1 ||
	    listen(lfd, 4) == -1 ||
	    getsockname(lfd, (struct sockaddr *)&sin, &sl) == -1)
		die("listen");
	for (i = 0; i < o.max; i++) {
		posix_spawn_file_actions_t fa;
		int cfd, sfd, st;
		struct pollfd pfd;
		double t0, t1;
		pid_t pid;

		if ((cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
		    connect(cfd, (struct sockaddr *)&sin, sizeof sin) == -1 ||
		    (sfd = accept(lfd, NULL, NULL)) == -1)
			die("loopback connection");
		set_timeouts(cfd);
		if (reqlen > 0 && write(cfd, req, reqlen) != reqlen)
			die("write");
		/* inetd's convention (the connection on fds 0 and 1), started
		 * with posix_spawn(), which is vfork()+exec: the launcher's own
		 * size does not enter the figure, as fork() would make it. */
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_adddup2(&fa, sfd, 0);
		posix_spawn_file_actions_adddup2(&fa, sfd, 1);
		posix_spawn_file_actions_addclose(&fa, sfd);
		t0 = now();
		if ((errno = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ)) != 0)
			die("posix_spawn");
		posix_spawn_file_actions_destroy(&fa);
		close(sfd);
		pfd.fd = cfd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 5000) == 1) {
			t1 = now();
			v[got++] = (t1 - t0) * 1000;
		} else
			fails++;
		close(cfd);
		for (st = 0; st < 10000; st++) {	/* at most 5 s, then SIGKILL */
			if (waitpid(pid, NULL, WNOHANG) == pid)
				break;
			if (st == 9999) {
				kill(pid, SIGKILL);
				waitpid(pid, NULL, 0);
			}
			usleep(500);
		}
	}
	if (rawfile != NULL) {
		FILE *f = fopen(rawfile, "a");
		if (f == NULL)
			die(rawfile);
		for (i = 0; i < got; i++)
			fprintf(f, "%.4f\n", v[i]);
		fclose(f);
	}
	qsort(v, got, sizeof(double), dcmp);
	printf("runs=%d fails=%d min_ms=%.3f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f\n",
	    got, fails, got ? v[0] : 0.0, pct(v, got, 0.5), pct(v, got, 0.9),
	    pct(v, got, 0.99));
	return got > 0 && fails == 0 ? 0 : 1;
}

/* ---- spawn ---- */

/*
 * An accept loop in the position of systemd-socket-activate --accept (a
 * process per connection, the socket on fd 3, LISTEN_FDS=1 and
 * LISTEN_PID), which also reaps every child with wait4() and keeps the
 * sum of their CPU time.  wait4() reports a child's own time plus that of
 * the children it waited for (RUSAGE_BOTH), so the helper that xmppgate
 * runs and reaps is included.  The sums are rewritten to STATFILE after
 * every child; it runs for SECS at most.
 */
static int
cmd_spawn(char **argv, const char *statfile)
{
	struct sockaddr_in sin;
	double user = 0, sys = 0, deadline = now() + o.secs;
	long procs = 0;
	int lfd, one = 1;
	char tmpf[4096], env[32];
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons(o.port);
	inet_pton(AF_INET, o.addr, &sin.sin_addr);
	if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) == -1 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == -1 ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof sin) == -1 ||
	    listen(lfd, 128) == -1)
		die("listen");
	snprintf(tmpf, sizeof tmpf, "%s.tmp", statfile);
	while (!stop && now() < deadline) {
		struct pollfd pfd = { lfd, POLLIN, 0 };
		struct rusage ru;
		int fd, changed = 0;
		pid_t pid;

		poll(&pfd, 1, 20);
		while ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
			if ((pid = fork()) == -1)
				die("fork");
			if (pid == 0) {
				if (dup2(fd, 3) == -1)
					_exit(111);
				snprintf(env, sizeof env, "%d", (int)getpid());
				setenv("LISTEN_PID", env, 1);
				setenv("LISTEN_FDS", "1", 1);
				execv(argv[0], argv);
				_exit(111);
			}
			close(fd);
		}
		while ((pid = wait4(-1, NULL, WNOHANG, &ru)) > 0) {
			user += ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
			sys += ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
			procs++;
			changed = 1;
		}
		if (changed) {
			FILE *f = fopen(tmpf, "w");
			if (f == NULL)
				die(tmpf);
			fprintf(f, "procs=%ld user_s=%.6f sys_s=%.6f\n", procs, user, sys);
			if (fclose(f) != 0 || rename(tmpf, statfile) == -1)
				die(statfile);
		}
	}
	return 0;
}

/* ---- sink ---- */

static int sink_in, sink_out;
static uint64_t sink_bytes;

static void *
sink_source(void *arg)
{
	static char chunk[CHUNK];
	uint64_t done = 0;
	ssize_t r;

	(void)arg;
	int z = is_tcp(sink_out);

	memset(chunk, 'y', sizeof chunk);
	while (done < sink_bytes) {
		uint64_t left = sink_bytes - done;
		size_t n = left < CHUNK ? left : CHUNK;
		r = z ? z_write(sink_out, chunk, n) : write(sink_out, chunk, n);
		if (r <= 0) {
			if (r == -1 && errno == EINTR)
				continue;
			return (void *)1;
		}
		done += r;
	}
	return NULL;
}

static int
sink_session(int in, int out, int header)
{
	static char buf[CHUNK];
	char *p, *e, dir[8];
	size_t len = 0;
	uint64_t got = 0;
	unsigned long long b;
	pthread_t st;
	int c2s, s2c, started = 0;
	void *res = NULL;
	ssize_t r;

	set_timeouts(in);
	if (out != in)
		set_timeouts(out);
	/* The header (with -H) and the command line, in the first bytes. */
	for (;;) {
		if (len == 4096)
			return 1;
		if ((r = read(in, buf + len, 4096 - len)) <= 0)
			return 1;
		len += r;
		p = buf;
		if (header) {
			if ((p = memmem(buf, len, "<stream:stream", 14)) == NULL ||
			    (p = memchr(p, '>', buf + len - p)) == NULL)
				continue;
			p++;
		}
		if ((e = memchr(p, '\n', buf + len - p)) != NULL)
			break;
	}
	*e = '\0';
	if (sscanf(p, "%7s %llu", dir, &b) != 2)
		return 1;
	c2s = strcmp(dir, "s2c") != 0;
	s2c = strcmp(dir, "c2s") != 0;
	got = buf + len - (e + 1);
	sink_in = in;
	sink_out = out;
	sink_bytes = b;
	if (s2c) {
		if (pthread_create(&st, NULL, sink_source, NULL) != 0)
			return 1;
		started = 1;
	}
	while (c2s && got < b) {
		if ((r = is_tcp(in) ? z_read(in, buf, sizeof buf) :
		    read(in, buf, sizeof buf)) <= 0)
			break;
		got += r;
	}
	if (started)
		pthread_join(st, &res);
	if (c2s) {
		if (got < b)
			return 1;
		if (write(out, "k", 1) != 1)
			return 1;
	}
	/* Until the client closes (or the timeout). */
	while (read(in, buf, sizeof buf) > 0)
		;
	return res != NULL;
}

static int
cmd_sink(int header)
{
	struct sockaddr_in sin;
	int lfd, fd, one = 1;
	double deadline;

	if (o.port == 0)
		return sink_session(0, 1, header);
	signal(SIGCHLD, SIG_IGN);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons(o.port);
	inet_pton(AF_INET, o.addr, &sin.sin_addr);
	if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == -1 ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof sin) == -1 ||
	    listen(lfd, 64) == -1)
		die("listen");
	deadline = now() + o.secs;
	while (now() < deadline) {
		struct pollfd pfd = { lfd, POLLIN, 0 };

		if (poll(&pfd, 1, 200) != 1)
			continue;
		if ((fd = accept(lfd, NULL, NULL)) == -1) {
			if (errno == EINTR)
				continue;
			die("accept");
		}
		switch (fork()) {
		case -1:
			die("fork");
		case 0:
			close(lfd);
			_exit(sink_session(fd, fd, header));
		default:
			close(fd);
		}
	}
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: xgload login|bulk|hold|ttfb|sink [options] "
	    "(see the comment at the top of bench/xgload.c)\n");
	exit(100);
}

int
main(int argc, char **argv)
{
	const char *cmd, *reqfile = NULL;
	int ch, header = 0;

	if (argc < 2)
		usage();
	cmd = argv[1];
	argv++;
	argc--;
	signal(SIGPIPE, SIG_IGN);
	while ((ch = getopt(argc, argv, "a:p:d:u:w:C:x:m:M:K:c:P:t:n:D:b:r:R:HB")) != -1) {
		switch (ch) {
		case 'a': o.addr = optarg; break;
		case 'p': o.port = atoi(optarg); break;
		case 'd': o.domain = optarg; break;
		case 'u': o.user = optarg; break;
		case 'w': o.pass = optarg; break;
		case 'C': o.ca = optarg; break;
		case 'x': o.prio = optarg; break;
		case 'm':
			o.mode = !strcmp(optarg, "direct") ? M_DIRECT :
			    !strcmp(optarg, "plain") ? M_PLAIN : M_STARTTLS;
			break;
		case 'M':
			if (!strcmp(optarg, "PLAIN"))
				o.mech = X_PLAIN;
			else if (!strcmp(optarg, "SCRAM-SHA-256"))
				o.mech = X_SCRAM;
			else if (!strcmp(optarg, "HT-SHA-256-NONE"))
				o.mech = X_FAST;
			else
				usage();
			break;
		case 'K': o.tokfile = optarg; break;
		case 'c': o.conc = atoi(optarg); break;
		case 'P': o.procs = atoi(optarg); break;
		case 't': o.secs = atof(optarg); break;
		case 'n': o.max = atoi(optarg); break;
		case 'D': o.dir = optarg; break;
		case 'b': o.bytes = strtoull(optarg, NULL, 10); break;
		case 'r': reqfile = optarg; break;
		case 'R': rawfile = optarg; break;
		case 'H': header = 1; break;
		case 'B': o.bind = 1; break;
		default: usage();
		}
	}
	if (o.conc < 1 || o.procs < 1 || o.procs > o.conc)
		usage();
	if (o.user != NULL && o.pass == NULL)
		usage();
	/* SASL2 is offered after TLS only; FAST needs its token. */
	if (o.mech != X_PLAIN && (o.user == NULL || o.mode == M_PLAIN))
		usage();
	if (o.mech == X_FAST) {
		FILE *f = o.tokfile != NULL ? fopen(o.tokfile, "r") : NULL;
		size_t tl;

		if (f == NULL || fgets(token, sizeof token, f) == NULL ||
		    (tl = strcspn(token, "\n")) == 0 || tl >= TOKEN_MAX) {
			fprintf(stderr, "xgload: fatal: no FAST token in -K %s\n",
			    o.tokfile != NULL ? o.tokfile : "(not given)");
			exit(100);
		}
		token[tl] = '\0';
		fclose(f);
	}
	if (!strcmp(cmd, "login"))
		return cmd_login();
	if (!strcmp(cmd, "bulk"))
		return cmd_bulk();
	if (!strcmp(cmd, "hold"))
		return cmd_hold();
	if (!strcmp(cmd, "ttfb"))
		return optind < argc ? cmd_ttfb(argv + optind, reqfile) : 1;
	if (!strcmp(cmd, "spawn"))
		return optind < argc && reqfile != NULL ?
		    cmd_spawn(argv + optind, reqfile) : 1;
	if (!strcmp(cmd, "sink"))
		return cmd_sink(header);
	usage();
	return 100;
}
