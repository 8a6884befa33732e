/*
 * Backend addresses: HOST:PORT, [IPV6]:PORT or unix:/PATH.  Parsing is
 * pure so it can be unit tested; connecting keeps the backend deadline,
 * except for name resolution, which getaddrinfo does not let us bound.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "xmppgate.h"

#define UNIX_PREFIX	"unix:"
#define UNIX_RETRY_MS	50	/* listen backlog full: try again after */

static int	parse_port(const char *, char *, size_t);
static int	parse_ipv6(const char *, size_t);
static int	poll_left(int64_t);
static int	connect_unix(const struct netaddr *, int64_t, char *, size_t);
static int	connect_tcp(const struct netaddr *, int64_t, char *, size_t);

/* 1..65535, digits only; stored without leading zeros. */
static int
parse_port(const char *s, char *out, size_t outsz)
{
	unsigned long v;

	if (xg_decimal(s, 5, &v) == -1 || v == 0 || v > 65535)
		return -1;
	snprintf(out, outsz, "%lu", v);
	return 0;
}

/* An IPv6 literal, optionally with a %zone for link-local addresses. */
static int
parse_ipv6(const char *s, size_t n)
{
	char addr[INET6_ADDRSTRLEN];
	struct in6_addr a;
	const char *pct;
	size_t alen, i;

	pct = memchr(s, '%', n);
	alen = pct != NULL ? (size_t)(pct - s) : n;
	if (alen == 0 || alen >= sizeof(addr))
		return -1;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET6, addr, &a) != 1)
		return -1;
	if (pct != NULL) {
		if (alen + 1 == n || n - alen - 1 >= IF_NAMESIZE)
			return -1;
		for (i = alen + 1; i < n; i++)
			if (s[i] <= ' ' || s[i] >= 0x7f || s[i] == '%' ||
			    s[i] == '/')
				return -1;
	}
	return 0;
}

int
netaddr_parse(const char *s, struct netaddr *na)
{
	struct sockaddr_un sun;
	const char *p, *colon, *rbr;
	size_t n, hlen, i;

	memset(na, 0, sizeof(*na));
	if (s == NULL)
		return -1;
	n = strnlen(s, XG_BACKEND_ADDR_MAX + 1);
	if (n == 0 || n > XG_BACKEND_ADDR_MAX)
		return -1;

	if (strncmp(s, UNIX_PREFIX, strlen(UNIX_PREFIX)) == 0 &&
	    s[strlen(UNIX_PREFIX)] == '/') {
		p = s + strlen(UNIX_PREFIX);
		hlen = n - strlen(UNIX_PREFIX);
		if (hlen >= sizeof(sun.sun_path))
			return -1;
		/* The path goes into logs; control characters do not. */
		for (i = 0; i < hlen; i++)
			if ((unsigned char)p[i] < ' ' || p[i] == 0x7f)
				return -1;
		na->is_unix = 1;
		memcpy(na->host, p, hlen + 1);
		return 0;
	}

	if (s[0] == '[') {
		if ((rbr = strchr(s, ']')) == NULL || rbr[1] != ':')
			return -1;
		hlen = (size_t)(rbr - s - 1);
		if (parse_ipv6(s + 1, hlen) == -1)
			return -1;
		if (parse_port(rbr + 2, na->port, sizeof(na->port)) == -1)
			return -1;
		memcpy(na->host, s + 1, hlen);
		na->host[hlen] = '\0';
		return 0;
	}

	if ((colon = strchr(s, ':')) == NULL)
		return -1;
	hlen = (size_t)(colon - s);
	if (hlen == 0)
		return -1;
	for (i = 0; i < hlen; i++)
		if (s[i] <= ' ' || s[i] >= 0x7f || s[i] == '[' || s[i] == ']')
			return -1;
	if (parse_port(colon + 1, na->port, sizeof(na->port)) == -1)
		return -1;
	memcpy(na->host, s, hlen);
	na->host[hlen] = '\0';
	return 0;
}

/* A backend that may be told "xmppgate authenticated this server" (--s2s):
 * only this host can reach it.  Names are not resolved here, so only
 * addresses count. */
int
netaddr_loopback(const struct netaddr *na)
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

/* Milliseconds until the deadline for poll(2); 0 when passed. */
static int
poll_left(int64_t deadline_ms)
{
	int64_t left = deadline_ms - now_ms();

	if (left <= 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

static int
connect_unix(const struct netaddr *na, int64_t deadline_ms, char *err,
    size_t errsz)
{
	struct sockaddr_un sun;
	int fd, left, save;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(na->host) >= sizeof(sun.sun_path)) {
		snprintf(err, errsz, "connect to unix:%s: path too long",
		    na->host);
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun.sun_path, na->host, strlen(na->host) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1) {
		snprintf(err, errsz, "socket: %s", strerror(errno));
		return -1;
	}
	for (;;) {
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
			return fd;
		/* A full backlog on a unix socket is EAGAIN, not
		 * EINPROGRESS: there is nothing to poll, so retry. */
		if (errno != EAGAIN && errno != EINTR)
			break;
		if ((left = poll_left(deadline_ms)) == 0) {
			snprintf(err, errsz, "connect to unix:%s: timed out",
			    na->host);
			close(fd);
			errno = ETIMEDOUT;
			return -1;
		}
		poll(NULL, 0, left < UNIX_RETRY_MS ? left : UNIX_RETRY_MS);
	}
	save = errno;
	snprintf(err, errsz, "connect to unix:%s: %s", na->host,
	    strerror(save));
	close(fd);
	errno = save;
	return -1;
}

static int
connect_tcp(const struct netaddr *na, int64_t deadline_ms, char *err,
    size_t errsz)
{
	struct addrinfo hints, *res, *ai;
	struct pollfd pfd;
	socklen_t len;
	int fd, r, left, soerr, save = ECONNREFUSED, one = 1;
	const char *lb, *rb;

	/* An IPv6 literal is written back in brackets. */
	lb = strchr(na->host, ':') != NULL ? "[" : "";
	rb = *lb != '\0' ? "]" : "";

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((r = getaddrinfo(na->host, na->port, &hints, &res)) != 0) {
		snprintf(err, errsz, "resolve %s: %s", na->host,
		    r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
		errno = EHOSTUNREACH;
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, ai->ai_protocol);
		if (fd == -1) {
			save = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			goto connected;
		if (errno != EINPROGRESS && errno != EINTR) {
			save = errno;
			close(fd);
			continue;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		for (;;) {
			if ((left = poll_left(deadline_ms)) == 0)
				break;
			pfd.revents = 0;
			r = poll(&pfd, 1, left);
			if (r > 0 || (r == -1 && errno != EINTR))
				break;
		}
		if (left == 0) {
			close(fd);
			freeaddrinfo(res);
			snprintf(err, errsz, "connect to %s%s%s:%s: timed out",
			    lb, na->host, rb, na->port);
			errno = ETIMEDOUT;
			return -1;
		}
		len = sizeof(soerr);
		if (r == -1)
			soerr = errno;
		else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr,
		    &len) == -1)
			soerr = errno;
		if (soerr == 0)
			goto connected;
		save = soerr;
		close(fd);
	}
	freeaddrinfo(res);
	snprintf(err, errsz, "connect to %s%s%s:%s: %s", lb, na->host, rb,
	    na->port, strerror(save));
	errno = save;
	return -1;

connected:
	freeaddrinfo(res);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

int
netaddr_connect(const struct netaddr *na, int64_t deadline_ms, char *err,
    size_t errsz)
{
	if (na->is_unix)
		return connect_unix(na, deadline_ms, err, errsz);
	return connect_tcp(na, deadline_ms, err, errsz);
}

/*
 * The backend pre-open: the connect started, not waited for.  A UNIX
 * socket connects at once or not at all (a full backlog is a failure
 * here: the login connects afresh later); TCP tries the addresses in
 * order until one is connected or in progress.
 */
int
netaddr_connect_start(const struct netaddr *na, char *err, size_t errsz)
{
	struct addrinfo hints, *res, *ai;
	struct sockaddr_un sun;
	int fd, r, save = ECONNREFUSED;

	if (na->is_unix) {
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if (strlen(na->host) >= sizeof(sun.sun_path)) {
			snprintf(err, errsz, "unix:%s: path too long",
			    na->host);
			return -1;
		}
		memcpy(sun.sun_path, na->host, strlen(na->host) + 1);
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, 0)) == -1) {
			snprintf(err, errsz, "socket: %s", strerror(errno));
			return -1;
		}
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
			return fd;
		snprintf(err, errsz, "connect to unix:%s: %s", na->host,
		    strerror(errno));
		close(fd);
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	/* No name lookup before the client authenticated: it would block
	 * without a deadline of ours, and show the client DNS's delays. */
	hints.ai_flags = AI_NUMERICSERV | AI_NUMERICHOST;
	if ((r = getaddrinfo(na->host, na->port, &hints, &res)) != 0) {
		if (r == EAI_NONAME)
			snprintf(err, errsz, "%s is a host name, looked up "
			    "only after the login", na->host);
		else
			snprintf(err, errsz, "resolve %s: %s", na->host,
			    r == EAI_SYSTEM ? strerror(errno) :
			    gai_strerror(r));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, ai->ai_protocol);
		if (fd == -1) {
			save = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
		    errno == EINPROGRESS) {
			freeaddrinfo(res);
			return fd;
		}
		save = errno;
		close(fd);
	}
	freeaddrinfo(res);
	snprintf(err, errsz, "connect: %s", strerror(save));
	return -1;
}

int
netaddr_connect_wait(int fd, int64_t deadline_ms)
{
	struct pollfd pfd;
	socklen_t len;
	int r, left, soerr, one = 1;

	pfd.fd = fd;
	pfd.events = POLLOUT;
	for (;;) {
		left = poll_left(deadline_ms);
		pfd.revents = 0;
		r = poll(&pfd, 1, left);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 0 && left > 0)
			continue;
		break;
	}
	if (r == 0)
		return 0;
	len = sizeof(soerr);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1)
		return -1;
	if (soerr != 0) {
		errno = soerr;
		return -1;
	}
	/* Connected once, and already gone both ways: as good as failed. */
	if (pfd.revents & (POLLHUP | POLLERR)) {
		errno = ECONNREFUSED;
		return -1;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return 1;
}
