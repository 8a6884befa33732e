/*
 * libFuzzer target: the socket form of xmppgate-auth(5) (src/authreq.c),
 * both ways.  The first byte picks the direction:
 *
 *  even: the helper's answer, as authsocket_run takes it (at most
 *        XG_AUTHREQ_ANSWER_MAX + 1 bytes): authreq_verdict against a
 *        model (exactly "accept", "reject" or "tempfail" and LF first),
 *        then the rest through authhelper_parse_reply or _failure, as
 *        authsocket_run does; a refused reply must be wiped.
 *  odd:  a request, as contrib/authlisten.c reads it: authreq_decode on a
 *        buffer of exactly the input's size (ASan sees any overrun).  "Need
 *        more" and a refused name (-2: well formed, but a field xmppgate
 *        never sends) must leave the buffer untouched, the refused name
 *        inside it; a decoded request, encoded
 *        again with authreq_encode, must give back exactly the input, so
 *        the two agree on every rule and no field or password byte is
 *        lost or invented.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "xmppgate.h"
#include "fuzz_common.h"

static struct auth_reply got;
static char envbuf[XG_AUTHREQ_MAX + 2 * XG_AUTHREQ_FIELDS_MAX];
static char again[XG_AUTHREQ_MAX + 64];

static void
answer(const uint8_t *data, size_t n)
{
	static const char *const words[] = { "accept\n", "reject\n",
	    "tempfail\n" };
	const char *b = (const char *)data;
	enum auth_verdict v = (enum auth_verdict)-1;
	size_t off = 0, i, wl;
	int rc, want = -1;

	for (i = 0; i < 3; i++) {
		wl = strlen(words[i]);
		if (n >= wl && memcmp(b, words[i], wl) == 0)
			want = (int)i;
	}
	rc = authreq_verdict(b, n, &v, &off);
	FUZZ_CHECK(rc == (want == -1 ? -1 : 0));
	if (rc == -1)
		return;
	FUZZ_CHECK((int)v == (want == 0 ? AUTH_ACCEPT : want == 1 ?
	    AUTH_REJECT : AUTH_TEMPFAIL));
	FUZZ_CHECK(off == strlen(words[want]) && off <= n &&
	    off <= XG_AUTHREQ_VERDICT_MAX);
	if (n - off > XG_HELPER_REPLY_MAX)
		return;			/* authsocket_run refuses it first */
	memset(&got, 0xA5, sizeof(got));
	rc = v == AUTH_ACCEPT ? authhelper_parse_reply(b + off, n - off, &got,
	    NULL, 0) : authhelper_parse_failure(b + off, n - off, &got, NULL,
	    0);
	if (rc == -1)
		FUZZ_CHECK(fz_zero(&got, sizeof(got)));
	auth_reply_wipe(&got);
}

static void
request(const uint8_t *data, size_t n)
{
	char *envp[XG_AUTHREQ_FIELDS_MAX + 1];
	struct authreq rq;
	char *buf = malloc(n ? n : 1);
	size_t i, used = 0, nl, vl, len;
	int rc;

	FUZZ_CHECK(buf != NULL);
	memcpy(buf, data, n);
	rc = authreq_decode(buf, n, &rq);
	FUZZ_CHECK(rc >= -2 && rc <= 1);
	if (rc == 0 || rc == -2)
		FUZZ_CHECK(memcmp(buf, data, n) == 0);
	if (rc == -2)
		FUZZ_CHECK(rq.refused >= buf && rq.refused_len > 0 &&
		    rq.refused_len <= XG_AUTHREQ_NAME_MAX &&
		    rq.refused + rq.refused_len < buf + n &&
		    rq.refused[rq.refused_len] == '=');
	if (rc == 0)
		FUZZ_CHECK(n < XG_AUTHREQ_MAX);
	if (rc != 1)
		goto done;
	FUZZ_CHECK(rq.len == n && rq.nfields >= 1 &&
	    rq.nfields <= XG_AUTHREQ_FIELDS_MAX);
	FUZZ_CHECK(rq.pass_len <= XG_AUTHREQ_PASS_MAX);
	FUZZ_CHECK(rq.pass >= buf && rq.pass + rq.pass_len == buf + n);
	for (i = 0; i < rq.nfields; i++) {
		FUZZ_CHECK(rq.name[i] >= buf && rq.value[i] > rq.name[i] &&
		    rq.value[i] < rq.pass);
		nl = strlen(rq.name[i]);
		vl = strlen(rq.value[i]);
		FUZZ_CHECK(used + nl + vl + 2 <= sizeof(envbuf));
		envp[i] = envbuf + used;
		memcpy(envbuf + used, rq.name[i], nl);
		envbuf[used + nl] = '=';
		memcpy(envbuf + used + nl + 1, rq.value[i], vl + 1);
		used += nl + vl + 2;
	}
	envp[rq.nfields] = NULL;
	len = authreq_encode(envp, rq.pass, rq.pass_len, again,
	    sizeof(again));
	FUZZ_CHECK(len == n && memcmp(again, data, n) == 0);
done:
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n;

	if (size == 0)
		return 0;
	n = size - 1;
	if (data[0] % 2 == 0) {
		if (n > XG_AUTHREQ_ANSWER_MAX + 1)
			n = XG_AUTHREQ_ANSWER_MAX + 1;
		answer(data + 1, n);
	} else {
		if (n > XG_AUTHREQ_MAX + 1)
			n = XG_AUTHREQ_MAX + 1;
		request(data + 1, n);
	}
	return 0;
}
