#!/usr/bin/python3
"""Federation test for tests/t-s2s.sh: two slixmpp clients on one event
loop, each logged in to its own server (no DNS: each connects to its
--*-port on 127.0.0.1).  The receiver logs in first and sends presence;
then the sender sends BODY to the receiver's bare JID, and the script
waits until the receiver got it.  Prints one line

    RESULT sender=ok receiver=ok received=1 from=alice@a.test/RES type=chat body=BODY
    RESULT sender=... receiver=... received=0 error=timeout [bounce=FROM:CONDITION]

and exits 0 only when exactly one message with BODY arrived (one more
second is allowed for a duplicate to show).  TLS: the chain is checked
against --ca, the name is not (a server may run with a deliberately
wrong certificate in these tests; the clients are not under test).
Every wait is bounded by --timeout.

usage: s2s_chat.py --sender JID --sender-password PW --sender-port P
                   --receiver JID --receiver-password PW --receiver-port P
                   --ca CA --body BODY [--timeout SECONDS]
"""
import argparse
import asyncio
import logging
import sys
from pathlib import Path

import slixmpp

p = argparse.ArgumentParser()
p.add_argument("--sender", required=True)
p.add_argument("--sender-password", required=True)
p.add_argument("--sender-port", type=int, required=True)
p.add_argument("--receiver", required=True)
p.add_argument("--receiver-password", required=True)
p.add_argument("--receiver-port", type=int, required=True)
p.add_argument("--ca", required=True)
p.add_argument("--body", required=True)
p.add_argument("--host", default="127.0.0.1")
p.add_argument("--timeout", type=float, default=20.0)
p.add_argument("--debug", action="store_true")  # slixmpp's log on stderr
args = p.parse_args()
if args.debug:
    logging.basicConfig(level=logging.DEBUG)

loop = asyncio.new_event_loop()
asyncio.set_event_loop(loop)
fields = {}


def client(jid, password, port, tag):
    c = slixmpp.ClientXMPP(jid, password)
    c.ca_certs = Path(args.ca)
    c.ssl_context.check_hostname = False
    c.whitespace_keepalive = False
    domain = c.boundjid.domain

    async def records(_domain, _port=None):
        return [(domain, args.host, port)]
    c.get_dns_records = records
    c.up = loop.create_future()
    c.received = []

    def session_start(_ev):
        fields[tag] = "ok"
        c.send_presence()
        if not c.up.done():
            c.up.set_result(True)

    def failed(why):
        def h(*_a):
            fields.setdefault(tag, "failed(%s)" % why)
            if not c.up.done():
                c.up.set_result(False)
        return h

    def message(msg):
        if msg["type"] == "error":
            fields["bounce"] = "%s:%s" % (msg["from"], msg["error"]["condition"])
        elif msg["body"]:
            c.received.append((str(msg["from"]), msg["body"], msg["type"]))

    c.add_event_handler("session_start", session_start)
    c.add_event_handler("failed_auth", failed("auth"))
    c.add_event_handler("connection_failed", failed("connection"))
    c.add_event_handler("disconnected", failed("disconnected"))
    c.add_event_handler("message", message)
    c.connect(address=(args.host, port))
    return c


async def main():
    rcv = client(args.receiver, args.receiver_password, args.receiver_port,
                 "receiver")
    if not await rcv.up:
        return "receiver=%s" % fields.get("receiver")
    snd = client(args.sender, args.sender_password, args.sender_port,
                 "sender")
    if not await snd.up:
        return "receiver=ok sender=%s" % fields.get("sender")
    # Let the receiver's presence settle on its server.
    await asyncio.sleep(0.2)
    snd.send_message(mto=slixmpp.JID(args.receiver).bare, mbody=args.body,
                     mtype="chat")
    while not any(b == args.body for _f, b, _t in rcv.received):
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)
    mine = [(f, t) for f, b, t in rcv.received if b == args.body]
    return "sender=ok receiver=ok received=%d from=%s type=%s body=%s" % (
        len(mine), mine[0][0], mine[0][1], args.body)


try:
    r = loop.run_until_complete(asyncio.wait_for(main(), args.timeout))
except asyncio.TimeoutError:
    r = "sender=%s receiver=%s received=0 error=timeout%s" % (
        fields.get("sender", "-"), fields.get("receiver", "-"),
        " bounce=" + fields["bounce"] if "bounce" in fields else "")
print("RESULT " + r, flush=True)
sys.exit(0 if " received=1 " in r else 1)
