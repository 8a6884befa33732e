/*
 * --relay PATH: a logged-in session whose TLS the kernel carries goes to
 * xmppgate-relay(8), so that this process (and under systemd its unit and
 * dynamic UID) can end at once.  The relay needs only two fds: the
 * client's socket, which holds the keys since ktls_move(), and the
 * backend's.  So first the client bytes read but not yet relayed go to
 * the backend, then one message (relaymsg.c) and the two fds
 * (SCM_RIGHTS) go to the relay, which answers "OK" when it holds the
 * session or "NO reason" when it will not.
 *
 * Nothing is lost on the way.  Until "OK" the relay has not touched
 * either fd, so on "NO", on end of file (a relay that crashed, or refused
 * our credentials) or a failure to send, this process relays as before.
 * A relay that says nothing within HANDOFF_ANSWER_MS (busy, or stuck) is
 * settled by the socket: we shut our receiving side, after which its
 * "OK" can no longer be sent (EPIPE, and the relay drops its copies); an
 * "OK" sent before that is still read.  So exactly one of us carries the
 * session, never both, never neither.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "session.h"

#define HANDOFF_FLUSH_MS	5000	/* the backend takes the pending bytes */
#define HANDOFF_ANSWER_MS	5000	/* the relay answers */

/* Wait for fd to be ready for events until deadline: 1, 0 timed out, -1. */
static int
wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pf = { fd, events, 0 };
	int64_t left;
	int r;

	for (;;) {
		if ((left = deadline - now_ms()) <= 0)
			return 0;
		r = poll(&pf, 1, (int)left);
		if (r > 0)
			return 1;
		if (r == -1 && errno != EINTR)
			return -1;
	}
}

/* The client bytes read with the login but not yet relayed, to the
 * backend; what was written leaves s->buf, so that the relay here goes
 * on with the rest if this fails.  0, or -1 with why. */
static int
flush_pending(struct session *s, int bfd, char *why, size_t whysz)
{
	int64_t deadline = now_ms() + HANDOFF_FLUSH_MS;
	size_t off = 0;
	ssize_t n;
	int r = 0;

	while (off < s->len) {
		n = send(bfd, s->buf + off, s->len - off,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
		    wait_fd(bfd, POLLOUT, deadline) == 1)
			continue;
		snprintf(why, whysz, "the backend did not take the %zu bytes "
		    "read before the relay (%s)", s->len - off, n == -1 &&
		    errno != EAGAIN && errno != EWOULDBLOCK ? strerror(errno) :
		    "timed out");
		r = -1;
		break;
	}
	explicit_bzero(s->buf, off);
	memmove(s->buf, s->buf + off, s->len - off);
	s->len -= off;
	return r;
}

/* Connected to the relay's socket, non-blocking: the fd, or -1 with why. */
static int
relay_connect(const char *path, char *why, size_t whysz)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1) {
		snprintf(why, whysz, "socket: %s", strerror(errno));
		return -1;
	}
	/* A Unix socket connects at once or not at all: EAGAIN is a full
	 * backlog, a relay too busy to take another now. */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		snprintf(why, whysz, "connect %s: %s", path,
		    errno == EAGAIN ? "the relay is busy (backlog full)" :
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* The message and the two fds, in one datagram: 0, or -1 with why. */
static int
send_session(int rfd, const char *msg, size_t len, int cfd, int bfd,
    int64_t deadline, char *why, size_t whysz)
{
	union {
		char	b[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { (void *)msg, len };
	struct msghdr mh;
	struct cmsghdr *cm;
	int fds[2] = { cfd, bfd };
	ssize_t n;

	memset(&mh, 0, sizeof(mh));
	memset(&cbuf, 0, sizeof(cbuf));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf.b;
	mh.msg_controllen = sizeof(cbuf.b);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(cm), fds, sizeof(fds));
	for (;;) {
		n = sendmsg(rfd, &mh, MSG_NOSIGNAL);
		if (n == (ssize_t)len)
			return 0;
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
		    wait_fd(rfd, POLLOUT, deadline) == 1)
			continue;
		snprintf(why, whysz, "sending the session: %s", n >= 0 ?
		    "cut short" : errno == EAGAIN || errno == EWOULDBLOCK ?
		    "timed out" : strerror(errno));
		return -1;
	}
}

int
relay_handoff(struct session *s, int bfd, char *why, size_t whysz)
{
	char msg[XG_RELAYMSG_MAX + 1], ans[XG_RELAY_ANSWER_MAX + 1];
	int64_t deadline;
	struct relaymsg m;
	ssize_t len, n;
	size_t i;
	int rfd, late;

	if (flush_pending(s, bfd, why, whysz) == -1)
		return 0;
	memset(&m, 0, sizeof(m));
	snprintf(m.id, sizeof(m.id), "%s", s->c->id);
	m.rx = s->c->rx;
	m.tx = s->c->tx;
	m.age_ms = now_ms() - s->c->start_ms;
	m.idle_s = s->o->idle_timeout;
	log_summary_fields(s->c, m.fields, sizeof(m.fields));
	if ((len = relaymsg_encode(&m, msg, sizeof(msg))) == -1) {
		snprintf(why, whysz, "the session's summary does not fit a "
		    "hand-off message");
		return 0;
	}
	if ((rfd = relay_connect(s->o->relay, why, whysz)) == -1)
		return 0;
	deadline = now_ms() + HANDOFF_ANSWER_MS;
	if (send_session(rfd, msg, (size_t)len, s->c->rfd, bfd, deadline,
	    why, whysz) == -1) {
		close(rfd);
		return 0;
	}
	late = 0;
	for (;;) {
		n = recv(rfd, ans, sizeof(ans) - 1, 0);
		if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR) || late)
			break;
		if (errno != EINTR && wait_fd(rfd, POLLIN, deadline) != 1) {
			/* Too late: from now on the relay cannot say "OK";
			 * one it said already is still there to read. */
			(void)shutdown(rfd, SHUT_RD);
			late = 1;
		}
	}
	close(rfd);
	if (n == 2 && memcmp(ans, "OK", 2) == 0)
		return 1;
	if (late && n <= 0) {
		snprintf(why, whysz, "the relay did not answer within %d ms",
		    HANDOFF_ANSWER_MS);
		return 0;
	}
	if (n <= 0) {
		snprintf(why, whysz, "the relay closed without an answer%s%s "
		    "(does it allow this process's user or group?)",
		    n == -1 ? ": " : "", n == -1 ? strerror(errno) : "");
		return 0;
	}
	/* "NO reason": the relay's words, one line of them. */
	ans[n] = '\0';
	for (i = 0; i < (size_t)n; i++)
		if ((unsigned char)ans[i] < 0x20)
			ans[i] = '?';
	snprintf(why, whysz, "the relay refused: %s", strncmp(ans, "NO ", 3)
	    == 0 ? ans + 3 : ans);
	return 0;
}
