/*
 * xmppgate-auth-passwd: a sample xmppgate-auth(5) helper that checks the
 * password against crypt(3) hashes in a passwd-style file:
 *
 *	# comment
 *	alice@example.org:$y$j9T$...
 *
 * Usage, as xmppgate runs it (no arguments, a clean environment):
 *	xmppgate-auth-passwd [FILE]	password on stdin, AUTH_USER,
 *					AUTH_DOMAIN and AUTH_MECHANISM (PLAIN
 *					only; others are refused) in the
 *					environment
 *	xmppgate-auth-passwd --listen [--allow-uid UID[,UID...]] [FILE]
 *					the same as a helper that stays up
 *					(--auth unix:/PATH): requests on the
 *					socket systemd passes (Accept=no),
 *					one per connection, each checked in
 *					a child; only peers of those uids
 *					(or user names) with --allow-uid
 *	xmppgate-auth-passwd --hash [JID]
 *					print a yescrypt hash (or a whole
 *					JID:HASH line) of the password on stdin
 *	xmppgate-auth-passwd --checkpassword FILE PROG [ARG ...]
 *					DJB's checkpassword interface (for
 *					--auth-protocol checkpassword, or any
 *					program that runs one): user NUL
 *					password NUL timestamp NUL on fd 3;
 *					right: exec PROG with USER set; wrong:
 *					exit 1; misuse: exit 2
 *
 * FILE is argv[1], else $XMPPGATE_PASSWD_FILE, else SYSCONFDIR/xmppgate/
 * passwd.  Exit 0 accept (nothing printed: xmppgate logs in to the backend
 * with the client's own credentials), 1 reject, 111 system error.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "authlisten.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define DEFAULT_FILE	SYSCONFDIR "/xmppgate/passwd"
#define PROG		"xmppgate-auth-passwd"
#define PASS_MAX	1023	/* XG_SASL_FIELD_MAX */
#define LINE_MAX_LEN	2048

#define EXIT_ACCEPT	0
#define EXIT_REJECT	1
#define EXIT_MISUSE	2	/* checkpassword: bad request */
#define EXIT_TEMP	111
#define CP_REQUEST_MAX	512	/* checkpassword: what fd 3 may hold */

/* Hashed instead of a real entry for unknown users, so that the time
 * taken does not tell which user names exist. */
#define DUMMY_SETTING	"$y$j9T$goAyvCeDie3MsIgLD.Z/s0"

static char pass[PASS_MAX + 2];
static struct crypt_data cdata;
static int conn = -1;		/* --listen: the child's connection */
static size_t conn_plen;	/* --listen: the password's length */

static void	fatal(const char *, const char *) __attribute__((noreturn));
static void	done(int) __attribute__((noreturn));
static size_t	read_pass(void);
static int	same(const char *, const char *);
static int	check(const char *, const char *);
static void	hash_mode(const char *) __attribute__((noreturn));
static int	lookup(const char *, const char *, size_t);
static void	checkpassword_mode(int, char **) __attribute__((noreturn));

static void
done(int code)
{
	explicit_bzero(pass, sizeof(pass));
	explicit_bzero(&cdata, sizeof(cdata));
	if (conn != -1)
		authlisten_answer(conn, code, NULL, 0);
	exit(code);
}

static void
fatal(const char *what, const char *arg)
{
	fprintf(stderr, "%s: fatal: %s%s%s%s%s\n", PROG, what,
	    arg ? " " : "", arg ? arg : "", errno ? ": " : "",
	    errno ? strerror(errno) : "");
	done(EXIT_TEMP);
}

/* The password: all of stdin, binary, no terminator.  Too long or with a
 * NUL is a wrong password, not an error. */
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
		if (r == 0)
			break;
		if (r == -1) {
			if (errno == EINTR)
				continue;
			fatal("unable to read the password", NULL);
		}
		len += (size_t)r;
	}
	pass[len] = '\0';
got:
	if (len > PASS_MAX || memchr(pass, '\0', len) != NULL)
		done(EXIT_REJECT);
	return len;
}

/* Constant-time string equality (the lengths are not secret). */
static int
same(const char *a, const char *b)
{
	size_t i, la = strlen(a), lb = strlen(b);
	volatile unsigned char d = 0;

	if (la != lb)
		return 0;
	for (i = 0; i < la; i++)
		d |= (unsigned char)a[i] ^ (unsigned char)b[i];
	return d == 0;
}

/* 1 if pass matches hash, 0 if not; exits 111 for an unusable hash. */
static int
check(const char *hash, const char *file)
{
	const char *h;

	errno = 0;
	h = crypt_rn(pass, hash, &cdata, sizeof(cdata));
	if (h == NULL || h[0] == '*') {
		errno = 0;
		fatal("unsupported or malformed hash in", file);
	}
	return same(h, hash);
}

static void
hash_mode(const char *jid)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	const char *h;
	size_t len = read_pass();

	/* Typed or echoed: drop one final newline. */
	if (len > 0 && pass[len - 1] == '\n')
		pass[--len] = '\0';
	if (len == 0) {
		errno = 0;
		fatal("empty password", NULL);
	}
	if (jid && (strchr(jid, '\n') || !strchr(jid, '@'))) {
		errno = 0;
		fatal("not a user@domain:", jid);
	}
	if (crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof(salt)) == NULL)
		fatal("unable to make a salt", NULL);
	h = crypt_rn(pass, salt, &cdata, sizeof(cdata));
	if (h == NULL || h[0] == '*')
		fatal("unable to hash", NULL);
	if (printf("%s%s%s\n", jid ? jid : "", jid ? ":" : "", h) < 0 ||
	    fflush(stdout) == EOF)
		fatal("unable to write", NULL);
	done(0);
}

/*
 * 1 if the file has want (user@domain) with a hash the password matches.
 * An unknown user costs a hash too, so that timing does not tell.
 */
static int
lookup(const char *file, const char *want, size_t len)
{
	char line[LINE_MAX_LEN];
	const char *colon;
	size_t lineno = 0;
	int found = 0, ok = 0;
	FILE *f;

	if ((f = fopen(file, "re")) == NULL)
		fatal("unable to open", file);
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t ll = strlen(line);

		lineno++;
		if (ll > 0 && line[ll - 1] == '\n')
			line[--ll] = '\0';
		else if (!feof(f)) {
			errno = 0;
			fatal("line too long in", file);
		}
		if (ll == 0 || line[0] == '#')
			continue;
		/* The hash has no ':'; an IPv6 domain literal may.  Only
		 * modern "$id$" hashes: a DES hash is not worth supporting. */
		colon = strrchr(line, ':');
		if (colon == NULL || colon == line || colon[1] != '$' ||
		    memchr(line, '@', (size_t)(colon - line)) == NULL) {
			errno = 0;
			fprintf(stderr, "%s: fatal: malformed line %zu in %s\n",
			    PROG, lineno, file);
			done(EXIT_TEMP);
		}
		if (found || (size_t)(colon - line) != strlen(want) ||
		    memcmp(line, want, strlen(want)) != 0)
			continue;
		found = 1;
		ok = len > 0 && check(colon + 1, file);
	}
	if (ferror(f))
		fatal("unable to read", file);
	fclose(f);
	explicit_bzero(line, sizeof(line));
	if (!found)
		(void)check(DUMMY_SETTING, "the built-in dummy hash");
	return found && ok;
}

/*
 * DJB's checkpassword: the request on fd 3, the next program in argv.
 * A user without '@' is of AUTH_DOMAIN (which xmppgate sets).
 */
static void
checkpassword_mode(int argc, char **argv)
{
	static char req[CP_REQUEST_MAX + 1];
	char want[LINE_MAX_LEN];
	const char *file, *user, *domain, *pw, *end;
	size_t len = 0, plen;
	ssize_t r;

	if (argc < 2) {
		fprintf(stderr, "%s: usage: %s --checkpassword FILE PROG "
		    "[ARG ...]\n", PROG, PROG);
		done(EXIT_MISUSE);
	}
	file = argv[0];
	while (len < CP_REQUEST_MAX) {
		r = read(3, req + len, CP_REQUEST_MAX - len);
		if (r == 0)
			break;
		if (r == -1) {
			if (errno == EINTR)
				continue;
			explicit_bzero(req, sizeof(req));
			fprintf(stderr, "%s: unable to read fd 3: %s\n", PROG,
			    strerror(errno));
			done(EXIT_MISUSE);
		}
		len += (size_t)r;
	}
	close(3);
	user = req;
	if ((end = memchr(req, '\0', len)) == NULL ||
	    (pw = end + 1, end = memchr(pw, '\0', len - (size_t)(pw - req)))
	    == NULL) {
		explicit_bzero(req, sizeof(req));
		done(EXIT_MISUSE);
	}
	plen = (size_t)(end - pw);
	if (plen > PASS_MAX) {
		explicit_bzero(req, sizeof(req));
		done(EXIT_REJECT);
	}
	memcpy(pass, pw, plen);
	pass[plen] = '\0';
	explicit_bzero(req + strlen(user), sizeof(req) - strlen(user));
	domain = getenv("AUTH_DOMAIN");
	if (strchr(user, '@') != NULL)
		snprintf(want, sizeof(want), "%s", user);
	else if (domain != NULL && domain[0] != '\0')
		snprintf(want, sizeof(want), "%s@%s", user, domain);
	else
		done(EXIT_REJECT);
	if (!lookup(file, want, plen))
		done(EXIT_REJECT);
	explicit_bzero(pass, sizeof(pass));
	explicit_bzero(&cdata, sizeof(cdata));
	if (setenv("USER", user, 1) == -1)
		fatal("setenv", NULL);
	execvp(argv[1], argv + 1);
	fatal("unable to run", argv[1]);
}

int
main(int argc, char **argv)
{
	const char *file, *user, *domain, *mech;
	char want[LINE_MAX_LEN];
	size_t len;
	int listening = 0;

	if (argc > 1 && strcmp(argv[1], "--hash") == 0)
		hash_mode(argc > 2 ? argv[2] : NULL);
	if (argc > 1 && strcmp(argv[1], "--checkpassword") == 0)
		checkpassword_mode(argc - 2, argv + 2);
	if (argc > 1 && strcmp(argv[1], "--listen") == 0) {
		listening = 1;
		argc--;
		argv++;
		authlisten_args(PROG, &argc, &argv);
	}
	if (argc > 1)
		file = argv[1];
	else if ((file = getenv("XMPPGATE_PASSWD_FILE")) == NULL)
		file = DEFAULT_FILE;
	/* From here on in a child per connection, as if run by xmppgate. */
	if (listening)
		conn = authlisten(PROG, pass, sizeof(pass), &conn_plen);

	user = getenv("AUTH_USER");
	domain = getenv("AUTH_DOMAIN");
	mech = getenv("AUTH_MECHANISM");
	errno = 0;
	if (user == NULL || domain == NULL || mech == NULL)
		fatal("AUTH_USER, AUTH_DOMAIN or AUTH_MECHANISM not set; see "
		    "xmppgate-auth(5)", NULL);
	/* Only PLAIN carries a password.  Anything else (EXTERNAL: a
	 * certificate, SCRAM: a request for stored keys) is refused, never
	 * checked as an empty password (xmppgate-auth(5)). */
	if (strcmp(mech, "PLAIN") != 0) {
		fprintf(stderr, "%s: mechanism %.32s not handled: refused\n",
		    PROG, mech);
		done(EXIT_REJECT);
	}
	if (snprintf(want, sizeof(want), "%s@%s", user, domain) >=
	    (int)sizeof(want))
		done(EXIT_REJECT);
	len = read_pass();
	done(lookup(file, want, len) ? EXIT_ACCEPT : EXIT_REJECT);
}
