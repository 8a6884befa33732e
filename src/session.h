/*
 * What the phases of one connection share: struct session and the
 * functions each phase's file offers the others.  Private to the
 * xmppgate program (main.c and the files of its phases); the library
 * (libxg.a), the unit tests and the contrib programs never see it.
 *
 * struct session is the whole of the state the phases share: there is
 * no global between them.  Each group of fields names the file that
 * writes it, and who else reads it.
 */
#ifndef XG_SESSION_H
#define XG_SESSION_H

#include "xmppgate.h"

#define TLS_HANDSHAKE_RECORD	0x16	/* first byte of a ClientHello */

struct session {
	/* main(): set before the first phase, read by every phase. */
	const struct options *o;
	struct conn *c;			/* the client; each phase fills in
					 * what the summary line says */
	struct tlsctx *tls;		/* tls.c's, loaded by main() */
	int	exitcode;		/* finish() sets it, main() returns it */

	/* stream.c: the client's bytes and the parser.  next_event() reads
	 * and parses; starttls() empties buf; the relay (handoff.c) gets
	 * what is left in it. */
	struct xp xp;
	uint8_t	buf[XG_READ_BUF];	/* client bytes not yet parsed */
	size_t	len;
	int64_t	deadline;		/* end of the pre-auth phase: main();
					 * moved for the stream restart by
					 * stream_restart() (handoff.c) and
					 * s2s_external() (federation.c) */
	int64_t	header_deadline;	/* for the awaited stream header */
	int	want_header;		/* next_event waits for a header */
	int	restarting;		/* after <success/>: stream_restart(),
					 * s2s_external() set it */
	int	first_checked;		/* first byte looked at (Direct TLS) */
	int	header_sent;		/* send_header(); cleared by starttls()
					 * and s2s_external() */

	/* The SASL offer: stream_open() (stream.c) writes it with the
	 * <mechanisms/> feature, sasl.c reads it. */
	int	cb_mask;		/* SCRAM_CB_* this connection has */
	int	plus_offered;		/* a -PLUS mechanism was offered */

	/* sasl.c: the attempts and their answers. */
	int	failed;			/* failed authentication attempts
					 * (federation.c counts its EXTERNAL
					 * ones here); common_event() reads it */
	enum xg_sasl_failure last_failure;
	char	fail_text[XG_FAILURE_TEXT_MAX + 1];	/* helper's message= */
	int	fail_delay_ms;		/* helper's delay=, or -1 (main()) */
	struct scram scram;		/* the SCRAM exchange */
	struct scram_creds screds;	/* ... and the helper's credentials */
	char	success_data[128];	/* SCRAM's server-final, base64, for
					 * send_success() (handoff.c) */

	/* handoff.c: the backend after the login (login_backend(), which
	 * sasl() calls), and the relay. */
	struct conn bc;			/* the backend (and its TLS) */
	char	bfeat[XG_FEATURES_MAX];	/* its features after the login */
	size_t	bfeat_len;
	pid_t	pump;			/* ... carried by this child, or 0 */

	/* federation.c (--s2s). */
	int	db;			/* the remote declared dialback
					 * (remote_from(), stream.c) */
	size_t	hdrlen;			/* its last header, in raw */
	struct netaddr s2s_backend;	/* where its stream goes */

	/* Bytes kept as they were read, for a backend that gets them as
	 * they came: route.c and federation.c set keep_raw, next_event()
	 * (stream.c) fills raw. */
	int	keep_raw;
	uint8_t	raw[XG_READ_BUF];	/* ... every byte, for the backend */
	size_t	rawlen;
};

/* ---- stream.c: the stream before authentication, and the end of a session ---- */
int finish(struct session *, int, const char *, ...)
    __attribute__((format(printf, 3, 4)));
int stream_error(struct session *, enum xg_stream_error,
    const char *, int, const char *, ...)
    __attribute__((format(printf, 5, 6)));
int next_event(struct session *, struct xp_event *);
int stream_header(struct session *);
int stream_open(struct session *);
int starttls(struct session *);
void close_client(struct conn *c);
int version_check(struct session *s, const struct xp_event *ev);
int common_event(struct session *s, const struct xp_event *ev);
int send_header(struct session *s);
int client_header(struct session *s, struct xp_event *ev);
int remote_from(struct session *s, const struct xp_event *ev);

/* ---- arrival.c: the PROXY header, Direct TLS or STARTTLS ---- */
int proxy_accept(struct session *);
int arrive(struct session *);

/* ---- handoff.c: the backend login, <success/>, the relay ---- */
int handoff(struct session *, int);
int relay(struct session *s, int fd);
void reap(pid_t pid);
int login_backend(struct session *s, const struct plain_creds *pc,
    const struct auth_reply *ar, int *fd, enum xg_sasl_failure *sf,
    char *why, size_t whysz);
void name_backend(struct conn *c, const struct netaddr *na);

/* ---- sasl.c: the client's authentication ---- */
int sasl(struct session *, struct plain_creds *, struct auth_reply *,
    int *);

/* ---- route.c: route mode ---- */
int route_start(struct session *);
int route_stream(struct session *);

/* ---- federation.c: --s2s, after STARTTLS ---- */
int s2s_stream(struct session *);
int s2s_external(struct session *);

#endif
