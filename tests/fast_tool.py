#!/usr/bin/python3
"""Client side of XEP-0484 FAST for tests/t-fast-store.sh, from the XEP
(HT-SHA-256-*: HMAC-SHA-256 keyed with the token over "Initiator" or
"Responder" followed by the channel binding data):

  fast_tool.py hmac TOKEN CB_B64 LABEL   base64 of the HMAC
  fast_tool.py expiry DATE TTL           0 when DATE (YYYY-MM-DDThh:mm:ssZ)
                                         is now + TTL seconds, within 60 s
  fast_tool.py store USER@DOMAIN CLIENT  the store file's name
  fast_tool.py sock PATH NAME=VALUE...   one xmppgate-auth(5) socket
                                         request (no password); prints the
                                         answer
"""
import base64
import calendar
import hashlib
import hmac
import socket
import sys
import time


def main(argv):
    if argv[1] == "hmac":
        cb = base64.b64decode(argv[3], validate=True) if argv[3] else b""
        mac = hmac.new(argv[2].encode(), argv[4].encode() + cb,
                       hashlib.sha256).digest()
        print(base64.b64encode(mac).decode())
    elif argv[1] == "expiry":
        t = calendar.timegm(time.strptime(argv[2], "%Y-%m-%dT%H:%M:%SZ"))
        return 0 if abs(t - (time.time() + int(argv[3]))) < 60 else 1
    elif argv[1] == "store":
        print(hashlib.sha256(argv[2].encode() + b"\0" +
                             argv[3].encode()).hexdigest())
    elif argv[1] == "sock":
        req = b"XMPPGATE_AUTH_VERSION=1\n"
        for f in argv[3:]:
            req += f.encode() + b"\n"
        req += b"AUTH_PASSWORD_LENGTH=0\n\n"
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(argv[2])
        s.sendall(req)
        s.shutdown(socket.SHUT_WR)
        ans = b""
        while len(ans) < 65536:
            b = s.recv(4096)
            if not b:
                break
            ans += b
        sys.stdout.write(ans.decode())
    else:
        return 100
    return 0


sys.exit(main(sys.argv))
