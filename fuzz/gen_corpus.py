#!/usr/bin/python3
"""Write the seed corpora in fuzz/corpus/ (checked in; run again after
changing this file: /usr/bin/python3 fuzz/gen_corpus.py).  Each folder it
writes is replaced; the hand-written ones (srv, s2sremote, sasl2wire) are
left as they are.

Seeds are small and each means something: a stream as a real client
writes it, or one path through the parsers (a refusal, a limit).  The
stream headers and SASL elements marked slixmpp are what the installed
python3-slixmpp writes (clientxmpp.py stream_header, xmlstream/tostring.py:
double quotes, " />"); the Prosody ones follow util/xmppstream.lua
open_stream and util/stanza.lua (single quotes, <?xml version='1.0'?>
first); the Conversations and Gajim ones follow the shape those clients
write (XML declaration, double quotes, their attribute order), written
here by hand.

fuzz_preauth and fuzz_session inputs start with one byte that chooses
the read sizes (fuzz/fuzz_common.h): 0x00 byte by byte, 0x0d reads of up
to 8 KiB, others in between.  In fuzz_session inputs a NUL separates the
client's bursts: it waits for the server's answer there.  fuzz_plain inputs start with a mode
byte: 0x00 base64 text, 0x80 the decoded message (domain example.test).
"""
import base64
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")

NS_STREAMS = "http://etherx.jabber.org/streams"
SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
TLS = "urn:ietf:params:xml:ns:xmpp-tls"
DOM = "example.test"


def b64(raw):
    return base64.b64encode(raw).decode()


PLAIN_ALICE = b64(b"\0alice\0secret")

# Stream headers, as clients write them.
HDR = {
    "slixmpp": ("<stream:stream to='%s' xmlns:stream='%s' "
                "xmlns='jabber:client' xml:lang='en' version='1.0'>"
                % (DOM, NS_STREAMS)),
    "conversations": ("<?xml version='1.0'?><stream:stream to=\"%s\" "
                      "version=\"1.0\" xml:lang=\"en\" "
                      "xmlns=\"jabber:client\" xmlns:stream=\"%s\">"
                      % (DOM, NS_STREAMS)),
    "conversations-from": ("<?xml version='1.0'?><stream:stream "
                           "from=\"alice@%s\" to=\"%s\" version=\"1.0\" "
                           "xml:lang=\"de\" xmlns=\"jabber:client\" "
                           "xmlns:stream=\"%s\">" % (DOM, DOM, NS_STREAMS)),
    "gajim": ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
              "<stream:stream xmlns=\"jabber:client\" "
              "xmlns:stream=\"%s\" version=\"1.0\" to=\"%s\" "
              "xml:lang=\"en-US\">" % (NS_STREAMS, DOM)),
    "prosody": ("<?xml version='1.0'?><stream:stream "
                "xmlns:stream='%s' xml:lang='en' xmlns='jabber:client' "
                "version='1.0' to='%s'>" % (NS_STREAMS, DOM)),
    "prefix": ("<s:stream xmlns:s='%s' xmlns='jabber:client' to='%s' "
               "version='1.0'>" % (NS_STREAMS, DOM)),
    "upper-dot": ("<stream:stream xmlns='jabber:client' "
                  "xmlns:stream='%s' to='EXAMPLE.test.' version='1.0'>"
                  % NS_STREAMS),
}

STARTTLS = {
    "slixmpp": '<starttls xmlns="%s" />' % TLS,
    "plain": "<starttls xmlns='%s'/>" % TLS,
    "open-close": "<starttls xmlns='%s'></starttls>" % TLS,
}


def auth(data, q="'", mech="PLAIN", prefix=None):
    if prefix:
        return ("<%s:auth xmlns:%s=%s%s%s mechanism=%s%s%s>%s</%s:auth>"
                % (prefix, prefix, q, SASL, q, q, mech, q, data, prefix))
    if data is None:
        return "<auth xmlns=%s%s%s mechanism=%s%s%s/>" % (q, SASL, q, q,
                                                          mech, q)
    return "<auth xmlns=%s%s%s mechanism=%s%s%s>%s</auth>" % (
        q, SASL, q, q, mech, q, data)


def response(data):
    return "<response xmlns='%s'>%s</response>" % (SASL, data)


ABORT = "<abort xmlns='%s'/>" % SASL
ABORT_SLIX = '<abort xmlns="%s" />' % SASL
CLOSE = "</stream:stream>"


# The folders this run has emptied: each is replaced by what this file
# writes, and only those.  The seeds of fuzz_srv, fuzz_s2sremote and
# fuzz_sasl2wire are written by hand, and their folders are left alone.
FRESH = set()


def write(target, name, data):
    d = os.path.join(OUT, target)
    if target not in FRESH:
        if os.path.isdir(d):
            shutil.rmtree(d)
        FRESH.add(target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def login(h, st="plain", *a):
    """A whole client side, as bursts the client sends before waiting
    for an answer: header and starttls; header; then each of a (by
    default one <auth> for alice)."""
    return [HDR[h] + STARTTLS[st], HDR[h]] + list(a or [auth(PLAIN_ALICE)])


def streams():
    """Client streams shared by fuzz_preauth and fuzz_session: a list of
    bursts, or one string for a single burst."""
    s = {}
    s["slixmpp-login"] = login("slixmpp", "slixmpp",
                               auth(PLAIN_ALICE, q='"'))
    s["conversations-login"] = login(
        "conversations", "plain",
        auth(b64(b"alice@example.test\0alice\0secret"), q='"'))
    s["conversations-from-login"] = login("conversations-from")
    s["gajim-login"] = login("gajim", "open-close")
    s["prosody-style-login"] = login("prosody")
    s["prefixed-login"] = [HDR["prefix"] + STARTTLS["plain"], HDR["prefix"],
                           auth(PLAIN_ALICE, prefix="sasl"), "</s:stream>"]
    s["domain-case-dot"] = login("upper-dot")
    s["empty-auth-response"] = login(
        "slixmpp", "plain", auth(None), response(PLAIN_ALICE))
    s["slixmpp-empty-auth-abort"] = login(
        "slixmpp", "slixmpp",
        '<auth xmlns="%s" mechanism="PLAIN" />' % SASL, ABORT_SLIX,
        auth(PLAIN_ALICE))
    s["abort-then-auth"] = login("slixmpp", "plain", ABORT, auth(PLAIN_ALICE))
    s["three-wrong"] = login("slixmpp", "plain", *[
        auth(b64(b"\0alice\0wrong%d" % i)) for i in range(3)])
    s["wrong-then-close"] = login("slixmpp", "plain",
                                  auth(b64(b"\0alice\0nope")), CLOSE)
    s["scram-then-plain"] = login("slixmpp", "plain",
                                  auth("biwsbj1hbGljZSxyPWFiY2Q=",
                                       mech="SCRAM-SHA-1"),
                                  auth(PLAIN_ALICE))
    s["bad-base64"] = login("slixmpp", "plain",
                            auth("AGFsaWNl AHNlY3JldA=="), auth("="))
    s["foreign-authzid"] = login(
        "slixmpp", "plain", auth(b64(b"bob@example.test\0alice\0secret")))
    s["user-at-other-domain"] = login(
        "slixmpp", "plain", auth(b64(b"\0alice@other.test\0secret")))
    s["auth-entities"] = login("slixmpp", "plain",
                               auth("AGFsaWNlAHNlY3J&#x6c;dA&#61;&#61;"))
    s["keepalives"] = [HDR["slixmpp"] + "\n \n" + STARTTLS["plain"],
                       " " + HDR["slixmpp"] + "\r\n\t ",
                       auth(PLAIN_ALICE) + " ", " "]
    s["pipelined-after-starttls"] = [HDR["slixmpp"] + STARTTLS["plain"]
                                     + auth(PLAIN_ALICE), HDR["slixmpp"],
                                     auth(PLAIN_ALICE)]
    s["close-before-tls"] = HDR["slixmpp"] + CLOSE
    s["close-after-tls"] = [HDR["slixmpp"] + STARTTLS["plain"],
                            HDR["slixmpp"], CLOSE]
    s["iq-before-auth"] = (HDR["slixmpp"] + "<iq type='get' id='1'>"
                           "<query xmlns='jabber:iq:version'/></iq>")
    s["message-after-tls"] = [HDR["slixmpp"] + STARTTLS["plain"],
                              HDR["slixmpp"],
                              "<message to='bob@example.test'>"]
    s["auth-before-tls"] = HDR["slixmpp"] + auth(PLAIN_ALICE)
    s["starttls-twice"] = [HDR["slixmpp"] + STARTTLS["plain"],
                           HDR["slixmpp"] + STARTTLS["plain"]]
    s["response-without-auth"] = login("slixmpp", "plain",
                                       response(PLAIN_ALICE))
    s["other-to-after-tls"] = [HDR["slixmpp"] + STARTTLS["plain"],
                               HDR["slixmpp"].replace(DOM, "other.test")]
    s["unknown-domain"] = HDR["slixmpp"].replace(DOM, "nowhere.test")
    s["no-to"] = ("<stream:stream xmlns='jabber:client' xmlns:stream='%s' "
                  "version='1.0'>" % NS_STREAMS)
    s["version-0.9"] = HDR["slixmpp"].replace("'1.0'", "'0.9'")
    s["no-version"] = HDR["slixmpp"].replace(" version='1.0'", "")
    s["server-namespace"] = (
        "<?xml version='1.0'?><stream:stream xmlns:stream='%s' "
        "xmlns='jabber:server' xmlns:db='jabber:server:dialback' "
        "version='1.0' to='%s' from='other.test'>" % (NS_STREAMS, DOM))
    s["comment"] = HDR["slixmpp"] + "<!-- hello -->"
    s["dtd"] = ("<?xml version='1.0'?><!DOCTYPE lol [<!ENTITY lol 'lol'>]>"
                + HDR["slixmpp"])
    s["pi"] = HDR["slixmpp"] + "<?foo bar?>"
    s["cdata"] = login("slixmpp", "plain",
                       "<auth xmlns='%s' mechanism='PLAIN'><![CDATA[x]]>"
                       "</auth>" % SASL)
    s["entity-ref"] = HDR["slixmpp"].replace("'en'", "'&lol;'")
    s["latin1-decl"] = ("<?xml version='1.0' encoding='ISO-8859-1'?>"
                        + HDR["slixmpp"])
    s["not-utf8"] = HDR["slixmpp"].replace("'en'", "'\udcff\udcfe'")
    s["text-then-bad-byte"] = HDR["slixmpp"] + "x\udcff"
    s["misplaced-decl"] = HDR["slixmpp"] + "<?xml version='1.0'?>"
    s["mismatched-end"] = (HDR["slixmpp"] + "<starttls xmlns='%s'></auth>"
                           % TLS)
    s["unknown-element"] = HDR["slixmpp"] + "<foo xmlns='urn:example:foo'/>"
    s["text-in-starttls"] = (HDR["slixmpp"] + "<starttls xmlns='%s'>yes"
                             "</starttls>" % TLS)
    s["child-in-starttls"] = (HDR["slixmpp"] + "<starttls xmlns='%s'>"
                              "<required/></starttls>" % TLS)
    s["many-attrs"] = ("<stream:stream " + " ".join(
        "a%d='%d'" % (i, i) for i in range(17)) + ">")
    s["many-xmlns"] = ("<stream:stream xmlns='jabber:client' xmlns:stream='%s' "
                       % NS_STREAMS + " ".join(
                           "xmlns:p%d='urn:x:%d'" % (i, i) for i in range(8))
                       + " to='%s' version='1.0'>" % DOM)
    s["long-lang"] = HDR["slixmpp"].replace("'en'", "'" + "x" * 70 + "'")
    s["long-auth"] = login("slixmpp", "plain",
                           auth("QUFB" * (8192 // 4 + 1)))
    s["max-auth"] = login("slixmpp", "plain",
                          auth("QUFB" * (8192 // 4)))
    s["after-success"] = login("slixmpp", "plain", auth(PLAIN_ALICE)
                               + HDR["slixmpp"])
    s["plaintext-after-starttls"] = [HDR["slixmpp"] + STARTTLS["plain"]
                                     + HDR["slixmpp"], auth(PLAIN_ALICE)]
    s["double-decl"] = "<?xml version='1.0'?>\n<?xml version='1.0'?>"
    s["declare-xml-prefix"] = HDR["slixmpp"].replace(
        " version=", " xmlns:xml='http://www.w3.org/XML/1998/namespace' "
        "version=")
    s["undeclare-prefix"] = HDR["slixmpp"].replace(
        " version=", " xmlns:p='' version=")
    s["undeclared-stream-prefix"] = HDR["slixmpp"].replace(
        "<stream:stream", "<foo:stream", 1)
    s["dup-expanded-attr"] = HDR["slixmpp"].replace(
        " version=", " xmlns:a='urn:x' xmlns:b='urn:x' a:x='1' b:x='2' "
        "version=")
    s["dup-expanded-attr-child"] = (
        HDR["slixmpp"] + "<starttls xmlns='%s' xmlns:a='urn:x' "
        "xmlns:b='urn:x' a:x='1' b:x='2'/>" % TLS)
    # 1020 bytes and a 4-byte character: 1024 bytes, over XG_DOMAIN_MAX.
    s["to-too-long"] = HDR["slixmpp"].replace(
        DOM, "x" * 1020 + "\U0001F600")
    s["direct-tls-hello"] = ("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"
                             .encode("latin-1").decode("utf-8",
                                                       "surrogateescape"))
    return s


SASL2 = "urn:xmpp:sasl:2"
BIND2 = "<bind xmlns='urn:xmpp:bind:0'>"


def authenticate(mech, *children, ir=None):
    """An XEP-0388 <authenticate>: the initial response (when not None)
    and then the children as given."""
    body = "" if ir is None else (
        "<initial-response>%s</initial-response>" % ir)
    return "<authenticate xmlns='%s' mechanism='%s'>%s%s</authenticate>" % (
        SASL2, mech, body, "".join(children))


def sasl2_streams():
    """SASL2 logins (XEP-0388, with XEP-0386 bind, XEP-0198 inline resume
    and enable, XEP-0484 FAST) and their refusals.  The xmpp.js ones
    follow the shape @xmpp/client 0.14 writes (written here by hand; see
    /work/notes-25.md when it was written)."""
    ua = "<user-agent id='d4565fa7-4d72-4749-b3d3-740edbf87770'/>"
    sm = "<enable xmlns='urn:xmpp:sm:3' resume='true'/>"
    s = {}
    s["sasl2-xmppjs-scram-login"] = login(
        "conversations-from", "plain",
        authenticate("SCRAM-SHA-1", ua, BIND2 + sm + "</bind>",
                     ir="biwsbj1hbGljZSxyPWZ5a28rZDJsYmJGZ09OUnY5cWt4ZGF3TA=="),
        "<response xmlns='%s' mechanism='SCRAM-SHA-1'>Yz1iaXdzLHI9ZnlrbytkMm"
        "xiYkZnT05SdjlxazpwPXY=</response>" % SASL2)
    s["sasl2-xep-example"] = login(
        "prosody", "plain",
        "<authenticate xmlns='%s' mechanism='SCRAM-SHA-256-PLUS'>\n"
        "  <initial-response>\n    cD10bHMtZXhwb3J0ZXIsLG49dXNlcixyPS4uLg==\n"
        "  </initial-response>\n  <user-agent id='d4565fa7'>\n"
        "    <software>AwesomeXMPP</software>\n"
        "    <device>Kiva&apos;s Phone</device>\n  </user-agent>\n  %s"
        "<tag>AwesomeXMPP</tag>%s<enable xmlns='urn:xmpp:carbons:2'/>"
        "<inactive xmlns='urn:xmpp:csi:0'/></bind>\n"
        "  <request-token xmlns='urn:xmpp:fast:0' mechanism='HT-SHA-256-EXPR'/>"
        "\n</authenticate>" % (SASL2, BIND2, sm))
    s["sasl2-fast-resume"] = login(
        "conversations-from", "plain",
        authenticate("HT-SHA-256-NONE", ua,
                     "<fast xmlns='urn:xmpp:fast:0' count='7' "
                     "invalidate='true'/>",
                     "<resume xmlns='urn:xmpp:sm:3' previd='a1b2' h='12'/>",
                     BIND2 + sm + "</bind>", ir="YWxpY2UAhmac"))
    s["sasl2-plain-abort"] = login(
        "slixmpp", "plain", authenticate("PLAIN"),
        "<abort xmlns='%s'/>" % SASL2,
        authenticate("PLAIN", "<initial-response/>"),
        authenticate("PLAIN", ir=PLAIN_ALICE))
    s["sasl2-prefixed-skipped"] = login(
        "prefix", "plain",
        "<a:authenticate xmlns:a='%s' mechanism='PLAIN'><a:supported>"
        "<a:mechanism>X</a:mechanism></a:supported><a:initial-response>%s"
        "</a:initial-response><b:bind xmlns:b='urn:xmpp:bind:0'><b:tag>t"
        "</b:tag><x xmlns='urn:x'>y</x></b:bind></a:authenticate>"
        % (SASL2, PLAIN_ALICE))
    s["sasl2-too-deep"] = login("slixmpp", "plain", authenticate(
        "PLAIN", BIND2 + "<enable xmlns='urn:xmpp:sm:3'><x/></enable></bind>"))
    s["sasl2-too-large"] = login("slixmpp", "plain", authenticate(
        "PLAIN", *["<x/>"] * 33))
    s["sasl2-duplicate-bind"] = login("slixmpp", "plain", authenticate(
        "PLAIN", BIND2 + "</bind>", BIND2 + "</bind>"))
    s["sasl2-long-tag"] = login("slixmpp", "plain", authenticate(
        "PLAIN", BIND2 + "<tag>" + "t" * 65 + "</tag></bind>"))
    s["sasl2-long-ua-id"] = login("slixmpp", "plain", authenticate(
        "PLAIN", "<user-agent id='" + "u" * 65 + "'/>"))
    s["sasl2-bad-h"] = login("slixmpp", "plain", authenticate(
        "PLAIN", "<resume xmlns='urn:xmpp:sm:3' previd='x' h='4294967296'/>"))
    s["sasl2-no-previd"] = login("slixmpp", "plain", authenticate(
        "PLAIN", "<resume xmlns='urn:xmpp:sm:3' h='1'/>"))
    s["sasl2-text"] = login("slixmpp", "plain", authenticate("PLAIN", "x"))
    s["sasl2-next"] = login("slixmpp", "plain",
                            "<next xmlns='%s' task='X'/>" % SASL2)
    s["sasl2-mismatched-end"] = login("slixmpp", "plain", authenticate(
        "PLAIN", BIND2))
    return s


def enc(text):
    return text.encode("utf-8", "surrogateescape")


def xml_seeds():
    x = {}
    for k, v in HDR.items():
        x["hdr-" + k] = v
    x["prosody-server-header"] = (
        "<?xml version='1.0'?><stream:stream xmlns:stream='%s' "
        "xml:lang='en' id='3b0bcc2e-0a31-4d8e-9b7a-1e1f6e1b7a51' "
        "xmlns='jabber:client' version='1.0' from='%s'>" % (NS_STREAMS, DOM))
    x["features"] = ("<stream:features><mechanisms xmlns='%s'><mechanism>"
                     "PLAIN</mechanism></mechanisms></stream:features>" % SASL)
    x["slixmpp-auth"] = auth(PLAIN_ALICE, q='"')
    x["slixmpp-starttls"] = STARTTLS["slixmpp"]
    x["end-tag-ws"] = "</stream:stream \n>"
    x["text-entities"] = "a &lt;b&gt; &amp; &quot;c&quot; &apos;d&apos;"
    x["text-charrefs"] = "&#65;&#x42;&#x10FFFF;&#xE9;&#233;&#x20AC;"
    x["text-utf8"] = "gr\u00fc\u00dfe \u20ac \U0001F600 \u65e5\u672c"
    x["text-ws"] = " \t\r\n  \n"
    x["text-cr-lf"] = "line\r\nline\r\n"
    x["attr-normalize"] = "<a b='x\ty\nz\r' c=\"'\" d='\"'/>"
    x["attr-entities"] = "<a b='&lt;&amp;&#x3C;' c=\"&quot;\"/>"
    x["decl-full"] = ("<?xml version='1.0' encoding='utf-8' "
                      "standalone='yes'?>")
    x["decl-bad-order"] = "<?xml encoding='UTF-8' version='1.0'?>"
    x["decl-version-1.1"] = "<?xml version='1.1'?>"
    x["long-decl"] = "<?xml version='1.0'" + " " * 4090 + "?>"
    x["pi-stylesheet"] = "<?xml-stylesheet href='a'?>"
    x["comment"] = "<!-- x -->"
    x["cdata"] = "<![CDATA[ x ]]>"
    x["doctype"] = "<!DOCTYPE a>"
    x["entity-unknown"] = "&nbsp;"
    x["charref-zero"] = "&#0;"
    x["charref-surrogate"] = "&#xD800;"
    x["charref-too-big"] = "&#x110000;"
    x["charref-long"] = "&#000000065;"
    x["entity-unterminated"] = "&amp"
    x["bare-amp"] = "a & b"
    x["gt-in-attr"] = "<a b='>'/>"
    x["lt-in-attr"] = "<a b='<'/>"
    x["dup-attr"] = "<a b='1' b='2'/>"
    x["no-ws-between-attrs"] = "<a b='1'c='2'/>"
    x["unquoted"] = "<a b=1/>"
    x["two-colons"] = "<a:b:c/>"
    x["trailing-colon"] = "<a:/>"
    x["space-after-lt"] = "< a/>"
    x["long-name"] = "<" + "n" * 65 + "/>"
    x["name-64"] = "<" + "n" * 64 + "/>"
    x["long-value"] = "<a b='" + "v" * 1030 + "'/>"
    x["17-attrs"] = "<a " + " ".join("a%d='%d'" % (i, i)
                                     for i in range(17)) + "/>"
    x["16-attrs"] = "<a " + " ".join("a%d='%d'" % (i, i)
                                     for i in range(16)) + "/>"
    x["long-tag"] = "<a b='" + "v" * 4100 + "'>"
    x["long-text"] = "t" * 4200 + "<"
    x["overlong-utf8"] = "\udcc0\udcaf"
    x["surrogate-utf8"] = "<a b='\udced\udca0\udc80'/>"
    x["split-utf8"] = "ab\udce2\udc82"
    x["control-char"] = "a\x01b"
    # Regression: fuzz_xml's first find (text, then a byte that is not
    # UTF-8, answered differently whole and split; fixed in lex_text).
    x["regress-0a-e5-0a"] = "\n\udce5\n"
    x["ffff"] = "\uffff"
    x["several"] = ("<?xml version='1.0'?>\n<a xmlns='u'>text<b/>&amp;</a>"
                    "</stream:stream>")
    return x


def plain_seeds():
    p = {}
    raw = {
        "alice": b"\0alice\0secret",
        "authzid-self": b"alice@example.test\0alice\0secret",
        "authzid-self-upper": b"alice@EXAMPLE.TEST\0alice\0secret",
        "authzid-foreign": b"bob@example.test\0alice\0secret",
        "authcid-at-domain": b"\0alice@example.test\0secret",
        "authcid-at-other": b"\0alice@other.test\0secret",
        "authcid-two-at": b"\0a@b@example.test\0secret",
        "authcid-only-domain": b"\0@example.test\0secret",
        "empty-user": b"\0\0secret",
        "empty-pass": b"\0alice\0",
        "three-nuls": b"\0alice\0pa\0ss",
        "one-nul": b"alice\0secret",
        "space-in-user": b"\0al ice\0secret",
        "slash-in-user": b"\0a/b\0secret",
        "utf8-user": "\0j\u00fcrgen\0geheim".encode(),
        "pass-newline-colon": b"\0alice\0a:b\nc=d",
        "user-1023": b"\0" + b"u" * 1023 + b"\0p",
        "user-1024": b"\0" + b"u" * 1024 + b"\0p",
        "pass-1023": b"\0u\0" + b"p" * 1023,
        "pass-1024": b"\0u\0" + b"p" * 1024,
        "authzid-long": b"z" * 3100 + b"\0u\0p",
        "control-in-user": b"\0a\x7fb\0p",
        # Nodeprep (src/localpart.c): folded, NFKC, refused
        "upper-user": b"ALICE@example.test\0ALICE\0p",
        "fullwidth-user": "\0\uff41lice\0p".encode(),
        "rlo-user": "\0ali\u202eecila\0p".encode(),
        "bad-utf8-user": b"\0al\xffice\0p",
        "zero-width-user": "\0\u200b\0p".encode(),
        "ligature-user": "\0" .encode() + "\ufb03".encode() * 341 + b"\0p",
    }
    for k, v in raw.items():
        p["raw-" + k] = b"\x80" + v
    text = {
        "alice": PLAIN_ALICE,
        "authzid": b64(b"alice@example.test\0alice\0secret"),
        "whitespace": "AGFsaWNl AHNlY3JldA==",
        "newline": "AGFsaWNl\nAHNlY3JldA==",
        "no-padding": "AGFsaWNlAHNlY3JldA",
        "pad-in-middle": "AG=saWNlAHNlY3JldA==",
        "equals": "=",
        "four-equals": "====",
        "three-pad": "QQ===",
        "noncanonical": "QR==",
        "url-alphabet": "AGFsaWNl-HNlY3JldA__",
        "empty": "",
        "one-byte": "QQ==",
    }
    for k, v in text.items():
        p["b64-" + k] = b"\x00" + v.encode()
    return p


def helper_seeds():
    h = {
        "empty": "",
        "newline": "\n",
        "man-backend": "backend=xmpp2.internal:5222\n",
        "man-ipv6-user": "backend=[2001:db8::25]:5222\nuser=carol.smith\n",
        "unix": "backend=unix:/run/prosody/c2s.sock\n",
        "user-password": "user=alice\npassword=secret\n",
        "no-final-newline": "password=correct horse",
        "all-three": "backend=127.0.0.1:5222\nuser=bob\npassword=s3cr=t\n",
        "blank-lines": "\n\nuser=x\n\n",
        "crlf": "user=alice\r\n",
        "unknown-key": "foo=bar\n",
        "duplicate": "user=a\nuser=b\n",
        "empty-value": "user=\n",
        "no-equals": "noequals\n",
        "empty-key": "=value\n",
        "key-case": "User=alice\n",
        "backend-no-port": "backend=nocolon\n",
        "backend-port-0": "backend=[::1]:0\n",
        "backend-port-big": "backend=host:65536\n",
        "backend-zone": "backend=[fe80::1%eth0]:5222\n",
        "backend-unix-relative": "backend=unix:relative\n",
        "tab-in-value": "password=a\tb\n",
        "del-in-value": "password=a\x7fb\n",
        "utf8-value": "user=j\u00fcrgen\n",
        "value-1023": "password=" + "p" * 1023 + "\n",
        "value-1024": "password=" + "p" * 1024 + "\n",
        "backend-1100": "backend=" + "h" * 1094 + ":5222\n",
        "long-key": "k" * 100 + "=v\n",
        # RFC 5803's example (SHA-1) and RFC 7677's user (SHA-256)
        "scram-sha1": "scram=SCRAM-SHA-1$4096:QSXCR+Q6sek8bf92$"
        "6dlGYMOdZcOPutkcNY8U2g7vK9Y=:D+CSWLOshSulAsxiupA+qs2/fTE=\n"
        "password=x\n",
        "scram-sha256": "scram=SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$"
        "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:"
        "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=\n",
        # FAST (XEP-0484, xmppgate-auth(5) FAST)
        "fast-check": "fast-responder=AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=\n"
        "password=be\n",
        "fast-rotate": "fast-responder=AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=\n"
        "fast-token=WXZzciBwYmFhcnBnYmU_ZXhhbXBsZS5vcmc-a2Fu\n"
        "fast-expiry=2026-12-24T11:00:00Z\n",
        "fast-issue": "fast-token=abcdefghijklmnop\nfast-expiry=2028-02-29T23:59:59Z\n",
        "fast-token-alphabet": "fast-token=AZaz09._~:+/=-xyz\nfast-expiry=2030-01-01T00:00:00Z\n",
        "fast-token-15": "fast-token=abcdefghijklmno\nfast-expiry=2030-01-01T00:00:00Z\n",
        "fast-token-256": "fast-token=" + "t" * 256 + "\nfast-expiry=2030-01-01T00:00:00Z\n",
        "fast-token-257": "fast-token=" + "t" * 257 + "\nfast-expiry=2030-01-01T00:00:00Z\n",
        "fast-token-quote": "fast-token=abcdefghijklmnop'\nfast-expiry=2030-01-01T00:00:00Z\n",
        "fast-token-alone": "fast-token=abcdefghijklmnop\n",
        "fast-expiry-alone": "fast-expiry=2030-01-01T00:00:00Z\n",
        "fast-expiry-feb29": "fast-token=abcdefghijklmnop\nfast-expiry=2100-02-29T00:00:00Z\n",
        "fast-expiry-apr31": "fast-token=abcdefghijklmnop\nfast-expiry=2030-04-31T00:00:00Z\n",
        "fast-expiry-24h": "fast-token=abcdefghijklmnop\nfast-expiry=2030-01-01T24:00:00Z\n",
        "fast-expiry-leapsec": "fast-token=abcdefghijklmnop\nfast-expiry=2016-12-31T23:59:60Z\n",
        "fast-expiry-offset": "fast-token=abcdefghijklmnop\nfast-expiry=2030-01-01T00:00:00+00:00\n",
        "fast-responder-31": "fast-responder=AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHw==\n",
        "fast-responder-33": "fast-responder=AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAh\n",
        "fast-responder-nopad": "fast-responder=AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA\n",
        "fast-responder-bits": "fast-responder=AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyB=\n",
        "condition": "condition=credentials-expired\nmessage=token expired\n",
        "condition-other": "condition=not-authorized\n",
    }
    out = {k: v.encode() for k, v in h.items()}
    out["nul"] = b"user=a\0b\n"
    fill = b"user=alice\n" + b"\n" * (4096 - len(b"user=alice\n"))
    out["exactly-4096"] = fill
    out["over-4096"] = fill + b"\n"
    return out


def scram_seeds():
    """fuzz_scram: a mode byte (bit 0 SHA-256, bit 1 -PLUS, bits 2-4 the
    binding types offered, bit 5 the harness writes the client-final),
    the client-first message, NUL, the client-final message."""
    return {
        "rfc5802": bytes([0]) + b"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL\0"
        b"c=biws,r=fyko+d2lbbFgONRv9qkxdawLSNONCE,"
        b"p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
        "rfc7677-own": bytes([1 | 32]) + b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
        "plus-exporter-own": bytes([1 | 2 | (4 << 2) | 32]) +
        b"p=tls-exporter,,n=alice,r=abcdef",
        "plus-endpoint-own": bytes([2 | (2 << 2) | 32]) +
        b"p=tls-server-end-point,a=alice@example.test,n=alice,r=abc,x=y",
        "plus-unique": bytes([1 | 2 | (1 << 2)]) +
        b"p=tls-unique,,n=a=3Db=2Cc,r=xyz\0c=cD10bHMtdW5pcXVlLCxCAQID,"
        b"r=xyzSNONCE,p=AAAA",
        "y-flag": bytes([1]) + b"y,,n=juliet@example.test,r=n1\0c=eSws,"
        b"r=n1SNONCE,ext=1,p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    }


def proxy_seeds():
    """PROXY headers as HAProxy 2.6 sends them (send-proxy, send-proxy-v2)
    and as xmppgate builds them, then refusals, and build inputs: four
    strings split by NUL (client address and port, ours)."""
    sig = b"\r\n\r\n\x00\r\nQUIT\n"
    v4 = bytes([198, 51, 100, 9, 127, 0, 0, 1]) + (41000).to_bytes(2, "big") + (5222).to_bytes(2, "big")
    v6 = bytes(15) + b"\x01" + bytes(15) + b"\x01" + b"\x00\x01\x00\x02"
    return {
        "v1-tcp4": b"PROXY TCP4 192.0.2.7 127.0.0.1 40000 5222\r\n<stream",
        "v1-tcp6": b"PROXY TCP6 2001:db8::7 ::1 1 5222\r\n\x16\x03\x01",
        "v1-unknown": b"PROXY UNKNOWN\r\n",
        "v1-unknown-text": b"PROXY UNKNOWN ::1 ::1 1 2\r\n",
        "v1-max": b"PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n",
        "v1-cut": b"PROXY TCP4 192.0.2.7 127.0.0.1 40",
        "v1-leading-zero": b"PROXY TCP4 192.0.2.7 127.0.0.1 040000 5222\r\n",
        "v1-lf-only": b"PROXY TCP4 192.0.2.7 127.0.0.1 1 2\n",
        "v2-tcp4": sig + b"\x21\x11\x00\x0c" + v4,
        "v2-tcp4-tlv": sig + b"\x21\x11\x00\x17" + v4 + b"\x02\x00\x08a.test\x00\x00",
        "v2-tcp6": sig + b"\x21\x21\x00\x24" + v6 + b"<",
        "v2-local": sig + b"\x20\x00\x00\x00",
        "v2-unspec": sig + b"\x21\x00\x00\x00",
        "v2-unix": sig + b"\x21\x31\x00\xd8" + bytes(216),
        "v2-udp": sig + b"\x21\x12\x00\x0c" + v4,
        "v2-short-block": sig + b"\x21\x21\x00\x0c" + v4,
        "v2-tlv-overrun": sig + b"\x21\x11\x00\x10" + v4 + b"\x04\x00\x09x",
        "v2-too-long": sig + b"\x21\x11\x10\x00",
        "not-proxy-stream": b"<?xml version='1.0'?>",
        "not-proxy-tls": b"\x16\x03\x01\x00\xa5",
        "build-v4": b"192.0.2.7\x0040000\x00127.0.0.1\x005222",
        "build-mixed": b"192.0.2.7\x001\x00::1\x005222",
        "build-unix": b"unix\x00-\x00/run/x\x00-",
    }


def main():
    modes = [0x00, 0x0d, 0x03, 0x15, 0x27, 0x3a, 0x46, 0x58, 0x6c, 0x7b]
    for i, (name, bursts) in enumerate(sorted(streams().items())):
        if isinstance(bursts, str):
            bursts = [bursts]
        # The parser alone sees one stream; the session sees bursts with
        # a NUL where the client waits.  Each input is split its own way;
        # logins byte by byte too.
        flat = enc("".join(bursts))
        waits = b"\0".join(enc(b) for b in bursts)
        write("preauth", name, bytes([modes[i % len(modes)]]) + flat)
        write("session", name, bytes([modes[(i + 3) % len(modes)]]) + waits)
        if name.endswith("-login"):
            write("session", name + "-bytewise", b"\x00" + waits)
    # SASL2, in their own order so that the seeds above keep theirs.
    for i, (name, bursts) in enumerate(sorted(sasl2_streams().items())):
        flat = enc("".join(bursts))
        waits = b"\0".join(enc(b) for b in bursts)
        write("preauth", name, bytes([modes[i % len(modes)]]) + flat)
        write("session", name, bytes([modes[(i + 3) % len(modes)]]) + waits)
    write("preauth", "s2s-sasl2-authenticate", bytes([0x80]) + enc(
        "<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
        "xmlns:stream='http://etherx.jabber.org/streams' to='b.test' "
        "from='a.test' version='1.0'>" + authenticate("EXTERNAL", ir="=")))
    # Regression: the split dependence fixed in lex_text, byte by byte so
    # that every split is tried, and fuzz_preauth's first find.
    write("preauth", "regress-text-then-bad-byte",
          b"\x00" + enc(HDR["slixmpp"] + "x\udcff"))
    write("preauth", "regress-60-3d-ff-ff", b"\x60=\xff\xff")
    # A server's stream (the mode byte's top bit): Prosody's header before
    # and after TLS, dialback and EXTERNAL.
    shdr = ("<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
            "xmlns:stream='http://etherx.jabber.org/streams' "
            "xmlns:db='jabber:server:dialback' to='b.test' from='a.test' "
            "version='1.0' id=''>")
    for i, (name, tail) in enumerate(sorted({
            "s2s-starttls": "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>" + shdr,
            "s2s-db-result": "<db:result from='a.test' to='b.test'>57caa8824adf</db:result>",
            "s2s-db-verify": "<db:verify from='a.test' id='298993e8' to='b.test'>61b4</db:verify>",
            "s2s-external": "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>YS50ZXN0</auth>",
            "s2s-stanza": "<iq from='a.test' id='1' to='b.test' type='get'><ping xmlns='urn:xmpp:ping'/></iq>",
            }.items())):
        write("preauth", name, bytes([0x80 | modes[i % len(modes)]]) + enc(shdr + tail))
    for name, text in xml_seeds().items():
        write("xml", name, enc(text))
    for name, data in plain_seeds().items():
        write("plain", name, data)
    for name, data in helper_seeds().items():
        write("helper_reply", name, data)
    for name, data in proxy_seeds().items():
        write("proxy", name, data)
    for name, data in scram_seeds().items():
        write("scram", name, data)
    for name, data in route_seeds().items():
        write("route", name, data)
    for name, data in s2sid_seeds().items():
        write("s2sid", name, data)
    for name, data in authsock_seeds().items():
        write("authsock", name, data)
    for name, data in relaymsg_seeds().items():
        write("relaymsg", name, data)


def relaymsg_seeds():
    """Hand-off messages to xmppgate-relay (src/relaymsg.c), as
    relaysend.c makes them, and near misses."""
    f = (b"client=127.0.0.1:40000 domain=example.test user=alice "
         b"backend=127.0.0.1:5322")
    return {
        "good": b"XGRELAY1 id=0a1b2c3d4e5f rx=734 tx=1466 age=1918 idle=300\n" + f,
        "s2s": b"XGRELAY1 id=ff rx=0 tx=0 age=0 idle=0\nclient=[::1]:5 "
               b"domain=b.test user=- server=a.test auth=external backend=unix:/run/x",
        "max": b"XGRELAY1 id=fffffffffffffff rx=18446744073709551615 "
               b"tx=18446744073709551615 age=3162240000000 idle=2147483\n" + f,
        "bad-age": b"XGRELAY1 id=1 rx=1 tx=1 age=3162240000001 idle=1\n" + f,
        "quote": b"XGRELAY1 id=1 rx=1 tx=1 age=1 idle=1\nuser=\"x\"",
        "no-fields": b"XGRELAY1 id=1 rx=1 tx=1 age=1 idle=1\n",
    }


def authsock_seeds():
    """The socket helper's answers (direction byte 0) and requests (1),
    xmppgate-auth(5) SOCKET HELPERS."""
    req = (b"XMPPGATE_AUTH_VERSION=1\nAUTH_MECHANISM=PLAIN\nAUTH_USER=alice\n"
           b"AUTH_DOMAIN=example.org\nSSL_CIPHER=\nAUTH_PASSWORD_LENGTH=7\n\n"
           b"pw\n\nX=1")
    return {
        "accept": b"\0accept\nuser=bob\nbackend=127.0.0.1:5222\n",
        "reject": b"\0reject\nmessage=no\ndelay=10\n",
        "tempfail": b"\0tempfail\n",
        "garbage": b"\0HTTP/1.1 200 OK\r\n",
        "request": b"\1" + req,
        "request-empty": b"\1XMPPGATE_AUTH_VERSION=1\nAUTH_MECHANISM=EXTERNAL\n"
                         b"AUTH_USER=\nAUTH_PASSWORD_LENGTH=0\n\n",
        "request-short": b"\1XMPPGATE_AUTH_VERSION=1\nAUTH_PASSWORD_LENGTH=0",
        "request-refused": b"\1XMPPGATE_AUTH_VERSION=1\nLD_PRELOAD=/tmp/x.so\n"
                           b"AUTH_PASSWORD_LENGTH=0\n\n",
        "accept-fast": b"\0accept\nfast-responder="
                       b"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=\n"
                       b"fast-token=abcdefghijklmnop\nfast-expiry=2030-01-01T00:00:00Z\n",
        "reject-expired": b"\0reject\ncondition=credentials-expired\n",
        "request-fast": b"\1XMPPGATE_AUTH_VERSION=1\nAUTH_MECHANISM=HT-SHA-256-EXPR\n"
                        b"AUTH_USER=alice\nAUTH_DOMAIN=example.org\n"
                        b"AUTH_CHANNEL_BINDING=tls-exporter\nAUTH_CHANNEL_BINDING_DATA=Y2I=\n"
                        b"AUTH_FAST_CLIENT=ua\nAUTH_FAST_HMAC=AAAA\nAUTH_FAST_INVALIDATE=1\n"
                        b"AUTH_FAST_COUNT=2\nAUTH_PASSWORD_LENGTH=0\n\n",
        "request-fast-token": b"\1XMPPGATE_AUTH_VERSION=1\nAUTH_MECHANISM=FAST-TOKEN\n"
                              b"AUTH_USER=alice\nAUTH_DOMAIN=example.org\nAUTH_FAST_CLIENT=ua\n"
                              b"AUTH_FAST_MECHANISM=HT-SHA-256-NONE\nAUTH_PASSWORD_LENGTH=0\n\n",
    }


def s2sid_seeds():
    """The certificate names of the issue-8 research (section 1.2) as tls.c
    lists them: dNSNames, SRVNames, XmppAddrs and the domain, one a line."""
    long_ = b".".join([b"a" * 60] * 16) + b".test"
    return {
        "dns-id": b"a.test\n\n\na.test",
        "wrong-domain": b"c.test\n\n\na.test",
        "xmppaddr": b"\n\na.test\na.test",
        "srv-id": b"\n_xmpp-server.a.test\n\na.test",
        "srv-client": b"\n_xmpp-client.a.test\n\na.test",
        "wildcard": b"*.a.test\n\n\nfoo.a.test",
        "wildcard-apex": b"*.a.test\n\n\na.test",
        "wildcard-deep": b"*.a.test\n\n\nx.foo.a.test",
        "wildcard-one-label": b"*.test\n\n\na.test",
        "partial": b"f*.a.test *x.a.test a.*.test\n\n\nfoo.a.test",
        "case-dots": (b"  B.TEST   A.Test.  \x00_XMPP-Server.A.TEST.\x00"
                      b"u@a.test a.test/r\x00a.test"),
        "precedence": (b"*.b.test x.b.test\n_xmpp-server.x.b.test\n"
                       b"x.b.test\nx.b.test"),
        "non-ascii": "*.a.test é.a.test\n\né.a.test\né.a.test".encode(),
        "long": (long_ + b" " + long_ + b".\n_xmpp-server." + long_ + b"\n" +
                 long_ + b"\n" + long_),
    }


def route_seeds():
    """Route maps as the man page shows them, and the ways they go wrong."""
    good = (b"# domain      backend\n"
            b"example.org   127.0.0.1:5222\n"
            b"Example.NET.  [::1]:5223   # comment\n"
            b"chat.example  unix:/run/prosody/c2s.sock\r\n"
            b"*             127.0.0.1:15222\n")
    return {
        "man-page": b"example.org\x00" + good,
        "default": b"other.example\x00" + good,
        "no-nul": good,
        "twice": b"a.example\x00a.example 127.0.0.1:1\nA.EXAMPLE. 127.0.0.1:2\n",
        "two-defaults": b"x\x00* 127.0.0.1:1\n* 127.0.0.1:2\n",
        "no-address": b"a.example\x00a.example\n",
        "bad-port": b"a.example\x00a.example 127.0.0.1:65536\n",
        "extra-field": b"a.example\x00a.example 127.0.0.1:1 more\n",
        "control": b"a.example\x00a.example\x01 127.0.0.1:1\n",
        "long-line": b"a.example\x00a.example" + b" " * 1200 + b"127.0.0.1:1\n",
    }


if __name__ == "__main__":
    main()
