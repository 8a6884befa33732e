/*
 * xmppgate: an XMPP front door.  One process per client connection:
 * stream, STARTTLS, SASL checked by a helper, then a backend login (or
 * an exec'd program), then a byte relay.  main() is the table of
 * contents: it picks the mode and calls its phases in order, each in a
 * file named after it (doc/design.md):
 *
 *   options.c      the command line
 *   arrival.c      the PROXY header; Direct TLS or STARTTLS
 *   stream.c       the stream before authentication, STARTTLS, the end
 *   sasl.c         the client's SASL attempts and the helper's verdicts
 *   handoff.c      the backend login, <success/>, the relay (or PROG)
 *   preopen.c      the backend opened while the client logs in
 *   federation.c   --s2s: the remote server's certificate, EXTERNAL
 *   s2sout.c       --s2s-out: the backend's outgoing stream, carried
 *                  to the remote server that DNS names (dns.c)
 *   route.c        --route: one header picks the backend, then splice(2)
 *   pool.c         --listen: a parent on a listening socket forks a
 *                  child per connection, which comes back here
 *   poolkids.c     --listen: the children and sources it counts, and
 *                  what crosses its re-exec
 *
 * The phases share struct session (session.h), and no other state.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <sys/prctl.h>
#include "session.h"

#define FREE_FILL		0xa5	/* freed heap bytes before the relay */

static void std_fds_open(void);

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
	/* Not dumpable from the first instruction of ours, not only from
	 * priv_drop(): a pool's new image or check child keeps the user it
	 * runs as, and its /proc/PID/mem must not open to that user (a
	 * child an attacker holds) while it loads the key. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	s.pre_fd = -1;		/* no backend pre-opened (preopen.c) */
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
	    tls_load(&tls, &o, err, sizeof(err))) == -1 ||
	    (!o.listen && priv_drop(o.user, err, sizeof(err)) == -1)) {
		/* --s2s-out: the backend reads a PROXY header first. */
		if (o.s2s_out)
			s2sout_refuse(&s, XG_SE_INTERNAL_SERVER_ERROR,
			    "server configuration error", XG_EXIT_TEMP, err);
		else
			stream_error(&s, XG_SE_INTERNAL_SERVER_ERROR,
			    "server configuration error", XG_EXIT_TEMP, "%s",
			    err);
		tls_free(&tls);	/* a pool child: loaded, privileges not */
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

	/* Outbound federation: the backend's plaintext stream on loopback,
	 * answered once the remote (DNS, TLS, its certificate, EXTERNAL)
	 * is reached; the backend learns which from a PROXY header. */
	if (o.s2s_out) {
		s2sout(&s);
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
	/* Every path ends here: no credential outlives the session, and
	 * no pre-opened backend connection either. */
	preopen_drop(&s, "the session ended");
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
