#!/usr/bin/python3
"""A slixmpp client for the xmppgate integration tests.

Logs in with STARTTLS (the certificate is verified against --ca, for the
JID's domain), SASL PLAIN and resource binding; optionally logs in a second
account (--jid2) and sends it a message (or, without --jid2, sends --to a
message and waits for it to come back, e.g. the exec-mode echo backend).
Prints one line

    RESULT login=ok bind=ok jid=... message=ok
    RESULT login=failed condition=not-authorized

and exits 0 only when the outcome matched --expect.  Every wait is bounded
by --timeout.
"""

import argparse
import asyncio
import logging
import sys
import time
import uuid
from pathlib import Path

import slixmpp
from slixmpp.jid import JID


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--jid", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--jid2")
    p.add_argument("--password2")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--source", help="connect from this local address "
                   "(any 127.0.0.0/8 address is ours on loopback)")
    p.add_argument("--ca", required=True, help="CA file to verify the server")
    p.add_argument("--to", help="send a message to this JID")
    p.add_argument("--message", help="message body (default: random)")
    p.add_argument("--expect", choices=("success", "auth-failure", "error"),
                   default="success")
    p.add_argument("--condition", default="",
                   help="comma separated acceptable failure conditions")
    p.add_argument("--timeout", type=float, default=20.0)
    p.add_argument("--direct-tls", action="store_true",
                   help="XEP-0368: TLS from the first byte, SNI = the domain")
    p.add_argument("--alpn", default="",
                   help="comma separated ALPN protocols to offer")
    p.add_argument("--certfile", help="client certificate (SASL EXTERNAL)")
    p.add_argument("--keyfile", help="its key")
    p.add_argument("--mechanism", help="offer only this SASL mechanism")
    p.add_argument("--tls12", action="store_true",
                   help="TLS 1.2 at most (SCRAM -PLUS with tls-unique)")
    p.add_argument("--debug", action="store_true")
    return p.parse_args()


class Outcome:
    def __init__(self):
        self.fields = {}
        self.done = asyncio.get_event_loop().create_future()

    def set(self, **kw):
        for k, v in kw.items():
            self.fields.setdefault(k, v)

    def finish(self, **kw):
        self.set(**kw)
        if not self.done.done():
            self.done.set_result(True)


def make_client(jid, password, args, outcome, tag):
    c = slixmpp.ClientXMPP(jid, password)
    c.ca_certs = Path(args.ca)
    c.whitespace_keepalive = False
    # --direct-tls, --alpn, --certfile and --mechanism are the first
    # client's; the --jid2 client uses STARTTLS and PLAIN.
    c.direct = args.direct_tls and not tag
    if args.alpn and not tag:
        c.ssl_context.set_alpn_protocols(args.alpn.split(","))
    if args.certfile and not tag:
        c.certfile, c.keyfile = args.certfile, args.keyfile
    if args.mechanism and not tag:
        c["feature_mechanisms"].use_mech = args.mechanism
    if args.tls12 and not tag:
        import ssl
        c.ssl_context.maximum_version = ssl.TLSVersion.TLSv1_2
    host, port, domain = args.host, args.port, c.boundjid.domain

    # Connect to --host/--port, but keep the JID's domain as the TLS server
    # name and the stream's "to" (no DNS lookups at all).
    async def records(_domain, _port=None):
        return [(domain, host, port)]
    c.get_dns_records = records
    c.session_ok = asyncio.get_event_loop().create_future()
    c.received = []
    c.tag = tag

    def failed_auth(stanza):
        cond = stanza["condition"] or "unknown"
        outcome.finish(**{f"{tag}login": "failed", "condition": cond})

    def stream_error(err):
        cond = err["condition"] or "unknown"
        if "condition" in outcome.fields:
            # e.g. the stream error after the last allowed SASL failure
            outcome.set(then_stream_error=cond)
            return
        outcome.finish(**{f"{tag}login": "failed", "condition": cond,
                          "stream_error": "yes"})

    def connection_failed(err):
        outcome.finish(**{f"{tag}login": "failed",
                          "condition": "connection-failed"})

    def invalid_chain(err):
        outcome.finish(**{f"{tag}login": "failed",
                          "condition": "tls-invalid-certificate"})
        c.abort()

    def disconnected(reason):
        if not c.session_ok.done():
            outcome.finish(**{f"{tag}login": "failed",
                              "condition": "disconnected"})

    def session_start(_ev):
        outcome.fields[f"{tag}login"] = "ok"
        mech = c["feature_mechanisms"].mech
        if mech is not None and not tag:
            # The mechanism that logged in (slixmpp checked SCRAM's
            # server signature), and the first one it tried.
            outcome.fields["mech"] = mech.name
            outcome.fields["offered"] = ",".join(sorted(c["feature_mechanisms"].mech_list))
        ssl_obj = c.transport.get_extra_info("ssl_object") if c.transport else None
        if ssl_obj is not None and not tag:
            outcome.fields["alpn"] = ssl_obj.selected_alpn_protocol() or "none"
        if args.source and c.transport and not tag:
            # Where this connection came from, as the server side sees it.
            outcome.fields["local"] = "%s:%s" % c.transport.get_extra_info("sockname")[:2]
        bound = c.boundjid
        outcome.fields[f"{tag}bind"] = "ok" if bound.resource else "failed"
        outcome.fields[f"{tag}jid"] = bound.full
        c.send_presence()
        if not c.session_ok.done():
            c.session_ok.set_result(True)

    def message(msg):
        c.received.append((str(msg["from"]), msg["body"]))

    c.add_event_handler("failed_auth", failed_auth)
    c.add_event_handler("stream_error", stream_error)
    c.add_event_handler("connection_failed", connection_failed)
    c.add_event_handler("ssl_invalid_chain", invalid_chain)
    c.add_event_handler("disconnected", disconnected)
    c.add_event_handler("session_start", session_start)
    c.add_event_handler("message", message)
    return c


async def run(args, outcome, clients):
    clients.append(make_client(args.jid, args.password, args, outcome, ""))
    if args.jid2:
        clients.append(make_client(args.jid2, args.password2 or "", args,
                                   outcome, "peer_"))
    for c in clients:
        c.connect(address=(args.host, args.port), use_ssl=c.direct,
                  disable_starttls=c.direct)
        # connect() takes a non-IPv4 host (e.g. ::1) for the server name;
        # the TLS name must stay the JID's domain.
        c.default_domain = c.boundjid.domain

    # Wait for every session, or for the first failure.
    waiter = asyncio.gather(*(c.session_ok for c in clients))
    await asyncio.wait([waiter, outcome.done],
                       return_when=asyncio.FIRST_COMPLETED)
    if outcome.done.done():
        waiter.cancel()
        return
    for c in clients:
        if not c.boundjid.resource:
            outcome.finish(bind="failed")
            return

    if args.to or args.jid2:
        sender = clients[0]
        receiver = clients[-1]
        if args.jid2:
            to = receiver.boundjid.full
        else:
            to = JID(args.to)
            if to.bare == sender.boundjid.bare and not to.resource:
                to = sender.boundjid.full
        body = args.message or ("xmppgate test " + uuid.uuid4().hex)
        # Give the peer's presence a moment to reach the server.
        await asyncio.sleep(0.2)
        sender.send_message(mto=to, mbody=body, mtype="chat")
        while not any(b == body for _f, b in receiver.received):
            if outcome.done.done():
                return
            await asyncio.sleep(0.05)
        outcome.fields["message"] = "ok"
    outcome.finish()


def main():
    args = parse_args()
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.CRITICAL,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    if args.source:
        # slixmpp has no source address option: every connection this
        # loop opens is bound to --source.
        create = loop.create_connection

        def create_from(*a, **kw):
            kw.setdefault("local_addr", (args.source, 0))
            return create(*a, **kw)
        loop.create_connection = create_from
    outcome = Outcome()
    start = time.monotonic()
    clients = []

    async def bounded():
        task = asyncio.ensure_future(run(args, outcome, clients))
        try:
            await asyncio.wait_for(asyncio.shield(task), args.timeout)
        except asyncio.TimeoutError:
            task.cancel()
            outcome.set(timeout="yes")
            if "login" not in outcome.fields:
                outcome.set(login="timeout")
            if (args.to or args.jid2) and "message" not in outcome.fields \
                    and outcome.fields.get("login") == "ok":
                outcome.set(message="timeout")
            outcome.finish()

    loop.run_until_complete(bounded())
    f = outcome.fields

    # Close the streams politely (bounded), then stop.
    async def close_all(cs):
        futs = []
        for c in cs:
            try:
                futs.append(c.disconnect(wait=2.0))
            except Exception:  # pragma: no cover - best effort
                pass
        futs = [x for x in futs if x is not None]
        if futs:
            await asyncio.wait(futs, timeout=3)
        for c in cs:
            if c.transport is not None:
                c.abort()
    try:
        loop.run_until_complete(asyncio.wait_for(close_all(clients), 5))
    except Exception:
        pass

    order = ["login", "bind", "jid", "message", "peer_login", "peer_bind",
             "peer_jid", "condition", "stream_error", "then_stream_error",
             "timeout"]
    parts = [f"{k}={f[k]}" for k in order if k in f]
    parts += [f"{k}={v}" for k, v in f.items() if k not in order]
    parts.append("time=%.2f" % (time.monotonic() - start))
    print("RESULT " + " ".join(parts), flush=True)

    ok_login = f.get("login") == "ok" and f.get("bind") == "ok" and \
        (not args.jid2 or (f.get("peer_login") == "ok" and f.get("peer_bind") == "ok"))
    conds = [c for c in args.condition.split(",") if c]
    cond_ok = not conds or f.get("condition") in conds
    if args.expect == "success":
        good = ok_login and "timeout" not in f and \
            (f.get("message") == "ok" or not (args.to or args.jid2))
    elif args.expect == "auth-failure":
        good = f.get("login") == "failed" and "stream_error" not in f and \
            f.get("condition") not in (None, "disconnected", "connection-failed",
                                       "tls-invalid-certificate") and cond_ok
    else:
        good = f.get("login") not in ("ok", None) and "timeout" not in f and cond_ok \
            or (f.get("peer_login") == "failed" and cond_ok)
    sys.stdout.flush()
    # Do not let slixmpp's leftovers delay the exit.
    import os
    os._exit(0 if good else 1)


if __name__ == "__main__":
    main()
