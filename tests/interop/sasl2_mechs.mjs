// SASL mechanisms that xmpp.js 0.14 lacks, written for xmppgate's tests
// (node:crypto), in the shape of the "saslmechanisms" factory that xmpp.js
// uses: a constructor whose prototype has name, clientFirst,
// response(creds), challenge(str), final(str).  Strings are "binary"
// strings (one char per byte), as @xmpp/base64's btoa/atob give them.
//
//  - SCRAM-SHA-1, SCRAM-SHA-256 and their -PLUS forms (RFC 5802, RFC 7677):
//    the server's v= is checked (a wrong one throws), and an XEP-0474 h=
//    in the server-first is recomputed from what was offered and checked.
//  - HT-SHA-256-NONE/-ENDP/-EXPR (XEP-0484 FAST, draft-schmaus-kitten-sasl-ht):
//    Initiator = HMAC-SHA-256(token, "Initiator" || cbdata), and the
//    server's Responder in <additional-data> is checked.
//
// Channel-binding data (RFC 9266 tls-exporter, RFC 5929
// tls-server-end-point) comes from the caller through ctx.cbData(type),
// the SSDP input through ctx.ssdpInput(); each mechanism records what it
// saw in ctx (ctx.ssdp = "ok" | "absent", ctx.serverVerified).
import crypto from "node:crypto";

const bin = (buf) => Buffer.from(buf).toString("latin1");
const buf = (str) => Buffer.from(str, "latin1");

// cbDataFor: the channel-binding data of a node tls.TLSSocket.
export function cbDataFor(sock, type) {
  if (type === "tls-exporter") {
    if (sock.getProtocol() !== "TLSv1.3") throw new Error("tls-exporter needs TLS 1.3");
    return sock.exportKeyingMaterial(32, "EXPORTER-Channel-Binding", Buffer.alloc(0));
  }
  if (type === "tls-server-end-point") {
    // RFC 5929 4.1: SHA-256 unless the certificate's signature hash is
    // stronger; MD5 and SHA-1 become SHA-256.  The test CA signs with
    // ECDSA-SHA256, so SHA-256 is right here.
    return crypto.createHash("sha256").update(sock.getPeerCertificate().raw).digest();
  }
  if (type === "none") return Buffer.alloc(0);
  throw new Error("unknown channel-binding type " + type);
}

// ssdpValue: XEP-0474 0.4+: mechanisms sorted by octets, joined by 0x1E;
// if channel-binding types were offered, 0x1F and those sorted and joined
// by 0x1E; hashed with the SCRAM mechanism's hash, base64.
export function ssdpValue(hash, mechs, cbTypes) {
  const sort = (a) => [...a].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
  let s = sort(mechs).join("\x1e");
  if (cbTypes) s += "\x1f" + sort(cbTypes).join("\x1e");
  return crypto.createHash(hash).update(Buffer.from(s, "utf8")).digest("base64");
}

function parseAttrs(str) {
  const out = {};
  for (const part of str.split(",")) {
    const m = /^([A-Za-z])=(.*)$/s.exec(part);
    if (!m) throw new Error("SCRAM: malformed attribute " + JSON.stringify(part));
    out[m[1]] = m[2];
  }
  return out;
}

function saslname(u) {
  return u.replace(/=/g, "=3D").replace(/,/g, "=2C");
}

// scram(NAME, HASH, PLUS, ctx): a SCRAM mechanism constructor.  ctx.cbType
// names the binding type for -PLUS.
export function scram(name, hash, plus, ctx) {
  const hlen = hash === "sha1" ? 20 : 32;
  const H = (d) => crypto.createHash(hash).update(d).digest();
  const HMAC = (k, d) => crypto.createHmac(hash, k).update(d).digest();
  function Mechanism() {
    this.step = 0;
  }
  Mechanism.prototype.name = name;
  Mechanism.prototype.clientFirst = true;
  Mechanism.prototype.response = function (creds) {
    if (this.step === 0) {
      this.step = 1;
      this.gs2 = plus ? `p=${ctx.cbType},,` : "n,,";
      this.cnonce = ctx.nonce ?? crypto.randomBytes(18).toString("base64");
      this.bare = `n=${saslname(creds.username)},r=${this.cnonce}`;
      ctx.mechSent = name;
      return this.gs2 + this.bare;
    }
    if (this.step === 2) {
      this.step = 3;
      const sf = this.sf;
      const cb = plus ? ctx.cbData(ctx.cbType) : Buffer.alloc(0);
      const cfinal = `c=${Buffer.concat([Buffer.from(this.gs2), cb]).toString("base64")},r=${sf.r}`;
      const salted = crypto.pbkdf2Sync(Buffer.from(creds.password ?? "", "utf8"),
        Buffer.from(sf.s, "base64"), Number(sf.i), hlen, hash);
      const am = Buffer.from(`${this.bare},${this.sfirst},${cfinal}`, "utf8");
      const ckey = HMAC(salted, "Client Key");
      const csig = HMAC(H(ckey), am);
      const proof = Buffer.alloc(hlen);
      for (let i = 0; i < hlen; i++) proof[i] = ckey[i] ^ csig[i];
      this.ssig = HMAC(HMAC(salted, "Server Key"), am);
      return `${cfinal},p=${proof.toString("base64")}`;
    }
    // A server-final that came as a challenge (classic SASL may do so):
    // the empty response.
    return "";
  };
  Mechanism.prototype.challenge = function (str) {
    if (this.step === 1) {
      this.sfirst = Buffer.from(str, "latin1").toString("utf8");
      const sf = parseAttrs(this.sfirst);
      if (!sf.r || !sf.s || !sf.i) throw new Error("SCRAM: server-first lacks r, s or i");
      if (!sf.r.startsWith(this.cnonce) || sf.r === this.cnonce)
        throw new Error("SCRAM: server nonce does not extend ours");
      if (!/^[1-9][0-9]{0,8}$/.test(sf.i)) throw new Error("SCRAM: bad iteration count");
      if (sf.h !== undefined) {
        const [mechs, cbs] = ctx.ssdpInput();
        const want = ssdpValue(hash, mechs, cbs);
        if (want !== sf.h) throw new Error(`SCRAM: ssdp mismatch (server h=${sf.h}, offered gives ${want})`);
        ctx.ssdp = "ok";
      } else {
        ctx.ssdp = "absent";
      }
      this.sf = sf;
      this.step = 2;
      return;
    }
    this.final(str);
  };
  Mechanism.prototype.final = function (str) {
    if (this.step !== 3) throw new Error("SCRAM: server-final out of order");
    const sf = parseAttrs(Buffer.from(str, "latin1").toString("utf8"));
    if (sf.e !== undefined) throw new Error("SCRAM: server error " + sf.e);
    const v = Buffer.from(sf.v ?? "", "base64");
    if (v.length !== hlen || !crypto.timingSafeEqual(v, this.ssig))
      throw new Error("SCRAM: server signature v= is wrong");
    this.step = 4;
    ctx.serverVerified = true;
  };
  return Mechanism;
}

// ht(NAME, CBTYPE, ctx): a HT-SHA-256-* mechanism constructor; the
// password it is given is the FAST token.
export function ht(name, cbType, ctx) {
  function Mechanism() {}
  Mechanism.prototype.name = name;
  Mechanism.prototype.clientFirst = true;
  Mechanism.prototype.response = function (creds) {
    this.key = Buffer.from(creds.password, "utf8");
    this.cb = ctx.cbData(cbType);
    ctx.mechSent = name;
    const mac = crypto.createHmac("sha256", this.key).update(Buffer.concat([Buffer.from("Initiator"), this.cb])).digest();
    return `${creds.username}\0${bin(mac)}`;
  };
  Mechanism.prototype.final = function (str) {
    const want = crypto.createHmac("sha256", this.key).update(Buffer.concat([Buffer.from("Responder"), this.cb])).digest();
    const got = buf(str);
    if (got.length !== want.length || !crypto.timingSafeEqual(got, want))
      throw new Error("FAST: the server's Responder HMAC is wrong");
    ctx.serverVerified = true;
  };
  return Mechanism;
}

export const HT_CB = { "HT-SHA-256-NONE": "none", "HT-SHA-256-ENDP": "tls-server-end-point", "HT-SHA-256-EXPR": "tls-exporter" };
export const SCRAMS = {
  "SCRAM-SHA-1": ["sha1", false], "SCRAM-SHA-1-PLUS": ["sha1", true],
  "SCRAM-SHA-256": ["sha256", false], "SCRAM-SHA-256-PLUS": ["sha256", true],
};
