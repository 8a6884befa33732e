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
