/*
 * Unit tests of the socket helper's wire format (authreq.c, pure) at its
 * bounds, and of authsocket_run against small servers forked here.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "xmppgate.h"

static char big[XG_AUTHREQ_MAX + 64];
static char buf[XG_AUTHREQ_MAX + 64];

/* A field NAME=VALUE whose line (with LF) is len bytes, in big. */
static char *
field_of(size_t len)
{
	size_t n = strlen("AUTH_USER=");

	memcpy(big, "AUTH_USER=", n);
	memset(big + n, 'v', len - 1 - n);
	big[len - 1] = '\0';
	return big;
}

START_TEST(encode_exact)
{
	char *envp[] = { "XMPPGATE_AUTH_VERSION=1", "PATH=/usr/bin",
	    "AUTH_MECHANISM=PLAIN", "AUTH_USER=", NULL };
	const char want[] = "XMPPGATE_AUTH_VERSION=1\nAUTH_MECHANISM=PLAIN\n"
	    "AUTH_USER=\nAUTH_PASSWORD_LENGTH=14\n\na\n\nAUTH_USER=b";
	size_t n = authreq_encode(envp, "a\n\nAUTH_USER=b", 14, buf,
	    sizeof(buf));

	ck_assert_uint_eq(n, sizeof(want) - 1);
	ck_assert(memcmp(buf, want, n) == 0);
	/* Exactly the room it needs, and one byte less. */
	ck_assert_uint_eq(authreq_encode(envp, "a\n\nAUTH_USER=b", 14, buf,
	    n), n);
	ck_assert_uint_eq(authreq_encode(envp, "a\n\nAUTH_USER=b", 14, buf,
	    n - 1), 0);
}
END_TEST

START_TEST(encode_rules)
{
	static char pass[XG_AUTHREQ_PASS_MAX + 1];
	char *ok[] = { "XMPPGATE_AUTH_VERSION=1", NULL };
	char *late[] = { "AUTH_USER=a", "XMPPGATE_AUTH_VERSION=1", NULL };
	char *none[] = { NULL };
	char *ctl[] = { "XMPPGATE_AUTH_VERSION=1", "AUTH_USER=a\rb", NULL };
	char *lower[] = { "XMPPGATE_AUTH_VERSION=1", "auth_user=a", NULL };
	char *noeq[] = { "XMPPGATE_AUTH_VERSION=1", "AUTH_USER", NULL };
	char *other[] = { "XMPPGATE_AUTH_VERSION=1", "LD_PRELOAD=/tmp/x.so",
	    NULL };

	memset(pass, 'p', sizeof(pass));
	ck_assert_uint_gt(authreq_encode(ok, pass, XG_AUTHREQ_PASS_MAX, buf,
	    sizeof(buf)), 0);
	ck_assert_uint_eq(authreq_encode(ok, pass, XG_AUTHREQ_PASS_MAX + 1,
	    buf, sizeof(buf)), 0);
	ck_assert_uint_eq(authreq_encode(late, "", 0, buf, sizeof(buf)), 0);
	ck_assert_uint_eq(authreq_encode(none, "", 0, buf, sizeof(buf)), 0);
	ck_assert_uint_eq(authreq_encode(ctl, "", 0, buf, sizeof(buf)), 0);
	ck_assert_uint_eq(authreq_encode(lower, "", 0, buf, sizeof(buf)), 0);
	ck_assert_uint_eq(authreq_encode(noeq, "", 0, buf, sizeof(buf)), 0);
	/* Only the names xmppgate sends (the whole list: full_env). */
	ck_assert_uint_eq(authreq_encode(other, "", 0, buf, sizeof(buf)), 0);
}
END_TEST

/* The head (fields, length line, empty line) at HEAD_MAX, and one more. */
START_TEST(encode_head_max)
{
	char *envp[] = { "XMPPGATE_AUTH_VERSION=1", NULL, NULL };
	size_t fixed = strlen("XMPPGATE_AUTH_VERSION=1\n") +
	    strlen("AUTH_PASSWORD_LENGTH=0\n\n");
	struct authreq rq;
	size_t n;

	envp[1] = field_of(XG_AUTHREQ_HEAD_MAX - fixed);
	n = authreq_encode(envp, "", 0, buf, sizeof(buf));
	ck_assert_uint_eq(n, XG_AUTHREQ_HEAD_MAX);
	ck_assert_int_eq(authreq_decode(buf, n, &rq), 1);
	ck_assert_uint_eq(strlen(rq.value[1]), XG_AUTHREQ_HEAD_MAX - fixed -
	    strlen("AUTH_USER=") - 1);
	envp[1] = field_of(XG_AUTHREQ_HEAD_MAX - fixed + 1);
	ck_assert_uint_eq(authreq_encode(envp, "", 0, buf, sizeof(buf)), 0);
}
END_TEST

/* Every prefix is "need more", the whole is done, one byte more bad. */
START_TEST(decode_prefixes)
{
	char *envp[] = { "XMPPGATE_AUTH_VERSION=1", "AUTH_MECHANISM=PLAIN",
	    "AUTH_USER=alice", "AUTH_DOMAIN=example.org", "SSL_CIPHER=", NULL };
	static char copy[sizeof(buf)];
	struct authreq rq;
	size_t n, i;

	n = authreq_encode(envp, "pw\n\nX=1", 7, buf, sizeof(buf));
	ck_assert_uint_gt(n, 0);
	for (i = 0; i < n; i++) {
		memcpy(copy, buf, n);
		ck_assert_int_eq(authreq_decode(copy, i, &rq), 0);
		ck_assert(memcmp(copy, buf, n) == 0);	/* untouched */
	}
	memcpy(copy, buf, n);
	copy[n] = 'x';
	ck_assert_int_eq(authreq_decode(copy, n + 1, &rq), -1);
	ck_assert_int_eq(authreq_decode(copy, n, &rq), 1);
	ck_assert_uint_eq(rq.len, n);
	ck_assert_uint_eq(rq.nfields, 5);
	ck_assert_str_eq(rq.name[0], "XMPPGATE_AUTH_VERSION");
	ck_assert_str_eq(rq.value[0], "1");
	ck_assert_str_eq(rq.name[2], "AUTH_USER");
	ck_assert_str_eq(rq.value[2], "alice");
	ck_assert_str_eq(rq.name[4], "SSL_CIPHER");
	ck_assert_str_eq(rq.value[4], "");
	ck_assert_uint_eq(rq.pass_len, 7);
	ck_assert(memcmp(rq.pass, "pw\n\nX=1", 7) == 0);
}
END_TEST

START_TEST(decode_bad)
{
	static const char *const bad[] = {
		"XMPPGATE_AUTH_VERSION=2\nAUTH_PASSWORD_LENGTH=0\n\n",
		"AUTH_USER=a\nXMPPGATE_AUTH_VERSION=1\nAUTH_PASSWORD_LENGTH=0\n\n",
		"XMPPGATE_AUTH_VERSION=1\n\n",
		"XMPPGATE_AUTH_VERSION=1\nAUTH_PASSWORD_LENGTH=0\nAUTH_USER=a\n\n",
		"XMPPGATE_AUTH_VERSION=1\nAUTH_PASSWORD_LENGTH=01\n\nx",
		"XMPPGATE_AUTH_VERSION=1\nAUTH_PASSWORD_LENGTH=1024\n\n",
		"XMPPGATE_AUTH_VERSION=1\nAUTH_PASSWORD_LENGTH=\n\n",
		"XMPPGATE_AUTH_VERSION=1\nAUTH_PASSWORD_LENGTH=1a\n\n",
		"XMPPGATE_AUTH_VERSION=1\nAUTH_USER=a\nAUTH_USER=b\n"
		    "AUTH_PASSWORD_LENGTH=0\n\n",
		"XMPPGATE_AUTH_VERSION=1\nauth_user=a\nAUTH_PASSWORD_LENGTH=0\n\n",
		"XMPPGATE_AUTH_VERSION=1\n1AUTH=a\nAUTH_PASSWORD_LENGTH=0\n\n",
		"XMPPGATE_AUTH_VERSION=1\nAUTH_USER\nAUTH_PASSWORD_LENGTH=0\n\n",
		"XMPPGATE_AUTH_VERSION=1\nAUTH_USER=a\tb\nAUTH_PASSWORD_LENGTH=0\n\n",
		"XMPPGATE_AUTH_VERSION=1\nAUTH_PASSWORD_LENGTH=0\n\nx",
		"\n",
	};
	struct authreq rq;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		strcpy(buf, bad[i]);
		ck_assert_msg(authreq_decode(buf, strlen(buf), &rq) == -1,
		    "accepted bad request %zu", i);
	}
	/* A NUL in a value is a control character too. */
	memcpy(buf, "XMPPGATE_AUTH_VERSION=1\nA=\0\nAUTH_PASSWORD_LENGTH=0\n\n",
	    52);
	ck_assert_int_eq(authreq_decode(buf, 52, &rq), -1);
	/* 1023 is the largest length; no blank line within HEAD_MAX. */
	strcpy(buf, "XMPPGATE_AUTH_VERSION=1\nAUTH_PASSWORD_LENGTH=1023\n\n");
	ck_assert_int_eq(authreq_decode(buf, strlen(buf), &rq), 0);
	memset(buf, 'A', XG_AUTHREQ_HEAD_MAX);
	memcpy(buf, "XMPPGATE_AUTH_VERSION=1\nB=", 26);
	ck_assert_int_eq(authreq_decode(buf, XG_AUTHREQ_HEAD_MAX - 1, &rq), 0);
	ck_assert_int_eq(authreq_decode(buf, XG_AUTHREQ_HEAD_MAX, &rq), -1);
}
END_TEST

/*
 * Every name authhelper_env() can give goes through both ways (the
 * allow-list has them all, and no more than XG_AUTHREQ_FIELDS_MAX).
 */
START_TEST(full_env)
{
	struct auth_request r;
	struct conn c;
	struct authreq rq;
	char envbuf[16384], *envp[XG_AUTH_ENV_MAX];
	size_t n;
	int k, i;

	memset(&r, 0, sizeof(r));
	memset(&c, 0, sizeof(c));
	r.mechanism = "SCRAM-SHA-256-PLUS";
	r.user = "alice";
	r.domain = "example.org";
	r.authzid = "alice@example.org";
	r.scram_hash = "SHA-256";
	r.cbtype = "tls-exporter";
	r.attempt = 1;
	r.conn = &c;
	snprintf(c.id, sizeof(c.id), "c0ffee");
	snprintf(c.remote_ip, sizeof(c.remote_ip), "192.0.2.7");
	snprintf(c.remote_port, sizeof(c.remote_port), "40000");
	snprintf(c.local_ip, sizeof(c.local_ip), "192.0.2.1");
	snprintf(c.local_port, sizeof(c.local_port), "5222");
	snprintf(c.tls_protocol, sizeof(c.tls_protocol), "TLS1.3");
	snprintf(c.tls_cipher, sizeof(c.tls_cipher), "TLS_AES_128_GCM_SHA256");
	c.tls_resumed = 1;
	snprintf(c.sni, sizeof(c.sni), "example.org");
	c.cert_verified = 1;
	c.cert_presented = 1;
	snprintf(c.cert_sha256, sizeof(c.cert_sha256), "%064d", 7);
	snprintf(c.cert_subject, sizeof(c.cert_subject), "CN=Alice");
	snprintf(c.cert_xmppaddrs, sizeof(c.cert_xmppaddrs), "a@example.org");
	snprintf(c.cert_dnsnames, sizeof(c.cert_dnsnames), "a.example");
	snprintf(c.cert_srvnames, sizeof(c.cert_srvnames), "_xmpp.a.example");
	snprintf(c.domain, sizeof(c.domain), "example.org");
	snprintf(c.remote_domain, sizeof(c.remote_domain), "a.example");
	c.cert_status = "ok";
	c.cert_match = S2S_MATCH_DNS;
	/* FAST's fields (a check and an issue never come together, but
	 * every name must pass). */
	r.cbdata = "Y2I=";
	r.fast_client = "d4565fa7-4d72-4749-b3d3-740edbf87770";
	r.fast_hmac = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
	r.fast_invalidate = 1;
	r.fast_count = "3";
	r.fast_mechanism = "HT-SHA-256-EXPR";
	k = authhelper_env(&r, envbuf, sizeof(envbuf), envp, XG_AUTH_ENV_MAX);
	/* 34 with PATH: every name there is (a new one fails here first). */
	ck_assert_int_eq(k, 34);
	n = authreq_encode(envp, "pw", 2, buf, sizeof(buf));
	ck_assert_uint_gt(n, 0);
	buf[n] = '\0';
	for (i = 0; i < k; i++)
		ck_assert_msg(strncmp(envp[i], "PATH=", 5) == 0 ||
		    strstr(buf, envp[i]) != NULL, "%s not sent", envp[i]);
	ck_assert_int_eq(authreq_decode(buf, n, &rq), 1);
	ck_assert_uint_eq(rq.nfields, 33);
	for (i = 0; i < (int)rq.nfields; i++)
		if (strcmp(rq.name[i], "AUTH_FAST_INVALIDATE") == 0)
			ck_assert_str_eq(rq.value[i], "1");
		else if (strcmp(rq.name[i], "AUTH_FAST_MECHANISM") == 0)
			ck_assert_str_eq(rq.value[i], "HT-SHA-256-EXPR");
		else if (strcmp(rq.name[i], "AUTH_CHANNEL_BINDING_DATA") == 0)
			ck_assert_str_eq(rq.value[i], "Y2I=");
}
END_TEST

/* A well-formed name that xmppgate never sends: -2 once the request is
 * whole, the name told, the buffer untouched; its prefixes need more. */
START_TEST(decode_refused)
{
	static const char *const names[] = { "LD_PRELOAD", "PATH",
	    "_AUTH_USER", "AUTH_X", "SSL_CERT_FILE", "PYTHONPATH", "HOME",
	    "GCONV_PATH", "AUTH_PASSWORD_LENGT" };
	static char copy[sizeof(buf)];
	struct authreq rq;
	size_t i, k, n;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		n = (size_t)snprintf(buf, sizeof(buf), "XMPPGATE_AUTH_VERSION=1\n"
		    "AUTH_USER=a\n%s=x\nAUTH_PASSWORD_LENGTH=2\n\npw",
		    names[i]);
		memcpy(copy, buf, n);
		for (k = 0; k < n; k++)
			ck_assert_int_eq(authreq_decode(copy, k, &rq), 0);
		ck_assert_msg(authreq_decode(copy, n, &rq) == -2,
		    "%s not refused", names[i]);
		ck_assert(memcmp(copy, buf, n) == 0);
		ck_assert_uint_eq(rq.refused_len, strlen(names[i]));
		ck_assert(memcmp(rq.refused, names[i], rq.refused_len) == 0);
		ck_assert_uint_eq(rq.nfields, 0);
		ck_assert_ptr_null(rq.pass);
		/* Broken as well: the protocol's -1 comes first. */
		copy[n] = 'x';
		ck_assert_int_eq(authreq_decode(copy, n + 1, &rq), -1);
	}
}
END_TEST

START_TEST(verdicts)
{
	enum auth_verdict v;
	size_t off;

	ck_assert_int_eq(authreq_verdict("accept\n", 7, &v, &off), 0);
	ck_assert_int_eq(v, AUTH_ACCEPT);
	ck_assert_uint_eq(off, 7);
	ck_assert_int_eq(authreq_verdict("reject\nmessage=x", 16, &v, &off),
	    0);
	ck_assert_int_eq(v, AUTH_REJECT);
	ck_assert_uint_eq(off, 7);
	ck_assert_int_eq(authreq_verdict("tempfail\n", 9, &v, &off), 0);
	ck_assert_int_eq(v, AUTH_TEMPFAIL);
	ck_assert_uint_eq(off, XG_AUTHREQ_VERDICT_MAX);
	ck_assert_int_eq(authreq_verdict("accept", 6, &v, &off), -1);
	ck_assert_int_eq(authreq_verdict("accept\r\n", 8, &v, &off), -1);
	ck_assert_int_eq(authreq_verdict("accepted\n", 9, &v, &off), -1);
	ck_assert_int_eq(authreq_verdict("ACCEPT\n", 7, &v, &off), -1);
	ck_assert_int_eq(authreq_verdict("0\n", 2, &v, &off), -1);
	ck_assert_int_eq(authreq_verdict("", 0, &v, &off), -1);
}
END_TEST

/* ---- authsocket_run against a server forked here ---- */

static char sockpath[108];
static pid_t server;

/* Serve one connection: read the request to EOF (kept in reqfile),
 * then write answer (NULL: say nothing, wait to be closed). */
static void
serve(const char *answer, size_t alen)
{
	struct sockaddr_un sun;
	int l, c;

	snprintf(sockpath, sizeof(sockpath), "/tmp/check_authsocket.%d",
	    (int)getpid());
	unlink(sockpath);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, sockpath);
	l = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert(bind(l, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	ck_assert(listen(l, 1) == 0);
	if ((server = fork()) == 0) {
		static char req[XG_AUTHREQ_MAX + 1];
		size_t n = 0;
		ssize_t r;

		alarm(10);
		c = accept(l, NULL, NULL);
		while ((r = read(c, req + n, sizeof(req) - n)) > 0)
			n += (size_t)r;
		if (answer == NULL)
			pause();
		(void)!write(c, answer, alen);
		_exit(0);
	}
	close(l);
}

static void
served(void)
{
	kill(server, SIGKILL);
	waitpid(server, NULL, 0);
	unlink(sockpath);
}

static struct auth_request
mkreq(void)
{
	struct auth_request r;

	memset(&r, 0, sizeof(r));
	r.mechanism = "PLAIN";
	r.user = "alice";
	r.domain = "example.org";
	r.pass = "secret";
	r.pass_len = 6;
	r.attempt = 1;
	return r;
}

START_TEST(run_accept)
{
	struct auth_request rq = mkreq();
	struct auth_reply out;
	char addr[120], why[XG_REASON_MAX];
	const char ans[] = "accept\nuser=bob\nbackend=127.0.0.1:5222\n";

	serve(ans, sizeof(ans) - 1);
	snprintf(addr, sizeof(addr), "unix:%s", sockpath);
	ck_assert_int_eq(authhelper_run(addr, &rq, 5000, &out, why,
	    sizeof(why)), AUTH_ACCEPT);
	ck_assert_str_eq(out.user, "bob");
	ck_assert_str_eq(out.backend, "127.0.0.1:5222");
	served();
}
END_TEST

/* FAST's keys over a socket: the same parser, the same refusals. */
START_TEST(run_fast)
{
	static const struct { const char *ans; enum auth_verdict v; int token,
	    responder, condition; const char *why; } t[] = {
		{ "accept\nfast-responder=AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRob"
		    "HB0eHyA=\nfast-token=abcdefghijklmnop\nfast-expiry="
		    "2999-12-31T23:59:59Z\n", AUTH_ACCEPT, 1, 1, 0,
		    "helper accepted the credentials" },
		/* Expired already: dropped, the accept stands. */
		{ "accept\nfast-token=abcdefghijklmnop\nfast-expiry="
		    "2000-12-31T23:59:59Z\n", AUTH_ACCEPT, 0, 0, 0, NULL },
		{ "reject\ncondition=credentials-expired\n", AUTH_REJECT, 0,
		    0, 1, "helper rejected the credentials" },
		{ "accept\nfast-token=abcdefghijklmnop\n", AUTH_TEMPFAIL, 0,
		    0, 0, "reply: fast-token without fast-expiry" },
		{ "accept\nfast-responder=AQID\n", AUTH_TEMPFAIL, 0, 0, 0,
		    "reply: line 1: fast-responder is not base64 of 32 bytes" },
		{ "accept\nfast-expiry=2030-02-30T00:00:00Z\n", AUTH_TEMPFAIL,
		    0, 0, 0, "reply: line 1: fast-expiry is not a date "
		    "YYYY-MM-DDThh:mm:ssZ" },
		{ "accept\ncondition=credentials-expired\n", AUTH_TEMPFAIL, 0,
		    0, 0, "reply: line 1: key 'condition' is only for a "
		    "rejection" },
		/* A bad condition after a rejection: logged, the rejection
		 * stands, without it. */
		{ "reject\ncondition=expired\n", AUTH_REJECT, 0, 0, 0, NULL },
	};
	struct auth_request rq = mkreq();
	struct auth_reply out;
	char addr[120], why[XG_REASON_MAX];
	size_t i;

	rq.mechanism = "HT-SHA-256-NONE";
	rq.pass = NULL;
	rq.pass_len = 0;
	rq.fast_client = "ua";
	rq.fast_hmac = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		serve(t[i].ans, strlen(t[i].ans));
		snprintf(addr, sizeof(addr), "unix:%s", sockpath);
		ck_assert_int_eq(authhelper_run(addr, &rq, 5000, &out, why,
		    sizeof(why)), t[i].v);
		ck_assert_int_eq(out.has_fast_token, t[i].token);
		ck_assert_int_eq(out.has_fast_expiry, t[i].token);
		ck_assert_int_eq(out.has_fast_responder, t[i].responder);
		ck_assert_int_eq(out.has_condition, t[i].condition);
		if (t[i].responder)
			ck_assert_int_eq(out.fast_responder[31], 0x20);
		if (t[i].why != NULL)
			ck_assert_msg(strstr(why, t[i].why) != NULL, "%zu: %s",
			    i, why);
		served();
	}
	auth_reply_wipe(&out);
}
END_TEST

START_TEST(run_reject_message)
{
	struct auth_request rq = mkreq();
	struct auth_reply out;
	char addr[120], why[XG_REASON_MAX];
	const char ans[] = "reject\nmessage=no\nuser=x\n";

	/* A bad line after reject is ignored; the rejection stands. */
	serve(ans, sizeof(ans) - 1);
	snprintf(addr, sizeof(addr), "unix:%s", sockpath);
	ck_assert_int_eq(authhelper_run(addr, &rq, 5000, &out, why,
	    sizeof(why)), AUTH_REJECT);
	ck_assert(!out.has_user);
	served();
}
END_TEST

START_TEST(run_answer_max)
{
	static char ans[XG_AUTHREQ_ANSWER_MAX + 2];
	struct auth_request rq = mkreq();
	struct auth_reply out;
	char addr[120], why[XG_REASON_MAX];

	/* "tempfail\n" and 4096 bytes of empty lines: the most allowed. */
	memcpy(ans, "tempfail\n", 9);
	memset(ans + 9, '\n', XG_HELPER_REPLY_MAX);
	serve(ans, XG_AUTHREQ_ANSWER_MAX);
	snprintf(addr, sizeof(addr), "unix:%s", sockpath);
	ck_assert_int_eq(authhelper_run(addr, &rq, 5000, &out, why,
	    sizeof(why)), AUTH_TEMPFAIL);
	ck_assert_str_eq(why, "helper: temporary failure");
	served();
	/* One byte more. */
	memcpy(ans, "accept\n", 7);
	memset(ans + 7, '\n', XG_AUTHREQ_ANSWER_MAX + 1 - 7);
	serve(ans, XG_AUTHREQ_ANSWER_MAX + 1);
	ck_assert_int_eq(authhelper_run(addr, &rq, 5000, &out, why,
	    sizeof(why)), AUTH_TEMPFAIL);
	ck_assert_msg(strstr(why, "answer over 4105 bytes") != NULL, "%s",
	    why);
	served();
}
END_TEST

START_TEST(run_timeout)
{
	struct auth_request rq = mkreq();
	struct auth_reply out;
	char addr[120], why[XG_REASON_MAX];

	serve(NULL, 0);
	snprintf(addr, sizeof(addr), "unix:%s", sockpath);
	ck_assert_int_eq(authhelper_run(addr, &rq, 300, &out, why,
	    sizeof(why)), AUTH_TEMPFAIL);
	ck_assert_msg(strstr(why, "timed out after 300 ms") != NULL, "%s",
	    why);
	served();
}
END_TEST

START_TEST(run_missing)
{
	struct auth_request rq = mkreq();
	struct auth_reply out;
	char why[XG_REASON_MAX];

	ck_assert_int_eq(authhelper_run("unix:/nonexistent/xg.sock", &rq,
	    1000, &out, why, sizeof(why)), AUTH_TEMPFAIL);
	ck_assert_str_eq(why, "helper: connect to unix:/nonexistent/xg.sock: "
	    "No such file or directory");
}
END_TEST

static Suite *
authsocket_suite(void)
{
	Suite *s = suite_create("authsocket");
	TCase *tc = tcase_create("wire");

	tcase_add_test(tc, encode_exact);
	tcase_add_test(tc, encode_rules);
	tcase_add_test(tc, encode_head_max);
	tcase_add_test(tc, decode_prefixes);
	tcase_add_test(tc, decode_bad);
	tcase_add_test(tc, decode_refused);
	tcase_add_test(tc, full_env);
	tcase_add_test(tc, verdicts);
	suite_add_tcase(s, tc);
	tc = tcase_create("run");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, run_accept);
	tcase_add_test(tc, run_fast);
	tcase_add_test(tc, run_reject_message);
	tcase_add_test(tc, run_answer_max);
	tcase_add_test(tc, run_timeout);
	tcase_add_test(tc, run_missing);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(authsocket_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
