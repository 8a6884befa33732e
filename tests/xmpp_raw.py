"""A hand-made XMPP client's pieces, for the tests that need what a client
library hides: one exact SASL attempt, the bytes of a <failure/> or of a
stream error, a session held open at a chosen step.  Imported by the
small scripts in tests/*.sh (tests/lib.sh puts tests/ on PYTHONPATH).
Every wait is bounded.
"""
import socket
import ssl
import sys
import time

TLS_NS = b"urn:ietf:params:xml:ns:xmpp-tls"


def header(domain="example.test"):
    """Our stream header for domain."""
    return ("<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
            "xmlns:stream='http://etherx.jabber.org/streams' to='%s' "
            "version='1.0'>" % domain).encode()


def until(conn, *tokens, buf=b"", timeout=30, eof_ok=False):
    """Read until one of tokens is in what was read; exits the script on
    timeout or end of file (unless eof_ok)."""
    end = time.monotonic() + timeout
    while not any(t in buf for t in tokens):
        if time.monotonic() > end:
            sys.exit("timeout waiting for %r: %r" % (tokens, buf))
        d = conn.recv(65536)
        if not d:
            if eof_ok:
                return buf
            sys.exit("EOF waiting for %r: %r" % (tokens, buf))
        buf += d
    return buf


def starttls(port, ca, domain="example.test", host="127.0.0.1"):
    """Connect, STARTTLS (the certificate checked for domain), restart the
    stream; returns the TLS socket and the features that followed."""
    s = socket.create_connection((host, port), timeout=30)
    s.sendall(header(domain))
    until(s, b"</stream:features>")
    s.sendall(b"<starttls xmlns='" + TLS_NS + b"'/>")
    until(s, b"<proceed")
    t = ssl.create_default_context(cafile=ca).wrap_socket(s, server_hostname=domain)
    t.sendall(header(domain))
    return t, until(t, b"</stream:features>")
