// Checks of sasl2_mechs.mjs on fixed vectors, no server needed (run by
// sasl2.sh): RFC 7677's SCRAM-SHA-256 and RFC 5802's SCRAM-SHA-1 example
// exchanges (the client-final must match, the server's v= is accepted,
// a changed v= is refused), XEP-0474's SSDP example (a matching h= gives
// ssdp=ok, another h= is refused as "ssdp mismatch"), and an HT-SHA-256
// Responder that is wrong.  Prints "RESULT mechs=ok" or throws.
import assert from "node:assert/strict";
import { scram, ht, ssdpValue } from "./sasl2_mechs.mjs";

const b = (s) => Buffer.from(s, "utf8").toString("latin1");
function run(name, hash, nonce, sfirst, cfinal, v, ssdpInput) {
  const ctx = { nonce, ssdpInput, cbData: () => Buffer.alloc(0) };
  const M = scram(name, hash, false, ctx);
  const m = new M();
  const creds = { username: "user", password: "pencil" };
  assert.equal(m.response(creds), `n,,n=user,r=${nonce}`);
  m.challenge(b(sfirst));
  assert.equal(m.response(creds), cfinal);
  return [m, ctx];
}
// RFC 7677 section 3.
const R256 = ["SCRAM-SHA-256", "sha256", "rOprNGfwEbeRWgbNEkqO",
  "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
  "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="];
const V256 = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";
// RFC 5802 section 5.
const R1 = ["SCRAM-SHA-1", "sha1", "fyko+d2lbbFgONRv9qkxdawL",
  "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
  "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="];
const V1 = "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=";

let [m, ctx] = run(...R256);
assert.equal(ctx.ssdp, "absent");
m.final(b(V256));
assert.equal(ctx.serverVerified, true);
[m] = run(...R256);
assert.throws(() => m.final(b("v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")), /v= is wrong/);
[m] = run(...R1);
m.final(b(V1));
[m] = run(...R1);
assert.throws(() => m.final(b("e=invalid-proof")), /server error/);

// XEP-0474 0.4's example: SCRAM-SHA-1 with the same nonce and salt plus h=.
const offered = () => [["SCRAM-SHA-1", "SCRAM-SHA-1-PLUS"], ["tls-exporter", "tls-server-end-point"]];
assert.equal(ssdpValue("sha1", ...offered()), "G6k/rBLDqgOhRRaCuuatSDFkJ08=");
const withH = (h) => {
  const ctx = { nonce: R1[2], ssdpInput: offered, cbData: () => Buffer.alloc(0) };
  const m = new (scram("SCRAM-SHA-1", "sha1", false, ctx))();
  m.response({ username: "user", password: "pencil" });
  m.challenge(b(`${R1[3]},h=${h}`));
  return ctx;
};
assert.equal(withH("G6k/rBLDqgOhRRaCuuatSDFkJ08=").ssdp, "ok");
assert.throws(() => withH("dRc3RenuSY9ypgPpERowoaySQZY="), /ssdp mismatch/);

// HT-SHA-256-NONE: a Responder that is not HMAC(token, "Responder") is refused.
const hctx = { cbData: () => Buffer.alloc(0) };
const h = new (ht("HT-SHA-256-NONE", "none", hctx))();
const ir = h.response({ username: "alice", password: "secret-token:x" });
assert.equal(ir.split("\0")[0], "alice");
assert.equal(ir.length, "alice".length + 1 + 32);
assert.throws(() => h.final("\0".repeat(32)), /Responder/);
console.log("RESULT mechs=ok");
