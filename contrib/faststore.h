/*
 * The XEP-0484 (FAST) token store of xmppgate-auth-scram --fast DIR: one
 * file per account and client (user-agent id), with the two slots of the
 * XEP's "Implementation Notes": "new", the token issued last and not yet
 * used, and "current", the token last used.  See xmppgate-auth(5) FAST.
 *
 * A file, at most FASTSTORE_FILE_MAX bytes:
 *
 *	xmppgate-fast 2
 *	new HT-SHA-256-NONE 1766016000 1767225600 TOKEN
 *	current HT-SHA-256-EXPR 1766015400 1767225000 TOKEN
 *
 * Each slot line at most once, either may be missing; the numbers are
 * when the token was issued and when it expires, in unix time (issued
 * not after expiry).  A store with no slot is no file: a check or an
 * issue drops the expired slots of the file it reads, and removes a file
 * left with none, so no expired token outlives the next request for it.
 *
 * Version 1 files (xmppgate-fast 1, slots "MECH EXPIRY TOKEN", before
 * --fast-rotate) are still read, their issue time taken as 0: unknown,
 * so as old as any --fast-rotate wants; every write is version 2.
 */
#ifndef FASTSTORE_H
#define FASTSTORE_H
#include <stddef.h>
#include <stdint.h>
#include "xmppgate.h"

#define FASTSTORE_FILE_MAX	1024	/* two slot lines and the first */
#define FASTSTORE_MECH_MAX	15	/* HT-SHA-256-EXPR */
#define FASTSTORE_NAME_LEN	64	/* hex SHA-256 */
#define FASTSTORE_LOCKS		256	/* lock files: one per first byte */

struct fast_slot {
	int	used;
	char	mech[FASTSTORE_MECH_MAX + 1];
	int64_t	issued;			/* unix time; 0: unknown (version 1) */
	int64_t	expiry;			/* unix time */
	char	token[XG_FAST_TOKEN_MAX + 1];
};
struct fast_store {
	struct fast_slot new, cur;
};

/* One of HT-SHA-256-NONE, -UNIQ, -ENDP, -EXPR. */
int	faststore_mech_ok(const char *);
/* A token as xmppgate takes it (fast-token=): 16 to 256 characters of
 * A-Z a-z 0-9 ._~:+/=- */
int	faststore_token_ok(const char *, size_t);
/* The file's name for user@domain and client: hex SHA-256 of
 * "user@domain" NUL client, into name (FASTSTORE_NAME_LEN + 1). */
int	faststore_name(const char *user, const char *domain,
	    const char *client, char *name);
/* Pure: the file's bytes into st; 0, or -1 with the bad line in *line. */
int	faststore_parse(const char *buf, size_t len, struct fast_store *st,
	    size_t *line);
/* Pure: st as a file into buf; its length, or 0 when it does not fit. */
size_t	faststore_format(const struct fast_store *st, char *buf, size_t sz);
/* Pure: drop (and wipe) the slots of st that expire at or before now;
 * how many were dropped. */
int	faststore_prune(struct fast_store *st, int64_t now);
/* Whether DIR/NAME exists: 1, 0 (no such file), or -1 with err.  A
 * check asks this before anything else, so that one for a name with no
 * store creates nothing. */
int	faststore_exists(const char *dir, const char *name, char *err,
	    size_t errsz);
/* The lock for NAME: DIR/.lock-XX, XX the first two hex digits of NAME
 * (so at most FASTSTORE_LOCKS files, whatever names come), created 0600,
 * held (flock LOCK_EX) until the returned descriptor is closed; -1 with
 * err. */
int	faststore_lock(const char *dir, const char *name, char *err,
	    size_t errsz);
/* Read DIR/NAME (no file: an empty store): 0, or -1 with err (unable to
 * read, too big, malformed). */
int	faststore_read(const char *dir, const char *name, struct fast_store *,
	    char *err, size_t errsz);
/* Replace DIR/NAME by st (temporary file, fsync, rename, fsync of DIR),
 * or remove it when st has no slot: 0, or -1 with err.  DIR/NAME.lock,
 * the lock file of versions before the shared ones, is removed too. */
int	faststore_write(const char *dir, const char *name,
	    const struct fast_store *, char *err, size_t errsz);
#endif
