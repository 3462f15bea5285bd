// The page side of scripts/interop/demo-media-firefox.sh, which says what it checks and runs it:
//   node demo-media-firefox.mjs DEMO NPM_DIR WORK   (ROOT in the environment)
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { check, failures } from './browser-checks.mjs';

const [DEMO, NPM_DIR, WORK] = process.argv.slice(2);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const started = Date.now();

const port = 18000 + Math.floor(Math.random() * 1000);
const demo = spawn(DEMO, ['--http', `127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'inherit'] });
demo.stdout.on('data', (d) => process.stdout.write(d));
// However this ends (a throw included), the demo goes with it.
process.on('exit', () => demo.kill());

// Firefox's own view of the call: its inbound-rtp and outbound-rtp entries.
async function firefoxStats(page) {
  return page.evaluate(async () => {
    const out = [];
    (await window.demo.pc.getStats()).forEach((s) => {
      if (['inbound-rtp', 'outbound-rtp', 'remote-inbound-rtp'].includes(s.type)) {
        out.push({ type: s.type, kind: s.kind, rid: s.rid, packetsSent: s.packetsSent,
          packetsReceived: s.packetsReceived, framesDecoded: s.framesDecoded,
          framesEncoded: s.framesEncoded, frameWidth: s.frameWidth, frameHeight: s.frameHeight,
          pliCount: s.pliCount, nackCount: s.nackCount, packetsLost: s.packetsLost });
      }
    });
    return out;
  });
}
const counters = (page) => page.evaluate(async () => (await fetch('/call')).json());

// Opens the page (with `query`), waits for the chat channel, presses Call and waits until
// Firefox decoded `frames` frames of the returned video (at most `seconds`).
async function startCall(browser, name, query, frames = 30, seconds = 25) {
  const page = await browser.newPage();
  let loaded = false;
  for (let i = 0; i < 50 && !loaded; i++) {
    try { await page.goto(`http://127.0.0.1:${port}/${query}`); loaded = true; } catch (e) { await sleep(100); }
  }
  check(loaded, `${name}: the page loads`);
  const opened = await page.evaluate(async () => {
    for (let i = 0; i < 100 && !(window.demo && window.demo.ch.readyState === 'open'); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    return window.demo?.ch.readyState === 'open';
  });
  check(opened, `${name}: the chat channel opened`);
  await page.click('#callButton');
  const t0 = Date.now();
  let decoded = 0;
  while (Date.now() - t0 < seconds * 1000) {
    await sleep(500);
    const s = await firefoxStats(page).catch(() => []);
    decoded = s.filter((x) => x.type === 'inbound-rtp' && x.kind === 'video')
      .reduce((n, x) => n + (x.framesDecoded || 0), 0);
    if (decoded >= frames) break;
  }
  const state = await page.evaluate(() => ({
    state: document.getElementById('callState').textContent,
    log: document.getElementById('log').textContent,
    playing: (() => { const v = document.getElementById('remote'); return v.videoWidth > 0 && !v.paused; })(),
    remoteSize: [document.getElementById('remote').videoWidth, document.getElementById('remote').videoHeight],
    transceivers: window.demo.pc.getTransceivers().map((t) => ({ mid: t.mid, kind: t.receiver.track.kind, dir: t.currentDirection })),
  }));
  check(state.state.startsWith('in a call'), `${name}: the call is up: ${JSON.stringify(state.transceivers)}`);
  console.log(`     ${name}: Firefox decoded ${decoded} returned video frames after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return { page, state };
}

// Simulcast (?simulcast): Firefox sends layers q, h, f on one video section; the demo must see
// frames on every layer Firefox sends (all three when `all` is set) and send the widest back.
async function simulcastCase(browser, name, all) {
  const { page, state } = await startCall(browser, name, '?simulcast');
  await sleep(1000);
  const ff = await firefoxStats(page);
  console.log(`     Firefox getStats: ${JSON.stringify(ff)}`);
  const outs = ff.filter((s) => s.type === 'outbound-rtp' && s.kind === 'video');
  const sending = outs.filter((o) => o.packetsSent > 0).map((o) => o.rid).sort();
  console.log(`     Firefox sends ${outs.length} video encodings: ${outs.map((o) => `${o.rid}:${o.frameWidth}x${o.frameHeight}:${o.packetsSent} packets`).join(' ')}`);
  const c = await counters(page);
  console.log(`     demo /call: ${JSON.stringify(c)}`);
  const mid = state.transceivers.find((t) => t.kind === 'video')?.mid;
  const layers = c.received.filter((r) => r.mid === mid);
  const seen = layers.filter((l) => l.frames > 0).map((l) => l.rid).sort();
  check(outs.length === 3 && (!all || sending.length === 3) && sending.length >= 1,
    `${name}: Firefox has three encodings and sends ${sending.join(', ')}`);
  // A layer Firefox has just turned on may have sent a packet or two (padding, no frame yet)
  // by the time the stats are read: every layer with 10 frames encoded must have arrived, and
  // nothing arrived on a layer Firefox does not send.
  const encoding = outs.filter((o) => o.framesEncoded >= 10).map((o) => o.rid).sort();
  check(encoding.every((rid) => seen.includes(rid)) && seen.every((rid) => sending.includes(rid)),
    `${name}: the demo received frames on each rid Firefox encodes (${encoding.join(', ')}): ${layers.map((l) => `${l.rid}:${l.frames} (${l.width}x${l.height})`).join(' ')}`);
  const echoed = c.echoed.find((e) => e.mid === mid);
  const widest = layers.reduce((a, b) => (b.width > (a?.width ?? -1) ? b : a), null);
  check(echoed && widest && echoed.rid === widest.rid && echoed.frames >= 30,
    `${name}: the demo sends back the widest layer: rid ${echoed?.rid}, ${echoed?.frames} frames (widest ${widest?.rid} ${widest?.width}x${widest?.height})`);
  const inVideo = ff.find((s) => s.type === 'inbound-rtp' && s.kind === 'video');
  check(inVideo && inVideo.framesDecoded >= 30 && inVideo.frameWidth === widest?.width,
    `${name}: Firefox decoded ${inVideo?.framesDecoded} frames of it (${inVideo?.frameWidth}x${inVideo?.frameHeight})`);
  await page.close();
}

const { launchFirefox } = await import(join(process.env.ROOT, 'scripts', 'firefox.mjs'));
const browser = await launchFirefox(NPM_DIR, WORK);
try {
  // 1. Camera and microphone, DTMF.
  {
    const name = 'call';
    const { page, state } = await startCall(browser, name, '');
    check(state.playing, `${name}: the page plays the returned video (${state.remoteSize.join('x')})`);
    // The keypad: each key adds to what is still queued.
    for (const key of ['1', '#', '9']) {
      await page.evaluate((k) => [...document.querySelectorAll('#keypad button')].find((b) => b.textContent === k).click(), key);
    }
    const heard = await page.evaluate(async () => {
      for (let i = 0; i < 60 && window.demo.heard.length < 3; i++) await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 500));
      return { heard: [...window.demo.heard], shown: document.getElementById('tones').textContent,
        log: [...document.querySelectorAll('#log .tone')].map((d) => d.textContent) };
    });
    check(heard.heard.join('') === '1#9' && heard.shown === '1 # 9',
      `${name}: the Peer heard the tones 1#9 and the page shows them: ${JSON.stringify(heard.log)}`);
    await sleep(1000);
    const ff = await firefoxStats(page);
    const inVideo = ff.find((s) => s.type === 'inbound-rtp' && s.kind === 'video');
    const inAudio = ff.find((s) => s.type === 'inbound-rtp' && s.kind === 'audio');
    const outVideo = ff.find((s) => s.type === 'outbound-rtp' && s.kind === 'video');
    const outAudio = ff.find((s) => s.type === 'outbound-rtp' && s.kind === 'audio');
    console.log(`     Firefox getStats: ${JSON.stringify(ff)}`);
    check(inVideo && inVideo.framesDecoded >= 30,
      `${name}: Firefox decoded ${inVideo?.framesDecoded} video frames from the Peer (${inVideo?.frameWidth}x${inVideo?.frameHeight}, ${inVideo?.packetsReceived} packets, ${inVideo?.packetsLost} lost)`);
    check(inAudio && inAudio.packetsReceived > 0,
      `${name}: Firefox received ${inAudio?.packetsReceived} audio packets from the Peer`);
    check(outVideo && outVideo.packetsSent > 0 && outAudio && outAudio.packetsSent > 0,
      `${name}: Firefox sent ${outVideo?.packetsSent} video and ${outAudio?.packetsSent} audio packets`);
    const c = await counters(page);
    console.log(`     demo /call: ${JSON.stringify(c)}`);
    const mids = Object.fromEntries(state.transceivers.map((t) => [t.kind, t.mid]));
    const got = (mid) => c.received.filter((r) => r.mid === mid).reduce((n, r) => n + r.frames, 0);
    const back = (mid) => c.echoed.find((e) => e.mid === mid)?.frames ?? 0;
    check(got(mids.video) >= 30 && got(mids.audio) >= 30,
      `${name}: the demo received ${got(mids.video)} video and ${got(mids.audio)} audio frames from Firefox`);
    check(back(mids.video) >= 30 && back(mids.audio) >= 30,
      `${name}: the demo sent back ${back(mids.video)} video and ${back(mids.audio)} audio frames`);
    check(JSON.stringify(c.dtmf) === JSON.stringify(['1', '#', '9']),
      `${name}: the demo counted three Event::Dtmf: ${JSON.stringify(c.dtmf)}`);
    // The page's stats show the estimator's target (refreshed every second).
    await sleep(1500);
    const shown = await page.evaluate(() => {
      const t = [...document.querySelectorAll('#counters table')].find((x) => x.caption?.textContent.startsWith('bandwidth'));
      const row = t && [...t.rows].find((r) => r.cells[0].textContent === 'target bitrate');
      return { text: t ? t.textContent : null, target: row ? row.cells[1].textContent : null };
    });
    const kbps = Number((/^(\d+) kbit\/s$/.exec(shown.target || '') || [])[1] || 0);
    check(kbps > 0 && c.bandwidth && c.bandwidth.estimateEvents > 0,
      `${name}: the page shows the Peer's target bitrate: "${shown.target}" (${c.bandwidth?.estimateEvents} Event::BitrateEstimate, /call says ${c.bandwidth?.targetBps} bit/s)`);
    await page.close();
  }

  // 2. Simulcast with Firefox's default bandwidth estimate.
  await simulcastCase(browser, 'simulcast', false);
} finally {
  await browser.close();
}
// 3. Simulcast with a floor under Firefox's bandwidth estimate. Before the Peer sent
// transport-cc feedback Firefox's estimate stayed near its start and its allocator left the top
// layer off (case 2 says which it sends); with the floor all three must go.
const floored = await launchFirefox(NPM_DIR, WORK, { 'media.peerconnection.video.min_bitrate_estimate': 2000000 });
try {
  await simulcastCase(floored, 'simulcast, 2 Mbit/s estimate', true);
} finally {
  await floored.close();
}
if (failures.length) {
  console.log(`${failures.length} check(s) failed`);
  process.exit(1);
}
console.log(`demo-media-firefox: all checks passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
// The demo's stdout pipe keeps node's loop alive: leave now (the exit handler kills the demo).
process.exit(0);
