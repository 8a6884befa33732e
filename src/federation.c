/*
 * Server-to-server (federation) pieces that are not the session's flow
 * (main.c): the stream error text for a certificate that cannot be used,
 * and, for a stream handed to the backend after we answered the remote
 * ourselves (XEP-0344), reading the backend's header and features, which
 * the remote must not see a second time.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "xmppgate.h"

#define S2S_DEPTH_MAX	16	/* nesting in the backend's features */

/* What the remote's operator reads when a certificate is required
 * (the wording follows Prosody's, which remotes already log). */
const char *
s2s_cert_refusal(const char *status)
{
	if (status == NULL || strcmp(status, "none") == 0)
		return "Your server did not present a certificate";
	if (strcmp(status, "expired") == 0)
		return "Your server's certificate has expired";
	if (strcmp(status, "not-yet-valid") == 0)
		return "Your server's certificate is not yet valid";
	if (strcmp(status, "untrusted") == 0)
		return "Your server's certificate is not trusted";
	if (strcmp(status, "name-mismatch") == 0)
		return "Your server's certificate is not valid for this name";
	if (strcmp(status, "revoked") == 0)
		return "Your server's certificate has been revoked";
	return "Your server's certificate could not be validated";
}

/*
 * The backend's answer to the header we replayed: an XML declaration, its
 * stream header and its features, read and dropped.  Nothing may follow
 * them before the remote's next stanza; 0, or -1 with why.
 */
int
s2s_skip_features(struct conn *bc, int64_t deadline, char *why, size_t whysz)
{
	static struct xml_token tok;
	uint8_t buf[XG_READ_BUF];
	size_t len = 0, used, total = 0;
	int depth = 0, features = 0, decl = 0;
	enum xml_result xr;
	ssize_t n;

	for (;;) {
		while (len > 0) {
			xr = xml_lex(buf, len, &tok, &used);
			if (xr == XML_MORE)
				break;
			if (xr != XML_OK) {
				snprintf(why, whysz, "backend sent bad XML: %s",
				    xml_result_str(xr));
				return -1;
			}
			memmove(buf, buf + used, len - used);
			len -= used;
			/* One declaration, before the header. */
			if (tok.type == XML_TOK_DECL && (depth > 0 || decl++)) {
				snprintf(why, whysz, "backend sent a misplaced "
				    "declaration");
				return -1;
			}
			if (tok.type == XML_TOK_START && depth == 0 &&
			    strcmp(tok.name, "stream:stream") != 0) {
				snprintf(why, whysz, "backend sent <%s> "
				    "instead of a stream header", tok.name);
				return -1;
			}
			if (tok.type == XML_TOK_START && depth == 1 &&
			    strcmp(tok.name, "stream:features") != 0) {
				snprintf(why, whysz, "backend sent <%s> "
				    "instead of its features", tok.name);
				return -1;
			}
			if (tok.type == XML_TOK_START && depth == 1)
				features = 1;
			if (tok.type == XML_TOK_START && !tok.empty &&
			    ++depth > S2S_DEPTH_MAX) {
				snprintf(why, whysz, "backend XML too deep");
				return -1;
			}
			if (tok.type == XML_TOK_END && --depth < 1) {
				snprintf(why, whysz, "backend closed its "
				    "stream");
				return -1;
			}
			if (features && depth == 1) {
				/* A newline after the features is dropped;
				 * anything else would be lost. */
				if (xml_ws_span(buf, len) < len) {
					snprintf(why, whysz, "backend sent "
					    "data after its features");
					return -1;
				}
				return 0;
			}
		}
		if (len == sizeof(buf) || total > XG_FEATURES_MAX) {
			snprintf(why, whysz, "backend features too long");
			return -1;
		}
		n = conn_read(bc, buf + len, sizeof(buf) - len, deadline);
		if (n <= 0) {
			snprintf(why, whysz, "backend %s before its features",
			    n == 0 ? "closed the connection" : errno ==
			    ETIMEDOUT ? "timed out" : strerror(errno));
			return -1;
		}
		len += (size_t)n;
		total += (size_t)n;
	}
}
