/*
 * The command line: getopt_long() over the options of every mode, then
 * the checks that say which options go together (a usage error exits
 * 100), and the defaults.  --new-ticket-key, --help and --version do
 * their job here and exit.  A mode's own rules are one function each
 * (route_options(), s2s_options(); parse_mechanisms() for the client's
 * SASL), called at the end of parse_options(): a new mode adds its case
 * to the table and its function beside them.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include "xmppgate.h"

static void usage(FILE *, int) __attribute__((noreturn));
static int new_ticket_key(const char *);
static void usage_error(const char *, ...)
    __attribute__((noreturn, format(printf, 1, 2)));
static void parse_mechanisms(const char *, struct options *);
static void auth_option(const struct options *);
static void route_options(struct options *, const char *);
static void s2s_options(struct options *, const char *);
static void pool_options(struct options *);
static void relay_option(const struct options *);
static void s2s_out_options(struct options *, const char *);

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
"       xmppgate --s2s-out (--cert FILE --key FILE --domain NAME | --cert-dir DIR\n"
"                | --cert-helper PATH) [--auth PATH] [--dns-server ADDR]\n"
"       xmppgate --route FILE [options]\n"
"       xmppgate --new-ticket-key FILE\n"
"  -c, --cert FILE              certificate chain (PEM)\n"
"  -k, --key FILE               private key (PEM)\n"
"      --ocsp FILE              OCSP response to staple, with --cert (DER)\n"
"      --cert-dir DIR           DIR/DOMAIN/fullchain.pem and privkey.pem\n"
"      --cert-helper PATH       certificate helper, see xmppgate-cert(5)\n"
"      --cert-timeout SEC       certificate helper time limit (10)\n"
"  -d, --domain NAME            a domain served (repeatable)\n"
"  -a, --auth PATH              auth helper, see xmppgate-auth(5); or\n"
"                               unix:/PATH, a helper's socket\n"
"      --auth-protocol NAME     xmppgate, checkpassword or ejabberd\n"
"      --auth-scram             the helper serves SCRAM credentials\n"
"      --sasl-mechanisms LIST   mechanisms offered, in order, comma separated\n"
"  -b, --backend ADDR           HOST:PORT, [IPV6]:PORT or unix:PATH\n"
"      --backend-tls MODE       starttls or direct TLS to the backend\n"
"      --backend-ca FILE        CAs for the backend (default: system)\n"
"      --no-backend-preopen     connect to the backend only after the helper\n"
"                               accepted, not during the client's login\n"
"      --relay PATH             hand logged-in sessions with kernel TLS to\n"
"                               xmppgate-relay(8) at this socket, and exit\n"
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
"      --no-sasl2               offer only RFC 6120 SASL, not XEP-0388 SASL2\n"
"                               (with Bind2 and inline stream management)\n"
"      --fast                   offer XEP-0484 FAST tokens (the helper keeps\n"
"                               them; xmppgate-auth(5), FAST)\n"
"      --listen                 pooled mode: on a listening socket, a child\n"
"                               per connection (xmppgate(8), POOLED MODE)\n"
"      --max-conns N            pooled: connections at once (1024)\n"
"      --max-conns-per-source N pooled: ... from one address or IPv6 /64\n"
"                               (256; 0 for no bound)\n"
"      --reexec-after N         pooled: re-exec after N connections (1000)\n"
"      --reexec-interval MIN    pooled: ... and every MIN minutes (60)\n""      --s2s                    server-to-server mode (federation, port 5269)\n"
"      --s2s-out                the backend's outgoing server-to-server\n"
"                               streams, on loopback (xmppgate(8))\n"
"      --dns-server ADDR[@PORT] --s2s-out: ask this DNS server, not those\n"
"                               of /etc/resolv.conf\n"
"      --s2s-out-loopback       --s2s-out: remotes may be on loopback\n"
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

void
parse_options(int argc, char **argv, struct options *o)
{
	enum { O_PRIO = 256, O_TIMEOUT, O_HDR, O_HS, O_AUTHT, O_BT, O_IDLE,
	    O_MAX, O_DELAY, O_OCSP, O_CDIR, O_CHELPER, O_CTIMEOUT, O_BTLS,
	    O_BCA, O_DIRECTTLS, O_STARTTLS, O_TICKET, O_NEWTICKET, O_CLIENTCA,
	    O_AUTHPROTO, O_PROXYOUT, O_PROXYIN, O_TRUSTED, O_SCRAM, O_MECHS,
	    O_ROUTE, O_NOSPLICE, O_S2S, O_S2SCA, O_S2SREQ,
	    O_LISTEN, O_MAXCONNS, O_PERSOURCE, O_REEXEC, O_REEXECMIN,
	    O_NOPREOPEN, O_RELAY, O_S2SOUT, O_DNSSERVER, O_S2SLOOP, O_NOSASL2,
	    O_FAST };
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
		{ "no-sasl2", no_argument, NULL, O_NOSASL2 },
		{ "fast", no_argument, NULL, O_FAST },
		{ "no-backend-preopen", no_argument, NULL, O_NOPREOPEN },
		{ "relay", required_argument, NULL, O_RELAY },
		{ "s2s", no_argument, NULL, O_S2S },
		{ "s2s-out", no_argument, NULL, O_S2SOUT },
		{ "dns-server", required_argument, NULL, O_DNSSERVER },
		{ "s2s-out-loopback", no_argument, NULL, O_S2SLOOP },
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
		case O_NOSASL2: o->no_sasl2 = 1; break;
		case O_FAST: o->fast = 1; break;
		case O_NOPREOPEN: o->no_backend_preopen = 1; break;
		case O_RELAY: o->relay = optarg; break;
		case O_S2S: o->s2s = 1; break;
		case O_S2SCA: o->s2s_ca = optarg; break;
		case O_S2SOUT: o->s2s_out = 1; break;
		case O_DNSSERVER: o->dns_server = optarg; break;
		case O_S2SLOOP: o->s2s_out_loopback = 1; break;
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
	if (o->s2s_out && (o->s2s || o->route != NULL))
		usage_error("--s2s-out excludes --s2s and --route");
	if ((o->dns_server != NULL || o->s2s_out_loopback) && !o->s2s_out)
		usage_error("--dns-server and --s2s-out-loopback go with "
		    "--s2s-out");
	relay_option(o);
	pool_options(o);
	if (o->route != NULL) {
		route_options(o, mechs);
		return;
	}
	/* Outgoing streams require the remote's certificate always. */
	if (!o->s2s && (o->s2s_require_cert || (o->s2s_ca != NULL &&
	    !o->s2s_out)))
		usage_error("--s2s-ca and --s2s-require-cert go with --s2s "
		    "(--s2s-ca also with --s2s-out, which always requires a "
		    "valid certificate)");
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
	if ((o->s2s || o->s2s_out) && (o->no_sasl2 || o->fast))
		usage_error("--no-sasl2 and --fast are about clients' logins; "
		    "drop them with --s2s and --s2s-out");
	if (o->s2s) {
		s2s_options(o, mechs);
		return;
	}
	if (o->s2s_out) {
		s2s_out_options(o, mechs);
		return;
	}
	if (o->auth_scram && o->auth_protocol != XG_AP_NATIVE)
		usage_error("--auth-scram needs --auth-protocol xmppgate: only "
		    "its helpers can serve stored SCRAM credentials");
	parse_mechanisms(mechs, o);
	if (o->auth == NULL)
		usage_error("--auth is required");
	auth_option(o);
	if (o->has_backend == (o->exec_argv != NULL))
		usage_error("give exactly one of --backend or -- PROG");
	if (o->fast && o->no_sasl2)
		usage_error("--fast needs SASL2: drop --no-sasl2");
	if (o->fast && o->auth_protocol != XG_AP_NATIVE)
		usage_error("--fast needs --auth-protocol xmppgate: only its "
		    "helpers keep and check FAST tokens");
}

/* --relay PATH: xmppgate-relay(8)'s socket.  It carries sessions of a
 * plain backend only: exec mode's program and --backend-tls's child are
 * this process's own, so those sessions could not leave it. */
static void
relay_option(const struct options *o)
{
	struct sockaddr_un sun;

	if (o->relay == NULL)
		return;
	if (o->relay[0] != '/')
		usage_error("--relay wants the absolute path of "
		    "xmppgate-relay's socket");
	if (strlen(o->relay) >= sizeof(sun.sun_path))
		usage_error("--relay: the path is longer than a socket's "
		    "(%zu bytes)", sizeof(sun.sun_path) - 1);
	if (o->route != NULL)
		usage_error("--relay does not go with --route (route mode "
		    "never decrypts, so it has no session to hand over)");
	if (o->exec_argv != NULL)
		usage_error("--relay goes with --backend: an exec-mode "
		    "program is a child of this process");
	if (o->backend_tls != XG_BTLS_NONE)
		usage_error("--relay does not go with --backend-tls: the "
		    "backend's TLS is carried by a child of this process");
}

/* --auth: a program's absolute path, or unix:/PATH, a helper that stays
 * up (xmppgate-auth(5), SOCKET HELPERS), which has its own protocol. */
static void
auth_option(const struct options *o)
{
	struct netaddr na;

	if (strncmp(o->auth, "unix:", 5) != 0) {
		if (o->auth[0] != '/')
			usage_error("--auth wants an absolute path or "
			    "unix:/PATH");
		return;
	}
	if (netaddr_parse(o->auth, &na) == -1 || !na.is_unix)
		usage_error("--auth %s: unix: wants an absolute path of at "
		    "most 107 bytes, without control characters", o->auth);
	if (o->auth_protocol != XG_AP_NATIVE)
		usage_error("--auth unix:/PATH speaks the socket form of "
		    "xmppgate-auth(5), not --auth-protocol checkpassword or "
		    "ejabberd");
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
	    o->auth_protocol != XG_AP_NATIVE || o->no_sasl2 || o->fast)
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
	if (o->auth != NULL)
		auth_option(o);
	if (o->has_backend == (o->exec_argv != NULL))
		usage_error("give exactly one of --backend or -- PROG");
	if (o->has_backend && o->proxy_protocol != 2)
		usage_error("--s2s --backend needs --proxy-protocol v2: its "
		    "header tells the backend which server is authenticated");
	if (o->has_backend && !netaddr_loopback(&o->backend))
		usage_error("--s2s: the backend must be a loopback address or "
		    "a UNIX socket (it trusts what the PROXY header says)");
}

/* --dns-server: an IPv4 or IPv6 address, maybe @PORT (libunbound's
 * form); 0, or -1. */
static int
dns_server_ok(const char *s)
{
	char host[INET6_ADDRSTRLEN + 1];
	unsigned char a[16];
	unsigned long port;
	const char *at = strchr(s, '@');
	size_t n = at != NULL ? (size_t)(at - s) : strlen(s);

	if (n == 0 || n >= sizeof(host))
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	if (inet_pton(AF_INET, host, a) != 1 && inet_pton(AF_INET6, host, a) != 1)
		return -1;
	if (at != NULL && (xg_decimal(at + 1, 5, &port) == -1 || port == 0 ||
	    port > 65535))
		return -1;
	return 0;
}

/*
 * --s2s-out: the backend's own outgoing streams, answered here and
 * carried to the remote server that DNS names.  The backend is the peer,
 * so --backend, PROG and everything about a client's login or TLS with
 * us are refused; the helper is optional (federation policy).
 */
static void
s2s_out_options(struct options *o, const char *mechs)
{
	if (o->auth_scram || mechs != NULL || o->client_ca != NULL ||
	    o->auth_protocol != XG_AP_NATIVE)
		usage_error("--s2s-out: drop --auth-scram, --sasl-mechanisms, "
		    "--client-ca and --auth-protocol (the helper, if any, is "
		    "a federation policy)");
	if (o->has_backend || o->exec_argv != NULL || o->relay != NULL ||
	    o->backend_tls != XG_BTLS_NONE || o->proxy_protocol)
		usage_error("--s2s-out: the remote server is found by DNS; "
		    "drop --backend, -- PROG, --relay, --backend-tls and "
		    "--proxy-protocol");
	if (o->tls_mode != XG_TLS_BOTH || o->ticket_key != NULL ||
	    o->accept_proxy)
		usage_error("--s2s-out: the backend's stream is plaintext on "
		    "loopback; drop --direct-tls-only, --starttls-only, "
		    "--ticket-key and --accept-proxy-protocol");
	if (o->dns_server != NULL && dns_server_ok(o->dns_server) == -1)
		usage_error("--dns-server wants ADDR or ADDR@PORT (an IPv4 "
		    "or IPv6 address), not '%s'", o->dns_server);
	if (o->auth != NULL)
		auth_option(o);
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
