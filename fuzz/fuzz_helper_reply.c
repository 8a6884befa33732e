/*
 * libFuzzer target: authhelper_parse_reply (src/authhelper.c), the
 * parser of the auth helper's standard output (xmppgate-auth(5) OUTPUT).
 *
 * The whole input is the reply, as authhelper_run hands it over (it
 * reads at most XG_HELPER_REPLY_MAX + 1 bytes; longer inputs are cut
 * there, so the "too long" refusal is reached too).  The size of the
 * error buffer is chosen from the input's length, from none to roomy,
 * and allocated to exactly that size so ASan sees any overrun.
 *
 * The verdict and every field are compared with a model written here
 * from the man page: at most 4096 bytes, no NUL, lines split at '\n'
 * (the last may lack it), empty lines ignored, otherwise key=value with
 * the key one of backend, user, password, identity, each at most once,
 * the value everything after the first '=', non-empty, at most 1023
 * bytes (1100 for backend), without control characters (< 0x20 and 0x7f,
 * so a '\r' before the newline is refused), a backend netaddr_parse
 * accepts, an identity without any of @/ "&'<>: (a localpart), and a
 * redirect that is a domain or a host:port, and scram (at most 1023
 * bytes) an RFC 5803 value: SCRAM-SHA-1$ or SCRAM-SHA-256$, an iteration
 * count of 1 to 8 digits from 1 to 10000000, ':', strict base64 of 1 to
 * 128 salt bytes, '$', then StoredKey ':' ServerKey, each strict base64
 * of exactly the hash's length (20 or 32 bytes).  The same input also goes
 * to authhelper_parse_failure, whose model knows only message (at most
 * 256 bytes), delay (1 to 5 digits, at most 30000) and condition (only
 * "credentials-expired").  FAST (xmppgate-auth(5) FAST): fast-token is 16
 * to 256 characters of A-Z a-z 0-9 ._~:+/=-, fast-expiry exactly
 * YYYY-MM-DDThh:mm:ssZ naming a real time (checked here by a round trip
 * through timegm and gmtime), the two only together, fast-responder strict
 * base64 of exactly 32 bytes, stored decoded; condition in an accept's
 * reply is refused.
 * On refusal the reply must be wiped and the error message terminated
 * within its buffer; on success every field is NUL-terminated and
 * absent fields are empty.  An accepted reply, written out again, must
 * parse to the same fields.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "xmppgate.h"
#include "fuzz_common.h"

static struct auth_reply got, again, want;


/* The length strict base64 (RFC 4648, zero pad bits) decodes to, or -1. */
static long
b64len(const char *s, size_t n)
{
	size_t i, pad = 0;

	if (n == 0 || n % 4 != 0)
		return -1;
	while (pad < 2 && s[n - 1 - pad] == '=')
		pad++;
	for (i = 0; i < n - pad; i++)
		if (fz_b64val(s[i]) < 0)
			return -1;
	if ((pad == 1 && (fz_b64val(s[n - 2]) & 3) != 0) ||
	    (pad == 2 && (fz_b64val(s[n - 3]) & 15) != 0))
		return -1;
	return (long)(n / 4 * 3 - pad);
}

/* RFC 5803's authPassword value for SCRAM-SHA-1 or SCRAM-SHA-256. */
static int
scram_ok(const char *v, size_t n)
{
	const char *e = v + n, *p, *q;
	long hl, it = 0;

	if (n > 12 && memcmp(v, "SCRAM-SHA-1$", 12) == 0) {
		hl = 20;
		p = v + 12;
	} else if (n > 14 && memcmp(v, "SCRAM-SHA-256$", 14) == 0) {
		hl = 32;
		p = v + 14;
	} else
		return 0;
	for (q = p; q < e && *q >= '0' && *q <= '9'; q++)
		if (q - p < 8)
			it = it * 10 + (*q - '0');
	if (q == p || q - p > 8 || it < 1 || it > 10000000 || q == e ||
	    *q != ':')
		return 0;
	p = q + 1;
	if ((q = memchr(p, '$', (size_t)(e - p))) == NULL)
		return 0;
	{
		long sl = b64len(p, (size_t)(q - p));
		if (sl < 1 || sl > 128)
			return 0;
	}
	p = q + 1;
	if ((q = memchr(p, ':', (size_t)(e - p))) == NULL ||
	    b64len(p, (size_t)(q - p)) != hl ||
	    b64len(q + 1, (size_t)(e - q - 1)) != hl)
		return 0;
	return 1;
}

/* YYYY-MM-DDThh:mm:ssZ, a time that exists: the fields survive timegm
 * and gmtime unchanged (a 31 April or 24:00 would be normalised). */
static int
expiry_ok(const char *v, size_t n)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
	struct tm tm, back;
	time_t t;
	size_t i;

	if (n != sizeof(shape) - 1)
		return 0;
	for (i = 0; i < n; i++)
		if (shape[i] == 'd' ? !(v[i] >= '0' && v[i] <= '9') :
		    v[i] != shape[i])
			return 0;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = atoi(v) - 1900;
	tm.tm_mon = atoi(v + 5) - 1;
	tm.tm_mday = atoi(v + 8);
	tm.tm_hour = atoi(v + 11);
	tm.tm_min = atoi(v + 14);
	tm.tm_sec = atoi(v + 17);
	back = tm;
	if ((t = timegm(&back)) == (time_t)-1 && tm.tm_year != 69)
		return 0;
	if (gmtime_r(&t, &back) == NULL)
		return 0;
	return back.tm_year == tm.tm_year && back.tm_mon == tm.tm_mon &&
	    back.tm_mday == tm.tm_mday && back.tm_hour == tm.tm_hour &&
	    back.tm_min == tm.tm_min && back.tm_sec == tm.tm_sec;
}

/* Decode strict base64 known to be good (b64len) into out. */
static void
b64dec(const char *s, size_t n, uint8_t *out)
{
	unsigned long acc = 0;
	size_t i, o = 0;
	int bits = 0;

	for (i = 0; i < n && s[i] != '='; i++) {
		acc = (acc << 6) | (unsigned long)fz_b64val(s[i]);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
}

static int
model(const char *b, size_t n, struct auth_reply *m, int failure)
{
	char d[XG_DOMAIN_NAME_MAX + 1], delay[8], resp[64];
	struct netaddr na;
	size_t pos = 0, llen, klen, vlen, cap, i;
	const char *l, *nl, *eq, *v;
	char *dst;
	int *has;

	memset(m, 0, sizeof(*m));
	if (n > XG_HELPER_REPLY_MAX || memchr(b, '\0', n) != NULL)
		return -1;
	while (pos < n) {
		l = b + pos;
		nl = memchr(l, '\n', n - pos);
		llen = nl ? (size_t)(nl - l) : n - pos;
		pos += llen + 1;
		if (llen == 0)
			continue;
		if ((eq = memchr(l, '=', llen)) == NULL)
			return -1;
		klen = (size_t)(eq - l);
		v = eq + 1;
		vlen = llen - klen - 1;
		if (failure && klen == 7 && memcmp(l, "message", 7) == 0) {
			dst = m->message;
			has = &m->has_message;
			cap = XG_FAILURE_TEXT_MAX;
		} else if (failure && klen == 5 && memcmp(l, "delay", 5) == 0) {
			dst = delay;
			has = &m->has_delay;
			cap = 5;
		} else if (failure && klen == 9 &&
		    memcmp(l, "condition", 9) == 0) {
			dst = m->condition;
			has = &m->has_condition;
			cap = XG_FAST_CONDITION_MAX;
		} else if (failure) {
			return -1;
		} else if (klen == 10 && memcmp(l, "fast-token", 10) == 0) {
			dst = m->fast_token;
			has = &m->has_fast_token;
			cap = XG_FAST_TOKEN_MAX;
		} else if (klen == 11 && memcmp(l, "fast-expiry", 11) == 0) {
			dst = m->fast_expiry;
			has = &m->has_fast_expiry;
			cap = XG_FAST_EXPIRY_LEN;
		} else if (klen == 14 && memcmp(l, "fast-responder", 14) == 0) {
			dst = resp;
			has = &m->has_fast_responder;
			cap = sizeof(resp) - 1;
		} else if (klen == 8 && memcmp(l, "redirect", 8) == 0) {
			dst = m->redirect;
			has = &m->has_redirect;
			cap = XG_BACKEND_ADDR_MAX;
		} else if (klen == 7 && memcmp(l, "backend", 7) == 0) {
			dst = m->backend;
			has = &m->has_backend;
			cap = XG_BACKEND_ADDR_MAX;
		} else if (klen == 4 && memcmp(l, "user", 4) == 0) {
			dst = m->user;
			has = &m->has_user;
			cap = XG_SASL_FIELD_MAX;
		} else if (klen == 8 && memcmp(l, "password", 8) == 0) {
			dst = m->pass;
			has = &m->has_pass;
			cap = XG_SASL_FIELD_MAX;
		} else if (klen == 8 && memcmp(l, "identity", 8) == 0) {
			dst = m->identity;
			has = &m->has_identity;
			cap = XG_SASL_FIELD_MAX;
		} else if (klen == 5 && memcmp(l, "scram", 5) == 0) {
			dst = m->scram;
			has = &m->has_scram;
			cap = XG_SASL_FIELD_MAX;
		} else if (klen == 7 && memcmp(l, "require", 7) == 0) {
			/* s2s; its value is judged by federation.c */
			dst = m->require;
			has = &m->has_require;
			cap = sizeof(m->require) - 1;
		} else
			return -1;
		if (*has || vlen == 0 || vlen > cap)
			return -1;
		for (i = 0; i < vlen; i++)
			if ((unsigned char)v[i] < 0x20 ||
			    (unsigned char)v[i] == 0x7f)
				return -1;
		memcpy(dst, v, vlen);
		dst[vlen] = '\0';
		*has = 1;
		if (dst == delay) {
			for (i = 0; i < vlen; i++)
				if (v[i] < '0' || v[i] > '9')
					return -1;
			if ((m->delay_ms = atoi(delay)) > XG_FAILURE_DELAY_MAX)
				return -1;
		}
		if (dst == m->redirect && (strchr(dst, ':') != NULL ?
		    netaddr_parse(dst, &na) == -1 || na.is_unix :
		    xg_domain_normalize(dst, d, sizeof(d)) == -1))
			return -1;
		if (dst == m->pass)
			m->pass_len = vlen;
		if (dst == m->backend && netaddr_parse(dst, &na) == -1)
			return -1;
		if (dst == m->scram && !scram_ok(v, vlen))
			return -1;
		if (dst == m->identity)
			for (i = 0; i < vlen; i++)
				if (strchr("@/ \"&'<>:", v[i]) != NULL)
					return -1;
		if (dst == m->condition &&
		    strcmp(dst, "credentials-expired") != 0)
			return -1;
		if (dst == m->fast_token) {
			if (vlen < 16)
				return -1;
			for (i = 0; i < vlen; i++)
				if (!((v[i] >= 'A' && v[i] <= 'Z') ||
				    (v[i] >= 'a' && v[i] <= 'z') ||
				    (v[i] >= '0' && v[i] <= '9') ||
				    strchr("._~:+/=-", v[i]) != NULL))
					return -1;
		}
		if (dst == m->fast_expiry && !expiry_ok(v, vlen))
			return -1;
		if (dst == resp) {
			if (b64len(v, vlen) != XG_FAST_HMAC_LEN)
				return -1;
			b64dec(v, vlen, m->fast_responder);
		}
	}
	if (m->has_fast_token != m->has_fast_expiry)
		return -1;
	return 0;
}

static void
check_fields(const struct auth_reply *r)
{
	FUZZ_CHECK(fz_terminated(r->backend, sizeof(r->backend)));
	FUZZ_CHECK(fz_terminated(r->user, sizeof(r->user)));
	FUZZ_CHECK(fz_terminated(r->pass, sizeof(r->pass)));
	FUZZ_CHECK(r->has_backend == (r->backend[0] != '\0'));
	FUZZ_CHECK(r->has_user == (r->user[0] != '\0'));
	FUZZ_CHECK(r->has_pass == (r->pass[0] != '\0'));
	FUZZ_CHECK(r->pass_len == strlen(r->pass));
	FUZZ_CHECK(fz_terminated(r->identity, sizeof(r->identity)));
	FUZZ_CHECK(r->has_identity == (r->identity[0] != '\0'));
	FUZZ_CHECK(fz_terminated(r->scram, sizeof(r->scram)));
	FUZZ_CHECK(r->has_scram == (r->scram[0] != '\0'));
	FUZZ_CHECK(fz_terminated(r->require, sizeof(r->require)));
	FUZZ_CHECK(r->has_require == (r->require[0] != '\0'));
	FUZZ_CHECK(fz_terminated(r->redirect, sizeof(r->redirect)));
	FUZZ_CHECK(r->has_redirect == (r->redirect[0] != '\0'));
	FUZZ_CHECK(fz_terminated(r->message, sizeof(r->message)));
	FUZZ_CHECK(r->has_message == (r->message[0] != '\0'));
	FUZZ_CHECK(r->has_delay || r->delay_ms == 0);
	FUZZ_CHECK(fz_terminated(r->fast_token, sizeof(r->fast_token)));
	FUZZ_CHECK(r->has_fast_token == (r->fast_token[0] != '\0'));
	FUZZ_CHECK(fz_terminated(r->fast_expiry, sizeof(r->fast_expiry)));
	FUZZ_CHECK(r->has_fast_expiry == (r->fast_expiry[0] != '\0'));
	FUZZ_CHECK(r->has_fast_responder || fz_zero(r->fast_responder,
	    sizeof(r->fast_responder)));
	FUZZ_CHECK(fz_terminated(r->condition, sizeof(r->condition)));
	FUZZ_CHECK(r->has_condition == (r->condition[0] != '\0'));
}

static int
same(const struct auth_reply *a, const struct auth_reply *b)
{
	return a->has_backend == b->has_backend &&
	    a->has_user == b->has_user && a->has_pass == b->has_pass &&
	    strcmp(a->backend, b->backend) == 0 &&
	    strcmp(a->user, b->user) == 0 &&
	    a->pass_len == b->pass_len && strcmp(a->pass, b->pass) == 0 &&
	    a->has_identity == b->has_identity &&
	    strcmp(a->identity, b->identity) == 0 &&
	    a->has_scram == b->has_scram && strcmp(a->scram, b->scram) == 0 &&
	    a->has_require == b->has_require &&
	    strcmp(a->require, b->require) == 0 &&
	    a->has_redirect == b->has_redirect &&
	    strcmp(a->redirect, b->redirect) == 0 &&
	    a->has_message == b->has_message &&
	    strcmp(a->message, b->message) == 0 &&
	    a->has_delay == b->has_delay && a->delay_ms == b->delay_ms &&
	    a->has_fast_token == b->has_fast_token &&
	    strcmp(a->fast_token, b->fast_token) == 0 &&
	    a->has_fast_expiry == b->has_fast_expiry &&
	    strcmp(a->fast_expiry, b->fast_expiry) == 0 &&
	    a->has_fast_responder == b->has_fast_responder &&
	    memcmp(a->fast_responder, b->fast_responder,
	    sizeof(a->fast_responder)) == 0 &&
	    a->has_condition == b->has_condition &&
	    strcmp(a->condition, b->condition) == 0;
}

/* Write the fields out again as a helper would. */
static size_t
serialize(const struct auth_reply *r, char *out)
{
	size_t o = 0;

	if (r->has_user)
		o += (size_t)sprintf(out + o, "user=%s\n", r->user);
	if (r->has_pass)
		o += (size_t)sprintf(out + o, "password=%s\n", r->pass);
	if (r->has_identity)
		o += (size_t)sprintf(out + o, "identity=%s\n", r->identity);
	if (r->has_scram)
		o += (size_t)sprintf(out + o, "scram=%s\n", r->scram);
	if (r->has_require)
		o += (size_t)sprintf(out + o, "require=%s\n", r->require);
	if (r->has_redirect)
		o += (size_t)sprintf(out + o, "redirect=%s\n", r->redirect);
	if (r->has_message)
		o += (size_t)sprintf(out + o, "message=%s\n", r->message);
	if (r->has_delay)
		o += (size_t)sprintf(out + o, "delay=%d\n", r->delay_ms);
	if (r->has_fast_token)
		o += (size_t)sprintf(out + o, "fast-token=%s\nfast-expiry=%s\n",
		    r->fast_token, r->fast_expiry);
	if (r->has_fast_responder) {
		char b64[64];

		FUZZ_CHECK(xg_b64_encode(r->fast_responder,
		    sizeof(r->fast_responder), b64, sizeof(b64)) > 0);
		o += (size_t)sprintf(out + o, "fast-responder=%s\n", b64);
	}
	if (r->has_backend)
		o += (size_t)sprintf(out + o, "backend=%s", r->backend);
	return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t errsizes[] = { 0, 1, 2, 16, XG_REASON_MAX };
	static char re[XG_HELPER_REPLY_MAX + 64];
	size_t errsz, n = size, rn;
	char *buf, *err;
	int rc, mrc;

	/* authhelper_run never reads more than this. */
	if (n > XG_HELPER_REPLY_MAX + 1)
		n = XG_HELPER_REPLY_MAX + 1;
	errsz = errsizes[size % 5];
	buf = malloc(n ? n : 1);
	err = malloc(errsz ? errsz : 1);
	FUZZ_CHECK(buf != NULL && err != NULL);
	memcpy(buf, data, n);
	memset(err, 'E', errsz ? errsz : 1);
	memset(&got, 0xA5, sizeof(got));

	/* A rejection's reply: message= and delay= only. */
	memset(&got, 0xA5, sizeof(got));
	rc = authhelper_parse_failure(buf, n, &got, NULL, 0);
	mrc = model(buf, n, &want, 1);
	FUZZ_CHECK(rc == mrc);
	if (rc == 0) {
		check_fields(&got);
		FUZZ_CHECK(same(&got, &want));
	} else
		FUZZ_CHECK(fz_zero(&got, sizeof(got)));
	memset(&got, 0xA5, sizeof(got));

	rc = authhelper_parse_reply(buf, n, &got, errsz ? err : NULL, errsz);
	mrc = model(buf, n, &want, 0);
	FUZZ_CHECK(rc == 0 || rc == -1);
	FUZZ_CHECK(rc == mrc);
	if (rc == -1) {
		FUZZ_CHECK(fz_zero(&got, sizeof(got)));
		if (errsz > 0) {
			FUZZ_CHECK(fz_terminated(err, errsz));
			if (errsz > 1)
				FUZZ_CHECK(err[0] != '\0');
		}
		goto done;
	}
	check_fields(&got);
	FUZZ_CHECK(same(&got, &want));
	rn = serialize(&got, re);
	FUZZ_CHECK(rn <= sizeof(re));
	FUZZ_CHECK(authhelper_parse_reply(re, rn, &again, NULL, 0) ==
	    (rn <= XG_HELPER_REPLY_MAX ? 0 : -1));
	if (rn <= XG_HELPER_REPLY_MAX)
		FUZZ_CHECK(same(&got, &again));
	auth_reply_wipe(&again);
	auth_reply_wipe(&got);
	FUZZ_CHECK(fz_zero(&got, sizeof(got)));
done:
	free(buf);
	free(err);
	return 0;
}
