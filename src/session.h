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

#include <sys/socket.h>
#include "xmppgate.h"

#define TLS_HANDSHAKE_RECORD	0x16	/* first byte of a ClientHello */

struct session {
	/* main(): set before the first phase, read by every phase. */
	const struct options *o;
	struct conn *c;			/* the client; each phase fills in
					 * what the summary line says */
	struct tlsctx *tls;		/* tls.c's, loaded by main() */
	int	exitcode;		/* set by finish(), main() returns it */

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
	/* ... the same mechanisms in both lists, NULL-ended, and the
	 * XEP-0440 binding types (when plus_offered), for XEP-0474 */
	const char *offered[XG_MECHS_MAX + 2];
	const char *offered_cb[4];
	int	sasl2_offered;		/* XEP-0388 <authentication> */
	const char *fast_offered[5];	/* XEP-0484 HT-* mechanisms, or none;
					 * NULL-ended */

	/* sasl.c and sasl2.c: a SASL2 login (XEP-0388).  profile is set by
	 * the client's first <auth> (1) or <authenticate> (2) and holds for
	 * the stream; s2 is what its <authenticate> asked for besides the
	 * mechanism (copied out of the parser). */
	int	profile;
	struct xp_sasl2 s2;
	char	fast_token[XG_FAST_TOKEN_MAX + 1];	/* a token to send in */
	char	fast_expiry[XG_FAST_EXPIRY_LEN + 1];	/* <success>, or "" */
	char	success2[XG_SASL2_SUCCESS_MAX];	/* <success>'s children after
					 * <additional-data>: sasl2.c */
	int	bound2;			/* a resource was bound for Bind2 */
	enum { SM_NONE, SM_ENABLED, SM_RESUMED, SM_FAILED } sm_state;
	uint8_t	surplus[XG_READ_BUF];	/* backend bytes after its answer to
					 * an inline <resume>, for the client
					 * after <success> and the features */
	size_t	surplus_len;

	/* sasl.c: the attempts and their answers. */
	int	failed;			/* failed authentication attempts
					 * (federation.c counts its EXTERNAL
					 * ones here); read by common_event() */
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

	/* preopen.c: the backend opened during the client's login, or -1
	 * (main() sets it before the first phase); login_backend() takes
	 * it, a failed attempt and the session's end drop it. */
	int	pre_fd;
	int	pre_proxy, pre_header;	/* sent on it already */
	int	pre_tried;		/* preopen_start() ran */

	/* federation.c (--s2s); db is written by remote_from() (stream.c)
	 * and read by the features there too. */
	int	db;			/* the remote declared dialback */
	size_t	hdrlen;			/* its last header, in raw */
	struct netaddr s2s_backend;	/* where its stream goes */

	/* Bytes kept as they were read, for a backend that gets them as
	 * they came: route.c and federation.c set keep_raw, next_event()
	 * (stream.c) fills raw. */
	int	keep_raw;
	uint8_t	raw[XG_READ_BUF];	/* ... every byte, for the backend */
	size_t	rawlen;
};

/*
 * The phases.  Each returns 0 to go on, or -1 once the session has ended
 * and finish() has logged its summary line (exit status in exitcode).
 */

/* ---- arrival.c: the PROXY header; Direct TLS or STARTTLS ---- */
/* --accept-proxy-protocol: the header, read exactly, from a trusted peer. */
int proxy_accept(struct session *);
/* Client mode: the first byte picks Direct TLS or the stream and STARTTLS. */
int arrive(struct session *);

/* ---- stream.c: the stream before authentication, and the end ---- */
/* The summary line with the reason; always -1. */
int finish(struct session *, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* RFC 6120 4.9: the stream error (text for the peer, the rest for the
 * log), our close tag, the close, finish(); always -1. */
int stream_error(struct session *, enum xg_stream_error, const char *text,
    int code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* TLS close_notify, our half closed, what the peer still sends read and
 * dropped for a moment. */
void close_client(struct conn *c);
/* The next event from the peer, reading as needed (keeping raw bytes
 * with keep_raw). */
int next_event(struct session *, struct xp_event *);
/* </stream:stream> and stanzas, which end the session in every phase. */
int common_event(struct session *s, const struct xp_event *ev);
/* The peer's stream header, which must have a 'to'. */
int client_header(struct session *s, struct xp_event *ev);
int version_check(struct session *s, const struct xp_event *ev);
/* s2s: the header's 'from', the same in every header. */
int remote_from(struct session *s, const struct xp_event *ev);
/* Our stream header. */
int send_header(struct session *s);
/* The peer's header checked ('to', version; s2s 'from'), and ours. */
int stream_header(struct session *);
/* stream_header(), then the features: STARTTLS before TLS, the SASL
 * mechanisms after it (cb_mask, plus_offered). */
int stream_open(struct session *);
/* <starttls/>, <proceed/>, every byte read so far dropped, the handshake. */
int starttls(struct session *);

/* ---- sasl.c: the client's authentication ---- */
/* Attempts until one is accepted and, in connect mode, the backend login
 * succeeded (*bfd its fd; -1 in exec mode); pc and ar are wiped after
 * each attempt. */
int sasl(struct session *, struct plain_creds *pc, struct auth_reply *ar,
    int *bfd);

/* One attempt's verdict from the helper, in its --auth-protocol. */
enum auth_verdict sasl_check(struct session *, const struct auth_request *,
    struct auth_reply *, char *why, size_t whysz);

/* ---- sasl2.c: XEP-0388 SASL2, Bind2, inline stream management, FAST ---- */
/* After <mechanisms/> (stream_open()): <authentication/> with the same
 * mechanisms and what may come inline, when SASL2 is offered here. */
void sasl2_offer(struct session *, char *out, size_t outsz, char *names,
    size_t namesz);
/* <auth> or <authenticate>: the profile the stream keeps (a mix ends
 * it), the request copied; 0, or -1 when the session ended. */
int sasl2_profile(struct session *, const struct xp_event *);
/* What an <authenticate> asked besides the mechanism, checked against the
 * offer: 0, or 1 with the failure (sf, why). */
int sasl2_request_check(const struct session *, const struct xp_event *,
    enum xg_sasl_failure *sf, char *why, size_t whysz);
/* The offered HT-* mechanism of that name, or NULL; its binding type. */
const char *sasl2_fast_offered(const struct session *, const char *mech);
int sasl2_cbtype(const char *mech);
/* Logged in at the backend as buser: the inline resume, the bind and the
 * stream management enable there; 0, 1 when the attempt fails (sf, why),
 * -1 when the session ended. */
int sasl2_backend(struct session *, const char *buser,
    enum xg_sasl_failure *sf, char *why, size_t whysz);
/* Exec mode: the <success/>'s authorization identifier (the bare JID). */
void sasl2_exec_login(struct session *, const char *user);
/* Exec mode, before <success/>: the program gets the stream header the
 * client does not send again, its own header is dropped, and what follows
 * is kept (surplus) for the client after <success/>; 0, or -1 when the
 * session ended (a stream error: the program did not open its stream). */
int sasl2_exec_open(struct session *, int fd);
/* <request-token/>: the helper's new token for <success>, if it gives one. */
void sasl2_token(struct session *, const char *user);
/* <success/> with what the login did; in connect mode the features and
 * the backend's bytes that came after its answer too (exec mode: the
 * program's, sasl2_exec_open()); 0, or -1 when the session ended. */
int sasl2_success(struct session *, int features);

/* ---- handoff.c: the backend login, <success/>, the relay ---- */
/* Connect mode, in an accepted attempt: 0 with *fd, 1 when the backend
 * refused (*sf, why), -1 when the session ended (unreachable). */
int login_backend(struct session *s, const struct plain_creds *pc,
    const struct auth_reply *ar, int *fd, enum xg_sasl_failure *sf,
    char *why, size_t whysz);
/* <success/>, then the relay: to the backend (bfd, after the stream
 * restart) or to PROG (bfd -1); always -1. */
int handoff(struct session *, int bfd);
/* The relay between the client and fd, to its end; finish(). */
int relay(struct session *s, int fd);
/* ---- relaysend.c: --relay, the session to xmppgate-relay(8) ---- */
/* 1 the relay holds the session (log no summary: the relay will), 0 it
 * stays here and nothing was lost (why). */
int relay_handoff(struct session *s, int bfd, char *why, size_t whysz);
/* A child that has seen end of file: a moment to exit, then SIGKILL. */
void reap(pid_t pid);
/* The backend's address as the logs show it, into c->backend. */
void name_backend(struct conn *c, const struct netaddr *na);

/* ---- preopen.c: the backend opened during the client's login ---- */
/* Connect mode: the connect started (the client's first byte came). */
void preopen_start(struct session *);
/* Once connected: the PROXY header, and our stream header once the
 * client's domain is known; called again until it went out. */
void preopen_stream(struct session *);
/* For the login: the connection and what went out on it (prefd -1 when
 * there is none); the session no longer holds it. */
void preopen_take(struct session *, struct backend_opts *);
/* Closed unused, why logged at debug level; nothing when none is open. */
void preopen_drop(struct session *, const char *why);

/* ---- federation.c: --s2s, after STARTTLS ---- */
/* The remote's new header, its certificate, the policy helper; 0 when
 * the certificate names it, else the session ends here (a refusal, or
 * the dialback pass-through to the backend). */
int s2s_stream(struct session *);
/* EXTERNAL or XEP-0344 answered by us, then the hand-off; always -1. */
int s2s_external(struct session *);

/* ---- s2sout.c: --s2s-out ---- */
/* The backend's header, the policy, the remote found and reached, the
 * PROXY header and our answer to the backend, the relay; always -1. */
int s2sout(struct session *);
/* No remote carries it: the PROXY LOCAL header, our header, the stream
 * error, the summary with reason; always -1. */
int s2sout_refuse(struct session *, enum xg_stream_error, const char *text,
    int code, const char *reason);
/* The backend's answer when no remote will carry its stream: PROXY v2
 * LOCAL and our stream header (stream.c's send_header() in --s2s-out). */
int s2sout_greet_local(struct session *);

/* ---- route.c: --route ---- */
/* The map read, the privileges dropped, before any client byte. */
int route_start(struct session *);
/* The header, the backend the map names, the bytes spliced. */
int route_stream(struct session *);

/* ---- poolkids.c: the pooled mode's bookkeeping, for pool.c ---- */
#define XG_POOL_ENV_STATE	"XMPPGATE_POOL_STATE"	/* its fd, re-exec */
/* The tables for --max-conns children; exits 111 when out of memory. */
void pool_tables_init(int max_conns);
/* A child forked for the client ip:port of source key (16 bytes). */
void pool_kid_add(pid_t pid, const uint8_t *key, const char *ip,
    const char *port);
/* pid has ended: 0 with its client's ip and port, no longer counted;
 * -1 when it is not one of the table's. */
int pool_kid_gone(pid_t pid, char *ip, size_t ipsz, char *port,
    size_t portsz);
/* Children alive; those of one source. */
size_t pool_kids(void);
uint32_t pool_kids_from(const uint8_t *key);
/* sig to every child alive. */
void pool_kids_kill(int sig);
/* What counts as one source (IPv4 address, IPv6 /64, UNIX), and the
 * client's address and port as text. */
void pool_source_key(const struct sockaddr_storage *ss, socklen_t len,
    uint8_t *key, char *ip, size_t ipsz, char *port, size_t portsz);
/* The live children in a memfd for the next image: its fd, or -1. */
int pool_state_write(unsigned long generation, const char *why);
/* The previous image's children, from the fd named by fdstr, join the
 * tables; the new image's generation (1 when the state is unusable). */
unsigned long pool_state_read(const char *fdstr);

#endif
