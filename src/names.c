/* Names: the conditions of stream errors and SASL failures, and domains. */
#include <ctype.h>
#include <string.h>
#include "xmppgate.h"

static const char *const stream_errors[] = {
	[XG_SE_NONE] = "undefined-condition",
	[XG_SE_BAD_FORMAT] = "bad-format",
	[XG_SE_CONNECTION_TIMEOUT] = "connection-timeout",
	[XG_SE_HOST_UNKNOWN] = "host-unknown",
	[XG_SE_INTERNAL_SERVER_ERROR] = "internal-server-error",
	[XG_SE_INVALID_NAMESPACE] = "invalid-namespace",
	[XG_SE_INVALID_XML] = "invalid-xml",
	[XG_SE_NOT_AUTHORIZED] = "not-authorized",
	[XG_SE_NOT_WELL_FORMED] = "not-well-formed",
	[XG_SE_POLICY_VIOLATION] = "policy-violation",
	[XG_SE_REMOTE_CONNECTION_FAILED] = "remote-connection-failed",
	[XG_SE_RESOURCE_CONSTRAINT] = "resource-constraint",
	[XG_SE_RESTRICTED_XML] = "restricted-xml",
	[XG_SE_UNSUPPORTED_ENCODING] = "unsupported-encoding",
	[XG_SE_UNSUPPORTED_STANZA_TYPE] = "unsupported-stanza-type",
	[XG_SE_UNSUPPORTED_VERSION] = "unsupported-version",
	[XG_SE_UNDEFINED_CONDITION] = "undefined-condition",
	[XG_SE_SEE_OTHER_HOST] = "see-other-host",
	[XG_SE_IMPROPER_ADDRESSING] = "improper-addressing",
	[XG_SE_INVALID_FROM] = "invalid-from",
};

static const char *const sasl_failures[] = {
	[XG_SF_ABORTED] = "aborted",
	[XG_SF_INCORRECT_ENCODING] = "incorrect-encoding",
	[XG_SF_INVALID_AUTHZID] = "invalid-authzid",
	[XG_SF_INVALID_MECHANISM] = "invalid-mechanism",
	[XG_SF_MALFORMED_REQUEST] = "malformed-request",
	[XG_SF_NOT_AUTHORIZED] = "not-authorized",
	[XG_SF_TEMPORARY_AUTH_FAILURE] = "temporary-auth-failure",
	[XG_SF_ACCOUNT_DISABLED] = "account-disabled",
	[XG_SF_CREDENTIALS_EXPIRED] = "credentials-expired",
	[XG_SF_ENCRYPTION_REQUIRED] = "encryption-required",
	[XG_SF_MECHANISM_TOO_WEAK] = "mechanism-too-weak",
};

const char *
xg_stream_error_name(enum xg_stream_error e)
{
	if ((size_t)e >= sizeof(stream_errors) / sizeof(stream_errors[0]))
		return "undefined-condition";
	return stream_errors[e];
}

const char *
xg_sasl_failure_name(enum xg_sasl_failure f)
{
	if ((size_t)f >= sizeof(sasl_failures) / sizeof(sasl_failures[0]))
		return "not-authorized";
	return sasl_failures[f];
}

int
xg_sasl_failure_from_name(const char *s, size_t len, enum xg_sasl_failure *f)
{
	size_t i;

	for (i = 0; i < sizeof(sasl_failures) / sizeof(sasl_failures[0]); i++)
		if (strlen(sasl_failures[i]) == len &&
		    memcmp(sasl_failures[i], s, len) == 0) {
			*f = (enum xg_sasl_failure)i;
			return 0;
		}
	return -1;
}

int
xg_domain_normalize(const char *in, char *out, size_t outsz)
{
	size_t i, label, n = strlen(in);

	if (n > 0 && in[n - 1] == '.')
		n--;
	if (n == 0 || n >= outsz || n > XG_DOMAIN_NAME_MAX || in[n - 1] == '.')
		return -1;
	for (i = 0, label = 0; i < n; i++) {
		unsigned char ch = (unsigned char)in[i];
		if (!(isalnum(ch) || ch == '-' || ch == '.'))
			return -1;
		/* No empty label ("a..b", ".a"): the name is also a file
		 * name under --cert-dir, where "." and ".." must not be. */
		label = ch == '.' ? 0 : label + 1;
		if ((ch == '.' && (i == 0 || in[i - 1] == '.')) ||
		    label > XG_LABEL_MAX)
			return -1;
		out[i] = (char)tolower(ch);
	}
	out[n] = '\0';
	return 0;
}

/* A decimal number of 1 to maxdigits digits, nothing else (no sign, no
 * space); leading zeros are the caller's to refuse. */
int
xg_decimal(const char *s, size_t maxdigits, unsigned long *out)
{
	unsigned long v = 0;
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= maxdigits)
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (i == 0)
		return -1;
	*out = v;
	return 0;
}
