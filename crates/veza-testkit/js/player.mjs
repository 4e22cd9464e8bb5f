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
import { createRequire } from "node:module";
import { converse, open, serve } from "./driver.mjs";

const require = createRequire(import.meta.url);
const { server, origin } = await serve(
  '<!doctype html><title>Veza player test</title><script src="/hls.min.js"></script><audio></audio>',
  { "/hls.min.js": { type: "text/javascript", body: fs.readFileSync(require.resolve("hls.js/dist/hls.min.js")) } },
);
const { browser, page } = await open(origin, ["--headless", "--autoplay-policy=no-user-gesture-required", "--mute-audio"]);

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

await converse(origin, ops, browser, server);
