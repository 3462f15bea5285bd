// The browser side of scripts/interop/embedded-host-aiortc-media.sh (run inside its namespace,
// after the aiortc client): Chromium opens the application's own page, whose offer has
// recvonly video and audio beside the data channel, and must decode the clip and the tone.
//   node embedded-host-chromium-media.mjs NPM_DIR WORK
import { launchChromium } from '../../chromium.mjs';

const [NPM_DIR, WORK] = process.argv.slice(2);
const BASE = 'http://192.0.2.2:8080';
const MIN_FRAMES = 45; // 3 s of the 15 fps clip
let failures = 0;
function check(ok, what) {
  console.log((ok ? 'ok   ' : 'FAIL ') + what);
  if (!ok) failures++;
}
const deadline = setTimeout(() => { console.log('FAIL chromium: timed out'); process.exit(1); }, 60000);

const browser = await launchChromium(NPM_DIR, WORK);
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.log('page error: ' + e));
  await page.goto(BASE + '/');
  const inbound = () => page.evaluate(async () => {
    const out = {};
    if (!window.pc) return out;
    (await pc.getStats()).forEach((s) => {
      if (s.type === 'inbound-rtp') out[s.kind] = s;
    });
    return out;
  });
  let stats = {};
  for (let i = 0; i < 200; i++) {
    stats = await inbound();
    if ((stats.video?.framesDecoded ?? 0) >= MIN_FRAMES && (stats.audio?.totalSamplesReceived ?? 0) > 8000) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const v = stats.video ?? {}, a = stats.audio ?? {};
  console.log(`chromium: video framesDecoded=${v.framesDecoded} ${v.frameWidth}x${v.frameHeight} ` +
    `keyFramesDecoded=${v.keyFramesDecoded} pliCount=${v.pliCount} packetsLost=${v.packetsLost}; ` +
    `audio totalSamplesReceived=${a.totalSamplesReceived} concealedSamples=${a.concealedSamples} ` +
    `packetsReceived=${a.packetsReceived}`);
  check(v.framesDecoded >= MIN_FRAMES, `chromium decodes the clip (${v.framesDecoded} >= ${MIN_FRAMES} frames)`);
  check(v.frameWidth === 320 && v.frameHeight === 240, `chromium's frames are 320x240 (${v.frameWidth}x${v.frameHeight})`);
  check(a.totalSamplesReceived > 8000, `chromium receives the tone (${a.totalSamplesReceived} samples)`);
  const shown = await page.evaluate(() => [v.videoWidth, v.videoHeight, v.currentTime]);
  check(shown[0] === 320 && shown[1] === 240 && shown[2] > 0,
    `the page's video element plays the clip (${shown[0]}x${shown[1]}, at ${shown[2].toFixed(1)} s)`);
  await page.evaluate(() => document.getElementById('s').click());
  let log = '';
  for (let i = 0; i < 50 && !log.includes('echo: hello'); i++) {
    await new Promise((r) => setTimeout(r, 100));
    log = await page.evaluate(() => l.textContent);
  }
  check(log.includes('echo: hello'), 'the page\'s data channel echoes beside the media');
  const status = await page.evaluate(async () => (await fetch('/whip/session', { method: 'DELETE' })).status);
  check(status === 200, `DELETE /whip/session from the page answered 200 (${status})`);
} catch (e) {
  console.log('FAIL chromium: ' + e);
  failures++;
} finally {
  await browser.close();
}
clearTimeout(deadline);
console.log(`chromium: ${failures} failure(s)`);
process.exit(failures ? 1 : 0);
