#!/usr/bin/python3
"""A web service for contrib/xmppgate-auth-http, written the way services
for nginx's mail auth_http module are: it reads Auth-User and Auth-Pass
(URL-encoded) and the client's details from the request headers and
answers with Auth-Status (and Auth-Server, Auth-Port, Auth-User,
Auth-Pass, Auth-Wait).  It stands in for the operator's own service.

usage: auth_http_service.py PORT BACKEND_PORT LOG

Accounts: alice (password 'p%ss w\u00f6rd:"\\'), sent to BACKEND_PORT as
herself; rob (rob-pass), sent there as bob with bob's backend password;
down: HTTP 503; anything else: "Invalid login or password", wait 1 s.
Each request is logged to LOG as one JSON line (the password as whether
it matched, never itself).
"""
import json
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer

PORT, BACKEND_PORT, LOG = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ALICE_PW = 'p%ss w\u00f6rd:"\\'.encode()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        h = self.headers
        user = urllib.parse.unquote_to_bytes(h.get("Auth-User", "")).decode("utf-8", "replace")
        pw = urllib.parse.unquote_to_bytes(h.get("Auth-Pass", ""))
        rec = {k: h.get(k, "") for k in (
            "Auth-Method", "Auth-Protocol", "Auth-Login-Attempt", "Auth-Domain",
            "Client-IP", "Client-Port", "Auth-SSL", "Auth-SSL-Protocol",
            "Auth-SSL-Cipher")}
        rec["path"] = self.path
        rec["user"] = user
        ok = (user == "alice" and pw == ALICE_PW) or (user == "rob" and pw == b"rob-pass")
        rec["pass_ok"] = ok
        with open(LOG, "a") as f:
            f.write(json.dumps(rec) + "\n")
        if user == "down":
            self.send_response(503)
            self.end_headers()
            return
        self.send_response(200)
        if ok:
            self.send_header("Auth-Status", "OK")
            self.send_header("Auth-Server", "127.0.0.1")
            self.send_header("Auth-Port", BACKEND_PORT)
            if user == "rob":
                self.send_header("Auth-User", "bob")
                self.send_header("Auth-Pass", "bob-backend")
        else:
            self.send_header("Auth-Status", "Invalid login or password")
            self.send_header("Auth-Wait", "1")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


HTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
