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
#include <syslog.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gnutls/x509-ext.h>
#include "xmppgate.h"

#define TICKET_KEY_BYTES	64	/* gnutls_session_ticket_key_generate() */
#define ALPN_XMPP_CLIENT	"xmpp-client"	/* XEP-0368 */
#define ALPN_XMPP_SERVER	"xmpp-server"	/* XEP-0368, s2s */
#define XMPPADDR_OID		"1.3.6.1.5.5.7.8.5"	/* RFC 6120 13.7.1.4 */
#define SRVNAME_OID		"1.3.6.1.5.5.7.8.7"	/* RFC 4985 */
#define SAN_MAX			64	/* subjectAltNames looked at */

static int	tls_wait(gnutls_session_t, const struct conn *, int64_t);
static int	ticket_key_load(struct tlsctx *, const char *, char *, size_t);
static void	ticket_key_wipe(struct tlsctx *);
static int	sni_hook(gnutls_session_t);
static void	peer_identities(struct conn *, gnutls_session_t);
static int	handshake(gnutls_session_t, struct conn *, int64_t, char *,
		    size_t);

/* The --ticket-key file: one line, the base64 of 64 random bytes. */
static int
ticket_key_load(struct tlsctx *ctx, const char *path, char *err, size_t errsz)
{
	gnutls_datum_t file = { NULL, 0 }, b64;
	int r;

	if ((r = gnutls_load_file(path, &file)) < 0) {
		snprintf(err, errsz, "--ticket-key %s: %s", path,
		    gnutls_strerror(r));
		return -1;
	}
	b64 = file;
	while (b64.size > 0 && (b64.data[b64.size - 1] == '\n' ||
	    b64.data[b64.size - 1] == '\r'))
		b64.size--;
	r = b64.size == XG_TICKET_KEY_B64 ?
	    gnutls_base64_decode2(&b64, &ctx->ticket_key) :
	    GNUTLS_E_BASE64_DECODING_ERROR;
	explicit_bzero(file.data, file.size);
	gnutls_free(file.data);
	if (r < 0 || ctx->ticket_key.size != TICKET_KEY_BYTES) {
		ticket_key_wipe(ctx);
		snprintf(err, errsz, "--ticket-key %s: not a key made by "
		    "xmppgate --new-ticket-key", path);
		return -1;
	}
	return 0;
}

static void
ticket_key_wipe(struct tlsctx *ctx)
{
	if (ctx->ticket_key.data != NULL) {
		explicit_bzero(ctx->ticket_key.data, ctx->ticket_key.size);
		gnutls_free(ctx->ticket_key.data);
	}
	ctx->ticket_key.data = NULL;
	ctx->ticket_key.size = 0;
}

int
tls_new_ticket_key(char *out, size_t outsz)
{
	gnutls_datum_t key = { NULL, 0 }, b64 = { NULL, 0 };
	int r;

	if ((r = gnutls_session_ticket_key_generate(&key)) < 0 ||
	    key.size != TICKET_KEY_BYTES ||
	    (r = gnutls_base64_encode2(&key, &b64)) < 0 ||
	    b64.size != XG_TICKET_KEY_B64 || outsz <= b64.size)
		r = -1;
	else {
		memcpy(out, b64.data, b64.size);
		out[b64.size] = '\0';
		r = 0;
	}
	if (key.data != NULL) {
		explicit_bzero(key.data, key.size);
		gnutls_free(key.data);
	}
	if (b64.data != NULL) {
		explicit_bzero(b64.data, b64.size);
		gnutls_free(b64.data);
	}
	return r;
}

int
tls_load(struct tlsctx *ctx, const struct options *o, char *err,
    size_t errsz)
{
	gnutls_datum_t ocsp = { NULL, 0 };
	const char *errpos = NULL;
	int r;

	memset(ctx, 0, sizeof(*ctx));
	ctx->o = o;
	if ((r = gnutls_certificate_allocate_credentials(&ctx->cred)) < 0) {
		ctx->cred = NULL;
		snprintf(err, errsz, "unable to allocate TLS credentials: %s",
		    gnutls_strerror(r));
		return -1;
	}
	/* The key-setting functions return the index, for the OCSP.  The
	 * key is matched to the certificate by certs_key_matches(), not by
	 * GnuTLS's test signature (see there). */
	gnutls_certificate_set_flags(ctx->cred, GNUTLS_CERTIFICATE_API_V2 |
	    GNUTLS_CERTIFICATE_SKIP_KEY_CERT_MATCH);
	if (o->cert != NULL) {
		if ((r = gnutls_certificate_set_x509_key_file2(ctx->cred,
		    o->cert, o->key, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
			snprintf(err, errsz, "unable to load certificate %s "
			    "and key %s: %s", o->cert, o->key,
			    gnutls_strerror(r));
			goto fail;
		}
		if (certs_key_matches(ctx->cred, (unsigned)r, err, errsz) ==
		    -1) {
			size_t n = strlen(err);
			snprintf(err + n, errsz - n, " (%s, %s)", o->cert,
			    o->key);
			goto fail;
		}
		ctx->have_cert = 1;
		if (o->ocsp != NULL) {
			if (gnutls_load_file(o->ocsp, &ocsp) < 0)
				xg_log(LOG_WARNING, "OCSP response %s ignored:"
				    " unable to read it", o->ocsp);
			else
				certs_ocsp(ctx->cred, r, &ocsp, o->ocsp);
			gnutls_free(ocsp.data);
		}
	}
	if (o->client_ca != NULL &&
	    (r = gnutls_certificate_set_x509_trust_file(ctx->cred,
	    o->client_ca, GNUTLS_X509_FMT_PEM)) <= 0) {
		snprintf(err, errsz, "--client-ca %s: %s", o->client_ca,
		    r == 0 ? "no certificate in it" : gnutls_strerror(r));
		goto fail;
	}
	if ((o->s2s || o->s2s_out) && o->s2s_ca != NULL &&
	    (r = gnutls_certificate_set_x509_trust_file(ctx->cred,
	    o->s2s_ca, GNUTLS_X509_FMT_PEM)) <= 0) {
		snprintf(err, errsz, "--s2s-ca %s: %s", o->s2s_ca,
		    r == 0 ? "no certificate in it" : gnutls_strerror(r));
		goto fail;
	}
	if ((o->s2s || o->s2s_out) && o->s2s_ca == NULL &&
	    (r = gnutls_certificate_set_x509_system_trust(ctx->cred)) <= 0) {
		snprintf(err, errsz, "the system trust store (for remote "
		    "servers; or --s2s-ca): %s", r == 0 ? "no certificate "
		    "in it" : gnutls_strerror(r));
		goto fail;
	}
	if (o->ticket_key != NULL &&
	    ticket_key_load(ctx, o->ticket_key, err, errsz) == -1)
		goto fail;
	if ((r = gnutls_priority_init2(&ctx->prio, o->tls_priority ?
	    o->tls_priority : XG_DEFAULT_PRIORITY, &errpos, 0)) < 0) {
		ctx->prio = NULL;
		if (r == GNUTLS_E_INVALID_REQUEST && errpos != NULL)
			snprintf(err, errsz, "invalid TLS priority string "
			    "at \"%.64s\": %s", errpos, gnutls_strerror(r));
		else
			snprintf(err, errsz, "invalid TLS priority string: %s",
			    gnutls_strerror(r));
		goto fail;
	}
	return 0;
fail:
	tls_free(ctx);
	return -1;
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
	ticket_key_wipe(ctx);
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

/* Run the handshake to its end or the deadline; 0, or -1 with err. */
static int
handshake(gnutls_session_t s, struct conn *c, int64_t deadline_ms, char *err,
    size_t errsz)
{
	const char *name;
	int r;

	gnutls_transport_set_int2(s, c->rfd, c->wfd);
	/* The deadline is ours, shared with the poll below. */
	gnutls_handshake_set_timeout(s, 0);
	for (;;) {
		r = gnutls_handshake(s);
		if (r == 0)
			return 0;
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
			if (tls_wait(s, c, deadline_ms) == -1) {
				if (errno == ETIMEDOUT)
					snprintf(err, errsz,
					    "TLS handshake timed out");
				else
					snprintf(err, errsz,
					    "TLS handshake failed: poll: %s",
					    strerror(errno));
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
			/* Tell the peer why, once, without waiting. */
			(void)gnutls_alert_send_appropriate(s, r);
		}
		errno = EPROTO;
		return -1;
	}
}

/*
 * Direct TLS: the certificate follows the client's SNI, which becomes the
 * domain the stream must ask for.  Without SNI, --cert serves (the stream
 * 'to' decides later) and so does a single --domain; otherwise the name
 * is unknown.
 */
static int
sni_hook(gnutls_session_t s)
{
	struct tlsctx *ctx = gnutls_session_get_ptr(s);
	char name[XG_DOMAIN_NAME_MAX + 2], dom[XG_DOMAIN_NAME_MAX + 1];
	size_t len = sizeof(name);
	unsigned int type;
	const char *want = NULL;
	int r;

	r = gnutls_server_name_get(s, name, &len, &type, 0);
	if (r != 0 && r != GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
		/* Longer than any domain: not one of ours. */
		ctx->sni_result = CERTS_UNKNOWN;
		snprintf(ctx->sni_err, sizeof(ctx->sni_err), "SNI name is "
		    "not a domain name");
		return GNUTLS_E_UNRECOGNIZED_NAME;
	}
	if (r == 0 && type == GNUTLS_NAME_DNS) {
		if (xg_domain_normalize(name, dom, sizeof(dom)) == -1) {
			ctx->sni_result = CERTS_UNKNOWN;
			snprintf(ctx->sni_err, sizeof(ctx->sni_err), "SNI "
			    "name is not a domain name");
			return GNUTLS_E_UNRECOGNIZED_NAME;
		}
		want = dom;
	} else if (ctx->o->cert != NULL) {
		ctx->sni_result = CERTS_OK;
		return 0;
	} else if (ctx->o->ndomains == 1)
		want = ctx->o->domains[0];
	else {
		ctx->sni_result = CERTS_UNKNOWN;
		snprintf(ctx->sni_err, sizeof(ctx->sni_err), "no SNI, and "
		    "more than one domain may be served");
		return GNUTLS_E_UNRECOGNIZED_NAME;
	}
	ctx->sni_result = certs_select(ctx, want, ctx->sni_err,
	    sizeof(ctx->sni_err));
	if (ctx->sni_result == CERTS_UNKNOWN) {
		snprintf(ctx->sni_err, sizeof(ctx->sni_err), "unknown domain "
		    "(SNI %.200s)", want);
		return GNUTLS_E_UNRECOGNIZED_NAME;
	}
	if (ctx->sni_result == CERTS_ERROR)
		return GNUTLS_E_INTERNAL_ERROR;
	snprintf(ctx->c->sni, sizeof(ctx->c->sni), "%s", want);
	return 0;
}

/* Append word to a space separated list, if it is one word that fits. */
static void
words_add(char *list, size_t sz, const char *w, size_t wlen)
{
	size_t i, n = strlen(list);

	for (i = 0; i < wlen; i++)
		if ((unsigned char)w[i] <= 0x20 || (unsigned char)w[i] == 0x7f)
			return;
	if (wlen == 0 || n + (n > 0) + wlen >= sz)
		return;
	if (n > 0)
		list[n++] = ' ';
	memcpy(list + n, w, wlen);
	list[n + wlen] = '\0';
}

/*
 * The peer certificate's names: its SHA-256, subject, and the DNS,
 * XmppAddr and SRVName identities (RFC 6125, RFC 6120 13.7.1.4).  -1 when
 * it cannot be read.
 */
static int
cert_names(struct conn *c, const gnutls_datum_t *der)
{
	gnutls_x509_crt_t crt;
	gnutls_datum_t out = { NULL, 0 }, raw, virt;
	unsigned int i, san, vtype;
	unsigned char fp[32];
	size_t fplen = sizeof(fp), oidlen, rawlen;
	char buf[XG_CERT_IDS_MAX], oid[128], srv[XG_CERT_IDS_MAX];
	char *list;
	int type;

	if (gnutls_x509_crt_init(&crt) < 0)
		return -1;
	if (gnutls_x509_crt_import(crt, der, GNUTLS_X509_FMT_DER) < 0 ||
	    gnutls_x509_crt_get_fingerprint(crt, GNUTLS_DIG_SHA256, fp,
	    &fplen) < 0 || fplen != sizeof(fp)) {
		gnutls_x509_crt_deinit(crt);
		return -1;
	}
	for (i = 0; i < fplen; i++)
		snprintf(c->cert_sha256 + 2 * i, 3, "%02x", fp[i]);
	if (gnutls_x509_crt_get_dn3(crt, &out, 0) == 0) {
		/* Left empty if it does not fit or holds a control. */
		if (out.size < sizeof(c->cert_subject) &&
		    strlen((char *)out.data) == out.size) {
			memcpy(c->cert_subject, out.data, out.size);
			c->cert_subject[out.size] = '\0';
			for (i = 0; i < out.size; i++)
				if ((unsigned char)out.data[i] < 0x20 ||
				    out.data[i] == 0x7f)
					c->cert_subject[0] = '\0';
		}
		gnutls_free(out.data);
	}
	for (san = 0; san < SAN_MAX; san++) {
		rawlen = sizeof(buf) - 1;
		type = gnutls_x509_crt_get_subject_alt_name2(crt, san, buf,
		    &rawlen, NULL, NULL);
		if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (type == GNUTLS_SAN_DNSNAME) {
			if (strnlen(buf, rawlen) == rawlen)
				words_add(c->cert_dnsnames, XG_CERT_IDS_MAX +
				    1, buf, rawlen);
			continue;
		}
		/* An otherName: GnuTLS decodes the kinds it knows itself (a
		 * "virtual" SAN, type GNUTLS_SAN_OTHERNAME_XMPP and up), or
		 * hands us the DER.  Which kind, its OID says either way:
		 * GNUTLS_SAN_OTHERNAME_SRV is not named, since it is missing
		 * from the headers of older GnuTLS releases (Debian 12 before
		 * 3.7.9-2+deb12u7), whose library returns an SRVName raw. */
		if (type != GNUTLS_SAN_OTHERNAME &&
		    type < (int)GNUTLS_SAN_OTHERNAME_XMPP)
			continue;
		oidlen = sizeof(oid);
		if (gnutls_x509_crt_get_subject_alt_othername_oid(crt, san,
		    oid, &oidlen) < 0)
			continue;
		if (strcmp(oid, XMPPADDR_OID) == 0)
			list = c->cert_xmppaddrs;
		else if (strcmp(oid, SRVNAME_OID) == 0)
			list = c->cert_srvnames;
		else
			continue;
		if (type != GNUTLS_SAN_OTHERNAME) {
			if (strnlen(buf, rawlen) == rawlen)
				words_add(list, XG_CERT_IDS_MAX + 1, buf,
				    rawlen);
			continue;
		}
		if (list == c->cert_srvnames) {
			/* A raw SRVName: GnuTLS would not know it either. */
			if (s2s_srvname_der((unsigned char *)buf, rawlen, srv,
			    sizeof(srv)) == 0)
				words_add(list, XG_CERT_IDS_MAX + 1, srv,
				    strlen(srv));
			continue;
		}
		raw.data = (unsigned char *)buf;
		raw.size = (unsigned)rawlen;
		if (gnutls_x509_othername_to_virtual(oid, &raw, &vtype,
		    &virt) < 0)
			continue;
		if (strlen((char *)virt.data) == virt.size)
			words_add(list, XG_CERT_IDS_MAX + 1, (char *)virt.data,
			    virt.size);
		gnutls_free(virt.data);
	}
	gnutls_x509_crt_deinit(crt);
	return 0;
}

/*
 * A client certificate that verifies against --client-ca: its identities
 * for SASL EXTERNAL and the helper (XEP-0178).  One that does not verify
 * is logged and otherwise ignored: EXTERNAL is simply not offered.
 */
static void
peer_identities(struct conn *c, gnutls_session_t s)
{
	const gnutls_datum_t *peers;
	gnutls_typed_vdata_st purpose = { GNUTLS_DT_KEY_PURPOSE_OID,
	    (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT, 0 };
	gnutls_datum_t out = { NULL, 0 };
	unsigned int n = 0, status = 0;

	if ((peers = gnutls_certificate_get_peers(s, &n)) == NULL || n == 0)
		return;
	if (gnutls_certificate_verify_peers(s, &purpose, 1, &status) < 0 ||
	    status != 0) {
		if (gnutls_certificate_verification_status_print(status,
		    GNUTLS_CRT_X509, &out, 0) == 0) {
			xg_log(LOG_NOTICE, "client certificate not accepted:"
			    " %s", out.data);
			gnutls_free(out.data);
		}
		return;
	}
	if (cert_names(c, &peers[0]) == -1)
		return;
	c->cert_verified = 1;
	xg_debug("client certificate verified: sha256=%s", c->cert_sha256);
}

/*
 * s2s: the remote server's certificate, requested, never required, so
 * that a missing or bad one still ends in a stream error the remote's
 * operator can read.  The chain is checked against --s2s-ca (or the
 * system store) with no key purpose when the remote connects to us
 * (server 0): a server presents its server certificate as a TLS client,
 * and many have no clientAuth purpose.  When we connect to it (server 1,
 * --s2s-out) it is a TLS server and must be one for its certificate.  The
 * name is checked later (s2s_id_match()).
 */
static void
s2s_peer(struct conn *c, gnutls_session_t s, int server)
{
	/* A remote server we connect to (--s2s-out) must hold a
	 * certificate for a TLS server (RFC 5280 4.2.1.12); one that
	 * connects to us is not asked for clientAuth: many servers'
	 * certificates no longer carry it. */
	gnutls_typed_vdata_st purpose = { GNUTLS_DT_KEY_PURPOSE_OID,
	    (unsigned char *)GNUTLS_KP_TLS_WWW_SERVER, 0 };
	const gnutls_datum_t *peers;
	gnutls_datum_t out = { NULL, 0 };
	unsigned int n = 0, status = 0;

	c->cert_status = "none";
	if ((peers = gnutls_certificate_get_peers(s, &n)) == NULL || n == 0)
		return;
	c->cert_presented = 1;
	c->cert_status = "invalid";
	if (cert_names(c, &peers[0]) == -1)
		return;
	if (gnutls_certificate_verify_peers(s, server ? &purpose : NULL,
	    server ? 1 : 0, &status) < 0)
		return;
	if (status == 0) {
		c->cert_status = "valid";
		return;
	}
	c->cert_status = status & (GNUTLS_CERT_SIGNER_NOT_FOUND |
	    GNUTLS_CERT_SIGNER_NOT_CA) ? "untrusted" :
	    status & GNUTLS_CERT_REVOKED ? "revoked" :
	    status & GNUTLS_CERT_EXPIRED ? "expired" :
	    status & GNUTLS_CERT_NOT_ACTIVATED ? "not-yet-valid" : "invalid";
	if (gnutls_certificate_verification_status_print(status,
	    GNUTLS_CRT_X509, &out, 0) == 0) {
		xg_log(LOG_NOTICE, "server certificate not accepted: %s",
		    out.data);
		gnutls_free(out.data);
	}
}

int
tls_start(struct conn *c, struct tlsctx *ctx, int direct, int64_t deadline_ms,
    char *err, size_t errsz)
{
	static const gnutls_datum_t alpn = { (unsigned char *)ALPN_XMPP_CLIENT,
	    sizeof(ALPN_XMPP_CLIENT) - 1 };
	gnutls_datum_t proto;
	gnutls_session_t s;
	const char *name;
	int r;

	if ((r = gnutls_init(&s, GNUTLS_SERVER | GNUTLS_NONBLOCK |
	    (ctx->ticket_key.data ? 0 : GNUTLS_NO_TICKETS))) < 0) {
		snprintf(err, errsz, "TLS handshake failed: %s",
		    gnutls_strerror(r));
		return -1;
	}
	ctx->c = c;
	ctx->sni_result = CERTS_OK;
	ctx->sni_err[0] = '\0';
	gnutls_session_set_ptr(s, ctx);
	if ((r = gnutls_priority_set(s, ctx->prio)) < 0 ||
	    (r = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE,
	    ctx->cred)) < 0 ||
	    (ctx->ticket_key.data != NULL &&
	    (r = gnutls_session_ticket_enable_server(s,
	    &ctx->ticket_key)) < 0) ||
	    (direct && (r = gnutls_alpn_set_protocols(s, &alpn, 1,
	    GNUTLS_ALPN_MANDATORY)) < 0)) {
		snprintf(err, errsz, "TLS handshake failed: %s",
		    gnutls_strerror(r));
		gnutls_deinit(s);
		return -1;
	}
	if (ctx->o->client_ca != NULL || ctx->o->s2s)
		gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUEST);
	if (direct)
		gnutls_handshake_set_post_client_hello_function(s, sni_hook);
	if (handshake(s, c, deadline_ms, err, errsz) == -1) {
		/* What the SNI hook found says more than the alert. */
		if (ctx->sni_result != CERTS_OK && ctx->sni_err[0] != '\0')
			snprintf(err, errsz, "%s", ctx->sni_err);
		gnutls_deinit(s);
		return -1;
	}
	c->tls = s;
	c->tls_resumed = gnutls_session_is_resumed(s) != 0;
	name = gnutls_protocol_get_name(gnutls_protocol_get_version(s));
	snprintf(c->tls_protocol, sizeof(c->tls_protocol), "%s",
	    name != NULL ? name : "-");
	name = gnutls_ciphersuite_get(s);
	snprintf(c->tls_cipher, sizeof(c->tls_cipher), "%s",
	    name != NULL ? name : "-");
	if (direct && gnutls_alpn_get_selected_protocol(s, &proto) == 0)
		xg_debug("ALPN %.*s", (int)proto.size, proto.data);
	if (ctx->o->s2s)
		s2s_peer(c, s, 0);
	else if (ctx->o->client_ca != NULL && !c->tls_resumed)
		peer_identities(c, s);
	return 0;
}

/*
 * --backend-tls: we are the client.  The backend's chain must verify
 * against ca (or the system store) and its certificate name the XMPP
 * domain (RFC 6120 13.7.2), as any XMPP client would check.
 */
int
tls_client_start(struct conn *c, const char *ca, const char *name,
    const char *priority, int64_t deadline_ms, char *err, size_t errsz)
{
	gnutls_certificate_credentials_t cred;
	gnutls_session_t s;
	gnutls_datum_t out;
	unsigned int status = 0;
	int r;

	if ((r = gnutls_certificate_allocate_credentials(&cred)) < 0) {
		snprintf(err, errsz, "backend TLS: %s", gnutls_strerror(r));
		return -1;
	}
	r = ca != NULL ? gnutls_certificate_set_x509_trust_file(cred, ca,
	    GNUTLS_X509_FMT_PEM) : gnutls_certificate_set_x509_system_trust(
	    cred);
	if (r <= 0) {
		snprintf(err, errsz, "backend TLS: no trusted certificates "
		    "in %s", ca != NULL ? ca : "the system store");
		gnutls_certificate_free_credentials(cred);
		return -1;
	}
	if ((r = gnutls_init(&s, GNUTLS_CLIENT | GNUTLS_NONBLOCK)) < 0) {
		snprintf(err, errsz, "backend TLS: %s", gnutls_strerror(r));
		gnutls_certificate_free_credentials(cred);
		return -1;
	}
	if ((r = gnutls_priority_set_direct(s, priority, NULL)) < 0 ||
	    (r = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE,
	    cred)) < 0 ||
	    (r = gnutls_server_name_set(s, GNUTLS_NAME_DNS, name,
	    strlen(name))) < 0) {
		snprintf(err, errsz, "backend TLS: %s", gnutls_strerror(r));
		goto fail;
	}
	gnutls_session_set_verify_cert(s, name, 0);
	if (handshake(s, c, deadline_ms, err, errsz) == -1) {
		unsigned int npeers = 0;

		/* The certificate's verdict only when one came: a handshake
		 * that died before it has a status of its own (all bits). */
		status = gnutls_session_get_verify_cert_status(s);
		if (gnutls_certificate_get_peers(s, &npeers) != NULL &&
		    npeers > 0 && status != 0 &&
		    gnutls_certificate_verification_status_print(
		    status, GNUTLS_CRT_X509, &out, 0) == 0) {
			size_t n = strlen((char *)out.data);
			while (n > 0 && out.data[n - 1] == ' ')
				out.data[--n] = '\0';
			snprintf(err, errsz, "backend certificate not "
			    "accepted for %s: %s", name, out.data);
			gnutls_free(out.data);
		}
		goto fail;
	}
	/* The credentials must outlive the session: they go with it. */
	c->tls = s;
	c->tls_cred = cred;
	return 0;
fail:
	gnutls_deinit(s);
	gnutls_certificate_free_credentials(cred);
	return -1;
}

/*
 * --s2s-out: we are the initiating server.  SNI names the remote domain,
 * Direct TLS offers ALPN xmpp-server (XEP-0368), our certificate (the
 * one certs_select() put into ctx->cred for the 'from' domain) goes to a
 * remote that asks for it, and the remote's chain is checked against
 * --s2s-ca or the system store with no name: s2s_id_match() checks the
 * name, as for an incoming server.  Fills rc's TLS and certificate fields.
 */
int
tls_s2s_client_start(struct conn *rc, struct tlsctx *ctx, const char *domain,
    int direct, int64_t deadline_ms, char *err, size_t errsz)
{
	static const gnutls_datum_t alpn = { (unsigned char *)ALPN_XMPP_SERVER,
	    sizeof(ALPN_XMPP_SERVER) - 1 };
	gnutls_session_t s;
	const char *name;
	int r;

	if ((r = gnutls_init(&s, GNUTLS_CLIENT | GNUTLS_NONBLOCK |
	    GNUTLS_NO_TICKETS)) < 0) {
		snprintf(err, errsz, "TLS: %s", gnutls_strerror(r));
		return -1;
	}
	if ((r = gnutls_priority_set(s, ctx->prio)) < 0 ||
	    (r = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE,
	    ctx->cred)) < 0 ||
	    (r = gnutls_server_name_set(s, GNUTLS_NAME_DNS, domain,
	    strlen(domain))) < 0 ||
	    (direct && (r = gnutls_alpn_set_protocols(s, &alpn, 1, 0)) < 0)) {
		snprintf(err, errsz, "TLS: %s", gnutls_strerror(r));
		gnutls_deinit(s);
		return -1;
	}
	if (handshake(s, rc, deadline_ms, err, errsz) == -1) {
		gnutls_deinit(s);
		return -1;
	}
	rc->tls = s;
	name = gnutls_protocol_get_name(gnutls_protocol_get_version(s));
	snprintf(rc->tls_protocol, sizeof(rc->tls_protocol), "%s",
	    name != NULL ? name : "-");
	name = gnutls_ciphersuite_get(s);
	snprintf(rc->tls_cipher, sizeof(rc->tls_cipher), "%s",
	    name != NULL ? name : "-");
	s2s_peer(rc, s, 1);
	return 0;
}
