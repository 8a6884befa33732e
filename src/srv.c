/*
 * SRV records for outbound federation (RFC 2782; RFC 6120 3.2.1;
 * XEP-0368): one record's RDATA parsed, and a lookup's records put in the
 * order to try them.  Pure: no I/O, no globals, no allocation; dns.c
 * feeds it what libunbound returned, which is the remote's (or an
 * attacker's) bytes, so every bound is checked here.
 *
 * The RDATA is priority, weight and port (16 bits each, network order)
 * and the target, an uncompressed domain name (RFC 2782: "name
 * compression is not to be used for this field"; RFC 3597 4 forbids it in
 * RDATA of types that postdate RFC 1035).  What is refused:
 * - RDATA shorter than 7 bytes or longer than XG_SRV_RDATA_MAX;
 * - a label length byte with either top bit set (a compression pointer
 *   or an extended label type), so every label is at most 63 bytes;
 * - a name that runs past the RDATA, or bytes after its terminating root
 *   label;
 * - a name longer than XG_DOMAIN_NAME_MAX (253) in text form;
 * - a byte outside letters, digits and '-' (the LDH rule of RFC 1123
 *   2.1 for host names), or a label that starts or ends with '-'.  No '_':
 *   a target is a host with A/AAAA records, and its name becomes the TLS
 *   SNI (RFC 6066 3: a host name), so an underscore is no host.  Upper
 *   case is folded to lower case.
 * - port 0, which no server listens on.
 * The root name "." alone is RFC 2782's "service decidedly not
 * available": 1, not an error.
 */
#include <stdio.h>
#include <string.h>
#include "xmppgate.h"

static void srv_why(char *why, size_t whysz, const char *what);
static int ldh(unsigned char c);

static void
srv_why(char *why, size_t whysz, const char *what)
{
	if (why != NULL && whysz > 0)
		snprintf(why, whysz, "%s", what);
}

static int
ldh(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

int
srv_parse(const uint8_t *rdata, size_t len, int direct_tls,
    struct srv_target *out, char *why, size_t whysz)
{
	char host[XG_DOMAIN_NAME_MAX + 1];
	size_t pos, hl = 0, i;
	unsigned lab;

	if (rdata == NULL || out == NULL) {
		srv_why(why, whysz, "no SRV record");
		return -1;
	}
	if (len < 7) {
		srv_why(why, whysz, "SRV record too short");
		return -1;
	}
	if (len > XG_SRV_RDATA_MAX) {
		srv_why(why, whysz, "SRV record too long");
		return -1;
	}
	pos = 6;
	if (rdata[pos] == 0) {
		if (len != 7) {
			srv_why(why, whysz, "bytes after the SRV target");
			return -1;
		}
		return 1;
	}
	for (;;) {
		lab = rdata[pos++];
		if (lab == 0)
			break;
		if (lab & 0xC0) {
			srv_why(why, whysz, (lab & 0xC0) == 0xC0 ?
			    "compressed SRV target" : "SRV target label too long");
			return -1;
		}
		if (lab > len - pos) {
			srv_why(why, whysz, "SRV target runs past the record");
			return -1;
		}
		/* The dot before it, then the label. */
		if (hl + (hl > 0) + lab > XG_DOMAIN_NAME_MAX) {
			srv_why(why, whysz, "SRV target name too long");
			return -1;
		}
		if (hl > 0)
			host[hl++] = '.';
		for (i = 0; i < lab; i++) {
			unsigned char c = rdata[pos + i];
			if (c >= 'A' && c <= 'Z')
				c += 'a' - 'A';
			if (!ldh(c)) {
				srv_why(why, whysz, "SRV target has a byte"
				    " outside letters, digits and '-'");
				return -1;
			}
			host[hl++] = (char)c;
		}
		if (rdata[pos] == '-' || rdata[pos + lab - 1] == '-') {
			srv_why(why, whysz,
			    "SRV target label starts or ends with '-'");
			return -1;
		}
		pos += lab;
		if (pos >= len) {
			srv_why(why, whysz, "SRV target runs past the record");
			return -1;
		}
	}
	if (pos != len) {
		srv_why(why, whysz, "bytes after the SRV target");
		return -1;
	}
	if (rdata[4] == 0 && rdata[5] == 0) {
		srv_why(why, whysz, "SRV port 0");
		return -1;
	}
	memset(out, 0, sizeof(*out));
	memcpy(out->host, host, hl);
	out->host[hl] = '\0';
	out->priority = (uint16_t)(rdata[0] << 8 | rdata[1]);
	out->weight = (uint16_t)(rdata[2] << 8 | rdata[3]);
	out->port = (uint16_t)(rdata[4] << 8 | rdata[5]);
	out->direct_tls = direct_tls != 0;
	return 0;
}

int
srv_hostname_ok(const char *name)
{
	size_t n, i, lab = 0;

	if (name == NULL)
		return 0;
	n = strnlen(name, XG_DOMAIN_NAME_MAX + 1);
	if (n == 0 || n > XG_DOMAIN_NAME_MAX)
		return 0;
	for (i = 0; i <= n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c == '.' || c == '\0') {
			if (lab == 0 || lab > 63 || name[i - 1] == '-')
				return 0;
			lab = 0;
			continue;
		}
		if (!ldh(c) || (lab == 0 && c == '-'))
			return 0;
		lab++;
	}
	return 1;
}

/*
 * RFC 2782, "Usage rules": within one priority, records of weight 0
 * first, then repeatedly a random number R in [0, sum of the weights
 * left], and the first record whose running sum is at least R comes
 * next.  R is rnd() modulo (sum + 1): the sum is below 2^32 for any
 * realistic n (at most XG_SRV_TARGETS_MAX * 65535 < 2^21 from dns.c), so
 * the bias is below 2^-11 and does not matter for load spreading.
 */
void
srv_order(struct srv_target *t, size_t n, uint32_t (*rnd)(void *),
    void *arg)
{
	struct srv_target tmp;
	size_t i, j, start, end, k;
	uint64_t sum, r, run;

	if (t == NULL || n < 2)
		return;
	/* Stable insertion sort by priority; weight 0 first in a priority. */
	for (i = 1; i < n; i++) {
		tmp = t[i];
		for (j = i; j > 0 && (t[j - 1].priority > tmp.priority ||
		    (t[j - 1].priority == tmp.priority &&
		    t[j - 1].weight != 0 && tmp.weight == 0)); j--)
			t[j] = t[j - 1];
		t[j] = tmp;
	}
	for (start = 0; start < n; start = end) {
		for (end = start + 1; end < n &&
		    t[end].priority == t[start].priority; end++)
			;
		/* t[start..k) are placed; pick t[k] from t[k..end). */
		for (k = start; k + 1 < end; k++) {
			sum = 0;
			for (i = k; i < end; i++)
				sum += t[i].weight;
			r = rnd != NULL ? rnd(arg) % (sum + 1) : 0;
			run = 0;
			for (i = k; i < end; i++) {
				run += t[i].weight;
				if (run >= r)
					break;
			}
			if (i == end)	/* cannot happen: run reaches sum */
				i = end - 1;
			tmp = t[i];
			for (j = i; j > k; j--)
				t[j] = t[j - 1];
			t[k] = tmp;
		}
	}
}
