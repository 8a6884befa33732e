#!/usr/bin/python3
"""Judge a testssl.sh run (its --jsonfile-pretty output) for tests/t-testssl.sh.

Usage: testssl_check.py [--require GROUPS] [--port PORT] JSONFILE

Prints what testssl saw (protocols, the cipher suites per protocol, the
server's cipher order), every finding rated LOW or worse, the findings
ignored because of the test setup, and the totals per severity.  Then one
line per failure, "FAIL <id>: <why>", and exits 1 if there is any, else 0.

A run fails on
 - any finding rated MEDIUM, HIGH or CRITICAL, and any WARN or FATAL (a
   check testssl could not complete), unless ALLOW below lists it;
 - the requirements of the issue, checked by finding id, because testssl
   3.0 rates some of them only LOW or INFO (TLS 1.0 and 1.1 offered are
   LOW, CBC ciphers are LOW, a key exchange without forward secrecy is not
   rated at all).  GROUPS (comma separated, default all) chooses which:
     protocols   SSLv2, SSLv3, TLS 1.0, TLS 1.1 not offered; TLS 1.2 offered
     ciphers     the cipher categories: only AEAD ("STRONG") offered
     suites      every suite testssl found is forward secret and AEAD
                 (from -e's list, else from the server's cipher order)
     vulns       each vulnerability check ran and is rated OK (secure
                 renegotiation supported, no compression, fallback ...)
     defaults    forward secrecy offered, a server cipher order, the
                 certificate's chain of trust and name (the setup works)
   Every id a group names must be in the file, so a run that stopped early
   or skipped a check does not pass.
"""
import json
import re
import sys

SEVERITIES = ("DEBUG", "INFO", "OK", "LOW", "MEDIUM", "HIGH", "CRITICAL",
              "WARN", "FATAL")
BAD = ("MEDIUM", "HIGH", "CRITICAL", "WARN", "FATAL")
SHOWN = ("LOW", "MEDIUM", "HIGH", "CRITICAL", "WARN", "FATAL")

# Findings that come from the test setup, not from xmppgate: (id, regex
# the finding must match, reason).  Never a finding about TLS configuration
# (see TLS_IDS): that is checked below.
ALLOW = [
    ("engine_problem", r"^No engine or GOST support",
     "a note on the local openssl (no GOST engine), not a server finding; "
     "testssl tests the GOST suites through its own sockets"),
]

GROUPS = ("protocols", "ciphers", "suites", "vulns", "defaults")

# id -> regex the finding must match (re.match), per group.
REQUIRE = {
    "protocols": {
        "SSLv2": r"not offered",
        "SSLv3": r"not offered",
        "TLS1": r"not offered",
        "TLS1_1": r"not offered",
        "TLS1_2": r"offered",
        "TLS1_3": r"offered|not offered",	# shown, either is allowed
    },
    "ciphers": {
        "cipherlist_NULL": r"not offered",
        "cipherlist_aNULL": r"not offered",
        "cipherlist_EXPORT": r"not offered",
        "cipherlist_LOW": r"not offered",
        "cipherlist_3DES_IDEA": r"not offered",
        "cipherlist_AVERAGE": r"not offered",	# CBC ("obsolete")
        "cipherlist_STRONG": r"offered",	# AEAD
    },
    "vulns": {
        "heartbleed": r"not vulnerable",
        "CCS": r"not vulnerable",
        "ROBOT": r"not vulnerable",
        "secure_renego": r"supported",
        "secure_client_renego": r"not vulnerable",
        "CRIME_TLS": r"not vulnerable",		# TLS compression
        "POODLE_SSL": r"not vulnerable",
        "fallback_SCSV": r"supported|no protocol below",
        "SWEET32": r"not vulnerable",
        "FREAK": r"not vulnerable",
        "DROWN": r"not vulnerable",
        "LOGJAM": r"not vulnerable",
        "BEAST": r"not vulnerable",
        "LUCKY13": r"not vulnerable",
        "RC4": r"not vulnerable|no RC4",
    },
    "defaults": {
        "PFS": r"offered",
        "cipher_order": r"server",
        "cert_chain_of_trust": r"passed",
        "cert_trust": r"Ok",
    },
}
# Ids whose finding must also be rated OK or INFO (not LOW).
RATED_OK = set(REQUIRE["vulns"]) | {"PFS", "cipher_order"}

# Findings about the TLS configuration: never on the allow-list.
TLS_IDS = set()
for _g in REQUIRE.values():
    TLS_IDS |= set(_g)
TLS_PREFIXES = ("cipher", "PFS", "TLS", "SSL", "BEAST", "LOGJAM", "DH_",
                "protocol_", "secure_", "fallback", "GREASE")
for _id, _re, _why in ALLOW:
    if _id in TLS_IDS or _id.startswith(TLS_PREFIXES):
        sys.exit("testssl_check.py: %s is about TLS configuration and may "
                 "not be on the allow-list" % _id)

AEAD_RE = re.compile(r"_(GCM|CCM|CCM_8)(_|$)|CHACHA20_POLY1305")
SUITE_RE = re.compile(
    r"^(?:(?:SSLv2|SSLv3|TLS 1(?:\.[0-3])?)\s+)?"
    r"(x[0-9a-fA-F]+)\s+(\S+)\s+(.+?)\s+(\S+)\s+(\d+)\s+(\S+)\s*$")


def findings(doc):
    """(section, finding dict) for every finding in the file."""
    for k, v in doc.items():
        if isinstance(v, list) and k != "scanResult":
            for f in v:
                if isinstance(f, dict) and "id" in f:
                    yield k, f
    for sr in doc.get("scanResult", []):
        for k, v in sr.items():
            if isinstance(v, list):
                for f in v:
                    if isinstance(f, dict) and "id" in f:
                        yield k, f


def allowed(f):
    for i, rx, why in ALLOW:
        if f["id"] == i and re.search(rx, f.get("finding", "")):
            return why
    return None


def main(argv):
    groups = list(GROUPS)
    port = None
    args = argv[1:]
    while len(args) > 1:
        if args[0] == "--require":
            groups = [g for g in args[1].split(",") if g]
            bad = [g for g in groups if g not in GROUPS]
            if bad:
                sys.exit("testssl_check.py: unknown group(s) %s" % bad)
            args = args[2:]
        elif args[0] == "--port":
            port = args[1]
            args = args[2:]
        else:
            break
    if len(args) != 1:
        sys.exit(__doc__)
    with open(args[0]) as fp:
        doc = json.load(fp)

    fails = []

    def fail(i, why):
        fails.append("FAIL %s: %s" % (i, why))

    print("testssl %s with %s" % (doc.get("version", "?").split()[0],
                                  doc.get("openssl", "?")))
    srs = doc.get("scanResult", [])
    if len(srs) != 1:
        fail("scanResult", "expected one scanned target, found %d" % len(srs))
    else:
        sr = srs[0]
        print("target %s port %s service %s" % (sr.get("targetHost"),
              sr.get("port"), sr.get("service")))
        if sr.get("service") != "xmpp":
            fail("service", "testssl did not use XMPP STARTTLS: %r"
                 % sr.get("service"))
        if port is not None and str(sr.get("port")) != str(port):
            fail("port", "testssl scanned port %s, not %s"
                 % (sr.get("port"), port))

    byid = {}
    counts = {}
    shown, ignored = [], []
    for sec, f in findings(doc):
        sev = f.get("severity")
        if sev not in SEVERITIES:
            fail(f["id"], "unknown severity %r" % sev)
            continue
        counts[sev] = counts.get(sev, 0) + 1
        byid.setdefault(f["id"], f)
        if sev in SHOWN:
            why = allowed(f)
            if why is not None:
                ignored.append("  ignored (test setup): %s %s: %s -- %s"
                               % (sev, f["id"], f.get("finding", ""), why))
                continue
            shown.append("  %-8s %s: %s" % (sev, f["id"], f.get("finding", "")))
            if sev in BAD:
                fail(f["id"], "rated %s: %s" % (sev, f.get("finding", "")))
        if f["id"] == "scanProblem":
            fail(f["id"], "%s: %s" % (sev, f.get("finding", "")))

    print("protocols:")
    for i in ("SSLv2", "SSLv3", "TLS1", "TLS1_1", "TLS1_2", "TLS1_3"):
        if i in byid:
            print("  %-7s %s" % (i, byid[i].get("finding", "")))

    # The suites testssl found (-e: one list; -E/--full: per protocol).
    suites = []
    for sec, f in findings(doc):
        if sec != "cipherTests":
            continue
        m = re.match(r"^cipher(?:-(\w+?))?_(x[0-9a-fA-F]+)$", f["id"])
        s = SUITE_RE.match(f.get("finding", ""))
        if not m or not s:
            fail(f["id"], "cannot read this suite: %r" % f.get("finding"))
            continue
        suites.append((m.group(1) or "-", s.group(1), s.group(2),
                       s.group(3), s.group(4), s.group(5), s.group(6)))
    # Without a per-cipher scan (-e), the suites are those of the server's
    # cipher order (-P): testssl finds it by offering every suite it knows
    # and taking away the chosen one until none is left, so it lists every
    # suite the server accepts, by OpenSSL name.
    order = []
    if not suites:
        for i in ("cipherorder_TLSv1", "cipherorder_TLSv1_1",
                  "cipherorder_TLSv1_2", "cipherorder_TLSv1_3"):
            for name in byid.get(i, {}).get("finding", "").split():
                order.append((i.split("_", 1)[1], name))
    print("cipher suites offered (protocol hexcode name kx enc bits):")
    for p, hx, name, kx, enc, bits, iana in suites:
        print("  %-7s %-6s %-32s %-10s %-9s %4s" % (p, hx, name, kx, enc,
                                                   bits))
    for p, name in order:
        print("  %-7s %s (from the server's cipher order)" % (p, name))
    for i in ("cipherorder_TLSv1", "cipherorder_TLSv1_1", "cipherorder_TLSv1_2",
              "cipherorder_TLSv1_3"):
        if i in byid:
            print("server order %s: %s" % (i.split("_", 1)[1],
                                           byid[i].get("finding", "")))

    print("findings rated LOW or worse:")
    for line in shown:
        print(line)
    if not shown:
        print("  none")
    for line in ignored:
        print(line)
    print("totals: " + " ".join("%s=%d" % (s, counts.get(s, 0))
                                for s in SEVERITIES if s != "DEBUG"))

    for g in groups:
        if g == "suites" and not suites:
            if not order:
                fail("cipherTests", "no cipher suites found (neither -e "
                     "nor the server's cipher order)")
            for p, name in order:
                # TLS 1.3 suites are all forward secret; below that only
                # (EC)DHE key exchange is.
                if p != "TLSv1_3" and not re.match(r"^(ECDHE|DHE)-", name):
                    fail("cipher " + name, "%s key exchange is not forward "
                         "secret" % p)
                if not re.search(r"GCM|CCM|CHACHA20[-_]POLY1305", name):
                    fail("cipher " + name, "%s encryption is not AEAD" % p)
            continue
        if g == "suites":
            for p, hx, name, kx, enc, bits, iana in suites:
                fs = (re.match(r"^TLS_(ECDHE|DHE)_", iana) is not None or
                      (p == "tls1_3" or hx.lower().startswith("x13")))
                if not fs or kx.split()[0] not in ("ECDH", "DH"):
                    fail("cipher " + name, "%s key exchange %s is not "
                         "forward secret (%s)" % (p, kx, iana))
                if not AEAD_RE.search(iana):
                    fail("cipher " + name, "%s encryption %s is not AEAD "
                         "(%s)" % (p, enc, iana))
            continue
        for i, rx in REQUIRE[g].items():
            f = byid.get(i)
            if f is None:
                fail(i, "missing: testssl did not run or report this check")
                continue
            if not re.match(rx, f.get("finding", "")):
                fail(i, "%s (wanted: %s)" % (f.get("finding", ""), rx))
            elif i in RATED_OK and f.get("severity") not in ("OK", "INFO"):
                fail(i, "rated %s: %s" % (f.get("severity"),
                                          f.get("finding", "")))

    # One line per failure (an id may fail for two reasons).
    seen = set()
    for line in fails:
        if line not in seen:
            print(line)
            seen.add(line)
    if fails:
        print("testssl_check: %d failure(s)" % len(seen))
        return 1
    print("testssl_check: no failure (groups: %s)" % ",".join(groups))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
