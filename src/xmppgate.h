/*
 * xmppgate: an XMPP front door, one process per connection.
 *
 * This header is the map of the program: exit codes, named limits, and the
 * interface of each module of libxg.a (the parsers, the connection, TLS,
 * the helpers, the backend, the relays).  The phases of a connection
 * share session.h beside it.  See doc/design.md for the life of a
 * connection and one line per file.
 */
#ifndef XMPPGATE_H
#define XMPPGATE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <poll.h>
#include <gnutls/gnutls.h>

/* Exit statuses (xmppgate(8) EXIT STATUS). */
#define XG_EXIT_OK	0	/* session ran and ended normally */
#define XG_EXIT_REFUSED	1	/* client refused: protocol error, auth, timeout */
#define XG_EXIT_USAGE	100	/* bad command line */
#define XG_EXIT_TEMP	111	/* temporary or system failure */

/* Named limits.  Exceeding one is a protocol error, never growth. */
#define XG_TAG_MAX		4096	/* one start or end tag, whole */
#define XG_NAME_MAX		64	/* an element or attribute name */
#define XG_ATTRS_MAX		16	/* attributes (xmlns included) on one tag */
#define XG_ATTR_VALUE_MAX	1024	/* one decoded attribute value */
#define XG_NS_MAX		8	/* namespace declarations in scope */
#define XG_SASL_B64_MAX		8192	/* base64 text of <auth> or <response> */
#define XG_SASL_FIELD_MAX	1023	/* one PLAIN field (RFC 7622 part size) */
#define XG_LOCALPART_MAX	1023	/* a user name, before and after
					 * Nodeprep (RFC 7622 3.3) */
#define XG_DOMAIN_MAX		1023	/* a domainpart (RFC 7622 3.2) */
#define XG_DOMAINS_MAX		64	/* --domain options */
#define XG_READ_BUF		8192	/* pre-auth read buffer (holds <= 1 tag) */
#define XG_HELPER_REPLY_MAX	4096	/* auth helper's whole stdout */
#define XG_FAILURE_TEXT_MAX	256	/* a helper's message for <failure> */
#define XG_FAILURE_DELAY_MAX	30000	/* a helper's delay= (ms) */
#define XG_AUTH_DELAY_MAX	30000	/* the growing failure delay (ms) */
#define XG_MAX_ATTEMPTS_MAX	100	/* --max-attempts */
#define XG_RELAY_BUF		16384	/* relay buffer per direction */
#define XG_SPLICE_PIPE		(256 * 1024)	/* splice: pipe per direction */
#define XG_TLS_RECORD_MAX	(16384 + 2048)	/* a record and its overhead */
#define XG_TLS_QUEUE		(3 * XG_TLS_RECORD_MAX)	/* TLS bytes to send */
#define XG_BACKEND_ADDR_MAX	1100	/* a backend address string */
#define XG_LOG_LINE_MAX		1024
#define XG_REASON_MAX		256	/* a reason or error text (truncated) */
#define XG_DRAIN_BUF		1024	/* bytes read and dropped at the end */
#define XG_STREAM_ID_BYTES	12	/* random bytes in our stream id */
#define XG_DOMAIN_NAME_MAX	253	/* a --domain (DNS name, RFC 1035) */
#define XG_LABEL_MAX		63	/* one label of a domain (RFC 1035) */
#define XG_CERT_FILE_MAX	(256 * 1024)	/* a PEM chain, key or OCSP file */
#define XG_CERT_REPLY_MAX	(256 * 1024)	/* a certificate helper's stdout */
#define XG_CERT_IDS_MAX		2048	/* a client certificate's names, joined */
#define XG_CERT_SUBJECT_MAX	1024	/* a client certificate's subject DN */
#define XG_TICKET_KEY_B64	88	/* base64 of a 64-byte ticket key */
#define XG_PROXY_V1_MAX		107	/* a PROXY v1 line, CRLF included */
#define XG_PROXY_HDR_MAX	4096	/* a PROXY v2 header, TLVs included */
#define XG_TRUSTED_PROXY_MAX	32	/* --trusted-proxy options */
#define XG_SCRAM_MSG_MAX	2048	/* one decoded SCRAM message */
#define XG_SCRAM_NONCE_MAX	256	/* the client's nonce */
#define XG_SCRAM_SALT_MAX	128	/* decoded salt bytes */
#define XG_SCRAM_ITER_MAX	10000000	/* iteration count */
#define XG_SCRAM_CB_MAX		64	/* channel binding data (a hash) */
#define XG_MECHS_MAX		8	/* --sasl-mechanisms entries */

/* Stream error conditions (RFC 6120 4.9.3) and SASL failures (6.5). */
enum xg_stream_error {
	XG_SE_NONE = 0,
	XG_SE_BAD_FORMAT,
	XG_SE_CONNECTION_TIMEOUT,
	XG_SE_HOST_UNKNOWN,
	XG_SE_INTERNAL_SERVER_ERROR,
	XG_SE_INVALID_NAMESPACE,
	XG_SE_INVALID_XML,
	XG_SE_NOT_AUTHORIZED,
	XG_SE_NOT_WELL_FORMED,
	XG_SE_POLICY_VIOLATION,
	XG_SE_REMOTE_CONNECTION_FAILED,
	XG_SE_RESOURCE_CONSTRAINT,
	XG_SE_RESTRICTED_XML,
	XG_SE_UNSUPPORTED_ENCODING,
	XG_SE_UNSUPPORTED_STANZA_TYPE,
	XG_SE_UNSUPPORTED_VERSION,
	XG_SE_UNDEFINED_CONDITION,
	XG_SE_SEE_OTHER_HOST,
	XG_SE_IMPROPER_ADDRESSING,
	XG_SE_INVALID_FROM,
};
const char *xg_stream_error_name(enum xg_stream_error);

enum xg_sasl_failure {
	XG_SF_ABORTED = 0,
	XG_SF_INCORRECT_ENCODING,
	XG_SF_INVALID_AUTHZID,
	XG_SF_INVALID_MECHANISM,
	XG_SF_MALFORMED_REQUEST,
	XG_SF_NOT_AUTHORIZED,
	XG_SF_TEMPORARY_AUTH_FAILURE,
	XG_SF_ACCOUNT_DISABLED,
	XG_SF_CREDENTIALS_EXPIRED,
	XG_SF_ENCRYPTION_REQUIRED,
	XG_SF_MECHANISM_TOO_WEAK,
};
const char *xg_sasl_failure_name(enum xg_sasl_failure);
int xg_sasl_failure_from_name(const char *, size_t, enum xg_sasl_failure *);
/* Strict base64 (RFC 6120 6.4.2, no white space) decoded by GnuTLS into
 * out, which the caller wipes and frees; -1 if bad. */
int xg_b64_decode(const char *b64, size_t b64len, gnutls_datum_t *out);
/* Base64 of n bytes into out, NUL ended (GnuTLS's, the copy wiped): its
 * length, or 0 when out is too small. */
int xg_b64_encode(const void *d, size_t n, char *out, size_t outsz);
/* A localpart as a helper may get it: no control, space or "&'/:<>@. */
int xg_localpart_ok(const char *s, size_t n);
/* localpart.c (pure): the user name in[0..n) prepared with Nodeprep (libidn)
 * into out, NUL ended; 0, or -1 with *why (not UTF-8, prohibited, empty,
 * longer than XG_LOCALPART_MAX or outsz - 1). */
int xg_localpart_prep(const char *in, size_t n, char *out, size_t outsz,
    const char **why);
/* sasl_plain.c: the prepared localpart of a bare JID "user@domain" of
 * domain, into user; 0 or -1. */
int xg_bare_jid_user(const char *s, size_t n, const char *domain,
    char *user, size_t usersz);
/* A domain as it is compared (RFC 7622): lower case, no trailing dot, only
 * letters, digits, '-' and '.', labels of 1 to XG_LABEL_MAX characters, at
 * most XG_DOMAIN_NAME_MAX in all; -1 if not.  Safe as a file name. */
int xg_domain_normalize(const char *in, char *out, size_t outsz);

/* ---- xml.c: a bounded lexer for one token at a time (pure) ---- */

enum xml_tok_type {
	XML_TOK_DECL,		/* <?xml ...?> */
	XML_TOK_START,		/* <name ...> or <name .../> */
	XML_TOK_END,		/* </name> */
	XML_TOK_TEXT,		/* decoded character data (may be a piece) */
};

struct xml_attr {
	char	name[XG_NAME_MAX + 1];
	char	value[XG_ATTR_VALUE_MAX + 1];
	size_t	value_len;
};

struct xml_token {
	enum xml_tok_type type;
	char	name[XG_NAME_MAX + 1];	/* qualified name, e.g. stream:stream */
	int	empty;			/* start tag ended with /> */
	size_t	nattrs;
	struct xml_attr attrs[XG_ATTRS_MAX];
	/* XML_TOK_TEXT: points into the caller's output, decoded */
	size_t	text_len;
	int	text_ws;		/* text is only XML white space */
	char	text[XG_TAG_MAX];
};

enum xml_result {
	XML_OK = 0,
	XML_MORE,		/* need more bytes; nothing consumed */
	XML_ERR_SYNTAX,		/* not well-formed */
	XML_ERR_UTF8,		/* not UTF-8 (RFC 6120: unsupported-encoding) */
	XML_ERR_CHAR,		/* a character XML 1.0 forbids */
	XML_ERR_RESTRICTED,	/* comment, PI, DTD, CDATA, entity decl/ref */
	XML_ERR_ENCODING,	/* XML declaration names another encoding */
	XML_ERR_LIMIT,		/* a named limit exceeded */
};

enum xml_result xml_lex(const uint8_t *buf, size_t len, struct xml_token *tok,
    size_t *used);
const char *xml_result_str(enum xml_result);
/* How many bytes at buf are XML whitespace (XML 1.0 S). */
size_t xml_ws_span(const uint8_t *buf, size_t len);
const char *xml_attr_get(const struct xml_token *, const char *name,
    size_t *len);
/* Namespace scope: stream-level declarations plus one element's. */
struct xml_ns {
	size_t	n;
	struct { char prefix[XG_NAME_MAX + 1]; char uri[XG_ATTR_VALUE_MAX + 1]; } d[XG_NS_MAX];
};
/* Add the tag's xmlns declarations to scope: 0, -1 for a bad declaration,
 * -2 for more than XG_NS_MAX in scope. */
int xml_ns_push(struct xml_ns *, const struct xml_token *);
/* Resolve a qualified name: sets *local and returns the URI or NULL. */
const char *xml_ns_resolve(const struct xml_ns *, const char *qname,
    const char **local);
/* Check the attributes' prefixes: 0 ok, -1 a prefix is undeclared, -2 two
 * attributes have the same expanded name. */
int xml_ns_check_attrs(const struct xml_ns *, const struct xml_token *);

/* Escape for an attribute value or text into out (bounded). */
size_t xml_escape(char *out, size_t outsz, const char *in, size_t inlen);

#define NS_STREAMS	"http://etherx.jabber.org/streams"
#define NS_CLIENT	"jabber:client"
#define NS_SERVER	"jabber:server"
#define NS_DIALBACK	"jabber:server:dialback"
#define NS_DIALBACK_FEATURE	"urn:xmpp:features:dialback"
#define NS_TLS		"urn:ietf:params:xml:ns:xmpp-tls"
#define NS_SASL		"urn:ietf:params:xml:ns:xmpp-sasl"
#define NS_STREAM_ERR	"urn:ietf:params:xml:ns:xmpp-streams"
#define NS_XML		"http://www.w3.org/XML/1998/namespace"
#define NS_SASL2	"urn:xmpp:sasl:2"	/* XEP-0388 */
#define NS_BIND2	"urn:xmpp:bind:0"	/* XEP-0386 */
#define NS_SM		"urn:xmpp:sm:3"		/* XEP-0198 */
#define NS_FAST		"urn:xmpp:fast:0"	/* XEP-0484 */
#define NS_SASL_CB	"urn:xmpp:sasl-cb:0"	/* XEP-0440 */
#define NS_BIND		"urn:ietf:params:xml:ns:xmpp-bind"
#define NS_SESSION	"urn:ietf:params:xml:ns:xmpp-session"

/* ---- preauth.c: what a client may send before authentication (pure) ---- */

enum xp_event_type {
	XP_EV_HEADER,		/* stream header: to, version, lang */
	XP_EV_STARTTLS,
	XP_EV_AUTH,		/* mechanism, data (base64 text, undecoded) */
	XP_EV_RESPONSE,		/* data */
	XP_EV_ABORT,
	XP_EV_CLOSE,		/* </stream:stream> */
	XP_EV_STANZA,		/* an element we do not take (name in .name) */
	XP_EV_DIALBACK,		/* s2s: <db:result> or <db:verify> (.name),
				 * from, to, id */
	XP_EV_AUTHENTICATE,	/* XEP-0388 <authenticate>: mechanism, the
				 * <initial-response> in data (data_empty
				 * when there is none or it is empty), the
				 * rest in s2 */
};

/* ---- XEP-0388 SASL2 <authenticate>, as the parser collects it ---- */
#define XG_SASL2_DEPTH_MAX	3	/* <authenticate> is 1: bind/enable is 3 */
#define XG_SASL2_ELEMS_MAX	32	/* elements inside one <authenticate> */
#define XG_SASL2_UA_ID_MAX	64	/* <user-agent id='UUID'> (36 for a UUID) */
#define XG_SASL2_UA_TEXT_MAX	64	/* <software>, <device> (for the log) */
#define XG_BIND2_TAG_MAX	64	/* XEP-0386 <tag> */
#define XG_SM_ID_MAX		256	/* XEP-0198 id / previd */
#define XG_SASL2_SUCCESS_MAX	4096	/* <success>'s children we write */
#define XG_SASL_OFFER_MAX	3072	/* the SASL features we offer */
struct xp_sasl2 {
	int	has_ir;			/* <initial-response> was present */
	char	ua_id[XG_SASL2_UA_ID_MAX + 1];	/* <user-agent id> */
	int	has_ua_id;
	char	software[XG_SASL2_UA_TEXT_MAX + 1];	/* "" when absent */
	char	device[XG_SASL2_UA_TEXT_MAX + 1];
	int	bind;			/* <bind xmlns='urn:xmpp:bind:0'> */
	char	tag[XG_BIND2_TAG_MAX + 1];	/* its <tag>, "" when absent */
	int	has_tag;
	int	bind_other;		/* other children of <bind> (carbons,
					 * csi): counted, not acted on */
	int	sm_enable;		/* <enable xmlns='urn:xmpp:sm:3'> in it */
	int	sm_enable_resume;	/* ... resume='true' or '1' */
	unsigned long sm_enable_max;	/* ... max=, 0 when absent */
	int	sm_resume;		/* <resume xmlns='urn:xmpp:sm:3'> */
	char	sm_previd[XG_SM_ID_MAX + 1];	/* ... previd (required) */
	unsigned long sm_h;		/* ... h (required, 0..2^32-1) */
	int	request_token;		/* <request-token xmlns=fast:0> */
	char	token_mech[XG_NAME_MAX + 1];	/* ... mechanism (required) */
	int	fast;			/* <fast xmlns='urn:xmpp:fast:0'> */
	int	fast_invalidate;	/* ... invalidate='true' or '1' */
	unsigned long fast_count;	/* ... count=, 0 when absent */
	int	has_fast_count;
};

struct xp_event {
	enum xp_event_type type;
	char	to[XG_DOMAIN_MAX + 1];
	int	has_to;
	char	version[16];
	int	has_version;
	char	lang[64];
	char	mechanism[XG_NAME_MAX + 1];
	char	name[XG_NAME_MAX + 1];
	const char *data;	/* into the parser's buffer, until next feed */
	size_t	data_len;
	int	data_empty;	/* <auth/> with no text: no initial response */
	/* s2s (xp.s2s): the header's 'from' and xmlns:db, a dialback
	 * element's from, to and id */
	char	from[XG_DOMAIN_MAX + 1];
	int	has_from;
	int	has_db;
	char	id[XG_NAME_MAX + 1];
	int	sasl2;		/* <response>, <abort> in urn:xmpp:sasl:2 */
	const struct xp_sasl2 *s2;	/* XP_EV_AUTHENTICATE: in the parser,
					 * until the next feed */
};

enum xp_result { XP_EVENT, XP_MORE, XP_ERROR };

struct xp {
	int	state;		/* enum in preauth.c */
	int	s2s;		/* a server's stream (jabber:server), set by
				 * the caller after xp_init() */
	int	cur;		/* element being collected at depth 2 */
	char	curname[XG_NAME_MAX + 1];	/* its qualified name */
	char	mech[XG_NAME_MAX + 1];		/* mechanism of <auth> */
	char	from[XG_DOMAIN_MAX + 1], to[XG_DOMAIN_MAX + 1];	/* of a */
	char	id[XG_NAME_MAX + 1];		/* dialback element */
	int	has_from, has_to;
	struct xml_ns stream_ns;
	struct xml_token tok;
	size_t	datalen;
	char	data[XG_SASL_B64_MAX + 1];
	enum xg_stream_error err;
	const char *errtext;
	size_t	tail;		/* xp_restart(): the old stream's whitespace,
				 * consumed before the new stream began */
	struct xp_sasl2 s2;	/* the <authenticate> being collected */
	int	s2depth;	/* depth inside it (1: <authenticate>) */
	int	s2elems;	/* elements seen inside it */
	int	s2what[XG_SASL2_DEPTH_MAX + 1];	/* what each open element is
					 * (enum in preauth.c) */
	char	s2names[XG_SASL2_DEPTH_MAX + 1][XG_NAME_MAX + 1];
					/* their qualified names (end tags) */
	struct xml_ns s2ns;	/* namespaces in scope inside <authenticate>:
				 * declarations only add, so each depth's
				 * scope is the first s2nsn[depth] */
	size_t	s2nsn[XG_SASL2_DEPTH_MAX + 1];
	unsigned s2seen;	/* known children seen (1 << kind): a second
				 * one is refused */
};

void xp_init(struct xp *);	/* the first stream: nothing before <?xml */
void xp_restart(struct xp *);	/* after <proceed/> or <success/>; keeps s2s */
enum xp_result xp_feed(struct xp *, const uint8_t *buf, size_t len,
    size_t *used, struct xp_event *);

/* ---- sasl_plain.c (pure) ---- */
struct plain_creds {
	char	authzid[XG_SASL_FIELD_MAX * 3 + 2];
	size_t	authzid_len;
	char	user[XG_SASL_FIELD_MAX + 1];
	size_t	user_len;
	char	pass[XG_SASL_FIELD_MAX + 1];
	size_t	pass_len;
};
enum plain_result { PLAIN_OK, PLAIN_BAD_BASE64, PLAIN_MALFORMED,
    PLAIN_BAD_AUTHZID, PLAIN_BAD_USER /* fails Nodeprep: not-authorized */ };
/* Decode base64 text, split, check the authcid and authzid against domain;
 * the user is the authcid's localpart prepared (xg_localpart_prep), the
 * authzid, if any, that user's bare JID written as user@domain. */
enum plain_result plain_decode(const char *b64, size_t b64len,
    const char *domain, struct plain_creds *);
/* Encode NUL user NUL pass as base64 into out (size at least 4/3 + 4). */
int plain_encode(const char *user, const char *pass, char *out, size_t outsz);
void plain_wipe(struct plain_creds *);
/* SASL EXTERNAL's message: "=" or a bare JID of domain (its localpart,
 * prepared, to user; "" for none). */
enum plain_result external_decode(const char *b64, size_t b64len,
    const char *domain, char *user, size_t usersz);
/* The localpart of the only XmppAddr of domain in the list, or "". */
void external_cert_user(const char *xmppaddrs, const char *domain,
    char *user, size_t usersz);

/* ---- sasl_scram.c: SCRAM (RFC 5802, RFC 7677), the server side (pure) ---- */
enum scram_hash { SCRAM_SHA1 = 0, SCRAM_SHA256 = 1 };
/* Channel binding types (RFC 5929, RFC 9266), as bits of a mask. */
#define SCRAM_CB_TLS_UNIQUE		0x1
#define SCRAM_CB_TLS_SERVER_END_POINT	0x2
#define SCRAM_CB_TLS_EXPORTER		0x4
#define SCRAM_HASH_MAX			32	/* SHA-256's length */
/* Stored credentials: RFC 5803's authPassword value,
 * SCRAM-SHA-256$ITER:SALT$STOREDKEY:SERVERKEY (base64). */
struct scram_creds {
	enum scram_hash hash;
	unsigned long iter;
	uint8_t	salt[XG_SCRAM_SALT_MAX];
	size_t	salt_len;
	uint8_t	stored_key[SCRAM_HASH_MAX];
	uint8_t	server_key[SCRAM_HASH_MAX];
};
enum scram_result {
	SCRAM_OK = 0,
	SCRAM_BAD_BASE64,	/* <incorrect-encoding/> */
	SCRAM_MALFORMED,	/* <malformed-request/> */
	SCRAM_BAD_AUTHZID,	/* <invalid-authzid/> */
	SCRAM_BAD_USER,		/* the user name fails Nodeprep */
	SCRAM_CB_UNSUPPORTED,	/* a binding type not offered here */
	SCRAM_CB_DOWNGRADE,	/* "y" although -PLUS was offered */
	SCRAM_BAD_BINDING,	/* c= is not our channel's */
	SCRAM_BAD_NONCE,	/* r= is not this exchange's */
	SCRAM_BAD_PROOF,	/* wrong password */
};
struct scram {
	enum scram_hash hash;
	int	plus;			/* the mechanism is -PLUS */
	int	cbtype;			/* SCRAM_CB_*, 0 without binding */
	char	user[XG_SASL_FIELD_MAX + 1];	/* the localpart */
	char	authzid[XG_SASL_FIELD_MAX * 3 + 2];
	char	gs2[XG_SCRAM_MSG_MAX];	/* gs2-header */
	size_t	gs2_len;
	char	cfirst[XG_SCRAM_MSG_MAX];	/* client-first-message-bare */
	size_t	cfirst_len;
	char	sfirst[XG_SCRAM_MSG_MAX];	/* server-first-message */
	size_t	sfirst_len;
	char	nonce[XG_SCRAM_NONCE_MAX * 2 + 1];	/* client's + ours */
	size_t	nonce_len;
	char	ssdp[48];		/* XEP-0474: the h= value that
					 * scram_server_first() appends, set
					 * by the caller before; "" for none */
};
/* XEP-0474 (0.4 and later): base64 of hash h over the offered mechanism
 * names sorted by i;octet and joined by 0x1E, then, when cbs is not NULL
 * (channel binding types were offered, XEP-0440), 0x1F and the type
 * names sorted and joined the same way.  mechs and cbs are NULL-ended.
 * 0, or -1 when out (or the joined text) is too small. */
int scram_ssdp(enum scram_hash h, const char *const *mechs,
    const char *const *cbs, char *out, size_t outsz);
/* A mechanism name to its hash and -PLUS flag; -1 if not SCRAM. */
int scram_mech(const char *name, enum scram_hash *, int *plus);
const char *scram_hash_name(enum scram_hash);	/* "SHA-256" */
size_t scram_hash_len(enum scram_hash);
const char *scram_cb_name(int cbtype);		/* "tls-exporter" */
/* client-first-message (decoded) for the mechanism: cb_allowed is the
 * mask of binding types this connection offers (0: no -PLUS offered).
 * Sets the user (user@domain reduced) and the authzid (the user's own
 * bare JID or nothing). */
enum scram_result scram_client_first(struct scram *, enum scram_hash,
    int plus, int cb_allowed, const uint8_t *msg, size_t len,
    const char *domain);
/* server-first-message for creds with our nonce (printable, no ','). */
int scram_server_first(struct scram *, const struct scram_creds *,
    const char *snonce);
/* client-final-message: the binding (cb, cblen: the channel's data for
 * s->cbtype), the nonce and the proof.  SCRAM_OK with the server's final
 * message ("v=...") in out. */
enum scram_result scram_client_final(struct scram *,
    const struct scram_creds *, const uint8_t *msg, size_t len,
    const uint8_t *cb, size_t cblen, char *out, size_t outsz);
int scram_creds_parse(const char *s, size_t n, struct scram_creds *);
/* The authPassword value of creds; its length, or 0 if out is short. */
size_t scram_creds_format(const struct scram_creds *, char *out,
    size_t outsz);
/* Stored credentials from a password (PBKDF2 with GnuTLS); 0 or -1. */
int scram_creds_from_password(enum scram_hash, const char *pass,
    size_t passlen, const uint8_t *salt, size_t saltlen, unsigned long iter,
    struct scram_creds *);
/* 1 when pass matches creds (for a PLAIN check against them), else 0. */
int scram_creds_check(const struct scram_creds *, const char *pass,
    size_t passlen);
void scram_wipe(struct scram *);

/* ---- netaddr.c: backend addresses (parse is pure) ---- */
struct netaddr {
	int	is_unix;
	char	host[XG_BACKEND_ADDR_MAX + 1];	/* or the socket path */
	char	port[8];
};
int netaddr_parse(const char *s, struct netaddr *);	/* 0 ok, -1 bad */
/* Pure: 1 when na is a UNIX socket or a loopback address (no name is
 * resolved), else 0. */
int netaddr_loopback(const struct netaddr *na);
/* Connect with a deadline (monotonic ms); fd or -1 with errno. */
int netaddr_connect(const struct netaddr *, int64_t deadline_ms,
    char *err, size_t errsz);
/* A connect started and not waited for (the backend pre-open): fd,
 * connected or in progress, or -1 with err. */
int netaddr_connect_start(const struct netaddr *, char *err, size_t errsz);
/* Has fd's connect finished?  Waits until the deadline (one look when it
 * has passed): 1 connected, 0 still in progress, -1 failed (errno). */
int netaddr_connect_wait(int fd, int64_t deadline_ms);

/* ---- time ---- */
int64_t now_ms(void);		/* CLOCK_MONOTONIC in milliseconds */

/* ---- options.c: the command line ---- */
enum xg_tls_mode { XG_TLS_BOTH, XG_TLS_STARTTLS_ONLY, XG_TLS_DIRECT_ONLY };
enum xg_backend_tls { XG_BTLS_NONE, XG_BTLS_STARTTLS, XG_BTLS_DIRECT };
enum xg_auth_protocol { XG_AP_NATIVE, XG_AP_CHECKPASSWORD, XG_AP_EJABBERD };
/* A --trusted-proxy range (proxyproto.c). */
struct xg_cidr {
	int	family;			/* AF_INET or AF_INET6 */
	uint8_t	addr[16];
	int	bits;
};

struct options {
	const char *cert, *key, *auth, *tls_priority, *user;
	const char *ocsp;		/* --ocsp, with --cert */
	const char *cert_dir;		/* certbot live/ layout */
	const char *cert_helper;	/* xmppgate-cert(5) */
	const char *ticket_key;		/* shared session ticket key */
	const char *client_ca;		/* request client certificates */
	const char *backend_ca;		/* for --backend-tls, or system */
	enum xg_tls_mode tls_mode;
	enum xg_backend_tls backend_tls;
	enum xg_auth_protocol auth_protocol;
	const char *self;		/* our program, for checkpassword */
	int	cert_timeout;		/* seconds, one certificate helper run */
	int	proxy_protocol;		/* 1 or 2: a PROXY header to the
					 * backend; 0 none */
	int	accept_proxy;		/* read a PROXY header first */
	struct xg_cidr trusted[XG_TRUSTED_PROXY_MAX];	/* ... from these */
	size_t	ntrusted;
	const char *domains[XG_DOMAINS_MAX];
	size_t	ndomains;
	struct netaddr backend;
	int	has_backend;
	char  **exec_argv;		/* after "--", or NULL */
	int	timeout;		/* seconds, whole pre-auth phase */
	int	header_timeout;		/* seconds, each stream header */
	int	handshake_timeout;	/* seconds, TLS handshake */
	int	auth_timeout;		/* seconds, one helper run */
	int	backend_timeout;	/* seconds, connect + login */
	int	idle_timeout;		/* seconds, relay; 0 = none */
	int	max_attempts;
	int	auth_delay_ms;		/* first failure delay; doubles */
	int	verbose;
	int	use_syslog;
	int	auth_scram;		/* the helper serves SCRAM credentials */
	const char *mechs[XG_MECHS_MAX];	/* --sasl-mechanisms, in order */
	size_t	nmechs;
	const char *route;		/* route mode: the map file */
	int	no_splice;		/* never splice(2) */
	int	no_sasl2;		/* --no-sasl2: RFC 6120 SASL only */
	int	fast;			/* --fast: XEP-0484 tokens offered */
	const char *relay;		/* xmppgate-relay(8)'s socket, or NULL */
	int	no_backend_preopen;	/* connect to the backend only after
					 * the helper accepted */
	int	s2s;			/* server-to-server (federation) */
	const char *s2s_ca;		/* remote servers' roots, or system */
	int	s2s_require_cert;	/* no dialback pass-through */
	int	s2s_out;		/* the backend's outgoing streams */
	const char *dns_server;		/* --dns-server, or NULL */
	int	s2s_out_loopback;	/* remotes may be on loopback */
	/* --listen, the pooled mode (pool.c) */
	int	listen;			/* on a listening socket */
	int	max_conns;		/* children at once */
	int	max_per_source;		/* ... of one source; 0 = no bound */
	int	reexec_conns;		/* re-exec after N; 0 = never */
	int	reexec_minutes;		/* ... and every T minutes; 0 = never */
};
/* Fill o from argv, or exit: 100 (XG_EXIT_USAGE) with a message for a
 * usage error; after --help, --version or --new-ticket-key, their status. */
void parse_options(int argc, char **argv, struct options *o);

/* authdelay.c (pure): the delay (ms) before the answer to the failed-th
 * failed attempt: base_ms doubled per failure after the first, at most
 * XG_AUTH_DELAY_MAX; 0 when base_ms is 0. */
int xg_fail_delay_ms(int base_ms, int failed);

/* names.c: 1 to maxdigits decimal digits and nothing else. */
int xg_decimal(const char *, size_t maxdigits, unsigned long *);

/* ---- proxyproto.c: the PROXY protocol, v1 and v2 ---- */
enum { PP_BAD = -1, PP_OK = 0, PP_MORE = 1 };
struct proxy_info {
	int	version;		/* 1 or 2 */
	int	local;			/* LOCAL, UNKNOWN, UNSPEC etc.: keep
					 * the connection's own addresses */
	char	src_ip[64], src_port[8];	/* the client */
	char	dst_ip[64], dst_port[8];	/* where it connected to */
};
/* One header at the start of b[0..len): PP_OK with *used its length,
 * PP_MORE with *used the length to have before calling again, or PP_BAD
 * with *why.  Decides as early as the bytes allow. */
int proxy_parse(const uint8_t *b, size_t len, struct proxy_info *,
    size_t *used, const char **why);
/* A header for the backend (version 1 or 2); its length, 0 if too long. */
#define XG_PROXY_OUT_MAX	2176	/* >= v1's 104, v2's 52 + two s2s TLVs */
size_t proxy_build(int version, const char *src_ip, const char *src_port,
    const char *dst_ip, const char *dst_port, uint8_t *out, size_t outsz);
/* v2 only: a TLV (type, 2-byte length, value) appended to the header
 * built in out[0..len), its length fixed up; the new length, or 0 when
 * out is too small or the value too long. */
#define PP2_TYPE_AUTHORITY	0x02	/* the name the client asked for */
#define PP2_TYPE_XMPPGATE_S2S	0xE0	/* s2s: the remote domain that
					 * xmppgate authenticated */
size_t proxy_add_tlv(uint8_t *out, size_t len, size_t outsz, uint8_t type,
    const void *value, size_t vlen);
int cidr_parse(const char *, struct xg_cidr *);
int cidr_match(const struct xg_cidr *, size_t, const char *ip);

/* ---- s2sid.c (pure): a remote server's certificate identity ---- */
enum s2s_match { S2S_MATCH_NONE, S2S_MATCH_DNS, S2S_MATCH_SRV,
    S2S_MATCH_XMPPADDR, S2S_MATCH_WILDCARD };
/* Does a certificate with these identities (space-separated lists as
 * tls.c collects them; each may be "") name the server domain (the
 * stream's 'from', already lower case, no trailing dot)? */
enum s2s_match s2s_id_match(const char *dnsnames, const char *srvnames,
    const char *xmppaddrs, const char *domain);
/* "dns-id" "srv-id" "xmppaddr" "wildcard" "none" */
const char *s2s_match_name(enum s2s_match);
/* An SRVName otherName value's DER (an IA5String) decoded into out, for
 * a GnuTLS that does not decode it itself; 0, or -1 if it is not one. */
int s2s_srvname_der(const unsigned char *der, size_t len, char *out,
    size_t outsz);

/* ---- s2sremote.c (pure): the remote's stream, for --s2s-out ---- */
#define RS_MECH_MAX		32	/* one <mechanism/>'s text kept */
/* What rstream_feed() saw complete at the top of the stream. */
enum { RS_FEATURES = 1, RS_PROCEED, RS_SUCCESS, RS_FAILURE };
struct rstream {
	struct xml_ns ns;		/* the header's declarations */
	struct xml_ns ns2;		/* ... and a second-level element's */
	int	header, depth, decl;
	char	top[XG_NAME_MAX + 1];	/* the top-level element */
	int	topns;			/* its namespace, of those that matter */
	char	id[XG_ATTR_VALUE_MAX + 1];	/* the header's id */
	/* the last <stream:features> */
	int	starttls, external, dialback;
	int	in_mech;
	char	mech[RS_MECH_MAX + 1];
	size_t	mechlen;
	char	cond[XG_NAME_MAX + 1];	/* a stream error's condition */
};
/* Parse buf[0..len) on from r (zeroed for a new stream): RS_* when a
 * top-level element completed (*used bytes taken, the rest unread), 0
 * when all of *used bytes went in and more are needed, -1 with why for
 * bad XML or anything a remote must not send here (a stream error: its
 * condition in why). */
int rstream_feed(struct rstream *, const uint8_t *buf, size_t len,
    size_t *used, char *why, size_t whysz);

/* ---- conn.c: the client connection ---- */
struct conn {
	int	rfd, wfd;		/* fd 3, or fds 0 and 1 */
	char	id[16];			/* connection id for logs */
	char	remote_ip[64], remote_port[8];
	char	local_ip[64], local_port[8];
	char	proxy_ip[64], proxy_port[8];	/* the load balancer, if any */
	gnutls_session_t tls;		/* NULL before STARTTLS */
	gnutls_certificate_credentials_t tls_cred;	/* ours, client side */
	char	tls_protocol[32], tls_cipher[64];
	int	direct_tls;		/* XEP-0368: TLS from the first byte */
	int	tls_resumed;
	char	sni[XG_DOMAIN_NAME_MAX + 1];	/* Direct TLS: the expected domain */
	/* A client certificate that verified against --client-ca. */
	int	cert_verified;
	char	cert_sha256[65];
	char	cert_subject[XG_CERT_SUBJECT_MAX + 1];
	char	cert_xmppaddrs[XG_CERT_IDS_MAX + 1];	/* space separated */
	char	cert_dnsnames[XG_CERT_IDS_MAX + 1];	/* space separated */
	/* s2s: the remote server's certificate, checked for its domain. */
	char	cert_srvnames[XG_CERT_IDS_MAX + 1];	/* space separated */
	int	cert_presented;
	const char *cert_status;	/* valid, none, expired, ... */
	enum s2s_match cert_match;
	char	remote_domain[XG_DOMAIN_MAX + 1];	/* the stream's from */
	const char *s2s_auth;		/* external, certificate, dialback */
	char	sasl2[96];		/* a SASL2 login: MECH[,bind2][,sm=...]
					 * [,token=...], for the summary */
	uint64_t rx, tx;		/* plaintext bytes from / to the client */
	int64_t	start_ms;
	char	domain[XG_DOMAIN_MAX + 1];
	char	user[XG_SASL_FIELD_MAX + 1];
	char	backend[XG_BACKEND_ADDR_MAX + 16];
	char	outcome[256];		/* reason for the summary line */
};
int conn_init(struct conn *);
/* Read plaintext (TLS when up).  >0 bytes, 0 EOF, -1 error (errno,
 * ETIMEDOUT when the deadline passed). */
ssize_t conn_read(struct conn *, void *, size_t, int64_t deadline_ms);
int conn_write(struct conn *, const void *, size_t, int64_t deadline_ms);
/* The first unread byte, left in place: 0-255, -2 at end of file, -1 with
 * errno (ETIMEDOUT; ENOTSOCK when the connection cannot be peeked at). */
int conn_peek(struct conn *, int64_t deadline_ms);
int conn_printf(struct conn *, int64_t deadline_ms, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- log.c ---- */
void log_init(int use_syslog, int verbose, int conn_fd);
void log_conn(const struct conn *);	/* prefix every line with the id */
int log_stderr_usable(void);		/* stderr is not the client */
void xg_log(int prio, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void xg_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Pure: a formatted line as it is logged (xg_log does it to every line):
 * printable ASCII and showable UTF-8 as they are, a backslash doubled,
 * any other byte as \xNN; cut with "..." to fit outsz.  Its length. */
size_t log_escape(const char *in, char *out, size_t outsz);
/* The one summary line every connection ends with. */
void log_summary(const struct conn *, int exitcode);
/* Its parts, for xmppgate-relay(8), which logs it for sessions handed to
 * it: "client=... domain=... user=... backend=..." into out (its length),
 * and the line from those fields and the rest. */
#define XG_SUMMARY_FIELDS_MAX	768
size_t log_summary_fields(const struct conn *, char *out, size_t outsz);
void log_summary_line(const char *fields, uint64_t rx, uint64_t tx,
    int64_t ms, int exitcode, const char *reason);
/* The program's name in syslog and on stderr ("xmppgate"; before
 * log_init), and the "conn=ID" prefix of the next lines (NULL: "-"). */
void log_ident(const char *name);
void log_conn_id(const char *id);

/* ---- tls.c ---- */
struct tlsctx {
	const struct options *o;
	gnutls_certificate_credentials_t cred;
	gnutls_priority_t prio;
	gnutls_datum_t ticket_key;	/* data NULL: no resumption */
	int	have_cert;		/* cred holds the server certificate */
	struct conn *c;			/* during a Direct TLS handshake */
	int	sni_result;		/* CERTS_* from the SNI callback */
	char	sni_err[XG_REASON_MAX];
};
#define XG_DEFAULT_PRIORITY "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:" \
	"-CIPHER-ALL:+AES-256-GCM:+CHACHA20-POLY1305:+AES-128-GCM:" \
	"-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:-COMP-ALL:" \
	"%SERVER_PRECEDENCE"
/* Before the first client byte (and before privileges are dropped): the
 * priorities, --cert/--key, --client-ca and --ticket-key. */
int tls_load(struct tlsctx *, const struct options *, char *err, size_t errsz);
/* Handshake on the client connection; fills c->tls and the details.  With
 * direct, the certificate is chosen by SNI (certs_select) and ALPN
 * xmpp-client is required when the client offers ALPN. */
int tls_start(struct conn *, struct tlsctx *, int direct, int64_t deadline_ms,
    char *err, size_t errsz);
void tls_free(struct tlsctx *);
/* A new random ticket key, base64, into out (XG_TICKET_KEY_B64 + 1). */
int tls_new_ticket_key(char *out, size_t outsz);
/* Client side, for --backend-tls: handshake on c (rfd/wfd set) and check
 * the server's certificate for name against ca (or the system store). */
int tls_client_start(struct conn *, const char *ca, const char *name,
    const char *priority, int64_t deadline_ms, char *err, size_t errsz);
/* --s2s-out: handshake on rc as the initiating server for domain (SNI;
 * ALPN xmpp-server with direct), with ctx's certificate and trust; rc's
 * cert_status and names filled in as for an incoming server. */
int tls_s2s_client_start(struct conn *rc, struct tlsctx *ctx,
    const char *domain, int direct, int64_t deadline_ms, char *err,
    size_t errsz);

/* ---- certs.c: which certificate serves a domain (tls.c calls it, never
 * the other way round) ---- */
enum certs_result { CERTS_OK = 0, CERTS_UNKNOWN = 1, CERTS_ERROR = -1 };
/* Put the certificate for domain (normalized) into ctx->cred, from
 * --cert, --cert-dir or --cert-helper, with its OCSP response when there
 * is a fresh one.  CERTS_UNKNOWN: no certificate for that domain. */
enum certs_result certs_select(struct tlsctx *, const char *domain,
    char *err, size_t errsz);
/* Staple der (an OCSP response) to certificate idx if it is successful,
 * current and about that certificate; otherwise a warning. */
void certs_ocsp(gnutls_certificate_credentials_t, int idx,
    const gnutls_datum_t *der, const char *what);
/* Pure: 1 when domain is one of --domain, or no --domain was given
 * with --cert-dir or --cert-helper. */
int certs_domain_allowed(const struct options *, const char *domain);
/* The key at idx belongs to its certificate (key IDs): 0, or -1 with err. */
int certs_key_matches(gnutls_certificate_credentials_t, unsigned idx,
    char *err, size_t errsz);

/* ---- pool.c: --listen, one child per accepted connection ---- */
#define XG_POOL_CONNS_MAX	65536	/* --max-conns */
#define XG_POOL_LISTEN_MAX	8	/* listening sockets */
#define XG_POOL_DEFAULT_CONNS	1024
#define XG_POOL_DEFAULT_PER_SOURCE 256
#define XG_POOL_DEFAULT_REEXEC	1000	/* connections */
#define XG_POOL_DEFAULT_MINUTES	60
/* The parent's life: the listening socket, tls_load() and priv_drop()
 * once, then accept, fork, reap and re-exec until SIGTERM (it exits).
 * Returns only in a forked child, with tls loaded, privileges dropped
 * and the connection on fds 0 and 1; main() serves it. */
void pool_serve(struct options *, struct tlsctx *, char **argv);
/* In a child: -1 with err when the parent could not load the TLS state
 * or drop privileges (the client gets <internal-server-error/>, as from
 * tls_load() or priv_drop() per connection), else 0. */
int pool_tls_error(char *err, size_t errsz);

/* ---- privdrop.c: after the key is read, before the client is parsed ---- */
/* No core dumps, --user when root, no new privileges.  0, or -1 + err. */
int priv_drop(const char *user, char *err, size_t errsz);

/* ---- authhelper.c: the xmppgate-auth(5) protocol ---- */
struct auth_request {
	const char *mechanism, *user, *domain, *authzid;
	const char *scram_hash;		/* SCRAM: "SHA-256", the request for
					 * stored credentials */
	const char *cbtype;		/* SCRAM -PLUS: "tls-exporter" */
	const char *pass;
	size_t	pass_len;
	int	attempt;
	const struct conn *conn;	/* addresses, TLS details, id */
	/* XEP-0484 FAST (xmppgate-auth(5) "FAST"): a token check, mechanism
	 * HT-SHA-256-*, or the request for a new token after a login,
	 * mechanism FAST-TOKEN.  NULL or 0 when not part of the request. */
	const char *fast_client;	/* AUTH_FAST_CLIENT: <user-agent id> */
	const char *fast_hmac;		/* AUTH_FAST_HMAC: the client's
					 * Initiator HMAC, base64 */
	const char *cbdata;		/* AUTH_CHANNEL_BINDING_DATA: this
					 * channel's binding data, base64 */
	int	fast_invalidate;	/* AUTH_FAST_INVALIDATE=1 */
	const char *fast_count;		/* AUTH_FAST_COUNT, decimal */
	const char *fast_mechanism;	/* FAST-TOKEN: AUTH_FAST_MECHANISM */
};
#define XG_FAST_TOKEN_MAX	256	/* a helper's fast-token= */
#define XG_FAST_TOKEN_MIN	16
#define XG_FAST_EXPIRY_LEN	20	/* fast-expiry=YYYY-MM-DDThh:mm:ssZ */
#define XG_FAST_HMAC_LEN	32	/* HMAC-SHA-256 */
#define XG_FAST_CONDITION_MAX	32	/* condition= after a rejection */
enum auth_verdict { AUTH_ACCEPT, AUTH_REJECT, AUTH_TEMPFAIL };
struct auth_reply {
	char	backend[XG_BACKEND_ADDR_MAX + 1];
	int	has_backend;
	char	user[XG_SASL_FIELD_MAX + 1];
	int	has_user;
	char	pass[XG_SASL_FIELD_MAX + 1];
	size_t	pass_len;
	int	has_pass;
	char	identity[XG_SASL_FIELD_MAX + 1];	/* EXTERNAL: the user */
	int	has_identity;
	char	scram[XG_SASL_FIELD_MAX + 1];	/* SCRAM: RFC 5803 value */
	int	has_scram;
	char	require[16];		/* s2s: "certificate" */
	int	has_require;
	char	redirect[XG_BACKEND_ADDR_MAX + 1];	/* <see-other-host/> */
	int	has_redirect;
	char	message[XG_FAILURE_TEXT_MAX + 1];	/* <failure><text> */
	int	has_message;
	int	delay_ms;			/* before a failure's answer */
	int	has_delay;
	/* FAST: a new token (after HT-* or FAST-TOKEN), the Responder HMAC
	 * (after HT-*, decoded), and a rejection's condition ("credentials-
	 * expired", the only one allowed). */
	char	fast_token[XG_FAST_TOKEN_MAX + 1];
	int	has_fast_token;
	char	fast_expiry[XG_FAST_EXPIRY_LEN + 1];
	int	has_fast_expiry;
	uint8_t	fast_responder[XG_FAST_HMAC_LEN];
	int	has_fast_responder;
	char	condition[XG_FAST_CONDITION_MAX + 1];
	int	has_condition;
};
#define XG_AUTH_ENV_MAX	40	/* authhelper_env()'s 34 names and the NULL */
/* Pure: build the helper's environment into buf; envp NULL-terminated. */
int authhelper_env(const struct auth_request *, char *buf, size_t bufsz,
    char **envp, size_t nenvp);
/* Pure: parse the helper's stdout (after an accept, or with accept 0
 * after a rejection, when only message= and delay= may appear).  0 ok, -1
 * with err set. */
int authhelper_parse_reply(const char *buf, size_t len, struct auth_reply *,
    char *err, size_t errsz);
int authhelper_parse_failure(const char *buf, size_t len, struct auth_reply *,
    char *err, size_t errsz);
enum auth_verdict authhelper_run(const char *path, const struct auth_request *,
    int timeout_ms, struct auth_reply *, char *why, size_t whysz);
/* A helper program to run: path (argv, or just the path) with envp, in
 * on fd infd (0, or 3 for checkpassword, fd 0 then /dev/null), its stdout
 * into out (at most outsz bytes kept, the rest read and dropped with
 * *overflow set; with stop_when_full, reading ends once out is full), all
 * within timeout_ms, after which its process group is killed. */
struct helper_spec {
	const char *path;
	char *const *argv;
	char **envp;
	int	infd;
	const char *in;
	size_t	inlen;
	char   *out;
	size_t	outsz;
	int	stop_when_full;
	int	timeout_ms;
};
/* 0 with *status (a wait status), or -1 with why set (exec failure,
 * timeout, system error); *outlen is what was read either way. */
int helper_run(const struct helper_spec *, size_t *outlen, int *overflow,
    int *status, char *why, size_t whysz);
void auth_reply_wipe(struct auth_reply *);

/* ---- authreq.c: the socket helper's request and answer (pure) ---- */
#define XG_AUTHREQ_HEAD_MAX	16384	/* field lines and the empty line */
#define XG_AUTHREQ_FIELDS_MAX	XG_AUTH_ENV_MAX	/* fields besides the length */
#define XG_AUTHREQ_NAME_MAX	64	/* a field's name */
#define XG_AUTHREQ_PASS_MAX	XG_SASL_FIELD_MAX	/* the password */
#define XG_AUTHREQ_MAX		(XG_AUTHREQ_HEAD_MAX + XG_AUTHREQ_PASS_MAX)
#define XG_AUTHREQ_VERDICT_MAX	9	/* "tempfail\n" */
#define XG_AUTHREQ_ANSWER_MAX	(XG_AUTHREQ_VERDICT_MAX + XG_HELPER_REPLY_MAX)
/* The request for envp (NAME=VALUE, the version first; PATH is left out)
 * and the password: its length, or 0 when a rule or bufsz is broken (a
 * name that is not one of authhelper_env()'s breaks one). */
size_t authreq_encode(char *const *envp, const char *pass, size_t plen,
    char *buf, size_t bufsz);
struct authreq {
	char   *name[XG_AUTHREQ_FIELDS_MAX];	/* in buf, NUL-terminated */
	char   *value[XG_AUTHREQ_FIELDS_MAX];
	size_t	nfields;		/* the version first; no length */
	const char *pass;		/* in buf, pass_len bytes */
	size_t	pass_len;
	size_t	len;			/* the whole request */
	const char *refused;		/* -2: the first name not allowed, */
	size_t	refused_len;		/* in buf, not NUL-terminated */
};
/* A request as a helper reads it: 1 when buf holds exactly one whole
 * request (each field line's '=' and '\n' are then overwritten with NUL),
 * 0 when it is good so far but incomplete (buf untouched), -1 when it
 * breaks a rule or has bytes after the password, -2 when it is whole and
 * well formed but has a field whose name xmppgate never sends (refused,
 * refused_len; buf untouched). */
int authreq_decode(char *buf, size_t len, struct authreq *);
/* The answer's verdict line: 0 with *v and *off (where the reply lines
 * start), or -1 when it is not "accept", "reject" or "tempfail" and LF. */
int authreq_verdict(const char *buf, size_t len, enum auth_verdict *v,
    size_t *off);

/* ---- authsocket.c: --auth unix:/PATH, one connection per attempt ---- */
enum auth_verdict authsocket_run(const char *addr,
    const struct auth_request *, int timeout_ms, struct auth_reply *,
    char *why, size_t whysz);

/* ---- authproto.c: checkpassword and ejabberd extauth ---- */
enum auth_verdict authproto_checkpassword(const char *path, const char *self,
    const struct auth_request *, int timeout_ms, struct auth_reply *,
    char *why, size_t whysz);
enum auth_verdict authproto_ejabberd(const char *path,
    const struct auth_request *, int timeout_ms, char *why, size_t whysz);
/* xmppgate --checkpassword-reply: Dovecot's USER/EXTRA to reply lines. */
int checkpassword_reply(void);

/* ---- backend.c: connect mode login ---- */
#define XG_BACKEND_PRIORITY "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
struct backend_opts {
	enum xg_backend_tls tls;
	const char *ca;			/* NULL: the system trust store */
	const uint8_t *proxy_hdr;	/* sent first, or NULL */
	size_t	proxy_len;
	/* A connection opened before the helper's answer (preopen.c), or
	 * -1; what already went out on it: the PROXY header, our stream
	 * header.  Nothing that depends on the credentials. */
	int	prefd;
	int	pre_proxy, pre_header;
};
/* *unreachable after a failure on bo->prefd before our <auth> went out
 * (refused, reset, closed; not a timeout): a fresh connection may be
 * tried, as without the pre-open. */
#define XG_BACKEND_PREOPEN_FAILED	2
/* Log in to the backend as user/pass for domain, over TLS when bo says
 * so (the certificate must name domain).  0 with bc open (fds and
 * maybe TLS), or -1 with *sf set: NOT_AUTHORIZED etc. for a backend
 * <failure/>, and *unreachable when it cannot be reached or its TLS
 * failed (why says which). */
int backend_login(const struct netaddr *, const struct backend_opts *,
    const char *domain, const char *user, const char *pass,
    int64_t deadline_ms, struct conn *bc, enum xg_sasl_failure *sf,
    int *unreachable, char *why, size_t whysz);
/* After the login: the stream restart with the backend, done by us (a
 * client that has TLS with us must not be offered STARTTLS again).  out
 * gets the backend's <stream:features> without <starttls/>, NUL ended;
 * 0, or -1 with why set. */
#define XG_FEATURES_MAX		XG_READ_BUF	/* the backend's features */
/* Our stream header to the backend for domain into out: its length, 0
 * if it does not fit. */
size_t backend_header(const char *domain, char *out, size_t outsz);
int backend_restart(struct conn *, const char *domain, int64_t deadline_ms,
    char *out, size_t outsz, size_t *outlen, char *why, size_t whysz);
void backend_close(struct conn *);
/* One element of the backend's logged-in stream, the answer to what we
 * sent for a SASL2 login (a bind iq, <enable/>, <resume/>): its namespace
 * and name, the attributes asked for here, its first child's name, and
 * the text of the first element below that (an iq's <bind><jid>). */
struct belem {
	char	ns[XG_NAME_MAX * 2 + 1];	/* "" when too long */
	char	name[XG_NAME_MAX + 1];
	char	type[16], id[XG_NAME_MAX + 1];	/* iq */
	char	h[16], max[16], resume[8];	/* XEP-0198 */
	char	smid[XG_SM_ID_MAX + 1], previd[XG_SM_ID_MAX + 1];
	char	child[XG_NAME_MAX + 1];
	char	text[XG_SASL_FIELD_MAX * 3 + 2];	/* a full JID */
	int	truncated;		/* an attribute or the text was cut */
};
/* Read the next element into e; buf[0..*len) holds bytes already read
 * and, on return, those after the element (the caller passes them on).
 * 0, or -1 with why. */
int backend_element(struct conn *, int64_t deadline_ms, uint8_t *buf,
    size_t bufsz, size_t *len, struct belem *e, char *why, size_t whysz);

/* ---- sasl2wire.c: SASL2's bytes beyond the client's parser (pure) ---- */
/* base64url without padding (RFC 4648 5): 0, or -1 when out is too small. */
int xg_b64url(const void *in, size_t n, char *out, size_t outsz);
/* The backend's features (<stream:features>...</stream:features>) hold a
 * feature in namespace ns: 1, else 0. */
int sasl2_feature_has(const char *feat, size_t len, const char *ns);
/* The same features less resource binding and the session (drop_bind)
 * and less stream management (drop_sm), byte for byte otherwise: the
 * length written to out (a feature that does not fit is left out; it
 * stops at an end tag that closes nothing and at bytes that do not lex). */
size_t sasl2_features_left(const char *feat, size_t len, int drop_bind,
    int drop_sm, char *out, size_t outsz);
/* p[0..n) is text a request or an id can carry: not empty, no control
 * character (below 0x20, or 0x7f): 1, else 0.  The resource in an SM id
 * and the user-agent id a FAST token is keyed on. */
int sasl2_text_ok(const char *p, size_t n);
/* The XEP-0198 id a client gets: the backend's id, '.', and the bound
 * resource in base64url (empty when there is none, it has a control
 * character, or it does not fit in
 * XG_SM_ID_MAX); "" when even the dot does not fit (no id is given then). */
void sasl2_sm_id_wrap(const char *id, const char *resource, char *out,
    size_t outsz);
/* And back: the backend's id, and the resource ("" when the id carries
 * none that decodes to text without control characters). */
void sasl2_sm_id_unwrap(const char *previd, char *id, size_t idsz,
    char *resource, size_t rsz);

/* ---- exec.c: exec mode ---- */
/* In a forked child: default actions for every signal, empty mask. */
void child_default_signals(void);
/* Start argv with a socketpair on its fds 0 and 1; returns our end. */
int exec_start(char **argv, const struct conn *, pid_t *pid,
    char *why, size_t whysz);

/* ---- relay.c ---- */
/* A poll set built step by step, one entry per fd (relay.c, splice.c). */
struct waits {
	struct pollfd pfd[3];
	nfds_t	n;
};
void poll_want(struct waits *, int fd, short events);
/* poll(2) on w: 0 (after EINTR too), or -1 with why (nothing to wait
 * for, poll failed, an fd not open). */
int poll_waits(struct waits *, int timeout, char *why, size_t whysz);
/* send(2) with MSG_NOSIGNAL (a gone peer is an error, not a death);
 * write(2) when fd is no socket. */
ssize_t sock_write(int fd, const void *, size_t);
/* O_NONBLOCK on fd (unless it is on): 0, or -1 with errno. */
int fd_nonblock(int fd);
/* Copy both ways between the client (TLS) and fd bfd until both sides
 * are closed.  pend_b are client bytes already read, sent to the backend
 * first.  Returns 0 on a clean end (why: who closed first, or the idle
 * timeout, after which both sides were closed), -1 with why set on an
 * error (no close_notify is sent then). */
int relay_run(struct conn *, int bfd, const uint8_t *pend_b, size_t npend_b,
    int idle_timeout_s, char *why, size_t whysz);

/* ---- splice.c: the plaintext relay (route mode, kernel TLS) ---- */
struct splice_relay {
	int	crfd, cwfd, bfd;	/* the client, the backend */
	const uint8_t *pend;		/* client bytes for the backend first */
	size_t	npend;
	int	idle_timeout_s;		/* 0 = none */
	int	no_splice;		/* copy through user space */
	gnutls_session_t ktls;		/* GnuTLS put the client's TLS in the kernel */
	int	kernel_tls;		/* ktls_move() did: no GnuTLS session */
	uint64_t rx, tx;		/* out: bytes from / to the client */
	int	spliced;		/* out: splice carried both ways */
};
/* Copy both ways until both are closed, with splice(2) where both fds
 * are sockets or pipes; 0 on a clean end (why: who closed first, or the
 * idle timeout), -1 with why set. */
int splice_relay(struct splice_relay *, char *why, size_t whysz);
/* Whether this kernel has kernel TLS (the "tls" TCP ULP): 1 yes, 0 no
 * (why says what the kernel said). */
int ktls_kernel_has(char *why, size_t whysz);

/* ---- ktls.c: the client's TLS record layer moved into the kernel ---- */
#define KTLS_REC_AGAIN	(-2)	/* ktls_recv_record(): nothing there yet */
#define KTLS_REC_SKIP	(-3)	/* ... a record to pass over */
/* After the handshake and the login: GnuTLS's decrypted bytes not yet
 * read are appended to buf[*len..cap), then the keys of both directions
 * go into the kernel (TLS 1.2, 1.3; AES-GCM, ChaCha20-Poly1305).  1 done
 * (why: protocol and cipher; the GnuTLS session must not touch fd again),
 * 0 not done and the session is GnuTLS's as before (why says why), -1 the
 * kernel decrypts but cannot encrypt: the session cannot go on (why). */
int ktls_move(gnutls_session_t, int fd, uint8_t *buf, size_t cap,
    size_t *len, char *why, size_t whysz);
ssize_t ktls_recv_record(int fd, uint8_t *buf, size_t bufsz, char *why,
    size_t whysz);
int ktls_send_close_notify(int fd);
/* The same without waiting: 0 sent, 1 no room now (EAGAIN), -1 failed. */
int ktls_try_close_notify(int fd);

/* ---- relaymsg.c: the hand-off message to xmppgate-relay(8) (pure) ---- */
#define XG_RELAYMSG_MAX		1024	/* one message, whole */
#define XG_RELAY_IDLE_MAX	2147483	/* --idle-timeout's bound (INT_MAX/1000) */
#define XG_RELAY_AGE_MAX	(INT64_C(100) * 366 * 86400 * 1000)	/* ms */
#define XG_RELAY_ANSWER_MAX	256	/* the relay's "OK" or "NO reason" */
struct relaymsg {
	char	id[16];			/* the connection id, hex */
	uint64_t rx, tx;		/* bytes from / to the client so far */
	int64_t	age_ms;			/* the session's age at the hand-off */
	int	idle_s;			/* --idle-timeout; 0 = none */
	char	fields[XG_SUMMARY_FIELDS_MAX];	/* log_summary_fields() */
};
/* m as one message into out: its length, or -1 if it does not fit. */
ssize_t relaymsg_encode(const struct relaymsg *, char *out, size_t outsz);
/* Parse s[0..len) whole into m: 0, or -1 with why (static text). */
int relaymsg_decode(const char *s, size_t len, struct relaymsg *,
    const char **why);

/* ---- routemap.c: route mode's map, domain -> backend (lookup is pure) ---- */
#define XG_ROUTE_MAP_MAX	(64 * 1024)	/* the whole map file */
#define XG_ROUTE_LINE_MAX	1200	/* one line of it */
#define XG_ROUTE_ENTRIES_MAX	1024	/* domains in it */
enum { ROUTE_FOUND = 0, ROUTE_NONE = 1, ROUTE_BAD = -1 };
/* Look domain (normalized) up in map[0..len): ROUTE_FOUND with *out,
 * ROUTE_NONE, or ROUTE_BAD with *line and *why for the first bad line.
 * With domain NULL it only checks the whole map (ROUTE_NONE if good). */
int route_lookup(const char *map, size_t len, const char *domain,
    struct netaddr *out, size_t *line, const char **why);
/* Read and check the map file into buf; its length, or -1 with err. */
ssize_t route_load(const char *path, char *buf, size_t bufsz, char *err,
    size_t errsz);

/* ---- srv.c (pure) and dns.c (libunbound): finding a remote server
 * for outbound federation (RFC 6120 3.2.1, RFC 2782, XEP-0368) ---- */
#include <sys/socket.h>
#define XG_SRV_TARGETS_MAX	16	/* targets kept per lookup */
#define XG_SRV_RDATA_MAX	(6 + 255)	/* SRV RDATA: 3 numbers, a name */
#define XG_DNS_ADDRS_MAX	16	/* addresses kept per family */
#define XG_SRV_FALLBACK_PORT	5269	/* the fallback (RFC 6120 3.2.1) */
struct srv_target {
	char	host[XG_DOMAIN_NAME_MAX + 1];	/* lowercase, no trailing dot */
	uint16_t port, priority, weight;
	int	direct_tls;	/* 1: _xmpps-server (XEP-0368); 0: _xmpp-server or fallback */
};
/* One SRV RDATA in wire format (libunbound's result->data[i], len[i])
 * into *out: 0, 1 for the "." target (service decidedly not available,
 * RFC 2782), -1 with why when it is bad (see srv.c for what is). */
int srv_parse(const uint8_t *rdata, size_t len, int direct_tls,
    struct srv_target *out, char *why, size_t whysz);
/* Order in place: priority ascending, then RFC 2782's weighted random
 * selection within each priority; rnd gives uniform 32-bit numbers. */
void srv_order(struct srv_target *t, size_t n, uint32_t (*rnd)(void *),
    void *arg);
/* name is a host name srv_parse would take (LDH labels, at most
 * XG_DOMAIN_NAME_MAX, no trailing dot): 1, else 0. */
int srv_hostname_ok(const char *name);

struct dns;
/* server NULL: /etc/resolv.conf and /etc/hosts; else "ADDR" or
 * "ADDR@PORT" (IPv4 or IPv6) to send every query to.  anchor NULL: no
 * DNSSEC validation; else a trust-anchor file.  NULL on error with why. */
struct dns *dns_new(const char *server, const char *anchor, char *why,
    size_t whysz);
void dns_free(struct dns *);
enum dns_result {
	DNS_OK,
	DNS_NONE,	/* NXDOMAIN, no records of the type, or "." */
	DNS_TIMEOUT,	/* deadline_ms passed */
	DNS_FAIL	/* SERVFAIL, bogus, bad records, other */
};
const char *dns_result_str(enum dns_result);
/* Where to try domain's s2s service, in order (see dns.c).  deadline_ms
 * is a now_ms() time.  *secure is 1 only if every answer used was
 * DNSSEC-secure.  On DNS_OK, why may hold a warning to log (records
 * skipped), or be empty. */
enum dns_result dns_s2s_targets(struct dns *, const char *domain,
    int64_t deadline_ms, struct srv_target *out, size_t max, size_t *n,
    int *secure, char *why, size_t whysz);
/* host's AAAA then A addresses, with port, into out[i] and outlen[i]
 * (at most XG_DNS_ADDRS_MAX of each family, max in all); results as
 * above. */
enum dns_result dns_addrs(struct dns *, const char *host, uint16_t port,
    int64_t deadline_ms, struct sockaddr_storage *out, socklen_t *outlen,
    size_t max, size_t *n, int *secure, char *why, size_t whysz);

#endif
