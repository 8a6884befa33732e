/*
 * The PROXY protocol, versions 1 and 2 (HAProxy's proxy-protocol.txt):
 * reading the header that a trusted load balancer puts before the
 * client's bytes, and writing one before our stream to the backend, so
 * that each side learns the client's real address.  Parsing, building
 * and the --trusted-proxy match are pure functions over bytes; arrival.c
 * reads the socket.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "xmppgate.h"

#define V1_PREFIX	"PROXY "
#define V1_PREFIX_LEN	6
#define V2_SIG_LEN	12
#define V2_FIXED	16	/* signature, version/command, family, length */
#define V2_INET		12	/* two IPv4 addresses, two ports */
#define V2_INET6	36	/* two IPv6 addresses, two ports */
#define V2_UNIX		216	/* two socket paths */
#define V2_TLV_HEAD	3	/* type, 2-byte length */

static const uint8_t v2sig[V2_SIG_LEN] = {
	'\r', '\n', '\r', '\n', 0, '\r', '\n', 'Q', 'U', 'I', 'T', '\n'
};

static int	v1_parse(const uint8_t *, size_t, struct proxy_info *,
		    size_t *, const char **);
static int	v2_parse(const uint8_t *, size_t, struct proxy_info *,
		    size_t *, const char **);
static int	v1_port(const char *, char *, size_t);
static int	addr_text(int, const void *, char *, size_t);

/* A v1 port: 0..65535 in decimal, no sign, no leading zero. */
static int
v1_port(const char *s, char *out, size_t outsz)
{
	unsigned long v;

	if (xg_decimal(s, 5, &v) == -1 || (s[0] == '0' && s[1] != '\0') ||
	    v > 65535)
		return -1;
	snprintf(out, outsz, "%lu", v);
	return 0;
}

/* Canonical text of a binary address; an IPv4-mapped IPv6 address is
 * written as the IPv4 address it is, as conn.c does for its own peer. */
static int
addr_text(int af, const void *bin, char *out, size_t outsz)
{
	const uint8_t *b = bin;

	if (af == AF_INET6 && IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)bin))
		return inet_ntop(AF_INET, b + 12, out, outsz) ? 0 : -1;
	return inet_ntop(af, bin, out, outsz) ? 0 : -1;
}

/*
 * "PROXY TCP4 SRC DST SPORT DPORT\r\n", TCP6 alike, or "PROXY UNKNOWN
 * ...\r\n", at most XG_PROXY_V1_MAX bytes; single spaces, printable
 * ASCII.  The addresses must be what inet_pton() takes for the family.
 */
static int
v1_parse(const uint8_t *b, size_t len, struct proxy_info *pi, size_t *used,
    const char **why)
{
	char line[XG_PROXY_V1_MAX + 1], *f[6], *p;
	unsigned char bin[2][sizeof(struct in6_addr)];
	size_t i, end, nf = 0;
	int af, k;

	if (memcmp(b, V1_PREFIX, len < V1_PREFIX_LEN ? len :
	    V1_PREFIX_LEN) != 0) {
		*why = "no PROXY header";
		return PP_BAD;
	}
	for (end = 0; end < len; end++) {
		if (b[end] == '\r')
			break;
		if (b[end] < 0x20 || b[end] > 0x7e) {
			*why = "v1: a control or non-ASCII byte";
			return PP_BAD;
		}
	}
	if (end + 2 > XG_PROXY_V1_MAX) {
		*why = "v1: longer than 107 bytes";
		return PP_BAD;
	}
	if (end + 2 > len) {
		*used = len + 1;
		return PP_MORE;
	}
	if (b[end + 1] != '\n') {
		*why = "v1: CR without LF";
		return PP_BAD;
	}
	*used = end + 2;
	memcpy(line, b + V1_PREFIX_LEN, end - V1_PREFIX_LEN);
	line[end - V1_PREFIX_LEN] = '\0';
	for (p = line; nf < 6; ) {
		f[nf++] = p;
		if ((p = strchr(p, ' ')) == NULL)
			break;
		*p++ = '\0';
	}
	if (strcmp(f[0], "UNKNOWN") == 0) {
		/* The rest of the line is to be ignored. */
		pi->version = 1;
		pi->local = 1;
		return PP_OK;
	}
	if (strcmp(f[0], "TCP4") == 0)
		af = AF_INET;
	else if (strcmp(f[0], "TCP6") == 0)
		af = AF_INET6;
	else {
		*why = "v1: protocol is not TCP4, TCP6 or UNKNOWN";
		return PP_BAD;
	}
	if (nf != 5 || p != NULL) {
		*why = "v1: not five fields separated by single spaces";
		return PP_BAD;
	}
	for (i = 1; i < 5; i++)
		if (f[i][0] == '\0') {
			*why = "v1: not five fields separated by single spaces";
			return PP_BAD;
		}
	for (k = 0; k < 2; k++)
		if (inet_pton(af, f[1 + k], bin[k]) != 1) {
			*why = "v1: an address that is not the protocol's";
			return PP_BAD;
		}
	if (v1_port(f[3], pi->src_port, sizeof(pi->src_port)) == -1 ||
	    v1_port(f[4], pi->dst_port, sizeof(pi->dst_port)) == -1) {
		*why = "v1: a port that is not 0 to 65535";
		return PP_BAD;
	}
	if (addr_text(af, bin[0], pi->src_ip, sizeof(pi->src_ip)) == -1 ||
	    addr_text(af, bin[1], pi->dst_ip, sizeof(pi->dst_ip)) == -1) {
		*why = "v1: an address that is not the protocol's";
		return PP_BAD;
	}
	pi->version = 1;
	return PP_OK;
}

/*
 * The 16 fixed bytes, then the address block and TLVs.  LOCAL (a health
 * check) and the families we do not route (UNSPEC, UDP, UNIX) mean: use
 * the connection's own addresses.  TLVs must fill the block exactly.
 */
static int
v2_parse(const uint8_t *b, size_t len, struct proxy_info *pi, size_t *used,
    const char **why)
{
	size_t total, alen, need = 0, p, tl;
	int af = 0, cmd;

	if (memcmp(b, v2sig, len < V2_SIG_LEN ? len : V2_SIG_LEN) != 0) {
		*why = "no PROXY header";
		return PP_BAD;
	}
	if (len < V2_FIXED) {
		*used = V2_FIXED;
		return PP_MORE;
	}
	if ((b[12] >> 4) != 2) {
		*why = "v2: version is not 2";
		return PP_BAD;
	}
	cmd = b[12] & 0x0f;
	if (cmd > 1) {
		*why = "v2: command is not LOCAL or PROXY";
		return PP_BAD;
	}
	alen = (size_t)b[14] << 8 | b[15];
	total = V2_FIXED + alen;
	if (total > XG_PROXY_HDR_MAX) {
		*why = "v2: longer than the limit";
		return PP_BAD;
	}
	if (len < total) {
		*used = total;
		return PP_MORE;
	}
	*used = total;
	pi->version = 2;
	pi->local = 1;
	if (cmd == 0)		/* LOCAL: the whole block is to be ignored */
		return PP_OK;
	switch (b[13]) {
	case 0x00: return PP_OK;	/* UNSPEC: the block is to be ignored */
	case 0x11: need = V2_INET; af = AF_INET; break;	/* TCP over IPv4 */
	case 0x12: need = V2_INET; break;		/* UDP over IPv4 */
	case 0x21: need = V2_INET6; af = AF_INET6; break;
	case 0x22: need = V2_INET6; break;
	case 0x31: case 0x32: need = V2_UNIX; break;
	default:
		*why = "v2: unknown address family or protocol";
		return PP_BAD;
	}
	if (alen < need) {
		*why = "v2: address block shorter than its family's";
		return PP_BAD;
	}
	for (p = V2_FIXED + need; p < total; p += V2_TLV_HEAD + tl) {
		if (total - p < V2_TLV_HEAD ||
		    (tl = (size_t)b[p + 1] << 8 | b[p + 2]) >
		    total - p - V2_TLV_HEAD) {
			*why = "v2: a TLV runs past the header";
			return PP_BAD;
		}
	}
	if (af == 0)		/* UDP, UNIX: not our kind of client */
		return PP_OK;
	pi->local = 0;
	if (addr_text(af, b + V2_FIXED, pi->src_ip, sizeof(pi->src_ip)) == -1 ||
	    addr_text(af, b + V2_FIXED + need / 2 - 2, pi->dst_ip,
	    sizeof(pi->dst_ip)) == -1) {
		*why = "v2: bad address";
		return PP_BAD;
	}
	p = V2_FIXED + need - 4;
	snprintf(pi->src_port, sizeof(pi->src_port), "%u",
	    (unsigned)(b[p] << 8 | b[p + 1]));
	snprintf(pi->dst_port, sizeof(pi->dst_port), "%u",
	    (unsigned)(b[p + 2] << 8 | b[p + 3]));
	return PP_OK;
}

int
proxy_parse(const uint8_t *b, size_t len, struct proxy_info *pi,
    size_t *used, const char **why)
{
	memset(pi, 0, sizeof(*pi));
	*why = "";
	if (len == 0) {
		*used = 1;
		return PP_MORE;
	}
	if (b[0] == 'P')
		return v1_parse(b, len, pi, used, why);
	if (b[0] == '\r')
		return v2_parse(b, len, pi, used, why);
	*why = "no PROXY header";
	return PP_BAD;
}

/*
 * The header that tells the backend about the client: src is the client,
 * dst the address it connected to.  Addresses that are not IP (a UNIX
 * socket, unknown) give v1 UNKNOWN or v2 PROXY with family UNSPEC; an
 * IPv4 and an IPv6 address are sent as two IPv6 addresses.  Returns the
 * length, or 0 when out is too small.
 */
size_t
proxy_build(int version, const char *sip, const char *sport, const char *dip,
    const char *dport, uint8_t *out, size_t outsz)
{
	unsigned char a[2][sizeof(struct in6_addr)];
	const char *ip[2] = { sip, dip }, *port[2] = { sport, dport };
	char txt[2][INET6_ADDRSTRLEN], pn[2][8];
	int af[2], k, n, ok = 1;
	size_t alen, i;

	for (k = 0; k < 2; k++) {
		if (inet_pton(AF_INET, ip[k], a[k]) == 1)
			af[k] = AF_INET;
		else if (inet_pton(AF_INET6, ip[k], a[k]) == 1)
			af[k] = AF_INET6;
		else
			ok = 0;
		if (v1_port(port[k], pn[k], sizeof(pn[k])) == -1)
			ok = 0;
	}
	if (ok && af[0] != af[1]) {
		/* One of each: the IPv4 one as ::ffff:a.b.c.d. */
		for (k = 0; k < 2; k++) {
			if (af[k] != AF_INET)
				continue;
			memmove(a[k] + 12, a[k], 4);
			memset(a[k], 0, 10);
			a[k][10] = a[k][11] = 0xff;
			af[k] = AF_INET6;
		}
	}
	if (version == 1) {
		if (!ok)
			n = snprintf((char *)out, outsz, "PROXY UNKNOWN\r\n");
		else {
			for (k = 0; k < 2; k++)
				if (inet_ntop(af[k], a[k], txt[k],
				    sizeof(txt[k])) == NULL)
					return 0;
			n = snprintf((char *)out, outsz,
			    "PROXY %s %s %s %s %s\r\n",
			    af[0] == AF_INET ? "TCP4" : "TCP6", txt[0], txt[1],
			    pn[0], pn[1]);
		}
		return n < 0 || (size_t)n >= outsz ? 0 : (size_t)n;
	}
	alen = !ok ? 0 : af[0] == AF_INET ? V2_INET : V2_INET6;
	if (outsz < V2_FIXED + alen)
		return 0;
	memcpy(out, v2sig, V2_SIG_LEN);
	out[12] = 0x21;				/* version 2, PROXY */
	out[13] = !ok ? 0x00 : af[0] == AF_INET ? 0x11 : 0x21;
	out[14] = 0;
	out[15] = (uint8_t)alen;
	if (!ok)
		return V2_FIXED;
	i = (alen - 4) / 2;			/* one address */
	memcpy(out + V2_FIXED, a[0], i);
	memcpy(out + V2_FIXED + i, a[1], i);
	for (k = 0; k < 2; k++) {
		unsigned long v = strtoul(pn[k], NULL, 10);
		out[V2_FIXED + 2 * i + 2 * k] = (uint8_t)(v >> 8);
		out[V2_FIXED + 2 * i + 2 * k + 1] = (uint8_t)v;
	}
	return V2_FIXED + alen;
}

/*
 * A TLV after a v2 header that proxy_build() made in out[0..len): the
 * header's length field grows with it.  The new length, or 0 when out is
 * too small, the value longer than a TLV can say, or out no v2 header.
 */
size_t
proxy_add_tlv(uint8_t *out, size_t len, size_t outsz, uint8_t type,
    const void *value, size_t vlen)
{
	size_t body;

	if (len < V2_FIXED || memcmp(out, v2sig, V2_SIG_LEN) != 0 ||
	    vlen > 0xffff || outsz - len < 3 + vlen)
		return 0;
	body = (size_t)out[14] << 8 | out[15];
	if (V2_FIXED + body != len || body + 3 + vlen > 0xffff)
		return 0;
	out[len] = type;
	out[len + 1] = (uint8_t)(vlen >> 8);
	out[len + 2] = (uint8_t)vlen;
	memcpy(out + len + 3, value, vlen);
	body += 3 + vlen;
	out[14] = (uint8_t)(body >> 8);
	out[15] = (uint8_t)body;
	return len + 3 + vlen;
}

/* "ADDR" or "ADDR/BITS", IPv4 or IPv6, no host bits set past BITS. */
int
cidr_parse(const char *s, struct xg_cidr *c)
{
	char addr[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s), i;
	int max;

	memset(c, 0, sizeof(*c));
	if (n == 0 || n >= sizeof(addr))
		return -1;
	memcpy(addr, s, n);
	addr[n] = '\0';
	if (inet_pton(AF_INET, addr, c->addr) == 1)
		c->family = AF_INET, max = 32;
	else if (inet_pton(AF_INET6, addr, c->addr) == 1)
		c->family = AF_INET6, max = 128;
	else
		return -1;
	c->bits = max;
	if (slash != NULL) {
		char pn[8];
		if (v1_port(slash + 1, pn, sizeof(pn)) == -1 ||
		    (c->bits = (int)strtol(pn, NULL, 10)) > max)
			return -1;
	}
	for (i = 0; i < (size_t)max; i++)
		if ((int)i >= c->bits && (c->addr[i / 8] >> (7 - i % 8) & 1))
			return -1;
	return 0;
}

/* 1 when ip (text, as conn.c formats it) is in one of the n ranges. */
int
cidr_match(const struct xg_cidr *c, size_t n, const char *ip)
{
	unsigned char a[sizeof(struct in6_addr)];
	int af, bits, full, rest;
	size_t k;

	if (inet_pton(AF_INET, ip, a) == 1)
		af = AF_INET;
	else if (inet_pton(AF_INET6, ip, a) == 1)
		af = AF_INET6;
	else
		return 0;
	for (k = 0; k < n; k++) {
		if (c[k].family != af)
			continue;
		bits = c[k].bits;
		full = bits / 8;
		rest = bits % 8;
		if (memcmp(a, c[k].addr, (size_t)full) != 0)
			continue;
		if (rest && ((a[full] ^ c[k].addr[full]) &
		    (0xff << (8 - rest)) & 0xff))
			continue;
		return 1;
	}
	return 0;
}
