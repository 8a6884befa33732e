#!/usr/bin/python3
"""XEP-0198 through xmppgate: slixmpp logs in with Stream Management
enabled (resumable), its TCP connection is cut without a closing tag,
and it connects again: through xmppgate's STARTTLS and SASL, then to the
backend, where it must resume the same session (<resumed/>, the same
full JID) instead of binding a new one.  Then a clean logout.

usage: smacks_resume.py HOST PORT CA JID PASSWORD
"""
import sys
from xmpp_common import make_client, run

host, port, ca, jid, password = sys.argv[1:6]
loop, c = make_client(host, port, ca, jid, password)
c.register_plugin("xep_0198")
domain = c.boundjid.domain
done = loop.create_future()
state = {"first": None, "cut": False}


def finish(r):
    if not done.done():
        done.set_result(r)


def session_start(_ev):
    if state["first"] is not None:
        finish("error=a new session was bound instead of resuming")
        return
    state["first"] = c.boundjid.full
    c.send_presence()


def sm_enabled(stanza):
    print("sm enabled: id=%s resume=%s" % (stanza["id"], stanza["resume"]), flush=True)
    # Cut the connection: no closing tag, no TLS close_notify.
    state["cut"] = True
    c.transport.abort()


def disconnected(_reason):
    if state["cut"] and not done.done():
        state["cut"] = False
        print("connection cut; connecting again", flush=True)
        c.connect(address=(host, int(port)))


async def resumed(_stanza):
    full = c.boundjid.full
    print("resumed as %s (first session %s)" % (full, state["first"]), flush=True)
    if full != state["first"]:
        finish("error=resumed as another JID")
        return
    await c.disconnect(wait=5.0)
    finish("resumed=ok jid=%s logout=ok" % full)


c.add_event_handler("session_start", session_start)
c.add_event_handler("sm_enabled", sm_enabled)
c.add_event_handler("disconnected", disconnected)
c.add_event_handler("session_resumed", resumed)
c.add_event_handler("failed_auth", lambda _s: finish("error=auth failed"))
r = run(loop, c, host, port, done, 45, "error=timeout")
sys.exit(0 if r.startswith("resumed=ok") else 1)
