/*
 * Unit tests of authhelper.c: the helper's environment and the parsing
 * of its reply (pure), then real helper runs with small sh scripts.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <sys/stat.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "xmppgate.h"

static struct conn tconn;
static char tmpdir[64];

static void
fill_conn(struct conn *c)
{
	memset(c, 0, sizeof(*c));
	c->rfd = c->wfd = -1;
	strcpy(c->id, "c0ffee");
	strcpy(c->remote_ip, "192.0.2.7");
	strcpy(c->remote_port, "40000");
	strcpy(c->local_ip, "198.51.100.1");
	strcpy(c->local_port, "5222");
	strcpy(c->tls_protocol, "TLS1.3");
	strcpy(c->tls_cipher, "TLS_AES_256_GCM_SHA384");
}

static struct auth_request
mkreq(const char *user, const char *pass)
{
	struct auth_request r;

	fill_conn(&tconn);
	memset(&r, 0, sizeof(r));
	r.mechanism = "PLAIN";
	r.user = user;
	r.domain = "example.org";
	r.authzid = NULL;
	r.pass = pass;
	r.pass_len = strlen(pass);
	r.attempt = 2;
	r.conn = &tconn;
	return r;
}

/* ---- authhelper_env ---- */

START_TEST(env_full)
{
	static const char *want[] = {
		"XMPPGATE_AUTH_VERSION=1",
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"AUTH_MECHANISM=PLAIN",
		"AUTH_USER=alice",
		"AUTH_DOMAIN=example.org",
		"AUTH_AUTHZID=alice@example.org",
		"AUTH_ATTEMPT=2",
		"XMPPGATE_CONN_ID=c0ffee",
		"PROTO=TCP",
		"TCPREMOTEIP=192.0.2.7",
		"TCPREMOTEPORT=40000",
		"TCPLOCALIP=198.51.100.1",
		"TCPLOCALPORT=5222",
		"SSL_PROTOCOL=TLS1.3",
		"SSL_CIPHER=TLS_AES_256_GCM_SHA384",
	};
	struct auth_request r = mkreq("alice", "s3cret-pw");
	char buf[4096], *envp[XG_AUTH_ENV_MAX];
	size_t i, n = sizeof(want) / sizeof(want[0]);

	r.authzid = "alice@example.org";
	ck_assert_int_eq(authhelper_env(&r, buf, sizeof(buf), envp,
	    XG_AUTH_ENV_MAX), (int)n);
	for (i = 0; i < n; i++)
		ck_assert_str_eq(envp[i], want[i]);
	ck_assert_ptr_null(envp[n]);
	for (i = 0; i < n; i++)
		ck_assert_ptr_null(strstr(envp[i], "s3cret"));
	ck_assert_ptr_null(memmem(buf, sizeof(buf), "s3cret", 6));
}
END_TEST

START_TEST(env_optional)
{
	struct auth_request r = mkreq("alice", "pw");
	char buf[4096], *envp[XG_AUTH_ENV_MAX];
	int n, i;

	/* No authzid (NULL or empty), no TLS details: all four left out. */
	tconn.tls_protocol[0] = '\0';
	tconn.tls_cipher[0] = '\0';
	n = authhelper_env(&r, buf, sizeof(buf), envp, XG_AUTH_ENV_MAX);
	ck_assert_int_eq(n, 12);
	r.authzid = "";
	ck_assert_int_eq(authhelper_env(&r, buf, sizeof(buf), envp,
	    XG_AUTH_ENV_MAX), 12);
	for (i = 0; i < n; i++) {
		ck_assert(strncmp(envp[i], "AUTH_AUTHZID=", 13) != 0);
		ck_assert(strncmp(envp[i], "SSL_", 4) != 0);
	}
	ck_assert_ptr_null(envp[n]);
}
END_TEST

START_TEST(env_utf8_ok)
{
	struct auth_request r = mkreq("j\xc3\xbcrgen", "pw");
	char buf[4096], *envp[XG_AUTH_ENV_MAX];

	ck_assert_int_eq(authhelper_env(&r, buf, sizeof(buf), envp,
	    XG_AUTH_ENV_MAX), 14);
	ck_assert_str_eq(envp[3], "AUTH_USER=j\xc3\xbcrgen");
}
END_TEST

START_TEST(env_control_chars)
{
	static const char *bad[] = { "a\nb", "a\rb", "a\tb", "a\x7f", "\x01",
	    "x\x1f" };
	struct auth_request r;
	char buf[4096], *envp[XG_AUTH_ENV_MAX];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = mkreq(bad[i], "pw");
		ck_assert_int_eq(authhelper_env(&r, buf, sizeof(buf), envp,
		    XG_AUTH_ENV_MAX), -1);
		r = mkreq("alice", "pw");
		r.domain = bad[i];
		ck_assert_int_eq(authhelper_env(&r, buf, sizeof(buf), envp,
		    XG_AUTH_ENV_MAX), -1);
		r = mkreq("alice", "pw");
		r.authzid = bad[i];
		ck_assert_int_eq(authhelper_env(&r, buf, sizeof(buf), envp,
		    XG_AUTH_ENV_MAX), -1);
		r = mkreq("alice", "pw");
		snprintf(tconn.tls_cipher, sizeof(tconn.tls_cipher), "%s",
		    bad[i]);
		ck_assert_int_eq(authhelper_env(&r, buf, sizeof(buf), envp,
		    XG_AUTH_ENV_MAX), -1);
	}
	/* The password is never looked at: control characters are fine. */
	r = mkreq("alice", "pa\nss\x01");
	ck_assert_int_eq(authhelper_env(&r, buf, sizeof(buf), envp,
	    XG_AUTH_ENV_MAX), 14);
}
END_TEST

START_TEST(env_too_small)
{
	struct auth_request r = mkreq("alice", "pw");
	char buf[4096], *envp[XG_AUTH_ENV_MAX];
	size_t need = 0, sz;
	int i, n;

	n = authhelper_env(&r, buf, sizeof(buf), envp, XG_AUTH_ENV_MAX);
	ck_assert_int_eq(n, 14);
	for (i = 0; i < n; i++)
		need += strlen(envp[i]) + 1;
	for (sz = 0; sz < need; sz++)
		ck_assert_int_eq(authhelper_env(&r, buf, sz, envp,
		    XG_AUTH_ENV_MAX), -1);
	ck_assert_int_eq(authhelper_env(&r, buf, need, envp,
	    XG_AUTH_ENV_MAX), n);
	/* envp needs n + 1 slots for the final NULL. */
	for (sz = 0; sz <= (size_t)n; sz++)
		ck_assert_int_eq(authhelper_env(&r, buf, sizeof(buf), envp,
		    sz), -1);
	ck_assert_int_eq(authhelper_env(&r, buf, sizeof(buf), envp,
	    (size_t)n + 1), n);
	ck_assert_ptr_null(envp[n]);
}
END_TEST

START_TEST(env_limits)
{
	static char user[XG_SASL_FIELD_MAX + 1], dom[XG_DOMAIN_MAX + 1];
	static char authz[XG_SASL_FIELD_MAX * 3 + 2];
	struct auth_request r;
	char buf[8192], *envp[XG_AUTH_ENV_MAX];

	memset(user, 'u', sizeof(user) - 1);
	memset(dom, 'd', sizeof(dom) - 1);
	memset(authz, 'z', sizeof(authz) - 1);
	r = mkreq(user, "pw");
	r.domain = dom;
	r.authzid = authz;
	memset(tconn.tls_cipher, 'c', sizeof(tconn.tls_cipher) - 1);
	ck_assert_int_eq(authhelper_env(&r, buf, sizeof(buf), envp,
	    XG_AUTH_ENV_MAX), 15);
}
END_TEST

/* ---- authhelper_parse_reply ---- */

static int
parse(const char *s, struct auth_reply *r, char *err, size_t errsz)
{
	return authhelper_parse_reply(s, strlen(s), r, err, errsz);
}

START_TEST(reply_good)
{
	struct auth_reply r;
	char err[128] = "";

	ck_assert_int_eq(parse("backend=127.0.0.1:5222\nuser=bob\n"
	    "password=x=y:z\n", &r, err, sizeof(err)), 0);
	ck_assert(r.has_backend && r.has_user && r.has_pass);
	ck_assert_str_eq(r.backend, "127.0.0.1:5222");
	ck_assert_str_eq(r.user, "bob");
	ck_assert_str_eq(r.pass, "x=y:z");
	ck_assert_uint_eq(r.pass_len, 5);

	/* No final newline, empty lines, any order. */
	ck_assert_int_eq(parse("\n\nuser=carol\n\nbackend=[::1]:5222", &r,
	    err, sizeof(err)), 0);
	ck_assert(r.has_user && r.has_backend && !r.has_pass);
	ck_assert_str_eq(r.backend, "[::1]:5222");
	ck_assert_int_eq(parse("backend=unix:/run/x.sock\n", &r, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(r.backend, "unix:/run/x.sock");

	/* Nothing at all: accept, log in with the client's credentials. */
	ck_assert_int_eq(authhelper_parse_reply("", 0, &r, err, sizeof(err)),
	    0);
	ck_assert(!r.has_user && !r.has_backend && !r.has_pass);
	ck_assert_int_eq(parse("\n\n\n", &r, err, sizeof(err)), 0);

	/* UTF-8 is fine; spaces are part of the value. */
	ck_assert_int_eq(parse("user=j\xc3\xbcrgen\npassword= a b \n", &r,
	    err, sizeof(err)), 0);
	ck_assert_str_eq(r.user, "j\xc3\xbcrgen");
	ck_assert_str_eq(r.pass, " a b ");
	ck_assert_uint_eq(r.pass_len, 5);
}
END_TEST

START_TEST(reply_identity)
{
	struct auth_reply r;
	char err[128] = "";

	ck_assert_int_eq(parse("identity=alice\npassword=pw\n", &r, err,
	    sizeof(err)), 0);
	ck_assert(r.has_identity && r.has_pass && !r.has_user);
	ck_assert_str_eq(r.identity, "alice");
	/* A localpart only: no JID, no path, no markup. */
	ck_assert_int_eq(parse("identity=alice@example.org\n", &r, err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "identity is not a localpart"));
	ck_assert_int_eq(parse("identity=a/b\n", &r, err, sizeof(err)), -1);
	ck_assert_int_eq(parse("identity=a b\n", &r, err, sizeof(err)), -1);
	ck_assert_int_eq(parse("identity=<a>\n", &r, err, sizeof(err)), -1);
	ck_assert_int_eq(parse("identity=x\nidentity=y\n", &r, err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "duplicate key"));
}
END_TEST

/* SCRAM: the request's variables, and scram= in the reply. */
START_TEST(scram_request)
{
	struct auth_request q = mkreq("alice", "");
	struct auth_reply r;
	char buf[4096], *envp[XG_AUTH_ENV_MAX], err[128] = "";
	int n, i, seen = 0;

	q.mechanism = "SCRAM-SHA-256-PLUS";
	q.pass = NULL;
	q.pass_len = 0;
	q.scram_hash = "SHA-256";
	q.cbtype = "tls-exporter";
	n = authhelper_env(&q, buf, sizeof(buf), envp, XG_AUTH_ENV_MAX);
	ck_assert_int_gt(n, 0);
	for (i = 0; i < n; i++) {
		seen += strcmp(envp[i], "AUTH_MECHANISM=SCRAM-SHA-256-PLUS") == 0;
		seen += strcmp(envp[i], "AUTH_SCRAM_HASH=SHA-256") == 0;
		seen += strcmp(envp[i], "AUTH_CHANNEL_BINDING=tls-exporter") == 0;
	}
	ck_assert_int_eq(seen, 3);
	/* Without SCRAM neither variable is there. */
	q = mkreq("alice", "pw");
	n = authhelper_env(&q, buf, sizeof(buf), envp, XG_AUTH_ENV_MAX);
	for (i = 0; i < n; i++) {
		ck_assert(strncmp(envp[i], "AUTH_SCRAM_HASH=", 16) != 0);
		ck_assert(strncmp(envp[i], "AUTH_CHANNEL_BINDING=", 21) != 0);
	}
	ck_assert_int_eq(parse("scram=SCRAM-SHA-1$4096:QSXCR+Q6sek8bf92$"
	    "6dlGYMOdZcOPutkcNY8U2g7vK9Y=:D+CSWLOshSulAsxiupA+qs2/fTE=\n"
	    "password=pw\n", &r, err, sizeof(err)), 0);
	ck_assert(r.has_scram && r.has_pass);
	ck_assert_str_eq(r.scram, "SCRAM-SHA-1$4096:QSXCR+Q6sek8bf92$"
	    "6dlGYMOdZcOPutkcNY8U2g7vK9Y=:D+CSWLOshSulAsxiupA+qs2/fTE=");
	ck_assert_int_eq(parse("scram=SCRAM-SHA-1$4096:QSXCR+Q6sek8bf92$"
	    "6dlGYMOdZcOPutkcNY8U2g7vK9Y=\n", &r, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "scram is not an RFC 5803"));
	ck_assert(!r.has_scram && r.scram[0] == '\0');
	ck_assert_int_eq(parse("scram=x\nscram=y\n", &r, err, sizeof(err)),
	    -1);
	/* Not a key for a rejection. */
	{
		static const char f[] = "scram=SCRAM-SHA-1$1:AA==$"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAA=:AAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
		ck_assert_int_eq(authhelper_parse_failure(f, sizeof(f) - 1,
		    &r, err, sizeof(err)), -1);
	}
}
END_TEST

START_TEST(reply_routing)
{
	struct auth_reply r;
	char err[128] = "";

	ck_assert_int_eq(parse("redirect=xmpp2.example.org\n", &r, err,
	    sizeof(err)), 0);
	ck_assert(r.has_redirect);
	ck_assert_str_eq(r.redirect, "xmpp2.example.org");
	ck_assert_int_eq(parse("redirect=[2001:db8::1]:5222\n", &r, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(parse("redirect=x.example:5223", &r, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(parse("redirect=unix:/run/x\n", &r, err,
	    sizeof(err)), -1);
	ck_assert_int_eq(parse("redirect=a..b\n", &r, err, sizeof(err)), -1);
	ck_assert_int_eq(parse("redirect=<x>\n", &r, err, sizeof(err)), -1);
	/* message= and delay= belong to a rejection. */
	ck_assert_int_eq(parse("message=hi\n", &r, err, sizeof(err)), -1);
	ck_assert_int_eq(parse("delay=5\n", &r, err, sizeof(err)), -1);

	ck_assert_int_eq(authhelper_parse_failure("message=Your account is "
	    "locked <see the web site>\ndelay=2500\n", 61, &r, err,
	    sizeof(err)), 0);
	ck_assert(r.has_message && r.has_delay);
	ck_assert_str_eq(r.message, "Your account is locked <see the web "
	    "site>");
	ck_assert_int_eq(r.delay_ms, 2500);
	ck_assert_int_eq(authhelper_parse_failure("delay=0", 7, &r, err,
	    sizeof(err)), 0);
	ck_assert(r.has_delay && r.delay_ms == 0);
	ck_assert_int_eq(authhelper_parse_failure("delay=30001", 11, &r, err,
	    sizeof(err)), -1);
	ck_assert_int_eq(authhelper_parse_failure("delay=-1", 8, &r, err,
	    sizeof(err)), -1);
	ck_assert_int_eq(authhelper_parse_failure("delay=1e3", 9, &r, err,
	    sizeof(err)), -1);
	ck_assert_int_eq(authhelper_parse_failure("password=x", 10, &r, err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "not for a rejection"));
	ck_assert(!r.has_pass);
}
END_TEST

START_TEST(env_cert)
{
	struct auth_request r = mkreq("", "");
	struct conn c;
	char buf[16384], *envp[XG_AUTH_ENV_MAX];
	int n, i, seen = 0;

	memset(&c, 0, sizeof(c));
	snprintf(c.id, sizeof(c.id), "c0ffee");
	c.tls_resumed = 1;
	snprintf(c.sni, sizeof(c.sni), "example.org");
	r.conn = &c;
	r.mechanism = "EXTERNAL";
	/* Not verified: none of the certificate's names are passed. */
	snprintf(c.cert_xmppaddrs, sizeof(c.cert_xmppaddrs), "a@example.org");
	n = authhelper_env(&r, buf, sizeof(buf), envp, XG_AUTH_ENV_MAX);
	ck_assert_int_gt(n, 0);
	for (i = 0; i < n; i++)
		ck_assert_ptr_null(strstr(envp[i], "AUTH_CERT_"));
	c.cert_verified = 1;
	snprintf(c.cert_sha256, sizeof(c.cert_sha256), "%064d", 7);
	snprintf(c.cert_subject, sizeof(c.cert_subject), "CN=Alice,O=X");
	snprintf(c.cert_dnsnames, sizeof(c.cert_dnsnames), "a.example b.example");
	n = authhelper_env(&r, buf, sizeof(buf), envp, XG_AUTH_ENV_MAX);
	ck_assert_int_gt(n, 0);
	for (i = 0; i < n; i++) {
		if (strcmp(envp[i], "AUTH_CERT_XMPPADDRS=a@example.org") == 0 ||
		    strcmp(envp[i], "AUTH_CERT_SUBJECT=CN=Alice,O=X") == 0 ||
		    strcmp(envp[i], "AUTH_CERT_DNSNAMES=a.example b.example")
		    == 0 || strcmp(envp[i], "SSL_SESSION_RESUMED=1") == 0 ||
		    strcmp(envp[i], "AUTH_MECHANISM=EXTERNAL") == 0 ||
		    strcmp(envp[i], "SSL_TLS_SNI=example.org") == 0 ||
		    strncmp(envp[i], "AUTH_CERT_SHA256=0000", 21) == 0)
			seen++;
	}
	ck_assert_int_eq(seen, 7);
}
END_TEST

/* s2s: a server's certificate is described whatever its verdict, with
 * the verdict; S2S_* only then; require= parses. */
START_TEST(env_s2s)
{
	struct auth_request r = mkreq("", "");
	struct auth_reply rep;
	struct conn c;
	char buf[16384], *envp[XG_AUTH_ENV_MAX], err[128];
	static const char *const want[] = {
		"AUTH_MECHANISM=DIALBACK", "AUTH_USER=a.test",
		"AUTH_DOMAIN=b.test", "S2S_REMOTE_DOMAIN=a.test",
		"S2S_LOCAL_DOMAIN=b.test", "S2S_CERT_STATUS=name-mismatch",
		"S2S_CERT_MATCH=none", "AUTH_CERT_DNSNAMES=c.test",
		"AUTH_CERT_SRVNAMES=_xmpp-server.c.test",
	};
	size_t k;
	int n, i, seen;

	memset(&c, 0, sizeof(c));
	r.conn = &c;
	n = authhelper_env(&r, buf, sizeof(buf), envp, XG_AUTH_ENV_MAX);
	for (i = 0; i < n; i++)		/* a client's connection: none */
		ck_assert_ptr_null(strstr(envp[i], "S2S_"));
	r.mechanism = "DIALBACK";
	r.user = "a.test";
	r.domain = "b.test";
	snprintf(c.domain, sizeof(c.domain), "b.test");
	snprintf(c.remote_domain, sizeof(c.remote_domain), "a.test");
	c.cert_status = "name-mismatch";
	c.cert_match = S2S_MATCH_NONE;
	c.cert_presented = 1;
	snprintf(c.cert_dnsnames, sizeof(c.cert_dnsnames), "c.test");
	snprintf(c.cert_srvnames, sizeof(c.cert_srvnames),
	    "_xmpp-server.c.test");
	n = authhelper_env(&r, buf, sizeof(buf), envp, XG_AUTH_ENV_MAX);
	ck_assert_int_gt(n, 0);
	for (k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
		for (i = 0, seen = 0; i < n; i++)
			seen += strcmp(envp[i], want[k]) == 0;
		ck_assert_msg(seen == 1, "%s not in the environment", want[k]);
	}
	ck_assert_int_eq(authhelper_parse_reply("require=certificate\n"
	    "backend=127.0.0.1:5270\n", 43, &rep, err, sizeof(err)), 0);
	ck_assert_int_eq(rep.has_require, 1);
	ck_assert_str_eq(rep.require, "certificate");
	ck_assert_int_eq(authhelper_parse_reply("require=certificate-and-more"
	    "\n", 29, &rep, err, sizeof(err)), -1);
}
END_TEST

START_TEST(reply_bad)
{
	static const struct { const char *in, *err; } t[] = {
		{ "user=bob\nbacknd=x:1\n", "line 2: unknown key 'backnd'" },
		{ "User=bob\n", "line 1: unknown key 'User'" },
		{ "user =bob\n", "line 1: unknown key 'user?'" },
		{ "user=a\nuser=b\n", "line 2: duplicate key 'user'" },
		{ "password=a\n\npassword=a\n",
		    "line 3: duplicate key 'password'" },
		{ "hello world\n", "line 1: no '='" },
		{ "user=bob\n\nbob\n", "line 3: no '='" },
		{ "=bob\n", "line 1: empty key" },
		{ "user=\n", "line 1: empty value for 'user'" },
		{ "user=bob\r\n", "line 1: control character in value for "
		    "'user'" },
		{ "password=a\tb\n", "line 1: control character in value for "
		    "'password'" },
		{ "password=a\x7f\n", "line 1: control character in value for "
		    "'password'" },
		{ "backend=nonsense\n", "line 1: bad backend address" },
		{ "backend=unix:\n", "line 1: bad backend address" },
		{ "\r\n", "line 1: no '='" },
		{ "0123456789012345678901234567890123456789=x\n",
		    "line 1: unknown key '01234567890123456789012345678901'" },
	};
	struct auth_reply r;
	char err[128];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(&r, 0x55, sizeof(r));
		err[0] = '\0';
		ck_assert_msg(parse(t[i].in, &r, err, sizeof(err)) == -1,
		    "case %zu accepted", i);
		ck_assert_str_eq(err, t[i].err);
		ck_assert(!r.has_user && !r.has_backend && !r.has_pass);
	}
	/* A NULL err is allowed. */
	ck_assert_int_eq(parse("x=1", &r, NULL, 0), -1);
}
END_TEST

START_TEST(reply_wiped_on_error)
{
	struct auth_reply r;
	size_t i;
	char err[64];

	ck_assert_int_eq(parse("password=topsecret\nbogus=1\n", &r, err,
	    sizeof(err)), -1);
	for (i = 0; i < sizeof(r.pass); i++)
		ck_assert_int_eq(r.pass[i], 0);
	ck_assert_uint_eq(r.pass_len, 0);
}
END_TEST

START_TEST(reply_nul)
{
	struct auth_reply r;
	char err[64];

	ck_assert_int_eq(authhelper_parse_reply("user=a\0b\n", 9, &r, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "reply contains a NUL byte");
	ck_assert_int_eq(authhelper_parse_reply("user=ab\n\0", 9, &r, err,
	    sizeof(err)), -1);
	/* The length decides, not a terminator. */
	ck_assert_int_eq(authhelper_parse_reply("user=ab\nxyz", 8, &r, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(r.user, "ab");
}
END_TEST

static void
long_value(const char *key, size_t vlen, int want)
{
	static char buf[XG_HELPER_REPLY_MAX + 1];
	struct auth_reply r;
	char err[128];
	size_t kl = strlen(key);

	memcpy(buf, key, kl);
	buf[kl] = '=';
	memset(buf + kl + 1, 'a', vlen);
	buf[kl + 1 + vlen] = '\n';
	ck_assert_int_eq(authhelper_parse_reply(buf, kl + vlen + 2, &r, err,
	    sizeof(err)), want);
	if (want == -1) {
		char exp[128];

		snprintf(exp, sizeof(exp), "line 1: value for '%s' too long",
		    key);
		ck_assert_str_eq(err, exp);
	}
}

START_TEST(reply_lengths)
{
	static char big[XG_HELPER_REPLY_MAX + 2];
	struct auth_reply r;
	char err[128];

	long_value("user", XG_SASL_FIELD_MAX, 0);
	long_value("user", XG_SASL_FIELD_MAX + 1, -1);
	long_value("password", XG_SASL_FIELD_MAX, 0);
	long_value("password", XG_SASL_FIELD_MAX + 1, -1);
	long_value("backend", XG_BACKEND_ADDR_MAX + 1, -1);

	/* Exactly the limit is fine; one more byte is not. */
	memset(big, '\n', sizeof(big));
	memcpy(big, "user=bob", 8);
	ck_assert_int_eq(authhelper_parse_reply(big, XG_HELPER_REPLY_MAX, &r,
	    err, sizeof(err)), 0);
	ck_assert_str_eq(r.user, "bob");
	ck_assert_int_eq(authhelper_parse_reply(big, XG_HELPER_REPLY_MAX + 1,
	    &r, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "reply over 4096 bytes");
}
END_TEST

START_TEST(reply_wipe)
{
	struct auth_reply r;
	const unsigned char *p = (const unsigned char *)&r;
	size_t i;

	memset(&r, 0xaa, sizeof(r));
	auth_reply_wipe(&r);
	for (i = 0; i < sizeof(r); i++)
		ck_assert_int_eq(p[i], 0);
}
END_TEST

/* ---- FAST (XEP-0484): the request's fields and the reply's keys ---- */

/* The Responder of the man page's example: 32 bytes 0x01..0x20. */
#define RESPONDER_B64	"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="
#define TOKEN_OK	"Ab0._~:+/=-ZZZZZZZZ"

START_TEST(env_fast_check)
{
	static const char *want[] = {
		"XMPPGATE_AUTH_VERSION=1",
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"AUTH_MECHANISM=HT-SHA-256-EXPR",
		"AUTH_USER=alice",
		"AUTH_DOMAIN=example.org",
		"AUTH_CHANNEL_BINDING=tls-exporter",
		"AUTH_CHANNEL_BINDING_DATA=Y2JkYXRh",
		"AUTH_FAST_CLIENT=d4565fa7-4d72-4749-b3d3-740edbf87770",
		"AUTH_FAST_HMAC=" RESPONDER_B64,
		"AUTH_FAST_INVALIDATE=1",
		"AUTH_FAST_COUNT=7",
		"AUTH_ATTEMPT=2",
	};
	struct auth_request r = mkreq("alice", "");
	char buf[4096], *envp[XG_AUTH_ENV_MAX];
	size_t i, n = sizeof(want) / sizeof(want[0]);

	r.mechanism = "HT-SHA-256-EXPR";
	r.cbtype = "tls-exporter";
	r.cbdata = "Y2JkYXRh";
	r.fast_client = "d4565fa7-4d72-4749-b3d3-740edbf87770";
	r.fast_hmac = RESPONDER_B64;
	r.fast_invalidate = 1;
	r.fast_count = "7";
	ck_assert_int_ge(authhelper_env(&r, buf, sizeof(buf), envp,
	    XG_AUTH_ENV_MAX), (int)n);
	for (i = 0; i < n; i++)
		ck_assert_str_eq(envp[i], want[i]);

	/* The issue request: the mechanism asked for, nothing of a check. */
	r = mkreq("alice", "");
	r.mechanism = "FAST-TOKEN";
	r.fast_client = "ua1";
	r.fast_mechanism = "HT-SHA-256-NONE";
	n = (size_t)authhelper_env(&r, buf, sizeof(buf), envp,
	    XG_AUTH_ENV_MAX);
	ck_assert_str_eq(envp[2], "AUTH_MECHANISM=FAST-TOKEN");
	ck_assert_str_eq(envp[5], "AUTH_FAST_CLIENT=ua1");
	ck_assert_str_eq(envp[6], "AUTH_FAST_MECHANISM=HT-SHA-256-NONE");
	ck_assert_str_eq(envp[7], "AUTH_ATTEMPT=2");
	for (i = 0; i < n; i++)
		ck_assert(strncmp(envp[i], "AUTH_FAST_HMAC=", 15) != 0 &&
		    strncmp(envp[i], "AUTH_FAST_INVALIDATE=", 21) != 0 &&
		    strncmp(envp[i], "AUTH_CHANNEL_BINDING", 20) != 0);
}
END_TEST

/* Every optional field at once still fits XG_AUTH_ENV_MAX. */
START_TEST(env_fast_all)
{
	struct auth_request r = mkreq("alice", "pw");
	char buf[8192], *envp[XG_AUTH_ENV_MAX];

	r.authzid = "a@example.org";
	r.scram_hash = "SHA-256";
	r.cbtype = "tls-exporter";
	r.cbdata = "eA==";
	r.fast_client = "c";
	r.fast_hmac = "eA==";
	r.fast_invalidate = 1;
	r.fast_count = "1";
	r.fast_mechanism = "HT-SHA-256-NONE";
	tconn.tls_resumed = 1;
	strcpy(tconn.sni, "example.org");
	tconn.cert_verified = 1;
	strcpy(tconn.cert_sha256, "ab");
	strcpy(tconn.cert_subject, "CN=x");
	strcpy(tconn.cert_xmppaddrs, "a@example.org");
	strcpy(tconn.cert_dnsnames, "example.org");
	strcpy(tconn.cert_srvnames, "_xmpp-client.example.org");
	tconn.cert_status = "ok";
	tconn.cert_match = S2S_MATCH_DNS;
	strcpy(tconn.remote_domain, "b.example");
	strcpy(tconn.domain, "example.org");
	ck_assert_int_eq(authhelper_env(&r, buf, sizeof(buf), envp,
	    XG_AUTH_ENV_MAX), 34);
	ck_assert_int_lt(34, XG_AUTH_ENV_MAX);
}
END_TEST

START_TEST(reply_fast)
{
	struct auth_reply r;
	char err[128] = "";
	int i;

	ck_assert_int_eq(parse("user=alice\npassword=be\nfast-responder="
	    RESPONDER_B64 "\nfast-token=" TOKEN_OK "\nfast-expiry="
	    "2028-02-29T23:59:59Z\n", &r, err, sizeof(err)), 0);
	ck_assert(r.has_fast_responder && r.has_fast_token &&
	    r.has_fast_expiry && !r.has_condition);
	for (i = 0; i < XG_FAST_HMAC_LEN; i++)
		ck_assert_int_eq(r.fast_responder[i], i + 1);
	ck_assert_str_eq(r.fast_token, TOKEN_OK);
	ck_assert_str_eq(r.fast_expiry, "2028-02-29T23:59:59Z");
	/* The responder alone (a check without rotation). */
	ck_assert_int_eq(parse("fast-responder=" RESPONDER_B64, &r, err,
	    sizeof(err)), 0);
	ck_assert(r.has_fast_responder && !r.has_fast_token);
	auth_reply_wipe(&r);
}
END_TEST

START_TEST(reply_fast_bad)
{
	static char longtok[XG_FAST_TOKEN_MAX + 64];	/* key, token, the expiry line */
	static const struct { const char *in, *err; } t[] = {
		{ "fast-token=" TOKEN_OK "\n", "fast-token without "
		    "fast-expiry" },
		{ "fast-expiry=2030-01-01T00:00:00Z\n", "fast-expiry without "
		    "fast-token" },
		{ "fast-token=short\nfast-expiry=2030-01-01T00:00:00Z\n",
		    "line 1: fast-token is not 16 to 256 characters" },
		{ "fast-token=aaaaaaaaaaaaaaaa'\n",
		    "line 1: fast-token is not 16 to 256 characters" },
		{ "fast-token=aaaaaaaa aaaaaaaaa\n",
		    "line 1: fast-token is not 16 to 256 characters" },
		{ "fast-token=aaaaaaaaaaaaaaaa<\n",
		    "line 1: fast-token is not 16 to 256 characters" },
		{ "fast-expiry=2030-13-01T00:00:00Z\n",
		    "line 1: fast-expiry is not a date YYYY-MM-DDThh:mm:ssZ" },
		{ "fast-expiry=2030-00-01T00:00:00Z\n", "fast-expiry is not" },
		{ "fast-expiry=2029-02-29T00:00:00Z\n", "fast-expiry is not" },
		{ "fast-expiry=2030-04-31T00:00:00Z\n", "fast-expiry is not" },
		{ "fast-expiry=2030-01-00T00:00:00Z\n", "fast-expiry is not" },
		{ "fast-expiry=2030-01-01T24:00:00Z\n", "fast-expiry is not" },
		{ "fast-expiry=2030-01-01T00:60:00Z\n", "fast-expiry is not" },
		{ "fast-expiry=2030-01-01T00:00:60Z\n", "fast-expiry is not" },
		{ "fast-expiry=2030-01-01T00:00:00\n", "fast-expiry is not" },
		{ "fast-expiry=2030-01-01 00:00:00Z\n", "fast-expiry is not" },
		{ "fast-expiry=2030-01-01T00:00:00.5Z\n", "line 1: value for "
		    "'fast-expiry' too long" },
		{ "fast-expiry=2030-1-01T00:00:00Z\n", "fast-expiry is not" },
		{ "fast-expiry=2030-01-01T00:00:00+00:00\n", "too long" },
		{ "fast-responder=AQID\n", "line 1: fast-responder is not "
		    "base64 of 32 bytes" },
		{ "fast-responder=" RESPONDER_B64 "AAAA\n",
		    "fast-responder is not base64 of 32 bytes" },
		{ "fast-responder=AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA\n",
		    "fast-responder is not base64 of 32 bytes" },
		{ "fast-responder=AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHy!=\n",
		    "fast-responder is not base64 of 32 bytes" },
		{ "fast-responder=" RESPONDER_B64 "\nfast-responder="
		    RESPONDER_B64 "\n", "line 2: duplicate key "
		    "'fast-responder'" },
		{ "condition=credentials-expired\n", "line 1: key 'condition' "
		    "is only for a rejection" },
	};
	struct auth_reply r;
	char err[128];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(err, 0, sizeof(err));
		ck_assert_msg(parse(t[i].in, &r, err, sizeof(err)) == -1,
		    "accepted: %s", t[i].in);
		ck_assert_msg(strstr(err, t[i].err) != NULL, "%s: got '%s'",
		    t[i].in, err);
		ck_assert(!r.has_fast_token && !r.has_fast_responder);
	}
	/* 256 is the most, 257 one too many. */
	memcpy(longtok, "fast-token=", 11);
	memset(longtok + 11, 'a', XG_FAST_TOKEN_MAX);
	strcat(longtok, "\nfast-expiry=2030-01-01T00:00:00Z\n");
	ck_assert_int_eq(parse(longtok, &r, err, sizeof(err)), 0);
	ck_assert_uint_eq(strlen(r.fast_token), XG_FAST_TOKEN_MAX);
	memset(longtok + 11, 'a', XG_FAST_TOKEN_MAX + 1);
	strcpy(longtok + 11 + XG_FAST_TOKEN_MAX + 1, "\n");
	ck_assert_int_eq(parse(longtok, &r, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "too long"));
}
END_TEST

START_TEST(failure_condition)
{
	struct auth_reply r;
	char err[128];
	const char *ok = "message=token expired\ncondition=credentials-expired\n";

	ck_assert_int_eq(authhelper_parse_failure(ok, strlen(ok), &r, err,
	    sizeof(err)), 0);
	ck_assert(r.has_condition && r.has_message);
	ck_assert_str_eq(r.condition, "credentials-expired");
	ok = "condition=not-authorized\n";
	ck_assert_int_eq(authhelper_parse_failure(ok, strlen(ok), &r, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "line 1: condition is not credentials-expired");
	ck_assert(!r.has_condition);
	/* A failure says nothing of tokens. */
	ok = "fast-responder=" RESPONDER_B64 "\n";
	ck_assert_int_eq(authhelper_parse_failure(ok, strlen(ok), &r, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "line 1: key 'fast-responder' is not for a "
	    "rejection");
}
END_TEST

/* ---- authhelper_run with real helpers ---- */

static void
mkhelper(char *path, size_t pathsz, const char *name, const char *body)
{
	FILE *f;

	snprintf(path, pathsz, "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "#!/bin/sh\n%s", body);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, 0755), 0);
}

static enum auth_verdict
run(const char *name, const char *body, const char *pass, int timeout_ms,
    struct auth_reply *out, char *why, size_t whysz)
{
	struct auth_request r = mkreq("alice", pass);
	char path[256];

	mkhelper(path, sizeof(path), name, body);
	return authhelper_run(path, &r, timeout_ms, out, why, whysz);
}

START_TEST(run_accept_reply)
{
	struct auth_reply out;
	char why[256];

	ck_assert_int_eq(run("accept", "cat >/dev/null\n"
	    "printf 'user=bob\\nbackend=127.0.0.1:5222\\npassword=be:pw'\n"
	    "exit 0\n", "pw", 5000, &out, why, sizeof(why)), AUTH_ACCEPT);
	ck_assert(out.has_user && out.has_backend && out.has_pass);
	ck_assert_str_eq(out.user, "bob");
	ck_assert_str_eq(out.backend, "127.0.0.1:5222");
	ck_assert_str_eq(out.pass, "be:pw");
	auth_reply_wipe(&out);
}
END_TEST

START_TEST(run_accept_silent)
{
	struct auth_reply out;
	char why[256];

	/* A helper that never reads its stdin is fine too. */
	ck_assert_int_eq(run("silent", "exit 0\n", "pw", 5000, &out, why,
	    sizeof(why)), AUTH_ACCEPT);
	ck_assert(!out.has_user && !out.has_backend && !out.has_pass);
}
END_TEST

START_TEST(run_reject)
{
	struct auth_reply out;
	char why[256];

	ck_assert_int_eq(run("reject", "cat >/dev/null\nexit 1\n", "pw",
	    5000, &out, why, sizeof(why)), AUTH_REJECT);
	/* The reply counts only on exit 0. */
	ck_assert_int_eq(run("reject2", "echo user=bob\nexit 1\n", "pw",
	    5000, &out, why, sizeof(why)), AUTH_REJECT);
	ck_assert(!out.has_user);
	ck_assert_int_eq(out.user[0], 0);
}
END_TEST

START_TEST(run_tempfail)
{
	struct auth_reply out;
	char why[256];

	ck_assert_int_eq(run("t111", "echo user=bob\nexit 111\n", "pw", 5000,
	    &out, why, sizeof(why)), AUTH_TEMPFAIL);
	ck_assert_str_eq(why, "helper: temporary failure");
	ck_assert(!out.has_user);
	ck_assert_int_eq(run("t2", "exit 2\n", "pw", 5000, &out, why,
	    sizeof(why)), AUTH_TEMPFAIL);
	ck_assert_str_eq(why, "helper exited 2");
	ck_assert_int_eq(run("tsig", "kill -SEGV $$\nsleep 5\n", "pw", 5000,
	    &out, why, sizeof(why)), AUTH_TEMPFAIL);
	ck_assert_str_eq(why, "helper killed by signal 11");
}
END_TEST

START_TEST(run_garbage)
{
	struct auth_reply out;
	char why[256];

	ck_assert_int_eq(run("garbage", "echo 'Access granted!'\n", "pw",
	    5000, &out, why, sizeof(why)), AUTH_TEMPFAIL);
	ck_assert_str_eq(why, "helper reply: line 1: no '='");
	ck_assert_int_eq(run("garbage2", "printf 'user=a\\nx=y\\n'\n", "pw",
	    5000, &out, why, sizeof(why)), AUTH_TEMPFAIL);
	ck_assert_str_eq(why, "helper reply: line 2: unknown key 'x'");
	ck_assert(!out.has_user);
}
END_TEST

START_TEST(run_too_big)
{
	struct auth_reply out;
	char why[256];

	ck_assert_int_eq(run("big", "head -c 5000 /dev/zero | tr '\\0' '\\n'\n"
	    "exit 0\n", "pw", 5000, &out, why, sizeof(why)), AUTH_TEMPFAIL);
	ck_assert_str_eq(why, "helper reply: over 4096 bytes");
	/* Exactly 4096 bytes (empty lines) is a good reply. */
	ck_assert_int_eq(run("big2", "head -c 4096 /dev/zero | tr '\\0' '\\n'"
	    "\n", "pw", 5000, &out, why, sizeof(why)), AUTH_ACCEPT);
	/* A big reply with exit 1 is still a rejection. */
	ck_assert_int_eq(run("big3", "head -c 100000 /dev/zero\nexit 1\n",
	    "pw", 5000, &out, why, sizeof(why)), AUTH_REJECT);
}
END_TEST

START_TEST(run_timeout)
{
	struct auth_reply out;
	char why[256], pidfile[128], helper[512], procf[160];
	int64_t t0;
	FILE *f;
	int gpid = 0, st;

	t0 = now_ms();
	ck_assert_int_eq(run("slow", "sleep 30\n", "pw", 1000, &out, why,
	    sizeof(why)), AUTH_TEMPFAIL);
	ck_assert_int_lt(now_ms() - t0, 3000);
	ck_assert_int_ge(now_ms() - t0, 900);
	ck_assert_str_eq(why, "helper timed out after 1 s");

	/* Stdout closed, then hanging: the wait has the deadline too. */
	t0 = now_ms();
	ck_assert_int_eq(run("slow2", "exec >&-\nsleep 30\n", "pw", 1000,
	    &out, why, sizeof(why)), AUTH_TEMPFAIL);
	ck_assert_int_lt(now_ms() - t0, 3000);
	ck_assert_str_eq(why, "helper timed out after 1 s");

	/* A grandchild in the process group dies with it. */
	snprintf(pidfile, sizeof(pidfile), "%s/gpid", tmpdir);
	snprintf(helper, sizeof(helper), "sleep 30 >/dev/null &\n"
	    "echo $! >%s\nwait\n", pidfile);
	t0 = now_ms();
	ck_assert_int_eq(run("slow3", helper, "pw", 1000, &out, why,
	    sizeof(why)), AUTH_TEMPFAIL);
	ck_assert_int_lt(now_ms() - t0, 3000);
	f = fopen(pidfile, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "%d", &gpid), 1);
	fclose(f);
	usleep(100 * 1000);
	/* Gone, or a zombie waiting for a reaper. */
	snprintf(procf, sizeof(procf), "/proc/%d/stat", gpid);
	if ((f = fopen(procf, "r")) != NULL) {
		char state = '?';

		st = fscanf(f, "%*d %*s %c", &state);
		fclose(f);
		ck_assert_int_eq(st, 1);
		ck_assert_msg(state == 'Z', "grandchild %d still running "
		    "(%c)", gpid, state);
	}
}
END_TEST

START_TEST(run_stdin_closed)
{
	static char pass[200000];
	struct auth_reply out;
	char why[256];

	/* More than a pipe holds, to the helper that closes its stdin:
	 * our write gets EPIPE (SIGPIPE is ignored) and that is fine. */
	memset(pass, 'p', sizeof(pass) - 1);
	ck_assert_int_eq(run("noread", "exec <&-\nsleep 0.2\necho user=z\n",
	    pass, 5000, &out, why, sizeof(why)), AUTH_ACCEPT);
	ck_assert_str_eq(out.user, "z");
	ck_assert_int_eq(run("noread2", "exec <&-\nexit 1\n", pass, 5000,
	    &out, why, sizeof(why)), AUTH_REJECT);
}
END_TEST

START_TEST(run_exact_password)
{
	struct auth_reply out;
	char why[256], path[256];
	int fd;
	enum auth_verdict v;

	/* A descriptor left open (not close-on-exec) must not reach it. */
	snprintf(path, sizeof(path), "%s/leaked-fd", tmpdir);
	fd = open(path, O_RDWR | O_CREAT, 0600);
	ck_assert_int_ge(fd, 3);
	/* An ignored signal survives execve(): the helper must not inherit
	 * ours (this runs in check's forked child). */
	signal(SIGUSR1, SIG_IGN);
	v = run("exact",
	    /* Builtins only, before any child: sh blocks signals while
	     * it waits for one. */
	    "while read -r k m; do case $k in\n"
	    "  SigIgn:) [ $m = 0000000000000000 ] || exit 13;;\n"
	    "  SigBlk:) [ $m = 0000000000000000 ] || exit 14;;\n"
	    "esac; done </proc/$$/status\n"
	    "pass=$(cat; echo x); pass=${pass%x}\n"
	    "want=$(printf 'p\\341:ss\\nw0rd\\n'; echo x); want=${want%x}\n"
	    "[ \"$pass\" = \"$want\" ] || exit 1\n"
	    "env | grep -q w0rd && exit 3\n"
	    "[ \"$XMPPGATE_AUTH_VERSION\" = 1 ] || exit 4\n"
	    "[ \"$AUTH_USER\" = alice ] || exit 5\n"
	    "[ \"$AUTH_DOMAIN\" = example.org ] || exit 6\n"
	    "[ \"$AUTH_ATTEMPT\" = 2 ] || exit 7\n"
	    "[ \"$TCPREMOTEIP\" = 192.0.2.7 ] || exit 8\n"
	    "[ \"$SSL_CIPHER\" = TLS_AES_256_GCM_SHA384 ] || exit 9\n"
	    "[ -z \"$HOME$XG_TEST_MARK\" ] || exit 10\n"
	    "[ \"$#\" = 0 ] || exit 11\n"
	    "for f in /proc/$$/fd/*; do\n"
	    "  case $(readlink $f) in */leaked-fd) exit 12;; esac\n"
	    "done\n"
	    "read -r _ _ _ _ pgrp _ </proc/$$/stat\n"
	    "[ \"$pgrp\" = $$ ] || exit 15\n"
	    "exit 0\n",
	    "p\341:ss\nw0rd\n", 5000, &out, why, sizeof(why));
	ck_assert_msg(v == AUTH_ACCEPT, "%s", why);
	close(fd);
}
END_TEST

START_TEST(run_no_exec)
{
	struct auth_request r = mkreq("alice", "pw");
	struct auth_reply out;
	char why[256], path[256];

	snprintf(path, sizeof(path), "%s/does-not-exist", tmpdir);
	ck_assert_int_eq(authhelper_run(path, &r, 5000, &out, why,
	    sizeof(why)), AUTH_TEMPFAIL);
	ck_assert_ptr_nonnull(strstr(why, "unable to exec"));
	ck_assert_ptr_nonnull(strstr(why, "No such file"));
	/* A request that cannot go into the environment is not run. */
	r.user = "a\nb";
	ck_assert_int_eq(authhelper_run("/bin/true", &r, 5000, &out, why,
	    sizeof(why)), AUTH_TEMPFAIL);
}
END_TEST

/* An expired fast-token is dropped, the accept stands; a future one is
 * kept; a rejection keeps its condition=. */
START_TEST(run_fast)
{
	struct auth_reply out;
	char why[256];

	ck_assert_int_eq(run("fast-past", "printf 'fast-responder="
	    RESPONDER_B64 "\\nfast-token=" TOKEN_OK "\\nfast-expiry="
	    "2001-01-01T00:00:00Z\\n'\n", "", 5000, &out, why, sizeof(why)),
	    AUTH_ACCEPT);
	ck_assert(out.has_fast_responder && !out.has_fast_token &&
	    !out.has_fast_expiry);
	ck_assert_int_eq(out.fast_token[0], 0);
	ck_assert_int_eq(run("fast-future", "printf 'fast-token=" TOKEN_OK
	    "\\nfast-expiry=2999-01-01T00:00:00Z\\n'\n", "", 5000, &out, why,
	    sizeof(why)), AUTH_ACCEPT);
	ck_assert(out.has_fast_token && out.has_fast_expiry);
	ck_assert_str_eq(out.fast_token, TOKEN_OK);
	ck_assert_int_eq(run("fast-expired", "echo "
	    "condition=credentials-expired\nexit 1\n", "", 5000, &out, why,
	    sizeof(why)), AUTH_REJECT);
	ck_assert(out.has_condition);
	ck_assert_str_eq(out.condition, "credentials-expired");
	/* A bad token is a bad reply: a temporary failure. */
	ck_assert_int_eq(run("fast-bad", "echo fast-token=x\n", "", 5000,
	    &out, why, sizeof(why)), AUTH_TEMPFAIL);
	ck_assert_str_eq(why, "helper reply: line 1: fast-token is not 16 to "
	    "256 characters of A-Z a-z 0-9 ._~:+/=-");
	auth_reply_wipe(&out);
}
END_TEST

static int
rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(p);
}

/* The growing failure delay (authdelay.c) at every failure --max-attempts
 * allows: doubled, capped, never negative or undefined. */
START_TEST(fail_delay)
{
	int f;

	ck_assert_int_eq(xg_fail_delay_ms(1000, 1), 1000);
	ck_assert_int_eq(xg_fail_delay_ms(1000, 2), 2000);
	ck_assert_int_eq(xg_fail_delay_ms(1000, 5), 16000);
	ck_assert_int_eq(xg_fail_delay_ms(1000, 6), XG_AUTH_DELAY_MAX);
	ck_assert_int_eq(xg_fail_delay_ms(1000, 55), XG_AUTH_DELAY_MAX);
	ck_assert_int_eq(xg_fail_delay_ms(1000, 64), XG_AUTH_DELAY_MAX);
	ck_assert_int_eq(xg_fail_delay_ms(1000, 65), XG_AUTH_DELAY_MAX);
	ck_assert_int_eq(xg_fail_delay_ms(1000, XG_MAX_ATTEMPTS_MAX),
	    XG_AUTH_DELAY_MAX);
	ck_assert_int_eq(xg_fail_delay_ms(1, 1), 1);
	ck_assert_int_eq(xg_fail_delay_ms(1, 15), 16384);
	ck_assert_int_eq(xg_fail_delay_ms(1, 16), XG_AUTH_DELAY_MAX);
	ck_assert_int_eq(xg_fail_delay_ms(XG_AUTH_DELAY_MAX, 1),
	    XG_AUTH_DELAY_MAX);
	ck_assert_int_eq(xg_fail_delay_ms(0, 1), 0);
	ck_assert_int_eq(xg_fail_delay_ms(0, 65), 0);
	ck_assert_int_eq(xg_fail_delay_ms(0, XG_MAX_ATTEMPTS_MAX), 0);
	for (f = 1; f <= XG_MAX_ATTEMPTS_MAX; f++) {
		ck_assert_int_ge(xg_fail_delay_ms(1000, f), 1000);
		ck_assert_int_le(xg_fail_delay_ms(1000, f), XG_AUTH_DELAY_MAX);
		ck_assert_int_ge(xg_fail_delay_ms(1, f),
		    f > 1 ? xg_fail_delay_ms(1, f - 1) : 1);
	}
}
END_TEST

static void
setup_dir(void)
{
	strcpy(tmpdir, "/tmp/check_authhelper.XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		exit(99);
	}
	/* What main() does, so a helper closing its stdin is an EPIPE. */
	signal(SIGPIPE, SIG_IGN);
	setenv("XG_TEST_MARK", "leak", 1);
}

static void
teardown_dir(void)
{
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static Suite *
authhelper_suite(void)
{
	Suite *s = suite_create("authhelper");
	TCase *tc;

	tc = tcase_create("env");
	tcase_add_test(tc, env_full);
	tcase_add_test(tc, env_optional);
	tcase_add_test(tc, env_fast_check);
	tcase_add_test(tc, env_fast_all);
	tcase_add_test(tc, scram_request);
	tcase_add_test(tc, env_utf8_ok);
	tcase_add_test(tc, env_control_chars);
	tcase_add_test(tc, env_too_small);
	tcase_add_test(tc, env_limits);
	suite_add_tcase(s, tc);

	tc = tcase_create("reply");
	tcase_add_test(tc, reply_good);
	tcase_add_test(tc, reply_identity);
	tcase_add_test(tc, reply_routing);
	tcase_add_test(tc, env_cert);
	tcase_add_test(tc, env_s2s);
	tcase_add_test(tc, reply_bad);
	tcase_add_test(tc, reply_wiped_on_error);
	tcase_add_test(tc, reply_nul);
	tcase_add_test(tc, reply_lengths);
	tcase_add_test(tc, reply_wipe);
	tcase_add_test(tc, reply_fast);
	tcase_add_test(tc, reply_fast_bad);
	tcase_add_test(tc, failure_condition);
	suite_add_tcase(s, tc);

	tc = tcase_create("delay");
	tcase_add_test(tc, fail_delay);
	suite_add_tcase(s, tc);

	tc = tcase_create("run");
	tcase_add_unchecked_fixture(tc, setup_dir, teardown_dir);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, run_accept_reply);
	tcase_add_test(tc, run_accept_silent);
	tcase_add_test(tc, run_reject);
	tcase_add_test(tc, run_tempfail);
	tcase_add_test(tc, run_garbage);
	tcase_add_test(tc, run_too_big);
	tcase_add_test(tc, run_timeout);
	tcase_add_test(tc, run_stdin_closed);
	tcase_add_test(tc, run_exact_password);
	tcase_add_test(tc, run_no_exec);
	tcase_add_test(tc, run_fast);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(authhelper_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
