// One cell of the interop matrix for xmpp.js (@xmpp/client, from npm):
// log in through xmppgate (STARTTLS, SASL, resource binding), send BODY
// to TO, wait for the server to answer a ping (so the message has gone
// out), and log out with a closing stream tag.  The CA comes from
// NODE_EXTRA_CA_CERTS.  Every wait is bounded.
//   node xmppjs_send.mjs HOST PORT DOMAIN USER PASSWORD TO BODY
import { client, xml } from "@xmpp/client";

const [host, port, domain, username, password, to, body] = process.argv.slice(2);
const fail = (why) => { console.log("RESULT login=failed error=" + JSON.stringify(String(why))); process.exit(1); };
setTimeout(() => fail("timeout"), 30000).unref();

const xmpp = client({ service: `xmpp://${host}:${port}`, domain, username, password, resource: "xmppjs" });
xmpp.on("error", fail);
xmpp.on("online", async (jid) => {
  try {
    await xmpp.send(xml("message", { to, type: "chat" }, xml("body", {}, body)));
    await xmpp.iqCaller.request(xml("iq", { type: "get", to: domain }, xml("ping", "urn:xmpp:ping")), 10000);
    await xmpp.stop();
    console.log("RESULT login=ok bind=ok jid=" + jid.toString() + " message=sent logout=ok");
    process.exit(0);
  } catch (e) {
    fail(e);
  }
});
xmpp.start().catch(fail);
