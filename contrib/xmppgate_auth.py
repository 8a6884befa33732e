"""xmppgate_auth: write an xmppgate auth helper that stays up, in Python.

The socket form of xmppgate-auth(5) ("SOCKET HELPERS"): with
``xmppgate --auth unix:/PATH`` xmppgate connects to PATH once per
authentication attempt, writes one request and reads one answer.  This
module reads the request, calls your function, and writes the answer:

    import xmppgate_auth

    def check(req):
        if req.mechanism != "PLAIN":
            return "reject"
        ok = req.user == "alice" and req.password == b"secret"
        return "accept" if ok else "reject"

    xmppgate_auth.serve(check)

``check(req)`` returns "accept", "reject" or "tempfail", or a pair of the
verdict and a dict of reply keys (``{"backend": "127.0.0.1:5222"}`` after
an accept; ``{"message": ..., "delay": ...}`` after a failure).  If it
raises, the answer is "tempfail" and the exception goes to stderr.

``serve()`` takes its listening socket from systemd (socket activation,
Accept=no: LISTEN_FDS) or, given a path, binds it itself (mode 0660).
It answers one connection at a time; the request is read with the time
limit ``timeout`` and every length is bounded as xmppgate-auth(5) says.
Copy this file next to your helper; it needs only the standard library.
"""

import os
import socket
import stat
import sys
import traceback

HEAD_MAX = 16384      # the field lines and the empty line
PASS_MAX = 1023       # the password
FIELDS_MAX = 32       # fields besides AUTH_PASSWORD_LENGTH
NAME_MAX = 64         # a field's name
REPLY_MAX = 4096      # the reply lines after the verdict
VERSION_LINE = b"XMPPGATE_AUTH_VERSION=1"
VERDICTS = ("accept", "reject", "tempfail")
REPLY_KEYS = ("backend", "user", "password", "redirect", "identity",
              "scram", "require", "message", "delay")
SD_LISTEN_FDS_START = 3


class BadRequest(ValueError):
    """The bytes on the connection are not a request of xmppgate-auth(5)."""


class Request:
    """One attempt: ``fields`` (str to str, the exec form's environment,
    without PATH) and ``password`` (bytes; empty but for PLAIN)."""

    def __init__(self, fields, password):
        self.fields = fields
        self.password = password

    def get(self, name, default=None):
        return self.fields.get(name, default)

    mechanism = property(lambda self: self.fields.get("AUTH_MECHANISM"))
    user = property(lambda self: self.fields.get("AUTH_USER"))
    domain = property(lambda self: self.fields.get("AUTH_DOMAIN"))
    authzid = property(lambda self: self.fields.get("AUTH_AUTHZID"))
    scram_hash = property(lambda self: self.fields.get("AUTH_SCRAM_HASH"))
    remote_ip = property(lambda self: self.fields.get("TCPREMOTEIP"))


def _name_ok(name):
    return (0 < len(name) <= NAME_MAX and name[:1].isupper() and
            all(c.isupper() or c == "_" or c.isdigit() for c in name) and
            name.isascii())


def _no_ctl(b):
    return all(c >= 0x20 and c != 0x7f for c in b)


def parse_request(buf):
    """A Request from exactly one whole request (bytes), or None when buf
    is good so far but incomplete.  Raises BadRequest."""
    end = buf.find(b"\n\n", 0, HEAD_MAX)
    if end == -1:
        if len(buf) >= HEAD_MAX or buf[:1] == b"\n":
            raise BadRequest("no end of the fields within %d bytes" % HEAD_MAX)
        return None
    lines = buf[:end].split(b"\n")
    if lines[0] != VERSION_LINE:
        raise BadRequest("not version 1: %r" % lines[0][:40])
    last = lines[-1]
    if not last.startswith(b"AUTH_PASSWORD_LENGTH="):
        raise BadRequest("AUTH_PASSWORD_LENGTH is not the last field")
    n = last[len(b"AUTH_PASSWORD_LENGTH="):]
    if (not n.isdigit() or len(n) > 4 or (n[:1] == b"0" and len(n) > 1) or
            int(n) > PASS_MAX):
        raise BadRequest("bad AUTH_PASSWORD_LENGTH")
    if len(lines) - 1 > FIELDS_MAX:
        raise BadRequest("more than %d fields" % FIELDS_MAX)
    fields = {}
    for line in lines[:-1]:
        name, eq, value = line.partition(b"=")
        if not eq or not _no_ctl(value):
            raise BadRequest("bad field line")
        name = name.decode("ascii", "replace")
        if (not _name_ok(name) or name in fields or
                name in ("AUTH_PASSWORD_LENGTH", "PATH")):
            raise BadRequest("bad or repeated field name %r" % name[:NAME_MAX])
        # Values are UTF-8 as the client sent them; never fail on one.
        fields[name] = value.decode("utf-8", "surrogateescape")
    start, plen = end + 2, int(n)
    if len(buf) < start + plen:
        return None
    if len(buf) > start + plen:
        raise BadRequest("bytes after the password")
    return Request(fields, bytes(buf[start:start + plen]))


def read_request(conn, timeout=10):
    """Read one request from a connected socket within timeout seconds."""
    conn.settimeout(timeout)
    buf = bytearray()
    while True:
        chunk = conn.recv(HEAD_MAX + PASS_MAX + 1 - len(buf))
        if not chunk:
            raise BadRequest("connection closed within the request")
        buf += chunk
        req = parse_request(bytes(buf))
        if req is not None:
            return req
        if len(buf) > HEAD_MAX + PASS_MAX:
            raise BadRequest("request too long")


def format_answer(verdict, reply=None):
    """The answer's bytes: the verdict line, then key=value lines."""
    if verdict not in VERDICTS:
        raise ValueError("verdict must be one of %s" % (VERDICTS,))
    out = [verdict.encode() + b"\n"]
    for key, value in (reply or {}).items():
        if key not in REPLY_KEYS:
            raise ValueError("unknown reply key %r" % key)
        value = str(value).encode("utf-8", "surrogateescape")
        if not value or not _no_ctl(value):
            raise ValueError("empty value or control character for %r" % key)
        out.append(key.encode() + b"=" + value + b"\n")
    data = b"".join(out)
    if len(data) - len(out[0]) > REPLY_MAX:
        raise ValueError("reply over %d bytes" % REPLY_MAX)
    return data


def answer(conn, verdict, reply=None):
    conn.sendall(format_answer(verdict, reply))


def handle(conn, check, timeout=10):
    """One connection: read the request, ask check, answer, close."""
    try:
        try:
            req = read_request(conn, timeout)
        except (BadRequest, OSError) as e:
            print("xmppgate_auth: %s" % e, file=sys.stderr)
            return
        try:
            result = check(req)
            verdict, reply = result if isinstance(result, tuple) else (result, None)
            data = format_answer(verdict, reply)
        except Exception:
            traceback.print_exc(file=sys.stderr)
            data = format_answer("tempfail")
        finally:
            req.password = b""
        try:
            conn.sendall(data)
        except OSError as e:
            print("xmppgate_auth: answer: %s" % e, file=sys.stderr)
    finally:
        conn.close()


def listening_socket(path=None):
    """systemd's socket (LISTEN_FDS, Accept=no), else path bound here."""
    if (os.environ.get("LISTEN_PID") == str(os.getpid()) and
            os.environ.get("LISTEN_FDS") == "1"):
        for k in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
            os.environ.pop(k, None)
        s = socket.socket(fileno=SD_LISTEN_FDS_START)
        if s.family != socket.AF_UNIX or s.type != socket.SOCK_STREAM:
            raise SystemExit("xmppgate_auth: fd 3 is not a UNIX stream socket")
        return s
    if path is None:
        raise SystemExit("xmppgate_auth: no socket from systemd "
                         "(LISTEN_FDS) and no path given")
    try:
        if stat.S_ISSOCK(os.lstat(path).st_mode):
            os.unlink(path)
    except FileNotFoundError:
        pass
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o117)
    try:
        s.bind(path)
    finally:
        os.umask(old)
    s.listen(64)
    return s


def serve(check, path=None, timeout=10):
    """Answer attempts for ever, one connection at a time."""
    if path is None and len(sys.argv) > 1:
        path = sys.argv[1]
    lsock = listening_socket(path)
    while True:
        try:
            conn, _ = lsock.accept()
        except InterruptedError:
            continue
        except OSError as e:
            print("xmppgate_auth: accept: %s" % e, file=sys.stderr)
            continue
        handle(conn, check, timeout)
