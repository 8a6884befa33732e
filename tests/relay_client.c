/*
 * relay_client: a test client for xmppgate's relay (tests/t-relay.sh).
 *
 *   relay_client --port P [--host H] --ca CA.pem --domain D --user U
 *       --password PW --send BYTES [--timeout SEC] [--key-update BYTES]
 *
 * Logs in through xmppgate (stream, STARTTLS, SASL PLAIN) and then, in
 * full duplex, sends BYTES pseudo-random bytes (splitmix64, fixed seed)
 * followed by a TLS close_notify (gnutls_bye(GNUTLS_SHUT_WR), a half
 * close) from one thread, while the main thread reads until the peer's
 * close_notify.  Both streams are hashed with SHA-256.  On success it
 * prints exactly one line on stdout,
 *
 *   sent=N sent_sha256=HEX received=M received_sha256=HEX close=close_notify
 *
 * and exits 0; on any failure (including a connection that ends without
 * close_notify) it prints "ERROR: reason" on stderr and exits 1.  The
 * whole run is bounded by --timeout (alarm(2)).
 *
 * With --key-update EVERY the client is sequential instead: it sends
 * everything, asking for a TLS 1.3 KeyUpdate (update_requested) every EVERY
 * bytes, then close_notify, and only then reads (GnuTLS allows a key update
 * only while no other thread uses the session).  The server must then keep
 * reading while its own writes are blocked, and answer the key updates in
 * the middle of its sending.  The line gets " key_updates=N" appended.
 *
 * --priority STRING sets the GnuTLS priority string (default: GnuTLS's
 * default), to pick the TLS version and cipher (tests/t-ktls-uml.sh); the
 * line then gets " tls=VERSION/CIPHER" appended, what was negotiated.
 * --fatal-alert ends the sending half with a fatal internal_error alert
 * instead of close_notify; the server must then end the session (the
 * client exits 1: no close_notify comes back).
 * --restart restarts the stream after <success/> and waits for the
 * server's features (connect mode, where xmppgate answers the restart
 * with the backend's features) before the relay; without it the relay
 * starts right after <success/> (exec mode, where the program gets the
 * restarted stream as it comes).
 * --empty-records sends, after each chunk, a TLS 1.3 record of no data
 * and 32 bytes of padding (RFC 8446 5.1, 5.4): the relay must skip it.
 *
 * Everything before the relay is read one byte at a time, so that neither
 * the TLS handshake's first bytes (after <proceed/>) nor the first relayed
 * bytes (after <success/>) are consumed as XMPP.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/types.h>
#include <sys/socket.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

#define IO_CHUNK		(64 * 1024)	/* bytes per send/recv call */
#define XML_WINDOW		16384	/* pre-relay text kept for matching */
#define ERR_TEXT_MAX		2048	/* server text quoted in an error */
#define STANZA_MAX		4096	/* one element we send */
#define DEFAULT_TIMEOUT_S	120
#define MAX_TIMEOUT_S		86400
#define SHA256_LEN		32
#define SEED			UINT64_C(0x786d70706761746b)

#define NS_TLS	"urn:ietf:params:xml:ns:xmpp-tls"
#define NS_SASL	"urn:ietf:params:xml:ns:xmpp-sasl"

/* The connection before and after STARTTLS. */
struct xconn {
	int			fd;
	gnutls_session_t	tls;	/* NULL before the handshake */
};

/* The text read while waiting for an element, oldest bytes dropped. */
struct window {
	char	buf[XML_WINDOW + 1];
	size_t	len;
};

struct sender {
	gnutls_session_t	tls;
	uint64_t		total;
	uint64_t		sent;
	uint64_t		ku_every;	/* 0: no key updates */
	uint64_t		key_updates;
	int			fatal_alert;	/* not close_notify */
	int			empty_records;	/* one after each chunk */
	unsigned char		digest[SHA256_LEN];
	uint8_t			buf[IO_CHUNK];
};

static char	timeout_msg[128];
static size_t	timeout_msg_len;

static void	die(const char *, ...)
		    __attribute__((noreturn, format(printf, 1, 2)));
static void	on_alarm(int) __attribute__((noreturn));
static int	get_byte(struct xconn *, const char *);
static void	put_all(struct xconn *, const void *, size_t, const char *);
static void	send_text(struct xconn *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static int	ends_with(const struct window *, const char *);
static void	window_add(struct window *, char);
static void	wait_for(struct xconn *, struct window *, const char *);
static void	finish_element(struct xconn *, const char *);
static void	stream_start(struct xconn *, const char *, const char *);
static int	tcp_connect(const char *, const char *);
static const char *priority;	/* --priority, or NULL */

static void	tls_start(struct xconn *, gnutls_certificate_credentials_t,
		    const char *);
static void	sasl_plain(struct xconn *, const char *, const char *);
static uint64_t	splitmix64(uint64_t *);
static void	fill(uint8_t *, size_t, uint64_t *);
static void	*send_main(void *);
static void	hex(const unsigned char *, size_t, char *);
static uint64_t	parse_u64(const char *, const char *, uint64_t);
static void	usage(void) __attribute__((noreturn));

/* Threads may die too: _exit, so nothing runs under the other's feet. */
static void
die(const char *fmt, ...)
{
	char msg[ERR_TEXT_MAX + 256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "ERROR: %s\n", msg);
	fflush(NULL);
	_exit(1);
}

static void
on_alarm(int sig)
{
	ssize_t r;

	(void)sig;
	r = write(2, timeout_msg, timeout_msg_len);
	(void)r;
	_exit(1);
}

/* One byte, or -1 at the end of the stream; what names the wait. */
static int
get_byte(struct xconn *x, const char *what)
{
	unsigned char ch;
	ssize_t r;

	for (;;) {
		if (x->tls == NULL) {
			r = read(x->fd, &ch, 1);
			if (r == 1)
				return ch;
			if (r == 0)
				return -1;
			if (errno == EINTR)
				continue;
			die("reading %s: %s", what, strerror(errno));
		}
		r = gnutls_record_recv(x->tls, &ch, 1);
		if (r == 1)
			return ch;
		if (r == 0)
			return -1;
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
			continue;
		if (r == GNUTLS_E_PREMATURE_TERMINATION)
			return -1;
		die("reading %s: %s", what, gnutls_strerror((int)r));
	}
}

static void
put_all(struct xconn *x, const void *p, size_t n, const char *what)
{
	const uint8_t *b = p;
	ssize_t r;

	while (n > 0) {
		if (x->tls == NULL)
			r = send(x->fd, b, n, MSG_NOSIGNAL);
		else
			r = gnutls_record_send(x->tls, b, n);
		if (x->tls == NULL && r == -1) {
			if (errno == EINTR)
				continue;
			die("sending %s: %s", what, strerror(errno));
		}
		if (x->tls != NULL && r < 0) {
			if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
				continue;
			die("sending %s: %s", what, gnutls_strerror((int)r));
		}
		b += r;
		n -= (size_t)r;
	}
}

static void
send_text(struct xconn *x, const char *fmt, ...)
{
	char text[STANZA_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(text))
		die("internal: element longer than %d bytes", STANZA_MAX);
	put_all(x, text, (size_t)n, "XML");
}

static int
ends_with(const struct window *w, const char *s)
{
	size_t n = strlen(s);

	return w->len >= n && memcmp(w->buf + w->len - n, s, n) == 0;
}

static void
window_add(struct window *w, char c)
{
	if (w->len == XML_WINDOW) {
		memmove(w->buf, w->buf + XML_WINDOW / 2, XML_WINDOW / 2);
		w->len = XML_WINDOW / 2;
	}
	w->buf[w->len++] = c;
	w->buf[w->len] = '\0';
}

/*
 * Read until the text ends with target.  A SASL <failure>, a stream error,
 * the server's </stream:stream> or the end of the connection is fatal, and
 * quoted (what the server said is the best diagnostic).
 */
static void
wait_for(struct xconn *x, struct window *w, const char *target)
{
	static const char *const bad[][2] = {
		{ "<failure", "</failure>" },
		{ "<stream:error", "</stream:error>" },
		{ "</stream:stream>", NULL },
	};
	size_t i, start;
	int c;

	w->len = 0;
	w->buf[0] = '\0';
	for (;;) {
		if ((c = get_byte(x, target)) == -1)
			die("connection closed while waiting for %s; got: %s",
			    target, w->buf);
		window_add(w, (char)c);
		if (ends_with(w, target))
			return;
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			if (!ends_with(w, bad[i][0]))
				continue;
			start = w->len - strlen(bad[i][0]);
			/* The rest of it, for the message, within limits. */
			while (bad[i][1] != NULL && !ends_with(w, bad[i][1]) &&
			    w->len - start < ERR_TEXT_MAX &&
			    (c = get_byte(x, bad[i][1])) != -1)
				window_add(w, (char)c);
			die("server sent %.*s while waiting for %s",
			    ERR_TEXT_MAX, w->buf + start, target);
		}
	}
}

/*
 * After "<name": the rest of the start tag (quotes respected) and, unless
 * it was empty, everything up to "</name>".  Not a byte more.
 */
static void
finish_element(struct xconn *x, const char *name)
{
	struct window w;
	char end[80];
	int c, q = 0, prev = 0, first = 1;

	for (;;) {
		if ((c = get_byte(x, name)) == -1)
			die("connection closed inside <%s>", name);
		if (first && c != ' ' && c != '\t' && c != '\r' && c != '\n' &&
		    c != '/' && c != '>')
			die("expected <%s>, got <%s%c...", name, name, c);
		first = 0;
		if (q) {
			if (c == q)
				q = 0;
		} else if (c == '\'' || c == '"')
			q = c;
		else if (c == '>')
			break;
		prev = c;
	}
	if (prev == '/')
		return;
	snprintf(end, sizeof(end), "</%s>", name);
	wait_for(x, &w, end);
}

static void
stream_start(struct xconn *x, const char *domain, const char *phase)
{
	struct window w;

	send_text(x, "<?xml version='1.0'?><stream:stream xmlns='jabber:client'"
	    " xmlns:stream='http://etherx.jabber.org/streams' to='%s'"
	    " version='1.0'>", domain);
	wait_for(x, &w, "</stream:features>");
	if (strstr(w.buf, "<stream:stream") == NULL)
		die("%s: no stream header from the server: %s", phase, w.buf);
	if (x->tls == NULL && strstr(w.buf, "<starttls") == NULL)
		die("%s: STARTTLS not offered: %s", phase, w.buf);
	if (x->tls != NULL && strcmp(phase, "after TLS") == 0 &&
	    strstr(w.buf, ">PLAIN<") == NULL)
		die("%s: PLAIN not offered: %s", phase, w.buf);
}

static int
tcp_connect(const char *host, const char *port)
{
	struct addrinfo hints, *res, *ai;
	int fd = -1, e, save = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((e = getaddrinfo(host, port, &hints, &res)) != 0)
		die("%s port %s: %s", host, port, gai_strerror(e));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd == -1) {
			save = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		save = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		die("connect to %s port %s: %s", host, port, strerror(save));
	return fd;
}

static void
tls_start(struct xconn *x, gnutls_certificate_credentials_t cred,
    const char *domain)
{
	gnutls_session_t s;
	gnutls_datum_t out;
	unsigned int status;
	int r;

	if ((r = gnutls_init(&s, GNUTLS_CLIENT | GNUTLS_NO_SIGNAL)) < 0 ||
	    (r = priority != NULL ? gnutls_priority_set_direct(s, priority,
	    NULL) : gnutls_set_default_priority(s)) < 0 ||
	    (r = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred)) < 0 ||
	    (r = gnutls_server_name_set(s, GNUTLS_NAME_DNS, domain,
	    strlen(domain))) < 0)
		die("TLS set-up: %s", gnutls_strerror(r));
	gnutls_session_set_verify_cert(s, domain, 0);
	gnutls_transport_set_int(s, x->fd);
	do
		r = gnutls_handshake(s);
	while (r < 0 && !gnutls_error_is_fatal(r));
	if (r == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
		status = gnutls_session_get_verify_cert_status(s);
		if (gnutls_certificate_verification_status_print(status,
		    gnutls_certificate_type_get(s), &out, 0) == 0)
			die("TLS handshake: certificate: %s", out.data);
	}
	if (r < 0)
		die("TLS handshake: %s", gnutls_strerror(r));
	x->tls = s;
}

static void
sasl_plain(struct xconn *x, const char *user, const char *password)
{
	char msg[STANZA_MAX];
	gnutls_datum_t in, out;
	size_t ul = strlen(user), pl = strlen(password);
	struct window w;
	int r;

	if (2 + ul + pl > sizeof(msg))
		die("user name and password too long");
	msg[0] = '\0';
	memcpy(msg + 1, user, ul);
	msg[1 + ul] = '\0';
	memcpy(msg + 2 + ul, password, pl);
	in.data = (unsigned char *)msg;
	in.size = (unsigned int)(2 + ul + pl);
	if ((r = gnutls_base64_encode2(&in, &out)) < 0)
		die("base64: %s", gnutls_strerror(r));
	explicit_bzero(msg, sizeof(msg));
	send_text(x, "<auth xmlns='" NS_SASL "' mechanism='PLAIN'>%.*s</auth>",
	    (int)out.size, (const char *)out.data);
	explicit_bzero(out.data, out.size);
	gnutls_free(out.data);
	wait_for(x, &w, "<success");
	finish_element(x, "success");
}

/* splitmix64 (Steele, Lea, Flood 2014): fast, and fine for test data. */
static uint64_t
splitmix64(uint64_t *state)
{
	uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static void
fill(uint8_t *p, size_t n, uint64_t *state)
{
	uint64_t v;
	size_t i;

	for (i = 0; i + sizeof(v) <= n; i += sizeof(v)) {
		v = splitmix64(state);
		memcpy(p + i, &v, sizeof(v));
	}
	if (i < n) {
		v = splitmix64(state);
		memcpy(p + i, &v, n - i);
	}
}

/* The sending half: data, then close_notify (our write side only). */
static void *
send_main(void *arg)
{
	struct sender *sd = arg;
	gnutls_hash_hd_t h;
	uint64_t state = SEED;
	size_t n, off;
	ssize_t r;
	int e;

	if ((e = gnutls_hash_init(&h, GNUTLS_DIG_SHA256)) < 0)
		die("sha256: %s", gnutls_strerror(e));
	while (sd->sent < sd->total) {
		n = sd->total - sd->sent < IO_CHUNK ?
		    (size_t)(sd->total - sd->sent) : IO_CHUNK;
		fill(sd->buf, n, &state);
		gnutls_hash(h, sd->buf, n);
		for (off = 0; off < n; off += (size_t)r) {
			r = gnutls_record_send(sd->tls, sd->buf + off, n - off);
			if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
				r = 0;
			else if (r < 0)
				die("send after %" PRIu64 " bytes: %s",
				    sd->sent + off, gnutls_strerror((int)r));
		}
		sd->sent += n;
		if (sd->empty_records) {
			/* A zero-length application data record (RFC 8446
			 * 5.1 allows them; some stacks send them): GnuTLS
			 * refuses to send 0 bytes, but not 0 bytes with
			 * TLS 1.3's padding, which the receiver strips. */
			do
				r = gnutls_record_send2(sd->tls, "", 0, 32, 0);
			while (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED);
			if (r < 0)
				die("an empty record: %s",
				    gnutls_strerror((int)r));
		}
		if (sd->ku_every > 0 &&
		    sd->sent / sd->ku_every != (sd->sent - n) / sd->ku_every) {
			do
				e = gnutls_session_key_update(sd->tls,
				    GNUTLS_KU_PEER);
			while (e == GNUTLS_E_AGAIN || e == GNUTLS_E_INTERRUPTED);
			if (e < 0)
				die("key update after %" PRIu64 " bytes: %s",
				    sd->sent, gnutls_strerror(e));
			sd->key_updates++;
		}
	}
	gnutls_hash_deinit(h, sd->digest);
	if (sd->fatal_alert) {
		do
			e = gnutls_alert_send(sd->tls, GNUTLS_AL_FATAL,
			    GNUTLS_A_INTERNAL_ERROR);
		while (e == GNUTLS_E_AGAIN || e == GNUTLS_E_INTERRUPTED);
		if (e < 0)
			die("sending an alert: %s", gnutls_strerror(e));
		return NULL;
	}
	do
		e = gnutls_bye(sd->tls, GNUTLS_SHUT_WR);
	while (e == GNUTLS_E_AGAIN || e == GNUTLS_E_INTERRUPTED);
	if (e < 0)
		die("sending close_notify: %s", gnutls_strerror(e));
	return NULL;
}

static void
hex(const unsigned char *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static uint64_t
parse_u64(const char *opt, const char *s, uint64_t max)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end != '\0' || *s < '0' || *s > '9' ||
	    v > max)
		die("%s wants a number from 0 to %" PRIu64 ", not '%s'", opt,
		    max, s);
	return (uint64_t)v;
}

static void
usage(void)
{
	fprintf(stderr, "usage: relay_client --port PORT [--host HOST] "
	    "--ca CA.pem --domain DOMAIN\n"
	    "           --user USER --password PASSWORD --send BYTES "
	    "[--timeout SECONDS]\n"
	    "           [--key-update BYTES] [--priority STRING] "
	    "[--fatal-alert] [--empty-records] [--restart]\n");
	exit(1);
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'p' },
		{ "ca", required_argument, NULL, 'c' },
		{ "domain", required_argument, NULL, 'd' },
		{ "user", required_argument, NULL, 'u' },
		{ "password", required_argument, NULL, 'w' },
		{ "send", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "key-update", required_argument, NULL, 'k' },
		{ "priority", required_argument, NULL, 'P' },
		{ "fatal-alert", no_argument, NULL, 'A' },
		{ "restart", no_argument, NULL, 'R' },
		{ "empty-records", no_argument, NULL, 'E' },
		{ NULL, 0, NULL, 0 },
	};
	static struct sender sd;
	static uint8_t rbuf[IO_CHUNK];
	const char *host = "127.0.0.1", *port = NULL, *ca = NULL;
	const char *domain = NULL, *user = NULL, *password = NULL;
	char sent_hex[2 * SHA256_LEN + 1], recv_hex[2 * SHA256_LEN + 1];
	unsigned char rdigest[SHA256_LEN];
	gnutls_certificate_credentials_t cred;
	gnutls_hash_hd_t h;
	struct xconn x;
	struct window w;
	uint64_t total = 0, received = 0, ku_every = 0;
	unsigned int timeout_s = DEFAULT_TIMEOUT_S;
	int ch, have_send = 0, restart = 0, r;
	pthread_t th;
	ssize_t n;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'H': host = optarg; break;
		case 'p': port = optarg; break;
		case 'c': ca = optarg; break;
		case 'd': domain = optarg; break;
		case 'u': user = optarg; break;
		case 'w': password = optarg; break;
		case 's':
			total = parse_u64("--send", optarg, UINT64_MAX);
			have_send = 1;
			break;
		case 't':
			timeout_s = (unsigned int)parse_u64("--timeout",
			    optarg, MAX_TIMEOUT_S);
			break;
		case 'P': priority = optarg; break;
		case 'A': sd.fatal_alert = 1; break;
		case 'R': restart = 1; break;
		case 'E': sd.empty_records = 1; break;
		case 'k':
			ku_every = parse_u64("--key-update", optarg,
			    UINT64_MAX);
			if (ku_every == 0)
				die("--key-update wants a number above 0");
			break;
		default:
			usage();
		}
	}
	if (optind != argc || port == NULL || ca == NULL || domain == NULL ||
	    user == NULL || password == NULL || !have_send || timeout_s == 0)
		usage();

	signal(SIGPIPE, SIG_IGN);
	timeout_msg_len = (size_t)snprintf(timeout_msg, sizeof(timeout_msg),
	    "ERROR: timed out after %u s\n", timeout_s);
	signal(SIGALRM, on_alarm);
	alarm(timeout_s);

	if ((r = gnutls_global_init()) < 0 ||
	    (r = gnutls_certificate_allocate_credentials(&cred)) < 0)
		die("GnuTLS: %s", gnutls_strerror(r));
	if ((r = gnutls_certificate_set_x509_trust_file(cred, ca,
	    GNUTLS_X509_FMT_PEM)) <= 0)
		die("%s: %s", ca, r == 0 ? "no certificate" :
		    gnutls_strerror(r));

	x.fd = tcp_connect(host, port);
	x.tls = NULL;
	stream_start(&x, domain, "before TLS");
	send_text(&x, "<starttls xmlns='" NS_TLS "'/>");
	wait_for(&x, &w, "<proceed");
	finish_element(&x, "proceed");
	tls_start(&x, cred, domain);
	stream_start(&x, domain, "after TLS");
	sasl_plain(&x, user, password);
	if (restart)
		stream_start(&x, domain, "after the login");

	/* The relay, both ways at once (or one after the other). */
	sd.tls = x.tls;
	sd.total = total;
	sd.ku_every = ku_every;
	if (ku_every > 0) {
		if (gnutls_protocol_get_version(x.tls) != GNUTLS_TLS1_3)
			die("--key-update needs TLS 1.3, not %s",
			    gnutls_protocol_get_name(
			    gnutls_protocol_get_version(x.tls)));
		send_main(&sd);
	} else if ((r = pthread_create(&th, NULL, send_main, &sd)) != 0)
		die("pthread_create: %s", strerror(r));
	if ((r = gnutls_hash_init(&h, GNUTLS_DIG_SHA256)) < 0)
		die("sha256: %s", gnutls_strerror(r));
	for (;;) {
		n = gnutls_record_recv(x.tls, rbuf, sizeof(rbuf));
		if (n > 0) {
			gnutls_hash(h, rbuf, (size_t)n);
			received += (uint64_t)n;
		} else if (n == 0)
			break;	/* close_notify */
		else if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			continue;
		else if (n == GNUTLS_E_PREMATURE_TERMINATION)
			die("the connection ended without close_notify after "
			    "%" PRIu64 " bytes received", received);
		else
			die("receive after %" PRIu64 " bytes: %s", received,
			    gnutls_strerror((int)n));
	}
	gnutls_hash_deinit(h, rdigest);
	if (ku_every == 0 && (r = pthread_join(th, NULL)) != 0)
		die("pthread_join: %s", strerror(r));
	alarm(0);

	hex(sd.digest, SHA256_LEN, sent_hex);
	hex(rdigest, SHA256_LEN, recv_hex);
	printf("sent=%" PRIu64 " sent_sha256=%s received=%" PRIu64
	    " received_sha256=%s close=close_notify", sd.sent, sent_hex,
	    received, recv_hex);
	if (ku_every > 0)
		printf(" key_updates=%" PRIu64, sd.key_updates);
	if (priority != NULL)
		printf(" tls=%s/%s", gnutls_protocol_get_name(
		    gnutls_protocol_get_version(x.tls)), gnutls_cipher_get_name(
		    gnutls_cipher_get(x.tls)));
	printf("\n");
	if (fflush(stdout) == EOF || ferror(stdout))
		die("stdout: %s", strerror(errno));

	gnutls_deinit(x.tls);
	close(x.fd);
	gnutls_certificate_free_credentials(cred);
	gnutls_global_deinit();
	return 0;
}
