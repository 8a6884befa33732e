#!/usr/bin/python3
"""One cell of the interop matrix for a TLS tool: gnutls-cli
--starttls-proto=xmpp or openssl s_client -starttls xmpp does the
STARTTLS step and the TLS; this script writes the XMPP on its standard
input and reads its standard output, as a person at the terminal would:
stream restart, SASL PLAIN, resource binding, a message to TO, a ping
(so the message has gone out), and a closing stream tag answered by the
server's.  Every wait is bounded.

usage: tlstool_send.py gnutls|openssl PORT CA DOMAIN USER PASSWORD TO BODY
"""
import base64
import os
import re
import select
import subprocess
import sys
import time

tool, port, ca, domain, user, password, to, body = sys.argv[1:9]
if tool == "gnutls":
    # The host name is the stream's 'to' (tests/interop/run.sh maps it
    # to 127.0.0.1 in a private /etc/hosts).
    cmd = ["gnutls-cli", "--starttls-proto=xmpp", "-p", port,
           "--x509cafile", ca, domain]
else:
    cmd = ["openssl", "s_client", "-quiet", "-starttls", "xmpp",
           "-xmpphost", domain, "-connect", "127.0.0.1:" + port,
           "-CAfile", ca, "-verify_return_error", "-verify_hostname", domain]
p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE)
os.set_blocking(p.stdout.fileno(), False)
got = b""


def fail(why):
    p.kill()
    err = p.stderr.read().decode(errors="replace").strip().splitlines()[-3:]
    print("RESULT login=failed step=%r got=%r stderr=%r" % (why, got[-300:], err), flush=True)
    sys.exit(1)


def until(pattern, secs=15):
    """Read until the regex matches what came since the last call."""
    global got
    got = b""
    end = time.monotonic() + secs
    while not re.search(pattern, got, re.S):
        left = end - time.monotonic()
        if left <= 0 or p.poll() is not None and not select.select([p.stdout], [], [], 0)[0]:
            fail(pattern.decode())
        if select.select([p.stdout], [], [], min(left, 0.5))[0]:
            d = p.stdout.read()
            if d:
                got += d
            elif d == b"":
                fail(pattern.decode() + " (end of file)")
    return got


def send(data):
    p.stdin.write(data.encode())
    p.stdin.flush()


HDR = ("<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
       "xmlns:stream='http://etherx.jabber.org/streams' to='%s' version='1.0'>" % domain)
# The tool has done the STARTTLS exchange; the TLS stream starts anew.
send(HDR)
until(rb"</stream:features>")
send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>%s</auth>" %
     base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode())
if b"<success" not in until(rb"<success|<failure.*</failure>"):
    fail("auth")
send(HDR)
until(rb"</stream:features>")
send("<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
     "<resource>%s</resource></bind></iq>" % tool)
m = re.search(rb"<jid>([^<]+)</jid>", until(rb"id=.b1.*?</iq>|id=.b1.[^>]*/>"))
if not m:
    fail("bind")
jid = m.group(1).decode()
send("<message to='%s' type='chat'><body>%s</body></message>" % (to, body))
send("<iq type='get' id='p1' to='%s'><ping xmlns='urn:xmpp:ping'/></iq>" % domain)
until(rb"id=.p1.")
send("</stream:stream>")
until(rb"</stream:stream>")
p.stdin.close()
try:
    p.wait(10)
except subprocess.TimeoutExpired:
    fail("tool did not exit")
print("RESULT login=ok bind=ok jid=%s message=sent logout=ok" % jid, flush=True)
