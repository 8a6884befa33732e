/*
 * xmppgate-auth-scram: a sample xmppgate-auth(5) helper that serves
 * stored SCRAM credentials (RFC 5803 authPassword values) from a file, so
 * xmppgate can offer SCRAM without ever seeing the password:
 *
 *	# comment
 *	alice@example.org SCRAM-SHA-256$4096:SALT$STOREDKEY:SERVERKEY
 *	alice@example.org SCRAM-SHA-1$4096:SALT$STOREDKEY:SERVERKEY
 *	alice@example.org password=the-backend-password
 *	alice@example.org backend=127.0.0.1:5222
 *
 * A line is a JID, one space, and either a credential (an authPassword
 * value, as LDAP stores it) or a reply line for xmppgate-auth(5) (user=,
 * password=, backend=), passed on when the user is accepted.
 *
 * Usage:
 *	xmppgate-auth-scram [FILE]	as xmppgate runs it: for a SCRAM
 *					request (AUTH_SCRAM_HASH set) print
 *					scram= for that hash; for PLAIN check
 *					the password on stdin against the
 *					stored credentials; refuse any
 *					other mechanism (EXTERNAL)
 *	xmppgate-auth-scram --listen [--allow-uid UID[,UID...]] [FILE]
 *					the same as a helper that stays up
 *					(--auth unix:/PATH): requests on the
 *					socket systemd passes (Accept=no),
 *					one per connection, each checked in
 *					a child; only peers of those uids
 *					(or user names) with --allow-uid
 *	xmppgate-auth-scram --hash [-a SHA-1|SHA-256] [-i ITER] [JID]
 *					the authPassword value (or a whole
 *					line) for the password on stdin, with
 *					a new random salt
 *
 * FILE is argv[1], else $XMPPGATE_SCRAM_FILE, else SYSCONFDIR/xmppgate/
 * scram.  Exit 0 accept, 1 reject (no such user, no credential for the
 * hash, wrong password), 111 when the file cannot be read or has a bad
 * line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include "xmppgate.h"
#include "authlisten.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define DEFAULT_FILE	SYSCONFDIR "/xmppgate/scram"
#define PROG		"xmppgate-auth-scram"
#define LINE_MAX_LEN	2048
#define EXTRA_MAX	(XG_HELPER_REPLY_MAX - 512)	/* reply lines kept */
#define SALT_BYTES	16
#define DEFAULT_ITER	10000	/* Prosody's default; RFC 7677 wants 4096+ */

#define EXIT_ACCEPT	0
#define EXIT_REJECT	1
#define EXIT_TEMP	111

static char pass[XG_SASL_FIELD_MAX + 2];
static FILE *rout;		/* stdout, or with --listen outbuf */
static char outbuf[XG_HELPER_REPLY_MAX + 1];
static int conn = -1;		/* --listen: the child's connection */
static size_t conn_plen;	/* --listen: the password's length */

static void __attribute__((noreturn))
done(int code)
{
	long n;

	explicit_bzero(pass, sizeof(pass));
	if (conn != -1) {
		/* A reply that did not fit is a temporary failure. */
		if (fflush(rout) == EOF || (n = ftell(rout)) < 0 ||
		    (size_t)n >= sizeof(outbuf)) {
			n = 0;
			if (code == EXIT_ACCEPT)
				code = EXIT_TEMP;
		}
		authlisten_answer(conn, code, outbuf, (size_t)n);
		explicit_bzero(outbuf, sizeof(outbuf));
	}
	exit(code);
}

static void __attribute__((noreturn))
fatal(const char *what, const char *arg)
{
	fprintf(stderr, "%s: %s%s%s%s%s\n", PROG, what, arg ? " " : "",
	    arg ? arg : "", errno ? ": " : "", errno ? strerror(errno) : "");
	done(EXIT_TEMP);
}

static size_t
read_pass(void)
{
	size_t len = 0;
	ssize_t r;

	if (conn != -1) {	/* --listen: it came with the request */
		len = conn_plen;
		goto got;
	}
	while (len < sizeof(pass) - 1) {
		r = read(0, pass + len, sizeof(pass) - 1 - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			fatal("unable to read the password", NULL);
		if (r == 0)
			break;
		len += (size_t)r;
	}
	pass[len] = '\0';
got:
	if (len > XG_SASL_FIELD_MAX || memchr(pass, '\0', len) != NULL)
		done(EXIT_REJECT);
	return len;
}

static void __attribute__((noreturn))
hash_mode(int argc, char **argv)
{
	enum scram_hash h = SCRAM_SHA256;
	struct scram_creds cr;
	unsigned long iter = DEFAULT_ITER;
	uint8_t salt[SALT_BYTES];
	char out[512];
	const char *jid = NULL;
	size_t len;
	int i, plus;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-a") == 0 && i + 1 < argc) {
			char m[32];
			snprintf(m, sizeof(m), "SCRAM-%s", argv[++i]);
			if (scram_mech(m, &h, &plus) == -1 || plus) {
				errno = 0;
				fatal("-a wants SHA-1 or SHA-256, not", argv[i]);
			}
		} else if (strcmp(argv[i], "-i") == 0 && i + 1 < argc) {
			if (xg_decimal(argv[++i], 8, &iter) == -1 ||
			    iter < 4096 || iter > XG_SCRAM_ITER_MAX) {
				errno = 0;
				fatal("-i wants 4096 to 10000000, not", argv[i]);
			}
		} else if (jid == NULL && argv[i][0] != '-' &&
		    strchr(argv[i], '@') != NULL && !strchr(argv[i], ' ')) {
			jid = argv[i];
		} else {
			errno = 0;
			fatal("usage: " PROG " --hash [-a SHA-1|SHA-256] "
			    "[-i ITER] [JID], not at", argv[i]);
		}
	}
	len = read_pass();
	/* Typed or echoed: drop one final newline. */
	if (len > 0 && pass[len - 1] == '\n')
		pass[--len] = '\0';
	if (len == 0) {
		errno = 0;
		fatal("empty password", NULL);
	}
	if (gnutls_rnd(GNUTLS_RND_NONCE, salt, sizeof(salt)) < 0 ||
	    scram_creds_from_password(h, pass, len, salt, sizeof(salt), iter,
	    &cr) == -1 || scram_creds_format(&cr, out, sizeof(out)) == 0)
		fatal("unable to compute the credentials", NULL);
	explicit_bzero(&cr, sizeof(cr));
	if (printf("%s%s%s\n", jid ? jid : "", jid ? " " : "", out) < 0 ||
	    fflush(stdout) == EOF)
		fatal("unable to write", NULL);
	done(EXIT_ACCEPT);
}

int
main(int argc, char **argv)
{
	const char *file, *user, *domain, *want_hash, *mech;
	char want[2 * XG_SASL_FIELD_MAX + 2], line[LINE_MAX_LEN + 2];
	char extra[EXTRA_MAX + 1], found[LINE_MAX_LEN + 2];
	struct scram_creds cr;
	size_t wl, ln = 0, plen = 0, el = 0;
	int known = 0, matched = 0, have = 0, listening = 0;
	FILE *f;

	rout = stdout;
	if (argc > 1 && strcmp(argv[1], "--hash") == 0)
		hash_mode(argc - 2, argv + 2);
	if (argc > 1 && strcmp(argv[1], "--listen") == 0) {
		listening = 1;
		argc--;
		argv++;
		authlisten_args(PROG, &argc, &argv);
	}
	if (argc > 1)
		file = argv[1];
	else if ((file = getenv("XMPPGATE_SCRAM_FILE")) == NULL)
		file = DEFAULT_FILE;
	/* From here on in a child per connection, as if run by xmppgate;
	 * the reply lines go to a buffer, with the verdict before them. */
	if (listening) {
		conn = authlisten(PROG, pass, sizeof(pass), &conn_plen);
		if ((rout = fmemopen(outbuf, sizeof(outbuf), "w")) == NULL)
			fatal("fmemopen", NULL);
	}
	user = getenv("AUTH_USER");
	domain = getenv("AUTH_DOMAIN");
	mech = getenv("AUTH_MECHANISM");
	want_hash = getenv("AUTH_SCRAM_HASH");
	if (user == NULL || domain == NULL || mech == NULL) {
		errno = 0;
		fatal("AUTH_USER, AUTH_DOMAIN and AUTH_MECHANISM must be set "
		    "(run by xmppgate)", NULL);
	}
	/* PLAIN (a password to check) or SCRAM (stored keys asked for, with
	 * the hash named); anything else, EXTERNAL above all, is refused and
	 * never checked as an empty password (xmppgate-auth(5)). */
	if (strcmp(mech, "PLAIN") == 0)
		want_hash = NULL;
	else if (strncmp(mech, "SCRAM-", 6) != 0 || want_hash == NULL) {
		fprintf(stderr, "%s: mechanism %.32s not handled: refused\n",
		    PROG, mech);
		done(EXIT_REJECT);
	}
	if (want_hash == NULL)
		plen = read_pass();		/* PLAIN */
	if ((size_t)snprintf(want, sizeof(want), "%s@%s ", user, domain) >=
	    sizeof(want))
		done(EXIT_REJECT);
	wl = strlen(want);
	if ((f = fopen(file, "r")) == NULL)
		fatal("unable to open", file);
	extra[0] = '\0';
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t n = strlen(line);
		const char *v;

		ln++;
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		else if (!feof(f)) {
			errno = 0;
			fatal("line too long in", file);
		}
		if (n == 0 || line[0] == '#')
			continue;
		if (strncmp(line, want, wl) != 0)
			continue;
		known = 1;
		v = line + wl;
		if (strncmp(v, "SCRAM-", 6) == 0) {
			if (scram_creds_parse(v, strlen(v), &cr) == -1) {
				errno = 0;
				fprintf(stderr, "%s: %s line %zu: ", PROG, file,
				    ln);
				fatal("not an RFC 5803 authPassword value",
				    NULL);
			}
			if (want_hash != NULL &&
			    strcmp(scram_hash_name(cr.hash), want_hash) == 0) {
				snprintf(found, sizeof(found), "%s", v);
				have = 1;
			}
			if (want_hash == NULL && plen > 0 &&
			    scram_creds_check(&cr, pass, plen))
				matched = 1;
			explicit_bzero(&cr, sizeof(cr));
		} else if (strncmp(v, "password=", 9) == 0 ||
		    strncmp(v, "user=", 5) == 0 ||
		    strncmp(v, "backend=", 8) == 0) {
			if (el + strlen(v) + 1 > EXTRA_MAX) {
				errno = 0;
				fatal("too many reply lines for a user in",
				    file);
			}
			el += (size_t)snprintf(extra + el, sizeof(extra) - el,
			    "%s\n", v);
		} else {
			errno = 0;
			fprintf(stderr, "%s: %s line %zu: ", PROG, file, ln);
			fatal("neither SCRAM-... nor user=, password=, "
			    "backend=", NULL);
		}
	}
	if (ferror(f))
		fatal("unable to read", file);
	fclose(f);
	explicit_bzero(line, sizeof(line));
	if (!known || (want_hash != NULL && !have) ||
	    (want_hash == NULL && !matched)) {
		if (known && want_hash != NULL)
			fprintf(stderr, "%s: no SCRAM-%s credentials for "
			    "%.*s\n", PROG, want_hash, (int)(wl - 1), want);
		done(EXIT_REJECT);
	}
	if ((have && fprintf(rout, "scram=%s\n", found) < 0) ||
	    fputs(extra, rout) == EOF || fflush(rout) == EOF)
		fatal("unable to write", NULL);
	explicit_bzero(extra, sizeof(extra));
	done(EXIT_ACCEPT);
}
