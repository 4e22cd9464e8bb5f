// A listener's browser for Veza's playback tests: Debian's Chromium, headless, driven by
// playwright-core, on a page served from http://localhost:<port> that loads hls.js. Each request
// plays an HLS master playlist from a running Veza through hls.js (Media Source Extensions, as
// in a real web player), then seeks to the middle and checks that playback goes on from there.
//
// Prints `{"origin": "http://localhost:N"}` when ready (allow it in Veza's CORS origins), then
// answers one JSON line per JSON line on stdin:
//   {"op": "play", "url": "<master playlist URL>"}
//     → {"ok": {"levels": [{bitrate, codecs}], "duration": s, "played_to": s, "seeked_to": s,
//               "played_after_seek_to": s, "fragments": n}} | {"error": "…"}

import fs from "node:fs";
import http from "node:http";
import readline from "node:readline";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const hlsJs = fs.readFileSync(require.resolve("hls.js/dist/hls.min.js"));

const server = http.createServer((req, res) => {
  if (req.url === "/hls.min.js") {
    res.writeHead(200, { "content-type": "text/javascript" });
    res.end(hlsJs);
    return;
  }
  res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
  res.end('<!doctype html><title>Veza player test</title><script src="/hls.min.js"></script><audio></audio>');
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const origin = `http://localhost:${server.address().port}`;

const browser = await chromium.launch({
  executablePath: process.env.VEZA_TEST_CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox",
    "--headless",
    "--autoplay-policy=no-user-gesture-required",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-component-update",
    "--mute-audio",
  ],
});
const page = await browser.newPage();
await page.goto(`${origin}/`);

async function play(url) {
  return page.evaluate(async (src) => {
    const audio = document.querySelector("audio");
    const hls = new Hls({ enableWorker: false });
    let fragments = 0;
    const failed = new Promise((_, reject) =>
      hls.on(Hls.Events.ERROR, (_e, data) => {
        if (data.fatal) reject(new Error(`hls.js: ${data.type} ${data.details}`));
      }),
    );
    hls.on(Hls.Events.FRAG_LOADED, () => fragments++);
    const parsed = new Promise((resolve) => hls.on(Hls.Events.MANIFEST_PARSED, (_e, data) => resolve(data)));
    const until = (test, what, ms = 20000) =>
      Promise.race([
        failed,
        new Promise((resolve, reject) => {
          const started = Date.now();
          const tick = () => {
            if (test()) return resolve();
            if (audio.error) return reject(new Error(`media error ${audio.error.code}: ${audio.error.message}`));
            if (Date.now() - started > ms) return reject(new Error(`timed out waiting for ${what} (t=${audio.currentTime})`));
            setTimeout(tick, 50);
          };
          tick();
        }),
      ]);
    try {
      hls.attachMedia(audio);
      hls.loadSource(src);
      const manifest = await Promise.race([failed, parsed]);
      await audio.play();
      await until(() => audio.currentTime > 1.0, "playback to pass 1 s");
      const playedTo = audio.currentTime;
      const middle = audio.duration / 2;
      audio.currentTime = middle;
      await until(() => !audio.seeking && audio.currentTime > middle + 0.5, "playback to go on after the seek");
      return {
        levels: manifest.levels.map((l) => ({ bitrate: l.bitrate, codecs: l.audioCodec ?? l.codecs ?? null })),
        duration: audio.duration,
        played_to: playedTo,
        seeked_to: middle,
        played_after_seek_to: audio.currentTime,
        fragments,
      };
    } finally {
      hls.destroy();
      audio.removeAttribute("src");
      audio.load();
    }
  }, url);
}

const ops = { play: (msg) => play(msg.url) };

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
