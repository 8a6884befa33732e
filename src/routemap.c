/*
 * Route mode's map: which backend serves which domain.  One entry per
 * line, "DOMAIN ADDRESS", white space between; '#' starts a comment, and
 * "*" as the domain is the default.  ADDRESS is what --backend takes.
 * Domains are compared as xg_domain_normalize() leaves them; a domain
 * twice (or "*" twice) is an error, so the map never depends on order.
 * At most XG_ROUTE_ENTRIES_MAX domains.
 *
 * route_lookup() is a pure function over the map's bytes (fuzzed with
 * the rest of the parsers); route_load() reads the file at each
 * connection's start, before the privileges go, and checks every line.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "xmppgate.h"

static int
blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r';
}

/* The next white-space-separated field of l[*i..n): its start and length,
 * 0 when the line has no more. */
static size_t
field(const char *l, size_t n, size_t *i, const char **start)
{
	size_t b;

	while (*i < n && blank(l[*i]))
		(*i)++;
	b = *i;
	while (*i < n && !blank(l[*i]))
		(*i)++;
	*start = l + b;
	return *i - b;
}

/*
 * The next entry of map[*pos..len): 1 with dom ("" for "*") and *na, 0 at
 * the end, -1 with *why.  *lineno counts the lines read.
 */
static int
next_entry(const char *map, size_t len, size_t *pos, size_t *lineno,
    char *dom, size_t domsz, struct netaddr *na, const char **why)
{
	char raw[XG_BACKEND_ADDR_MAX + 1];
	const char *l, *f;
	size_t n, i, fl;

	while (*pos < len) {
		l = map + *pos;
		for (n = 0; *pos + n < len && l[n] != '\n'; n++)
			;
		*pos += n + (*pos + n < len);
		(*lineno)++;
		if (n > XG_ROUTE_LINE_MAX) {
			*why = "line too long";
			return -1;
		}
		if (memchr(l, '#', n) != NULL)
			n = (size_t)((const char *)memchr(l, '#', n) - l);
		for (i = 0; i < n; i++)
			if ((unsigned char)l[i] < ' ' && !blank(l[i])) {
				*why = "a control character";
				return -1;
			}
		i = 0;
		if ((fl = field(l, n, &i, &f)) == 0)
			continue;		/* blank or comment */
		if (fl == 1 && f[0] == '*')
			dom[0] = '\0';
		else {
			if (fl > XG_DOMAIN_NAME_MAX + 1) {
				*why = "not a domain name";
				return -1;
			}
			memcpy(raw, f, fl);
			raw[fl] = '\0';
			if (xg_domain_normalize(raw, dom, domsz) == -1) {
				*why = "not a domain name";
				return -1;
			}
		}
		if ((fl = field(l, n, &i, &f)) == 0) {
			*why = "a domain without an address";
			return -1;
		}
		if (fl > XG_BACKEND_ADDR_MAX || (memcpy(raw, f, fl),
		    raw[fl] = '\0', netaddr_parse(raw, na) == -1)) {
			*why = "not an address (HOST:PORT, [IPV6]:PORT or "
			    "unix:/PATH)";
			return -1;
		}
		if (field(l, n, &i, &f) != 0) {
			*why = "more than a domain and an address";
			return -1;
		}
		return 1;
	}
	return 0;
}

int
route_lookup(const char *map, size_t len, const char *domain,
    struct netaddr *out, size_t *line, const char **why)
{
	char dom[XG_DOMAIN_MAX + 1];
	struct netaddr na, def;
	size_t pos = 0;
	int r, found = 0, have_def = 0;

	*line = 0;
	*why = NULL;
	if (len > XG_ROUTE_MAP_MAX) {
		*why = "the map is too long";
		return ROUTE_BAD;
	}
	while ((r = next_entry(map, len, &pos, line, dom, sizeof(dom), &na,
	    why)) == 1) {
		if (dom[0] == '\0') {
			if (have_def) {
				*why = "a second '*' line";
				return ROUTE_BAD;
			}
			def = na;
			have_def = 1;
		} else if (domain != NULL && strcmp(dom, domain) == 0) {
			if (found) {
				*why = "a domain twice";
				return ROUTE_BAD;
			}
			*out = na;
			found = 1;
		}
	}
	if (r == -1)
		return ROUTE_BAD;
	*line = 0;
	if (domain != NULL && found)
		return ROUTE_FOUND;
	if (domain != NULL && have_def) {
		*out = def;
		return ROUTE_FOUND;
	}
	return ROUTE_NONE;
}

static int
cmp_dom(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Every domain once: sorted copies, neighbours compared.  -1 with the
 * domain in dup. */
static int
no_twice(const char *map, size_t len, char *dup, size_t dupsz)
{
	static char doms[XG_ROUTE_ENTRIES_MAX][XG_DOMAIN_NAME_MAX + 1];
	char dom[XG_DOMAIN_NAME_MAX + 1];
	struct netaddr na;
	const char *why;
	size_t pos = 0, line = 0, n = 0, i;

	while (next_entry(map, len, &pos, &line, dom, sizeof(dom), &na,
	    &why) == 1) {
		if (dom[0] == '\0')
			continue;
		if (n == XG_ROUTE_ENTRIES_MAX) {
			snprintf(dup, dupsz, "more than %d entries",
			    XG_ROUTE_ENTRIES_MAX);
			return -1;
		}
		memcpy(doms[n++], dom, strlen(dom) + 1);
	}
	qsort(doms, n, sizeof(doms[0]), cmp_dom);
	for (i = 1; i < n; i++)
		if (strcmp(doms[i - 1], doms[i]) == 0) {
			snprintf(dup, dupsz, "%s is listed twice", doms[i]);
			return -1;
		}
	return 0;
}

ssize_t
route_load(const char *path, char *buf, size_t bufsz, char *err, size_t errsz)
{
	char dup[XG_DOMAIN_NAME_MAX + 32];
	struct netaddr na;
	const char *why;
	size_t got = 0, line;
	ssize_t r;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errsz, "--route %s: %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (got == bufsz) {
			snprintf(err, errsz, "--route %s: longer than %zu bytes",
			    path, bufsz);
			close(fd);
			return -1;
		}
		r = read(fd, buf + got, bufsz - got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			snprintf(err, errsz, "--route %s: %s", path,
			    strerror(errno));
			close(fd);
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (route_lookup(buf, got, NULL, &na, &line, &why) == ROUTE_BAD) {
		snprintf(err, errsz, "--route %s line %zu: %s", path, line,
		    why);
		return -1;
	}
	if (no_twice(buf, got, dup, sizeof(dup)) == -1) {
		snprintf(err, errsz, "--route %s: %s", path, dup);
		return -1;
	}
	return (ssize_t)got;
}
