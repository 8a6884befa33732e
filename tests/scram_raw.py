#!/usr/bin/python3
"""A hand-made SCRAM client (RFC 5802/7677) for tests/t-scram.sh: what no
client library does on purpose.  tls-server-end-point channel binding
(RFC 5929; slixmpp 1.8 and libgsasl 2.2 have none), another channel's
binding data, a replayed client-final, the "y" flag, tls-unique on TLS 1.3,
and the stream features as sent.

    scram_raw.py --port P --ca CA --user U --password PW [--mech M]
                 [--cb TYPE|none] [--flag y] [--tls12] [--tamper]
                 [--replay] [--features]

Prints "FEATURES ..." with --features, then one line
    RESULT login=ok mech=M cb=TYPE
    RESULT login=failed condition=C
and exits 0 after a login (the server's signature checked, a resource
bound), 1 after a refusal.  Every wait is bounded.
"""
import argparse
import base64
import hashlib
import hmac
import os
import re
import socket
import ssl
import sys

from xmpp_raw import header, until, TLS_NS

SASL_NS = "urn:ietf:params:xml:ns:xmpp-sasl"


def connect(args):
    s = socket.create_connection(("127.0.0.1", args.port), timeout=20)
    s.sendall(header(args.domain))
    until(s, b"</stream:features>")
    s.sendall(b"<starttls xmlns='" + TLS_NS + b"'/>")
    until(s, b"<proceed")
    ctx = ssl.create_default_context(cafile=args.ca)
    if args.tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    t = ctx.wrap_socket(s, server_hostname=args.domain)
    t.sendall(header(args.domain))
    return t, until(t, b"</stream:features>")


def cb_data(t, cbtype):
    if cbtype == "tls-unique":
        return t.get_channel_binding("tls-unique")
    if cbtype == "tls-server-end-point":
        # RFC 5929 4.1: the certificate's hash, with its signature's hash
        # (SHA-256 for the tests' certificates).
        return hashlib.sha256(t.getpeercert(binary_form=True)).digest()
    return b""


def saslname(s):
    return s.replace("=", "=3D").replace(",", "=2C")


def element(t, buf=b""):
    """The server's next SASL answer: (name, base64 text)."""
    buf = until(t, b"</challenge>", b"</success>", b"</failure>",
                b"-sasl'/>", buf=buf)
    m = re.search(rb"<(challenge|success|failure)[^>]*?(/>|>(.*?)</\1>)",
                  buf, re.S)
    if not m:
        sys.exit("unexpected answer: %r" % buf)
    return m.group(1).decode(), (m.group(3) or b"")


def condition(text):
    m = re.match(rb"\s*<([a-z-]+)", text)
    return m.group(1).decode() if m else "unknown"


def exchange(args, t, replay_final=None):
    """One SCRAM attempt; returns (outcome, client_final_sent)."""
    h = hashlib.sha256 if "SHA-256" in args.mech else hashlib.sha1
    plus = args.mech.endswith("-PLUS")
    flag = args.flag or ("p=" + args.cb if plus else "n")
    gs2 = (flag + ",,").encode()
    cnonce = base64.b64encode(os.urandom(18)).decode()
    first_bare = "n=%s,r=%s" % (saslname(args.user), cnonce)
    t.sendall(("<auth xmlns='%s' mechanism='%s'>%s</auth>" % (
        SASL_NS, args.mech,
        base64.b64encode(gs2 + first_bare.encode()).decode())).encode())
    name, text = element(t)
    if name == "failure":
        return "failed condition=" + condition(text), None
    sfirst = base64.b64decode(text).decode()
    attrs = dict(a.split("=", 1) for a in sfirst.split(","))
    salt, iters, nonce = base64.b64decode(attrs["s"]), int(attrs["i"]), attrs["r"]
    cb = cb_data(t, args.cb) if flag.startswith("p=") else b""
    if args.tamper:
        cb = bytes([cb[0] ^ 0x55]) + cb[1:]
    without = "c=%s,r=%s" % (base64.b64encode(gs2 + cb).decode(), nonce)
    salted = hashlib.pbkdf2_hmac(h().name, args.password.encode(), salt, iters)
    ckey = hmac.new(salted, b"Client Key", h).digest()
    am = ",".join((first_bare, sfirst, without)).encode()
    sig = hmac.new(h(ckey).digest(), am, h).digest()
    proof = bytes(a ^ b for a, b in zip(ckey, sig))
    final = without + ",p=" + base64.b64encode(proof).decode()
    if replay_final is not None:
        final = replay_final
    t.sendall(("<response xmlns='%s'>%s</response>" % (
        SASL_NS, base64.b64encode(final.encode()).decode())).encode())
    name, text = element(t)
    if name == "failure":
        return "failed condition=" + condition(text), final
    if name != "success":
        return "failed condition=unexpected-" + name, final
    skey = hmac.new(salted, b"Server Key", h).digest()
    want = "v=" + base64.b64encode(hmac.new(skey, am, h).digest()).decode()
    if base64.b64decode(text).decode() != want:
        return "failed condition=bad-server-signature", final
    return "ok", final


def bind(args, t):
    t.sendall(header(args.domain))
    until(t, b"</stream:features>")
    t.sendall(b"<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:"
              b"ns:xmpp-bind'/></iq>")
    buf = until(t, b"</iq>")
    m = re.search(rb"<jid>([^<]+)</jid>", buf)
    return m.group(1).decode() if m else "none"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--domain", default="example.test")
    p.add_argument("--user", default="alice")
    p.add_argument("--password", default="")
    p.add_argument("--mech", default="SCRAM-SHA-256-PLUS")
    p.add_argument("--cb", default="tls-server-end-point")
    p.add_argument("--flag", help="gs2 flag instead of the mechanism's")
    p.add_argument("--tls12", action="store_true")
    p.add_argument("--tamper", action="store_true")
    p.add_argument("--replay", action="store_true",
                   help="log in, then send that client-final again in a "
                   "second connection's exchange")
    p.add_argument("--features", action="store_true")
    args = p.parse_args()

    t, feats = connect(args)
    if args.features:
        print("FEATURES " + feats.decode(errors="replace"), flush=True)
    outcome, final = exchange(args, t)
    if args.replay:
        if outcome != "ok":
            print("RESULT first-login=" + outcome)
            return 2
        t.close()
        t, _ = connect(args)
        outcome, _ = exchange(args, t, replay_final=final)
    if outcome != "ok":
        print("RESULT login=" + outcome, flush=True)
        return 1
    jid = bind(args, t)
    print("RESULT login=ok mech=%s cb=%s jid=%s" % (args.mech, args.cb, jid),
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
