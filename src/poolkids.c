/*
 * The pooled mode's bookkeeping (pool.c is its only user): which children
 * are alive (a table by pid, with the client each serves) and how many
 * each source has (a table by source: an IPv4 address, an IPv6 /64), and
 * the live children written for the next image across a re-exec and read
 * back by it.  Both tables are open addressing with linear probing, sized
 * once from --max-conns at start (at least twice the children there can
 * be, so a probe always ends); the source hash has a random seed, since
 * clients choose their addresses.  Nothing here reads a client byte.
 */
#define _GNU_SOURCE 1		/* memfd_create */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <gnutls/crypto.h>
#include "session.h"

#define POOL_STATE_MAX		(XG_POOL_CONNS_MAX * 96 + 4096)
#define POOL_STATE_MAGIC	"xmppgate-pool 1"

/* A live child: its pid (0: free slot) and the source it counts for. */
struct kid {
	pid_t	pid;
	uint8_t	src[16];
	char	ip[64], port[8];
};

/* A source (IPv4 address, IPv6 /64) and how many children it has. */
struct src {
	uint8_t	key[16];
	uint32_t n;			/* 0: empty slot */
};

static struct kid *kids;		/* open addressing by pid */
static size_t	kidcap;			/* a power of two, >= 2 * max */
static size_t	nkids;
static struct src *srcs;		/* open addressing by source */
static size_t	srccap;
static uint64_t	seed;			/* of the source hash */

static size_t	kid_find(pid_t);
static void	kid_del(size_t);
static struct src *src_get(const uint8_t *, int);
static void	src_put(const uint8_t *);

/* ---- the tables: children by pid, counts by source ---- */

static size_t
pow2_at_least(size_t n)
{
	size_t p = 16;

	while (p < n)
		p <<= 1;
	return p;
}

void
pool_tables_init(int max_conns)
{
	kidcap = pow2_at_least(2 * (size_t)max_conns);
	srccap = kidcap;
	kids = calloc(kidcap, sizeof(*kids));
	srcs = calloc(srccap, sizeof(*srcs));
	if (kids == NULL || srcs == NULL ||
	    gnutls_rnd(GNUTLS_RND_NONCE, &seed, sizeof(seed)) < 0) {
		xg_log(LOG_ERR, "pool: fatal: unable to allocate the tables");
		exit(XG_EXIT_TEMP);
	}
}

static size_t
pid_home(pid_t pid)
{
	return ((uint32_t)pid * 2654435761u) & (kidcap - 1);
}

/* The slot of pid, or kidcap when it is not ours. */
static size_t
kid_find(pid_t pid)
{
	size_t i;

	for (i = pid_home(pid); kids[i].pid != 0; i = (i + 1) & (kidcap - 1))
		if (kids[i].pid == pid)
			return i;
	return kidcap;
}

void
pool_kid_add(pid_t pid, const uint8_t *key, const char *ip, const char *port)
{
	size_t i;

	for (i = pid_home(pid); kids[i].pid != 0; i = (i + 1) & (kidcap - 1))
		;
	kids[i].pid = pid;
	memcpy(kids[i].src, key, sizeof(kids[i].src));
	snprintf(kids[i].ip, sizeof(kids[i].ip), "%s", ip);
	snprintf(kids[i].port, sizeof(kids[i].port), "%s", port);
	nkids++;
	src_get(key, 1)->n++;
}

/* pid has ended: 0 with its client, no longer counted; -1: not ours. */
int
pool_kid_gone(pid_t pid, char *ip, size_t ipsz, char *port, size_t portsz)
{
	size_t i;

	if ((i = kid_find(pid)) == kidcap)
		return -1;
	snprintf(ip, ipsz, "%s", kids[i].ip);
	snprintf(port, portsz, "%s", kids[i].port);
	kid_del(i);
	return 0;
}

size_t
pool_kids(void)
{
	return nkids;
}

uint32_t
pool_kids_from(const uint8_t *key)
{
	return src_get(key, 0)->n;
}

void
pool_kids_kill(int sig)
{
	size_t i;

	for (i = 0; i < kidcap; i++)
		if (kids[i].pid != 0)
			kill(kids[i].pid, sig);
}

/* Linear probing's deletion: later entries of the run move back. */
static void
kid_del(size_t i)
{
	size_t j, h, mask = kidcap - 1;

	src_put(kids[i].src);
	nkids--;
	for (j = (i + 1) & mask; kids[j].pid != 0; j = (j + 1) & mask) {
		h = pid_home(kids[j].pid);
		if ((j > i && (h <= i || h > j)) || (j < i && h <= i && h > j)) {
			kids[i] = kids[j];
			i = j;
		}
	}
	memset(&kids[i], 0, sizeof(kids[i]));
}

/* FNV-1a with a random start: sources are chosen by clients. */
static size_t
src_home(const uint8_t *key)
{
	uint64_t h = 14695981039346656037ULL ^ seed;
	size_t i;

	for (i = 0; i < 16; i++)
		h = (h ^ key[i]) * 1099511628211ULL;
	return (size_t)(h ^ (h >> 32)) & (srccap - 1);
}

/* The entry of key; with add, a new one (n 0) when there is none. */
static struct src *
src_get(const uint8_t *key, int add)
{
	static struct src none;
	size_t i;

	for (i = src_home(key); srcs[i].n != 0; i = (i + 1) & (srccap - 1))
		if (memcmp(srcs[i].key, key, 16) == 0)
			return &srcs[i];
	if (!add) {
		none.n = 0;
		return &none;
	}
	memcpy(srcs[i].key, key, 16);
	return &srcs[i];
}

static void
src_put(const uint8_t *key)
{
	struct src *s = src_get(key, 0);
	size_t i, j, h, mask = srccap - 1;

	if (s->n == 0 || --s->n > 0)
		return;
	i = (size_t)(s - srcs);
	for (j = (i + 1) & mask; srcs[j].n != 0; j = (j + 1) & mask) {
		h = src_home(srcs[j].key);
		if ((j > i && (h <= i || h > j)) || (j < i && h <= i && h > j)) {
			srcs[i] = srcs[j];
			i = j;
		}
	}
	memset(&srcs[i], 0, sizeof(srcs[i]));
}

/*
 * What counts as one source: an IPv4 address (also when it comes mapped
 * into IPv6), an IPv6 /64 (one host or subscriber holds a whole /64 and
 * can change its address at will), and every UNIX socket client as one.
 */
void
pool_source_key(const struct sockaddr_storage *ss, socklen_t len, uint8_t *key,
    char *ip, size_t ipsz, char *port, size_t portsz)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

	memset(key, 0, 16);
	snprintf(ip, ipsz, "-");
	snprintf(port, portsz, "-");
	if (len >= sizeof(*sin) && ss->ss_family == AF_INET) {
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &sin->sin_addr, 4);
		inet_ntop(AF_INET, &sin->sin_addr, ip, ipsz);
		snprintf(port, portsz, "%u", ntohs(sin->sin_port));
	} else if (len >= sizeof(*sin6) && ss->ss_family == AF_INET6) {
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			memcpy(key, &sin6->sin6_addr, 16);
			inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], ip,
			    ipsz);
		} else {
			memcpy(key, &sin6->sin6_addr, 8);
			inet_ntop(AF_INET6, &sin6->sin6_addr, ip, ipsz);
		}
		snprintf(port, portsz, "%u", ntohs(sin6->sin6_port));
	} else if (ss->ss_family == AF_UNIX)
		snprintf(ip, ipsz, "unix");
}

/* ---- the tables for the next image ---- */

/*
 * The live children for the next image, in a memfd: a header line, then
 * "PID IP PORT KEY" per child.  The fd, or -1 (then the children are not
 * carried: still reaped, but no longer counted).
 */
int
pool_state_write(unsigned long generation, const char *why)
{
	char line[256], hex[33];
	size_t i, k;
	FILE *f;
	int fd, fd2;

	if ((fd = memfd_create("xmppgate-pool", MFD_CLOEXEC)) == -1)
		return -1;
	if ((fd2 = dup(fd)) == -1 || (f = fdopen(fd2, "w")) == NULL) {
		if (fd2 >= 0)
			close(fd2);
		close(fd);
		return -1;
	}
	fprintf(f, "%s %lu %s\n", POOL_STATE_MAGIC, generation, why);
	for (i = 0; i < kidcap; i++) {
		if (kids[i].pid == 0)
			continue;
		for (k = 0; k < 16; k++)
			snprintf(hex + 2 * k, 3, "%02x", kids[i].src[k]);
		snprintf(line, sizeof(line), "%ld %s %s %s\n",
		    (long)kids[i].pid, kids[i].ip, kids[i].port, hex);
		fputs(line, f);
	}
	if (fclose(f) != 0 || lseek(fd, 0, SEEK_SET) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The previous image's state: its children join the table. */
unsigned long
pool_state_read(const char *fdstr)
{
	static char buf[POOL_STATE_MAX];
	char *line, *next, *end, ip[64], port[8], hex[33], rest[XG_REASON_MAX];
	unsigned long fd, gen, generation = 1;
	uint8_t key[16];
	size_t len = 0, k, carried = 0, lost = 0;
	ssize_t n;
	long pid;
	unsigned v;

	if (xg_decimal(fdstr, 4, &fd) == -1 || fd < 3) {
		xg_log(LOG_WARNING, "pool: %s=%s ignored", XG_POOL_ENV_STATE,
		    fdstr);
		return generation;
	}
	while (len < sizeof(buf) - 1 &&
	    (n = read((int)fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	close((int)fd);
	buf[len] = '\0';
	rest[0] = '\0';
	line = buf;
	if ((next = strchr(line, '\n')) == NULL ||
	    strncmp(line, POOL_STATE_MAGIC " ", strlen(POOL_STATE_MAGIC) + 1)
	    != 0) {
		xg_log(LOG_WARNING, "pool: the previous image's state is not "
		    "ours; its children are reaped but not counted");
		return generation;
	}
	*next = '\0';
	gen = strtoul(line + strlen(POOL_STATE_MAGIC) + 1, &end, 10);
	if (*end == ' ')
		snprintf(rest, sizeof(rest), "%s", end + 1);
	generation = gen + 1;
	for (line = next + 1; *line != '\0'; line = next + 1) {
		if ((next = strchr(line, '\n')) == NULL)
			break;
		*next = '\0';
		if (sscanf(line, "%ld %63s %7s %32s", &pid, ip, port, hex) != 4 ||
		    pid <= 0 || strlen(hex) != 32) {
			lost++;
			continue;
		}
		for (k = 0; k < 16; k++) {
			if (sscanf(hex + 2 * k, "%2x", &v) != 1)
				break;
			key[k] = (uint8_t)v;
		}
		/* A table full (a smaller --max-conns cannot be: the
		 * command line is the same) or a pid twice: not counted. */
		if (k < 16 || nkids >= kidcap / 2 || kid_find((pid_t)pid) <
		    kidcap) {
			lost++;
			continue;
		}
		pool_kid_add((pid_t)pid, key, ip, port);
		carried++;
	}
	xg_log(LOG_INFO, "pool: re-executed (%s): image %lu, %zu children "
	    "carried over%s", rest[0] ? rest : "?", generation, carried,
	    lost ? ", some lines of the state not understood" : "");
	return generation;
}
