// A raw SASL2 client for what xmpp.js cannot send (issue 25): node's net
// and tls, XML written by hand, answers matched with regular expressions
// (enough for a test; this is no XML parser).  Every wait is bounded
// (--wait, 10 s by default) and the whole run by 30 s.  The CA comes from
// --ca FILE (or NODE_EXTRA_CA_CERTS); the certificate is checked for
// --domain.
//
//   node sasl2_raw.mjs --host H --port P --domain D [--ca F] [--wait MS] MODE
// MODEs:
//   --features
//       print the stream features after STARTTLS:  FEATURES <xml>
//   --fast-replay --user U --token T [--ua-id ID] [--fast-mech HT-SHA-256-EXPR]
//       step "fast": a FAST <authenticate> (the HMAC over this connection's
//       binding); step "replay": the very same bytes on a new TLS connection
//       (a channel-bound mechanism must refuse them: not-authorized).
//   --fast-invalidate --user U --token T [--ua-id ID] [--fast-mech M]
//       step "invalidate": FAST with <fast invalidate='true'/>; step "after":
//       the same token again on a new connection (must be refused).
//   --send-file F [--from JID]
//       step "file": the bytes of F (for example a hostile <authenticate>)
//       after the features dance.
// Output, one line per step:
//   RESULT step=NAME got=success|failure|challenge|stream-error|closed|timeout
//     condition=COND [responder=ok|bad|absent] [aid=JID]
// COND is the failure's or stream error's first child element's name
// ("-" for a success).  FEATURES and SENT/RECV lines (--verbose) are for
// people reading the log.  Exit 0 when every step ran (whatever the
// server answered; the shell test judges), 1 on a client-side error.
import fs from "node:fs";
import net from "node:net";
import tls from "node:tls";
import crypto from "node:crypto";
import { cbDataFor, HT_CB } from "./sasl2_mechs.mjs";

const O = { wait: "10000", "fast-mech": "HT-SHA-256-EXPR" };
const FLAGS = new Set(["features", "fast-replay", "fast-invalidate", "verbose"]);
{
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i++) {
    const m = /^--([a-z0-9-]+)$/.exec(a[i]);
    if (!m) usage(`unexpected argument ${a[i]}`);
    if (FLAGS.has(m[1])) { O[m[1]] = true; continue; }
    if (i + 1 >= a.length) usage(`--${m[1]} needs a value`);
    O[m[1]] = a[++i];
  }
  for (const k of ["host", "port", "domain"]) if (!O[k]) usage(`--${k} is required`);
  if ((O["fast-replay"] || O["fast-invalidate"]) && (!O.user || !O.token)) usage("FAST needs --user and --token");
  if (!HT_CB[O["fast-mech"]]) usage(`unknown --fast-mech ${O["fast-mech"]}`);
  if (![O.features, O["fast-replay"], O["fast-invalidate"], O["send-file"]].some(Boolean)) usage("no mode given");
}
function usage(why) {
  console.error(`sasl2_raw: ${why}`);
  process.exit(100);
}
// Every bound is stretched by XG_TIME_FACTOR (tests/lib.sh).
const FACTOR = Math.max(1, Number(process.env.XG_TIME_FACTOR) || 1);
const WAIT = Number(O.wait) * FACTOR;
const CA = O.ca ? fs.readFileSync(O.ca) : undefined;
setTimeout(() => {
  console.log("RESULT step=all got=timeout condition=overall-30s");
  process.exit(1);
}, 30000 * FACTOR).unref();

const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/'/g, "&apos;").replace(/"/g, "&quot;");
const header = (from) => `<?xml version='1.0'?><stream:stream xmlns='jabber:client' ` +
  `xmlns:stream='http://etherx.jabber.org/streams' to='${esc(O.domain)}' version='1.0'` +
  (from ? ` from='${esc(from)}'` : "") + ">";

// A connection: a socket, what it has received, and a bounded wait for a
// regular expression over it (from the position of the last match on).
class Conn {
  constructor(sock) {
    this.attach(sock);
  }
  attach(sock) {
    this.sock = sock;
    this.buf = "";
    this.closed = false;
    this.kick = null;
    sock.on("data", (d) => {
      this.buf += d.toString("utf8");
      if (O.verbose) console.log("RECV " + d.toString("utf8"));
      this.kick?.();
    });
    sock.on("close", () => { this.closed = true; this.kick?.(); });
    sock.on("error", () => { this.closed = true; this.kick?.(); });
  }
  send(s) {
    if (O.verbose) console.log("SENT " + s);
    this.sock.write(s);
  }
  wait(re) {
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.kick = null; resolve(null); }, WAIT);
      const check = () => {
        const m = re.exec(this.buf);
        if (m) {
          this.buf = this.buf.slice(m.index + m[0].length);
          clearTimeout(timer);
          this.kick = null;
          return resolve(m);
        }
        if (this.closed) { clearTimeout(timer); this.kick = null; resolve(null); }
      };
      this.kick = check;
      check();
    });
  }
}

const FEATURES = /<stream:features[\s\S]*?<\/stream:features>/;
async function must(c, re, what) {
  const m = await c.wait(re);
  if (!m) {
    console.log(`RESULT step=dance got=${c.closed ? "closed" : "timeout"} condition=${what}`);
    process.exit(1);
  }
  return m;
}

// dance(FROM): TCP, stream, STARTTLS, TLS (certificate checked), stream
// again; returns the connection and the features after TLS.
async function dance(from) {
  const sock = net.connect(Number(O.port), O.host);
  await new Promise((res, rej) => { sock.once("connect", res); sock.once("error", rej); });
  const c = new Conn(sock);
  c.send(header());
  await must(c, FEATURES, "no-features");
  c.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
  await must(c, /<proceed[^>]*\/>/, "no-proceed");
  sock.removeAllListeners("data");
  const t = tls.connect({ socket: sock, servername: O.domain, ca: CA });
  await new Promise((res, rej) => { t.once("secureConnect", res); t.once("error", rej); });
  c.attach(t);
  c.send(header(from));
  const f = await must(c, FEATURES, "no-features-after-tls");
  return [c, f[0]];
}

// answer(c, step): wait for the first answer element and print it.
async function answer(c, step, extra = () => "") {
  const m = await c.wait(/<(success|failure|challenge)\b[^>]*?(\/>|>[\s\S]*?<\/\1>)|<stream:error>[\s\S]*?<\/stream:error>/);
  if (!m) {
    console.log(`RESULT step=${step} got=${c.closed ? "closed" : "timeout"} condition=-`);
    return null;
  }
  const el = m[0];
  const got = m[1] ?? "stream-error";
  let cond = "-";
  if (got === "failure" || got === "stream-error") {
    const inner = el.replace(/^<[^>]*>/, "");
    cond = /<([A-Za-z][\w.-]*)/.exec(inner.replace(/<text\b[\s\S]*?(<\/text>|\/>)/g, ""))?.[1] ?? "none";
  }
  const aid = /<authorization-identifier>([^<]*)</.exec(el)?.[1];
  console.log(`RESULT step=${step} got=${got} condition=${cond}${extra(el, got)}${aid ? " aid=" + aid : ""}`);
  return [got, el];
}

function fastAuthenticate(c, opts = {}) {
  const cb = cbDataFor(c.sock, HT_CB[O["fast-mech"]]);
  const mac = crypto.createHmac("sha256", Buffer.from(O.token, "utf8"))
    .update(Buffer.concat([Buffer.from("Initiator"), cb])).digest();
  const ir = Buffer.concat([Buffer.from(O.user + "\0", "utf8"), mac]).toString("base64");
  const xml = `<authenticate xmlns='urn:xmpp:sasl:2' mechanism='${O["fast-mech"]}'>` +
    `<initial-response>${ir}</initial-response>` +
    `<user-agent id='${esc(O["ua-id"] ?? "d4565fa7-4d72-4749-b3d3-740edbf87770")}'><software>sasl2_raw</software></user-agent>` +
    `<fast xmlns='urn:xmpp:fast:0'${opts.invalidate ? " invalidate='true'" : ""}/></authenticate>`;
  return [xml, cb];
}
function responderCheck(cb) {
  return (el, got) => {
    if (got !== "success") return "";
    const ad = /<additional-data>([^<]*)</.exec(el)?.[1];
    if (!ad) return " responder=absent";
    const want = crypto.createHmac("sha256", Buffer.from(O.token, "utf8"))
      .update(Buffer.concat([Buffer.from("Responder"), cb])).digest();
    const gotb = Buffer.from(ad, "base64");
    return gotb.length === want.length && crypto.timingSafeEqual(gotb, want) ? " responder=ok" : " responder=bad";
  };
}

const jid = O.user ? `${O.user}@${O.domain}` : undefined;
try {
  if (O.features) {
    const [c, f] = await dance(jid);
    console.log("FEATURES " + f);
    c.sock.destroy();
  }
  if (O["fast-replay"]) {
    const [c1] = await dance(jid);
    const [xml, cb] = fastAuthenticate(c1);
    c1.send(xml);
    await answer(c1, "fast", responderCheck(cb));
    c1.sock.destroy();
    const [c2] = await dance(jid);
    c2.send(xml);
    await answer(c2, "replay", responderCheck(cb));
    c2.sock.destroy();
  }
  if (O["fast-invalidate"]) {
    const [c1] = await dance(jid);
    const [xml, cb] = fastAuthenticate(c1, { invalidate: true });
    c1.send(xml);
    await answer(c1, "invalidate", responderCheck(cb));
    c1.sock.destroy();
    const [c2] = await dance(jid);
    const [xml2, cb2] = fastAuthenticate(c2);
    c2.send(xml2);
    await answer(c2, "after", responderCheck(cb2));
    c2.sock.destroy();
  }
  if (O["send-file"]) {
    const [c] = await dance(O.from ?? jid);
    c.send(fs.readFileSync(O["send-file"], "utf8"));
    await answer(c, "file");
    c.sock.destroy();
  }
  process.exit(0);
} catch (e) {
  console.log(`RESULT step=client got=error condition=${JSON.stringify(String(e?.message ?? e))}`);
  process.exit(1);
}
