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
 * Before FILE (after --listen's options), --fast DIR [--fast-ttl SECONDS]
 * [--fast-rotate SECONDS] also serves XEP-0484 FAST (xmppgate-auth(5)
 * FAST): FAST-TOKEN requests issue a token into the store DIR
 * (faststore.h), HT-SHA-256-* requests check the client's HMAC against
 * it and, with --fast-rotate, issue a successor to a token at least that
 * old (0: on every check).  Without --fast both are refused.
 *
 * FILE is argv[1], else $XMPPGATE_SCRAM_FILE, else SYSCONFDIR/xmppgate/
 * scram.  Exit 0 accept, 1 reject (no such user, no credential for the
 * hash, wrong password, no matching or an expired token), 111 when the
 * file or the store cannot be read or has a bad line, or a FAST request
 * is malformed; 100 for a bad --fast-ttl or --fast-rotate.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include "xmppgate.h"
#include "authlisten.h"
#include "faststore.h"

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
#define EXIT_USAGE	100

#define FAST_TTL_DEFAULT	(14 * 86400)	/* seconds */
#define FAST_TTL_MAX		(366 * 86400)
#define FAST_TOKEN_BYTES	32	/* random, base64url: 43 characters */
#define FAST_CB_MAX		128	/* channel binding data, bytes */
#define FAST_ROTATE_OFF		(-1L)	/* --fast-rotate not given */
#define WHEN_SIZE		32	/* YYYY-MM-DDThh:mm:ssZ */

static char pass[XG_SASL_FIELD_MAX + 2];
static FILE *rout;		/* stdout, or with --listen outbuf */
static char outbuf[XG_HELPER_REPLY_MAX + 1];
static int conn = -1;		/* --listen: the child's connection */
static size_t conn_plen;	/* --listen: the password's length */
static struct fast_store store;	/* FAST: wiped at exit */
static char fastname[FASTSTORE_NAME_LEN + 1];

static void __attribute__((noreturn))
done(int code)
{
	long n;

	explicit_bzero(pass, sizeof(pass));
	explicit_bzero(&store, sizeof(store));
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

/* ---- FAST (XEP-0484): the token store, xmppgate-auth(5) FAST ---- */

/* A FAST request xmppgate would never send: a temporary failure, told. */
static void __attribute__((noreturn))
bad_request(const char *what)
{
	errno = 0;
	fatal(what, NULL);
}

/* The optional base64 variable name into out: its length in *n (0 when
 * unset or empty); not base64 or longer than outsz: bad_request. */
static void
b64_var(const char *name, uint8_t *out, size_t outsz, size_t *n)
{
	const char *v = getenv(name);
	gnutls_datum_t d = { NULL, 0 };
	int ok;

	*n = 0;
	if (v == NULL || v[0] == '\0')
		return;
	ok = xg_b64_decode(v, strlen(v), &d) == 0 && d.size <= outsz;
	if (ok) {
		memcpy(out, d.data, d.size);
		*n = d.size;
	}
	if (d.data != NULL) {
		explicit_bzero(d.data, d.size);
		gnutls_free(d.data);
	}
	if (!ok) {
		fprintf(stderr, "%s: %s is not base64 of at most %zu bytes\n",
		    PROG, name, outsz);
		done(EXIT_TEMP);
	}
}

/* The store file's name for user@domain and AUTH_FAST_CLIENT into
 * fastname; whether that file exists (1 or 0). */
static int
fast_name(const char *dir, const char *user, const char *domain)
{
	const char *client = getenv("AUTH_FAST_CLIENT");
	char err[512];
	int r;

	if (client == NULL || client[0] == '\0')
		bad_request("AUTH_FAST_CLIENT is not set");
	if (faststore_name(user, domain, client, fastname) == -1)
		bad_request("AUTH_USER, AUTH_DOMAIN and AUTH_FAST_CLIENT "
		    "too long");
	if ((r = faststore_exists(dir, fastname, err, sizeof(err))) == -1) {
		errno = 0;
		fatal(err, NULL);
	}
	return r;
}

/* Lock and read the store file named fastname; the lock's descriptor. */
static int
fast_open(const char *dir)
{
	char err[512];
	int fd;

	if ((fd = faststore_lock(dir, fastname, err, sizeof(err))) == -1 ||
	    faststore_read(dir, fastname, &store, err, sizeof(err)) == -1) {
		errno = 0;
		fatal(err, NULL);
	}
	return fd;
}

static void
fast_save(const char *dir, int lockfd)
{
	char err[512];

	if (faststore_write(dir, fastname, &store, err, sizeof(err)) == -1) {
		errno = 0;
		fatal(err, NULL);
	}
	close(lockfd);
}

/* A new token for mech into slot, issued now, expiring in ttl seconds;
 * the expiry as fast-expiry= wants it into when (WHEN_SIZE). */
static void
new_token(const char *mech, unsigned long ttl, struct fast_slot *slot,
    char *when)
{
	uint8_t rnd[FAST_TOKEN_BYTES];
	char tok[XG_FAST_TOKEN_MAX + 1];
	size_t i, n = 0;
	time_t now = time(NULL), exp = now + (time_t)ttl;
	struct tm tm;

	if (gnutls_rnd(GNUTLS_RND_KEY, rnd, sizeof(rnd)) < 0 ||
	    xg_b64_encode(rnd, sizeof(rnd), tok, sizeof(tok)) == 0)
		fatal("unable to make a token", NULL);
	explicit_bzero(rnd, sizeof(rnd));
	/* base64url without padding (RFC 4648 5): within fast-token='s
	 * alphabet, and nothing to quote in a URL or a file name. */
	for (i = 0; tok[i] != '\0'; i++)
		if (tok[i] != '=')
			tok[n++] = tok[i] == '+' ? '-' : tok[i] == '/' ? '_' :
			    tok[i];
	tok[n] = '\0';
	if (gmtime_r(&exp, &tm) == NULL ||
	    strftime(when, WHEN_SIZE, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		fatal("unable to format the expiry", NULL);
	explicit_bzero(slot, sizeof(*slot));
	slot->used = 1;
	snprintf(slot->mech, sizeof(slot->mech), "%s", mech);
	slot->issued = (int64_t)now;
	slot->expiry = (int64_t)exp;
	memcpy(slot->token, tok, n + 1);
	explicit_bzero(tok, sizeof(tok));
}

/* FAST-TOKEN, after a whole login: a new token into the "new" slot (an
 * unused one there is replaced), the "current" one kept. */
static void
fast_issue(const char *dir, unsigned long ttl, const char *user,
    const char *domain)
{
	const char *mech = getenv("AUTH_FAST_MECHANISM");
	char when[WHEN_SIZE];
	int lockfd;

	if (mech == NULL || !faststore_mech_ok(mech))
		bad_request("AUTH_FAST_MECHANISM is not HT-SHA-256-NONE, "
		    "-UNIQ, -ENDP or -EXPR");
	(void)fast_name(dir, user, domain);
	lockfd = fast_open(dir);
	/* Expired slots go with this write. */
	(void)faststore_prune(&store, (int64_t)time(NULL));
	new_token(mech, ttl, &store.new, when);
	fast_save(dir, lockfd);
	if (fprintf(rout, "fast-token=%s\nfast-expiry=%s\n", store.new.token,
	    when) < 0 || fflush(rout) == EOF)
		fatal("unable to write", NULL);
}

/* HT-SHA-256-*: the client's Initiator HMAC against the "new" slot, then
 * the "current" one (XEP-0484 Implementation Notes); a match on "new"
 * makes it "current" and drops the old one.  Prints fast-responder=.
 * With rotate (seconds, or FAST_ROTATE_OFF), a matched token issued at
 * least that long ago gets a successor in "new" (XEP-0484 "Token
 * rotation"; an unused one there is replaced, as the client may have
 * lost it), printed as fast-token= and fast-expiry=; the matched token
 * stays valid until the successor is used.
 * No store file: rejected before anything is locked or created, so
 * made-up client ids leave nothing behind.  Expired slots are matched
 * too (a right but expired token gets condition=credentials-expired,
 * XEP-0484), then dropped from the file, which goes when none is left. */
static void
fast_check(const char *dir, const char *mech, const char *user,
    const char *domain, unsigned long ttl, long rotate)
{
	const char *inv = getenv("AUTH_FAST_INVALIDATE");
	struct fast_slot *slot[2] = { &store.new, &store.cur }, *hit = NULL;
	uint8_t want[XG_FAST_HMAC_LEN], cb[FAST_CB_MAX];
	uint8_t msg[9 + FAST_CB_MAX], mac[XG_FAST_HMAC_LEN];
	char out[64], when[WHEN_SIZE];
	size_t hl, cbl, i;
	int64_t now = (int64_t)time(NULL);
	int rotated = 0, lockfd, pruned = 0, expired;
	int none = strcmp(mech, "HT-SHA-256-NONE") == 0;
	int invalidate = inv != NULL && strcmp(inv, "1") == 0;

	b64_var("AUTH_FAST_HMAC", want, sizeof(want), &hl);
	if (hl != XG_FAST_HMAC_LEN)
		bad_request("AUTH_FAST_HMAC is not base64 of 32 bytes");
	b64_var("AUTH_CHANNEL_BINDING_DATA", cb, sizeof(cb), &cbl);
	if (none && cbl != 0)
		bad_request("AUTH_CHANNEL_BINDING_DATA given for "
		    "HT-SHA-256-NONE");
	if (!none && cbl == 0)
		bad_request("AUTH_CHANNEL_BINDING_DATA missing for a "
		    "channel-bound mechanism");
	if (fast_name(dir, user, domain) == 0) {
		fprintf(stderr, "%s: no %s token matches for %s@%s\n", PROG,
		    mech, user, domain);
		done(EXIT_REJECT);
	}
	lockfd = fast_open(dir);
	memcpy(msg, "Initiator", 9);
	memcpy(msg + 9, cb, cbl);
	for (i = 0; i < 2; i++) {
		if (!slot[i]->used || strcmp(slot[i]->mech, mech) != 0)
			continue;
		if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, slot[i]->token,
		    strlen(slot[i]->token), msg, 9 + cbl, mac) < 0)
			fatal("unable to compute the HMAC", NULL);
		if (gnutls_memcmp(mac, want, XG_FAST_HMAC_LEN) == 0 &&
		    hit == NULL)
			hit = slot[i];
	}
	expired = hit != NULL && hit->expiry <= now;
	/* Pruned only after the match, so that a right but expired token
	 * is told apart from a wrong one; a hit that has not expired stays. */
	pruned = faststore_prune(&store, now);
	if (hit == NULL || expired) {
		if (pruned > 0)
			fast_save(dir, lockfd);
		else
			close(lockfd);
	}
	if (hit == NULL) {
		fprintf(stderr, "%s: no %s token matches for %s@%s\n", PROG,
		    mech, user, domain);
		done(EXIT_REJECT);
	}
	if (expired) {
		fprintf(stderr, "%s: the %s token for %s@%s has expired\n",
		    PROG, mech, user, domain);
		if (fputs("condition=credentials-expired\n", rout) == EOF)
			fatal("unable to write", NULL);
		done(EXIT_REJECT);
	}
	memcpy(msg, "Responder", 9);
	if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, hit->token, strlen(hit->token),
	    msg, 9 + cbl, mac) < 0 ||
	    xg_b64_encode(mac, sizeof(mac), out, sizeof(out)) == 0)
		fatal("unable to compute the HMAC", NULL);
	if (invalidate) {
		explicit_bzero(&store, sizeof(store));
		fast_save(dir, lockfd);
	} else {
		rotated = rotate != FAST_ROTATE_OFF && now - hit->issued >=
		    (int64_t)rotate;
		if (hit == &store.new) {
			store.cur = store.new;
			explicit_bzero(&store.new, sizeof(store.new));
		}
		/* The successor is for the matched token's mechanism,
		 * which is the request's. */
		if (rotated)
			new_token(mech, ttl, &store.new, when);
		if (rotated || hit == &store.new || pruned > 0)
			fast_save(dir, lockfd);
		else
			close(lockfd);
	}
	if (fprintf(rout, "fast-responder=%s\n", out) < 0 ||
	    (rotated && fprintf(rout, "fast-token=%s\nfast-expiry=%s\n",
	    store.new.token, when) < 0))
		fatal("unable to write", NULL);
	explicit_bzero(msg, sizeof(msg));
	explicit_bzero(mac, sizeof(mac));
	explicit_bzero(cb, sizeof(cb));
}

int
main(int argc, char **argv)
{
	const char *file, *user, *domain, *want_hash, *mech;
	char want[2 * XG_SASL_FIELD_MAX + 2], line[LINE_MAX_LEN + 2];
	char extra[EXTRA_MAX + 1], found[LINE_MAX_LEN + 2];
	const char *fastdir = NULL;
	struct scram_creds cr;
	size_t wl, ln = 0, plen = 0, el = 0;
	unsigned long ttl = FAST_TTL_DEFAULT, rot;
	long rotate = FAST_ROTATE_OFF;
	int known = 0, matched = 0, have = 0, listening = 0, fast;
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
	while (argc > 2 && (strcmp(argv[1], "--fast") == 0 ||
	    strcmp(argv[1], "--fast-ttl") == 0 ||
	    strcmp(argv[1], "--fast-rotate") == 0)) {
		if (strcmp(argv[1], "--fast") == 0)
			fastdir = argv[2];
		else if (strcmp(argv[1], "--fast-rotate") == 0) {
			if (xg_decimal(argv[2], 8, &rot) == -1 ||
			    rot > FAST_TTL_MAX) {
				fprintf(stderr, "%s: --fast-rotate wants 0 to "
				    "%d seconds, not %.32s\n", PROG,
				    FAST_TTL_MAX, argv[2]);
				exit(EXIT_USAGE);
			}
			rotate = (long)rot;
		} else if (xg_decimal(argv[2], 8, &ttl) == -1 || ttl < 1 ||
		    ttl > FAST_TTL_MAX) {
			fprintf(stderr, "%s: --fast-ttl wants 1 to %d seconds, "
			    "not %.32s\n", PROG, FAST_TTL_MAX, argv[2]);
			exit(EXIT_USAGE);
		}
		argc -= 2;
		argv += 2;
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
	fast = strcmp(mech, "FAST-TOKEN") == 0 ? 2 : faststore_mech_ok(mech);
	if (strcmp(mech, "PLAIN") == 0 || (fast && fastdir != NULL))
		want_hash = NULL;
	else if (strncmp(mech, "SCRAM-", 6) != 0 || want_hash == NULL) {
		fprintf(stderr, "%s: mechanism %.32s not handled: refused\n",
		    PROG, mech);
		done(EXIT_REJECT);
	}
	if (want_hash == NULL && !fast)
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
	/* FAST: the user must be in FILE; the store decides the rest. */
	if (fast && !known) {
		fprintf(stderr, "%s: no such user %.*s\n", PROG, (int)(wl - 1),
		    want);
		done(EXIT_REJECT);
	}
	if (fast == 2) {
		fast_issue(fastdir, ttl, user, domain);
		done(EXIT_ACCEPT);
	}
	if (fast) {
		fast_check(fastdir, mech, user, domain, ttl, rotate);
		have = 0;
	} else if (!known || (want_hash != NULL && !have) ||
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
