/*
 * A user name as XMPP servers prepare a localpart: the Nodeprep profile
 * of stringprep (RFC 3920 appendix A over RFC 3454), from GNU libidn.
 * Prosody 0.12 (util.encodings.stringprep.nodeprep) and ejabberd
 * (jid:nodeprep, its stringprep library) both use Nodeprep, not RFC 7622's
 * PRECIS UsernameCaseMapped (which libidn2 does not provide either), so the
 * helper and the backend see the name their accounts are stored under:
 * case folded (ALICE is alice), NFKC (a full-width ａlice is alice),
 * invisible characters mapped away.  Refused: what is not UTF-8, what
 * Nodeprep prohibits (controls, spaces, "&'/:<>@, bidirectional overrides
 * such as U+202E, private use, non-characters), mixed-direction text
 * (RFC 3454 6), unassigned code points (a stored name may have none, RFC
 * 3454 7), and a name that is empty or longer than XG_LOCALPART_MAX
 * octets, before or after preparation.
 */
#include <string.h>
#include <stringprep.h>
#include "xmppgate.h"

int
xg_localpart_prep(const char *in, size_t n, char *out, size_t outsz,
    const char **why)
{
	char buf[XG_LOCALPART_MAX + 1];
	size_t len;
	int rc;

	*why = "empty";
	if (outsz > 0)
		out[0] = '\0';
	if (n == 0)
		return -1;
	*why = "too long";
	if (n > XG_LOCALPART_MAX)
		return -1;
	*why = "not UTF-8";
	if (memchr(in, '\0', n) != NULL)
		return -1;
	memcpy(buf, in, n);
	buf[n] = '\0';
	rc = stringprep(buf, sizeof(buf), STRINGPREP_NO_UNASSIGNED,
	    stringprep_xmpp_nodeprep);
	switch (rc) {
	case STRINGPREP_OK:
		break;
	case STRINGPREP_ICONV_ERROR:
		*why = "not UTF-8";
		return -1;
	case STRINGPREP_CONTAINS_UNASSIGNED:
		*why = "an unassigned code point";
		return -1;
	case STRINGPREP_CONTAINS_PROHIBITED:
		*why = "a character Nodeprep prohibits";
		return -1;
	case STRINGPREP_BIDI_BOTH_L_AND_RAL:
	case STRINGPREP_BIDI_LEADTRAIL_NOT_RAL:
	case STRINGPREP_BIDI_CONTAINS_PROHIBITED:
		*why = "mixed-direction text";
		return -1;
	case STRINGPREP_TOO_SMALL_BUFFER:
		*why = "too long";
		return -1;
	default:
		*why = "refused by Nodeprep";
		return -1;
	}
	len = strlen(buf);
	/* Nodeprep prohibits all that xg_localpart_ok() does; checked
	 * again because AUTH_USER relies on it. */
	*why = len == 0 ? "empty" : "too long";
	if (len == 0 || len >= outsz)
		return -1;
	*why = "a character Nodeprep prohibits";
	if (!xg_localpart_ok(buf, len))
		return -1;
	memcpy(out, buf, len + 1);
	*why = NULL;
	return 0;
}
