// What Veza's browser drivers share: a page of their own on http://localhost:<port>, Debian's
// Chromium (headless, through playwright-core) showing it, and the JSON-lines conversation
// with the Rust test (`src/browser.rs`).

import http from "node:http";
import readline from "node:readline";
import { chromium } from "playwright-core";

// Serves `routes[url]` ({type, body}) or the page `html`; returns the origin and the server.
export async function serve(html, routes = {}) {
  const server = http.createServer((req, res) => {
    const route = routes[req.url];
    res.writeHead(200, { "content-type": route?.type ?? "text/html; charset=utf-8" });
    res.end(route?.body ?? html);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, origin: `http://localhost:${server.address().port}` };
}

// Chromium with the given extra flags, showing `origin`'s page.
export async function open(origin, extraArgs = []) {
  const browser = await chromium.launch({
    executablePath: process.env.VEZA_TEST_CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
      "--disable-component-update", ...extraArgs],
  });
  const page = await browser.newPage();
  await page.goto(`${origin}/`);
  return { browser, page };
}

// Prints `{"origin": …}`, then answers each JSON line `{"op": name, …}` on stdin with
// `{"ok": await ops[name](msg)}` or `{"error": "…"}`, until stdin closes; then closes all.
export async function converse(origin, ops, browser, server) {
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
}
