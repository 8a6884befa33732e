// An xmpp.js 0.14 (@xmpp/client) client for xmppgate's SASL2, Bind2,
// FAST and inline stream-management tests (issue 25).  It logs in with
// whatever xmppgate offers (SASL2 when <authentication> is offered, else
// classic SASL), with the mechanisms of sasl2_mechs.mjs added (SCRAM -PLUS,
// SCRAM-SHA-256, HT-SHA-256-EXPR/-ENDP), and prints one line a shell test
// greps.  The CA comes from NODE_EXTRA_CA_CERTS.  Everything is bounded by
// a 30 s overall timeout.
//
//   node sasl2_client.mjs --host H --port P --domain D --user U [--password PW]
//     [--mech NAME]          SASL mechanism (default: xmpp.js's choice, the
//                            first of its list that is offered: SCRAM-SHA-1)
//     [--cb TYPE]            tls-exporter (default) | tls-server-end-point, for -PLUS
//     [--resource TAG]       the Bind2 <tag> (the classic resource without SASL2)
//     [--ua-id UUID]         a fixed <user-agent id> (FAST tokens are bound to it)
//     [--token-file F]       the FAST token is read from, saved to and deleted
//                            from F (JSON {mechanism, token, expiry}); with no
//                            --password only the token is used
//     [--fast-mech NAME]     HT-SHA-256-NONE (xmpp.js's own) | -ENDP | -EXPR: the
//                            FAST mechanism to request a token for and to use
//     [--send TO --body TEXT] once online, send TEXT to TO, then a ping round trip
//     [--expect-message TEXT] wait for a message with that body
//     [--tamper-cb]          flip a bit of the channel-binding data (must be refused)
//     [--resume-test --peer-user U2 --peer-password PW2]  see below
//
// On success (exit 0):
//   RESULT login=ok jid=FULLJID sasl=2|1 mech=NAME bound=bind2|legacy
//     sm=enabled|none token=saved|none fast=used|no ssdp=ok|absent|n/a cb=TYPE|none
// where sasl= is the profile of the <authenticate>/<auth> that succeeded,
// mech= the mechanism that element carried, bound= whether <success> held a
// Bind2 <bound> or a classic bind iq was sent, sm= whether an <enabled/>
// came (inline or classic), token= whether a <token> was saved, fast= whether
// the login was by an HT-* mechanism, ssdp= whether the SCRAM server-first
// carried an XEP-0474 h= that matched (a mismatch fails the login; n/a: not
// SCRAM).  On failure (exit 1):
//   RESULT login=failed condition=COND text=TEXT
// COND is the SASL failure's first child's name (or timeout, error, ...).
//
// --resume-test: once online with stream management enabled, a second
// client (the peer) logs in; this client's TCP connection is then
// destroyed, the peer sends a message to this client's full JID, and
// xmpp.js reconnects (@xmpp/reconnect) and resumes (inline <resume> in
// SASL2's <authenticate>, or the classic <resume>).  Prints
//   RESULT resume=ok resumed=inline|classic jid=FULLJID message=received
// or RESULT resume=failed why=... (exit 1): `resumed` must fire, the new
// connection must not be bound (no <bound>, no classic bind iq), and the
// message must arrive.  A SCRAM login must have checked the server's v=,
// a FAST one must have got a Responder (else login=failed).
import fs from "node:fs";
import { client, xml } from "@xmpp/client";
import { scram, ht, cbDataFor, HT_CB, SCRAMS } from "./sasl2_mechs.mjs";

const O = { cb: "tls-exporter" };
const FLAGS = new Set(["resume-test", "tamper-cb"]);
{
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i++) {
    const m = /^--([a-z0-9-]+)$/.exec(a[i]);
    if (!m) usage(`unexpected argument ${a[i]}`);
    if (FLAGS.has(m[1])) { O[m[1]] = true; continue; }
    if (i + 1 >= a.length) usage(`--${m[1]} needs a value`);
    O[m[1]] = a[++i];
  }
  for (const k of ["host", "port", "domain", "user"]) if (!O[k]) usage(`--${k} is required`);
  if (O.send && O.body === undefined) usage("--send needs --body");
  if (O.mech && !SCRAMS[O.mech] && !["PLAIN"].includes(O.mech)) usage(`unknown --mech ${O.mech}`);
  if (O["fast-mech"] && !HT_CB[O["fast-mech"]]) usage(`unknown --fast-mech ${O["fast-mech"]}`);
  if (!["tls-exporter", "tls-server-end-point"].includes(O.cb)) usage(`unknown --cb ${O.cb}`);
  if (O["resume-test"] && (!O["peer-user"] || !O["peer-password"]))
    usage("--resume-test needs --peer-user and --peer-password");
}
function usage(why) {
  console.error(`sasl2_client: ${why}`);
  process.exit(100);
}

const clean = (s) => String(s ?? "").replace(/\s+/g, " ").trim();
function out(line) {
  console.log("RESULT " + line);
}
let finished = false;
function failLogin(condition, text) {
  if (finished) return;
  finished = true;
  out(`login=failed condition=${condition} text=${JSON.stringify(clean(text))}`);
  process.exit(1);
}
function failResume(why) {
  if (finished) return;
  finished = true;
  out(`resume=failed why=${JSON.stringify(clean(why))}`);
  process.exit(1);
}
// Every bound is stretched by XG_TIME_FACTOR (tests/lib.sh: 4 when the
// server runs under valgrind).
const FACTOR = Math.max(1, Number(process.env.XG_TIME_FACTOR) || 1);
setTimeout(() => (online ? (O["resume-test"] ? failResume("timeout") : failLogin("timeout", "after login"))
  : failLogin("timeout", `${30 * FACTOR} s`)), 30000 * FACTOR).unref();

// What was offered and sent, as seen on the wire (xmpp.js's events).
const NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl";
const NS_SASL2 = "urn:xmpp:sasl:2";
const seen = {
  classicMechs: [], sasl2Mechs: [], cbTypes: null, profile: null, mech: null, fast: "no",
  bound: null, sm: "none", token: "none", conn: 0, bindSent: [], boundConns: [], resumeSent: null,
};
const ctx = {
  cbType: O.cb,
  // --tamper-cb: another connection's binding, as a man in the middle
  // would present it (one bit flipped).
  cbData: (type) => {
    const d = Buffer.from(cbDataFor(xmpp.socket.socket, type));
    if (O["tamper-cb"] && d.length) d[0] ^= 1;
    return d;
  },
  ssdpInput: () => [seen.profile === 2 ? seen.sasl2Mechs : seen.classicMechs, seen.cbTypes],
  ssdp: "n/a",
};

const userAgent = xml("user-agent", { id: O["ua-id"] ?? crypto.randomUUID() },
  xml("software", {}, "xmppgate-test"), xml("device", {}, "sasl2_client"));
const xmpp = client({
  timeout: 5000 * FACTOR,	// xmpp.js's default, 2 s, is less than a start under valgrind
  service: `xmpp://${O.host}:${O.port}`, domain: O.domain, resource: O.resource, userAgent,
  credentials: async (authenticate, mechanisms, fast) => {
    const creds = { username: O.user, password: O.password ?? null };
    if (fast) creds.token = await fast.fetch();
    let mech = O.mech ?? mechanisms[0];
    if (!mechanisms.includes(mech)) {
      // No usable password mechanism: only a token can do (FAST is tried first).
      if (!creds.token) failLogin("client", `mechanism ${mech} not offered (offered and known: ${mechanisms.join(" ")})`);
      mech = mechanisms[0];
    }
    await authenticate(creds, mech, userAgent);
  },
});
xmpp.reconnect.delay = 500;

// Our mechanisms: SCRAM (all four; SCRAM-SHA-1 replaces xmpp.js's own,
// which checks no v=) first, in xmppgate's order of preference.
xmpp.saslFactory._mechs = xmpp.saslFactory._mechs.filter(({ name }) => name !== "SCRAM-SHA-1");
for (const name of ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1"].reverse())
  xmpp.saslFactory._mechs.unshift({ name, mech: scram(name, ...SCRAMS[name], ctx) });
// FAST: the chosen HT mechanism first, so that xmpp.js requests and uses
// it (it takes the first of its own list that is offered).  NONE stays
// xmpp.js's own.
if (O["fast-mech"] && O["fast-mech"] !== "HT-SHA-256-NONE")
  xmpp.fast.saslFactory._mechs.unshift({ name: O["fast-mech"], mech: ht(O["fast-mech"], HT_CB[O["fast-mech"]], ctx) });

if (O["token-file"]) {
  const f = O["token-file"];
  xmpp.fast.fetchToken = async () => (fs.existsSync(f) ? JSON.parse(fs.readFileSync(f, "utf8")) : null);
  xmpp.fast.saveToken = async (t) => {
    fs.writeFileSync(f, JSON.stringify(t), { mode: 0o600 });
    seen.token = "saved";
  };
  xmpp.fast.deleteToken = async () => fs.rmSync(f, { force: true });
} else {
  const save = xmpp.fast.saveToken.bind(xmpp.fast);
  xmpp.fast.saveToken = async (t) => {
    await save(t);
    seen.token = "saved";
  };
}

const texts = (el, name, ns) => el.getChildren(name, ns).map((m) => m.text());
xmpp.on("element", (el) => {
  if (el.name === "stream:features" || el.is("features", "http://etherx.jabber.org/streams")) {
    const m = el.getChild("mechanisms", NS_SASL);
    if (m) seen.classicMechs = texts(m, "mechanism", NS_SASL);
    const a = el.getChild("authentication", NS_SASL2);
    if (a) seen.sasl2Mechs = texts(a, "mechanism", NS_SASL2);
    const cb = el.getChild("sasl-channel-binding", "urn:xmpp:sasl-cb:0");
    if (m || a) seen.cbTypes = cb ? cb.getChildren("channel-binding").map((c) => c.attrs.type) : null;
    if (el.getChild("sm", "urn:xmpp:sm:3")) seen.smOffered = true;
  } else if (el.is("success", NS_SASL2)) {
    if (el.getChild("bound", "urn:xmpp:bind:0")) {
      seen.bound = "bind2";
      seen.boundConns.push(seen.conn);
    }
    seen.additionalData = !!el.getChild("additional-data");
    if (el.getChild("token", "urn:xmpp:fast:0")) seen.tokenSeen = true;
    if (el.getChild("bound", "urn:xmpp:bind:0")?.getChild("enabled", "urn:xmpp:sm:3")) seen.sm = "enabled";
    if (el.getChild("resumed", "urn:xmpp:sm:3")) seen.resumedHow = "inline";
  } else if (el.is("enabled", "urn:xmpp:sm:3")) {
    seen.sm = "enabled";
  } else if (el.is("failed", "urn:xmpp:sm:3")) {
    seen.smFailed = true;
  } else if (el.is("resumed", "urn:xmpp:sm:3")) {
    seen.resumedHow = "classic";
  }
});
xmpp.on("send", (el) => {
  if (el.is("authenticate", NS_SASL2) || el.is("auth", NS_SASL)) {
    seen.profile = el.name === "authenticate" ? 2 : 1;
    seen.mech = el.attrs.mechanism;
    seen.fast = /^HT-/.test(el.attrs.mechanism) ? "used" : "no";
    if (el.getChild("resume", "urn:xmpp:sm:3")) seen.resumeSent = "inline";
  } else if (el.name === "iq" && el.getChild("bind", "urn:ietf:params:xml:ns:xmpp-bind")) {
    seen.bound = "legacy";
    seen.bindSent.push(seen.conn);
  } else if (el.is("resume", "urn:xmpp:sm:3")) {
    seen.resumeSent = "classic";
  } else if (el.is("enable", "urn:xmpp:sm:3")) {
    seen.smEnableSent = true;
  }
});
xmpp.on("connect", () => seen.conn++);

const messages = [];
const waiters = [];
xmpp.on("stanza", (st) => {
  if (st.is("message") && st.getChildText("body") !== null) {
    messages.push(st.getChildText("body"));
    for (const w of waiters.splice(0)) w();
  }
});
function waitMessage(body, ms) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no message "${body}" within ${ms} ms`)), ms);
    const check = () => {
      if (messages.includes(body)) { clearTimeout(t); resolve(); } else waiters.push(check);
    };
    check();
  });
}

xmpp.on("error", (e) => {
  if (online && O["resume-test"]) return; // the cut connection's own errors
  failLogin(e?.condition ?? "error", e?.text || e?.message || e);
});

let online = false;
xmpp.once("online", async (jid) => {
  online = true;
  try {
    // xmpp.js 0.14 emits "online" from Bind2's <bound> before the other
    // children of <success> (stream management's <enabled/>, FAST's
    // <token/>) are handled: let those run first.
    await new Promise((resolve) => setImmediate(resolve));
    for (let i = 0; i < 20 && seen.tokenSeen && seen.token === "none"; i++)
      await new Promise((r) => setTimeout(r, 50));
    // The server must prove itself: SCRAM's v= (xmpp.js skips final() when
    // SASL2's <additional-data> is missing, and classic SASL's <success>
    // text is checked by the "nonza" hook below), FAST's Responder.
    if (SCRAMS[seen.mech] && !ctx.serverVerified) throw new Error("SCRAM: the server's v= was not received");
    if (seen.fast === "used" && !seen.additionalData) throw new Error("FAST: no Responder in <additional-data>");
    // A classic <enable/> goes out after the bind, that is after "online":
    // when <sm> was offered, wait for its answer (bounded).
    for (let i = 0; i < 50 * FACTOR && (seen.smOffered || seen.smEnableSent) && seen.sm === "none" && !seen.smFailed; i++)
      await new Promise((r) => setTimeout(r, 100));
    if (O.send) {
      await xmpp.send(xml("message", { to: O.send, type: "chat" }, xml("body", {}, O.body)));
      await xmpp.iqCaller.request(xml("iq", { type: "get", to: O.domain }, xml("ping", "urn:xmpp:ping")), 10000 * FACTOR);
    }
    if (O["expect-message"] !== undefined) await waitMessage(O["expect-message"], 20000 * FACTOR);
    const line = `login=ok jid=${jid} sasl=${seen.profile} mech=${seen.mech} bound=${seen.bound ?? "none"} ` +
      `sm=${seen.sm} token=${seen.token} fast=${seen.fast} ssdp=${ctx.ssdp} ` +
      `cb=${/-PLUS$/.test(seen.mech) ? O.cb : HT_CB[seen.mech] ?? "none"}`;
    if (!O["resume-test"]) {
      out(line);
      finished = true;
      xmpp.reconnect.stop();
      await xmpp.stop();
      process.exit(0);
    }
    out(line);
    await resumeTest(jid);
  } catch (e) {
    if (O["resume-test"] && online) failResume(e?.message ?? e);
    failLogin("error", e?.message ?? e);
  }
});

// Classic SASL: the server-final is the text of <success>; check it with
// the mechanism xmpp.js made (the one whose response() ran last).
{
  const orig = xmpp.saslFactory.create.bind(xmpp.saslFactory);
  xmpp.saslFactory.create = (names) => (ctx.lastMech = orig(names));
  xmpp.on("nonza", (el) => {
    if (!el.is("success", NS_SASL) || !ctx.lastMech || !SCRAMS[ctx.lastMech.name]) return;
    try {
      if (ctx.lastMech.step === 3) ctx.lastMech.final(atob(el.text()));
    } catch (e) {
      failLogin("server-final", e.message);
    }
  });
}

async function resumeTest(jid) {
  if (!xmpp.streamManagement.enabled || !xmpp.streamManagement.id)
    return failResume("stream management not enabled (no resumable id)");
  const body = `resume-test-${process.pid}-${Date.now()}`;
  const peer = client({ service: `xmpp://${O.host}:${O.port}`, domain: O.domain, timeout: 5000 * FACTOR,
    username: O["peer-user"], password: O["peer-password"], resource: "peer" });
  peer.reconnect.stop();
  peer.on("error", (e) => failResume(`peer: ${e?.condition ?? ""} ${e?.message ?? e}`));
  await new Promise((resolve) => { peer.once("online", resolve); peer.start().catch((e) => failResume(`peer: ${e.message}`)); });

  const connBefore = seen.conn;
  const resumed = new Promise((resolve) => xmpp.streamManagement.once("resumed", resolve));
  const sock = xmpp.socket?.socket;
  if (!sock) return failResume("no TLS socket to cut");
  sock.destroy();
  await peer.send(xml("message", { to: jid.toString(), type: "chat" }, xml("body", {}, body)));
  await peer.iqCaller.request(xml("iq", { type: "get", to: O.domain }, xml("ping", "urn:xmpp:ping")), 10000 * FACTOR);

  await Promise.race([resumed, new Promise((_, rej) => setTimeout(() => rej(new Error(`no resumed event within ${15 * FACTOR} s`)), 15000 * FACTOR))])
    .catch((e) => failResume(e.message));
  if (seen.conn <= connBefore) return failResume("resumed without a new connection?");
  // (xmpp.js puts a Bind2 <bind> beside the inline <resume> anyway; the
  // server must skip it when the resume succeeds.)
  if (seen.bindSent.some((c) => c > connBefore)) return failResume("a classic bind was sent on the new connection");
  if (seen.boundConns.some((c) => c > connBefore)) return failResume("the new connection was bound (<bound>) instead of resumed");
  if (!seen.resumedHow) return failResume("resumed fired but no <resumed> element seen");
  await waitMessage(body, 10000 * FACTOR).catch((e) => failResume(e.message));
  finished = true;
  out(`resume=ok resumed=${seen.resumedHow} jid=${xmpp.jid} message=received conns=${seen.conn}`);
  xmpp.reconnect.stop();
  peer.reconnect.stop();
  await Promise.allSettled([xmpp.stop(), peer.stop()]);
  process.exit(0);
}

xmpp.start().catch((e) => failLogin(e?.condition ?? "error", e?.text || e?.message || e));
