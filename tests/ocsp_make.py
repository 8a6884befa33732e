#!/usr/bin/python3
"""Make an OCSP response (DER) for the xmppgate tests, signed by the CA.

    ocsp_make.py CERT CA_CERT CA_KEY OUT [--this HOURS] [--next HOURS]
                 [--revoked]

--this and --next are thisUpdate and nextUpdate in hours from now (may be
negative: --next -1 makes a stale response).  Uses python3-cryptography,
the library a responder written in Python would use.
"""
import argparse
import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

ap = argparse.ArgumentParser()
ap.add_argument("cert")
ap.add_argument("ca_cert")
ap.add_argument("ca_key")
ap.add_argument("out")
ap.add_argument("--this", type=float, default=-1.0)
ap.add_argument("--next", type=float, default=24.0)
ap.add_argument("--revoked", action="store_true")
a = ap.parse_args()

cert = x509.load_pem_x509_certificate(open(a.cert, "rb").read())
ca = x509.load_pem_x509_certificate(open(a.ca_cert, "rb").read())
key = serialization.load_pem_private_key(open(a.ca_key, "rb").read(), None)
now = datetime.datetime.utcnow()
status = ocsp.OCSPCertStatus.REVOKED if a.revoked else ocsp.OCSPCertStatus.GOOD
b = ocsp.OCSPResponseBuilder().add_response(
    cert=cert, issuer=ca, algorithm=hashes.SHA1(), cert_status=status,
    this_update=now + datetime.timedelta(hours=a.this),
    next_update=now + datetime.timedelta(hours=a.next),
    revocation_time=now - datetime.timedelta(hours=2) if a.revoked else None,
    revocation_reason=None).responder_id(ocsp.OCSPResponderEncoding.HASH, ca)
resp = b.sign(key, hashes.SHA256())
open(a.out, "wb").write(resp.public_bytes(serialization.Encoding.DER))
