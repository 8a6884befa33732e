/*
 * The pre-auth grammar, fed every transcript whole, split at every byte
 * position into two reads, and one byte at a time: the events and the
 * final error must not depend on how the bytes arrived.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "xmppgate.h"

#define OUT_MAX 2048

static struct xp xp;
static int s2s_mode;		/* feed as a server's stream */
static int restart_on_auth;	/* <auth> succeeds: the stream restarts */
static int show_errtext;	/* ERROR(condition:text) */

/* XP_EV_AUTHENTICATE: every field the parser collected. */
static void
describe_s2(const struct xp_event *ev, char *out, size_t outsz)
{
	const struct xp_sasl2 *s2 = ev->s2;
	size_t n = strlen(out);

#define MORE(...) (snprintf(out + n, outsz - n, __VA_ARGS__), n = strlen(out))
	MORE("AUTHENTICATE(%s,%.*s%s", ev->mechanism, (int)ev->data_len,
	    ev->data, ev->data_empty ? "<empty>" : "");
	if (s2->has_ir)
		MORE(",ir");
	if (s2->has_ua_id || s2->software[0] || s2->device[0])
		MORE(",ua[%s|%s|%s]", s2->has_ua_id ? s2->ua_id : "-",
		    s2->software, s2->device);
	if (s2->bind)
		MORE(",bind[%s|%d]", s2->has_tag ? s2->tag : "-",
		    s2->bind_other);
	if (s2->sm_enable)
		MORE(",enable[%d|%lu]", s2->sm_enable_resume,
		    s2->sm_enable_max);
	if (s2->sm_resume)
		MORE(",resume[%s|%lu]", s2->sm_previd, s2->sm_h);
	if (s2->request_token)
		MORE(",token[%s]", s2->token_mech);
	if (s2->fast)
		MORE(",fast[%d|%s%lu]", s2->fast_invalidate,
		    s2->has_fast_count ? "" : "-", s2->fast_count);
	MORE(");");
#undef MORE
}

/* Describe one event as text. */
static void
describe(const struct xp_event *ev, char *out, size_t outsz)
{
	size_t n = strlen(out);

	switch (ev->type) {
	case XP_EV_HEADER:
		snprintf(out + n, outsz - n, "HEADER(%s,%s,%s);",
		    ev->has_to ? ev->to : "-",
		    ev->has_version ? ev->version : "-", ev->lang);
		n = strlen(out);
		if (xp.tail > 0)	/* the old stream's whitespace */
			snprintf(out + n, outsz - n, "TAIL(%zu);", xp.tail);
		n = strlen(out);
		if (s2s_mode)
			snprintf(out + n, outsz - n, "FROM(%s%s);",
			    ev->has_from ? ev->from : "-",
			    ev->has_db ? ",db" : "");
		break;
	case XP_EV_DIALBACK:
		snprintf(out + n, outsz - n, "DB(%s,%s,%s,%s,%.*s);",
		    ev->name, ev->has_from ? ev->from : "-",
		    ev->has_to ? ev->to : "-", ev->id, (int)ev->data_len,
		    ev->data);
		break;
	case XP_EV_STARTTLS: snprintf(out + n, outsz - n, "STARTTLS;"); break;
	case XP_EV_AUTH:
		snprintf(out + n, outsz - n, "AUTH(%s,%.*s%s);",
		    ev->mechanism, (int)ev->data_len, ev->data,
		    ev->data_empty ? "<empty>" : "");
		break;
	case XP_EV_RESPONSE:
		snprintf(out + n, outsz - n, "RESPONSE%s(%.*s);",
		    ev->sasl2 ? "2" : "", (int)ev->data_len, ev->data);
		break;
	case XP_EV_ABORT:
		snprintf(out + n, outsz - n, "ABORT%s;", ev->sasl2 ? "2" : "");
		break;
	case XP_EV_AUTHENTICATE:
		describe_s2(ev, out, outsz);
		break;
	case XP_EV_CLOSE: snprintf(out + n, outsz - n, "CLOSE;"); break;
	case XP_EV_STANZA:
		snprintf(out + n, outsz - n, "STANZA(%s);", ev->name);
		break;
	}
}

/* Feed input in chunks starting at the given offsets, as stream.c does. */
static void
run(const char *in, size_t len, const size_t *cuts, size_t ncuts, char *out)
{
	uint8_t buf[XG_READ_BUF];
	size_t blen = 0, pos = 0, used, ci = 0, next;
	struct xp_event ev;
	enum xp_result r;

	out[0] = '\0';
	xp_init(&xp);
	xp.s2s = s2s_mode;
	while (pos < len) {
		next = ci < ncuts ? cuts[ci++] : len;
		if (next > len)
			next = len;
		if (next <= pos)
			continue;
		if (blen == sizeof(buf)) {	/* stream.c: token too long */
			size_t n = strlen(out);
			snprintf(out + n, OUT_MAX - n, "ERROR(buffer-full)");
			return;
		}
		if (next - pos > sizeof(buf) - blen) {
			next = pos + sizeof(buf) - blen;
			ci--;
		}
		memcpy(buf + blen, in + pos, next - pos);
		blen += next - pos;
		pos = next;
		for (;;) {
			r = xp_feed(&xp, buf, blen, &used, &ev);
			memmove(buf, buf + used, blen - used);
			blen -= used;
			if (r == XP_EVENT) {
				describe(&ev, out, OUT_MAX);
				/* As stream.c: after <proceed/> and TLS, or
				 * after <success/>.  What was read after
				 * the element stays: the old stream's end,
				 * as it would be had it come later. */
				if (ev.type == XP_EV_STARTTLS ||
				    (ev.type == XP_EV_AUTH && restart_on_auth))
					xp_restart(&xp);
				/* stream.c ends the session on these. */
				if (ev.type == XP_EV_CLOSE ||
				    ev.type == XP_EV_STANZA)
					return;
				continue;
			}
			if (r == XP_ERROR) {
				size_t n = strlen(out);
				snprintf(out + n, OUT_MAX - n, "ERROR(%s%s%s)",
				    xg_stream_error_name(xp.err),
				    show_errtext ? ":" : "",
				    show_errtext ? xp.errtext : "");
				return;
			}
			break;
		}
	}
	if (blen > 0) {
		size_t n = strlen(out);
		snprintf(out + n, OUT_MAX - n, "MORE(%zu)", blen);
	}
}

/* Whole, every two-way split, and byte by byte must agree with want. */
static void
check_all_splits(const char *in, const char *want)
{
	static char got[OUT_MAX];
	size_t len = strlen(in), i, *cuts;

	run(in, len, NULL, 0, got);
	ck_assert_msg(strcmp(got, want) == 0, "whole: got %s want %s for %s",
	    got, want, in);
	for (i = 1; i < len; i++) {
		run(in, len, &i, 1, got);
		ck_assert_msg(strcmp(got, want) == 0,
		    "split at %zu: got %s want %s", i, got, want);
	}
	cuts = malloc(len * sizeof(*cuts));
	for (i = 0; i < len; i++)
		cuts[i] = i + 1;
	run(in, len, cuts, len, got);
	free(cuts);
	ck_assert_msg(strcmp(got, want) == 0, "bytewise: got %s want %s",
	    got, want);
}

#define HDR "<stream:stream xmlns='jabber:client' " \
	"xmlns:stream='http://etherx.jabber.org/streams' to='example.test' " \
	"version='1.0'>"
#define HDR_EV "HEADER(example.test,1.0,);"

START_TEST(t_full_exchange)
{
	check_all_splits("<?xml version='1.0' encoding='UTF-8'?>\n" HDR
	    " \n\t<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
	    "<?xml version=\"1.0\"?>" HDR
	    "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
	    "mechanism='PLAIN'>AGp1bGlldAByMG0zMG15cjBtMzA=</auth> "
	    "</stream:stream>",
	    HDR_EV "STARTTLS;" HDR_EV
	    "AUTH(PLAIN,AGp1bGlldAByMG0zMG15cjBtMzA=);CLOSE;");
}
END_TEST

START_TEST(t_quotes_entities_lang)
{
	check_all_splits("<stream:stream xmlns=\"jabber:client\" "
	    "xml:lang=\"en\" xmlns:stream=\"http://etherx.jabber.org/streams\""
	    " to=\"ex&#97;mple.t&#x65;st\" version=\"1.0\">",
	    "HEADER(example.test,1.0,en);");
	check_all_splits("<s:stream xmlns='jabber:client' "
	    "xmlns:s='http://etherx.jabber.org/streams' to='a&amp;b' "
	    "version='1.0'>", "HEADER(a&b,1.0,);");
}
END_TEST

START_TEST(t_utf8_in_attribute)
{
	check_all_splits("<stream:stream xmlns='jabber:client' "
	    "xmlns:stream='http://etherx.jabber.org/streams' "
	    "to='b\xc3\xbc\xe2\x82\xac\xf0\x9f\x98\x80.test' version='1.0'>",
	    "HEADER(b\xc3\xbc\xe2\x82\xac\xf0\x9f\x98\x80.test,1.0,);");
}
END_TEST

START_TEST(t_sasl_elements)
{
	check_all_splits(HDR "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl'"
	    " mechanism='PLAIN'/><response xmlns='urn:ietf:params:xml:ns:"
	    "xmpp-sasl'>AGEAYg==</response><abort xmlns='urn:ietf:params:xml:"
	    "ns:xmpp-sasl'/>",
	    HDR_EV "AUTH(PLAIN,<empty>);RESPONSE(AGEAYg==);ABORT;");
	check_all_splits(HDR "<x:auth xmlns:x='urn:ietf:params:xml:ns:"
	    "xmpp-sasl' mechanism='SCRAM-SHA-1'>=</x:auth>",
	    HDR_EV "AUTH(SCRAM-SHA-1,=);");
}
END_TEST

START_TEST(t_restricted)
{
	check_all_splits("<!-- hi -->" HDR, "ERROR(restricted-xml)");
	check_all_splits(HDR "<!-- hi -->", HDR_EV "ERROR(restricted-xml)");
	check_all_splits("<!DOCTYPE lol [<!ENTITY lol 'lol'>]>" HDR,
	    "ERROR(restricted-xml)");
	check_all_splits(HDR "<?foo bar?>", HDR_EV "ERROR(restricted-xml)");
	check_all_splits("<stream:stream xmlns='jabber:client' xmlns:stream="
	    "'http://etherx.jabber.org/streams' to='&lol;' version='1.0'>",
	    "ERROR(restricted-xml)");
	check_all_splits(HDR "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
	    "mechanism='PLAIN'><![CDATA[x]]></auth>",
	    HDR_EV "ERROR(restricted-xml)");
}
END_TEST

START_TEST(t_namespaces)
{
	check_all_splits("<stream:stream xmlns='jabber:server' xmlns:stream="
	    "'http://etherx.jabber.org/streams' to='example.test' "
	    "version='1.0'>", "ERROR(invalid-namespace)");
	check_all_splits("<stream:stream xmlns:stream='http://etherx.jabber."
	    "org/streams' to='example.test' version='1.0'>",
	    "ERROR(invalid-namespace)");
	check_all_splits("<stream:stream xmlns='jabber:client' xmlns:stream="
	    "'urn:wrong' to='example.test' version='1.0'>",
	    "ERROR(invalid-namespace)");
	check_all_splits("<stream xmlns='jabber:client' to='x'>",
	    "ERROR(invalid-namespace)");
	check_all_splits(HDR "<q:auth mechanism='PLAIN'/>",
	    HDR_EV "ERROR(not-well-formed)");
	check_all_splits(HDR "<starttls xmlns='urn:wrong'/>",
	    HDR_EV "ERROR(unsupported-stanza-type)");
}
END_TEST

START_TEST(t_stanzas_and_unknown)
{
	check_all_splits(HDR "<iq type='get' id='1'><query/></iq>",
	    HDR_EV "STANZA(iq);");
	check_all_splits(HDR "<message to='a@b'>", HDR_EV "STANZA(message);");
	check_all_splits(HDR "<foo/>", HDR_EV "ERROR(unsupported-stanza-type)");
	check_all_splits(HDR "hello", HDR_EV "ERROR(bad-format)");
	check_all_splits(HDR "<starttls xmlns='urn:ietf:params:xml:ns:"
	    "xmpp-tls'><required/></starttls>", HDR_EV "ERROR(bad-format)");
}
END_TEST

#define SHDR "<stream:stream xmlns='jabber:server' " \
	"xmlns:stream='http://etherx.jabber.org/streams' " \
	"xmlns:db='jabber:server:dialback' to='b.test' from='a.test' " \
	"version='1.0'>"
#define SHDR_EV "HEADER(b.test,1.0,);FROM(a.test,db);"

/* A server's stream: jabber:server, its 'from', dialback elements. */
START_TEST(t_s2s)
{
	s2s_mode = 1;
	check_all_splits(SHDR "<starttls xmlns='urn:ietf:params:xml:ns:"
	    "xmpp-tls'/>" SHDR, SHDR_EV "STARTTLS;" SHDR_EV);
	check_all_splits(SHDR "<db:result from='a.test' to='b.test'>"
	    "0f1e2d</db:result>", SHDR_EV "DB(result,a.test,b.test,,0f1e2d);");
	check_all_splits(SHDR "<db:verify from='a.test' to='b.test' "
	    "id='x1'>ab</db:verify><db:result from='a.test' to='b.test'/>",
	    SHDR_EV "DB(verify,a.test,b.test,x1,ab);"
	    "DB(result,a.test,b.test,,);");
	check_all_splits(SHDR "<message to='bob@b.test'><body>hi</body>",
	    SHDR_EV "STANZA(message);");
	/* Without xmlns:db there is no dialback prefix. */
	check_all_splits("<stream:stream xmlns='jabber:server' xmlns:stream="
	    "'http://etherx.jabber.org/streams' to='b.test' version='1.0'>"
	    "<db:result/>", "HEADER(b.test,1.0,);FROM(-);"
	    "ERROR(not-well-formed)");
	/* A client's namespace, a client's stanza, markup in the key. */
	check_all_splits(HDR, "ERROR(invalid-namespace)");
	check_all_splits(SHDR "<iq xmlns='jabber:client'/>",
	    SHDR_EV "ERROR(unsupported-stanza-type)");
	check_all_splits(SHDR "<db:result from='a.test' to='b.test'><x/>"
	    "</db:result>", SHDR_EV "ERROR(bad-format)");
	check_all_splits(SHDR "<db:other/>",
	    SHDR_EV "ERROR(unsupported-stanza-type)");
	s2s_mode = 0;
	/* A client may not speak dialback, even with the prefix declared. */
	check_all_splits("<stream:stream xmlns='jabber:client' xmlns:stream="
	    "'http://etherx.jabber.org/streams' xmlns:db='jabber:server:"
	    "dialback' to='b.test' version='1.0'><db:result/>",
	    "HEADER(b.test,1.0,);ERROR(unsupported-stanza-type)");
}
END_TEST

START_TEST(t_s2s_limits)
{
	static char in[XG_TAG_MAX];
	char want[64];
	size_t n;

	s2s_mode = 1;
	n = (size_t)snprintf(in, sizeof(in), "<stream:stream xmlns='jabber:"
	    "server' xmlns:stream='http://etherx.jabber.org/streams' "
	    "to='b.test' version='1.0' from='");
	memset(in + n, 'a', XG_DOMAIN_MAX + 1);
	snprintf(in + n + XG_DOMAIN_MAX + 1, sizeof(in) - n - XG_DOMAIN_MAX -
	    1, "'>");
	/* The lexer's attribute limit (XG_ATTR_VALUE_MAX) comes first. */
	check_all_splits(in, "ERROR(policy-violation)");
	n = (size_t)snprintf(in, sizeof(in), SHDR "<db:verify id='");
	memset(in + n, 'i', XG_NAME_MAX + 1);
	snprintf(in + n + XG_NAME_MAX + 1, sizeof(in) - n - XG_NAME_MAX - 1,
	    "'/>");
	snprintf(want, sizeof(want), SHDR_EV "ERROR(policy-violation)");
	check_all_splits(in, want);
	s2s_mode = 0;
}
END_TEST

START_TEST(t_not_well_formed)
{
	check_all_splits(HDR "</stream:foo>", HDR_EV "ERROR(not-well-formed)");
	check_all_splits(HDR "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
	    "mechanism='PLAIN'>AA==</response>",
	    HDR_EV "ERROR(not-well-formed)");
	check_all_splits("<stream:stream a='1' a='2'>",
	    "ERROR(not-well-formed)");
	check_all_splits("<stream:stream a=1>", "ERROR(not-well-formed)");
	check_all_splits("<stream:stream a='<'>", "ERROR(not-well-formed)");
	check_all_splits("<stream:stream a='1'b='2'>",
	    "ERROR(not-well-formed)");
	check_all_splits("< stream>", "ERROR(not-well-formed)");
	check_all_splits("<a:b:c/>", "ERROR(not-well-formed)");
	check_all_splits(HDR "& b", HDR_EV "ERROR(not-well-formed)");
	check_all_splits(HDR "&unknown;", HDR_EV "ERROR(restricted-xml)");
	check_all_splits(HDR "<?xml version='1.0'?>",
	    HDR_EV "ERROR(not-well-formed)");
	check_all_splits(" <?xml version='1.0'?>" HDR,
	    "ERROR(not-well-formed)");
	check_all_splits("<stream:stream a='\x01'>", "ERROR(not-well-formed)");
	check_all_splits("<stream:stream a='&#0;'>", "ERROR(not-well-formed)");
	check_all_splits(HDR "</stream:stream>x", HDR_EV "CLOSE;");
	/* Namespaces in XML: an undeclared prefix on the stream element or
	 * a child; a:x and b:x with a and b bound to one URI (6.3); more
	 * declarations in scope than XG_NS_MAX (8). */
	check_all_splits("<foo:stream xmlns='jabber:client'>",
	    "ERROR(not-well-formed)");
	check_all_splits(HDR "<x:starttls/>", HDR_EV "ERROR(not-well-formed)");
	check_all_splits("<stream:stream xmlns='jabber:client' "
	    "xmlns:stream='http://etherx.jabber.org/streams' xmlns:a='u' "
	    "xmlns:b='u' a:x='1' b:x='2'>", "ERROR(not-well-formed)");
	check_all_splits(HDR "<starttls xmlns:a='u' xmlns:b='u' a:x='' b:x=''/>",
	    HDR_EV "ERROR(not-well-formed)");
	check_all_splits("<stream:stream xmlns='jabber:client' "
	    "xmlns:stream='http://etherx.jabber.org/streams' xmlns:a='u' "
	    "xmlns:b='v' a:x='1' b:x='2'>",
	    "HEADER(-,-,);");			/* different URIs */
	check_all_splits("<stream:stream xmlns='jabber:client' "
	    "xmlns:stream='http://etherx.jabber.org/streams' xmlns:a='1' "
	    "xmlns:b='2' xmlns:c='3' xmlns:d='4' xmlns:e='5' xmlns:f='6'>",
	    "HEADER(-,-,);");				/* 8 in scope */
	check_all_splits("<stream:stream xmlns='jabber:client' "
	    "xmlns:stream='http://etherx.jabber.org/streams' xmlns:a='1' "
	    "xmlns:b='2' xmlns:c='3' xmlns:d='4' xmlns:e='5' xmlns:f='6' "
	    "xmlns:g='7'>", "ERROR(policy-violation)");
	/* Text before a bad byte or reference: same answer however split. */
	check_all_splits(HDR "x\xff", HDR_EV "ERROR(bad-format)");
	check_all_splits(HDR "x&foo;", HDR_EV "ERROR(bad-format)");
}
END_TEST

/*
 * go-sendxmpp 0.5.6 (go-xmpp), byte for byte as it wrote them: every
 * stream, restarts included, opens with a declaration, and a newline
 * follows every tag it writes at stream level.  The newline after
 * <starttls/> and after </auth> belongs to the old stream (TAIL), so
 * the declaration still opens the new one (RFC 6120 4.3.1, 11.5).
 */
#define GO_HDR "<?xml version='1.0'?>\n<stream:stream to='example.test' " \
	"xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/" \
	"streams' version='1.0'>\n"

START_TEST(t_restart_newline_decl)
{
	restart_on_auth = 1;
	check_all_splits(GO_HDR
	    "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>\n"
	    GO_HDR
	    "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
	    "mechanism='PLAIN'>AGFsaWNlAHB3</auth>\n"
	    GO_HDR
	    "<iq type='set' id='de81ba02e69fba83'><bind xmlns='urn:ietf:"
	    "params:xml:ns:xmpp-bind'><resource>go-sendxmpp.501c13ea"
	    "</resource></bind></iq>\n",
	    HDR_EV "STARTTLS;" HDR_EV "TAIL(1);AUTH(PLAIN,AGFsaWNlAHB3);"
	    HDR_EV "TAIL(1);STANZA(iq);");
	/* Any whitespace, and none; without a declaration too. */
	check_all_splits(HDR "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
	    "mechanism='PLAIN'>AGFsaWNlAHB3</auth>\r\n \t"
	    "<?xml version='1.0' encoding='UTF-8'?>\r\n" HDR
	    "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
	    "mechanism='PLAIN'>AGFsaWNlAHB3</auth>" HDR
	    "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
	    "mechanism='PLAIN'>AGFsaWNlAHB3</auth>\n\n" HDR,
	    HDR_EV "AUTH(PLAIN,AGFsaWNlAHB3);" HDR_EV "TAIL(4);"
	    "AUTH(PLAIN,AGFsaWNlAHB3);" HDR_EV "AUTH(PLAIN,AGFsaWNlAHB3);"
	    HDR_EV "TAIL(2);");
}
END_TEST

/* A server's stream the same way: STARTTLS, then SASL EXTERNAL. */
START_TEST(t_restart_newline_decl_s2s)
{
	s2s_mode = 1;
	restart_on_auth = 1;
	check_all_splits("<?xml version='1.0'?>\n" SHDR "\n"
	    "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>\n"
	    "<?xml version='1.0'?>\n" SHDR "\n"
	    "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
	    "mechanism='EXTERNAL'>=</auth>\n"
	    "<?xml version='1.0'?>\n" SHDR "\n",
	    SHDR_EV "STARTTLS;" "HEADER(b.test,1.0,);TAIL(1);FROM(a.test,db);"
	    "AUTH(EXTERNAL,=);" "HEADER(b.test,1.0,);TAIL(1);"
	    "FROM(a.test,db);");
}
END_TEST

/* Only the start of a restarted stream may hold a declaration. */
START_TEST(t_restart_decl_strict)
{
#define AUTH_NL "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' " \
	"mechanism='PLAIN'>AGFsaWNlAHB3</auth>\n"
#define AUTH_EV "AUTH(PLAIN,AGFsaWNlAHB3);"
	restart_on_auth = 1;
	/* The first stream: nothing before its declaration (XML 1.0 2.8). */
	check_all_splits("\n<?xml version='1.0'?>" HDR,
	    "ERROR(not-well-formed)");
	/* Two declarations, one after whitespace, one after the header,
	 * one mid-stream, one inside <auth>. */
	check_all_splits(HDR AUTH_NL "<?xml version='1.0'?>\n"
	    "<?xml version='1.0'?>" HDR, HDR_EV AUTH_EV
	    "ERROR(not-well-formed)");
	check_all_splits(HDR AUTH_NL "<?xml version='1.0'?>\n \n"
	    "<?xml version='1.0'?>" HDR, HDR_EV AUTH_EV
	    "ERROR(not-well-formed)");
	check_all_splits(HDR AUTH_NL "\n" HDR "\n<?xml version='1.0'?>",
	    HDR_EV AUTH_EV HDR_EV "TAIL(2);ERROR(not-well-formed)");
	check_all_splits(HDR "<starttls xmlns='urn:ietf:params:xml:ns:"
	    "xmpp-tls'/>\n<?xml version='1.0'?>" HDR "<?xml version='1.0'?>",
	    HDR_EV "STARTTLS;" HDR_EV "TAIL(1);ERROR(not-well-formed)");
	check_all_splits(HDR "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
	    "mechanism='PLAIN'>\n<?xml version='1.0'?>", HDR_EV
	    "ERROR(bad-format)");
	/* Only whitespace is the old stream's: text, a comment, a PI. */
	check_all_splits(HDR AUTH_NL "x<?xml version='1.0'?>" HDR,
	    HDR_EV AUTH_EV "ERROR(not-well-formed)");
	check_all_splits(HDR AUTH_NL "<!-- -->" HDR, HDR_EV AUTH_EV
	    "ERROR(restricted-xml)");
	check_all_splits(HDR AUTH_NL "\n<?xml-stylesheet href='a'?>" HDR,
	    HDR_EV AUTH_EV "ERROR(restricted-xml)");
	/* The restarted stream still ends where the old one did not. */
	check_all_splits(HDR AUTH_NL "\n</stream:stream>", HDR_EV AUTH_EV
	    "ERROR(not-well-formed)");
#undef AUTH_NL
#undef AUTH_EV
}
END_TEST

START_TEST(t_encoding)
{
	check_all_splits("<?xml version='1.0' encoding='ISO-8859-1'?>",
	    "ERROR(unsupported-encoding)");
	check_all_splits("<stream:stream to='\xc0\xaf'>",
	    "ERROR(unsupported-encoding)");		/* overlong */
	check_all_splits("<stream:stream to='\xed\xa0\x80'>",
	    "ERROR(unsupported-encoding)");		/* surrogate */
	check_all_splits("<stream:stream to='\xff'>",
	    "ERROR(unsupported-encoding)");
	check_all_splits(HDR "\x80", HDR_EV "ERROR(unsupported-encoding)");
}
END_TEST

START_TEST(t_limits)
{
	static char in[XG_READ_BUF * 2], got[OUT_MAX];
	size_t n;

	/* An attribute value over its limit. */
	n = (size_t)snprintf(in, sizeof(in), "<stream:stream to='");
	memset(in + n, 'a', XG_ATTR_VALUE_MAX + 1);
	strcpy(in + n + XG_ATTR_VALUE_MAX + 1, "'>");
	check_all_splits(in, "ERROR(policy-violation)");
	/* A tag that never ends. */
	n = (size_t)snprintf(in, sizeof(in), "<stream:stream ");
	memset(in + n, ' ', XG_TAG_MAX + 10);
	in[n + XG_TAG_MAX + 10] = '\0';
	check_all_splits(in, "ERROR(policy-violation)");
	/* Too many attributes. */
	n = (size_t)snprintf(in, sizeof(in), "<stream:stream");
	for (int i = 0; i <= XG_ATTRS_MAX; i++)
		n += (size_t)snprintf(in + n, sizeof(in) - n, " a%d='x'", i);
	strcpy(in + n, ">");
	check_all_splits(in, "ERROR(policy-violation)");
	/* A name over its limit. */
	in[0] = '<';
	memset(in + 1, 'n', XG_NAME_MAX + 1);
	strcpy(in + XG_NAME_MAX + 2, "/>");
	check_all_splits(in, "ERROR(policy-violation)");
	/* SASL text over its limit, accumulated across text pieces. */
	n = (size_t)snprintf(in, sizeof(in), HDR "<auth xmlns='urn:ietf:"
	    "params:xml:ns:xmpp-sasl' mechanism='PLAIN'>");
	memset(in + n, 'A', XG_SASL_B64_MAX + 4);
	strcpy(in + n + XG_SASL_B64_MAX + 4, "</auth>");
	run(in, strlen(in), NULL, 0, got);	/* whole only: it is long */
	ck_assert_str_eq(got, HDR_EV "ERROR(policy-violation)");
}
END_TEST

START_TEST(t_incomplete)
{
	check_all_splits("<stream:stream xmlns='jabber:cl", "MORE(31)");
	check_all_splits(HDR "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
	    "mechanism='PLAIN'>AGEAY", HDR_EV);
	check_all_splits(HDR "   ", HDR_EV);
}
END_TEST

START_TEST(t_version_and_empty_stream)
{
	check_all_splits("<stream:stream xmlns='jabber:client' xmlns:stream="
	    "'http://etherx.jabber.org/streams' to='x'>", "HEADER(x,-,);");
	check_all_splits("<stream:stream xmlns='jabber:client' xmlns:stream="
	    "'http://etherx.jabber.org/streams' to='x' version='1.0'/>",
	    "ERROR(bad-format)");
}
END_TEST

/* ---- XEP-0388 SASL2 <authenticate> and what it carries ---- */

#define S2 "urn:xmpp:sasl:2"
#define AUTHN(mech) "<authenticate xmlns='" S2 "' mechanism='" mech "'>"
#define AUTHN_END "</authenticate>"
#define BIND2 "<bind xmlns='urn:xmpp:bind:0'>"

/* The whole request of XEP-0388's example 2, as a client writes it, with
 * XEP-0386 bind and inline SM, and XEP-0484's request-token. */
START_TEST(t_sasl2_full)
{
	check_all_splits(HDR AUTHN("SCRAM-SHA-256-PLUS") "\n  "
	    "<initial-response>\n  cD10bHMtZXhwb3J0ZXIsLG49dXNlcixyPS4uLg==\n"
	    "  </initial-response>\n"
	    "  <user-agent id='d4565fa7-4d72-4749-b3d3-740edbf87770'>\n"
	    "    <software>AwesomeXMPP</software>\n"
	    "    <device>Kiva&apos;s Phone</device>\n  </user-agent>\n  "
	    BIND2 "<tag>AwesomeXMPP</tag><enable xmlns='urn:xmpp:sm:3' "
	    "resume='true'/></bind>\n  <request-token xmlns='urn:xmpp:fast:0'"
	    " mechanism='HT-SHA-256-EXPR'/>\n" AUTHN_END,
	    HDR_EV "AUTHENTICATE(SCRAM-SHA-256-PLUS,\n  cD10bHMtZXhwb3J0ZXIs"
	    "LG49dXNlcixyPS4uLg==\n  ,ir,ua[d4565fa7-4d72-4749-b3d3-"
	    "740edbf87770|AwesomeXMPP|Kiva's Phone],bind[AwesomeXMPP|0],"
	    "enable[1|0],token[HT-SHA-256-EXPR]);");
	/* xmpp.js 0.14: no <tag>, <user-agent> without children, a
	 * mechanism= on <response>; then <abort/>. */
	check_all_splits(HDR AUTHN("SCRAM-SHA-1") "<initial-response>biwsbj1h"
	    "bGljZSxyPWFiY2Q=</initial-response><user-agent id='u1'/>" BIND2
	    "<enable xmlns='urn:xmpp:sm:3' resume='true' max='600'/></bind>"
	    AUTHN_END "<response xmlns='" S2 "' mechanism='SCRAM-SHA-1'>"
	    "Yz1iaXdz</response><abort xmlns='" S2 "'/>"
	    "<response xmlns='" S2 "'/>",
	    HDR_EV "AUTHENTICATE(SCRAM-SHA-1,biwsbj1hbGljZSxyPWFiY2Q=,ir,"
	    "ua[u1||],bind[-|0],enable[1|600]);RESPONSE2(Yz1iaXdz);ABORT2;"
	    "RESPONSE2();");
	/* A FAST login with an inline resume (XEP-0484 4, XEP-0198 in
	 * XEP-0388 inline); the largest h and count. */
	check_all_splits(HDR AUTHN("HT-SHA-256-NONE") "<initial-response>"
	    "YWxpY2UA</initial-response><user-agent id='u1'/><fast xmlns="
	    "'urn:xmpp:fast:0' count='4294967295' invalidate='1'/><resume "
	    "xmlns='urn:xmpp:sm:3' previd='some-id' h='4294967295'/>"
	    AUTHN_END AUTHN("HT-SHA-256-NONE") "<fast xmlns='urn:xmpp:fast:0'"
	    " invalidate='false'/><resume xmlns='urn:xmpp:sm:3' previd='x' "
	    "h='0'/>" AUTHN_END,
	    HDR_EV "AUTHENTICATE(HT-SHA-256-NONE,YWxpY2UA,ir,ua[u1||],"
	    "resume[some-id|4294967295],fast[1|4294967295]);"
	    "AUTHENTICATE(HT-SHA-256-NONE,<empty>,resume[x|0],fast[0|-0]);");
}
END_TEST

/* The initial response absent, empty, or an element; the mechanism
 * missing or too long (left "", as <auth>'s: the session refuses). */
START_TEST(t_sasl2_initial_response)
{
	check_all_splits(HDR AUTHN("PLAIN") AUTHN_END
	    AUTHN("PLAIN") "<initial-response/>" AUTHN_END
	    AUTHN("PLAIN") "<initial-response></initial-response>" AUTHN_END
	    AUTHN("PLAIN") "<initial-response>=</initial-response>" AUTHN_END
	    "<authenticate xmlns='" S2 "' mechanism='PLAIN'/>"
	    "<authenticate xmlns='" S2 "'/>"
	    AUTHN("M12345678901234567890123456789012345678901234567890"
	    "12345678901234") AUTHN_END,
	    HDR_EV "AUTHENTICATE(PLAIN,<empty>);AUTHENTICATE(PLAIN,<empty>,"
	    "ir);AUTHENTICATE(PLAIN,<empty>,ir);AUTHENTICATE(PLAIN,=,ir);"
	    "AUTHENTICATE(PLAIN,<empty>);AUTHENTICATE(,<empty>);"
	    "AUTHENTICATE(,<empty>);");
}
END_TEST

/* What is skipped with its subtree, and what each element's scope is. */
START_TEST(t_sasl2_skipped_and_scope)
{
	/* <supported>, unknown names and namespaces, other children of
	 * <bind> (counted), text in them and in attribute-only elements. */
	check_all_splits(HDR AUTHN("PLAIN") "<supported><mechanism>X-OAUTH"
	    "</mechanism><channel-binding type='tls-exporter'/></supported>"
	    "<upgrade xmlns='urn:xmpp:sasl:upgrade:0'>UPGR-SCRAM</upgrade>"
	    "<foo>text</foo><user-agent><x xmlns='urn:a'>y</x></user-agent>"
	    BIND2 "<enable xmlns='urn:xmpp:carbons:2'/><inactive xmlns='urn:"
	    "xmpp:csi:0'>t</inactive><tag xmlns='urn:a'/><x>y</x>"
	    "<enable xmlns='urn:xmpp:sm:3'>text</enable></bind>"
	    "<request-token xmlns='urn:xmpp:fast:0' mechanism='M'>t<a/>"
	    "</request-token>" AUTHN_END,
	    HDR_EV "AUTHENTICATE(PLAIN,<empty>,bind[-|4],enable[0|0],"
	    "token[M]);");
	/* A default namespace ends with its element: the <tag> after
	 * </bind> is sasl:2's (unknown, skipped), and so are <software>
	 * in another namespace and <initial-response> outside sasl:2. */
	check_all_splits(HDR AUTHN("PLAIN") BIND2 "<tag>x</tag></bind>"
	    "<tag>y</tag><user-agent id='a'><software xmlns='urn:a'>X"
	    "</software><software>Y</software></user-agent>"
	    "<initial-response xmlns='urn:a'>QQ==</initial-response>"
	    AUTHN_END,
	    HDR_EV "AUTHENTICATE(PLAIN,<empty>,ua[a|Y|],bind[x|0]);");
	/* Prefixes: declared on the element or above it, not after. */
	check_all_splits(HDR "<s:authenticate xmlns:s='" S2 "' mechanism="
	    "'PLAIN'><s:initial-response>AA==</s:initial-response><b:bind "
	    "xmlns:b='urn:xmpp:bind:0'><b:tag>T</b:tag></b:bind>"
	    "</s:authenticate>",
	    HDR_EV "AUTHENTICATE(PLAIN,AA==,ir,bind[T|0]);");
	show_errtext = 1;
	check_all_splits(HDR AUTHN("PLAIN") "<b:bind xmlns:b='urn:xmpp:bind:0'"
	    "/><b:tag/>" AUTHN_END, HDR_EV "ERROR(not-well-formed:undeclared "
	    "prefix)");
	/* XG_NS_MAX (8) in scope: the stream's two, authenticate's one
	 * and five below; a sibling's end its declarations.  One more is
	 * refused. */
	check_all_splits(HDR AUTHN("PLAIN") "<a xmlns:a='1' xmlns:b='2'>"
	    "<c xmlns:c='3' xmlns:d='4' xmlns:e='5'/><c xmlns:c='3' "
	    "xmlns:d='4' xmlns:e='5'>x</c></a><f xmlns:a='1' xmlns:b='2' "
	    "xmlns:c='3' xmlns:d='4' xmlns:e='5'/>" AUTHN_END,
	    HDR_EV "AUTHENTICATE(PLAIN,<empty>);");
	check_all_splits(HDR AUTHN("PLAIN") "<a xmlns:a='1' xmlns:b='2'>"
	    "<c xmlns:c='3' xmlns:d='4' xmlns:e='5' xmlns:f='6'/></a>"
	    AUTHN_END, HDR_EV "ERROR(policy-violation:size limit exceeded)");
}
END_TEST

/* Only a client speaks SASL2; only <authenticate>, <response> and
 * <abort> of its namespace may come at stream level. */
START_TEST(t_sasl2_elsewhere)
{
	check_all_splits(HDR "<next xmlns='" S2 "' task='X'/>",
	    HDR_EV "ERROR(unsupported-stanza-type)");
	check_all_splits(HDR "<success xmlns='" S2 "'/>",
	    HDR_EV "ERROR(unsupported-stanza-type)");
	check_all_splits(HDR "<authenticate xmlns='" NS_SASL "'/>",
	    HDR_EV "ERROR(unsupported-stanza-type)");
	check_all_splits(HDR "<bind xmlns='urn:xmpp:bind:0'/>",
	    HDR_EV "ERROR(unsupported-stanza-type)");
	s2s_mode = 1;
	check_all_splits(SHDR AUTHN("EXTERNAL") AUTHN_END,
	    SHDR_EV "ERROR(unsupported-stanza-type)");
	check_all_splits(SHDR "<response xmlns='" S2 "'/>",
	    SHDR_EV "ERROR(unsupported-stanza-type)");
	check_all_splits(SHDR "<abort xmlns='" S2 "'/>",
	    SHDR_EV "ERROR(unsupported-stanza-type)");
	s2s_mode = 0;
	/* A sasl:2 <response> holds text only, as a classic one. */
	check_all_splits(HDR "<response xmlns='" S2 "'><x/></response>",
	    HDR_EV "ERROR(bad-format)");
}
END_TEST

/* pre + n times c + post: the value of a long attribute or text. */
static const char *
padded(const char *pre, char c, size_t n, const char *post)
{
	static char in[XG_READ_BUF];
	size_t l = strlen(pre);

	ck_assert(l + n + strlen(post) < sizeof(in));
	memcpy(in, pre, l);
	memset(in + l, c, n);
	strcpy(in + l + n, post);
	return in;
}

/* Each named limit: at it the request passes, one past it is refused. */
START_TEST(t_sasl2_limits)
{
	static char in[XG_READ_BUF * 2], got[OUT_MAX], want[OUT_MAX];
	size_t n;
	int i;

	show_errtext = 1;
	check_all_splits(padded(HDR AUTHN("P") "<user-agent id='", 'u',
	    XG_SASL2_UA_ID_MAX, "'/>" AUTHN_END), HDR_EV "AUTHENTICATE(P,"
	    "<empty>,ua[uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu"
	    "uuuuuuuuuuuuuuuu||]);");
	check_all_splits(padded(HDR AUTHN("P") "<user-agent id='", 'u',
	    XG_SASL2_UA_ID_MAX + 1, "'/>" AUTHN_END),
	    HDR_EV "ERROR(policy-violation:user-agent id too long)");
	/* Text limits count the decoded text, across its pieces. */
	check_all_splits(padded(HDR AUTHN("P") "<user-agent><software>&amp;",
	    's', XG_SASL2_UA_TEXT_MAX - 1, "</software></user-agent>"
	    AUTHN_END), HDR_EV "AUTHENTICATE(P,<empty>,ua[-|&sssssssssssssss"
	    "ssssssssssssssssssssssssssssssssssssssssssssssss|]);");
	check_all_splits(padded(HDR AUTHN("P") "<user-agent><software>&amp;",
	    's', XG_SASL2_UA_TEXT_MAX, "</software></user-agent>" AUTHN_END),
	    HDR_EV "ERROR(policy-violation:user-agent software too long)");
	check_all_splits(padded(HDR AUTHN("P") "<user-agent><device>", 'd',
	    XG_SASL2_UA_TEXT_MAX + 1, "</device></user-agent>" AUTHN_END),
	    HDR_EV "ERROR(policy-violation:user-agent device too long)");
	check_all_splits(padded(HDR AUTHN("P") BIND2 "<tag>", 't',
	    XG_BIND2_TAG_MAX, "</tag></bind>" AUTHN_END), HDR_EV
	    "AUTHENTICATE(P,<empty>,bind[tttttttttttttttttttttttttttttttt"
	    "tttttttttttttttttttttttttttttttt|0]);");
	check_all_splits(padded(HDR AUTHN("P") BIND2 "<tag>", 't',
	    XG_BIND2_TAG_MAX + 1, "</tag></bind>" AUTHN_END),
	    HDR_EV "ERROR(policy-violation:bind tag too long)");
	n = (size_t)snprintf(want, sizeof(want), HDR_EV "AUTHENTICATE(P,"
	    "<empty>,resume[");
	memset(want + n, 'p', XG_SM_ID_MAX);
	strcpy(want + n + XG_SM_ID_MAX, "|1]);");
	check_all_splits(padded(HDR AUTHN("P") "<resume xmlns='urn:xmpp:sm:3'"
	    " h='1' previd='", 'p', XG_SM_ID_MAX, "'/>" AUTHN_END), want);
	check_all_splits(padded(HDR AUTHN("P") "<resume xmlns='urn:xmpp:sm:3'"
	    " h='1' previd='", 'p', XG_SM_ID_MAX + 1, "'/>" AUTHN_END),
	    HDR_EV "ERROR(policy-violation:resume previd too long)");
	check_all_splits(padded(HDR AUTHN("P") "<request-token xmlns='urn:"
	    "xmpp:fast:0' mechanism='", 'M', XG_NAME_MAX + 1, "'/>"
	    AUTHN_END),
	    HDR_EV "ERROR(policy-violation:request-token mechanism too long)");
	/* Depth: <authenticate> is 1, <bind><enable> 3. */
	check_all_splits(HDR AUTHN("P") "<a><b><c/></b></a>" AUTHN_END,
	    HDR_EV "ERROR(policy-violation:SASL2 request too deep)");
	check_all_splits(HDR AUTHN("P") BIND2 "<enable xmlns='urn:xmpp:sm:3'>"
	    "<x/></enable></bind>" AUTHN_END,
	    HDR_EV "ERROR(policy-violation:SASL2 request too deep)");
	check_all_splits(HDR AUTHN("P") "<user-agent><software><x/>",
	    HDR_EV "ERROR(bad-format:unexpected child element)");
	/* Count: XG_SASL2_ELEMS_MAX elements inside, at any depth. */
	n = (size_t)snprintf(in, sizeof(in), HDR AUTHN("P") "<a><b/></a>");
	for (i = 2; i < XG_SASL2_ELEMS_MAX; i++)
		n += (size_t)snprintf(in + n, sizeof(in) - n, "<x/>");
	strcpy(in + n, AUTHN_END);
	check_all_splits(in, HDR_EV "AUTHENTICATE(P,<empty>);");
	strcpy(in + n, "<x/>" AUTHN_END);
	check_all_splits(in,
	    HDR_EV "ERROR(policy-violation:SASL2 request too large)");
	/* The count is per <authenticate>. */
	in[n] = '\0';
	strcat(in, AUTHN_END AUTHN("Q") "<x/>" AUTHN_END);
	check_all_splits(in, HDR_EV "AUTHENTICATE(P,<empty>);"
	    "AUTHENTICATE(Q,<empty>);");
	/* The initial response, as <auth>'s text. */
	n = (size_t)snprintf(in, sizeof(in), HDR AUTHN("P")
	    "<initial-response>");
	memset(in + n, 'A', XG_SASL_B64_MAX + 1);
	strcpy(in + n + XG_SASL_B64_MAX + 1, "</initial-response>" AUTHN_END);
	run(in, strlen(in), NULL, 0, got);	/* whole only: it is long */
	ck_assert_str_eq(got, HDR_EV "ERROR(policy-violation:SASL data too "
	    "long)");
}
END_TEST

/* Attribute values: booleans, xs:unsignedInt, the required ones. */
START_TEST(t_sasl2_attributes)
{
#define ENABLE(a) AUTHN("P") BIND2 "<enable xmlns='urn:xmpp:sm:3' " a \
	"/></bind>" AUTHN_END
#define RESUME(a) AUTHN("P") "<resume xmlns='urn:xmpp:sm:3' " a "/>" AUTHN_END
#define FAST(a) AUTHN("P") "<fast xmlns='urn:xmpp:fast:0' " a "/>" AUTHN_END
#define TOKEN(a) AUTHN("P") "<request-token xmlns='urn:xmpp:fast:0' " a \
	"/>" AUTHN_END
	show_errtext = 1;
	check_all_splits(HDR ENABLE("resume='1' max='0'")
	    ENABLE("resume='0' max='007'") ENABLE("resume='false'")
	    FAST("invalidate='true' count='0'") FAST("invalidate='0'"),
	    HDR_EV "AUTHENTICATE(P,<empty>,bind[-|0],enable[1|0]);"
	    "AUTHENTICATE(P,<empty>,bind[-|0],enable[0|7]);"
	    "AUTHENTICATE(P,<empty>,bind[-|0],enable[0|0]);"
	    "AUTHENTICATE(P,<empty>,fast[1|0]);"
	    "AUTHENTICATE(P,<empty>,fast[0|-0]);");
	check_all_splits(HDR ENABLE("resume='yes'"),
	    HDR_EV "ERROR(bad-format:bad 'resume' on <enable>)");
	check_all_splits(HDR ENABLE("resume=''"),
	    HDR_EV "ERROR(bad-format:bad 'resume' on <enable>)");
	check_all_splits(HDR ENABLE("max='4294967296'"),
	    HDR_EV "ERROR(bad-format:bad 'max' on <enable>)");
	check_all_splits(HDR ENABLE("max='-1'"),
	    HDR_EV "ERROR(bad-format:bad 'max' on <enable>)");
	check_all_splits(HDR ENABLE("max=''"),
	    HDR_EV "ERROR(bad-format:bad 'max' on <enable>)");
	check_all_splits(HDR RESUME("h='1'"),
	    HDR_EV "ERROR(bad-format:<resume> without 'previd')");
	check_all_splits(HDR RESUME("previd='' h='1'"),
	    HDR_EV "ERROR(bad-format:<resume> without 'previd')");
	check_all_splits(HDR RESUME("previd='x'"),
	    HDR_EV "ERROR(bad-format:<resume> without 'h')");
	check_all_splits(HDR RESUME("previd='x' h='4294967296'"),
	    HDR_EV "ERROR(bad-format:bad 'h' on <resume>)");
	check_all_splits(HDR RESUME("previd='x' h='99999999999'"),
	    HDR_EV "ERROR(bad-format:bad 'h' on <resume>)");
	check_all_splits(HDR RESUME("previd='x' h=' 1'"),
	    HDR_EV "ERROR(bad-format:bad 'h' on <resume>)");
	check_all_splits(HDR RESUME("previd='x' h='0x1'"),
	    HDR_EV "ERROR(bad-format:bad 'h' on <resume>)");
	check_all_splits(HDR TOKEN(""),
	    HDR_EV "ERROR(bad-format:<request-token> without 'mechanism')");
	check_all_splits(HDR TOKEN("mechanism=''"),
	    HDR_EV "ERROR(bad-format:<request-token> without 'mechanism')");
	check_all_splits(HDR FAST("invalidate='maybe'"),
	    HDR_EV "ERROR(bad-format:bad 'invalidate' on <fast>)");
	check_all_splits(HDR FAST("count='+1'"),
	    HDR_EV "ERROR(bad-format:bad 'count' on <fast>)");
#undef ENABLE
#undef RESUME
#undef FAST
#undef TOKEN
}
END_TEST

/* One of each known child; text only where text belongs; end tags. */
START_TEST(t_sasl2_structure)
{
	static const struct { const char *in, *want; } dup[] = {
		{ "<initial-response/><initial-response>AA==</initial-response>",
		  "initial-response" },
		{ "<user-agent id='a'/><user-agent/>", "user-agent" },
		{ "<user-agent><software/><software/></user-agent>",
		  "software" },
		{ "<user-agent><device>a</device><device/></user-agent>",
		  "device" },
		{ BIND2 "</bind>" BIND2 "</bind>", "bind" },
		{ BIND2 "<tag/><tag>a</tag></bind>", "tag" },
		{ BIND2 "<enable xmlns='urn:xmpp:sm:3'/><enable xmlns='urn:"
		  "xmpp:sm:3'/></bind>", "enable" },
		{ "<resume xmlns='urn:xmpp:sm:3' previd='a' h='1'/><resume "
		  "xmlns='urn:xmpp:sm:3' previd='a' h='1'/>", "resume" },
		{ "<request-token xmlns='urn:xmpp:fast:0' mechanism='M'/>"
		  "<request-token xmlns='urn:xmpp:fast:0' mechanism='M'/>",
		  "request-token" },
		{ "<fast xmlns='urn:xmpp:fast:0'/><fast xmlns='urn:xmpp:fast:0'"
		  "/>", "fast" },
	};
	char in[1024], want[256];
	size_t i;

	show_errtext = 1;
	for (i = 0; i < sizeof(dup) / sizeof(dup[0]); i++) {
		snprintf(in, sizeof(in), HDR AUTHN("P") "%s" AUTHN_END,
		    dup[i].in);
		snprintf(want, sizeof(want), HDR_EV "ERROR(policy-violation:"
		    "duplicate <%s>)", dup[i].want);
		check_all_splits(in, want);
	}
	/* Whitespace between children is fine, other text is not. */
	check_all_splits(HDR AUTHN("P") "x" AUTHN_END,
	    HDR_EV "ERROR(bad-format:unexpected text)");
	check_all_splits(HDR AUTHN("P") BIND2 " t </bind>" AUTHN_END,
	    HDR_EV "ERROR(bad-format:unexpected text)");
	check_all_splits(HDR AUTHN("P") "<user-agent>&amp;</user-agent>"
	    AUTHN_END, HDR_EV "ERROR(bad-format:unexpected text)");
	check_all_splits(HDR AUTHN("P") "<initial-response><x/>",
	    HDR_EV "ERROR(bad-format:unexpected child element)");
	check_all_splits(HDR AUTHN("P") BIND2 "<tag>a<b/>",
	    HDR_EV "ERROR(bad-format:unexpected child element)");
	check_all_splits(HDR AUTHN("P") BIND2 AUTHN_END,
	    HDR_EV "ERROR(not-well-formed:mismatched end tag)");
	check_all_splits(HDR AUTHN("P") "<x></y>",
	    HDR_EV "ERROR(not-well-formed:mismatched end tag)");
	check_all_splits(HDR "<s:authenticate xmlns:s='" S2 "'>"
	    "</authenticate>",
	    HDR_EV "ERROR(not-well-formed:mismatched end tag)");
	check_all_splits(HDR AUTHN("P") "<?xml version='1.0'?>",
	    HDR_EV "ERROR(not-well-formed:misplaced XML declaration)");
	check_all_splits(HDR AUTHN("P") "<!-- c -->",
	    HDR_EV "ERROR(restricted-xml:restricted XML (comment, PI, DTD, "
	    "CDATA or entity))");
	/* Incomplete: nothing yet. */
	check_all_splits(HDR AUTHN("P") "<initial-response>AA", HDR_EV);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("preauth");
	TCase *tc = tcase_create("grammar");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, t_full_exchange);
	tcase_add_test(tc, t_quotes_entities_lang);
	tcase_add_test(tc, t_utf8_in_attribute);
	tcase_add_test(tc, t_sasl_elements);
	tcase_add_test(tc, t_restricted);
	tcase_add_test(tc, t_namespaces);
	tcase_add_test(tc, t_stanzas_and_unknown);
	tcase_add_test(tc, t_not_well_formed);
	tcase_add_test(tc, t_encoding);
	tcase_add_test(tc, t_limits);
	tcase_add_test(tc, t_incomplete);
	tcase_add_test(tc, t_version_and_empty_stream);
	tcase_add_test(tc, t_s2s);
	tcase_add_test(tc, t_s2s_limits);
	tcase_add_test(tc, t_restart_newline_decl);
	tcase_add_test(tc, t_restart_newline_decl_s2s);
	tcase_add_test(tc, t_restart_decl_strict);
	tcase_add_test(tc, t_sasl2_full);
	tcase_add_test(tc, t_sasl2_initial_response);
	tcase_add_test(tc, t_sasl2_skipped_and_scope);
	tcase_add_test(tc, t_sasl2_elsewhere);
	tcase_add_test(tc, t_sasl2_limits);
	tcase_add_test(tc, t_sasl2_attributes);
	tcase_add_test(tc, t_sasl2_structure);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
