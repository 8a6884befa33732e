/*
 * TLS on the client connection, GnuTLS server side.  Credentials and
 * priorities are loaded before the first client byte, so a bad certificate
 * is a start-up failure and not something a client can provoke.  The
 * handshake is non-blocking with our own deadline, like every other read.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <gnutls/gnutls.h>
#include "xmppgate.h"

static int	tls_wait(gnutls_session_t, const struct conn *, int64_t);

int
tls_load(struct tlsctx *ctx, const char *cert, const char *key,
    const char *priority, char *err, size_t errsz)
{
	const char *errpos = NULL;
	int r;

	ctx->cred = NULL;
	ctx->prio = NULL;
	if ((r = gnutls_certificate_allocate_credentials(&ctx->cred)) < 0) {
		ctx->cred = NULL;
		snprintf(err, errsz, "unable to allocate TLS credentials: %s",
		    gnutls_strerror(r));
		return -1;
	}
	if ((r = gnutls_certificate_set_x509_key_file2(ctx->cred, cert, key,
	    GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
		snprintf(err, errsz, "unable to load certificate %s and key "
		    "%s: %s", cert, key, gnutls_strerror(r));
		tls_free(ctx);
		return -1;
	}
	if ((r = gnutls_priority_init2(&ctx->prio, priority, &errpos,
	    0)) < 0) {
		ctx->prio = NULL;
		if (r == GNUTLS_E_INVALID_REQUEST && errpos != NULL)
			snprintf(err, errsz, "invalid TLS priority string "
			    "at \"%.64s\": %s", errpos, gnutls_strerror(r));
		else
			snprintf(err, errsz, "invalid TLS priority string: %s",
			    gnutls_strerror(r));
		tls_free(ctx);
		return -1;
	}
	return 0;
}

void
tls_free(struct tlsctx *ctx)
{
	if (ctx->cred != NULL)
		gnutls_certificate_free_credentials(ctx->cred);
	if (ctx->prio != NULL)
		gnutls_priority_deinit(ctx->prio);
	ctx->cred = NULL;
	ctx->prio = NULL;
}

/* Wait for the direction GnuTLS is blocked on; 0 ready, -1 timeout. */
static int
tls_wait(gnutls_session_t s, const struct conn *c, int64_t deadline_ms)
{
	struct pollfd pfd;
	int64_t left;
	int r;

	if (gnutls_record_get_direction(s) == 1) {
		pfd.fd = c->wfd;
		pfd.events = POLLOUT;
	} else {
		pfd.fd = c->rfd;
		pfd.events = POLLIN;
	}
	for (;;) {
		if ((left = deadline_ms - now_ms()) <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		pfd.revents = 0;
		r = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (r == -1 && errno != EINTR)
			return -1;
		if (r > 0)
			return 0;	/* errors and hang-ups included */
	}
}

int
tls_start(struct conn *c, struct tlsctx *ctx, int64_t deadline_ms,
    char *err, size_t errsz)
{
	gnutls_session_t s;
	const char *name;
	int r;

	if ((r = gnutls_init(&s, GNUTLS_SERVER | GNUTLS_NONBLOCK)) < 0) {
		snprintf(err, errsz, "TLS handshake failed: %s",
		    gnutls_strerror(r));
		return -1;
	}
	if ((r = gnutls_priority_set(s, ctx->prio)) < 0 ||
	    (r = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE,
	    ctx->cred)) < 0) {
		snprintf(err, errsz, "TLS handshake failed: %s",
		    gnutls_strerror(r));
		gnutls_deinit(s);
		return -1;
	}
	gnutls_transport_set_int2(s, c->rfd, c->wfd);
	/* The deadline is ours, shared with the poll below. */
	gnutls_handshake_set_timeout(s, 0);

	for (;;) {
		r = gnutls_handshake(s);
		if (r == 0)
			break;
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
			if (tls_wait(s, c, deadline_ms) == -1) {
				if (errno == ETIMEDOUT)
					snprintf(err, errsz,
					    "TLS handshake timed out");
				else
					snprintf(err, errsz,
					    "TLS handshake failed: poll: %s",
					    strerror(errno));
				gnutls_deinit(s);
				return -1;
			}
			continue;
		}
		/* Warning alerts and the like: go on. */
		if (!gnutls_error_is_fatal(r))
			continue;
		if (r == GNUTLS_E_FATAL_ALERT_RECEIVED &&
		    (name = gnutls_alert_get_name(gnutls_alert_get(s))) != NULL)
			snprintf(err, errsz, "TLS handshake failed: %s (%s)",
			    gnutls_strerror(r), name);
		else {
			snprintf(err, errsz, "TLS handshake failed: %s",
			    gnutls_strerror(r));
			/* Tell the client why, once, without waiting. */
			(void)gnutls_alert_send_appropriate(s, r);
		}
		gnutls_deinit(s);
		errno = EPROTO;
		return -1;
	}

	c->tls = s;
	name = gnutls_protocol_get_name(gnutls_protocol_get_version(s));
	snprintf(c->tls_protocol, sizeof(c->tls_protocol), "%s",
	    name != NULL ? name : "-");
	name = gnutls_ciphersuite_get(s);
	snprintf(c->tls_cipher, sizeof(c->tls_cipher), "%s",
	    name != NULL ? name : "-");
	return 0;
}
