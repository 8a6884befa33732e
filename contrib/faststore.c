/*
 * The FAST token store of xmppgate-auth-scram: see faststore.h.
 *
 * Every read-modify-write runs under an flock(2) on a lock file, not on
 * the store file: that is replaced by rename, so a lock on it would be on
 * the old inode, and a second process that opened the new one would not
 * wait for it.  The lock files are shared, DIR/.lock-00 to .lock-ff by
 * the first byte of the name (a SHA-256, so evenly spread): a fixed set
 * of at most 256, however many names clients make up, where one lock
 * file per name (as before) grew by one inode for every made-up client
 * id; and 256 of them rather than one, so a slow fsync for one store
 * holds up few others.  The new contents go to a temporary file, are
 * fsynced and renamed over, then the directory is fsynced, so a crash
 * leaves the old file or the new one, never half of one.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <sys/file.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include "faststore.h"
#include "seterr.h"

#define MAGIC		"xmppgate-fast 2"
#define MAGIC_V1	"xmppgate-fast 1"	/* read, never written */
#define PATH_SIZE	4096

static int	num_parse(const char *, const char *, int64_t *,
		    const char **);
static int	slot_parse(const char *, size_t, int, struct fast_slot *);
static int	path(char *, const char *, const char *, const char *);

int
faststore_mech_ok(const char *m)
{
	return strcmp(m, "HT-SHA-256-NONE") == 0 ||
	    strcmp(m, "HT-SHA-256-UNIQ") == 0 ||
	    strcmp(m, "HT-SHA-256-ENDP") == 0 ||
	    strcmp(m, "HT-SHA-256-EXPR") == 0;
}

int
faststore_token_ok(const char *t, size_t n)
{
	return n >= XG_FAST_TOKEN_MIN && n <= XG_FAST_TOKEN_MAX &&
	    strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._~:+/=-") == n;
}

int
faststore_name(const char *user, const char *domain, const char *client,
    char *name)
{
	char key[2 * XG_SASL_FIELD_MAX + 512];
	uint8_t h[32];
	int n, i;

	n = snprintf(key, sizeof(key), "%s@%s%c%s", user, domain, '\0',
	    client);
	if (n < 0 || (size_t)n >= sizeof(key) ||
	    gnutls_hash_fast(GNUTLS_DIG_SHA256, key, (size_t)n, h) < 0)
		return -1;
	for (i = 0; i < 32; i++)
		snprintf(name + 2 * i, 3, "%02x", h[i]);
	return 0;
}

/* A decimal of 1 to 18 digits, no leading zero, ending at a space: its
 * value, the space in *end; -1. */
static int
num_parse(const char *p, const char *lim, int64_t *v, const char **end)
{
	const char *sp = memchr(p, ' ', (size_t)(lim - p));
	size_t n, i;

	if (sp == NULL || (n = (size_t)(sp - p)) == 0 || n > 18 ||
	    (n > 1 && p[0] == '0'))
		return -1;
	*v = 0;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		*v = *v * 10 + (p[i] - '0');
	}
	*end = sp;
	return 0;
}

/* "MECH ISSUED EXPIRY TOKEN" (version 2) or "MECH EXPIRY TOKEN" (1). */
static int
slot_parse(const char *l, size_t n, int version, struct fast_slot *s)
{
	const char *lim = l + n, *sp;
	size_t ml, tl;
	int64_t issued = 0, e;

	if ((sp = memchr(l, ' ', n)) == NULL)
		return -1;
	ml = (size_t)(sp - l);
	if (ml == 0 || ml > FASTSTORE_MECH_MAX)
		return -1;
	memcpy(s->mech, l, ml);
	s->mech[ml] = '\0';
	if (!faststore_mech_ok(s->mech))
		return -1;
	if (version == 2 && num_parse(sp + 1, lim, &issued, &sp) == -1)
		return -1;
	if (num_parse(sp + 1, lim, &e, &sp) == -1 || issued > e)
		return -1;
	tl = (size_t)(lim - sp - 1);
	if (tl > XG_FAST_TOKEN_MAX)
		return -1;
	memcpy(s->token, sp + 1, tl);
	s->token[tl] = '\0';
	if (!faststore_token_ok(s->token, tl))
		return -1;
	s->issued = issued;
	s->expiry = e;
	s->used = 1;
	return 0;
}

int
faststore_parse(const char *buf, size_t len, struct fast_store *st,
    size_t *line)
{
	size_t pos = 0, n;
	const char *l, *nl;
	int version = 0;

	memset(st, 0, sizeof(*st));
	*line = 0;
	if (len > FASTSTORE_FILE_MAX || memchr(buf, '\0', len) != NULL)
		goto bad;
	while (pos < len) {
		l = buf + pos;
		(*line)++;
		if ((nl = memchr(l, '\n', len - pos)) == NULL)
			goto bad;	/* every line ends */
		n = (size_t)(nl - l);
		pos += n + 1;
		if (*line == 1) {
			if (n == strlen(MAGIC) && memcmp(l, MAGIC, n) == 0)
				version = 2;
			else if (n == strlen(MAGIC_V1) &&
			    memcmp(l, MAGIC_V1, n) == 0)
				version = 1;
			else
				goto bad;
		} else if (n > 4 && memcmp(l, "new ", 4) == 0 && !st->new.used) {
			if (slot_parse(l + 4, n - 4, version, &st->new) == -1)
				goto bad;
		} else if (n > 8 && memcmp(l, "current ", 8) == 0 &&
		    !st->cur.used) {
			if (slot_parse(l + 8, n - 8, version, &st->cur) == -1)
				goto bad;
		} else
			goto bad;
	}
	if (*line == 0) {
		*line = 1;
		goto bad;
	}
	return 0;
bad:
	explicit_bzero(st, sizeof(*st));
	return -1;
}

size_t
faststore_format(const struct fast_store *st, char *buf, size_t sz)
{
	const struct fast_slot *s[2] = { &st->new, &st->cur };
	const char *label[2] = { "new", "current" };
	size_t used;
	int i, n;

	if ((n = snprintf(buf, sz, "%s\n", MAGIC)) < 0 || (size_t)n >= sz)
		return 0;
	used = (size_t)n;
	for (i = 0; i < 2; i++) {
		if (!s[i]->used)
			continue;
		n = snprintf(buf + used, sz - used, "%s %s %" PRId64 " %"
		    PRId64 " %s\n", label[i], s[i]->mech, s[i]->issued,
		    s[i]->expiry, s[i]->token);
		if (n < 0 || (size_t)n >= sz - used)
			return 0;
		used += (size_t)n;
	}
	return used;
}

static int
path(char *out, const char *dir, const char *name, const char *suffix)
{
	int n = snprintf(out, PATH_SIZE, "%s/%s%s", dir, name, suffix);

	return n < 0 || n >= PATH_SIZE ? -1 : 0;
}

int
faststore_prune(struct fast_store *st, int64_t now)
{
	struct fast_slot *s[2] = { &st->new, &st->cur };
	int i, n = 0;

	for (i = 0; i < 2; i++)
		if (s[i]->used && s[i]->expiry <= now) {
			explicit_bzero(s[i], sizeof(*s[i]));
			n++;
		}
	return n;
}

int
faststore_exists(const char *dir, const char *name, char *err, size_t errsz)
{
	char p[PATH_SIZE];
	struct stat sb;

	if (path(p, dir, name, "") == -1) {
		seterr(err, errsz, "%s: path too long", dir);
		return -1;
	}
	if (lstat(p, &sb) == 0)
		return 1;
	if (errno == ENOENT)
		return 0;
	seterr(err, errsz, "unable to stat %s: %s", p, strerror(errno));
	return -1;
}

int
faststore_lock(const char *dir, const char *name, char *err, size_t errsz)
{
	char p[PATH_SIZE], suffix[sizeof(".lock-XX")];
	int fd;

	if (strspn(name, "0123456789abcdef") != FASTSTORE_NAME_LEN ||
	    name[FASTSTORE_NAME_LEN] != '\0') {
		seterr(err, errsz, "%.80s: not a store name", name);
		return -1;
	}
	snprintf(suffix, sizeof(suffix), ".lock-%.2s", name);
	if (path(p, dir, "", suffix) == -1) {
		seterr(err, errsz, "%s: path too long", dir);
		return -1;
	}
	if ((fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600)) == -1) {
		seterr(err, errsz, "unable to open %s: %s", p, strerror(errno));
		return -1;
	}
	while (flock(fd, LOCK_EX) == -1) {
		if (errno == EINTR)
			continue;
		seterr(err, errsz, "unable to lock %s: %s", p, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int
faststore_read(const char *dir, const char *name, struct fast_store *st,
    char *err, size_t errsz)
{
	char p[PATH_SIZE], buf[FASTSTORE_FILE_MAX + 1];
	struct stat sb;
	size_t len = 0, line;
	ssize_t r;
	int fd, rc = -1;

	memset(st, 0, sizeof(*st));
	if (path(p, dir, name, "") == -1) {
		seterr(err, errsz, "%s: path too long", dir);
		return -1;
	}
	if ((fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		if (errno == ENOENT)
			return 0;
		seterr(err, errsz, "unable to open %s: %s", p, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		seterr(err, errsz, "%s: not a regular file", p);
		goto out;
	}
	while (len < sizeof(buf)) {
		r = read(fd, buf + len, sizeof(buf) - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			seterr(err, errsz, "unable to read %s: %s", p,
			    strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > FASTSTORE_FILE_MAX) {
		seterr(err, errsz, "%s: over %d bytes", p, FASTSTORE_FILE_MAX);
		goto out;
	}
	if (faststore_parse(buf, len, st, &line) == -1) {
		seterr(err, errsz, "%s line %zu: not a FAST store line", p,
		    line);
		goto out;
	}
	rc = 0;
out:
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	return rc;
}

int
faststore_write(const char *dir, const char *name,
    const struct fast_store *st, char *err, size_t errsz)
{
	char p[PATH_SIZE], tmp[PATH_SIZE], buf[FASTSTORE_FILE_MAX + 1];
	size_t len, off = 0;
	ssize_t r;
	int fd = -1, dfd = -1, rc = -1;

	if (path(p, dir, name, "") == -1) {
		seterr(err, errsz, "%s: path too long", dir);
		return -1;
	}
	/* The old per-name lock file: no longer used by anyone; gone with
	 * the first change, quietly, since nothing depends on it. */
	if (path(tmp, dir, name, ".lock") == 0)
		(void)unlink(tmp);
	if (path(tmp, dir, name, ".tmp") == -1) {
		seterr(err, errsz, "%s: path too long", dir);
		return -1;
	}
	if (!st->new.used && !st->cur.used) {
		if (unlink(p) == -1 && errno != ENOENT) {
			seterr(err, errsz, "unable to remove %s: %s", p,
			    strerror(errno));
			return -1;
		}
		goto sync;
	}
	if ((len = faststore_format(st, buf, sizeof(buf))) == 0 ||
	    len > FASTSTORE_FILE_MAX) {
		seterr(err, errsz, "%s: store over %d bytes", p,
		    FASTSTORE_FILE_MAX);
		goto out;
	}
	/* Under the lock: no one else writes tmp. */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) == -1) {
		seterr(err, errsz, "unable to create %s: %s", tmp,
		    strerror(errno));
		goto out;
	}
	while (off < len) {
		r = write(fd, buf + off, len - off);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			seterr(err, errsz, "unable to write %s: %s", tmp,
			    strerror(errno));
			goto out;
		}
		off += (size_t)r;
	}
	if (fsync(fd) == -1 || close(fd) == -1) {
		fd = -1;
		seterr(err, errsz, "unable to write %s: %s", tmp,
		    strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, p) == -1) {
		seterr(err, errsz, "unable to rename %s: %s", tmp,
		    strerror(errno));
		goto out;
	}
sync:
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fsync(dfd) == -1) {
		seterr(err, errsz, "unable to sync %s: %s", dir,
		    strerror(errno));
		goto out;
	}
	rc = 0;
out:
	explicit_bzero(buf, sizeof(buf));
	if (fd != -1) {
		close(fd);
		unlink(tmp);
	}
	if (dfd != -1)
		close(dfd);
	return rc;
}
