/*
 * The client connection: where it is (fd 3 from systemd, or fds 0 and 1
 * from inetd or tcpserver), who it is (addresses for the logs and the
 * helpers), and reading and writing it with a deadline, in clear text
 * before STARTTLS and through GnuTLS after.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <systemd/sd-daemon.h>
#include "xmppgate.h"

#define CONN_ID_BYTES	6	/* 12 hex characters */
#define CONN_PRINTF_MAX	4096

static int	env_copy(char *, size_t, const char *, int);
static void	sockaddr_format(const struct sockaddr_storage *, socklen_t,
		    char *, size_t, char *, size_t);
static int	fd_prepare(int);
static int	wait_fd(int, short, int64_t);

int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Copy the client's address or port from the environment.  The value ends
 * up in log lines and in helpers' environments, so only a numeric IPv4 or
 * IPv6 address, or a decimal port, is taken; anything else is as good as
 * unset.
 */
static int
env_copy(char *dst, size_t dstsz, const char *name, int is_port)
{
	unsigned char bin[sizeof(struct in6_addr)];
	const char *v;
	size_t n;

	if ((v = getenv(name)) == NULL)
		return -1;
	n = strlen(v);
	if (n == 0 || n >= dstsz)
		return -1;
	if (is_port) {
		if (n > 5 || strspn(v, "0123456789") != n)
			return -1;
	} else if (inet_pton(AF_INET, v, bin) != 1 &&
	    inet_pton(AF_INET6, v, bin) != 1)
		return -1;
	memcpy(dst, v, n + 1);
	return 0;
}

static void
sockaddr_format(const struct sockaddr_storage *ss, socklen_t len,
    char *ip, size_t ipsz, char *port, size_t portsz)
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;
	struct in_addr v4;

	snprintf(ip, ipsz, "-");
	snprintf(port, portsz, "-");
	if (len < sizeof(sa_family_t))
		return;
	switch (ss->ss_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)ss;
		if (inet_ntop(AF_INET, &sin->sin_addr, ip, ipsz) == NULL)
			snprintf(ip, ipsz, "-");
		snprintf(port, portsz, "%u", ntohs(sin->sin_port));
		break;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)ss;
		/* A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d;
		 * log them as the IPv4 address they are. */
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			memcpy(&v4, &sin6->sin6_addr.s6_addr[12], sizeof(v4));
			if (inet_ntop(AF_INET, &v4, ip, ipsz) == NULL)
				snprintf(ip, ipsz, "-");
		} else if (inet_ntop(AF_INET6, &sin6->sin6_addr, ip,
		    ipsz) == NULL)
			snprintf(ip, ipsz, "-");
		snprintf(port, portsz, "%u", ntohs(sin6->sin6_port));
		break;
	case AF_UNIX:
		snprintf(ip, ipsz, "unix");
		break;
	}
}

/* Non-blocking, and no Nagle delay for the small stanzas of XMPP. */
static int
fd_prepare(int fd)
{
	int fl, one = 1;

	if ((fl = fcntl(fd, F_GETFL)) == -1)
		return -1;
	if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		return -1;
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
	    sizeof(one)) == -1 && errno != ENOTSOCK && errno != EOPNOTSUPP &&
	    errno != ENOPROTOOPT)
		return -1;
	return 0;
}

int
conn_init(struct conn *c)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	uint8_t rnd[CONN_ID_BYTES];
	size_t i;
	int n;

	memset(c, 0, sizeof(*c));
	c->rfd = c->wfd = -1;
	c->start_ms = now_ms();

	if ((n = sd_listen_fds(1)) < 0) {
		errno = -n;
		return -1;
	}
	if (n > 1) {
		/* Accept=yes passes exactly one; more means a listening
		 * socket setup we do not serve (Accept=no). */
		errno = EINVAL;
		return -1;
	}
	if (n == 1)
		c->rfd = c->wfd = SD_LISTEN_FDS_START;
	else {
		c->rfd = 0;
		c->wfd = 1;
	}

	if (env_copy(c->remote_ip, sizeof(c->remote_ip), "REMOTE_ADDR",
	    0) == 0) {
		if (env_copy(c->remote_port, sizeof(c->remote_port),
		    "REMOTE_PORT", 1) == -1)
			snprintf(c->remote_port, sizeof(c->remote_port), "-");
	} else if (env_copy(c->remote_ip, sizeof(c->remote_ip),
	    "TCPREMOTEIP", 0) == 0) {
		if (env_copy(c->remote_port, sizeof(c->remote_port),
		    "TCPREMOTEPORT", 1) == -1)
			snprintf(c->remote_port, sizeof(c->remote_port), "-");
	} else {
		sslen = sizeof(ss);
		memset(&ss, 0, sizeof(ss));
		if (getpeername(c->rfd, (struct sockaddr *)&ss, &sslen) == -1)
			sslen = 0;
		sockaddr_format(&ss, sslen, c->remote_ip,
		    sizeof(c->remote_ip), c->remote_port,
		    sizeof(c->remote_port));
	}

	sslen = sizeof(ss);
	memset(&ss, 0, sizeof(ss));
	if (getsockname(c->rfd, (struct sockaddr *)&ss, &sslen) == -1)
		sslen = 0;
	sockaddr_format(&ss, sslen, c->local_ip, sizeof(c->local_ip),
	    c->local_port, sizeof(c->local_port));

	if (gnutls_rnd(GNUTLS_RND_NONCE, rnd, sizeof(rnd)) < 0) {
		errno = EIO;
		return -1;
	}
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(c->id + 2 * i, sizeof(c->id) - 2 * i, "%02x", rnd[i]);

	if (fd_prepare(c->rfd) == -1)
		return -1;
	if (c->wfd != c->rfd && fd_prepare(c->wfd) == -1)
		return -1;
	return 0;
}

/* Wait for fd to be ready for ev; -1 with ETIMEDOUT past the deadline. */
static int
wait_fd(int fd, short ev, int64_t deadline_ms)
{
	struct pollfd pfd;
	int64_t left;
	int r;

	for (;;) {
		left = deadline_ms - now_ms();
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		pfd.fd = fd;
		pfd.events = ev;
		pfd.revents = 0;
		r = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			continue;	/* the top of the loop decides */
		if (pfd.revents & POLLNVAL) {
			errno = EBADF;
			return -1;
		}
		/* POLLERR and POLLHUP too: the next call reports them. */
		return 0;
	}
}

int
conn_peek(struct conn *c, int64_t deadline_ms)
{
	unsigned char b;
	ssize_t r;

	for (;;) {
		r = recv(c->rfd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
		if (r == 1)
			return b;
		if (r == 0)
			return -2;
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return -1;
		if (wait_fd(c->rfd, POLLIN, deadline_ms) == -1)
			return -1;
	}
}

ssize_t
conn_read(struct conn *c, void *buf, size_t len, int64_t deadline_ms)
{
	ssize_t r;

	if (len == 0)
		return 0;
	if (c->tls == NULL) {
		for (;;) {
			if (wait_fd(c->rfd, POLLIN, deadline_ms) == -1)
				return -1;
			r = read(c->rfd, buf, len);
			if (r >= 0) {
				c->rx += (uint64_t)r;
				return r;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				return -1;
		}
	}

	/* Records GnuTLS already decrypted are not visible to poll. */
	if (gnutls_record_check_pending(c->tls) == 0 &&
	    wait_fd(c->rfd, POLLIN, deadline_ms) == -1)
		return -1;
	for (;;) {
		r = gnutls_record_recv(c->tls, buf, len);
		if (r > 0) {
			c->rx += (uint64_t)r;
			return r;
		}
		if (r == 0 || r == GNUTLS_E_PREMATURE_TERMINATION)
			return 0;
		if (r == GNUTLS_E_INTERRUPTED)
			continue;
		if (r == GNUTLS_E_AGAIN) {
			if (gnutls_record_get_direction(c->tls) == 1) {
				if (wait_fd(c->wfd, POLLOUT, deadline_ms) == -1)
					return -1;
			} else if (wait_fd(c->rfd, POLLIN, deadline_ms) == -1)
				return -1;
			continue;
		}
		/* A warning alert is not the end; renegotiation is. */
		if (r != GNUTLS_E_REHANDSHAKE && !gnutls_error_is_fatal((int)r))
			continue;
		errno = EPROTO;
		return -1;
	}
}

int
conn_write(struct conn *c, const void *buf, size_t len, int64_t deadline_ms)
{
	const uint8_t *p = buf;
	ssize_t r;

	while (len > 0) {
		if (c->tls == NULL) {
			r = write(c->wfd, p, len);
			if (r == -1) {
				if (errno != EAGAIN && errno != EWOULDBLOCK &&
				    errno != EINTR)
					return -1;
				if (wait_fd(c->wfd, POLLOUT, deadline_ms) == -1)
					return -1;
				continue;
			}
		} else {
			/* On E_AGAIN GnuTLS holds the encrypted record and
			 * wants the very same call again. */
			r = gnutls_record_send(c->tls, p, len);
			if (r == GNUTLS_E_INTERRUPTED)
				continue;
			if (r == GNUTLS_E_AGAIN) {
				if (gnutls_record_get_direction(c->tls) == 0) {
					if (wait_fd(c->rfd, POLLIN,
					    deadline_ms) == -1)
						return -1;
				} else if (wait_fd(c->wfd, POLLOUT,
				    deadline_ms) == -1)
					return -1;
				continue;
			}
			if (r < 0) {
				errno = r == GNUTLS_E_PUSH_ERROR ? EPIPE :
				    EPROTO;
				return -1;
			}
		}
		c->tx += (uint64_t)r;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

int
conn_printf(struct conn *c, int64_t deadline_ms, const char *fmt, ...)
{
	char buf[CONN_PRINTF_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n >= sizeof(buf)) {
		errno = EMSGSIZE;
		return -1;
	}
	return conn_write(c, buf, (size_t)n, deadline_ms);
}
