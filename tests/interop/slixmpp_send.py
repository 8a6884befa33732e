#!/usr/bin/python3
"""One cell of the interop matrix for slixmpp: log in through xmppgate
(STARTTLS, SASL, resource binding), send BODY to TO, wait for the server
to answer a ping (so the message has gone out), and log out with a
closing stream tag.  Every wait is bounded.

usage: slixmpp_send.py HOST PORT CA JID PASSWORD TO BODY
"""
import sys
from xmpp_common import make_client, run

host, port, ca, jid, password, to, body = sys.argv[1:8]
loop, c = make_client(host, port, ca, jid, password)
c.register_plugin("xep_0199")
domain = c.boundjid.domain
done = loop.create_future()


async def session_start(_ev):
    try:
        c.send_message(mto=to, mbody=body, mtype="chat")
        await c["xep_0199"].ping(jid=domain, timeout=10)
        bound = c.boundjid.full
        await c.disconnect(wait=5.0)
        done.set_result("login=ok bind=ok jid=%s message=sent logout=ok" % bound)
    except Exception as e:  # noqa: BLE001 - any failure fails the cell
        if not done.done():
            done.set_result("login=ok error=%r" % e)


def failed(*_a):
    if not done.done():
        done.set_result("login=failed")


c.add_event_handler("session_start", session_start)
c.add_event_handler("failed_auth", failed)
c.add_event_handler("connection_failed", failed)
r = run(loop, c, host, port, done, 30, "login=failed error=timeout")
sys.exit(0 if "logout=ok" in r else 1)
