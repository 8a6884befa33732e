#!/usr/bin/python3
# A checkpassword program, DJB's interface exactly: read up to 512 bytes
# "user NUL password NUL timestamp NUL" from descriptor 3; wrong: exit 1;
# right: exec argv[1:], the next program, with USER set.  Like Dovecot's
# checkpassword helpers it can route a user: for entries with more fields
# it names host, port, destuser and pass in EXTRA.  Usage errors exit 2.
#   users file (CHECKPASSWORD_USERS): user:password[:host:port:destuser:pass]
import os
import sys

if len(sys.argv) < 2:
    sys.exit(2)
try:
    data = b""
    while len(data) < 512:
        chunk = os.read(3, 512 - len(data))
        if not chunk:
            break
        data += chunk
    os.close(3)
except OSError:
    sys.exit(2)
fields = data.split(b"\0")
if len(fields) < 3:
    sys.exit(2)
user, password = fields[0].decode(), fields[1].decode()
entry = None
for line in open(os.environ.get("CHECKPASSWORD_USERS", "/etc/checkpassword.users")):
    f = line.rstrip("\n").split(":")
    if f[0] == user and f[1] == password:
        entry = f
if entry is None:
    sys.exit(1)
os.environ["USER"] = user
if len(entry) >= 6:
    os.environ["host"], os.environ["port"] = entry[2], entry[3]
    os.environ["destuser"], os.environ["pass"] = entry[4], entry[5]
    os.environ["EXTRA"] = "host port destuser pass"
os.execvp(sys.argv[1], sys.argv[1:])
