#!/usr/bin/python3
# An ejabberd extauth script as the ejabberd documentation writes it:
# binary stdin and stdout, an unsigned ('>H') length, ends at end of file.
# With a third argument "linger" it answers and then never exits (a
# script that ignores end of file), to be killed at the timeout.
import struct
import sys
import time

users = {}
for line in open(sys.argv[1]):
    u, d, p = line.rstrip("\n").split(":", 2)
    users[(u, d)] = p.encode()
linger = len(sys.argv) > 2 and sys.argv[2] == "linger"
inp, out = sys.stdin.buffer, sys.stdout.buffer
while True:
    head = inp.read(2)
    if len(head) < 2:
        if linger:
            while True:
                time.sleep(1)
        break
    (n,) = struct.unpack(">H", head)
    op, user, domain, rest = inp.read(n).split(b":", 3)
    ok = op == b"auth" and users.get((user.decode(), domain.decode())) == rest
    out.write(struct.pack(">HH", 2, 1 if ok else 0))
    out.flush()
