/*
 * A bounded XML lexer: one token from the start of a buffer, or "need
 * more".  Pure: no I/O, no globals, no allocation; the caller keeps the
 * unconsumed bytes.  Only what XMPP allows before authentication is
 * lexed; everything RFC 6120 11.1 restricts is refused, not skipped.
 *
 * Written by hand because libxml2/expat do not give us a fixed memory
 * bound per token and refusal of restricted XML at the lexer.
 */
#include <string.h>
#include "xmppgate.h"

#define ENTITY_MAX	12	/* longest reference we accept: &#x10FFFF; */

static int
is_ws(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int
is_xml_char(uint32_t c)
{
	return c == 0x9 || c == 0xA || c == 0xD ||
	    (c >= 0x20 && c <= 0xD7FF) || (c >= 0xE000 && c <= 0xFFFD) ||
	    (c >= 0x10000 && c <= 0x10FFFF);
}

/*
 * Decode one UTF-8 character.  Returns its length, 0 if the buffer ends
 * inside it, -1 if it is not UTF-8, -2 if it is not an XML character.
 */
static int
utf8_char(const uint8_t *p, size_t n, uint32_t *cp)
{
	uint32_t c;
	int len, i;

	if (n == 0)
		return 0;
	if (p[0] < 0x80) {
		len = 1;
		c = p[0];
	} else if (p[0] >= 0xC2 && p[0] <= 0xDF) {
		len = 2;
		c = p[0] & 0x1F;
	} else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
		len = 3;
		c = p[0] & 0x0F;
	} else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
		len = 4;
		c = p[0] & 0x07;
	} else
		return -1;
	for (i = 1; i < len; i++) {
		if ((size_t)i >= n)
			return 0;
		if ((p[i] & 0xC0) != 0x80)
			return -1;
		c = (c << 6) | (p[i] & 0x3F);
	}
	/* Overlong forms and surrogates. */
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    (c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF)
		return -1;
	if (!is_xml_char(c))
		return -2;
	*cp = c;
	return len;
}

static size_t
utf8_put(uint32_t c, char *out)
{
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xC0 | (c >> 6));
		out[1] = (char)(0x80 | (c & 0x3F));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (char)(0xE0 | (c >> 12));
		out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
		out[2] = (char)(0x80 | (c & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (c >> 18));
	out[1] = (char)(0x80 | ((c >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((c >> 6) & 0x3F));
	out[3] = (char)(0x80 | (c & 0x3F));
	return 4;
}

/* Every byte of a complete tag must be UTF-8 and an XML character. */
static enum xml_result
utf8_check(const uint8_t *p, size_t n)
{
	uint32_t c;
	size_t i = 0;
	int l;

	while (i < n) {
		l = utf8_char(p + i, n - i, &c);
		if (l <= 0)
			return l == -2 ? XML_ERR_CHAR : XML_ERR_UTF8;
		i += (size_t)l;
	}
	return XML_OK;
}

/*
 * A reference starting at p[0] == '&'.  Returns its length and puts the
 * decoded character in *cp; 0 if the buffer ends inside it; negative
 * xml_result on error.
 */
static int
entity(const uint8_t *p, size_t n, uint32_t *cp)
{
	size_t i, end;
	uint32_t v = 0;

	for (end = 1; end < n && end < ENTITY_MAX && p[end] != ';'; end++) {
		uint8_t c = p[end];
		/* Refuse early what can never become a reference. */
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || (c == '#' && end == 1) ||
		    c == '_' || c == '-' || c == '.' || c >= 0x80))
			return -XML_ERR_SYNTAX;
	}
	if (end >= n && end < ENTITY_MAX)
		return 0;
	if (end >= ENTITY_MAX || p[end] != ';')
		return -XML_ERR_SYNTAX;
	if (p[1] == '#') {
		int hex = end > 2 && p[2] == 'x';
		i = hex ? 3 : 2;
		if (i >= end)
			return -XML_ERR_SYNTAX;
		for (; i < end; i++) {
			uint8_t d = p[i];
			if (d >= '0' && d <= '9')
				v = v * (hex ? 16 : 10) + (d - '0');
			else if (hex && d >= 'a' && d <= 'f')
				v = v * 16 + (d - 'a' + 10);
			else if (hex && d >= 'A' && d <= 'F')
				v = v * 16 + (d - 'A' + 10);
			else
				return -XML_ERR_SYNTAX;
			if (v > 0x10FFFF)
				return -XML_ERR_CHAR;
		}
		if (!is_xml_char(v))
			return -XML_ERR_CHAR;
		*cp = v;
		return (int)end + 1;
	}
#define ENT(s, c) if (end - 1 == sizeof(s) - 1 && memcmp(p + 1, s, end - 1) == 0) { *cp = c; return (int)end + 1; }
	ENT("lt", '<') ENT("gt", '>') ENT("amp", '&') ENT("quot", '"')
	ENT("apos", '\'')
#undef ENT
	for (i = 1; i < end; i++)
		if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' &&
		    p[i] <= 'Z') || (p[i] >= '0' && p[i] <= '9') ||
		    p[i] == '_' || p[i] == '-' || p[i] == '.' || p[i] >= 0x80))
			return -XML_ERR_SYNTAX;
	/* A well-formed reference to an entity no DTD may declare here. */
	return -XML_ERR_RESTRICTED;
}

static int
name_start(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	    c >= 0x80;
}

static int
name_char(uint8_t c)
{
	return name_start(c) || (c >= '0' && c <= '9') || c == '-' ||
	    c == '.' || c == ':';
}

/* A name at p; returns its length (0 if none) or -1 if too long. */
static int
lex_name(const uint8_t *p, size_t n, char out[XG_NAME_MAX + 1])
{
	size_t i;
	int colons = 0;

	if (n == 0 || !name_start(p[0]))
		return 0;
	for (i = 0; i < n && name_char(p[i]); i++) {
		if (p[i] == ':')
			colons++;
		if (i >= XG_NAME_MAX)
			return -1;
	}
	/* Namespaces in XML: at most one colon, not at either end. */
	if (colons > 1 || p[i - 1] == ':')
		return -2;
	memcpy(out, p, i);
	out[i] = '\0';
	return (int)i;
}

/* Attribute value between quotes at p[0]; the tag is complete. */
static enum xml_result
lex_value(const uint8_t *p, size_t n, size_t *used, struct xml_attr *a)
{
	uint8_t q = p[0];
	size_t i = 1, o = 0;
	uint32_t c;
	int l;

	for (;;) {
		if (i >= n)
			return XML_ERR_SYNTAX;
		if (p[i] == q)
			break;
		if (p[i] == '<')
			return XML_ERR_SYNTAX;
		if (p[i] == '&') {
			l = entity(p + i, n - i, &c);
			if (l == 0)
				return XML_ERR_SYNTAX;
			if (l < 0)
				return (enum xml_result)-l;
		} else {
			l = utf8_char(p + i, n - i, &c);
			if (l <= 0)
				return l == -2 ? XML_ERR_CHAR : XML_ERR_UTF8;
			/* Attribute-value normalization (XML 1.0 3.3.3). */
			if (c == '\t' || c == '\n' || c == '\r')
				c = ' ';
		}
		if (o + 4 > XG_ATTR_VALUE_MAX)
			return XML_ERR_LIMIT;
		o += utf8_put(c, a->value + o);
		i += (size_t)l;
	}
	a->value[o] = '\0';
	a->value_len = o;
	*used = i + 1;
	return XML_OK;
}

/* Attributes from p up to and including "/>" or ">" (or "?>"). */
static enum xml_result
lex_attrs(const uint8_t *p, size_t n, struct xml_token *tok, int decl)
{
	size_t i = 0, j, u;
	enum xml_result r;
	int l, sawws;

	tok->nattrs = 0;
	for (;;) {
		sawws = 0;
		while (i < n && is_ws(p[i])) {
			i++;
			sawws = 1;
		}
		if (i >= n)
			return XML_ERR_SYNTAX;
		if (decl) {
			if (p[i] == '?' && i + 1 < n && p[i + 1] == '>')
				return i + 2 == n ? XML_OK : XML_ERR_SYNTAX;
		} else if (p[i] == '>') {
			return i + 1 == n ? XML_OK : XML_ERR_SYNTAX;
		} else if (p[i] == '/' && i + 1 < n && p[i + 1] == '>') {
			tok->empty = 1;
			return i + 2 == n ? XML_OK : XML_ERR_SYNTAX;
		}
		if (!sawws)
			return XML_ERR_SYNTAX;
		if (tok->nattrs >= XG_ATTRS_MAX)
			return XML_ERR_LIMIT;
		struct xml_attr *a = &tok->attrs[tok->nattrs];
		l = lex_name(p + i, n - i, a->name);
		if (l == -1)
			return XML_ERR_LIMIT;
		if (l <= 0)
			return XML_ERR_SYNTAX;
		i += (size_t)l;
		while (i < n && is_ws(p[i]))
			i++;
		if (i >= n || p[i] != '=')
			return XML_ERR_SYNTAX;
		i++;
		while (i < n && is_ws(p[i]))
			i++;
		if (i >= n || (p[i] != '"' && p[i] != '\''))
			return XML_ERR_SYNTAX;
		if ((r = lex_value(p + i, n - i, &u, a)) != XML_OK)
			return r;
		i += u;
		for (j = 0; j < tok->nattrs; j++)
			if (strcmp(tok->attrs[j].name, a->name) == 0)
				return XML_ERR_SYNTAX;	/* duplicate */
		tok->nattrs++;
	}
}

/* Length of the tag starting at p[0] == '<' (quote-aware), 0 if unended. */
static size_t
tag_end(const uint8_t *p, size_t n)
{
	size_t i;
	uint8_t q = 0;

	for (i = 1; i < n; i++) {
		if (q) {
			if (p[i] == q)
				q = 0;
		} else if (p[i] == '"' || p[i] == '\'')
			q = p[i];
		else if (p[i] == '>')
			return i + 1;
	}
	return 0;
}

static enum xml_result
lex_decl(const uint8_t *buf, size_t len, struct xml_token *tok, size_t *used)
{
	static const char pfx[] = "<?xml";
	size_t i, end;
	const char *v;
	enum xml_result r;

	for (i = 0; i < sizeof(pfx) - 1; i++) {
		if (i >= len)
			return XML_MORE;
		if (buf[i] != (uint8_t)pfx[i])
			return XML_ERR_RESTRICTED;	/* another PI */
	}
	if (i >= len)
		return XML_MORE;
	if (!is_ws(buf[i]))
		return XML_ERR_RESTRICTED;	/* e.g. <?xml-stylesheet */
	for (end = i; end + 1 < len; end++)
		if (buf[end] == '?' && buf[end + 1] == '>')
			break;
	if (end + 1 >= len)
		return len >= XG_TAG_MAX ? XML_ERR_LIMIT : XML_MORE;
	end += 2;
	if (end > XG_TAG_MAX)
		return XML_ERR_LIMIT;
	if ((r = utf8_check(buf, end)) != XML_OK)
		return r;
	tok->type = XML_TOK_DECL;
	strcpy(tok->name, "xml");
	tok->empty = 1;
	if ((r = lex_attrs(buf + i, end - i, tok, 1)) != XML_OK)
		return r;
	/* XML 1.0 2.8: version first, then encoding, then standalone. */
	if (tok->nattrs < 1 || strcmp(tok->attrs[0].name, "version") != 0)
		return XML_ERR_SYNTAX;
	for (i = 1; i < tok->nattrs; i++)
		if (strcmp(tok->attrs[i].name, "encoding") != 0 &&
		    strcmp(tok->attrs[i].name, "standalone") != 0)
			return XML_ERR_SYNTAX;
	v = tok->attrs[0].value;
	if (strcmp(v, "1.0") != 0)
		return XML_ERR_SYNTAX;
	if ((v = xml_attr_get(tok, "encoding", NULL)) != NULL &&
	    strcasecmp(v, "UTF-8") != 0)
		return XML_ERR_ENCODING;
	*used = end;
	return XML_OK;
}

static enum xml_result
lex_tag(const uint8_t *buf, size_t len, struct xml_token *tok, size_t *used)
{
	size_t end, i;
	enum xml_result r;
	int l, close = buf[1] == '/';

	end = tag_end(buf, len < XG_TAG_MAX ? len : XG_TAG_MAX);
	if (end == 0)
		return len >= XG_TAG_MAX ? XML_ERR_LIMIT : XML_MORE;
	if ((r = utf8_check(buf, end)) != XML_OK)
		return r;
	i = close ? 2 : 1;
	l = lex_name(buf + i, end - i, tok->name);
	if (l == -1)
		return XML_ERR_LIMIT;
	if (l <= 0)
		return XML_ERR_SYNTAX;
	i += (size_t)l;
	tok->empty = 0;
	tok->nattrs = 0;
	if (close) {
		tok->type = XML_TOK_END;
		while (i < end && is_ws(buf[i]))
			i++;
		if (i + 1 != end)
			return XML_ERR_SYNTAX;
	} else {
		tok->type = XML_TOK_START;
		if ((r = lex_attrs(buf + i, end - i, tok, 0)) != XML_OK)
			return r;
	}
	*used = end;
	return XML_OK;
}

static enum xml_result
lex_text(const uint8_t *buf, size_t len, struct xml_token *tok, size_t *used)
{
	size_t i = 0, o = 0;
	uint32_t c;
	int l, ws = 1;

	while (i < len && buf[i] != '<' && o + 4 <= sizeof(tok->text)) {
		if (buf[i] == '&') {
			l = entity(buf + i, len - i, &c);
		} else {
			l = utf8_char(buf + i, len - i, &c);
			if (l < 0)
				l = l == -2 ? -XML_ERR_CHAR : -XML_ERR_UTF8;
		}
		/* The text before a bad byte is returned first, as it would
		 * be had a read ended there: the answer must not depend on
		 * how the bytes arrived.  The error comes on the next call. */
		if (l < 0 && i > 0)
			break;
		if (l < 0)
			return (enum xml_result)-l;
		if (l == 0)
			break;		/* split character or reference */
		if (!is_ws(buf[i]) || buf[i] == '&')
			ws = 0;
		o += utf8_put(c, tok->text + o);
		i += (size_t)l;
	}
	if (i == 0)
		return XML_MORE;
	tok->type = XML_TOK_TEXT;
	tok->name[0] = '\0';
	tok->nattrs = 0;
	tok->text_len = o;
	tok->text_ws = ws;
	*used = i;
	return XML_OK;
}

enum xml_result
xml_lex(const uint8_t *buf, size_t len, struct xml_token *tok, size_t *used)
{
	*used = 0;
	if (len == 0)
		return XML_MORE;
	if (buf[0] != '<')
		return lex_text(buf, len, tok, used);
	if (len < 2)
		return XML_MORE;
	if (buf[1] == '?')
		return lex_decl(buf, len, tok, used);
	if (buf[1] == '!')
		return XML_ERR_RESTRICTED;	/* comment, DTD, CDATA */
	return lex_tag(buf, len, tok, used);
}

size_t
xml_ws_span(const uint8_t *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len && is_ws(buf[i]); i++)
		;
	return i;
}

const char *
xml_result_str(enum xml_result r)
{
	switch (r) {
	case XML_OK:		return "ok";
	case XML_MORE:		return "need more input";
	case XML_ERR_SYNTAX:	return "not well-formed XML";
	case XML_ERR_UTF8:	return "not UTF-8";
	case XML_ERR_CHAR:	return "a character XML forbids";
	case XML_ERR_RESTRICTED: return "restricted XML (comment, PI, DTD, "
				    "CDATA or entity)";
	case XML_ERR_ENCODING:	return "encoding other than UTF-8";
	case XML_ERR_LIMIT:	return "a size limit was exceeded";
	}
	return "?";
}

const char *
xml_attr_get(const struct xml_token *tok, const char *name, size_t *len)
{
	size_t i;

	for (i = 0; i < tok->nattrs; i++)
		if (strcmp(tok->attrs[i].name, name) == 0) {
			if (len)
				*len = tok->attrs[i].value_len;
			return tok->attrs[i].value;
		}
	return NULL;
}

int
xml_ns_push(struct xml_ns *ns, const struct xml_token *tok)
{
	size_t i;
	const char *prefix;

	for (i = 0; i < tok->nattrs; i++) {
		const struct xml_attr *a = &tok->attrs[i];
		if (strcmp(a->name, "xmlns") == 0)
			prefix = "";
		else if (strncmp(a->name, "xmlns:", 6) == 0)
			prefix = a->name + 6;
		else
			continue;
		/* Namespaces in XML 3: a prefix may not be undeclared. */
		if (*prefix != '\0' && a->value_len == 0)
			return -1;
		if (strcmp(prefix, "xml") == 0 || strcmp(prefix, "xmlns") == 0)
			return -1;
		if (ns->n >= XG_NS_MAX)
			return -2;
		strcpy(ns->d[ns->n].prefix, prefix);
		memcpy(ns->d[ns->n].uri, a->value, a->value_len + 1);
		ns->n++;
	}
	return 0;
}

const char *
xml_ns_resolve(const struct xml_ns *ns, const char *qname, const char **local)
{
	const char *colon = strchr(qname, ':');
	size_t plen = colon ? (size_t)(colon - qname) : 0;
	size_t i;

	*local = colon ? colon + 1 : qname;
	if (plen == 3 && strncmp(qname, "xml", 3) == 0)
		return NS_XML;
	/* Latest declaration wins: search from the end. */
	for (i = ns->n; i-- > 0;)
		if (strlen(ns->d[i].prefix) == plen &&
		    strncmp(ns->d[i].prefix, qname, plen) == 0)
			return ns->d[i].uri[0] ? ns->d[i].uri : NULL;
	return NULL;
}

int
xml_ns_check_attrs(const struct xml_ns *ns, const struct xml_token *tok)
{
	const char *uri[XG_ATTRS_MAX], *local[XG_ATTRS_MAX];
	size_t i, j;

	for (i = 0; i < tok->nattrs; i++) {
		const char *n = tok->attrs[i].name;
		uri[i] = NULL;
		if (strchr(n, ':') == NULL || strncmp(n, "xmlns:", 6) == 0)
			continue;
		if ((uri[i] = xml_ns_resolve(ns, n, &local[i])) == NULL)
			return -1;
		/* Namespaces in XML 6.3: no two attributes with the same
		 * expanded name, e.g. a:x and b:x with a and b bound to one
		 * URI.  Equal qualified names the lexer has refused. */
		for (j = 0; j < i; j++)
			if (uri[j] != NULL && strcmp(uri[i], uri[j]) == 0 &&
			    strcmp(local[i], local[j]) == 0)
				return -2;
	}
	return 0;
}

size_t
xml_escape(char *out, size_t outsz, const char *in, size_t inlen)
{
	size_t i, o = 0;
	const char *rep;
	char one[2] = { 0, 0 };

	if (outsz == 0)
		return 0;
	for (i = 0; i < inlen; i++) {
		switch (in[i]) {
		case '<':  rep = "&lt;"; break;
		case '>':  rep = "&gt;"; break;
		case '&':  rep = "&amp;"; break;
		case '"':  rep = "&quot;"; break;
		case '\'': rep = "&apos;"; break;
		default:   one[0] = in[i]; rep = one; break;
		}
		size_t rl = strlen(rep);
		if (o + rl >= outsz)
			break;
		memcpy(out + o, rep, rl);
		o += rl;
	}
	out[o] = '\0';
	return o;
}
