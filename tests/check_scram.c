/*
 * SCRAM, the server side: the RFC 5802 and RFC 7677 exchanges, RFC 5803's
 * stored form, channel binding, and what must be refused.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include "xmppgate.h"

static struct scram sc;
static struct scram_creds cr;
static char out[256];

#define M(s) (const uint8_t *)(s), strlen(s)

/* RFC 5802 section 5 */
#define R1_CF	"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL"
#define R1_SN	"3rfcNHYJY1ZVvWVs7j"
#define R1_SF	"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j," \
		"s=QSXCR+Q6sek8bf92,i=4096"
#define R1_CL	"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j," \
		"p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="
#define R1_V	"v=rmF9pqV8S7suAoZWja4dJRkFsKQ="
/* RFC 5803 section 4: the same user's authPassword */
#define R1_AP	"SCRAM-SHA-1$4096:QSXCR+Q6sek8bf92$" \
		"6dlGYMOdZcOPutkcNY8U2g7vK9Y=:D+CSWLOshSulAsxiupA+qs2/fTE="
/* RFC 7677 section 3 */
#define R2_CF	"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
#define R2_SN	"%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
#define R2_SF	"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0," \
		"s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
#define R2_CL	"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0," \
		"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define R2_V	"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

static void
b64(const void *d, size_t n, char *o, size_t osz)
{
	gnutls_datum_t in = { (unsigned char *)(uintptr_t)d, (unsigned)n };
	gnutls_datum_t enc;

	ck_assert_int_eq(gnutls_base64_encode2(&in, &enc), 0);
	ck_assert_uint_lt(enc.size, osz);
	memcpy(o, enc.data, enc.size);
	o[enc.size] = '\0';
	gnutls_free(enc.data);
}

static void
creds(enum scram_hash h, const char *salt_b64, const char *pass)
{
	gnutls_datum_t in = { (unsigned char *)(uintptr_t)salt_b64,
	    (unsigned)strlen(salt_b64) }, salt;

	ck_assert_int_eq(gnutls_base64_decode2(&in, &salt), 0);
	ck_assert_int_eq(scram_creds_from_password(h, pass, strlen(pass),
	    salt.data, salt.size, 4096, &cr), 0);
	gnutls_free(salt.data);
}

/*
 * A client's final message for pass, written here independently of the
 * server code: c= from gs2 and cb, the proof from PBKDF2 and the HMACs.
 */
static void
client_final(enum scram_hash h, const char *pass, const char *gs2,
    const uint8_t *cb, size_t cblen, const char *nonce, char *o, size_t osz)
{
	gnutls_mac_algorithm_t mac = h == SCRAM_SHA256 ? GNUTLS_MAC_SHA256 :
	    GNUTLS_MAC_SHA1;
	size_t hl = scram_hash_len(h), i;
	gnutls_datum_t k = { (unsigned char *)(uintptr_t)pass,
	    (unsigned)strlen(pass) }, s = { cr.salt, (unsigned)cr.salt_len };
	uint8_t sp[32], ck[32], st[32], sig[32], bind[256];
	char cbb[512], wo[2048], am[4096], pb[64];

	memcpy(bind, gs2, strlen(gs2));
	if (cblen > 0)
		memcpy(bind + strlen(gs2), cb, cblen);
	b64(bind, strlen(gs2) + cblen, cbb, sizeof(cbb));
	snprintf(wo, sizeof(wo), "c=%s,r=%s", cbb, nonce);
	snprintf(am, sizeof(am), "%.*s,%.*s,%s", (int)sc.cfirst_len,
	    sc.cfirst, (int)sc.sfirst_len, sc.sfirst, wo);
	ck_assert_int_eq(gnutls_pbkdf2(mac, &k, &s, (unsigned)cr.iter, sp,
	    hl), 0);
	gnutls_hmac_fast(mac, sp, hl, "Client Key", 10, ck);
	gnutls_hash_fast(h == SCRAM_SHA256 ? GNUTLS_DIG_SHA256 :
	    GNUTLS_DIG_SHA1, ck, hl, st);
	gnutls_hmac_fast(mac, st, hl, am, strlen(am), sig);
	for (i = 0; i < hl; i++)
		sig[i] ^= ck[i];
	b64(sig, hl, pb, sizeof(pb));
	ck_assert_int_lt(snprintf(o, osz, "%.1024s,p=%s", wo, pb), (int)osz);
}

START_TEST(t_rfc5802)
{
	char ap[512];

	creds(SCRAM_SHA1, "QSXCR+Q6sek8bf92", "pencil");
	ck_assert_uint_gt(scram_creds_format(&cr, ap, sizeof(ap)), 0);
	ck_assert_str_eq(ap, R1_AP);
	ck_assert_int_eq(scram_client_first(&sc, SCRAM_SHA1, 0, 0, M(R1_CF),
	    "example.test"), SCRAM_OK);
	ck_assert_str_eq(sc.user, "user");
	ck_assert_int_eq(scram_server_first(&sc, &cr, R1_SN), 0);
	ck_assert_str_eq(sc.sfirst, R1_SF);
	ck_assert_int_eq(scram_client_final(&sc, &cr, M(R1_CL), NULL, 0,
	    out, sizeof(out)), SCRAM_OK);
	ck_assert_str_eq(out, R1_V);
	/* The stored form parses back to the same keys. */
	{
		struct scram_creds p;
		ck_assert_int_eq(scram_creds_parse(R1_AP, strlen(R1_AP), &p),
		    0);
		ck_assert_int_eq(memcmp(&p, &cr, sizeof(p)), 0);
	}
	ck_assert_int_eq(scram_creds_check(&cr, "pencil", 6), 1);
	ck_assert_int_eq(scram_creds_check(&cr, "pencil ", 7), 0);
	ck_assert_int_eq(scram_creds_check(&cr, "Pencil", 6), 0);
}
END_TEST

START_TEST(t_rfc7677)
{
	creds(SCRAM_SHA256, "W22ZaJ0SNY7soEsUEjb6gQ==", "pencil");
	ck_assert_int_eq(scram_client_first(&sc, SCRAM_SHA256, 0, 0,
	    M(R2_CF), "example.test"), SCRAM_OK);
	ck_assert_int_eq(scram_server_first(&sc, &cr, R2_SN), 0);
	ck_assert_str_eq(sc.sfirst, R2_SF);
	ck_assert_int_eq(scram_client_final(&sc, &cr, M(R2_CL), NULL, 0,
	    out, sizeof(out)), SCRAM_OK);
	ck_assert_str_eq(out, R2_V);
	/* The stored form, round trip. */
	{
		char ap[512];
		struct scram_creds p;
		ck_assert_uint_gt(scram_creds_format(&cr, ap, sizeof(ap)), 0);
		ck_assert_int_eq(strncmp(ap, "SCRAM-SHA-256$4096:"
		    "W22ZaJ0SNY7soEsUEjb6gQ==$", 43), 0);
		ck_assert_int_eq(scram_creds_parse(ap, strlen(ap), &p), 0);
		ck_assert_int_eq(memcmp(&p, &cr, sizeof(p)), 0);
	}
}
END_TEST

START_TEST(t_refused)
{
	char cl[1024];

	creds(SCRAM_SHA256, "W22ZaJ0SNY7soEsUEjb6gQ==", "pencil");
	/* A wrong password: the proof does not match StoredKey. */
	scram_client_first(&sc, SCRAM_SHA256, 0, 0, M(R2_CF), "example.test");
	scram_server_first(&sc, &cr, R2_SN);
	client_final(SCRAM_SHA256, "pencil", "n,,", NULL, 0, sc.nonce, cl,
	    sizeof(cl));
	ck_assert_str_eq(cl, R2_CL);	/* our client agrees with the RFC */
	client_final(SCRAM_SHA256, "pencils", "n,,", NULL, 0, sc.nonce, cl,
	    sizeof(cl));
	ck_assert_int_eq(scram_client_final(&sc, &cr, M(cl), NULL, 0, out,
	    sizeof(out)), SCRAM_BAD_PROOF);
	/* A replayed client-final: another exchange has another nonce. */
	scram_client_first(&sc, SCRAM_SHA256, 0, 0, M(R2_CF), "example.test");
	scram_server_first(&sc, &cr, "anotherservernonce");
	ck_assert_int_eq(scram_client_final(&sc, &cr, M(R2_CL), NULL, 0, out,
	    sizeof(out)), SCRAM_BAD_NONCE);
	/* A proof of the wrong length, bad base64, a missing proof. */
	scram_client_first(&sc, SCRAM_SHA256, 0, 0, M(R2_CF), "example.test");
	scram_server_first(&sc, &cr, R2_SN);
	ck_assert_int_eq(scram_client_final(&sc, &cr,
	    M("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
	    "p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="), NULL, 0, out, sizeof(out)),
	    SCRAM_MALFORMED);
	ck_assert_int_eq(scram_client_final(&sc, &cr,
	    M("c=biws,r=x,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ"),
	    NULL, 0, out, sizeof(out)), SCRAM_BAD_BASE64);
	ck_assert_int_eq(scram_client_final(&sc, &cr, M("c=biws,r=x"), NULL,
	    0, out, sizeof(out)), SCRAM_MALFORMED);
	ck_assert_int_eq(scram_client_final(&sc, &cr, M("r=x,c=biws,p=AA=="),
	    NULL, 0, out, sizeof(out)), SCRAM_MALFORMED);
	/* c= for another gs2 header ("y,,") than the client's first. */
	client_final(SCRAM_SHA256, "pencil", "y,,", NULL, 0, sc.nonce, cl,
	    sizeof(cl));
	ck_assert_int_eq(scram_client_final(&sc, &cr, M(cl), NULL, 0, out,
	    sizeof(out)), SCRAM_BAD_BINDING);
}
END_TEST

START_TEST(t_binding)
{
	static const uint8_t cb[32] = { 1, 2, 3, 4, 5 }, other[32] = { 9 };
	const int allowed = SCRAM_CB_TLS_EXPORTER |
	    SCRAM_CB_TLS_SERVER_END_POINT;
	char cl[1024];

	creds(SCRAM_SHA256, "W22ZaJ0SNY7soEsUEjb6gQ==", "pencil");
	ck_assert_int_eq(scram_client_first(&sc, SCRAM_SHA256, 1, allowed,
	    M("p=tls-exporter,,n=user,r=abc"), "example.test"), SCRAM_OK);
	ck_assert_int_eq(sc.cbtype, SCRAM_CB_TLS_EXPORTER);
	ck_assert_int_eq(scram_server_first(&sc, &cr, "def"), 0);
	client_final(SCRAM_SHA256, "pencil", "p=tls-exporter,,", cb,
	    sizeof(cb), sc.nonce, cl, sizeof(cl));
	ck_assert_int_eq(scram_client_final(&sc, &cr, M(cl), cb, sizeof(cb),
	    out, sizeof(out)), SCRAM_OK);
	/* Another channel's binding data, with a correct proof over it. */
	client_final(SCRAM_SHA256, "pencil", "p=tls-exporter,,", other,
	    sizeof(other), sc.nonce, cl, sizeof(cl));
	ck_assert_int_eq(scram_client_final(&sc, &cr, M(cl), cb, sizeof(cb),
	    out, sizeof(out)), SCRAM_BAD_BINDING);
	/* No binding data where some was promised. */
	client_final(SCRAM_SHA256, "pencil", "p=tls-exporter,,", NULL, 0,
	    sc.nonce, cl, sizeof(cl));
	ck_assert_int_eq(scram_client_final(&sc, &cr, M(cl), cb, sizeof(cb),
	    out, sizeof(out)), SCRAM_BAD_BINDING);
	/* tls-server-end-point is taken; tls-unique is not offered here. */
	ck_assert_int_eq(scram_client_first(&sc, SCRAM_SHA256, 1, allowed,
	    M("p=tls-server-end-point,,n=user,r=abc"), "example.test"),
	    SCRAM_OK);
	ck_assert_int_eq(scram_client_first(&sc, SCRAM_SHA256, 1, allowed,
	    M("p=tls-unique,,n=user,r=abc"), "example.test"),
	    SCRAM_CB_UNSUPPORTED);
	ck_assert_int_eq(scram_client_first(&sc, SCRAM_SHA256, 1, allowed,
	    M("p=tls-foo,,n=user,r=abc"), "example.test"),
	    SCRAM_CB_UNSUPPORTED);
	/* "y" while -PLUS was offered is a downgrade; without, fine. */
	ck_assert_int_eq(scram_client_first(&sc, SCRAM_SHA256, 0, allowed,
	    M("y,,n=user,r=abc"), "example.test"), SCRAM_CB_DOWNGRADE);
	ck_assert_int_eq(scram_client_first(&sc, SCRAM_SHA256, 0, 0,
	    M("y,,n=user,r=abc"), "example.test"), SCRAM_OK);
	/* Flags that do not fit the mechanism. */
	ck_assert_int_eq(scram_client_first(&sc, SCRAM_SHA256, 0, allowed,
	    M("p=tls-exporter,,n=user,r=abc"), "example.test"),
	    SCRAM_MALFORMED);
	ck_assert_int_eq(scram_client_first(&sc, SCRAM_SHA256, 1, allowed,
	    M("n,,n=user,r=abc"), "example.test"), SCRAM_MALFORMED);
	ck_assert_int_eq(scram_client_first(&sc, SCRAM_SHA256, 1, allowed,
	    M("y,,n=user,r=abc"), "example.test"), SCRAM_MALFORMED);
}
END_TEST

START_TEST(t_client_first)
{
	const char *dom = "example.test";

	ck_assert_int_eq(scram_client_first(&sc, SCRAM_SHA1, 0, 0,
	    M("n,,n=juliet@Example.TEST,r=abc,x=ext"), dom), SCRAM_OK);
	ck_assert_str_eq(sc.user, "juliet");
	ck_assert_str_eq(sc.cfirst, "n=juliet@Example.TEST,r=abc,x=ext");
	ck_assert_int_eq(scram_client_first(&sc, SCRAM_SHA1, 0, 0,
	    M("n,a=juliet@example.test,n=juliet,r=abc"), dom), SCRAM_OK);
	ck_assert_str_eq(sc.gs2, "n,a=juliet@example.test,");
	ck_assert_int_eq(scram_client_first(&sc, SCRAM_SHA1, 0, 0,
	    M("n,a=romeo@example.test,n=juliet,r=abc"), dom),
	    SCRAM_BAD_AUTHZID);
	/* The user name is prepared (Nodeprep); the message is kept as
	 * sent, for the proof. */
	ck_assert_int_eq(scram_client_first(&sc, SCRAM_SHA1, 0, 0,
	    M("n,a=JULIET@example.test,n=\xef\xbd\x8aULIET,r=abc"), dom),
	    SCRAM_OK);
	ck_assert_str_eq(sc.user, "juliet");
	ck_assert_str_eq(sc.authzid, "juliet@example.test");
	ck_assert_str_eq(sc.gs2, "n,a=JULIET@example.test,");
	ck_assert_str_eq(sc.cfirst, "n=\xef\xbd\x8aULIET,r=abc");
	ck_assert_int_eq(scram_client_first(&sc, SCRAM_SHA1, 0, 0,
	    M("n,,n=,r=a"), dom), SCRAM_BAD_USER);
	ck_assert_int_eq(scram_client_first(&sc, SCRAM_SHA1, 0, 0,
	    M("n,,n=a/b,r=a"), dom), SCRAM_BAD_USER);
	ck_assert_int_eq(scram_client_first(&sc, SCRAM_SHA1, 0, 0,
	    M("n,,n=ju\xe2\x80\xaeliet,r=a"), dom), SCRAM_BAD_USER);
	ck_assert_int_eq(scram_client_first(&sc, SCRAM_SHA1, 0, 0,
	    M("n,,n=ju\xffliet,r=a"), dom), SCRAM_BAD_USER);
	/* saslname escapes */
	ck_assert_int_eq(scram_client_first(&sc, SCRAM_SHA1, 0, 0,
	    M("n,,n=a=3Db=2Cc,r=abc"), dom), SCRAM_OK);
	ck_assert_str_eq(sc.user, "a=b,c");
	const char *bad[] = {
		"", "n", "n,", "n,,", "x,,n=u,r=a", "p,,n=u,r=a",
		"n,,n=u=41,r=a", "n,,n=u=2,r=a", "n,,n=u=", "n,,m=x,n=u,r=a",
		"n,,n=u,r=", "n,,n=u,r=a b", "n,,n=u", "n,,r=a,n=u",
		"n,,n=u@other.test,r=a",
		"n,b=x,n=u,r=a", "n,a=,n=u,r=a", "n,,n=u,r=a,", "n,,n=u,r=a,1=x",
		"nn,,n=u,r=a",
	};
	size_t i;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(scram_client_first(&sc, SCRAM_SHA1, 0, 0,
		    M(bad[i]), dom) == SCRAM_MALFORMED, "accepted '%s'",
		    bad[i]);
	/* A NUL inside, and a message at the limit. */
	ck_assert_int_eq(scram_client_first(&sc, SCRAM_SHA1, 0, 0,
	    (const uint8_t *)"n,,n=u\0,r=a", 11, dom), SCRAM_MALFORMED);
	{
		static char big[XG_SCRAM_MSG_MAX + 8];
		memset(big, 'a', sizeof(big) - 1);
		memcpy(big, "n,,n=u,r=", 9);
		ck_assert_int_eq(scram_client_first(&sc, SCRAM_SHA1, 0, 0,
		    (const uint8_t *)big, strlen(big), dom), SCRAM_MALFORMED);
	}
}
END_TEST

START_TEST(t_creds_parse)
{
	const char *bad[] = {
		"", "SCRAM-SHA-1", "SCRAM-SHA-1$4096:QSXCR+Q6sek8bf92$"
		"6dlGYMOdZcOPutkcNY8U2g7vK9Y=",
		/* SHA-256 name, SHA-1 sized keys */
		"SCRAM-SHA-256$4096:QSXCR+Q6sek8bf92$"
		"6dlGYMOdZcOPutkcNY8U2g7vK9Y=:D+CSWLOshSulAsxiupA+qs2/fTE=",
		"SCRAM-SHA-1-PLUS$4096:QSXCR+Q6sek8bf92$"
		"6dlGYMOdZcOPutkcNY8U2g7vK9Y=:D+CSWLOshSulAsxiupA+qs2/fTE=",
		"SCRAM-SHA-1$0:QSXCR+Q6sek8bf92$"
		"6dlGYMOdZcOPutkcNY8U2g7vK9Y=:D+CSWLOshSulAsxiupA+qs2/fTE=",
		"SCRAM-SHA-1$+4096:QSXCR+Q6sek8bf92$"
		"6dlGYMOdZcOPutkcNY8U2g7vK9Y=:D+CSWLOshSulAsxiupA+qs2/fTE=",
		"SCRAM-SHA-1$99999999:QSXCR+Q6sek8bf92$"
		"6dlGYMOdZcOPutkcNY8U2g7vK9Y=:D+CSWLOshSulAsxiupA+qs2/fTE=",
		"SCRAM-SHA-1$4096:$"
		"6dlGYMOdZcOPutkcNY8U2g7vK9Y=:D+CSWLOshSulAsxiupA+qs2/fTE=",
		"SCRAM-SHA-1$4096:QSXCR+Q6sek8bf9$"
		"6dlGYMOdZcOPutkcNY8U2g7vK9Y=:D+CSWLOshSulAsxiupA+qs2/fTE=",
		"SCRAM-SHA-1$4096:QSXCR+Q6sek8bf92$"
		"6dlGYMOdZcOPutkcNY8U2g7vK9Y= :D+CSWLOshSulAsxiupA+qs2/fTE=",
		"SCRAM-SHA-1$4096:QSXCR+Q6sek8bf92$"
		"6dlGYMOdZcOPutkcNY8U2g7vK9Y=:D+CSWLOshSulAsxiupA+qs2/fTE=x",
		"scram-sha-1$4096:QSXCR+Q6sek8bf92$"
		"6dlGYMOdZcOPutkcNY8U2g7vK9Y=:D+CSWLOshSulAsxiupA+qs2/fTE=",
	};
	size_t i;
	struct scram_creds p;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(scram_creds_parse(bad[i], strlen(bad[i]), &p)
		    == -1, "accepted '%s'", bad[i]);
	ck_assert_int_eq(scram_creds_parse(R1_AP, strlen(R1_AP), &p), 0);
	ck_assert_uint_eq(p.iter, 4096);
	ck_assert_uint_eq(p.salt_len, 12);
	ck_assert_int_eq(p.hash, SCRAM_SHA1);
}
END_TEST

START_TEST(t_mech)
{
	enum scram_hash h;
	int plus;

	ck_assert_int_eq(scram_mech("SCRAM-SHA-256-PLUS", &h, &plus), 0);
	ck_assert_int_eq(h, SCRAM_SHA256);
	ck_assert_int_eq(plus, 1);
	ck_assert_int_eq(scram_mech("SCRAM-SHA-1", &h, &plus), 0);
	ck_assert_int_eq(h, SCRAM_SHA1);
	ck_assert_int_eq(plus, 0);
	ck_assert_int_eq(scram_mech("SCRAM-SHA-512", &h, &plus), -1);
	ck_assert_int_eq(scram_mech("scram-sha-1", &h, &plus), -1);
}
END_TEST

/* XEP-0474 0.4.0 section "Server Sends Downgrade Protection Hash": its
 * example, the names given unsorted here. */
#define X1_SSDP	"G6k/rBLDqgOhRRaCuuatSDFkJ08="
/* Computed independently:
 * /usr/bin/python3 -c "import hashlib,base64;print(base64.b64encode(
 * hashlib.sha256(b'\x1e'.join(sorted([b'SCRAM-SHA-256-PLUS',
 * b'SCRAM-SHA-256',b'PLAIN',b'EXTERNAL']))+b'\x1f'+b'\x1e'.join(sorted(
 * [b'tls-server-end-point',b'tls-exporter']))).digest()).decode())" */
#define X2_SSDP	"61rpdRvYeJhJQAhgDLfU9VKmkkOVxLoNesrwsVgWP34="
/* The same without channel binding types (no 0x1F):
 * /usr/bin/python3 -c "import hashlib,base64;print(base64.b64encode(
 * hashlib.sha256(b'\x1e'.join(sorted([b'SCRAM-SHA-256',b'SCRAM-SHA-1',
 * b'PLAIN']))).digest()).decode())" */
#define X3_SSDP	"J++Diu+JubnE6dLVvZjjI5KHnheOLsUSQWiw/prdbAA="

START_TEST(t_ssdp)
{
	static const char *const m1[] = { "SCRAM-SHA-1-PLUS", "SCRAM-SHA-1",
	    NULL }, *const c1[] = { "tls-server-end-point", "tls-exporter",
	    NULL };
	static const char *const m2[] = { "SCRAM-SHA-256-PLUS", "PLAIN",
	    "SCRAM-SHA-256", "EXTERNAL", NULL }, *const c2[] = {
	    "tls-exporter", "tls-server-end-point", NULL };
	static const char *const m3[] = { "SCRAM-SHA-256", "SCRAM-SHA-1",
	    "PLAIN", NULL };
	static const char *const empty[] = { "SCRAM-SHA-1", "", NULL };
	static const char *const sep[] = { "SCRAM-SHA-1\x1e" "PLAIN", NULL };
	const char *many[18];
	char h[64];
	size_t i;

	ck_assert_int_eq(scram_ssdp(SCRAM_SHA1, m1, c1, h, sizeof(h)), 0);
	ck_assert_str_eq(h, X1_SSDP);
	ck_assert_int_eq(scram_ssdp(SCRAM_SHA256, m2, c2, h, sizeof(h)), 0);
	ck_assert_str_eq(h, X2_SSDP);
	ck_assert_int_eq(scram_ssdp(SCRAM_SHA256, m3, NULL, h, sizeof(h)), 0);
	ck_assert_str_eq(h, X3_SSDP);
	/* An empty list of binding types still adds the 0x1F: another hash
	 * than none at all. */
	ck_assert_int_eq(scram_ssdp(SCRAM_SHA256, m3, m3 + 3, h, sizeof(h)),
	    0);
	ck_assert_str_ne(h, X3_SSDP);
	/* out: SHA-1's 28 characters and the NUL, not one byte less. */
	ck_assert_int_eq(scram_ssdp(SCRAM_SHA1, m1, c1, h, 29), 0);
	ck_assert_str_eq(h, X1_SSDP);
	ck_assert_int_eq(scram_ssdp(SCRAM_SHA1, m1, c1, h, 28), -1);
	ck_assert_int_eq(scram_ssdp(SCRAM_SHA256, m2, c2, h, 44), -1);
	ck_assert_int_eq(scram_ssdp(SCRAM_SHA256, m2, c2, h,
	    sizeof(sc.ssdp)), 0);	/* the struct's field takes SHA-256's */
	/* An empty name, a name that holds a separator, no list, too many
	 * names (16 is the limit). */
	ck_assert_int_eq(scram_ssdp(SCRAM_SHA1, empty, NULL, h, sizeof(h)),
	    -1);
	ck_assert_int_eq(scram_ssdp(SCRAM_SHA1, sep, NULL, h, sizeof(h)), -1);
	ck_assert_int_eq(scram_ssdp(SCRAM_SHA1, m1, sep, h, sizeof(h)), -1);
	ck_assert_int_eq(scram_ssdp(SCRAM_SHA1, NULL, c1, h, sizeof(h)), -1);
	for (i = 0; i < 17; i++)
		many[i] = "PLAIN";
	many[17] = NULL;
	ck_assert_int_eq(scram_ssdp(SCRAM_SHA1, many, NULL, h, sizeof(h)),
	    -1);
	ck_assert_int_eq(scram_ssdp(SCRAM_SHA1, m1, many, h, sizeof(h)), -1);
	many[16] = NULL;
	ck_assert_int_eq(scram_ssdp(SCRAM_SHA1, many, many, h, sizeof(h)), 0);
}
END_TEST

/* The XEP's example exchange: RFC 5802's with h= after i=4096. */
START_TEST(t_ssdp_exchange)
{
	static const char *const m1[] = { "SCRAM-SHA-1-PLUS", "SCRAM-SHA-1",
	    NULL }, *const c1[] = { "tls-server-end-point", "tls-exporter",
	    NULL };
	struct scram keep;
	char cl[1024];

	creds(SCRAM_SHA1, "QSXCR+Q6sek8bf92", "pencil");
	ck_assert_int_eq(scram_client_first(&sc, SCRAM_SHA1, 0, 0, M(R1_CF),
	    "example.test"), SCRAM_OK);
	ck_assert_int_eq(scram_ssdp(SCRAM_SHA1, m1, c1, sc.ssdp,
	    sizeof(sc.ssdp)), 0);
	ck_assert_int_eq(scram_server_first(&sc, &cr, R1_SN), 0);
	ck_assert_str_eq(sc.sfirst, R1_SF ",h=" X1_SSDP);
	ck_assert_uint_eq(sc.sfirst_len, strlen(R1_SF ",h=" X1_SSDP));
	/* A client's proof over this server-first verifies ... */
	client_final(SCRAM_SHA1, "pencil", "n,,", NULL, 0, sc.nonce, cl,
	    sizeof(cl));
	ck_assert_int_eq(scram_client_final(&sc, &cr, M(cl), NULL, 0, out,
	    sizeof(out)), SCRAM_OK);
	/* ... and RFC 5802's, over the message without h=, does not: the
	 * hash is inside AuthMessage, so a man in the middle cannot strip it
	 * (or change it) unnoticed. */
	ck_assert_int_eq(scram_client_final(&sc, &cr, M(R1_CL), NULL, 0, out,
	    sizeof(out)), SCRAM_BAD_PROOF);
	keep = sc;
	sc.sfirst_len = strlen(R1_SF);
	client_final(SCRAM_SHA1, "pencil", "n,,", NULL, 0, sc.nonce, cl,
	    sizeof(cl));
	ck_assert_str_eq(cl, R1_CL);	/* our client agrees with the RFC */
	sc = keep;
	ck_assert_int_eq(scram_client_final(&sc, &cr, M(cl), NULL, 0, out,
	    sizeof(out)), SCRAM_BAD_PROOF);
	/* The next attempt starts without the value. */
	ck_assert_int_eq(scram_client_first(&sc, SCRAM_SHA1, 0, 0, M(R1_CF),
	    "example.test"), SCRAM_OK);
	ck_assert_str_eq(sc.ssdp, "");
	ck_assert_int_eq(scram_server_first(&sc, &cr, R1_SN), 0);
	ck_assert_str_eq(sc.sfirst, R1_SF);
	/* A value that would add an attribute, or has no NUL, is refused. */
	scram_client_first(&sc, SCRAM_SHA1, 0, 0, M(R1_CF), "example.test");
	strcpy(sc.ssdp, "abc,m=x");
	ck_assert_int_eq(scram_server_first(&sc, &cr, R1_SN), -1);
	scram_client_first(&sc, SCRAM_SHA1, 0, 0, M(R1_CF), "example.test");
	memset(sc.ssdp, 'A', sizeof(sc.ssdp));
	ck_assert_int_eq(scram_server_first(&sc, &cr, R1_SN), -1);
	scram_wipe(&sc);
	ck_assert_str_eq(sc.ssdp, "");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("scram");
	TCase *tc = tcase_create("scram");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, t_rfc5802);
	tcase_add_test(tc, t_rfc7677);
	tcase_add_test(tc, t_refused);
	tcase_add_test(tc, t_binding);
	tcase_add_test(tc, t_client_first);
	tcase_add_test(tc, t_creds_parse);
	tcase_add_test(tc, t_mech);
	tcase_add_test(tc, t_ssdp);
	tcase_add_test(tc, t_ssdp_exchange);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
