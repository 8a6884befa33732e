/*
 * xmppgate: an XMPP front door.  One process per client connection:
 * stream, STARTTLS, SASL PLAIN checked by a helper, then a backend login
 * (or an exec'd program), then a byte relay.  main() is the table of
 * contents; each phase is one function below or one file.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <gnutls/crypto.h>
#include <gnutls/socket.h>
#include "xmppgate.h"

#define DRAIN_MS		2000	/* reading after our close, so no RST */
#define EXEC_WAIT_MS		5000	/* for the exec'd program to exit */
#define TLS_HANDSHAKE_RECORD	0x16	/* first byte of a ClientHello */
#define STACK_WIPE		(64 * 1024)	/* stack cleared after auth */
#define FREE_FILL		0xa5	/* freed heap bytes before the relay */

struct session {
	const struct options *o;
	struct conn *c;
	struct tlsctx *tls;
	struct xp xp;
	uint8_t	buf[XG_READ_BUF];	/* client bytes not yet parsed */
	size_t	len;
	int64_t	deadline;		/* end of the pre-auth phase */
	int64_t	header_deadline;	/* for the awaited stream header */
	int	want_header;		/* next_event waits for a header */
	int	restarting;		/* after <success/>: stream_restart() */
	int	first_checked;		/* first byte looked at (Direct TLS) */
	int	header_sent;
	int	failed;			/* failed authentication attempts */
	enum xg_sasl_failure last_failure;
	int	exitcode;
	char	fail_text[XG_FAILURE_TEXT_MAX + 1];	/* helper's message= */
	int	fail_delay_ms;		/* helper's delay=, or -1 */
	int	cb_mask;		/* SCRAM_CB_* this connection has */
	int	plus_offered;		/* a -PLUS mechanism was offered */
	struct scram scram;		/* the SCRAM exchange */
	struct scram_creds screds;	/* ... and the helper's credentials */
	char	success_data[128];	/* SCRAM's server-final, base64 */
	struct conn bc;			/* the backend (and its TLS) */
	char	bfeat[XG_FEATURES_MAX];	/* its features after the login */
	size_t	bfeat_len;
	pid_t	pump;			/* ... carried by this child, or 0 */
	int	db;			/* s2s: the remote declared dialback */
	size_t	hdrlen;			/* s2s: its last header, in raw */
	struct netaddr s2s_backend;	/* s2s: where its stream goes */
	int	keep_raw;		/* route mode: keep what was read */
	uint8_t	raw[XG_READ_BUF];	/* ... every byte, for the backend */
	size_t	rawlen;
};

/* Route mode's map (route.c), read at the connection's start. */
static char	routemap[XG_ROUTE_MAP_MAX];
static size_t	routemap_len;

static void std_fds_open(void);
static void usage(FILE *, int) __attribute__((noreturn));
static int new_ticket_key(const char *);
static void usage_error(const char *, ...)
    __attribute__((noreturn, format(printf, 1, 2)));
static void parse_options(int, char **, struct options *);
static void parse_mechanisms(const char *, struct options *);
static void route_options(struct options *, const char *);
static void pool_options(struct options *);
static int finish(struct session *, int, const char *, ...)
    __attribute__((format(printf, 3, 4)));
static int stream_error(struct session *, enum xg_stream_error,
    const char *, int, const char *, ...)
    __attribute__((format(printf, 5, 6)));
static int next_event(struct session *, struct xp_event *);
static int proxy_accept(struct session *);
static int arrive(struct session *);
static int stream_header(struct session *);
static int stream_open(struct session *);
static int stream_restart(struct session *);
static int starttls(struct session *);
static int sasl(struct session *, struct plain_creds *, struct auth_reply *,
    int *);
static int handoff(struct session *, int);
static int route_start(struct session *);
static void s2s_options(struct options *, const char *);
static int s2s_stream(struct session *);
static int s2s_external(struct session *);
static int s2s_handoff(struct session *, int, const char *);
static int loopback_backend(const struct netaddr *);
static int route_stream(struct session *);
static enum auth_verdict check(struct session *, const struct auth_request *,
    struct auth_reply *, char *, size_t);

int
main(int argc, char **argv)
{
	static struct options o;
	static struct conn c;
	static struct session s;
	static struct plain_creds creds;
	static struct auth_reply reply;
	struct tlsctx tls;
	char err[XG_REASON_MAX];
	int bfd = -1;

	/* Writes to a gone peer or helper are errors, not deaths; SIGCHLD
	 * stays default so that waitpid() sees the helper's status. */
	/* Run by a checkpassword program that accepted (authproto.c). */
	if (argc == 2 && strcmp(argv[1], "--checkpassword-reply") == 0)
		return checkpassword_reply();
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	/* Until the relay, glibc overwrites every freed block: what GnuTLS
	 * decrypted (an <auth> payload) and freed is gone with it. */
	mallopt(M_PERTURB, FREE_FILL);
	std_fds_open();
	parse_options(argc, argv, &o);
	/* --listen: the pool's parent stays in pool_serve(); each child
	 * returns here with its connection on fds 0 and 1, the TLS state
	 * loaded and privileges dropped (pool.c). */
	if (o.listen)
		pool_serve(&o, &tls, argv);
	if (conn_init(&c) == -1) {
		log_init(1, o.verbose, 0);
		xg_log(LOG_ERR, "fatal: unable to find the connection: %s",
		    strerror(errno));
		return XG_EXIT_TEMP;
	}
	log_init(o.use_syslog, o.verbose, c.rfd);
	log_conn(&c);
	s.o = &o;
	s.c = &c;
	s.tls = &tls;
	s.deadline = c.start_ms + (int64_t)o.timeout * 1000;
	s.fail_delay_ms = -1;
	xg_debug("connection from %s:%s", c.remote_ip, c.remote_port);

	/* Route mode: one plaintext header picks the backend, which does
	 * STARTTLS and SASL itself; then splice(2) both ways. */
	if (o.route != NULL) {
		if (route_start(&s) == 0 &&	/* the map, privileges */
		    proxy_accept(&s) == 0)	/* the load balancer's word */
			route_stream(&s);	/* header, backend, splice */
		return s.exitcode;
	}

	/* --cert/--key, --client-ca and --ticket-key are read before any
	 * byte from the client (--cert-dir and --cert-helper: the domain's
	 * certificate once its name is known).  The client learns only that
	 * the server is broken, the log says why. */
	if ((o.listen ? pool_tls_error(err, sizeof(err)) :
	    tls_load(&tls, &o, err, sizeof(err))) == -1) {
		stream_error(&s, XG_SE_INTERNAL_SERVER_ERROR,
		    "server configuration error", XG_EXIT_TEMP, "%s", err);
		return s.exitcode;
	}
	if (!o.listen && priv_drop(o.user, err, sizeof(err)) == -1) {
		stream_error(&s, XG_SE_INTERNAL_SERVER_ERROR,
		    "server configuration error", XG_EXIT_TEMP, "%s", err);
		tls_free(&tls);
		return s.exitcode;
	}

	/* Federation: a server's stream, STARTTLS with its certificate
	 * asked for, then EXTERNAL (or XEP-0344) when the certificate names
	 * it, or the backend's own dialback when it does not. */
	if (o.s2s) {
		s.xp.s2s = 1;
		c.cert_status = "none";	/* until TLS says more */
		if (proxy_accept(&s) == 0 &&	/* the load balancer's word */
		    stream_open(&s) == 0 &&	/* header, STARTTLS required */
		    starttls(&s) == 0 &&	/* TLS, a certificate asked */
		    s2s_stream(&s) == 0)	/* certificate, policy (or the
						 * dialback pass-through) */
			s2s_external(&s);	/* EXTERNAL, hand-off, relay */
		explicit_bzero(s.buf, sizeof(s.buf));
		tls_free(&tls);
		return s.exitcode;
	}

	/* Each phase returns -1 once finish() has logged the summary. */
	if (proxy_accept(&s) == 0 &&		/* the load balancer's word */
	    arrive(&s) == 0 &&			/* Direct TLS, or STARTTLS */
	    stream_open(&s) == 0 &&		/* header, mechanisms */
	    sasl(&s, &creds, &reply, &bfd) == 0) /* SASL, helper, login */
		handoff(&s, bfd);		/* <success/>, relay */
	/* Every path ends here: no credential outlives the session. */
	plain_wipe(&creds);
	auth_reply_wipe(&reply);
	explicit_bzero(s.buf, sizeof(s.buf));
	explicit_bzero(&s.xp, sizeof(s.xp));
	scram_wipe(&s.scram);
	explicit_bzero(&s.screds, sizeof(s.screds));
	tls_free(&tls);
	return s.exitcode;
}

/* A closed fd 0, 1 or 2 would be reused by the next open(): fill it. */
static void
std_fds_open(void)
{
	int fd;

	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2)
		;
	if (fd > 2)
		close(fd);
}

/* --new-ticket-key FILE: a new key, written whole or not at all. */
static int
new_ticket_key(const char *path)
{
	char key[XG_TICKET_KEY_B64 + 2], tmp[PATH_MAX];
	size_t n;
	int fd, ok;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp))
		usage_error("--new-ticket-key: path too long");
	if (tls_new_ticket_key(key, sizeof(key)) == -1) {
		fprintf(stderr, "xmppgate: unable to make a ticket key\n");
		return XG_EXIT_TEMP;
	}
	n = strlen(key);
	key[n++] = '\n';
	/* mkstemp: mode 0600, and a name nobody else can have taken. */
	if ((fd = mkstemp(tmp)) == -1) {
		fprintf(stderr, "xmppgate: %s: %s\n", tmp, strerror(errno));
		explicit_bzero(key, sizeof(key));
		return XG_EXIT_TEMP;
	}
	ok = write(fd, key, n) == (ssize_t)n && fsync(fd) == 0;
	explicit_bzero(key, sizeof(key));
	if (close(fd) == -1 || !ok || rename(tmp, path) == -1) {
		fprintf(stderr, "xmppgate: unable to write %s: %s\n", path,
		    strerror(errno));
		unlink(tmp);
		return XG_EXIT_TEMP;
	}
	return XG_EXIT_OK;
}

static void
usage(FILE *f, int code)
{
	fprintf(f,
"usage: xmppgate [options] (--cert FILE --key FILE --domain NAME |\n"
"                --cert-dir DIR | --cert-helper PATH) --auth PATH\n"
"                (--backend ADDR | -- PROG [ARG ...])\n"
"       xmppgate --s2s (--cert FILE --key FILE --domain NAME | --cert-dir DIR\n"
"                | --cert-helper PATH) [--auth PATH]\n"
"                (--backend ADDR --proxy-protocol v2 | -- PROG [ARG ...])\n"
"       xmppgate --route FILE [options]\n"
"       xmppgate --new-ticket-key FILE\n"
"  -c, --cert FILE              certificate chain (PEM)\n"
"  -k, --key FILE               private key (PEM)\n"
"      --ocsp FILE              OCSP response to staple, with --cert (DER)\n"
"      --cert-dir DIR           DIR/DOMAIN/fullchain.pem and privkey.pem\n"
"      --cert-helper PATH       certificate helper, see xmppgate-cert(5)\n"
"      --cert-timeout SEC       certificate helper time limit (10)\n"
"  -d, --domain NAME            a domain served (repeatable)\n"
"  -a, --auth PATH              auth helper, see xmppgate-auth(5)\n"
"      --auth-protocol NAME     xmppgate, checkpassword or ejabberd\n"
"      --auth-scram             the helper serves SCRAM credentials\n"
"      --sasl-mechanisms LIST   mechanisms offered, in order, comma separated\n"
"  -b, --backend ADDR           HOST:PORT, [IPV6]:PORT or unix:PATH\n"
"      --backend-tls MODE       starttls or direct TLS to the backend\n"
"      --backend-ca FILE        CAs for the backend (default: system)\n"
"      --proxy-protocol v1|v2   send a PROXY header to the backend\n"
"      --accept-proxy-protocol  read a PROXY header (v1 or v2) first ...\n"
"      --trusted-proxy ADDR[/BITS]  ... from these peers only (repeatable)\n"
"  -u, --user NAME              when started as root, run as NAME\n"
"      --direct-tls-only        only Direct TLS (XEP-0368)\n"
"      --starttls-only          only STARTTLS\n"
"      --ticket-key FILE        session ticket key shared by all processes\n"
"      --new-ticket-key FILE    write a new ticket key to FILE and exit\n"
"      --client-ca FILE         ask for client certificates (SASL EXTERNAL)\n"
"      --tls-priority STRING    GnuTLS priority string\n"
"      --route FILE             route mode: DOMAIN ADDR lines; the backend\n"
"                               does STARTTLS and SASL itself\n"
"      --no-splice              relay through user space, never splice(2)\n"
"      --listen                 pooled mode: on a listening socket, a child\n"
"                               per connection (xmppgate(8), POOLED MODE)\n"
"      --max-conns N            pooled: connections at once (1024)\n"
"      --max-conns-per-source N pooled: ... from one address or IPv6 /64\n"
"                               (256; 0 for no bound)\n"
"      --reexec-after N         pooled: re-exec after N connections (1000)\n"
"      --reexec-interval MIN    pooled: ... and every MIN minutes (60)\n""      --s2s                    server-to-server mode (federation, port 5269)\n"
"      --s2s-ca FILE            CAs for remote servers (default: system)\n"
"      --s2s-require-cert       refuse servers without a valid certificate\n"

"      --timeout SEC            pre-authentication time limit (60)\n"
"      --header-timeout SEC     time limit for each stream header (10)\n"
"      --handshake-timeout SEC  TLS handshake time limit (15)\n"
"      --auth-timeout SEC       helper time limit (10)\n"
"      --backend-timeout SEC    backend connect and login limit (10)\n"
"      --idle-timeout SEC       relay idle limit, 0 for none (0)\n"
"      --max-attempts N         authentication attempts (3)\n"
"      --auth-delay MS          first failure delay, doubling (1000)\n"
"  -l, --syslog                 log to syslog\n"
"  -v, --verbose                log the pre-authentication exchange\n"
"  -h, --help                   this text\n"
"  -V, --version                the version\n");
	exit(code);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("xmppgate: usage: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see xmppgate --help)\n", stderr);
	exit(XG_EXIT_USAGE);
}

static int
number(const char *opt, const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end != '\0' || !isdigit((unsigned char)*s) ||
	    v < min || v > max)
		usage_error("%s wants a number from %ld to %ld, not '%s'",
		    opt, min, max, s);
	return (int)v;
}

static void
parse_options(int argc, char **argv, struct options *o)
{
	enum { O_PRIO = 256, O_TIMEOUT, O_HDR, O_HS, O_AUTHT, O_BT, O_IDLE,
	    O_MAX, O_DELAY, O_OCSP, O_CDIR, O_CHELPER, O_CTIMEOUT, O_BTLS,
	    O_BCA, O_DIRECTTLS, O_STARTTLS, O_TICKET, O_NEWTICKET, O_CLIENTCA,
	    O_AUTHPROTO, O_PROXYOUT, O_PROXYIN, O_TRUSTED, O_SCRAM, O_MECHS,
	    O_ROUTE, O_NOSPLICE, O_S2S, O_S2SCA, O_S2SREQ,
	    O_LISTEN, O_MAXCONNS, O_PERSOURCE, O_REEXEC, O_REEXECMIN };
	static const struct option lo[] = {
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "domain", required_argument, NULL, 'd' },
		{ "auth", required_argument, NULL, 'a' },
		{ "backend", required_argument, NULL, 'b' },
		{ "user", required_argument, NULL, 'u' },
		{ "tls-priority", required_argument, NULL, O_PRIO },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "header-timeout", required_argument, NULL, O_HDR },
		{ "handshake-timeout", required_argument, NULL, O_HS },
		{ "auth-timeout", required_argument, NULL, O_AUTHT },
		{ "backend-timeout", required_argument, NULL, O_BT },
		{ "idle-timeout", required_argument, NULL, O_IDLE },
		{ "max-attempts", required_argument, NULL, O_MAX },
		{ "auth-delay", required_argument, NULL, O_DELAY },
		{ "ocsp", required_argument, NULL, O_OCSP },
		{ "cert-dir", required_argument, NULL, O_CDIR },
		{ "cert-helper", required_argument, NULL, O_CHELPER },
		{ "cert-timeout", required_argument, NULL, O_CTIMEOUT },
		{ "backend-tls", required_argument, NULL, O_BTLS },
		{ "backend-ca", required_argument, NULL, O_BCA },
		{ "direct-tls-only", no_argument, NULL, O_DIRECTTLS },
		{ "starttls-only", no_argument, NULL, O_STARTTLS },
		{ "ticket-key", required_argument, NULL, O_TICKET },
		{ "new-ticket-key", required_argument, NULL, O_NEWTICKET },
		{ "client-ca", required_argument, NULL, O_CLIENTCA },
		{ "auth-protocol", required_argument, NULL, O_AUTHPROTO },
		{ "proxy-protocol", required_argument, NULL, O_PROXYOUT },
		{ "accept-proxy-protocol", no_argument, NULL, O_PROXYIN },
		{ "trusted-proxy", required_argument, NULL, O_TRUSTED },
		{ "auth-scram", no_argument, NULL, O_SCRAM },
		{ "sasl-mechanisms", required_argument, NULL, O_MECHS },
		{ "route", required_argument, NULL, O_ROUTE },
		{ "no-splice", no_argument, NULL, O_NOSPLICE },
		{ "s2s", no_argument, NULL, O_S2S },
		{ "s2s-ca", required_argument, NULL, O_S2SCA },
		{ "s2s-require-cert", no_argument, NULL, O_S2SREQ },
		{ "listen", no_argument, NULL, O_LISTEN },
		{ "max-conns", required_argument, NULL, O_MAXCONNS },
		{ "max-conns-per-source", required_argument, NULL, O_PERSOURCE },
		{ "reexec-after", required_argument, NULL, O_REEXEC },
		{ "reexec-interval", required_argument, NULL, O_REEXECMIN },
		{ "syslog", no_argument, NULL, 'l' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static char domains[XG_DOMAINS_MAX][XG_DOMAIN_NAME_MAX + 1];
	static char self[PATH_MAX];
	const char *mechs = NULL;
	int ch;

	memset(o, 0, sizeof(*o));
	o->timeout = 60;
	o->header_timeout = 10;
	o->handshake_timeout = 15;
	o->auth_timeout = 10;
	o->backend_timeout = 10;
	o->max_attempts = 3;
	o->auth_delay_ms = 1000;
	o->cert_timeout = 10;
	o->max_conns = -1;		/* -1: not given (pooled mode's) */
	o->max_per_source = -1;
	o->reexec_conns = -1;
	o->reexec_minutes = -1;
	while ((ch = getopt_long(argc, argv, "+c:k:d:a:b:u:lvhV", lo, NULL))
	    != -1) {
		switch (ch) {
		case 'c': o->cert = optarg; break;
		case 'k': o->key = optarg; break;
		case 'a': o->auth = optarg; break;
		case 'u': o->user = optarg; break;
		case 'd':
			if (o->ndomains >= XG_DOMAINS_MAX)
				usage_error("at most %d --domain options",
				    XG_DOMAINS_MAX);
			if (xg_domain_normalize(optarg, domains[o->ndomains],
			    sizeof(domains[0])) == -1)
				usage_error("bad domain '%s' (ASCII, IDNs as "
				    "A-labels)", optarg);
			o->domains[o->ndomains] = domains[o->ndomains];
			o->ndomains++;
			break;
		case 'b':
			if (netaddr_parse(optarg, &o->backend) == -1)
				usage_error("bad backend address '%s'", optarg);
			o->has_backend = 1;
			break;
		case O_PRIO: o->tls_priority = optarg; break;
		case O_TIMEOUT:
			o->timeout = number("--timeout", optarg, 1, 3600);
			break;
		case O_HDR:
			o->header_timeout = number("--header-timeout",
			    optarg, 1, 3600);
			break;
		case O_HS:
			o->handshake_timeout = number("--handshake-timeout",
			    optarg, 1, 3600);
			break;
		case O_AUTHT:
			o->auth_timeout = number("--auth-timeout", optarg, 1,
			    3600);
			break;
		case O_BT:
			o->backend_timeout = number("--backend-timeout",
			    optarg, 1, 3600);
			break;
		case O_IDLE:
			o->idle_timeout = number("--idle-timeout", optarg, 0,
			    INT_MAX / 1000);
			break;
		case O_MAX:
			o->max_attempts = number("--max-attempts", optarg, 1,
			    XG_MAX_ATTEMPTS_MAX);
			break;
		case O_DELAY:
			o->auth_delay_ms = number("--auth-delay", optarg, 0,
			    XG_AUTH_DELAY_MAX);
			break;
		case O_OCSP: o->ocsp = optarg; break;
		case O_CDIR: o->cert_dir = optarg; break;
		case O_CHELPER: o->cert_helper = optarg; break;
		case O_CTIMEOUT:
			o->cert_timeout = number("--cert-timeout", optarg, 1,
			    3600);
			break;
		case O_BTLS:
			if (strcmp(optarg, "starttls") == 0)
				o->backend_tls = XG_BTLS_STARTTLS;
			else if (strcmp(optarg, "direct") == 0)
				o->backend_tls = XG_BTLS_DIRECT;
			else
				usage_error("--backend-tls wants starttls or "
				    "direct, not '%s'", optarg);
			break;
		case O_BCA: o->backend_ca = optarg; break;
		case O_DIRECTTLS:
			if (o->tls_mode == XG_TLS_STARTTLS_ONLY)
				usage_error("--direct-tls-only and "
				    "--starttls-only exclude each other");
			o->tls_mode = XG_TLS_DIRECT_ONLY;
			break;
		case O_STARTTLS:
			if (o->tls_mode == XG_TLS_DIRECT_ONLY)
				usage_error("--direct-tls-only and "
				    "--starttls-only exclude each other");
			o->tls_mode = XG_TLS_STARTTLS_ONLY;
			break;
		case O_TICKET: o->ticket_key = optarg; break;
		case O_NEWTICKET: exit(new_ticket_key(optarg));
		case O_CLIENTCA: o->client_ca = optarg; break;
		case O_AUTHPROTO:
			if (strcmp(optarg, "xmppgate") == 0)
				o->auth_protocol = XG_AP_NATIVE;
			else if (strcmp(optarg, "checkpassword") == 0)
				o->auth_protocol = XG_AP_CHECKPASSWORD;
			else if (strcmp(optarg, "ejabberd") == 0)
				o->auth_protocol = XG_AP_EJABBERD;
			else
				usage_error("--auth-protocol wants xmppgate, "
				    "checkpassword or ejabberd, not '%s'",
				    optarg);
			break;
		case O_PROXYOUT:
			if (strcmp(optarg, "v1") == 0)
				o->proxy_protocol = 1;
			else if (strcmp(optarg, "v2") == 0)
				o->proxy_protocol = 2;
			else
				usage_error("--proxy-protocol wants v1 or v2, "
				    "not '%s'", optarg);
			break;
		case O_PROXYIN: o->accept_proxy = 1; break;
		case O_SCRAM: o->auth_scram = 1; break;
		case O_MECHS: mechs = optarg; break;
		case O_TRUSTED:
			if (o->ntrusted >= XG_TRUSTED_PROXY_MAX)
				usage_error("at most %d --trusted-proxy options",
				    XG_TRUSTED_PROXY_MAX);
			if (cidr_parse(optarg, &o->trusted[o->ntrusted]) == -1)
				usage_error("--trusted-proxy wants an IP address "
				    "or ADDR/BITS with no host bits set, not "
				    "'%s'", optarg);
			o->ntrusted++;
			break;
		case O_ROUTE:
			if (optarg[0] != '/')
				usage_error("--route wants an absolute path");
			o->route = optarg;
			break;
		case O_NOSPLICE: o->no_splice = 1; break;
		case O_S2S: o->s2s = 1; break;
		case O_S2SCA: o->s2s_ca = optarg; break;
		case O_S2SREQ: o->s2s_require_cert = 1; break;
		case O_LISTEN: o->listen = 1; break;
		case O_MAXCONNS:
			o->max_conns = number("--max-conns", optarg, 1,
			    XG_POOL_CONNS_MAX);
			break;
		case O_PERSOURCE:
			o->max_per_source = number("--max-conns-per-source",
			    optarg, 0, XG_POOL_CONNS_MAX);
			break;
		case O_REEXEC:
			o->reexec_conns = number("--reexec-after", optarg, 0,
			    INT_MAX);
			break;
		case O_REEXECMIN:
			o->reexec_minutes = number("--reexec-interval",
			    optarg, 0, 525600);
			break;
		case 'l': o->use_syslog = 1; break;
		case 'v': o->verbose = 1; break;
		case 'h': usage(stdout, XG_EXIT_OK);
		case 'V':
			printf("xmppgate %s (GnuTLS %s)\n", PACKAGE_VERSION,
			    gnutls_check_version(NULL));
			exit(XG_EXIT_OK);
		default:
			usage(stderr, XG_EXIT_USAGE);
		}
	}
	if (optind < argc) {
		if (strcmp(argv[optind - 1], "--") != 0)
			usage_error("unexpected argument '%s'", argv[optind]);
		o->exec_argv = argv + optind;
	}
	if (o->route != NULL && o->s2s)
		usage_error("--route and --s2s exclude each other");
	pool_options(o);
	if (o->route != NULL) {
		route_options(o, mechs);
		return;
	}
	if (!o->s2s && (o->s2s_ca != NULL || o->s2s_require_cert))
		usage_error("--s2s-ca and --s2s-require-cert go with --s2s");
	if ((o->cert != NULL) != (o->key != NULL))
		usage_error("--cert and --key go together");
	if ((o->cert != NULL) + (o->cert_dir != NULL) +
	    (o->cert_helper != NULL) != 1)
		usage_error("give exactly one of --cert/--key, --cert-dir or "
		    "--cert-helper");
	if (o->cert != NULL && o->ndomains == 0)
		usage_error("--cert wants at least one --domain");
	if (o->ocsp != NULL && o->cert == NULL)
		usage_error("--ocsp goes with --cert (with --cert-dir, put "
		    "ocsp.der beside the certificate)");
	if (o->cert_helper != NULL && o->cert_helper[0] != '/')
		usage_error("--cert-helper wants an absolute path");
	if (o->backend_ca != NULL && o->backend_tls == XG_BTLS_NONE)
		usage_error("--backend-ca goes with --backend-tls");
	if (o->backend_tls != XG_BTLS_NONE && !o->has_backend)
		usage_error("--backend-tls goes with --backend");
	if (o->proxy_protocol && !o->has_backend)
		usage_error("--proxy-protocol goes with --backend");
	if (o->accept_proxy != (o->ntrusted > 0))
		usage_error("--accept-proxy-protocol and --trusted-proxy go "
		    "together");
	/* The checkpassword program execs us again as its next program. */
	if (o->auth_protocol == XG_AP_CHECKPASSWORD) {
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n <= 0 || (size_t)n >= sizeof(self) - 1)
			usage_error("--auth-protocol checkpassword: cannot find "
			    "this program in /proc/self/exe");
		self[n] = '\0';
		o->self = self;
	}
	if (o->s2s) {
		s2s_options(o, mechs);
		return;
	}
	if (o->auth_scram && o->auth_protocol != XG_AP_NATIVE)
		usage_error("--auth-scram needs --auth-protocol xmppgate: only "
		    "its helpers can serve stored SCRAM credentials");
	parse_mechanisms(mechs, o);
	if (o->auth == NULL)
		usage_error("--auth is required");
	if (o->auth[0] != '/')
		usage_error("--auth wants an absolute path");
	if (o->has_backend == (o->exec_argv != NULL))
		usage_error("give exactly one of --backend or -- PROG");
}

/* --listen and the bounds that go with it (pool.c). */
static void
pool_options(struct options *o)
{
	if (!o->listen && (o->max_conns != -1 || o->max_per_source != -1 ||
	    o->reexec_conns != -1 || o->reexec_minutes != -1))
		usage_error("--max-conns, --max-conns-per-source, "
		    "--reexec-after and --reexec-interval go with --listen");
	if (o->listen && o->route != NULL)
		usage_error("--listen does not take --route (yet): route mode "
		    "runs one process per connection");
	if (o->max_conns == -1)
		o->max_conns = XG_POOL_DEFAULT_CONNS;
	if (o->max_per_source == -1)
		o->max_per_source = XG_POOL_DEFAULT_PER_SOURCE;
	if (o->reexec_conns == -1)
		o->reexec_conns = XG_POOL_DEFAULT_REEXEC;
	if (o->reexec_minutes == -1)
		o->reexec_minutes = XG_POOL_DEFAULT_MINUTES;
}

/*
 * Route mode reads one plaintext stream header and nothing else: every
 * option about TLS, SASL or the login belongs to the backend now, and is
 * refused rather than silently ignored.
 */
static void
route_options(struct options *o, const char *mechs)
{
	if (o->cert != NULL || o->key != NULL || o->cert_dir != NULL ||
	    o->cert_helper != NULL || o->ocsp != NULL ||
	    o->client_ca != NULL || o->ticket_key != NULL ||
	    o->tls_priority != NULL || o->tls_mode != XG_TLS_BOTH)
		usage_error("--route: the backend does TLS itself; drop the "
		    "TLS options");
	if (o->auth != NULL || o->auth_scram || mechs != NULL ||
	    o->auth_protocol != XG_AP_NATIVE)
		usage_error("--route: the backend authenticates; drop --auth "
		    "and the SASL options");
	if (o->has_backend || o->exec_argv != NULL ||
	    o->backend_tls != XG_BTLS_NONE || o->backend_ca != NULL)
		usage_error("--route: the map names the backends; drop "
		    "--backend, --backend-tls and -- PROG");
	if (o->ndomains > 0)
		usage_error("--route: the map names the domains; drop "
		    "--domain");
	if (o->accept_proxy != (o->ntrusted > 0))
		usage_error("--accept-proxy-protocol and --trusted-proxy go "
		    "together");
}

/* A backend that may be told "xmppgate authenticated this server": only
 * this host can reach it.  Names are not resolved here, so only
 * addresses count. */
static int
loopback_backend(const struct netaddr *na)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (na->is_unix)
		return 1;
	if (inet_pton(AF_INET, na->host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, na->host, &a6) == 1 &&
	    IN6_IS_ADDR_LOOPBACK(&a6);
}

/*
 * --s2s: a server's stream.  The SASL of clients, client certificates and
 * TLS to the backend have no meaning here and are refused; the helper is
 * optional (federation policy).  The backend learns which server we
 * authenticated from a PROXY v2 header, so it must be one, on loopback.
 */
static void
s2s_options(struct options *o, const char *mechs)
{
	if (o->auth_scram || mechs != NULL || o->client_ca != NULL ||
	    o->auth_protocol != XG_AP_NATIVE)
		usage_error("--s2s: servers authenticate by certificate "
		    "(EXTERNAL) or dialback; drop --auth-scram, "
		    "--sasl-mechanisms, --client-ca and --auth-protocol");
	if (o->backend_tls != XG_BTLS_NONE)
		usage_error("--s2s: the backend is on this host; drop "
		    "--backend-tls");
	if (o->tls_mode == XG_TLS_DIRECT_ONLY)
		usage_error("--s2s: STARTTLS only; drop --direct-tls-only");
	if (o->ticket_key != NULL)
		usage_error("--s2s: every server shows its certificate in a "
		    "full handshake; drop --ticket-key");
	o->tls_mode = XG_TLS_STARTTLS_ONLY;
	if (o->auth != NULL && o->auth[0] != '/')
		usage_error("--auth wants an absolute path");
	if (o->has_backend == (o->exec_argv != NULL))
		usage_error("give exactly one of --backend or -- PROG");
	if (o->has_backend && o->proxy_protocol != 2)
		usage_error("--s2s --backend needs --proxy-protocol v2: its "
		    "header tells the backend which server is authenticated");
	if (o->has_backend && !loopback_backend(&o->backend))
		usage_error("--s2s: the backend must be a loopback address or "
		    "a UNIX socket (it trusts what the PROXY header says)");
}

/*
 * --sasl-mechanisms: names from PLAIN and the four SCRAM ones, each once.
 * By default SCRAM is offered, strongest first and before PLAIN, when the
 * helper serves its credentials (--auth-scram); PLAIN alone otherwise.
 * EXTERNAL is not listed: it is offered first whenever a client
 * certificate verified.
 */
static void
parse_mechanisms(const char *list, struct options *o)
{
	static const char *const with_scram[] = { "SCRAM-SHA-256-PLUS",
	    "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN" };
	static char copy[256];
	enum scram_hash h;
	char *p, *tok;
	size_t i;
	int plus = 0;

	if (list == NULL) {
		if (o->auth_scram)
			for (i = 0; i < 5; i++)
				o->mechs[o->nmechs++] = with_scram[i];
		else
			o->mechs[o->nmechs++] = "PLAIN";
		return;
	}
	if (strlen(list) >= sizeof(copy))
		usage_error("--sasl-mechanisms: list too long");
	strcpy(copy, list);
	for (p = copy; (tok = strsep(&p, ",")) != NULL; ) {
		if (strcmp(tok, "PLAIN") != 0 && scram_mech(tok, &h, &plus) ==
		    -1)
			usage_error("--sasl-mechanisms: unknown mechanism "
			    "'%s' (PLAIN, SCRAM-SHA-1, SCRAM-SHA-256 and their "
			    "-PLUS forms)", tok);
		if (strcmp(tok, "PLAIN") != 0 && !o->auth_scram)
			usage_error("--sasl-mechanisms: %s needs a helper "
			    "that serves SCRAM credentials (--auth-scram)",
			    tok);
		for (i = 0; i < o->nmechs; i++)
			if (strcmp(o->mechs[i], tok) == 0)
				usage_error("--sasl-mechanisms: %s twice", tok);
		if (o->nmechs >= XG_MECHS_MAX)
			usage_error("--sasl-mechanisms: too many");
		o->mechs[o->nmechs++] = tok;
	}
}

/* The mechanism's name if this connection offers it (after TLS, in
 * stream_open()), else NULL.  The name outlives the client's event. */
static const char *
mech_offered(const struct session *s, const char *name)
{
	enum scram_hash h;
	int plus = 0;
	size_t i;

	if (scram_mech(name, &h, &plus) == 0 && plus && !s->plus_offered)
		return NULL;
	for (i = 0; i < s->o->nmechs; i++)
		if (strcmp(s->o->mechs[i], name) == 0)
			return s->o->mechs[i];
	return NULL;
}

/*
 * Close the connection politely: TLS close_notify, our half closed, then
 * read and drop what the client still sends for a moment, so the kernel
 * does not answer unread data with a reset that could eat our last words.
 */
static void
close_client(struct conn *c)
{
	uint8_t junk[XG_DRAIN_BUF];
	int64_t until = now_ms() + DRAIN_MS;
	int i, one = 1;

	/* close_notify and FIN leave in one segment: a peer that sees the
	 * alert and writes before the FIN arrives would otherwise get a
	 * reset, not an orderly close.  Not a TCP socket: nothing to do. */
	(void)setsockopt(c->wfd, IPPROTO_TCP, TCP_CORK, &one, sizeof(one));
	if (c->tls)
		gnutls_bye(c->tls, GNUTLS_SHUT_WR);
	shutdown(c->wfd, SHUT_WR);
	for (i = 0; i < 64; i++)
		if (conn_read(c, junk, sizeof(junk), until) <= 0)
			break;
}

static int
finish(struct session *s, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->c->outcome, sizeof(s->c->outcome), fmt, ap);
	va_end(ap);
	s->exitcode = code;
	log_summary(s->c, code);
	return -1;
}

static int
send_header(struct session *s)
{
	unsigned char rnd[XG_STREAM_ID_BYTES];
	char id[2 * XG_STREAM_ID_BYTES + 1];
	size_t i;

	gnutls_rnd(GNUTLS_RND_NONCE, rnd, sizeof(rnd));
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(id + 2 * i, 3, "%02x", rnd[i]);
	s->header_sent = 1;
	xg_debug("sent: stream header from=%s id=%s",
	    s->c->domain[0] ? s->c->domain : "-", id);
	if (s->o->s2s)		/* RFC 6120 4.7.2: 'to' the server that
				 * named itself; XEP-0220 prefix if it did */
		return conn_printf(s->c, s->deadline, "<?xml version='1.0'?>"
		    "<stream:stream xmlns='" NS_SERVER "' xmlns:stream='"
		    NS_STREAMS "'%s id='%s'%s%s%s%s%s%s version='1.0' "
		    "xml:lang='en'>", s->db ? " xmlns:db='" NS_DIALBACK "'" :
		    "", id, s->c->domain[0] ? " from='" : "", s->c->domain,
		    s->c->domain[0] ? "'" : "", s->c->remote_domain[0] ?
		    " to='" : "", s->c->remote_domain,
		    s->c->remote_domain[0] ? "'" : "");
	return conn_printf(s->c, s->deadline, "<?xml version='1.0'?>"
	    "<stream:stream xmlns='" NS_CLIENT "' xmlns:stream='" NS_STREAMS
	    "' id='%s'%s%s%s version='1.0' xml:lang='en'>", id,
	    s->c->domain[0] ? " from='" : "", s->c->domain,
	    s->c->domain[0] ? "'" : "");
}

/* RFC 6120 4.9: the error, our close tag, and the end of the connection. */
static int
stream_error(struct session *s, enum xg_stream_error e, const char *text,
    int code, const char *fmt, ...)
{
	char esc[2 * XG_REASON_MAX], reason[XG_REASON_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (!s->header_sent)
		send_header(s);
	xml_escape(esc, sizeof(esc), text, strlen(text));
	xg_debug("sent: stream error %s (%s)", xg_stream_error_name(e), text);
	conn_printf(s->c, now_ms() + 5000, "<stream:error><%s xmlns='"
	    NS_STREAM_ERR "'/><text xmlns='" NS_STREAM_ERR "'>%s</text>"
	    "</stream:error></stream:stream>", xg_stream_error_name(e), esc);
	close_client(s->c);
	return finish(s, code, "%s: %s", xg_stream_error_name(e), reason);
}

/* The next client event, reading as needed; -1 when the session ended. */
static int
next_event(struct session *s, struct xp_event *ev)
{
	size_t used;
	ssize_t n;
	int64_t dl;

	for (;;) {
		enum xp_result r = XP_MORE;
		if (s->len > 0) {
			r = xp_feed(&s->xp, s->buf, s->len, &used, ev);
			memmove(s->buf, s->buf + used, s->len - used);
			s->len -= used;
			/* No stale copy of what was parsed (an <auth>
			 * payload) stays behind in the buffer. */
			explicit_bzero(s->buf + s->len, used);
		}
		if (r == XP_EVENT)
			return 0;
		if (r == XP_ERROR)
			return stream_error(s, s->xp.err, s->xp.errtext,
			    XG_EXIT_REFUSED, "%s", s->xp.errtext);
		if (s->len == sizeof(s->buf))
			return stream_error(s, XG_SE_POLICY_VIOLATION,
			    "token too long", XG_EXIT_REFUSED,
			    "token too long");
		dl = s->deadline;
		if (s->want_header && s->header_deadline < dl)
			dl = s->header_deadline;
		n = conn_read(s->c, s->buf + s->len, sizeof(s->buf) - s->len,
		    dl);
		if (n == 0 && s->restarting) {
			close_client(s->c);
			return finish(s, XG_EXIT_OK, "client closed the "
			    "connection before its stream restart");
		}
		if (n == 0) {
			close_client(s->c);
			return finish(s, XG_EXIT_REFUSED, "client closed the "
			    "connection before authenticating");
		}
		if (n == -1 && errno == ETIMEDOUT && dl < s->deadline)
			return stream_error(s, XG_SE_CONNECTION_TIMEOUT,
			    "no stream header in time", XG_EXIT_REFUSED,
			    "no stream header within %d s",
			    s->o->header_timeout);
		if (n == -1 && errno == ETIMEDOUT)
			return stream_error(s, XG_SE_CONNECTION_TIMEOUT,
			    "too slow", XG_EXIT_REFUSED,
			    "pre-authentication timeout (%d s)", s->o->timeout);
		if (n == -1) {
			close_client(s->c);
			return finish(s, XG_EXIT_REFUSED, "client read: %s",
			    strerror(errno));
		}
		s->len += (size_t)n;
		if (s->keep_raw) {
			if ((size_t)n > sizeof(s->raw) - s->rawlen)
				return stream_error(s, XG_SE_POLICY_VIOLATION,
				    "stream header too long", XG_EXIT_REFUSED,
				    "more than %zu bytes before the stream "
				    "header ended", sizeof(s->raw));
			memcpy(s->raw + s->rawlen, s->buf + s->len - (size_t)n,
			    (size_t)n);
			s->rawlen += (size_t)n;
		}
		/* A TLS handshake record where XML must start: a client
		 * that wants Direct TLS (XEP-0368), and --starttls-only (or
		 * a connection arrive() could not peek at). */
		if (!s->first_checked && s->c->tls == NULL) {
			s->first_checked = 1;
			if (s->buf[0] == TLS_HANDSHAKE_RECORD)
				return stream_error(s, XG_SE_NOT_WELL_FORMED,
				    "TLS is not spoken here before STARTTLS "
				    "(Direct TLS is not enabled)",
				    XG_EXIT_REFUSED, "TLS ClientHello on the "
				    "STARTTLS port (Direct TLS is not enabled)");
		}
	}
}

/* Events that end the session the same way in every phase. */
static int
common_event(struct session *s, const struct xp_event *ev)
{
	if (ev->type == XP_EV_CLOSE) {
		conn_printf(s->c, now_ms() + 5000, "</stream:stream>");
		close_client(s->c);
		/* Giving up after a failure is still a refusal: one guess
		 * per connection must not look like a clean visit.  After
		 * a temporary failure it is ours (a broken helper). */
		if (s->failed > 0)
			return finish(s, s->last_failure ==
			    XG_SF_TEMPORARY_AUTH_FAILURE ? XG_EXIT_TEMP :
			    XG_EXIT_REFUSED, "client closed the stream after "
			    "%d failed attempt%s", s->failed,
			    s->failed == 1 ? "" : "s");
		return finish(s, XG_EXIT_OK, "client closed the stream "
		    "before authenticating");
	}
	if (ev->type == XP_EV_STANZA)
		return stream_error(s, XG_SE_NOT_AUTHORIZED,
		    "authenticate first", XG_EXIT_REFUSED,
		    "<%s/> before authentication", ev->name);
	return 0;
}

/* Direct TLS: the handshake first; SNI names the domain (tls.c). */
static int
direct_tls(struct session *s)
{
	char err[XG_REASON_MAX];
	int64_t hs;

	s->c->direct_tls = 1;
	hs = s->c->start_ms + (int64_t)s->o->handshake_timeout * 1000;
	if (tls_start(s->c, s->tls, 1, hs < s->deadline ? hs : s->deadline,
	    err, sizeof(err)) == -1) {
		close_client(s->c);
		return finish(s, s->tls->sni_result == CERTS_ERROR ?
		    XG_EXIT_TEMP : XG_EXIT_REFUSED, "%s", err);
	}
	snprintf(s->c->domain, sizeof(s->c->domain), "%s", s->c->sni);
	xg_debug("Direct TLS up: %s %s%s", s->c->tls_protocol,
	    s->c->tls_cipher, s->c->tls_resumed ? " (resumed)" : "");
	return 0;
}

/*
 * --accept-proxy-protocol: a load balancer in front says who the client
 * is, in a PROXY header (v1 or v2) before the client's first byte.  Only
 * a --trusted-proxy may say so; from any other peer the connection is
 * refused.  The header is read exactly, no byte of the client's with it,
 * so that Direct TLS detection and the stream follow as without one.
 */
static int
proxy_accept(struct session *s)
{
	uint8_t hdr[XG_PROXY_HDR_MAX];
	struct proxy_info pi;
	struct conn *c = s->c;
	int64_t dl = c->start_ms + (int64_t)s->o->header_timeout * 1000;
	const char *why;
	size_t len = 0, want;
	ssize_t n;
	int r;

	if (!s->o->accept_proxy)
		return 0;
	if (dl > s->deadline)
		dl = s->deadline;
	if (!cidr_match(s->o->trusted, s->o->ntrusted, c->remote_ip)) {
		close_client(c);
		return finish(s, XG_EXIT_REFUSED, "peer %s is not a "
		    "--trusted-proxy", c->remote_ip);
	}
	while ((r = proxy_parse(hdr, len, &pi, &want, &why)) == PP_MORE) {
		n = conn_read(c, hdr + len, want - len, dl);
		if (n > 0) {
			len += (size_t)n;
			continue;
		}
		close_client(c);
		if (n == 0)
			return finish(s, XG_EXIT_REFUSED, "proxy closed the "
			    "connection before its PROXY header");
		if (errno == ETIMEDOUT)
			return finish(s, XG_EXIT_REFUSED, "no PROXY header "
			    "within %d s", s->o->header_timeout);
		return finish(s, XG_EXIT_REFUSED, "proxy read: %s",
		    strerror(errno));
	}
	if (r == PP_BAD) {
		close_client(c);
		return finish(s, XG_EXIT_REFUSED, "bad PROXY header: %s", why);
	}
	snprintf(c->proxy_ip, sizeof(c->proxy_ip), "%s", c->remote_ip);
	snprintf(c->proxy_port, sizeof(c->proxy_port), "%s", c->remote_port);
	if (!pi.local) {
		snprintf(c->remote_ip, sizeof(c->remote_ip), "%s", pi.src_ip);
		snprintf(c->remote_port, sizeof(c->remote_port), "%s",
		    pi.src_port);
		snprintf(c->local_ip, sizeof(c->local_ip), "%s", pi.dst_ip);
		snprintf(c->local_port, sizeof(c->local_port), "%s",
		    pi.dst_port);
	}
	xg_log(LOG_INFO, "proxied client=%s%s%s:%s via=%s%s%s:%s version=%d%s",
	    strchr(c->remote_ip, ':') ? "[" : "", c->remote_ip,
	    strchr(c->remote_ip, ':') ? "]" : "", c->remote_port,
	    strchr(c->proxy_ip, ':') ? "[" : "", c->proxy_ip,
	    strchr(c->proxy_ip, ':') ? "]" : "", c->proxy_port, pi.version,
	    pi.local ? " (no client address: LOCAL or UNKNOWN)" : "");
	explicit_bzero(hdr, sizeof(hdr));
	return 0;
}

/*
 * XEP-0368: on one port, a TLS handshake record as the first byte starts
 * Direct TLS, anything else is the XML stream, which must then go
 * through STARTTLS.  The byte is only peeked at: GnuTLS or the parser
 * reads it.
 */
static int
arrive(struct session *s)
{
	int64_t dl = s->c->start_ms + (int64_t)s->o->header_timeout * 1000;
	int first = -3;

	if (s->o->tls_mode != XG_TLS_STARTTLS_ONLY) {
		first = conn_peek(s->c, dl < s->deadline ? dl : s->deadline);
		if (first == -2) {
			close_client(s->c);
			return finish(s, XG_EXIT_REFUSED, "client closed the "
			    "connection before authenticating");
		}
		if (first == -1 && errno == ETIMEDOUT)
			return stream_error(s, XG_SE_CONNECTION_TIMEOUT,
			    "no stream header in time", XG_EXIT_REFUSED,
			    "no stream header within %d s",
			    s->o->header_timeout);
		if (first == -1 && errno != ENOTSOCK) {
			close_client(s->c);
			return finish(s, XG_EXIT_REFUSED, "client read: %s",
			    strerror(errno));
		}
	}
	if (first == TLS_HANDSHAKE_RECORD || (first == -1 &&
	    s->o->tls_mode == XG_TLS_DIRECT_ONLY))
		return direct_tls(s);
	if (s->o->tls_mode == XG_TLS_DIRECT_ONLY)
		return stream_error(s, XG_SE_POLICY_VIOLATION, "only Direct "
		    "TLS (XEP-0368) is spoken here", XG_EXIT_REFUSED,
		    "plaintext on a --direct-tls-only port");
	if (stream_open(s) == -1 || starttls(s) == -1)
		return -1;
	return 0;
}

/* The client's stream header, with a 'to': 0, or -1 when the session
 * ended (a stream error sent). */
static int
client_header(struct session *s, struct xp_event *ev)
{
	int r;

	/* The first header is timed from the connection's start, the one
	 * after TLS from the end of the handshake. */
	s->header_deadline = (s->c->tls ? now_ms() : s->c->start_ms) +
	    (int64_t)s->o->header_timeout * 1000;
	s->want_header = 1;
	r = next_event(s, ev);
	s->want_header = 0;
	if (r == -1)
		return -1;
	if (ev->type != XP_EV_HEADER)
		return stream_error(s, XG_SE_NOT_WELL_FORMED, "expected a "
		    "stream header", XG_EXIT_REFUSED, "no stream header");
	xg_debug("client: stream header to=%s version=%s",
	    ev->has_to ? ev->to : "-", ev->has_version ? ev->version : "-");
	if (!ev->has_to)
		return stream_error(s, XG_SE_HOST_UNKNOWN, "no 'to' attribute",
		    XG_EXIT_REFUSED, "stream header without 'to'");
	return 0;
}

/* RFC 6120 4.7.5: we speak 1.0; a missing version means pre-1.0. */
static int
version_check(struct session *s, const struct xp_event *ev)
{
	if (!ev->has_version || strncmp(ev->version, "1.", 2) != 0 ||
	    ev->version[2] == '\0' ||
	    strspn(ev->version + 2, "0123456789") != strlen(ev->version + 2))
		return stream_error(s, XG_SE_UNSUPPORTED_VERSION,
		    "version 1.0 required", XG_EXIT_REFUSED,
		    "unsupported stream version");
	return 0;
}

/* s2s: the server names itself in 'from' (RFC 6120 4.7.1), the same
 * name in every header of the connection. */
static int
remote_from(struct session *s, const struct xp_event *ev)
{
	char dom[XG_DOMAIN_MAX + 1];

	s->db = ev->has_db;
	if (!ev->has_from || xg_domain_normalize(ev->from, dom,
	    sizeof(dom)) == -1)
		return stream_error(s, XG_SE_INVALID_FROM, "a 'from' naming "
		    "your server is required", XG_EXIT_REFUSED, ev->has_from ?
		    "stream 'from' is not a domain" : "stream header without "
		    "'from'");
	if (s->c->remote_domain[0] && strcmp(dom, s->c->remote_domain) != 0)
		return stream_error(s, XG_SE_INVALID_FROM, "'from' changed "
		    "within the connection", XG_EXIT_REFUSED, "stream 'from' "
		    "%s after %s", dom, s->c->remote_domain);
	snprintf(s->c->remote_domain, sizeof(s->c->remote_domain), "%s", dom);
	return 0;
}

/* Read the client's stream header and answer with ours. */
static int
stream_header(struct session *s)
{
	struct xp_event ev;
	char dom[XG_DOMAIN_MAX + 1], err[XG_REASON_MAX];
	enum certs_result cr = CERTS_UNKNOWN;

	if (client_header(s, &ev) == -1)
		return -1;
	/* Before TLS the 'to' picks the certificate; after it, the 'to'
	 * must be what the first header (or SNI) named. */
	if (xg_domain_normalize(ev.to, dom, sizeof(dom)) == 0) {
		if (s->c->tls == NULL)
			cr = certs_select(s->tls, dom, err, sizeof(err));
		else
			cr = certs_domain_allowed(s->o, dom) ? CERTS_OK :
			    CERTS_UNKNOWN;
	}
	if (cr == CERTS_ERROR)
		return stream_error(s, XG_SE_INTERNAL_SERVER_ERROR,
		    "server configuration error", XG_EXIT_TEMP, "%s", err);
	if (cr == CERTS_UNKNOWN)
		return stream_error(s, XG_SE_HOST_UNKNOWN, "this domain is "
		    "not served here", XG_EXIT_REFUSED, "unknown domain");
	if (s->c->domain[0] && strcmp(dom, s->c->domain) != 0)
		return stream_error(s, XG_SE_HOST_UNKNOWN, "this domain is "
		    "not served here", XG_EXIT_REFUSED, s->c->direct_tls ?
		    "stream 'to' is not the SNI name" : "unknown domain");
	snprintf(s->c->domain, sizeof(s->c->domain), "%s", dom);
	if (version_check(s, &ev) == -1 ||
	    (s->o->s2s && remote_from(s, &ev) == -1))
		return -1;
	if (send_header(s) == -1)
		return finish(s, XG_EXIT_REFUSED, "client write: %s",
		    strerror(errno));
	return 0;
}

/*
 * The channel binding types this TLS connection has, of those offered:
 * tls-server-end-point always, tls-exporter on TLS 1.3 (RFC 9266),
 * tls-unique only on TLS 1.2 (it is not defined for 1.3), each only when
 * GnuTLS can give its data.
 */
static int
cb_types(struct conn *c)
{
	static const struct { int bit; gnutls_channel_binding_t t; } ts[] = {
		{ SCRAM_CB_TLS_EXPORTER, GNUTLS_CB_TLS_EXPORTER },
		{ SCRAM_CB_TLS_SERVER_END_POINT, GNUTLS_CB_TLS_SERVER_END_POINT },
		{ SCRAM_CB_TLS_UNIQUE, GNUTLS_CB_TLS_UNIQUE },
	};
	gnutls_protocol_t v = gnutls_protocol_get_version(c->tls);
	gnutls_datum_t d;
	int mask = 0;
	size_t i;

	for (i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
		if ((ts[i].bit == SCRAM_CB_TLS_UNIQUE && v != GNUTLS_TLS1_2) ||
		    (ts[i].bit == SCRAM_CB_TLS_EXPORTER && v != GNUTLS_TLS1_3))
			continue;
		if (gnutls_session_channel_binding(c->tls, ts[i].t, &d) == 0) {
			if (d.size > 0 && d.size <= XG_SCRAM_CB_MAX)
				mask |= ts[i].bit;
			gnutls_free(d.data);
		}
	}
	return mask;
}

/*
 * The SASL feature after TLS: EXTERNAL first when a certificate verified,
 * then --sasl-mechanisms in order (-PLUS only when the connection has a
 * binding type), and XEP-0440's list of binding types with -PLUS.
 */
static void
mechanisms(struct session *s, int ext, char *out, size_t outsz,
    char *names, size_t namesz)
{
	enum scram_hash h;
	int plus = 0, bit;
	size_t i;

	/* The binding data are asked for only when -PLUS may be offered. */
	s->cb_mask = 0;
	for (i = 0; i < s->o->nmechs; i++)
		if (scram_mech(s->o->mechs[i], &h, &plus) == 0 && plus) {
			s->cb_mask = cb_types(s->c);
			break;
		}
	s->plus_offered = 0;
	snprintf(out, outsz, "<mechanisms xmlns='" NS_SASL "'>%s",
	    ext ? "<mechanism>EXTERNAL</mechanism>" : "");
	snprintf(names, namesz, "%s", ext ? "EXTERNAL" : "");
	for (i = 0; i < s->o->nmechs; i++) {
		if (scram_mech(s->o->mechs[i], &h, &plus) == 0 && plus) {
			if (s->cb_mask == 0)
				continue;
			s->plus_offered = 1;
		}
		snprintf(out + strlen(out), outsz - strlen(out),
		    "<mechanism>%s</mechanism>", s->o->mechs[i]);
		snprintf(names + strlen(names), namesz - strlen(names),
		    "%s%s", names[0] ? " " : "", s->o->mechs[i]);
	}
	snprintf(out + strlen(out), outsz - strlen(out), "</mechanisms>");
	if (!s->plus_offered)
		return;
	snprintf(out + strlen(out), outsz - strlen(out),
	    "<sasl-channel-binding xmlns='urn:xmpp:sasl-cb:0'>");
	snprintf(names + strlen(names), namesz - strlen(names), "; binding");
	for (bit = SCRAM_CB_TLS_UNIQUE; bit <= SCRAM_CB_TLS_EXPORTER;
	    bit <<= 1) {
		if ((s->cb_mask & bit) == 0)
			continue;
		snprintf(out + strlen(out), outsz - strlen(out),
		    "<channel-binding type='%s'/>", scram_cb_name(bit));
		snprintf(names + strlen(names), namesz - strlen(names),
		    " %s", scram_cb_name(bit));
	}
	snprintf(out + strlen(out), outsz - strlen(out),
	    "</sasl-channel-binding>");
}

/* The client's stream header, ours, and the features. */
static int
stream_open(struct session *s)
{
	if (stream_header(s) == -1)
		return -1;
	if (s->c->tls == NULL) {
		xg_debug("sent: features starttls required%s", s->db ?
		    ", dialback" : "");
		if (conn_printf(s->c, s->deadline, "<stream:features>"
		    "<starttls xmlns='" NS_TLS "'><required/></starttls>%s"
		    "</stream:features>", s->db ? "<dialback xmlns='"
		    NS_DIALBACK_FEATURE "'/>" : "") == -1)
			return finish(s, XG_EXIT_REFUSED, "client write: %s",
			    strerror(errno));
	} else {
		/* XEP-0178: EXTERNAL first when a certificate verified (and
		 * the helper speaks the native protocol). */
		int ext = s->c->cert_verified &&
		    s->o->auth_protocol == XG_AP_NATIVE;

		char m[1024], names[256];

		mechanisms(s, ext, m, sizeof(m), names, sizeof(names));
		xg_debug("sent: features mechanisms %s", names);
		if (conn_printf(s->c, s->deadline, "<stream:features>%s"
		    "</stream:features>", m) == -1)
			return finish(s, XG_EXIT_REFUSED, "client write: %s",
			    strerror(errno));
	}
	return 0;
}

static int
starttls(struct session *s)
{
	struct xp_event ev;
	char err[XG_REASON_MAX];
	int64_t hs;

	if (next_event(s, &ev) == -1 || common_event(s, &ev) == -1)
		return -1;
	if (ev.type != XP_EV_STARTTLS)
		return stream_error(s, XG_SE_POLICY_VIOLATION,
		    "STARTTLS is required", XG_EXIT_REFUSED,
		    "<%s> before STARTTLS", ev.type == XP_EV_AUTH ? "auth" :
		    ev.type == XP_EV_RESPONSE ? "response" :
		    ev.type == XP_EV_DIALBACK ? (ev.name[0] == 'r' ?
		    "db:result" : "db:verify") : "abort");
	xg_debug("client: starttls; sent: proceed");
	if (conn_printf(s->c, s->deadline, "<proceed xmlns='" NS_TLS "'/>")
	    == -1)
		return finish(s, XG_EXIT_REFUSED, "client write: %s",
		    strerror(errno));
	/* Nothing read before <proceed/> may be used after it.  The
	 * newline a client writes after each element is not worth a
	 * notice: it ends the old stream (xp_restart()). */
	if (xml_ws_span(s->buf, s->len) < s->len)
		xg_log(LOG_NOTICE, "discarded %zu plaintext bytes sent after "
		    "<starttls/>", s->len);
	explicit_bzero(s->buf, sizeof(s->buf));
	s->len = 0;
	hs = now_ms() + (int64_t)s->o->handshake_timeout * 1000;
	if (tls_start(s->c, s->tls, 0, hs < s->deadline ? hs : s->deadline,
	    err, sizeof(err)) == -1) {
		close_client(s->c);
		return finish(s, XG_EXIT_REFUSED, "%s", err);
	}
	xg_debug("TLS up: %s %s%s", s->c->tls_protocol, s->c->tls_cipher,
	    s->c->tls_resumed ? " (resumed)" : "");
	xp_restart(&s->xp);
	s->xp.s2s = s->o->s2s;
	s->header_sent = 0;
	return 0;
}

static int
sasl_failure(struct session *s, enum xg_sasl_failure f,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* One failed attempt: growing delay, <failure/>, and the attempt limit. */
static int
sasl_failure(struct session *s, enum xg_sasl_failure f,
    const char *fmt, ...)
{
	char why[XG_REASON_MAX], text[8 * XG_FAILURE_TEXT_MAX];
	va_list ap;
	int64_t d;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	s->failed++;
	s->last_failure = f;
	xg_log(LOG_NOTICE, "authentication attempt %d failed: %s", s->failed,
	    why);
	d = xg_fail_delay_ms(s->o->auth_delay_ms, s->failed);
	/* The helper's delay= replaces ours for this answer. */
	if (s->fail_delay_ms >= 0) {
		d = s->fail_delay_ms;
		xg_debug("helper's delay: %lld ms", (long long)d);
	}
	s->fail_delay_ms = -1;
	/* RFC 6120 6.5: a <text/> for the user, from the helper's message=. */
	text[0] = '\0';
	if (s->fail_text[0] != '\0') {
		snprintf(text, sizeof(text), "<text xml:lang='en'>");
		n = strlen(text);
		xml_escape(text + n, sizeof(text) - n - sizeof("</text>"),
		    s->fail_text, strlen(s->fail_text));
		strcat(text, "</text>");
		s->fail_text[0] = '\0';
	}
	if (d > 0) {
		struct timespec ts = { d / 1000, (d % 1000) * 1000000 };
		while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
			;
	}
	xg_debug("sent: failure %s%s", xg_sasl_failure_name(f),
	    text[0] ? " with text" : "");
	if (conn_printf(s->c, s->deadline, "<failure xmlns='" NS_SASL
	    "'><%s/>%s</failure>", xg_sasl_failure_name(f), text) == -1)
		return finish(s, XG_EXIT_REFUSED, "client write: %s",
		    strerror(errno));
	if (s->failed >= s->o->max_attempts)
		return stream_error(s, XG_SE_POLICY_VIOLATION,
		    "too many failed authentication attempts",
		    XG_EXIT_REFUSED, "%d failed attempts (last: %s)",
		    s->failed, why);
	return 0;
}

/* The PLAIN payload: the <auth> initial response or, after an empty
 * challenge, the <response> (RFC 6120 6.4.2). */
static int
plain_payload(struct session *s, struct xp_event *ev, int *again)
{
	*again = 0;
	if (!ev->data_empty)
		return 0;
	xg_debug("sent: empty challenge");
	if (conn_printf(s->c, s->deadline, "<challenge xmlns='" NS_SASL
	    "'/>") == -1)
		return finish(s, XG_EXIT_REFUSED, "client write: %s",
		    strerror(errno));
	if (next_event(s, ev) == -1 || common_event(s, ev) == -1)
		return -1;
	if (ev->type == XP_EV_ABORT) {
		*again = 1;
		return sasl_failure(s, XG_SF_ABORTED, "aborted");
	}
	if (ev->type != XP_EV_RESPONSE)
		return stream_error(s, XG_SE_POLICY_VIOLATION,
		    "expected <response/>", XG_EXIT_REFUSED,
		    "no <response/> after the challenge");
	return 0;
}

/*
 * --backend-tls: a child of ours carries the backend's TLS, relaying it
 * to one end of a socket pair; we relay the client to the other end as
 * to a plain backend.  The same relay code runs on both sides.  Returns
 * our end, or -1 with errno.  Started only after the credentials and the
 * stack were wiped, so the child never holds them; it drops the client's
 * TLS session and our certificate keys before it relays.
 */
static int
tls_pump(struct session *s, struct conn *bc)
{
	char why[XG_REASON_MAX];
	int sp[2], fl;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1) {
		backend_close(bc);
		return -1;
	}
	if ((pid = fork()) == -1) {
		close(sp[0]);
		close(sp[1]);
		backend_close(bc);
		return -1;
	}
	if (pid == 0) {
		close(sp[0]);
		/* No alert, no bye: deinit only forgets the session. */
		gnutls_deinit(s->c->tls);
		s->c->tls = NULL;
		tls_free(s->tls);
		close(s->c->rfd);
		if (s->c->wfd != s->c->rfd)
			close(s->c->wfd);
		if ((fl = fcntl(sp[1], F_GETFL)) != -1)
			(void)fcntl(sp[1], F_SETFL, fl | O_NONBLOCK);
		(void)relay_run(bc, sp[1], NULL, 0, s->o->idle_timeout, why,
		    sizeof(why));
		if (why[0] != '\0')
			xg_debug("backend TLS relay: %s", why);
		_exit(0);
	}
	close(sp[1]);
	/* Only the child speaks TLS to the backend now. */
	backend_close(bc);
	if ((fl = fcntl(sp[0], F_GETFL)) != -1)
		(void)fcntl(sp[0], F_SETFL, fl | O_NONBLOCK);
	s->pump = pid;
	return sp[0];
}

/*
 * Connect mode: log in at the backend the helper named, or ours.  0 with
 * *fd on success, 1 when the backend refused (*sf), -1 when the session
 * ended because the backend cannot be reached.
 */
/* The backend's address as logs show it. */
static void
name_backend(struct conn *c, const struct netaddr *na)
{
	if (na->is_unix)
		snprintf(c->backend, sizeof(c->backend), "unix:%s", na->host);
	else
		snprintf(c->backend, sizeof(c->backend), strchr(na->host,
		    ':') ? "[%s]:%s" : "%s:%s", na->host, na->port);
}

static int
login(struct session *s, const struct plain_creds *pc,
    const struct auth_reply *ar, int *fd, enum xg_sasl_failure *sf,
    char *why, size_t whysz)
{
	struct conn *bc = &s->bc;
	struct backend_opts bo;
	struct netaddr na;
	uint8_t ph[XG_PROXY_OUT_MAX];
	int unreachable;

	if (ar->has_backend) {
		if (netaddr_parse(ar->backend, &na) == -1)
			return stream_error(s, XG_SE_INTERNAL_SERVER_ERROR,
			    "internal error", XG_EXIT_TEMP,
			    "bad backend from the helper");
		snprintf(s->c->backend, sizeof(s->c->backend), "%s",
		    ar->backend);
	} else {
		na = s->o->backend;
		name_backend(s->c, &na);
	}
	bo.tls = s->o->backend_tls;
	bo.ca = s->o->backend_ca;
	bo.proxy_hdr = NULL;
	bo.proxy_len = 0;
	if (s->o->proxy_protocol) {
		/* The client as we know it: after --accept-proxy-protocol,
		 * the load balancer's client. */
		bo.proxy_len = proxy_build(s->o->proxy_protocol,
		    s->c->remote_ip, s->c->remote_port, s->c->local_ip,
		    s->c->local_port, ph, sizeof(ph));
		if (bo.proxy_len == 0)
			return stream_error(s, XG_SE_INTERNAL_SERVER_ERROR,
			    "internal error", XG_EXIT_TEMP,
			    "PROXY header does not fit");
		bo.proxy_hdr = ph;
	}
	if (backend_login(&na, &bo, s->c->domain,
	    ar->has_user ? ar->user : pc->user,
	    ar->has_pass ? ar->pass : pc->pass,
	    now_ms() + (int64_t)s->o->backend_timeout * 1000, bc, sf,
	    &unreachable, why, whysz) == 0) {
		if (backend_restart(bc, s->c->domain, now_ms() +
		    (int64_t)s->o->backend_timeout * 1000, s->bfeat,
		    sizeof(s->bfeat), &s->bfeat_len, why, whysz) == -1) {
			backend_close(bc);
			return stream_error(s, XG_SE_REMOTE_CONNECTION_FAILED,
			    "the server is not reachable", XG_EXIT_TEMP,
			    "%s", why);
		}
		*fd = bc->rfd;		/* handoff() starts tls_pump() */
		return 0;
	}
	if (unreachable)
		return stream_error(s, XG_SE_REMOTE_CONNECTION_FAILED,
		    "the server is not reachable", XG_EXIT_TEMP, "%s", why);
	return 1;
}

/*
 * The credentials, and the stack below us: library calls that handled
 * them (GnuTLS's base64 coders work line by line in a local buffer) leave
 * copies in their dead frames, which a long relay would keep for hours.
 */
static void __attribute__((noinline))
stack_wipe(void)
{
	char area[STACK_WIPE];

	explicit_bzero(area, sizeof(area));
	__asm__ __volatile__("" : : "r"(area) : "memory");
}

static void
secrets_wipe(struct session *s, struct plain_creds *pc, struct auth_reply *ar)
{
	plain_wipe(pc);
	auth_reply_wipe(ar);
	scram_wipe(&s->scram);
	explicit_bzero(&s->screds, sizeof(s->screds));
	stack_wipe();
}

/*
 * PLAIN: the payload decoded and checked.  0 with pc and req filled, 1
 * when the attempt failed (the failure was sent), -1 when the session
 * ended.
 */
static int
plain_attempt(struct session *s, struct xp_event *ev, struct plain_creds *pc,
    struct auth_request *req)
{
	int again, rc;

	if (plain_payload(s, ev, &again) == -1)
		return -1;
	if (again)
		return 1;
	rc = plain_decode(ev->data, ev->data_len, s->c->domain, pc);
	/* The payload's base64 text, whatever it held. */
	explicit_bzero(s->xp.data, sizeof(s->xp.data));
	explicit_bzero(&s->xp.tok, sizeof(s->xp.tok));
	switch (rc) {
	case PLAIN_OK:
		break;
	case PLAIN_BAD_BASE64:
		return sasl_failure(s, XG_SF_INCORRECT_ENCODING,
		    "bad base64") == -1 ? -1 : 1;
	case PLAIN_BAD_AUTHZID:
		return sasl_failure(s, XG_SF_INVALID_AUTHZID,
		    "foreign authzid") == -1 ? -1 : 1;
	case PLAIN_BAD_USER:
		return sasl_failure(s, XG_SF_NOT_AUTHORIZED, "user name "
		    "refused by Nodeprep") == -1 ? -1 : 1;
	default:
		return sasl_failure(s, XG_SF_MALFORMED_REQUEST,
		    "malformed PLAIN") == -1 ? -1 : 1;
	}
	req->mechanism = "PLAIN";
	req->user = pc->user;
	req->authzid = pc->authzid_len ? pc->authzid : NULL;
	req->pass = pc->pass;
	req->pass_len = pc->pass_len;
	return 0;
}

/*
 * EXTERNAL (XEP-0178), offered only after a client certificate verified:
 * the user is the one the client names, or the certificate's only
 * XmppAddr of this domain, or left to the helper (AUTH_USER empty).
 */
static int
external_attempt(struct session *s, struct xp_event *ev,
    struct plain_creds *pc, struct auth_request *req)
{
	int again, rc;

	if (plain_payload(s, ev, &again) == -1)
		return -1;
	if (again)
		return 1;
	rc = external_decode(ev->data, ev->data_len, s->c->domain, pc->user,
	    sizeof(pc->user));
	if (rc == PLAIN_BAD_BASE64)
		return sasl_failure(s, XG_SF_INCORRECT_ENCODING,
		    "bad base64") == -1 ? -1 : 1;
	if (rc != PLAIN_OK)
		return sasl_failure(s, XG_SF_INVALID_AUTHZID, "EXTERNAL "
		    "authzid is not a JID of %s", s->c->domain) == -1 ? -1 : 1;
	if (pc->user[0] != '\0')
		snprintf(pc->authzid, sizeof(pc->authzid), "%s@%s", pc->user,
		    s->c->domain);
	else
		external_cert_user(s->c->cert_xmppaddrs, s->c->domain,
		    pc->user, sizeof(pc->user));
	pc->user_len = strlen(pc->user);
	req->mechanism = "EXTERNAL";
	req->user = pc->user;
	req->authzid = pc->authzid[0] ? pc->authzid : NULL;
	req->pass = NULL;
	req->pass_len = 0;
	return 0;
}

/*
 * After the helper accepted EXTERNAL: the session's user is the helper's
 * identity (it may not change one the client asked for), and connect
 * mode needs the backend password from the helper.  0, or 1 with sf and
 * why for a failed attempt.
 */
static int
external_accepted(struct session *s, struct plain_creds *pc,
    const struct auth_reply *ar, enum xg_sasl_failure *sf, char *why,
    size_t whysz)
{
	*sf = XG_SF_TEMPORARY_AUTH_FAILURE;
	if (ar->has_identity && pc->authzid[0] != '\0' &&
	    strcmp(ar->identity, pc->user) != 0) {
		*sf = XG_SF_INVALID_AUTHZID;
		snprintf(why, whysz, "helper mapped the certificate to %.64s, "
		    "not to the requested %.64s", ar->identity, pc->user);
		return 1;
	}
	if (ar->has_identity) {
		/* The helper names the user: one canonical name, as for
		 * every other way in (a name that preparation changes is
		 * the helper's mistake, not the client's). */
		char prep[sizeof(pc->user)];
		const char *pwhy = NULL;

		if (xg_localpart_prep(ar->identity, strlen(ar->identity),
		    prep, sizeof(prep), &pwhy) == -1 ||
		    strcmp(prep, ar->identity) != 0) {
			snprintf(why, whysz, "helper's identity %.64s is not a "
			    "prepared user name (%s)", ar->identity,
			    pwhy != NULL ? pwhy : "Nodeprep changes it");
			return 1;
		}
		snprintf(pc->user, sizeof(pc->user), "%s", ar->identity);
	}
	if (pc->user[0] == '\0') {
		snprintf(why, whysz, "helper accepted EXTERNAL without an "
		    "identity");
		return 1;
	}
	if (s->o->exec_argv == NULL || ar->has_backend) {
		if (!ar->has_pass) {
			snprintf(why, whysz, "helper gave no backend password "
			    "for EXTERNAL");
			return 1;
		}
	}
	pc->user_len = strlen(pc->user);
	return 0;
}

/*
 * The helper rejected (exit 1) or failed: its message= and delay= go to
 * the <failure/> that sasl_failure() sends.  1, or -1 if the session ended.
 */
static int
helper_refused(struct session *s, enum auth_verdict v,
    const struct auth_reply *ar, const char *why)
{
	if (ar->has_message)
		snprintf(s->fail_text, sizeof(s->fail_text), "%s",
		    ar->message);
	if (ar->has_delay)
		s->fail_delay_ms = ar->delay_ms;
	if (v == AUTH_REJECT)
		return sasl_failure(s, XG_SF_NOT_AUTHORIZED, "helper rejected")
		    == -1 ? -1 : 1;
	return sasl_failure(s, XG_SF_TEMPORARY_AUTH_FAILURE, "%s", why) == -1 ?
	    -1 : 1;
}

/* A SCRAM message refused: its <failure/>.  1, or -1 if the session
 * ended. */
static int
scram_refused(struct session *s, enum scram_result r)
{
	enum xg_sasl_failure f = XG_SF_NOT_AUTHORIZED;
	const char *why;

	switch (r) {
	case SCRAM_BAD_BASE64:
		f = XG_SF_INCORRECT_ENCODING;
		why = "bad base64";
		break;
	case SCRAM_BAD_AUTHZID:
		f = XG_SF_INVALID_AUTHZID;
		why = "foreign authzid";
		break;
	case SCRAM_BAD_USER:
		why = "user name refused by Nodeprep";
		break;
	case SCRAM_CB_UNSUPPORTED:
		why = "channel binding type not offered on this connection";
		break;
	case SCRAM_CB_DOWNGRADE:
		why = "client says we cannot bind to the channel, but -PLUS "
		    "was offered (a downgrade?)";
		break;
	case SCRAM_BAD_BINDING:
		why = "channel binding data is not this connection's";
		break;
	case SCRAM_BAD_NONCE:
		why = "nonce is not this exchange's (a replay?)";
		break;
	case SCRAM_BAD_PROOF:
		why = "wrong password (bad proof)";
		break;
	default:
		f = XG_SF_MALFORMED_REQUEST;
		why = "malformed message";
		break;
	}
	return sasl_failure(s, f, "SCRAM: %s", why) == -1 ? -1 : 1;
}

/* The SCRAM messages the client sends, decoded: client-first in <auth>
 * or the <response> after an empty challenge, client-final in the next
 * <response>.  0, or the scram_refused() / session end result. */
static int
scram_message(struct session *s, const struct xp_event *ev,
    gnutls_datum_t *d)
{
	d->data = NULL;
	d->size = 0;
	if (ev->data_empty || xg_b64_decode(ev->data, ev->data_len, d) == -1)
		return scram_refused(s, ev->data_empty ? SCRAM_MALFORMED :
		    SCRAM_BAD_BASE64);
	return 0;
}

/*
 * SCRAM (RFC 5802, RFC 7677) with the helper's stored credentials; the
 * password never reaches us.  client-first; the helper is asked for the
 * user's credentials (AUTH_SCRAM_HASH); server-first; client-final with
 * the proof and, for -PLUS, this TLS channel's binding.  0 when the proof
 * verified (ar is the helper's accept, s->success_data the server's final
 * message); 1 when the attempt failed and was answered; -1 when the
 * session ended.
 */
static int
scram_attempt(struct session *s, const char *mech, struct xp_event *ev,
    struct plain_creds *pc, struct auth_request *req, struct auth_reply *ar)
{
	static const gnutls_channel_binding_t cbt[] = { 0,
	    GNUTLS_CB_TLS_UNIQUE, GNUTLS_CB_TLS_SERVER_END_POINT, 0,
	    GNUTLS_CB_TLS_EXPORTER };
	struct scram *sc = &s->scram;
	gnutls_datum_t d, cb = { NULL, 0 };
	enum scram_hash h;
	enum scram_result r;
	enum auth_verdict v;
	char why[XG_REASON_MAX], sn[40], ch[4 * XG_SCRAM_MSG_MAX / 3 + 8];
	char final[96];
	uint8_t rnd[18];
	int plus = 0, again, rc;

	(void)scram_mech(mech, &h, &plus);
	if (plain_payload(s, ev, &again) == -1)
		return -1;
	if (again)
		return 1;
	if ((rc = scram_message(s, ev, &d)) != 0)
		return rc;
	r = scram_client_first(sc, h, plus, s->plus_offered ? s->cb_mask : 0,
	    d.data, d.size, s->c->domain);
	explicit_bzero(d.data, d.size);
	gnutls_free(d.data);
	if (r != SCRAM_OK)
		return scram_refused(s, r);
	snprintf(pc->user, sizeof(pc->user), "%s", sc->user);
	pc->user_len = strlen(pc->user);
	snprintf(pc->authzid, sizeof(pc->authzid), "%s", sc->authzid);
	snprintf(s->c->user, sizeof(s->c->user), "%s", pc->user);
	req->mechanism = mech;
	req->user = pc->user;
	req->authzid = pc->authzid[0] ? pc->authzid : NULL;
	req->scram_hash = scram_hash_name(h);
	req->cbtype = sc->cbtype ? scram_cb_name(sc->cbtype) : NULL;
	req->domain = s->c->domain;
	req->attempt = s->failed + 1;
	req->conn = s->c;
	xg_debug("SCRAM: user %s, binding %s; asking the helper for "
	    "SCRAM-%s credentials", pc->user, scram_cb_name(sc->cbtype),
	    req->scram_hash);
	if ((v = check(s, req, ar, why, sizeof(why))) != AUTH_ACCEPT)
		return helper_refused(s, v, ar, why);
	if (!ar->has_scram)
		return sasl_failure(s, XG_SF_TEMPORARY_AUTH_FAILURE, "helper "
		    "accepted %s without SCRAM credentials (scram=)",
		    mech) == -1 ? -1 : 1;
	if (scram_creds_parse(ar->scram, strlen(ar->scram), &s->screds) ==
	    -1 || s->screds.hash != h)
		return sasl_failure(s, XG_SF_TEMPORARY_AUTH_FAILURE, "helper's "
		    "scram= is not for SCRAM-%s", scram_hash_name(h)) == -1 ?
		    -1 : 1;
	/* Connect mode logs in with the helper's password: we never learn
	 * the client's (xmppgate-auth(5)). */
	if (!ar->has_redirect && !ar->has_pass &&
	    (s->o->exec_argv == NULL || ar->has_backend))
		return sasl_failure(s, XG_SF_TEMPORARY_AUTH_FAILURE, "helper "
		    "gave no backend password (password=) for %s in connect "
		    "mode", mech) == -1 ? -1 : 1;
	if (gnutls_rnd(GNUTLS_RND_NONCE, rnd, sizeof(rnd)) < 0 ||
	    xg_b64_encode(rnd, sizeof(rnd), sn, sizeof(sn)) == 0 ||
	    scram_server_first(sc, &s->screds, sn) == -1 ||
	    xg_b64_encode(sc->sfirst, sc->sfirst_len, ch, sizeof(ch)) == 0)
		return stream_error(s, XG_SE_INTERNAL_SERVER_ERROR,
		    "internal error", XG_EXIT_TEMP, "SCRAM: server-first");
	xg_debug("sent: challenge (server-first)");
	if (conn_printf(s->c, s->deadline, "<challenge xmlns='" NS_SASL
	    "'>%s</challenge>", ch) == -1)
		return finish(s, XG_EXIT_REFUSED, "client write: %s",
		    strerror(errno));
	if (next_event(s, ev) == -1 || common_event(s, ev) == -1)
		return -1;
	if (ev->type == XP_EV_ABORT)
		return sasl_failure(s, XG_SF_ABORTED, "aborted") == -1 ? -1 : 1;
	if (ev->type != XP_EV_RESPONSE)
		return stream_error(s, XG_SE_POLICY_VIOLATION,
		    "expected <response/>", XG_EXIT_REFUSED,
		    "no <response/> after the SCRAM challenge");
	if ((rc = scram_message(s, ev, &d)) != 0)
		return rc;
	if (sc->cbtype != 0 && gnutls_session_channel_binding(s->c->tls,
	    cbt[sc->cbtype], &cb) < 0) {
		cb.data = NULL;
		cb.size = 0;
	}
	r = scram_client_final(sc, &s->screds, d.data, d.size, cb.data,
	    cb.size, final, sizeof(final));
	explicit_bzero(d.data, d.size);
	gnutls_free(d.data);
	gnutls_free(cb.data);
	explicit_bzero(s->xp.data, sizeof(s->xp.data));
	if (r != SCRAM_OK)
		return scram_refused(s, r);
	if (xg_b64_encode(final, strlen(final), s->success_data,
	    sizeof(s->success_data)) == 0)
		return stream_error(s, XG_SE_INTERNAL_SERVER_ERROR,
		    "internal error", XG_EXIT_TEMP, "SCRAM: server-final");
	return 0;
}

/*
 * The helper sent the user elsewhere (redirect=): RFC 6120 4.9.3.19, the
 * stream error <see-other-host/> naming the host; the client reconnects
 * there.  The session ended as the helper wanted: exit 0.
 */
static int
see_other_host(struct session *s, const char *host)
{
	char esc[6 * XG_BACKEND_ADDR_MAX + 1];

	xml_escape(esc, sizeof(esc), host, strlen(host));
	xg_debug("sent: stream error see-other-host %s", host);
	conn_printf(s->c, now_ms() + 5000, "<stream:error><see-other-host "
	    "xmlns='" NS_STREAM_ERR "'>%s</see-other-host></stream:error>"
	    "</stream:stream>", esc);
	close_client(s->c);
	return finish(s, XG_EXIT_OK, "see-other-host: the helper sent %s to "
	    "%s", s->c->user, host);
}

/* One attempt's verdict, from the helper in its --auth-protocol. */
static enum auth_verdict
check(struct session *s, const struct auth_request *req,
    struct auth_reply *ar, char *why, size_t whysz)
{
	int t = s->o->auth_timeout * 1000;

	switch (s->o->auth_protocol) {
	case XG_AP_CHECKPASSWORD:
		return authproto_checkpassword(s->o->auth, s->o->self, req, t,
		    ar, why, whysz);
	case XG_AP_EJABBERD:
		memset(ar, 0, sizeof(*ar));
		return authproto_ejabberd(s->o->auth, req, t, why, whysz);
	default:
		return authhelper_run(s->o->auth, req, t, ar, why, whysz);
	}
}

static int
sasl(struct session *s, struct plain_creds *pc, struct auth_reply *ar,
    int *bfd)
{
	struct xp_event ev;
	struct auth_request req;
	enum auth_verdict v;
	enum xg_sasl_failure sf;
	char why[XG_REASON_MAX], host[XG_BACKEND_ADDR_MAX + 1];
	const char *mech;
	int rc, scram;

	for (;;) {
		if (next_event(s, &ev) == -1 || common_event(s, &ev) == -1)
			return -1;
		switch (ev.type) {
		case XP_EV_AUTH:
			break;
		case XP_EV_ABORT:
			if (sasl_failure(s, XG_SF_ABORTED,
			    "aborted") == -1)
				return -1;
			continue;
		default:
			return stream_error(s, XG_SE_POLICY_VIOLATION,
			    "unexpected element", XG_EXIT_REFUSED,
			    "<%s> during SASL", ev.type == XP_EV_STARTTLS ?
			    "starttls" : ev.type == XP_EV_HEADER ? "stream" :
			    "response");
		}
		xg_debug("client: auth mechanism=%s (payload not logged)",
		    ev.mechanism);
		memset(&req, 0, sizeof(req));
		plain_wipe(pc);
		s->success_data[0] = '\0';
		scram = 0;
		if (strcmp(ev.mechanism, "PLAIN") == 0 &&
		    mech_offered(s, "PLAIN") != NULL)
			rc = plain_attempt(s, &ev, pc, &req);
		else if (strcmp(ev.mechanism, "EXTERNAL") == 0 &&
		    s->c->cert_verified && s->o->auth_protocol == XG_AP_NATIVE)
			rc = external_attempt(s, &ev, pc, &req);
		else if (strncmp(ev.mechanism, "SCRAM-", 6) == 0 &&
		    (mech = mech_offered(s, ev.mechanism)) != NULL) {
			rc = scram_attempt(s, mech, &ev, pc, &req, ar);
			scram = 1;
		} else
			rc = sasl_failure(s, XG_SF_INVALID_MECHANISM,
			    "mechanism '%.32s'", ev.mechanism) == -1 ? -1 : 1;
		if (rc == -1)
			return -1;
		if (rc == 1) {
			secrets_wipe(s, pc, ar);
			continue;
		}
		snprintf(s->c->user, sizeof(s->c->user), "%s", pc->user);
		req.domain = s->c->domain;
		req.attempt = s->failed + 1;
		req.conn = s->c;
		/* SCRAM asked the helper already, and checked the proof. */
		v = scram ? AUTH_ACCEPT : check(s, &req, ar, why, sizeof(why));
		if (v == AUTH_ACCEPT && strcmp(req.mechanism, "EXTERNAL") == 0 &&
		    external_accepted(s, pc, ar, &sf, why, sizeof(why)) == 1)
			v = AUTH_TEMPFAIL;	/* sf and why are set */
		else if (v == AUTH_ACCEPT && ar->has_redirect) {
			snprintf(host, sizeof(host), "%s", ar->redirect);
			secrets_wipe(s, pc, ar);
			return see_other_host(s, host);
		} else if (v == AUTH_ACCEPT) {
			snprintf(s->c->user, sizeof(s->c->user), "%s",
			    pc->user);
			if (!ar->has_backend && s->o->exec_argv != NULL) {
				secrets_wipe(s, pc, ar);
				*bfd = -1;	/* exec mode */
				return 0;
			}
			rc = login(s, pc, ar, bfd, &sf, why, sizeof(why));
			secrets_wipe(s, pc, ar);
			if (rc <= 0)
				return rc;
		} else {
			rc = helper_refused(s, v, ar, why);
			secrets_wipe(s, pc, ar);
			if (rc == -1)
				return -1;
			continue;
		}
		secrets_wipe(s, pc, ar);
		if (sasl_failure(s, sf, "%s", why) == -1)
			return -1;
	}
}

/*
 * Connect mode, after <success/>: the client restarts its stream with us,
 * and gets the features the backend sent us when we restarted ours with
 * it (backend_restart(), without <starttls/>).  From then on the bytes
 * are copied.
 */
static int
stream_restart(struct session *s)
{
	xp_restart(&s->xp);
	/* --header-timeout bounds it, with its own error; a second later
	 * than that, the phase's. */
	s->deadline = now_ms() + ((int64_t)s->o->header_timeout + 1) * 1000;
	s->restarting = 1;
	if (stream_header(s) == -1)
		return -1;
	xg_debug("sent: the backend's features");
	if (conn_write(s->c, s->bfeat, s->bfeat_len, s->deadline) == -1)
		return finish(s, XG_EXIT_OK, "client write: %s",
		    strerror(errno));
	return 0;
}

static int
send_success(struct session *s)
{
	xg_debug("sent: success%s", s->success_data[0] ?
	    " (server-final)" : "");
	if (conn_printf(s->c, now_ms() + 10000, "<success xmlns='" NS_SASL
	    "'%s%s%s", s->success_data[0] ? ">" : "/>", s->success_data,
	    s->success_data[0] ? "</success>" : "") == -1)
		return finish(s, XG_EXIT_OK, "client write: %s",
		    strerror(errno));
	return 0;
}

/*
 * Did GnuTLS move the client's record layer into the kernel (it does so
 * after the handshake when its configuration says ktls = true and the
 * kernel can)?  Then the relay splices.  Otherwise one line says why not,
 * and the relay stays in user space.
 */
static int
ktls_ready(const struct conn *c)
{
	char why[XG_REASON_MAX];
	int mode = 0;

#if GNUTLS_VERSION_NUMBER >= 0x030703
	mode = (int)gnutls_transport_is_ktls_enabled(c->tls);
	if (mode == GNUTLS_KTLS_DUPLEX) {
		xg_log(LOG_INFO, "kernel TLS: in use, splice(2) relay");
		return 1;
	}
#endif
	if (!ktls_kernel_has(why, sizeof(why)))
		xg_log(LOG_INFO, "kernel TLS: not in use (%s); relaying in "
		    "user space", why);
	else
		xg_log(LOG_INFO, "kernel TLS: not in use (GnuTLS %s it%s); "
		    "relaying in user space", mode ? "enabled one way of" :
		    "did not enable", mode ? "" : ": ktls in its config file, "
		    "or this cipher");
	return 0;
}

static int
relay(struct session *s, int fd)
{
	char why[XG_REASON_MAX] = "";

	if (s->o->s2s && strcmp(s->c->s2s_auth, "dialback") == 0)
		xg_log(LOG_INFO, "server %s: dialback is the backend's, "
		    "relaying to %s", s->c->remote_domain, s->c->backend);
	else if (s->o->s2s)
		xg_log(LOG_INFO, "server %s authenticated by %s, relaying to "
		    "%s", s->c->remote_domain, strcmp(s->c->s2s_auth,
		    "external") == 0 ? "EXTERNAL" : "certificate (XEP-0344)",
		    s->c->backend);
	else
		xg_log(LOG_INFO, "user %s@%s logged in, relaying to %s",
		    s->c->user, s->c->domain, s->c->backend);
	/* The credentials are gone; the relay's records are the user's
	 * traffic, and filling each freed one would only cost time. */
	mallopt(M_PERTURB, 0);
	/* What the login freed (parser, GnuTLS's handshake state, the
	 * helper's answer) goes back to the kernel: a long-lived idle
	 * session keeps only what the relay uses. */
	(void)malloc_trim(0);
	/* It sends close_notify when the session ends properly; after an
	 * error the client must see the cut.  Either way the session was
	 * the user's: exit 0, the reason says how it ended. */
	if (ktls_ready(s->c)) {
		struct splice_relay sr;

		memset(&sr, 0, sizeof(sr));
		sr.crfd = s->c->rfd;
		sr.cwfd = s->c->wfd;
		sr.bfd = fd;
		sr.pend = s->buf;
		sr.npend = s->len;
		sr.idle_timeout_s = s->o->idle_timeout;
		sr.no_splice = s->o->no_splice;
		sr.ktls = s->c->tls;
		(void)splice_relay(&sr, why, sizeof(why));
		s->c->rx += sr.rx;
		s->c->tx += sr.tx;
	} else
		(void)relay_run(s->c, fd, s->buf, s->len, s->o->idle_timeout,
		    why, sizeof(why));
	explicit_bzero(s->buf, sizeof(s->buf));
	close(fd);
	return finish(s, XG_EXIT_OK, "%s", why);
}

/* A child that has seen end of file: a moment to exit, then SIGKILL. */
static void
reap(pid_t pid)
{
	int64_t until = now_ms() + EXEC_WAIT_MS;
	int status;

	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (now_ms() > until) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		usleep(10000);
	}
}

/* After the login: <success/>, then the relay to the backend or PROG. */
static int
handoff(struct session *s, int bfd)
{
	char why[XG_REASON_MAX];
	size_t ws;
	int fd;
	pid_t pid;

	if (bfd >= 0 && s->bc.tls != NULL) {
		if ((fd = tls_pump(s, &s->bc)) == -1)
			return stream_error(s, XG_SE_REMOTE_CONNECTION_FAILED,
			    "the server is not reachable", XG_EXIT_TEMP,
			    "unable to start the backend TLS relay: %s",
			    strerror(errno));
		bfd = fd;
	}
	if (bfd >= 0) {
		if (send_success(s) == -1 || stream_restart(s) == -1)
			close(bfd);
		else
			relay(s, bfd);
		if (s->pump > 0)
			reap(s->pump);
		return -1;
	}
	snprintf(s->c->backend, sizeof(s->c->backend), "exec:%s",
	    s->o->exec_argv[0]);
	if ((fd = exec_start(s->o->exec_argv, s->c, &pid, why,
	    sizeof(why))) == -1)
		return stream_error(s, XG_SE_INTERNAL_SERVER_ERROR,
		    "internal error", XG_EXIT_TEMP, "%s", why);
	/* The program reads the restarted stream as a new document: the
	 * whitespace that ended the old one (a client's newline after
	 * </auth>) is not passed on, as far as it came with the <auth>. */
	ws = xml_ws_span(s->buf, s->len);
	memmove(s->buf, s->buf + ws, s->len - ws);
	s->len -= ws;
	if (send_success(s) == -1) {
		close(fd);
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
		return -1;
	}
	relay(s, fd);
	reap(pid);
	return -1;
}

/* Route mode, before any byte from the client: the map, then the
 * privileges go. */
static int
route_start(struct session *s)
{
	char err[XG_REASON_MAX];
	ssize_t n;

	if ((n = route_load(s->o->route, routemap, sizeof(routemap), err,
	    sizeof(err))) == -1 || priv_drop(s->o->user, err,
	    sizeof(err)) == -1)
		return stream_error(s, XG_SE_INTERNAL_SERVER_ERROR,
		    "server configuration error", XG_EXIT_TEMP, "%s", err);
	routemap_len = (size_t)n;
	return 0;
}

/*
 * Route mode: the client's plaintext stream header, parsed as strictly as
 * ever, names the domain; the map names its backend.  Every byte read so
 * far goes to the backend as it came (after a PROXY header, if asked
 * for), and splice(2) carries the rest: the backend answers the header,
 * offers STARTTLS and does the rest itself.
 */
static int
route_stream(struct session *s)
{
	struct splice_relay sr;
	struct xp_event ev;
	struct netaddr na;
	struct conn bc;
	char dom[XG_DOMAIN_MAX + 1], why[XG_REASON_MAX];
	uint8_t ph[XG_PROXY_OUT_MAX];
	const char *bad;
	size_t line, phlen = 0;
	int64_t dl;
	int r;

	s->keep_raw = 1;
	if (client_header(s, &ev) == -1)
		return -1;
	if (xg_domain_normalize(ev.to, dom, sizeof(dom)) == -1 ||
	    (r = route_lookup(routemap, routemap_len, dom, &na, &line,
	    &bad)) == ROUTE_NONE)
		return stream_error(s, XG_SE_HOST_UNKNOWN, "this domain is "
		    "not served here", XG_EXIT_REFUSED, "unknown domain");
	if (r == ROUTE_BAD)	/* checked at start: cannot happen */
		return stream_error(s, XG_SE_INTERNAL_SERVER_ERROR,
		    "server configuration error", XG_EXIT_TEMP,
		    "--route line %zu: %s", line, bad);
	snprintf(s->c->domain, sizeof(s->c->domain), "%s", dom);
	name_backend(s->c, &na);
	if (s->o->proxy_protocol && (phlen = proxy_build(s->o->proxy_protocol,
	    s->c->remote_ip, s->c->remote_port, s->c->local_ip,
	    s->c->local_port, ph, sizeof(ph))) == 0)
		return stream_error(s, XG_SE_INTERNAL_SERVER_ERROR,
		    "internal error", XG_EXIT_TEMP, "PROXY header does not fit");
	dl = now_ms() + (int64_t)s->o->backend_timeout * 1000;
	memset(&bc, 0, sizeof(bc));
	if ((bc.rfd = bc.wfd = netaddr_connect(&na, dl, why,
	    sizeof(why))) == -1)
		return stream_error(s, XG_SE_REMOTE_CONNECTION_FAILED,
		    "the server is not reachable", XG_EXIT_TEMP,
		    "backend %s: %s", s->c->backend, why);
	if (phlen > 0 && conn_write(&bc, ph, phlen, dl) == -1) {
		close(bc.rfd);
		return stream_error(s, XG_SE_REMOTE_CONNECTION_FAILED,
		    "the server is not reachable", XG_EXIT_TEMP,
		    "backend %s: write: %s", s->c->backend, strerror(errno));
	}
	xg_log(LOG_INFO, "routing %s to %s", dom, s->c->backend);

	memset(&sr, 0, sizeof(sr));
	sr.crfd = s->c->rfd;
	sr.cwfd = s->c->wfd;
	sr.bfd = bc.rfd;
	sr.pend = s->raw;
	sr.npend = s->rawlen;
	sr.idle_timeout_s = s->o->idle_timeout;
	sr.no_splice = s->o->no_splice;
	(void)splice_relay(&sr, why, sizeof(why));
	close(bc.rfd);
	s->c->rx = sr.rx;
	s->c->tx = sr.tx;
	return finish(s, XG_EXIT_OK, "%s (%s)", why, sr.spliced ? "splice" :
	    "user-space copy");
}

/*
 * s2s: keep every byte from here on for the backend, starting with those
 * read but not parsed yet (a header that came in one record with the
 * element before it), then read the remote's header.  Its bytes are
 * raw[0..hdrlen).
 */
static int
s2s_header(struct session *s, struct xp_event *ev)
{
	memcpy(s->raw, s->buf, s->len);
	s->rawlen = s->len;
	s->keep_raw = 1;
	if (client_header(s, ev) == -1)
		return -1;
	s->keep_raw = 0;
	if (s->rawlen < s->len || s->xp.tail > s->rawlen - s->len)
		return stream_error(s, XG_SE_INTERNAL_SERVER_ERROR,
		    "internal error", XG_EXIT_TEMP, "raw bytes lost");
	/* The backend reads a new document: the whitespace that ended the
	 * remote's old stream would put its declaration out of place. */
	memmove(s->raw, s->raw + s->xp.tail, s->rawlen - s->xp.tail);
	s->rawlen -= s->xp.tail;
	s->hdrlen = s->rawlen - s->len;
	return 0;
}

/*
 * s2s, after TLS: the remote's new header (kept byte for byte in raw for
 * the backend), its certificate checked for the domain it names, and the
 * policy helper.  0 when the certificate names the server and it is
 * welcome (s2s_external() goes on); otherwise the session ends here: a
 * refusal, or the dialback pass-through, in which the backend answers
 * this very header, so that the remote's dialback key is bound to the
 * backend's stream id (XEP-0220 ties it to the receiving stream).
 */
static int
s2s_stream(struct session *s)
{
	static struct auth_reply ar;
	struct auth_request req;
	struct xp_event ev;
	struct conn *c = s->c;
	char dom[XG_DOMAIN_MAX + 1], why[XG_REASON_MAX];
	enum auth_verdict v;
	int require = s->o->s2s_require_cert, valid;

	if (s2s_header(s, &ev) == -1)
		return -1;
	if (xg_domain_normalize(ev.to, dom, sizeof(dom)) == -1 ||
	    strcmp(dom, c->domain) != 0)
		return stream_error(s, XG_SE_HOST_UNKNOWN, "this domain is "
		    "not served here", XG_EXIT_REFUSED, "stream 'to' changed "
		    "after TLS");
	if (version_check(s, &ev) == -1 || remote_from(s, &ev) == -1)
		return -1;
	if (strcmp(c->cert_status, "valid") == 0 &&
	    (c->cert_match = s2s_id_match(c->cert_dnsnames,
	    c->cert_srvnames, c->cert_xmppaddrs, c->remote_domain)) ==
	    S2S_MATCH_NONE)
		c->cert_status = "name-mismatch";
	valid = strcmp(c->cert_status, "valid") == 0;
	xg_log(LOG_INFO, "server %s: certificate %s%s%s%s%s",
	    c->remote_domain, c->cert_status, valid ? " by " : "",
	    valid ? s2s_match_name(c->cert_match) : "",
	    c->cert_presented ? " sha256=" : "",
	    c->cert_presented ? c->cert_sha256 : "");
	s->s2s_backend = s->o->backend;
	name_backend(c, &s->s2s_backend);
	if (s->o->auth != NULL) {
		memset(&req, 0, sizeof(req));
		req.mechanism = valid ? "EXTERNAL" : "DIALBACK";
		req.user = c->remote_domain;
		req.domain = c->domain;
		req.attempt = 1;
		req.conn = c;
		v = authhelper_run(s->o->auth, &req, s->o->auth_timeout * 1000,
		    &ar, why, sizeof(why));
		if (v == AUTH_TEMPFAIL)
			return stream_error(s, XG_SE_INTERNAL_SERVER_ERROR,
			    "internal error", XG_EXIT_TEMP, "policy %s",
			    why);
		if (v == AUTH_REJECT) {
			snprintf(why, sizeof(why), "federation with %.200s is "
			    "not allowed here", c->remote_domain);
			return stream_error(s, XG_SE_POLICY_VIOLATION,
			    ar.has_message ? ar.message : why, XG_EXIT_REFUSED,
			    "policy helper refused %s", c->remote_domain);
		}
		if (ar.has_require && strcmp(ar.require, "certificate") != 0)
			return stream_error(s, XG_SE_INTERNAL_SERVER_ERROR,
			    "internal error", XG_EXIT_TEMP, "policy helper: "
			    "require= wants 'certificate'");
		require |= ar.has_require;
		if (ar.has_backend && (netaddr_parse(ar.backend,
		    &s->s2s_backend) == -1 ||
		    !loopback_backend(&s->s2s_backend)))
			return stream_error(s, XG_SE_INTERNAL_SERVER_ERROR,
			    "internal error", XG_EXIT_TEMP, "policy helper: "
			    "backend= is not a loopback address or UNIX "
			    "socket");
		if (ar.has_backend)
			name_backend(c, &s->s2s_backend);
	}
	if (valid)
		return 0;
	if (require)
		return stream_error(s, XG_SE_NOT_AUTHORIZED,
		    s2s_cert_refusal(c->cert_status), XG_EXIT_REFUSED,
		    "server %s: certificate %s, and one is required",
		    c->remote_domain, c->cert_status);
	c->s2s_auth = "dialback";
	return s2s_handoff(s, 0, NULL);
}

/*
 * Hand the stream to the backend: a PROXY v2 header that names our domain
 * and, when we authenticated the server (authed), the server; the
 * remote's last header as it came; the rest is the relay.  After XEP-0344
 * the remote has our header already, so the backend's is dropped, and
 * our answer (answer) goes out only once the backend has taken the
 * stream.  Always -1: the session ends here.
 */
static int
s2s_handoff(struct session *s, int authed, const char *answer)
{
	struct conn *c = s->c, bc;
	uint8_t ph[XG_PROXY_OUT_MAX];
	char why[XG_REASON_MAX];
	int64_t dl = now_ms() + (int64_t)s->o->backend_timeout * 1000;
	size_t phlen = 0;
	pid_t pid = 0;
	int fd;

	memset(&bc, 0, sizeof(bc));
	if (s->o->exec_argv != NULL) {
		snprintf(c->backend, sizeof(c->backend), "exec:%s",
		    s->o->exec_argv[0]);
		if ((fd = exec_start(s->o->exec_argv, c, &pid, why,
		    sizeof(why))) == -1)
			return stream_error(s, XG_SE_INTERNAL_SERVER_ERROR,
			    "internal error", XG_EXIT_TEMP, "%s", why);
	} else {
		phlen = proxy_build(2, c->remote_ip, c->remote_port,
		    c->local_ip, c->local_port, ph, sizeof(ph));
		phlen = proxy_add_tlv(ph, phlen, sizeof(ph),
		    PP2_TYPE_AUTHORITY, c->domain, strlen(c->domain));
		if (authed)
			phlen = proxy_add_tlv(ph, phlen, sizeof(ph),
			    PP2_TYPE_XMPPGATE_S2S, c->remote_domain,
			    strlen(c->remote_domain));
		if (phlen == 0)
			return stream_error(s, XG_SE_INTERNAL_SERVER_ERROR,
			    "internal error", XG_EXIT_TEMP,
			    "PROXY header does not fit");
		if ((fd = netaddr_connect(&s->s2s_backend, dl, why,
		    sizeof(why))) == -1)
			return stream_error(s, XG_SE_REMOTE_CONNECTION_FAILED,
			    "the server is not reachable", XG_EXIT_TEMP,
			    "backend %s: %s", c->backend, why);
	}
	bc.rfd = bc.wfd = fd;
	if ((phlen > 0 && conn_write(&bc, ph, phlen, dl) == -1) ||
	    conn_write(&bc, s->raw, s->hdrlen, dl) == -1)
		snprintf(why, sizeof(why), "write: %s", strerror(errno));
	else if (answer == NULL || s2s_skip_features(&bc, dl, why,
	    sizeof(why)) == 0)
		why[0] = '\0';
	explicit_bzero(s->raw, sizeof(s->raw));
	if (why[0] == '\0' && answer != NULL &&
	    conn_printf(c, s->deadline, "%s", answer) == -1)
		snprintf(why, sizeof(why), "client write: %s",
		    strerror(errno));
	if (why[0] != '\0') {
		close(fd);
		if (pid > 0)
			reap(pid);
		return stream_error(s, XG_SE_REMOTE_CONNECTION_FAILED,
		    "the server is not reachable", XG_EXIT_TEMP,
		    "backend %s: %s", c->backend, why);
	}
	relay(s, fd);
	if (pid > 0)
		reap(pid);
	return -1;
}

/* RFC 6120 6.4.2 for EXTERNAL: the authzid, "=" for an empty one, or a
 * challenge first when there was no initial response.  0 with authz (may
 * be ""), 1 after a <failure/>, -1 when the session ended. */
static int
external_authzid(struct session *s, struct xp_event *ev, char *authz,
    size_t authzsz)
{
	gnutls_datum_t d = { NULL, 0 };
	const char *fail = NULL;

	if (ev->data_empty) {
		xg_debug("sent: empty challenge");
		if (conn_printf(s->c, s->deadline, "<challenge xmlns='"
		    NS_SASL "'/>") == -1)
			return finish(s, XG_EXIT_REFUSED, "client write: %s",
			    strerror(errno));
		if (next_event(s, ev) == -1 || common_event(s, ev) == -1)
			return -1;
		if (ev->type == XP_EV_ABORT)
			fail = "aborted";
		else if (ev->type != XP_EV_RESPONSE)
			return stream_error(s, XG_SE_POLICY_VIOLATION,
			    "a SASL response was expected", XG_EXIT_REFUSED,
			    "no <response/> after the challenge");
	}
	authz[0] = '\0';
	if (fail == NULL && ev->data_len == 1 && ev->data[0] == '=')
		return 0;
	if (fail == NULL && ev->data_len > 0) {
		if (xg_b64_decode(ev->data, ev->data_len, &d) == -1)
			fail = "incorrect-encoding";
		else if (d.size >= authzsz || memchr(d.data, '\0', d.size))
			fail = "invalid-authzid";
		else {
			memcpy(authz, d.data, d.size);
			authz[d.size] = '\0';
		}
		if (d.data != NULL)
			gnutls_free(d.data);
	}
	if (fail == NULL)
		return 0;
	xg_debug("sent: failure %s", fail);
	if (conn_printf(s->c, s->deadline, "<failure xmlns='" NS_SASL
	    "'><%s/></failure>", fail) == -1)
		return finish(s, XG_EXIT_REFUSED, "client write: %s",
		    strerror(errno));
	return 1;
}

/*
 * s2s with a certificate that names the server: our header and features,
 * then SASL EXTERNAL (XEP-0178), or a <db:result> for that server that we
 * answer ourselves (XEP-0344: the certificate is the proof).  Either way
 * the stream goes to the backend as authenticated.
 */
static int
s2s_external(struct session *s)
{
	struct xp_event ev;
	struct conn *c = s->c;
	char authz[XG_DOMAIN_MAX + 1], dom[XG_DOMAIN_MAX + 1];
	char answer[2 * XG_DOMAIN_NAME_MAX + 128];
	int r;

	if (send_header(s) == -1)
		return finish(s, XG_EXIT_REFUSED, "client write: %s",
		    strerror(errno));
	xg_debug("sent: features EXTERNAL%s", s->db ? ", dialback" : "");
	if (conn_printf(s->c, s->deadline, "<stream:features><mechanisms "
	    "xmlns='" NS_SASL "'><mechanism>EXTERNAL</mechanism></mechanisms>"
	    "%s</stream:features>", s->db ? "<dialback xmlns='"
	    NS_DIALBACK_FEATURE "'/>" : "") == -1)
		return finish(s, XG_EXIT_REFUSED, "client write: %s",
		    strerror(errno));
	for (;;) {
		if (next_event(s, &ev) == -1 || common_event(s, &ev) == -1)
			return -1;
		if (ev.type == XP_EV_DIALBACK) {
			if (ev.name[0] != 'r')
				return stream_error(s, XG_SE_POLICY_VIOLATION,
				    "send <db:verify> on a stream of its own",
				    XG_EXIT_REFUSED, "<db:verify> on a stream "
				    "with a verified certificate");
			if (!ev.has_from || xg_domain_normalize(ev.from, dom,
			    sizeof(dom)) == -1 || strcmp(dom,
			    c->remote_domain) != 0 || !ev.has_to ||
			    xg_domain_normalize(ev.to, dom, sizeof(dom)) ==
			    -1 || strcmp(dom, c->domain) != 0)
				return stream_error(s, XG_SE_INVALID_FROM,
				    "this stream is for the domain your "
				    "certificate names", XG_EXIT_REFUSED,
				    "<db:result> for another pair of domains");
			/* The prefix declared here: the remote may have used
			 * a default namespace instead of xmlns:db. */
			snprintf(answer, sizeof(answer), "<db:result xmlns:db='"
			    NS_DIALBACK "' from='%.253s' to='%.253s' "
			    "type='valid'/>", c->domain, c->remote_domain);
			xg_debug("client: db:result; sent: valid (XEP-0344)");
			c->s2s_auth = "certificate";
			return s2s_handoff(s, 1, answer);
		}
		if (ev.type != XP_EV_AUTH)
			return stream_error(s, XG_SE_POLICY_VIOLATION,
			    ev.type == XP_EV_STARTTLS ? "TLS is already up" :
			    "authenticate first", XG_EXIT_REFUSED,
			    "<%s> where <auth> was expected", ev.name);
		if (strcmp(ev.mechanism, "EXTERNAL") != 0) {
			xg_debug("sent: failure invalid-mechanism");
			if (conn_printf(s->c, s->deadline, "<failure xmlns='"
			    NS_SASL "'><invalid-mechanism/></failure>") == -1)
				return finish(s, XG_EXIT_REFUSED, "client "
				    "write: %s", strerror(errno));
			if (++s->failed >= s->o->max_attempts)
				return stream_error(s, XG_SE_POLICY_VIOLATION,
				    "too many attempts", XG_EXIT_REFUSED,
				    "%d failed attempts", s->failed);
			continue;
		}
		if ((r = external_authzid(s, &ev, authz, sizeof(authz))) == -1)
			return -1;
		if (r == 1) {
			if (++s->failed >= s->o->max_attempts)
				return stream_error(s, XG_SE_POLICY_VIOLATION,
				    "too many attempts", XG_EXIT_REFUSED,
				    "%d failed attempts", s->failed);
			continue;
		}
		/* XEP-0178: the authzid is the stream's 'from', or none. */
		if (authz[0] != '\0' && (xg_domain_normalize(authz, dom,
		    sizeof(dom)) == -1 || strcmp(dom, c->remote_domain) != 0)) {
			xg_debug("sent: failure invalid-authzid");
			conn_printf(s->c, s->deadline, "<failure xmlns='"
			    NS_SASL "'><invalid-authzid/></failure>"
			    "</stream:stream>");
			close_client(s->c);
			return finish(s, XG_EXIT_REFUSED, "EXTERNAL authzid "
			    "is not %s", c->remote_domain);
		}
		break;
	}
	c->s2s_auth = "external";
	xg_debug("sent: success");
	if (conn_printf(s->c, s->deadline, "<success xmlns='" NS_SASL "'/>")
	    == -1)
		return finish(s, XG_EXIT_OK, "client write: %s",
		    strerror(errno));
	/* The remote's new header is the backend's to answer. */
	xp_restart(&s->xp);
	s->xp.s2s = 1;
	s->header_sent = 0;
	s->restarting = 1;
	s->deadline = now_ms() + ((int64_t)s->o->header_timeout + 1) * 1000;
	if (s2s_header(s, &ev) == -1)
		return -1;
	if (xg_domain_normalize(ev.to, dom, sizeof(dom)) == -1 ||
	    strcmp(dom, c->domain) != 0)
		return stream_error(s, XG_SE_HOST_UNKNOWN, "this domain is "
		    "not served here", XG_EXIT_REFUSED, "stream 'to' changed "
		    "after SASL");
	if (version_check(s, &ev) == -1 || remote_from(s, &ev) == -1)
		return -1;
	return s2s_handoff(s, 1, NULL);
}
