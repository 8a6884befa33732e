/*
 * A second, independent SCRAM client for tests/t-scram.sh: GNU SASL
 * (libgsasl) does the SCRAM exchange, GnuTLS the TLS, and this file only
 * the few XMPP steps around them: stream, STARTTLS, <auth>, <challenge>/
 * <response>, <success> (whose server signature libgsasl checks), the
 * stream restart and resource binding at the backend behind xmppgate.
 *
 *   gsasl_client HOST PORT DOMAIN USER PASSWORD MECH CAFILE [tls12] [tamper]
 *
 * With -PLUS, the binding is tls-exporter on TLS 1.3 and tls-unique on
 * TLS 1.2 (libgsasl knows no other); "tamper" changes one byte of it.
 * Prints the features after TLS as "FEATURES ..." and one line
 *   RESULT login=ok mech=M cb=TYPE jid=JID
 *   RESULT login=failed condition=C
 * Exit 0 after a login, 1 after a refusal, 2 on any other error.  The
 * whole run is bounded by alarm(20).
 */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <gnutls/gnutls.h>
#include <gsasl.h>

#define BUF	16384

static int fd = -1;
static gnutls_session_t tls;
static char buf[BUF];
static size_t len;

static void __attribute__((noreturn))
die(const char *what)
{
	printf("RESULT login=error at=%s\n", what);
	exit(2);
}

static void
put(const char *s)
{
	size_t n = strlen(s);

	if (tls ? gnutls_record_send(tls, s, n) != (ssize_t)n :
	    write(fd, s, n) != (ssize_t)n)
		die("write");
}

static void
readmore(void)
{
	ssize_t r;

	if (len >= BUF - 1)
		die("buffer full");
	r = tls ? gnutls_record_recv(tls, buf + len, BUF - 1 - len) :
	    read(fd, buf + len, BUF - 1 - len);
	if (r <= 0)
		die("read");
	len += (size_t)r;
	buf[len] = '\0';
}

static void
until(const char *a)
{
	while (strstr(buf, a) == NULL)
		readmore();
}

static void
consume(void)
{
	len = 0;
	buf[0] = '\0';
}

/* The text between the first '>' after tag and the next '<'. */
static char *
content(const char *tag)
{
	char *p = strstr(buf, tag), *e;

	if (p == NULL || (p = strchr(p, '>')) == NULL || p[-1] == '/')
		return strdup("");
	p++;
	if ((e = strchr(p, '<')) == NULL)
		die("content");
	return strndup(p, (size_t)(e - p));
}

static void
header(const char *domain)
{
	char h[512];

	snprintf(h, sizeof(h), "<?xml version='1.0'?><stream:stream "
	    "to='%s' version='1.0' xmlns='jabber:client' "
	    "xmlns:stream='http://etherx.jabber.org/streams'>", domain);
	put(h);
	until("</stream:features>");
}

int
main(int argc, char **argv)
{
	const char *host, *port, *domain, *user, *pass, *mech, *ca, *cbname = "none";
	int tls12 = 0, tamper = 0, i, rc;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	gnutls_certificate_credentials_t cred;
	gnutls_datum_t cb;
	Gsasl *ctx;
	Gsasl_session *ss;
	char *out, *in, msg[8192];

	if (argc < 8) {
		fprintf(stderr, "usage: gsasl_client HOST PORT DOMAIN USER "
		    "PASSWORD MECH CAFILE [tls12] [tamper]\n");
		return 2;
	}
	host = argv[1]; port = argv[2]; domain = argv[3]; user = argv[4];
	pass = argv[5]; mech = argv[6]; ca = argv[7];
	for (i = 8; i < argc; i++) {
		tls12 |= strcmp(argv[i], "tls12") == 0;
		tamper |= strcmp(argv[i], "tamper") == 0;
	}
	alarm(20);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (getaddrinfo(host, port, &hints, &ai) != 0 ||
	    (fd = socket(ai->ai_family, SOCK_STREAM, 0)) == -1 ||
	    connect(fd, ai->ai_addr, ai->ai_addrlen) == -1)
		die("connect");
	header(domain);
	consume();
	put("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
	until("<proceed");
	consume();
	if (gnutls_certificate_allocate_credentials(&cred) < 0 ||
	    gnutls_certificate_set_x509_trust_file(cred, ca,
	    GNUTLS_X509_FMT_PEM) <= 0 ||
	    gnutls_init(&tls, GNUTLS_CLIENT) < 0 ||
	    gnutls_priority_set_direct(tls, tls12 ? "NORMAL:-VERS-ALL:"
	    "+VERS-TLS1.2" : "NORMAL", NULL) < 0 ||
	    gnutls_credentials_set(tls, GNUTLS_CRD_CERTIFICATE, cred) < 0 ||
	    gnutls_server_name_set(tls, GNUTLS_NAME_DNS, domain,
	    strlen(domain)) < 0)
		die("tls setup");
	gnutls_session_set_verify_cert(tls, domain, 0);
	gnutls_transport_set_int(tls, fd);
	do
		rc = gnutls_handshake(tls);
	while (rc < 0 && !gnutls_error_is_fatal(rc));
	if (rc < 0)
		die("handshake");
	header(domain);
	printf("FEATURES %s\n", buf);
	consume();

	if (gsasl_init(&ctx) != GSASL_OK ||
	    gsasl_client_start(ctx, mech, &ss) != GSASL_OK)
		die("gsasl start");
	gsasl_property_set(ss, GSASL_AUTHID, user);
	gsasl_property_set(ss, GSASL_PASSWORD, pass);
	if (strstr(mech, "-PLUS")) {
		int v13 = gnutls_protocol_get_version(tls) == GNUTLS_TLS1_3;
		char *b64;

		cbname = v13 ? "tls-exporter" : "tls-unique";
		if (gnutls_session_channel_binding(tls, v13 ?
		    GNUTLS_CB_TLS_EXPORTER : GNUTLS_CB_TLS_UNIQUE, &cb) < 0)
			die("channel binding");
		if (tamper)
			cb.data[0] ^= 0x55;
		if (gsasl_base64_to((char *)cb.data, cb.size, &b64, NULL) !=
		    GSASL_OK)
			die("base64");
		gsasl_property_set(ss, v13 ? GSASL_CB_TLS_EXPORTER :
		    GSASL_CB_TLS_UNIQUE, b64);
	}
	rc = gsasl_step64(ss, "", &out);
	if (rc != GSASL_NEEDS_MORE)
		die("gsasl client-first");
	snprintf(msg, sizeof(msg), "<auth xmlns='urn:ietf:params:xml:ns:"
	    "xmpp-sasl' mechanism='%s'>%s</auth>", mech, out);
	put(msg);
	for (;;) {
		/* A whole element: <challenge>..</challenge>, <success/> or
		 * <success>..</success>, <failure>..</failure>. */
		while (!strstr(buf, "</challenge>") &&
		    !strstr(buf, "</failure>") && !strstr(buf, "</success>") &&
		    !strstr(buf, "-sasl'/>"))
			readmore();
		if (strstr(buf, "<success"))
			break;
		if (strstr(buf, "<failure")) {
			char *c = strstr(buf, "<failure"), cond[64] = "";
			c = strchr(c, '>') + 1;
			sscanf(c, "<%63[a-z-]", cond);
			printf("RESULT login=failed condition=%s\n", cond);
			return 1;
		}
		in = content("<challenge");
		rc = gsasl_step64(ss, in, &out);
		free(in);
		if (rc != GSASL_NEEDS_MORE && rc != GSASL_OK)
			die("gsasl step");
		snprintf(msg, sizeof(msg), "<response xmlns='urn:ietf:params:"
		    "xml:ns:xmpp-sasl'>%s</response>", out);
		consume();
		put(msg);
	}
	/* The server's signature (v=) in <success>: libgsasl checks it. */
	in = content("<success");
	rc = gsasl_step64(ss, in, &out);
	if (rc != GSASL_OK) {
		printf("RESULT login=failed condition=bad-server-signature\n");
		return 1;
	}
	consume();
	header(domain);
	consume();
	put("<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:"
	    "xmpp-bind'/></iq>");
	until("</iq>");
	in = content("<jid");
	printf("RESULT login=ok mech=%s cb=%s jid=%s\n", mech, cbname, in);
	return 0;
}
