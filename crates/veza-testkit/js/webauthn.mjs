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

import { converse, open, serve } from "./driver.mjs";

const { server, origin } = await serve("<!doctype html><title>Veza passkey test</title>");
const { browser, page } = await open(origin, ["--disable-sync"]);
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

await converse(origin, ops, browser, server);
