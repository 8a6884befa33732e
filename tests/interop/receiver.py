#!/usr/bin/python3
"""The second account of the interop matrix: logs in with slixmpp (through
xmppgate, like every client) and appends the body of every message it
receives to OUT, one line each, until it is stopped or TIMEOUT passes.
Prints "ready" on stdout once its session is up.

usage: receiver.py --jid JID --password PW --host H --port P --ca CA
                   --out FILE [--timeout SECONDS]
"""
import argparse
import asyncio
import sys
from xmpp_common import make_client

p = argparse.ArgumentParser()
p.add_argument("--jid", required=True)
p.add_argument("--password", required=True)
p.add_argument("--host", default="127.0.0.1")
p.add_argument("--port", type=int, required=True)
p.add_argument("--ca", required=True)
p.add_argument("--out", required=True)
p.add_argument("--timeout", type=float, default=900)
args = p.parse_args()

loop, c = make_client(args.host, args.port, args.ca, args.jid, args.password)


def session_start(_ev):
    c.send_presence()
    print("ready", flush=True)


def message(msg):
    if msg["body"]:
        with open(args.out, "a") as f:
            f.write("%s %s\n" % (msg["from"].bare, msg["body"]))


def gone(_ev):
    sys.exit("receiver: disconnected")


c.add_event_handler("session_start", session_start)
c.add_event_handler("message", message)
c.add_event_handler("disconnected", gone)
c.add_event_handler("failed_auth", lambda _s: sys.exit("receiver: auth failed"))
c.connect(address=(args.host, args.port))
loop.run_until_complete(asyncio.sleep(args.timeout))
