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

``req.password`` is a bytearray, wiped once ``check`` returns: copy it
(``bytes(req.password)``) only if you must keep it.  ``check(req)`` returns "accept", "reject" or "tempfail", or a pair of the
verdict and a dict of reply keys (``{"backend": "127.0.0.1:5222"}`` after
an accept; ``{"message": ..., "delay": ...}`` after a failure).  If it
raises, the answer is "tempfail" and the exception goes to stderr.

``serve()`` takes its listening socket from systemd (socket activation,
Accept=no: LISTEN_FDS) or, given a path, binds it itself (mode 0660).
Each connection is served in a thread of its own: at most
``max_readers`` (64) still reading their request (one more closes the
one that waited longest, so idle peers hold no login up) and at most
``max_conns`` (32) in ``check`` at once, so ``check`` must be safe to
call from several threads (a request waits ``timeout``, 10 s, for a turn,
then is answered "tempfail").  The whole request must arrive within
``read_seconds`` (5) of the accept, or the connection is closed; every
length is bounded as xmppgate-auth(5) says.  A field whose name xmppgate never
sends (LD_PRELOAD, PATH) is answered "tempfail" and logged.
Copy this file next to your helper; it needs only the standard library.
"""

import os
import socket
import stat
import sys
import threading
import time
import traceback

HEAD_MAX = 16384      # the field lines and the empty line
PASS_MAX = 1023       # the password
FIELDS_MAX = 40       # fields besides AUTH_PASSWORD_LENGTH (XG_AUTH_ENV_MAX)
NAME_MAX = 64         # a field's name
REPLY_MAX = 4096      # the reply lines after the verdict
VERSION_LINE = b"XMPPGATE_AUTH_VERSION=1"
VERDICTS = ("accept", "reject", "tempfail")
REPLY_KEYS = ("backend", "user", "password", "redirect", "identity",
              "scram", "require", "message", "delay", "fast-token",
              "fast-expiry", "fast-responder", "condition")
SD_LISTEN_FDS_START = 3
# The names xmppgate sends (src/authreq.c, the same list): no other may
# reach a helper, which may well put them in an environment.
NAMES = frozenset((
    "XMPPGATE_AUTH_VERSION",
    "AUTH_MECHANISM", "AUTH_USER", "AUTH_DOMAIN", "AUTH_AUTHZID",
    "AUTH_SCRAM_HASH", "AUTH_CHANNEL_BINDING", "AUTH_ATTEMPT",
    "XMPPGATE_CONN_ID", "PROTO",
    "TCPREMOTEIP", "TCPREMOTEPORT", "TCPLOCALIP", "TCPLOCALPORT",
    "SSL_PROTOCOL", "SSL_CIPHER", "SSL_SESSION_RESUMED", "SSL_TLS_SNI",
    "AUTH_CERT_SHA256", "AUTH_CERT_SUBJECT", "AUTH_CERT_XMPPADDRS",
    "AUTH_CERT_DNSNAMES", "AUTH_CERT_SRVNAMES",
    "S2S_REMOTE_DOMAIN", "S2S_LOCAL_DOMAIN", "S2S_CERT_STATUS",
    "S2S_CERT_MATCH",
    "AUTH_CHANNEL_BINDING_DATA", "AUTH_FAST_CLIENT", "AUTH_FAST_HMAC",
    "AUTH_FAST_INVALIDATE", "AUTH_FAST_COUNT", "AUTH_FAST_MECHANISM",
))
ACCEPT_PAUSE = 0.5    # seconds after a failed accept() (EMFILE)
READ_SECONDS = 5      # a whole request, from accept() (xmppgate sends
                      # it in one write)
READERS_MAX = 64      # connections still reading: a new one closes the
                      # one waiting longest


class BadRequest(ValueError):
    """The bytes on the connection are not a request of xmppgate-auth(5)."""


class RefusedName(BadRequest):
    """A whole, well-formed request with a field xmppgate never sends:
    answered "tempfail"."""


class Request:
    """One attempt: ``fields`` (str to str, the exec form's environment,
    without PATH) and ``password`` (a bytearray, wiped after ``check``;
    empty but for PLAIN)."""

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
    """A name as the C decoder takes it (authreq.c name_ok): 1 to 64 of
    A-Z and _, digits after the first.  Whether it is allowed is NAMES."""
    return (0 < len(name) <= NAME_MAX and name.isascii() and
            not name[:1].isdigit() and
            all(c.isupper() or c == "_" or c.isdigit() for c in name))


def _no_ctl(b):
    return all(c >= 0x20 and c != 0x7f for c in b)


def parse_request(buf, length=None):
    """A Request from exactly one whole request (the first length bytes
    of buf, bytes or bytearray), or None when it is good so far but
    incomplete.  Raises BadRequest, or
    RefusedName for a name not in NAMES (only once the request is whole,
    as the C decoder)."""
    n_buf = len(buf) if length is None else length
    end = buf.find(b"\n\n", 0, min(HEAD_MAX, n_buf))
    if end == -1:
        if n_buf >= HEAD_MAX or (n_buf > 0 and buf[:1] == b"\n"):
            raise BadRequest("no end of the fields within %d bytes" % HEAD_MAX)
        return None
    lines = bytes(buf[:end]).split(b"\n")
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
    refused = None
    for line in lines[:-1]:
        name, eq, value = line.partition(b"=")
        if not eq or not _no_ctl(value):
            raise BadRequest("bad field line")
        name = name.decode("ascii", "replace")
        if (not _name_ok(name) or name in fields or
                name == "AUTH_PASSWORD_LENGTH"):
            raise BadRequest("bad or repeated field name %r" % name[:NAME_MAX])
        if name not in NAMES and refused is None:
            refused = name
        # Values are UTF-8 as the client sent them; never fail on one.
        fields[name] = value.decode("utf-8", "surrogateescape")
    start, plen = end + 2, int(n)
    if n_buf < start + plen:
        return None
    if n_buf > start + plen:
        raise BadRequest("bytes after the password")
    if refused is not None:
        raise RefusedName("request refused: field %s is not one xmppgate "
                          "sends" % refused)
    password = buf[start:start + plen]
    return Request(fields, password if isinstance(password, bytearray)
                   else bytearray(password))


def _wipe(b):
    b[:] = bytes(len(b))


def read_request(conn, timeout=10):
    """Read one request from a connected socket: the whole of it within
    timeout seconds, however the bytes come."""
    deadline = time.monotonic() + timeout
    buf = bytearray(HEAD_MAX + PASS_MAX + 1)
    view = memoryview(buf)      # recv_into: no copy left to wipe
    n = 0
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BadRequest("no whole request within %g s" % timeout)
            conn.settimeout(left)
            try:
                r = conn.recv_into(view[n:])
            except socket.timeout:
                raise BadRequest("no whole request within %g s" % timeout)
            if r == 0:
                raise BadRequest("connection closed within the request")
            n += r
            req = parse_request(buf, n)
            if req is not None:
                return req
            if n > HEAD_MAX + PASS_MAX:
                raise BadRequest("request too long")
    finally:
        view.release()
        _wipe(buf)


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


class _Throttle:
    """One stderr line a second for a kind of message, with a count."""

    def __init__(self):
        self.lock = threading.Lock()
        self.last = 0.0
        self.n = 0

    def say(self, msg):
        with self.lock:
            self.n += 1
            now = time.monotonic()
            if now - self.last < 1:
                return
            print("xmppgate_auth: %s (%d since the last such line)" %
                  (msg, self.n), file=sys.stderr)
            self.last, self.n = now, 0


_bad, _refused, _busy = _Throttle(), _Throttle(), _Throttle()


def handle(conn, check, timeout=10, read_seconds=READ_SECONDS, read=None,
           checks=None):
    """One connection: read the request (within read_seconds), ask check
    (holding a checks slot if given), answer, close; read() is called
    once the reading is over."""
    try:
        try:
            req = read_request(conn, read_seconds)
        except RefusedName as e:
            _refused.say(str(e))
            _send(conn, format_answer("tempfail"), timeout)
            return
        except (BadRequest, OSError) as e:
            _bad.say(str(e))
            return
        finally:
            if read is not None:
                read(conn)
        if checks is not None and not checks.acquire(timeout=timeout):
            _wipe(req.password)
            _busy.say("no check slot free within %g s" % timeout)
            _send(conn, format_answer("tempfail"), timeout)
            return
        try:
            result = check(req)
            verdict, reply = result if isinstance(result, tuple) else (result, None)
            data = format_answer(verdict, reply)
        except Exception:
            traceback.print_exc(file=sys.stderr)
            data = format_answer("tempfail")
        finally:
            _wipe(req.password)
            if checks is not None:
                checks.release()
        _send(conn, data, timeout)
    finally:
        conn.close()


def _send(conn, data, timeout):
    try:
        conn.settimeout(timeout)
        conn.sendall(data)
    except OSError as e:
        print("xmppgate_auth: answer: %s" % e, file=sys.stderr)


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
    s.listen(socket.SOMAXCONN)     # xmppgate does not wait for a slot
    return s


def serve(check, path=None, timeout=10, max_conns=32,
          max_readers=READERS_MAX, read_seconds=READ_SECONDS):
    """Answer attempts for ever, each connection in a thread of its own:
    at most max_readers still reading their request (a new connection
    closes the one that waited longest, so idle peers hold no login up)
    and at most max_conns in check() at once."""
    if path is None and len(sys.argv) > 1:
        path = sys.argv[1]
    lsock = listening_socket(path)
    checks = threading.BoundedSemaphore(max_conns)
    readers = {}                # connection -> accepted, oldest first
    lock = threading.Lock()

    def read(conn):
        with lock:
            readers.pop(conn, None)

    def one(conn):
        handle(conn, check, timeout, read_seconds, read, checks)

    while True:
        try:
            conn, _ = lsock.accept()
        except InterruptedError:
            continue
        except OSError as e:
            print("xmppgate_auth: accept: %s" % e, file=sys.stderr)
            time.sleep(ACCEPT_PAUSE)    # EMFILE would come back at once
            continue
        with lock:
            if len(readers) >= max_readers:
                oldest = next(iter(readers))
                del readers[oldest]
                _busy.say("%d connections reading: the one waiting "
                          "longest closed" % max_readers)
                try:    # its thread's recv ends, and it closes it
                    oldest.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            readers[conn] = time.monotonic()
        try:
            threading.Thread(target=one, args=(conn,), daemon=True).start()
        except RuntimeError as e:       # no thread to be had
            read(conn)
            print("xmppgate_auth: thread: %s" % e, file=sys.stderr)
            conn.close()
            time.sleep(ACCEPT_PAUSE)
