// The page side of scripts/interop/peer-firefox-congestion.sh, which says what it checks:
//   node peer-firefox-congestion.mjs CLI NPM_DIR WORK LADDER OPUS RATE_KBIT [cli|firefox|both]
//   (ROOT in the environment; the last says who offers, the CLI by default)
// lo is already shaped by tbf at RATE_KBIT when this starts.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { check, failures } from './browser-checks.mjs';

const [BIN, NPM_DIR, WORK, LADDER, OPUS, RATE_KBIT, OFFERS = 'cli'] = process.argv.slice(2);
// Who offers: 'cli', 'firefox' or 'both'.
const CASES = OFFERS === 'both' ? ['cli', 'firefox'] : [OFFERS];
const ROOT_DIR = process.env.ROOT;
const LIMIT = Number(RATE_KBIT) * 1000;
// The CLI's call lasts DURATION s; Firefox samples its stats for SAMPLE s of it, once a second.
const DURATION = 45, SAMPLE = 38, TAIL_MS = 15000, WINDOW = 5, MIN_PER_WINDOW = 30;

async function waitJson(path, seconds = 20) {
  for (let i = 0; i < seconds * 10; i++) {
    if (existsSync(path)) {
      try { return JSON.parse(readFileSync(path, 'utf8')); } catch (e) { /* still being written */ }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no ${path}`);
}
function writeJson(path, value) {
  writeFileSync(path + '.tmp', JSON.stringify(value));
  renameSync(path + '.tmp', path);
}
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.floor(s.length / 2)] : NaN; };
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / (xs.length || 1);
const kbit = (bps) => Math.round(bps / 1000);

const server = createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/html' });
  res.end('<!doctype html><meta charset="utf-8"><title>peerless congestion interop</title>');
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const { launchFirefox } = await import(join(ROOT_DIR, 'scripts', 'firefox.mjs'));
const browser = await launchFirefox(NPM_DIR, WORK);
let exitCode = 1;
// One call: `firefoxOffers` has Firefox offer receive-only audio and video (audio first, as a
// page with a microphone and a camera does) and the CLI answer; else the CLI offers.
async function runCase(browser, name, firefoxOffers) {
  const tag = firefoxOffers ? 'firefox-offers' : 'we-offer';
  const c = (cond, what) => check(cond, `${name}: ${what}`);
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  const offerPath = join(WORK, `${tag}.offer.json`), answerPath = join(WORK, `${tag}.answer.json`);
  const summaryPath = join(WORK, `${tag}.cli.json`);
  const log = openSync(join(WORK, `${tag}.cli.log`), 'w');
  const media = ['--json', '--no-data', '--duration', String(DURATION), '--video-ladder', LADDER,
    '--audio', OPUS, '--summary', summaryPath];
  const args = firefoxOffers ? ['answer', '--offer', offerPath, '--answer-out', answerPath, ...media]
    : ['offer', '--offer-out', offerPath, '--answer-in', answerPath, ...media];
  const cli = spawn(BIN, args, { stdio: ['ignore', 'inherit', log] });
  const exit = new Promise((resolve) => cli.on('exit', (code, signal) => resolve(code ?? signal)));
  await page.evaluate(() => {
    window.gathered = (pc) => new Promise((resolve) => {
      if (pc.iceGatheringState === 'complete') return resolve();
      pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') resolve(); });
    });
  });
  let answer;
  if (firefoxOffers) {
    const offer = await page.evaluate(async () => {
      const pc = new RTCPeerConnection({ iceServers: [] });
      window.pc = pc;
      pc.addTransceiver('audio', { direction: 'recvonly' });
      pc.addTransceiver('video', { direction: 'recvonly' });
      await pc.setLocalDescription(await pc.createOffer());
      await window.gathered(pc);
      return pc.localDescription.sdp;
    });
    writeJson(offerPath, { type: 'offer', sdp: offer });
    answer = (await waitJson(answerPath)).sdp;
    await page.evaluate(async (sdp) => window.pc.setRemoteDescription({ type: 'answer', sdp }), answer);
  } else {
    const offer = await waitJson(offerPath);
    answer = await page.evaluate(async (sdp) => {
      const pc = new RTCPeerConnection({ iceServers: [] });
      window.pc = pc;
      await pc.setRemoteDescription({ type: 'offer', sdp });
      await pc.setLocalDescription(await pc.createAnswer());
      await window.gathered(pc);
      return pc.localDescription.sdp;
    }, offer.sdp);
    writeJson(answerPath, { type: 'answer', sdp: answer });
  }
  c(/a=rtcp-fb:\d+ transport-cc/.test(answer) && /transport-wide-cc/.test(answer),
    'the answer keeps transport-cc (rtcp-fb and the transport-wide sequence extmap)');
  // Once a second for SAMPLE s: Firefox's inbound video counts.
  const seen = await page.evaluate(async (SAMPLE) => {
    const pc = window.pc, out = [];
    const t0 = performance.now();
    while (performance.now() - t0 < SAMPLE * 1000) {
      await new Promise((r) => setTimeout(r, 1000));
      let v = {}, codecs = {};
      (await pc.getStats()).forEach((e) => {
        if (e.type === 'inbound-rtp' && e.kind === 'video') v = e;
        if (e.type === 'codec') codecs[e.id] = e.mimeType;
      });
      out.push({ s: Math.round((performance.now() - t0) / 1000), state: pc.connectionState,
        framesDecoded: v.framesDecoded || 0, bytesReceived: v.bytesReceived || 0,
        packetsLost: v.packetsLost || 0, packetsReceived: v.packetsReceived || 0,
        codec: codecs[v.codecId] || null, width: v.frameWidth, height: v.frameHeight,
        nackCount: v.nackCount, pliCount: v.pliCount });
    }
    return out;
  }, SAMPLE);
  const rc = await Promise.race([exit, new Promise((r) => setTimeout(() => r('timeout'), (DURATION + 10) * 1000))]);
  cli.kill();
  await page.evaluate(() => window.pc.close());
  let s = {};
  try { s = JSON.parse(readFileSync(summaryPath, 'utf8')); } catch (e) { /* checked below */ }
  const b = s.bitrate || {};
  const samples = b.samples || [];

  console.log('     our side, once a second: t s, target kbit/s, rendition kbit/s, video sent kbit/s');
  console.log('     ' + samples.map(([ms, t, r, v]) => `${Math.round(ms / 1000)}:${kbit(t)}/${kbit(r)}/${kbit(v)}`).join(' '));
  console.log('     Firefox, once a second: t s, framesDecoded, kbit/s received');
  console.log('     ' + seen.map((x, i) => `${x.s}:${x.framesDecoded}/${kbit((x.bytesReceived - (i ? seen[i - 1].bytesReceived : 0)) * 8)}`).join(' '));

  const last = seen[seen.length - 1] || {};
  c(last.codec === 'video/VP8' && last.framesDecoded > 0,
    `Firefox decoded ${last.framesDecoded} of our ${last.codec} frames (${last.width}x${last.height}), ${last.packetsReceived} packets received, ${last.packetsLost} lost, ${last.nackCount} NACKs, ${last.pliCount} PLIs sent`);
  // framesDecoded keeps growing: every WINDOW s from the first decoded frame adds frames.
  const first = seen.findIndex((x) => x.framesDecoded > 0);
  const windows = [];
  for (let i = Math.max(first, 0); i + WINDOW < seen.length; i += WINDOW) windows.push(seen[i + WINDOW].framesDecoded - seen[i].framesDecoded);
  if (first >= 0 && seen.length - 1 - first >= WINDOW) windows.push(last.framesDecoded - seen[seen.length - 1 - WINDOW].framesDecoded);
  c(first >= 0 && windows.length >= 5 && windows.every((n) => n >= MIN_PER_WINDOW),
    `Firefox's framesDecoded grew in every ${WINDOW} s window through the end: [${windows.join(', ')}] (each >= ${MIN_PER_WINDOW}; the last is the final ${WINDOW} s)`);
  c(rc === 0 && s.ok === true, `the CLI says ok (exit ${rc})`);
  c(b.events > 0 && b.target_bps_max > 360000,
    `the target left its 300 kbit/s start: ${b.events} estimate events, highest ${kbit(b.target_bps_max)} kbit/s, lowest ${kbit(b.target_bps_min)} kbit/s`);
  const end = samples.length ? samples[samples.length - 1][0] : 0;
  const tail = samples.filter(([ms]) => ms >= end - TAIL_MS);
  const tailTarget = median(tail.map(([, t]) => t));
  const tailSent = mean(tail.map(([, , , v]) => v));
  c(tail.length >= 10 && tailTarget <= LIMIT && tailTarget >= LIMIT / 4,
    `over the last ${TAIL_MS / 1000} s the target's median is ${kbit(tailTarget)} kbit/s: under the ${kbit(LIMIT)} kbit/s limit and above ${kbit(LIMIT / 4)} (last ${kbit(b.target_bps_last)}, range ${kbit(Math.min(...tail.map(([, t]) => t)))}..${kbit(Math.max(...tail.map(([, t]) => t)))})`);
  c(tail.length >= 10 && tailSent <= LIMIT,
    `over the last ${TAIL_MS / 1000} s our video averaged ${kbit(tailSent)} kbit/s (under the limit)`);
  c(b.rendition_switches > 0,
    `the ladder followed the target: ${b.rendition_switches} switches, frames per rendition [${b.rendition_frames}] of [${(b.renditions_bps || []).map(kbit)}] kbit/s, last ${kbit(b.rendition_bps_last)}`);
  const v = (s.media || []).find((m) => m.kind === 'video') || {};
  console.log(`\nRESULTS ${JSON.stringify({ case: tag, limit_bps: LIMIT, tail_target_median_bps: tailTarget, tail_video_mean_bps: Math.round(tailSent),
    bitrate: { ...b, samples: undefined }, windows, firefox_last: last,
    ours: { packets_sent: v.packets_sent, nacks_received: v.nacks_received, rtx_sent: v.rtx_sent, plis_received: v.plis_received, rtt_ms: v.rtt_ms, keyframe_skips: s.keyframe_skips } })}`);
  await page.close();
}

try {
  for (const who of CASES) await runCase(browser, who === 'firefox' ? 'Firefox offers' : 'we offer', who === 'firefox');
  exitCode = failures.length ? 1 : 0;
} catch (e) {
  console.log(`FAIL ${e.stack || e}`);
} finally {
  await browser.close();
  server.close();
}
if (exitCode) console.log(`${failures.length} check(s) failed`);
else console.log('peer-firefox-congestion: all checks passed');
process.exit(exitCode);
