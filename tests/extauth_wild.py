#!/usr/bin/python3
# An ejabberd extauth script written the way many are in the wild: text
# mode stdin, a signed ('>h') length, log lines in a file (stdout is the
# protocol), one loop until stdin ends.  Users come from the file named by
# argv[1] ("user:domain:password" lines; the password may hold ':').
import struct
import sys

LOG = open(sys.argv[2], "a") if len(sys.argv) > 2 else None
users = {}
for line in open(sys.argv[1]):
    u, d, p = line.rstrip("\n").split(":", 2)
    users[(u, d)] = p


def log(msg):
    if LOG:
        LOG.write(msg + "\n")
        LOG.flush()


def from_ejabberd():
    input_length = sys.stdin.read(2)
    (size,) = struct.unpack(">h", input_length.encode("latin-1"))
    return sys.stdin.read(size).split(":", 3)


def to_ejabberd(ok):
    answer = 1 if ok else 0
    token = struct.pack(">hh", 2, answer)
    sys.stdout.write(token.decode("latin-1"))
    sys.stdout.flush()


while True:
    data = from_ejabberd()
    log("request: %s %s@%s" % (data[0], data[1], data[2]))
    ok = False
    if data[0] == "auth":
        ok = users.get((data[1], data[2])) == data[3]
    elif data[0] == "isuser":
        ok = (data[1], data[2]) in users
    to_ejabberd(ok)
