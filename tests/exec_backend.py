#!/usr/bin/python3
"""A fake XMPP server "after authentication" for xmppgate's exec mode.

xmppgate runs it with the plaintext stream on fds 0 (from the client) and 1
(to the client), starting with the client's stream restart.  It answers with
a stream header and features (bind, session), binds $XMPP_JID/RESOURCE,
answers other get/set iqs with empty results, echoes <message/> stanzas back
to the sender (from = the message's to), ignores presence and ends on
</stream:stream> or end of file.

    exec_backend.py ENVLOG

writes the environment it got (KEY=VALUE lines), what its fd 2 is (FD2=)
and what it saw to ENVLOG.
"""

import os
import sys
import uuid
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape, quoteattr

NS_CLIENT = "{jabber:client}"
NS_STREAM = "{http://etherx.jabber.org/streams}"
NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind"
NS_SESSION = "urn:ietf:params:xml:ns:xmpp-session"
ENV_KEYS = ("XMPP_USER", "XMPP_DOMAIN", "XMPP_JID", "PROTO", "TCPREMOTEIP",
            "TCPREMOTEPORT", "TCPLOCALIP", "TCPLOCALPORT", "SSL_PROTOCOL",
            "SSL_CIPHER", "LISTEN_FDS", "LISTEN_PID")

logf = open(sys.argv[1] if len(sys.argv) > 1 else os.devnull, "a")


def note(line):
    logf.write(line + "\n")
    logf.flush()


def send(text):
    data = text.encode("utf-8")
    while data:
        n = os.write(1, data)
        data = data[n:]


def main():
    for k in ENV_KEYS:
        note(f"{k}={os.environ[k]}" if k in os.environ else f"{k}=<unset>")
    try:
        note("FD2=" + os.readlink("/proc/self/fd/2"))
    except OSError:
        note("FD2=<closed>")
    domain = os.environ.get("XMPP_DOMAIN", "example.test")
    jid = os.environ.get("XMPP_JID") or \
        f"{os.environ.get('XMPP_USER', 'user')}@{domain}"
    full = jid + "/exec"
    parser = ET.XMLPullParser(("start", "end"))
    depth = 0
    while True:
        try:
            data = os.read(0, 65536)
        except OSError:
            data = b""
        if not data:
            note("EOF")
            return
        parser.feed(data)
        try:
            events = list(parser.read_events())
        except ET.ParseError as e:
            note(f"PARSE-ERROR {e}")
            send("<stream:error><not-well-formed xmlns='urn:ietf:params:xml:"
                 "ns:xmpp-streams'/></stream:error></stream:stream>")
            return
        for ev, el in events:
            if ev == "start":
                depth += 1
                if depth == 1:
                    note(f"HEADER {el.tag} to={el.get('to')}")
                    send("<?xml version='1.0'?><stream:stream"
                         " xmlns='jabber:client'"
                         " xmlns:stream='http://etherx.jabber.org/streams'"
                         f" from={quoteattr(domain)} id='{uuid.uuid4().hex}'"
                         " version='1.0' xml:lang='en'>"
                         "<stream:features>"
                         f"<bind xmlns='{NS_BIND}'/>"
                         f"<session xmlns='{NS_SESSION}'><optional/></session>"
                         "</stream:features>")
                continue
            depth -= 1
            if depth == 0:
                note("CLOSE")
                send("</stream:stream>")
                return
            if depth != 1:
                continue
            stanza(el, full)
            el.clear()


def stanza(el, full):
    tag = el.tag
    sid = el.get("id", "")
    if tag == NS_CLIENT + "iq":
        typ = el.get("type")
        if typ not in ("get", "set"):
            return
        bind = el.find(f"{{{NS_BIND}}}bind")
        if bind is not None and typ == "set":
            res = bind.findtext(f"{{{NS_BIND}}}resource") or "exec"
            full = full.rsplit("/", 1)[0] + "/" + res
            globals()["BOUND"] = full
            note(f"BIND {full}")
            send(f"<iq type='result' id={quoteattr(sid)}>"
                 f"<bind xmlns='{NS_BIND}'><jid>{escape(full)}</jid></bind></iq>")
            return
        note(f"IQ {typ} {[c.tag for c in el]}")
        send(f"<iq type='result' id={quoteattr(sid)}/>")
    elif tag == NS_CLIENT + "message":
        to = el.get("to") or full
        sender = globals().get("BOUND", full)
        body = el.findtext(NS_CLIENT + "body") or ""
        note(f"MESSAGE to={to} body={body}")
        send(f"<message from={quoteattr(to)} to={quoteattr(sender)}"
             f" type={quoteattr(el.get('type', 'chat'))} id={quoteattr(sid)}>"
             f"<body>{escape(body)}</body></message>")
    else:
        note(f"IGNORED {tag}")


if __name__ == "__main__":
    main()
