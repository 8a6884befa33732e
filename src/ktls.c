/*
 * Kernel TLS: after the login, the client's TLS record layer moves from
 * GnuTLS into the kernel (the "tls" TCP upper layer), so that the relay
 * can splice(2) plaintext between the client's socket and the backend's
 * and no user-space TLS session has to stay.  Debian's GnuTLS does not do
 * this itself (its ktls = true needs a GnuTLS built with kTLS), so the
 * keys are handed over as ktls-utils' tlshd does: gnutls_record_get_state()
 * for each direction, then setsockopt(SOL_TLS, TLS_RX / TLS_TX).
 *
 * ktls_move() works on any GnuTLS session and fd, so that a later
 * hand-off (issue 22, the relay process) can pass the resulting socket on
 * with SCM_RIGHTS: after it the socket is all there is.
 *
 * Order: the receive side first.  Until TLS_RX is set nothing about the
 * socket has changed for GnuTLS (the ULP alone passes bytes through), so
 * any failure up to there leaves the session to the user-space relay.
 * Once the kernel decrypts what arrives, GnuTLS can no longer read, and
 * if TLS_TX then fails (it takes the same cipher the kernel just
 * accepted, so only a shortage of memory can make it fail) the session
 * is beyond saving: ktls_move() says so (-1) and the caller ends it, the
 * client seeing a cut without close_notify, never a corrupt stream.
 * (Setting TLS_TX first would leave the mirror case, and older kernels
 * had TLS_TX before TLS_RX: there the first step fails cleanly.)
 *
 * Records other than application data (alerts, TLS 1.3 handshake
 * messages) make read and splice fail with EIO or EINVAL on a kTLS
 * socket; ktls_recv_record() reads one with its type (TLS_GET_RECORD_TYPE)
 * and says what it means.  close_notify goes out with TLS_SET_RECORD_TYPE.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/tls.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <gnutls/gnutls.h>
#include "xmppgate.h"

#ifndef SOL_TLS
#define SOL_TLS		282
#endif
#ifndef TCP_ULP
#define TCP_ULP		31
#endif

#define REC_ALERT	21	/* TLS ContentType (RFC 8446 B.1) */
#define REC_HANDSHAKE	22
#define REC_DATA	23
#define ALERT_WARNING	1
#define ALERT_CLOSE_NOTIFY	0
#define ALERT_USER_CANCELED	90
#define HS_KEY_UPDATE	24	/* HandshakeType key_update */
#define BYE_WAIT_MS	1000	/* for room in the socket for close_notify */

/* One direction's keys, in the layout of the kernel's struct for the
 * cipher (the three share their first fields' layout only as far as
 * struct tls_crypto_info, so each is filled on its own). */
union kinfo {
	struct tls_crypto_info		info;
	struct tls12_crypto_info_aes_gcm_128	g128;
	struct tls12_crypto_info_aes_gcm_256	g256;
	struct tls12_crypto_info_chacha20_poly1305	cc;
};

/*
 * The kernel's struct for one direction: 0 with *len, or -1 with why.
 * GnuTLS's IV is the 4-byte salt for TLS 1.2 AES-GCM (the explicit part
 * of each nonce is the record sequence number, RFC 5288 3), the salt and
 * the rest for TLS 1.3 AES-GCM, and the whole 12-byte nonce base for
 * ChaCha20-Poly1305 (RFC 7905 2, RFC 8446 5.3).
 */
static int
fill(gnutls_session_t s, int rx, int tls13, gnutls_cipher_algorithm_t ca,
    union kinfo *k, socklen_t *len, char *why, size_t whysz)
{
	gnutls_datum_t iv, key;
	unsigned char seq[8];
	int r;

	memset(k, 0, sizeof(*k));
	if ((r = gnutls_record_get_state(s, (unsigned)rx, NULL, &iv, &key,
	    seq)) < 0) {
		snprintf(why, whysz, "GnuTLS gave no %s keys: %s", rx ?
		    "read" : "write", gnutls_strerror(r));
		return -1;
	}
	k->info.version = tls13 ? TLS_1_3_VERSION : TLS_1_2_VERSION;
	switch (ca) {
	case GNUTLS_CIPHER_AES_128_GCM:
		k->info.cipher_type = TLS_CIPHER_AES_GCM_128;
		if (key.size != sizeof(k->g128.key) || iv.size !=
		    sizeof(k->g128.salt) + (tls13 ? sizeof(k->g128.iv) : 0))
			goto sizes;
		memcpy(k->g128.key, key.data, key.size);
		memcpy(k->g128.salt, iv.data, sizeof(k->g128.salt));
		if (tls13)
			memcpy(k->g128.iv, iv.data + sizeof(k->g128.salt),
			    sizeof(k->g128.iv));
		else
			memcpy(k->g128.iv, seq, sizeof(k->g128.iv));
		memcpy(k->g128.rec_seq, seq, sizeof(k->g128.rec_seq));
		*len = sizeof(k->g128);
		break;
	case GNUTLS_CIPHER_AES_256_GCM:
		k->info.cipher_type = TLS_CIPHER_AES_GCM_256;
		if (key.size != sizeof(k->g256.key) || iv.size !=
		    sizeof(k->g256.salt) + (tls13 ? sizeof(k->g256.iv) : 0))
			goto sizes;
		memcpy(k->g256.key, key.data, key.size);
		memcpy(k->g256.salt, iv.data, sizeof(k->g256.salt));
		if (tls13)
			memcpy(k->g256.iv, iv.data + sizeof(k->g256.salt),
			    sizeof(k->g256.iv));
		else
			memcpy(k->g256.iv, seq, sizeof(k->g256.iv));
		memcpy(k->g256.rec_seq, seq, sizeof(k->g256.rec_seq));
		*len = sizeof(k->g256);
		break;
	case GNUTLS_CIPHER_CHACHA20_POLY1305:
		k->info.cipher_type = TLS_CIPHER_CHACHA20_POLY1305;
		if (key.size != sizeof(k->cc.key) || iv.size !=
		    sizeof(k->cc.iv))
			goto sizes;
		memcpy(k->cc.key, key.data, key.size);
		memcpy(k->cc.iv, iv.data, iv.size);
		memcpy(k->cc.rec_seq, seq, sizeof(k->cc.rec_seq));
		*len = sizeof(k->cc);
		break;
	default:
		snprintf(why, whysz, "cipher %s has no kernel TLS",
		    gnutls_cipher_get_name(ca));
		return -1;
	}
	explicit_bzero(seq, sizeof(seq));
	return 0;
sizes:
	explicit_bzero(k, sizeof(*k));
	snprintf(why, whysz, "GnuTLS's %s key (%u bytes) or IV (%u) does not "
	    "fit %s", rx ? "read" : "write", key.size, iv.size,
	    gnutls_cipher_get_name(ca));
	return -1;
}

/* Set one direction: 0, or -1 with why (errno kept). */
static int
set_dir(int fd, int rx, gnutls_session_t s, int tls13,
    gnutls_cipher_algorithm_t ca, char *why, size_t whysz)
{
	union kinfo k;
	socklen_t len = 0;
	int r, e;

	if (fill(s, rx, tls13, ca, &k, &len, why, whysz) == -1) {
		errno = EINVAL;
		return -1;
	}
	r = setsockopt(fd, SOL_TLS, rx ? TLS_RX : TLS_TX, &k, len);
	e = errno;
	/* The keys are the kernel's now (or nobody's). */
	explicit_bzero(&k, sizeof(k));
	if (r == -1)
		snprintf(why, whysz, "the kernel refused %s for %s %s: %s",
		    rx ? "TLS_RX" : "TLS_TX", tls13 ? "TLS1.3" : "TLS1.2",
		    gnutls_cipher_get_name(ca), strerror(e));
	errno = e;
	return r;
}

int
ktls_move(gnutls_session_t s, int fd, uint8_t *buf, size_t cap, size_t *len,
    char *why, size_t whysz)
{
	gnutls_protocol_t v = gnutls_protocol_get_version(s);
	gnutls_cipher_algorithm_t ca = gnutls_cipher_get(s);
	size_t n;
	ssize_t r;

	if (v != GNUTLS_TLS1_2 && v != GNUTLS_TLS1_3) {
		snprintf(why, whysz, "%s has no kernel TLS",
		    gnutls_protocol_get_name(v));
		return 0;
	}
	if (ca != GNUTLS_CIPHER_AES_128_GCM && ca != GNUTLS_CIPHER_AES_256_GCM &&
	    ca != GNUTLS_CIPHER_CHACHA20_POLY1305) {
		snprintf(why, whysz, "cipher %s has no kernel TLS",
		    gnutls_cipher_get_name(ca));
		return 0;
	}
	/* What GnuTLS has decrypted and we have not read goes to the
	 * backend first, with the bytes read before the relay; the records
	 * after it are the kernel's to decrypt. */
	while ((n = gnutls_record_check_pending(s)) > 0 && *len < cap) {
		r = gnutls_record_recv(s, buf + *len, cap - *len);
		if (r <= 0)
			break;
		*len += (size_t)r;
	}
	if ((n = gnutls_record_check_pending(s)) > 0) {
		snprintf(why, whysz, "%zu decrypted bytes still in GnuTLS", n);
		return 0;
	}
	/* No part of a record is left in GnuTLS, read and not decrypted
	 * (GnuTLS 3.7 has no call that tells): it reads a record's header,
	 * then exactly the rest of that record, and our last read returned
	 * data, so it ended on a record's end. */
	/* Nothing is queued for sending: every write of ours (conn_write)
	 * returned only once GnuTLS had sent the whole record, and a TLS
	 * 1.3 server sends its session tickets inside the handshake. */
	if (gnutls_record_check_corked(s) > 0) {
		snprintf(why, whysz, "records still corked in GnuTLS");
		return 0;
	}
	if (setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", sizeof("tls")) == -1) {
		if (errno == ENOENT)
			snprintf(why, whysz, "the kernel has no TLS (TCP_ULP "
			    "tls: %s)", strerror(errno));
		else
			snprintf(why, whysz, "TCP_ULP tls: %s",
			    strerror(errno));
		return 0;
	}
	if (set_dir(fd, 1, s, v == GNUTLS_TLS1_3, ca, why, whysz) == -1)
		return 0;	/* the ULP alone passes bytes through */
	if (set_dir(fd, 0, s, v == GNUTLS_TLS1_3, ca, why, whysz) == -1)
		return -1;
	snprintf(why, whysz, "%s, %s", gnutls_protocol_get_name(v),
	    gnutls_cipher_get_name(ca));
	return 1;
}

/* The receive side of kTLS socket fd carries TLS 1.3 (the kernel says). */
static int
rx_is_tls13(int fd)
{
	struct tls_crypto_info info;
	socklen_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	/* The kernel copies only the header when len is its size. */
	return getsockopt(fd, SOL_TLS, TLS_RX, &info, &len) == 0 &&
	    info.version == TLS_1_3_VERSION;
}

/*
 * One record from a kTLS socket that read or splice refused: application
 * data (rare: splice said EINVAL for another reason) into buf, >0; the
 * peer's close_notify, 0; KTLS_REC_AGAIN when nothing is there yet;
 * KTLS_REC_SKIP for a record to pass over (a warning alert); -1 with why.
 */
ssize_t
ktls_recv_record(int fd, uint8_t *buf, size_t bufsz, char *why, size_t whysz)
{
	union {
		char	b[CMSG_SPACE(sizeof(unsigned char))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { buf, bufsz };
	struct msghdr m;
	struct cmsghdr *cm;
	unsigned char type = REC_DATA;
	int typed = 0;
	const char *name;
	ssize_t r;

	memset(&m, 0, sizeof(m));
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = cbuf.b;
	m.msg_controllen = sizeof(cbuf.b);
	r = recvmsg(fd, &m, MSG_DONTWAIT);
	if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return KTLS_REC_AGAIN;
	if (r == -1) {
		snprintf(why, whysz, "client read: %s", errno == EBADMSG ?
		    "a TLS record failed to decrypt (EBADMSG)" :
		    strerror(errno));
		return -1;
	}
	if ((m.msg_flags & MSG_CTRUNC) != 0) {
		snprintf(why, whysz, "client read: a TLS record's type was "
		    "cut off");
		return -1;
	}
	for (cm = CMSG_FIRSTHDR(&m); cm != NULL; cm = CMSG_NXTHDR(&m, cm))
		if (cm->cmsg_level == SOL_TLS &&
		    cm->cmsg_type == TLS_GET_RECORD_TYPE &&
		    cm->cmsg_len >= CMSG_LEN(1)) {
			type = *(unsigned char *)CMSG_DATA(cm);
			typed = 1;
		}
	/* 0 bytes: the end of the stream only without a record type; a
	 * record may be empty (RFC 8446 5.1), and splice(2) says 0 for
	 * an empty data record too, which the caller checks here. */
	if (r == 0 && !typed)
		return 0;	/* a bare TCP end: no more is coming */
	switch (type) {
	case REC_DATA:
		return r > 0 ? r : KTLS_REC_SKIP;
	case REC_ALERT:
		if (r != 2) {
			snprintf(why, whysz, "client read: a TLS alert of %zd "
			    "bytes", r);
			return -1;
		}
		if (buf[1] == ALERT_CLOSE_NOTIFY)
			return 0;
		/* A warning user_canceled precedes a close_notify (RFC 8446
		 * 6.1); TLS 1.2's warnings are not the end either, but in
		 * TLS 1.3 every other alert is, whatever its level (RFC 8446
		 * 6), and a fatal one always is. */
		if (buf[0] == ALERT_WARNING && (buf[1] == ALERT_USER_CANCELED ||
		    !rx_is_tls13(fd)))
			return KTLS_REC_SKIP;
		name = gnutls_alert_get_name((gnutls_alert_description_t)buf[1]);
		if (name != NULL)
			snprintf(why, whysz, "client read: TLS alert: %s", name);
		else
			snprintf(why, whysz, "client read: TLS alert %u",
			    buf[1]);
		return -1;
	case REC_HANDSHAKE:
		if (r >= 1 && buf[0] == HS_KEY_UPDATE)
			snprintf(why, whysz, "client read: a TLS 1.3 KeyUpdate, "
			    "which kernel TLS before Linux 6.14 cannot follow");
		else
			snprintf(why, whysz, "client read: a TLS handshake "
			    "message (type %d) after the login", r >= 1 ?
			    buf[0] : -1);
		return -1;
	default:
		snprintf(why, whysz, "client read: a TLS record of type %u",
		    type);
		return -1;
	}
}

/* close_notify as the kernel's record, without waiting: 0 sent, 1 the
 * socket has no room now (EAGAIN: try again once it is writable), -1
 * failed (the client misses it, and so sees a cut, never a
 * complete-looking stream).  For xmppgate-relay(8), which never blocks. */
int
ktls_try_close_notify(int fd)
{
	union {
		char	b[CMSG_SPACE(sizeof(unsigned char))];
		struct cmsghdr align;
	} cbuf;
	unsigned char alert[2] = { ALERT_WARNING, ALERT_CLOSE_NOTIFY };
	struct iovec iov = { alert, sizeof(alert) };
	struct msghdr m;
	struct cmsghdr *cm;
	ssize_t r;

	memset(&m, 0, sizeof(m));
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = cbuf.b;
	m.msg_controllen = sizeof(cbuf.b);
	cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_TLS;
	cm->cmsg_type = TLS_SET_RECORD_TYPE;
	cm->cmsg_len = CMSG_LEN(sizeof(unsigned char));
	*(unsigned char *)CMSG_DATA(cm) = REC_ALERT;
	r = sendmsg(fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (r == (ssize_t)sizeof(alert))
		return 0;
	if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return 1;
	return -1;
}

/* close_notify as the kernel's record: 0, or -1 (the client misses it,
 * and so sees a cut, never a complete-looking stream).  Waits up to
 * BYE_WAIT_MS for room. */
int
ktls_send_close_notify(int fd)
{
	struct pollfd pf = { fd, POLLOUT, 0 };
	int64_t until = now_ms() + BYE_WAIT_MS;
	int r;

	while ((r = ktls_try_close_notify(fd)) == 1 && now_ms() < until)
		(void)poll(&pf, 1, 100);
	return r == 0 ? 0 : -1;
}
