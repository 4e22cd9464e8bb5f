// A browser with a passkey authenticator, for Veza's passkey tests: Debian's Chromium, headless,
// driven by playwright-core, with Chromium's virtual WebAuthn authenticator (CTAP2, internal
// transport, resident keys, user verification that succeeds) attached through the DevTools
// protocol. The browser runs the real WebAuthn API on a blank page served from
// http://localhost:<port>, the origin Veza's relying party is configured with.
//
// Prints `{"origin": "http://localhost:N"}` when ready, then answers one JSON line per JSON line
// on stdin:
//   {"op": "create", "options": {"publicKey": …}} → {"ok": credential.toJSON()} | {"error": "…"}
//   {"op": "get", "options": {"publicKey": …}}    → the same, for an assertion
//   {"op": "credentials"}                         → {"ok": [the authenticator's credentials]}

import http from "node:http";
import readline from "node:readline";
import { chromium } from "playwright-core";

const server = http.createServer((req, res) => {
  res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
  res.end("<!doctype html><title>Veza passkey test</title>");
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const origin = `http://localhost:${server.address().port}`;

const browser = await chromium.launch({
  executablePath: process.env.VEZA_TEST_CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
const page = await browser.newPage();
await page.goto(`${origin}/`);
const cdp = await page.context().newCDPSession(page);
await cdp.send("WebAuthn.enable");
const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
  options: {
    protocol: "ctap2",
    transport: "internal",
    hasResidentKey: true,
    hasUserVerification: true,
    isUserVerified: true,
    automaticPresenceSimulation: true,
  },
});

async function create(options) {
  return page.evaluate(async (o) => {
    const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(o.publicKey);
    const credential = await navigator.credentials.create({ publicKey });
    return credential.toJSON();
  }, options);
}

async function get(options) {
  return page.evaluate(async (o) => {
    const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(o.publicKey);
    const credential = await navigator.credentials.get({ publicKey });
    return credential.toJSON();
  }, options);
}

const ops = {
  create: (msg) => create(msg.options),
  get: (msg) => get(msg.options),
  credentials: async () => (await cdp.send("WebAuthn.getCredentials", { authenticatorId })).credentials,
};

const lines = readline.createInterface({ input: process.stdin });
process.stdout.write(JSON.stringify({ origin }) + "\n");
for await (const line of lines) {
  let answer;
  try {
    const msg = JSON.parse(line);
    answer = { ok: await ops[msg.op](msg) };
  } catch (e) {
    answer = { error: String(e?.message ?? e) };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
}
await browser.close();
server.close();
