/*
 * xmppgate-relay(8): between its main (relayd.c: options, the listening
 * socket, the hand-offs and their peer check) and its sessions
 * (relayd_session.c: the epoll-driven splice state machine).
 */
#ifndef RELAYD_H
#define RELAYD_H

#include <stdint.h>
#include "xmppgate.h"

#define XG_RELAYD_SESSIONS	10000	/* --max-sessions default */
#define XG_RELAYD_SESSIONS_MAX	1000000	/* --max-sessions bound */
#define XG_RELAYD_PIPES		64	/* --pipes default: empty pipes kept */
#define XG_RELAYD_PIPES_MAX	65536	/* --pipes bound */
#define XG_RELAYD_SESSION_FDS	6	/* two sockets, two pipes */
#define XG_RELAYD_PENDING_MAX	64	/* hand-offs accepted, not yet read */
#define XG_RELAYD_HANDOFF_MS	5000	/* for a hand-off's one message */
#define XG_RELAYD_FDS_MAX	4	/* fds one message may bring whole */
#define XG_RELAYD_ALLOW_MAX	32	/* --allow-uid, --allow-group each */
#define XG_RELAYD_RESERVE_FDS	(16 + XG_RELAYD_PENDING_MAX + \
				 XG_RELAYD_FDS_MAX)	/* not sessions' */
#define XG_RELAYD_STEPS		64	/* steps of a session per turn */

/* What an epoll event is about: data.ptr points at one of these. */
enum { TAG_LISTEN, TAG_SIGNAL, TAG_HANDOFF, TAG_CLIENT, TAG_BACKEND };
struct rtag {
	int	kind;
	void	*p;		/* the hand-off or the session */
};

struct rsess;

/* The sessions' epoll set, and the cache of empty pipes (at most cache
 * of them, kept for reuse).  -1: out of memory. */
int sess_setup(int epfd, int cache);
/* close() of a socket a peer gave us, with SO_LINGER off first. */
void close_received(int fd);
/* A session from a checked hand-off, before its "OK": cfd and bfd are
 * watched (epoll), nothing is read, written or changed on them.  NULL
 * with why (a setup failure). */
struct rsess *sess_new(const struct relaymsg *, int cfd, int bfd,
    char *why, size_t whysz);
/* After "OK" was sent: the fds are ours; it starts relaying. */
void sess_start(struct rsess *);
/* "OK" could not be sent: close our copies, forget it (no summary). */
void sess_drop(struct rsess *);
/* An epoll event on one of a session's fds. */
void sess_event(struct rtag *, uint32_t events);
/* Run the sessions that have something to do; sess_busy(): some are
 * left for the next round (then epoll_wait must not sleep). */
void sess_run(void);
int sess_busy(void);
/* Once a second: end the sessions idle for longer than their idle=;
 * directions that could not get a pipe try again. */
void sess_sweep(int64_t now);
/* End every session with a summary (SIGTERM). */
void sess_stop_all(void);
/* Sessions held now, and pipes in existence (in use and spare). */
unsigned sess_count(void);
unsigned sess_pipes(void);

#endif
