/*
 * Which certificate serves a domain.  With --cert the one pair read at
 * start-up serves every --domain.  With --cert-dir (certbot's live/
 * layout) and --cert-helper nothing is read at start-up: only the asked-
 * for domain's certificate is loaded, once its name is known (the stream
 * 'to' before STARTTLS, SNI for Direct TLS), so the cost of a connection
 * does not grow with the number of domains, and a renewed certificate is
 * used by the next connection.
 *
 * The domain has passed xg_domain_normalize(): letters, digits, '-' and
 * non-empty labels, so it is a safe file name.
 *
 * tls.c uses this file (certs_select() from its SNI hook, certs_ocsp()
 * and certs_key_matches() for --cert); this file calls nothing of
 * tls.c's, so the two never depend on each other both ways.
 */
#include <sys/stat.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gnutls/ocsp.h>
#include "xmppgate.h"

#define CERT_CHAIN_NAME	"fullchain.pem"
#define CERT_KEY_NAME	"privkey.pem"
#define CERT_OCSP_NAME	"ocsp.der"
#define OCSP_SKEW_S	300	/* a thisUpdate this far ahead is accepted */
#define CERT_ENV_MAX	12

static int	read_file(const char *, gnutls_datum_t *, int *, char *,
		    size_t);
static void	datum_wipe(gnutls_datum_t *);
static enum certs_result install(struct tlsctx *, const gnutls_datum_t *,
		    const gnutls_datum_t *, const gnutls_datum_t *,
		    const char *, int, const char *, char *, size_t);
static enum certs_result from_dir(struct tlsctx *, const char *, char *,
		    size_t);
static enum certs_result from_dir1(struct tlsctx *, const char *,
		    const char *, int, char *, size_t);
static enum certs_result from_helper(struct tlsctx *, const char *, char *,
		    size_t);

int
certs_domain_allowed(const struct options *o, const char *domain)
{
	size_t i;

	for (i = 0; i < o->ndomains; i++)
		if (strcmp(domain, o->domains[i]) == 0)
			return 1;
	return o->ndomains == 0 && (o->cert_dir != NULL ||
	    o->cert_helper != NULL);
}

enum certs_result
certs_select(struct tlsctx *ctx, const char *domain, char *err,
    size_t errsz)
{
	if (!certs_domain_allowed(ctx->o, domain))
		return CERTS_UNKNOWN;
	if (ctx->have_cert)		/* --cert, or already chosen */
		return CERTS_OK;
	if (ctx->o->cert_dir != NULL)
		return from_dir(ctx, domain, err, errsz);
	return from_helper(ctx, domain, err, errsz);
}

/*
 * The key at idx belongs to its certificate: the SHA-256 key IDs of the
 * certificate's public key and of the private key's are equal.  GnuTLS's
 * own check signs a message and verifies it, which was a quarter of a
 * whole login's instructions (bench/RESULTS.md); a key ID is a hash of
 * the public key.  0, or -1 with err.
 */
int
certs_key_matches(gnutls_certificate_credentials_t cred, unsigned idx,
    char *err, size_t errsz)
{
	gnutls_x509_crt_t *crts = NULL;
	gnutls_x509_privkey_t key = NULL;
	unsigned char a[64], b[64];
	size_t alen = sizeof(a), blen = sizeof(b);
	unsigned n = 0, i;
	int r, ok = 0;

	if ((r = gnutls_certificate_get_x509_crt(cred, idx, &crts, &n)) < 0 ||
	    n == 0 || (r = gnutls_certificate_get_x509_key(cred, idx,
	    &key)) < 0)
		snprintf(err, errsz, "unable to read back the certificate "
		    "and key: %s", gnutls_strerror(r));
	else if (gnutls_x509_crt_get_key_id(crts[0], GNUTLS_KEYID_USE_SHA256,
	    a, &alen) < 0 || gnutls_x509_privkey_get_key_id(key,
	    GNUTLS_KEYID_USE_SHA256, b, &blen) < 0 || alen != blen ||
	    memcmp(a, b, alen) != 0)
		snprintf(err, errsz, "the key does not belong to the "
		    "certificate");
	else
		ok = 1;
	for (i = 0; i < n; i++)
		gnutls_x509_crt_deinit(crts[i]);
	gnutls_free(crts);
	if (key != NULL)
		gnutls_x509_privkey_deinit(key);
	explicit_bzero(b, sizeof(b));
	return ok ? 0 : -1;
}

static void
datum_wipe(gnutls_datum_t *d)
{
	if (d->data != NULL) {
		explicit_bzero(d->data, d->size);
		gnutls_free(d->data);
	}
	d->data = NULL;
	d->size = 0;
}

/* The whole of a small file.  *missing when it does not exist. */
static int
read_file(const char *path, gnutls_datum_t *d, int *missing, char *err,
    size_t errsz)
{
	struct stat st;
	size_t got = 0;
	ssize_t r;
	int fd;

	d->data = NULL;
	d->size = 0;
	*missing = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		*missing = errno == ENOENT || errno == ENOTDIR;
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > XG_CERT_FILE_MAX) {
		snprintf(err, errsz, "%s: not a regular file of at most %d "
		    "bytes", path, XG_CERT_FILE_MAX);
		close(fd);
		return -1;
	}
	if ((d->data = gnutls_malloc((size_t)st.st_size + 1)) == NULL) {
		snprintf(err, errsz, "%s: out of memory", path);
		close(fd);
		return -1;
	}
	while (got < (size_t)st.st_size) {
		r = read(fd, d->data + got, (size_t)st.st_size - got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (got != (size_t)st.st_size) {
		snprintf(err, errsz, "%s: short read", path);
		d->size = (unsigned)got;
		datum_wipe(d);
		return -1;
	}
	d->data[got] = '\0';
	d->size = (unsigned)got;
	return 0;
}

/*
 * The OCSP response for certificate idx, when it is a good one: it must
 * be successful, say "good", be current (thisUpdate not ahead,
 * nextUpdate not past) and be about this certificate (GnuTLS checks that).  A bad one is left out
 * with a warning: no staple is better than one a client would refuse.
 */
void
certs_ocsp(gnutls_certificate_credentials_t cred, int idx,
    const gnutls_datum_t *der, const char *what)
{
	gnutls_ocsp_resp_t resp;
	unsigned int cstatus;
	time_t this_up, next_up, now = time(NULL);
	int r;

	if (gnutls_ocsp_resp_init(&resp) < 0)
		return;
	if ((r = gnutls_ocsp_resp_import(resp, der)) < 0 ||
	    (r = gnutls_ocsp_resp_get_status(resp)) !=
	    GNUTLS_OCSP_RESP_SUCCESSFUL ||
	    gnutls_ocsp_resp_get_single(resp, 0, NULL, NULL, NULL, NULL,
	    &cstatus, &this_up, &next_up, NULL, NULL) < 0) {
		xg_log(LOG_WARNING, "OCSP response %s ignored: not a "
		    "successful response", what);
		goto out;
	}
	if (this_up > now + OCSP_SKEW_S) {
		xg_log(LOG_WARNING, "OCSP response %s ignored: it is from "
		    "the future", what);
		goto out;
	}
	if (next_up == (time_t)-1 || next_up < now) {
		xg_log(LOG_WARNING, "OCSP response %s ignored: stale (%s)",
		    what, next_up == (time_t)-1 ? "no nextUpdate" :
		    "nextUpdate has passed");
		goto out;
	}
	/* GnuTLS would refuse it too; say why in our words. */
	if (cstatus != GNUTLS_OCSP_CERT_GOOD) {
		xg_log(LOG_WARNING, "OCSP response %s ignored: it says the "
		    "certificate is %s", what, cstatus ==
		    GNUTLS_OCSP_CERT_REVOKED ? "revoked" : "unknown");
		goto out;
	}
	if ((r = gnutls_certificate_set_ocsp_status_request_mem(cred, der,
	    (unsigned)idx, GNUTLS_X509_FMT_DER)) < 0)
		xg_log(LOG_WARNING, "OCSP response %s ignored: %s", what,
		    gnutls_strerror(r));
	else
		xg_debug("OCSP response %s stapled", what);
out:
	gnutls_ocsp_resp_deinit(resp);
}

/*
 * Put chain and key into the credentials.  The leaf must name domain
 * (wildcards as RFC 6125 allows); if it does not, that is a broken
 * configuration when must_match, and simply no certificate otherwise.
 */
static enum certs_result
install(struct tlsctx *ctx, const gnutls_datum_t *chain,
    const gnutls_datum_t *key, const gnutls_datum_t *ocsp,
    const char *domain, int must_match, const char *what, char *err,
    size_t errsz)
{
	gnutls_x509_crt_t crt;
	char kerr[XG_REASON_MAX];
	int r, match;

	if (gnutls_x509_crt_init(&crt) < 0) {
		snprintf(err, errsz, "out of memory");
		return CERTS_ERROR;
	}
	if ((r = gnutls_x509_crt_import(crt, chain, GNUTLS_X509_FMT_PEM)) < 0) {
		gnutls_x509_crt_deinit(crt);
		snprintf(err, errsz, "certificate %s: %s", what,
		    gnutls_strerror(r));
		return CERTS_ERROR;
	}
	match = gnutls_x509_crt_check_hostname2(crt, domain, 0);
	if (match && gnutls_x509_crt_get_expiration_time(crt) < time(NULL))
		xg_log(LOG_WARNING, "certificate %s for %s has expired", what,
		    domain);
	gnutls_x509_crt_deinit(crt);
	if (!match) {
		if (!must_match)
			return CERTS_UNKNOWN;
		snprintf(err, errsz, "certificate %s does not name %s", what,
		    domain);
		return CERTS_ERROR;
	}
	if ((r = gnutls_certificate_set_x509_key_mem2(ctx->cred, chain, key,
	    GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
		snprintf(err, errsz, "certificate %s and its key: %s", what,
		    gnutls_strerror(r));
		return CERTS_ERROR;
	}
	if (certs_key_matches(ctx->cred, (unsigned)r, kerr, sizeof(kerr)) ==
	    -1) {
		snprintf(err, errsz, "certificate %s and its key: %s", what,
		    kerr);
		return CERTS_ERROR;
	}
	if (ocsp != NULL && ocsp->data != NULL)
		certs_ocsp(ctx->cred, r, ocsp, what);
	ctx->have_cert = 1;
	return CERTS_OK;
}

/* DIR/name/fullchain.pem and privkey.pem (and ocsp.der, if there). */
static enum certs_result
from_dir1(struct tlsctx *ctx, const char *name, const char *domain,
    int must_match, char *err, size_t errsz)
{
	char path[PATH_MAX], what[PATH_MAX - 32];
	gnutls_datum_t chain = { NULL, 0 }, key = { NULL, 0 },
	    ocsp = { NULL, 0 };
	enum certs_result res = CERTS_ERROR;
	int missing;

	if (snprintf(what, sizeof(what), "%s/%s", ctx->o->cert_dir, name) >=
	    (int)sizeof(what) || snprintf(path, sizeof(path), "%s/"
	    CERT_CHAIN_NAME, what) >= (int)sizeof(path)) {
		snprintf(err, errsz, "--cert-dir path too long");
		return CERTS_ERROR;
	}
	if (read_file(path, &chain, &missing, err, errsz) == -1)
		return missing ? CERTS_UNKNOWN : CERTS_ERROR;
	snprintf(path, sizeof(path), "%s/" CERT_KEY_NAME, what);
	if (read_file(path, &key, &missing, err, errsz) == 0) {
		snprintf(path, sizeof(path), "%s/" CERT_OCSP_NAME, what);
		if (read_file(path, &ocsp, &missing, err, errsz) == -1 &&
		    !missing)
			xg_log(LOG_WARNING, "OCSP response ignored: %s", err);
		err[0] = '\0';
		res = install(ctx, &chain, &key, &ocsp, domain, must_match,
		    what, err, errsz);
	}
	datum_wipe(&chain);
	datum_wipe(&key);
	datum_wipe(&ocsp);
	return res;
}

/*
 * The domain's own directory; failing that, its parent's, which serves
 * it only with a wildcard certificate (certbot names the lineage of
 * *.example.org "example.org").
 */
static enum certs_result
from_dir(struct tlsctx *ctx, const char *domain, char *err, size_t errsz)
{
	enum certs_result r;
	const char *parent;

	r = from_dir1(ctx, domain, domain, 1, err, errsz);
	if (r != CERTS_UNKNOWN)
		return r;
	if ((parent = strchr(domain, '.')) == NULL ||
	    strchr(parent + 1, '.') == NULL)
		return CERTS_UNKNOWN;	/* no wildcard over a TLD */
	return from_dir1(ctx, parent + 1, domain, 0, err, errsz);
}

/*
 * xmppgate-cert(5): the helper gets the domain in its environment and
 * prints the chain, then the key, in PEM; exit 0 here it is, 1 no
 * certificate for that domain, anything else a failure.
 */
static enum certs_result
from_helper(struct tlsctx *ctx, const char *domain, char *err, size_t errsz)
{
	static char out[XG_CERT_REPLY_MAX + 1];
	char envbuf[1024 + XG_DOMAIN_NAME_MAX], why[XG_REASON_MAX];
	char *envp[CERT_ENV_MAX], *k, *kb;
	const struct conn *c = ctx->c;
	size_t outlen = 0, used = 0, i, n = 0;
	int overflow = 0, status;
	enum certs_result res = CERTS_ERROR;
	gnutls_datum_t chain, key;
	const char *v[][2] = {
		{ "XMPPGATE_CERT_VERSION", "1" },
		{ "PATH", "/usr/local/bin:/usr/bin:/bin" },
		{ "CERT_DOMAIN", domain },
		{ "CERT_SOURCE", c && c->direct_tls ? "sni" : "stream" },
		{ "XMPPGATE_CONN_ID", c ? c->id : "" },
		{ "TCPLOCALIP", c ? c->local_ip : "" },
		{ "TCPLOCALPORT", c ? c->local_port : "" },
		{ "TCPREMOTEIP", c ? c->remote_ip : "" },
	};
	struct helper_spec h = { .path = ctx->o->cert_helper, .envp = envp,
	    .out = out, .outsz = sizeof(out) - 1,
	    .timeout_ms = ctx->o->cert_timeout * 1000 };

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		int w = snprintf(envbuf + used, sizeof(envbuf) - used, "%s=%s",
		    v[i][0], v[i][1]);
		if (w < 0 || (size_t)w >= sizeof(envbuf) - used)
			break;
		envp[n++] = envbuf + used;
		used += (size_t)w + 1;
	}
	envp[n] = NULL;
	if (helper_run(&h, &outlen, &overflow, &status, why,
	    sizeof(why)) == -1) {
		snprintf(err, errsz, "certificate helper: %s", why);
		goto done;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 1) {
		snprintf(err, errsz, "certificate helper has no certificate "
		    "for %s", domain);
		res = CERTS_UNKNOWN;
		goto done;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (WIFSIGNALED(status))
			snprintf(err, errsz, "certificate helper killed by "
			    "signal %d", WTERMSIG(status));
		else
			snprintf(err, errsz, "certificate helper exited %d",
			    WEXITSTATUS(status));
		goto done;
	}
	if (overflow || outlen > XG_CERT_REPLY_MAX) {
		snprintf(err, errsz, "certificate helper: output over %d "
		    "bytes", XG_CERT_REPLY_MAX);
		goto done;
	}
	out[outlen] = '\0';
	/* The certificates first, then the key: split at the key's BEGIN
	 * line, so that neither parser sees the other's blocks. */
	if (memchr(out, '\0', outlen) != NULL ||
	    (k = strstr(out, "PRIVATE KEY-----")) == NULL) {
		snprintf(err, errsz, "certificate helper: no PEM private key "
		    "in its output");
		goto done;
	}
	for (kb = k; kb > out && strncmp(kb, "-----BEGIN ", 11) != 0; kb--)
		;
	if (strncmp(kb, "-----BEGIN ", 11) != 0 || kb == out) {
		snprintf(err, errsz, "certificate helper: the certificates "
		    "must come before the key");
		goto done;
	}
	chain.data = (unsigned char *)out;
	chain.size = (unsigned)(kb - out);
	key.data = (unsigned char *)kb;
	key.size = (unsigned)(outlen - (size_t)(kb - out));
	res = install(ctx, &chain, &key, NULL, domain, 1,
	    "from the certificate helper", err, errsz);
done:
	explicit_bzero(out, sizeof(out));
	explicit_bzero(envbuf, sizeof(envbuf));
	return res;
}
