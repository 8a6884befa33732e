"""Shared by the slixmpp scripts of the interop matrix: a client on its
own event loop that connects to HOST:PORT whatever its JID's domain (no
DNS), checking the server's certificate against CA."""
import asyncio
from pathlib import Path

import slixmpp


def make_client(host, port, ca, jid, password):
    """Returns (loop, client); the caller registers plugins and handlers,
    then calls client.connect(address=(host, port))."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    c = slixmpp.ClientXMPP(jid, password)
    c.ca_certs = Path(ca)
    domain = c.boundjid.domain

    async def records(_domain, _port=None):
        return [(domain, host, int(port))]
    c.get_dns_records = records
    return loop, c


def run(loop, c, host, port, done, secs, timeout_result):
    """Connect, wait (at most secs) for the future done, print its result
    as "RESULT ..." and return it (timeout_result when time ran out)."""
    c.connect(address=(host, int(port)))
    try:
        r = loop.run_until_complete(asyncio.wait_for(done, secs))
    except asyncio.TimeoutError:
        r = timeout_result
    print("RESULT " + r, flush=True)
    return r
