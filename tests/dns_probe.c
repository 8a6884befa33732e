/*
 * dns_probe SERVER DOMAIN [TIMEOUT_MS]: what src/dns.c finds for
 * DOMAIN's s2s service (tests/t-dns.sh).  SERVER is "ADDR[@PORT]", or "-"
 * for /etc/resolv.conf.  Prints
 *   targets RESULT secure 0|1 [WHY]
 *   direct|starttls HOST PORT          (one per target, in order)
 *   addr HOST ADDRESS PORT             (each target's addresses)
 *   addr HOST RESULT WHY               (when a target has none)
 * and exits with the targets' result: 0 OK, 1 NONE, 2 TIMEOUT, 3 FAIL;
 * 100 for a bad command line, 111 if the resolver cannot start.
 * TIMEOUT_MS (default 5000) is each lookup's deadline.  XG_DNS_ANCHOR,
 * if set, names a trust-anchor file: answers are then DNSSEC-validated.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "xmppgate.h"

int
main(int argc, char **argv)
{
	struct srv_target t[XG_SRV_TARGETS_MAX];
	struct sockaddr_storage ss[8];
	socklen_t sl[8];
	char why[512], text[INET6_ADDRSTRLEN];
	struct dns *d;
	enum dns_result r, ra;
	size_t n, na, i, j;
	long timeout = 5000;
	int secure, sa;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: dns_probe SERVER DOMAIN [TIMEOUT_MS]\n");
		return 100;
	}
	if (argc == 4 && ((timeout = atol(argv[3])) < 1 || timeout > 600000)) {
		fprintf(stderr, "dns_probe: bad timeout %s\n", argv[3]);
		return 100;
	}
	d = dns_new(strcmp(argv[1], "-") == 0 ? NULL : argv[1],
	    getenv("XG_DNS_ANCHOR"), why, sizeof(why));
	if (d == NULL) {
		fprintf(stderr, "dns_probe: %s\n", why);
		return 111;
	}
	r = dns_s2s_targets(d, argv[2], now_ms() + timeout, t,
	    XG_SRV_TARGETS_MAX, &n, &secure, why, sizeof(why));
	printf("targets %s secure %d%s%s\n", dns_result_str(r), secure,
	    why[0] != '\0' ? " " : "", why);
	for (i = 0; r == DNS_OK && i < n; i++)
		printf("%s %s %u\n", t[i].direct_tls ? "direct" : "starttls",
		    t[i].host, t[i].port);
	for (i = 0; r == DNS_OK && i < n; i++) {
		ra = dns_addrs(d, t[i].host, t[i].port, now_ms() + timeout,
		    ss, sl, 8, &na, &sa, why, sizeof(why));
		if (ra != DNS_OK) {
			printf("addr %s %s %s\n", t[i].host,
			    dns_result_str(ra), why);
			continue;
		}
		for (j = 0; j < na; j++) {
			const void *a = ss[j].ss_family == AF_INET6 ?
			    (const void *)&((struct sockaddr_in6 *)&ss[j])->sin6_addr :
			    (const void *)&((struct sockaddr_in *)&ss[j])->sin_addr;
			uint16_t port = ss[j].ss_family == AF_INET6 ?
			    ((struct sockaddr_in6 *)&ss[j])->sin6_port :
			    ((struct sockaddr_in *)&ss[j])->sin_port;
			inet_ntop(ss[j].ss_family, a, text, sizeof(text));
			printf("addr %s %s %u%s\n", t[i].host, text,
			    ntohs(port), sl[j] == (ss[j].ss_family == AF_INET6 ?
			    sizeof(struct sockaddr_in6) :
			    sizeof(struct sockaddr_in)) ? "" : " BADLEN");
		}
	}
	dns_free(d);
	return r == DNS_OK ? 0 : r == DNS_NONE ? 1 : r == DNS_TIMEOUT ? 2 : 3;
}
