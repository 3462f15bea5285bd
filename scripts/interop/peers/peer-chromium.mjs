// The page side of scripts/interop/peer-chromium.sh, which says what it checks and runs it:
//   node peer-chromium.mjs CLI NPM_DIR WORK loopback|mdns   (ROOT in the environment)
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleGroup, check, checkAnswer, failures, sections } from './browser-checks.mjs';

const [BIN, NPM_DIR, WORK, PART] = process.argv.slice(2);
const ROOT_DIR = process.env.ROOT;
const SAVE = process.env.PEERLESS_SAVE_SDP || '';
const COUNT = 100, BIG = 65536;

// The CLI's exit status, and a way to stop it early when the browser already failed the case.
function cli(args) {
  const p = spawn(BIN, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  const exit = new Promise((resolve) => p.on('exit', (code, signal) => resolve(code ?? signal)));
  exit.kill = () => p.kill();
  return exit;
}
// Resolves with null when the CLI never wrote the file (it failed: its stderr says why).
async function waitJson(path, seconds = 20) {
  for (let i = 0; i < seconds * 10; i++) {
    if (existsSync(path)) {
      try { return JSON.parse(readFileSync(path, 'utf8')); } catch (e) { /* still being written */ }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return null;
}
function writeJson(path, value) {
  writeFileSync(path + '.tmp', JSON.stringify(value));
  renameSync(path + '.tmp', path);
}
function readSummary(path) {
  try { return JSON.parse(readFileSync(path, 'utf8')); } catch (e) { return {}; }
}
// A blank page on 127.0.0.1: a secure context, unlike about:blank, so getUserMedia exists.
const server = createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/html' });
  res.end('<!doctype html><meta charset="utf-8"><title>peerless interop</title>');
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const URL = `http://127.0.0.1:${server.address().port}/`;

const HELPERS = () => {
  window.gathered = (pc) => new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') resolve();
    });
  });
  window.messages = (count, big) => {
    const out = [];
    for (let i = 0; i < count; i++) {
      if (i === Math.floor(count / 2)) {
        const b = new Uint8Array(big);
        for (let x = 0; x < big; x++) b[x] = (x * 7 + i) & 255;
        out.push(b);
      } else if (i % 2) {
        const b = new Uint8Array(1 + (i * 53) % 2000);
        for (let x = 0; x < b.length; x++) b[x] = (x ^ i) & 255;
        out.push(b);
      } else {
        out.push(`chromium message ${i} ✓`);
      }
    }
    return out;
  };
  window.same = (a, b) => {
    if (typeof a === 'string' || typeof b === 'string') return a === b;
    const x = new Uint8Array(a), y = new Uint8Array(b);
    return x.length === y.length && x.every((v, i) => v === y[i]);
  };
};

async function newPage(browser) {
  const page = await browser.newPage();
  page.on('console', (m) => { if (m.type() === 'error') console.log(`page: ${m.text()}`); });
  await page.goto(URL);
  await page.evaluate(HELPERS);
  return page;
}

// Chromium offers (a data channel, and with `media` the fake camera and microphone), the CLI
// answers and echoes.
async function chromiumOffers(browser, name, tag, { media = false, bundlePolicy = 'balanced' } = {}) {
  const page = await newPage(browser);
  const offerPath = join(WORK, `o-${tag}.json`), answerPath = join(WORK, `a-${tag}.json`);
  const summary = join(WORK, `s-${tag}.json`);
  const offer = await page.evaluate(async (media, bundlePolicy) => {
    const pc = new RTCPeerConnection({ iceServers: [], bundlePolicy });
    window.pc = pc;
    let tracks = [];
    if (media) {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
      tracks = stream.getTracks().map((t) => t.kind);
      for (const t of stream.getTracks()) pc.addTrack(t, stream);
    }
    window.ch = pc.createDataChannel('chat');
    window.ch.binaryType = 'arraybuffer';
    await pc.setLocalDescription(await pc.createOffer());
    await window.gathered(pc);
    return { sdp: pc.localDescription.sdp, tracks };
  }, media, bundlePolicy);
  const offered = sections(offer.sdp);
  if (media) {
    check(offer.tracks.includes('audio') && offer.tracks.includes('video'),
      `${name}: getUserMedia gave ${offer.tracks.join('+')} tracks`);
    check(offered.map((s) => s.kind).join(',') === 'audio,video,application',
      `${name}: Chromium offers ${offered.map((s) => s.kind).join(',')} (${offer.sdp.length} bytes)`);
  }
  if (tag === 'mdns') {
    const hosts = offer.sdp.split(/\r?\n/).filter((l) => / typ host/.test(l) && / udp /i.test(l));
    check(hosts.length > 0 && hosts.every((l) => /\.local /.test(l)),
      `${name}: the offer's host candidates are mDNS names: ${hosts.map((l) => l.split(' ')[4]).join(' ')}`);
  }
  if (SAVE) {
    mkdirSync(SAVE, { recursive: true });
    writeFileSync(join(SAVE, `chromium-offer-${tag}.sdp`), offer.sdp);
  }
  writeJson(offerPath, { type: 'offer', sdp: offer.sdp });
  const exit = cli(['answer', '--json', '--greet', '--offer', offerPath, '--answer-out', answerPath,
    '--duration', '40', '--summary', summary]);
  const answer = await waitJson(answerPath);
  check(answer !== null, `${name}: the CLI answered Chromium's offer`);
  if (answer === null) {
    console.log(`--- Chromium's offer ---\n${offer.sdp}`);
    check(false, `${name}: the CLI exited ${await exit} without an answer`);
    await page.close();
    return;
  }
  if (SAVE) writeFileSync(join(SAVE, `peerless-answer-to-chromium-${tag}.sdp`), answer.sdp);
  const bundleTag = media ? checkAnswer(name, offer.sdp, answer.sdp) : null;
  if (media && bundlePolicy === 'max-bundle') {
    // What makes the case: the data channel can only run over the audio section's transport.
    const gathered = offered.filter((o) => o.candidates > 0).map((o) => o.mid);
    check(gathered.length === 1 && gathered[0] === bundleTag,
      `${name}: the offer is max-bundle: only the tagged section (mid ${bundleTag}) has candidates: mids ${gathered.join(' ')}`);
  }
  const result = await page.evaluate(async (sdp, count, big) => {
    const pc = window.pc, ch = window.ch;
    const sent = window.messages(count, big);
    const got = [];
    let greeted = false, opened = false;
    const done = new Promise((resolve) => {
      pc.addEventListener('connectionstatechange', () => { if (pc.connectionState === 'failed') resolve(); });
      ch.onmessage = (e) => {
        if (!greeted && e.data === 'hello from peerless') { greeted = true; return; }
        got.push(e.data);
        if (got.length === sent.length) resolve();
      };
    });
    ch.onopen = () => { opened = true; for (const m of sent) ch.send(m); };
    // A transceiver whose m= section the answer rejects is stopped and then leaves
    // getTransceivers() (WebRTC 1.0, "set the session description"), so keep hold of them first.
    const transceivers = pc.getTransceivers().map((t) => ({ t, mid: t.mid }));
    let error = null;
    try {
      await pc.setRemoteDescription({ type: 'answer', sdp });
    } catch (e) {
      error = String(e);
    }
    if (!error) await Promise.race([done, new Promise((r) => setTimeout(r, 30000))]);
    const equal = got.length === sent.length && got.every((m, i) => window.same(m, sent[i]));
    const kinds = got.every((m, i) => (typeof m === 'string') === (typeof sent[i] === 'string'));
    // Chromium updates connectionState from its network thread by a posted task, so it may
    // still say 'connecting' as the last echo arrives: give it up to 2 s to settle, and say how
    // long it took (a transport really stuck in checking still fails the check).
    const settled = Date.now();
    while (pc.connectionState !== 'connected' && Date.now() - settled < 2000) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const state = pc.connectionState;
    const settleMs = Date.now() - settled;
    const media = transceivers.map(({ t, mid }) => ({ mid, kind: t.receiver.track.kind, dir: t.currentDirection }));
    const left = pc.getTransceivers().map((t) => t.mid);
    pc.close();
    return { error, opened, greeted, got: got.length, equal, kinds, state, settleMs, media, left };
  }, answer.sdp, COUNT, BIG);
  if (result.error) exit.kill();
  check(result.error === null, `${name}: Chromium's setRemoteDescription accepts our answer${result.error ? ': ' + result.error : ''}`);
  if (media) {
    // The tagged section's transceiver stays, inactive; the rejected one is stopped and gone.
    check(result.media.length === 2 &&
      result.media.every((m) => m.dir === (m.mid === bundleTag ? 'inactive' : 'stopped')) &&
      result.left.length === 1 && result.left[0] === bundleTag,
      `${name}: Chromium keeps the tagged transceiver inactive and stops the other: ` +
      `${JSON.stringify(result.media)}, left ${JSON.stringify(result.left)}`);
  }
  check(result.opened, `${name}: the channel opened in Chromium`);
  check(result.state === 'connected', `${name}: connectionState ${result.state} (${result.settleMs} ms after the last echo)`);
  check(result.greeted, `${name}: our greeting arrived`);
  check(result.got === COUNT, `${name}: ${result.got}/${COUNT} echoes came back`);
  check(result.equal && result.kinds, `${name}: every echo equals what was sent, text as text, binary as binary`);
  const rc = await exit;
  check(rc === 0, `${name}: the CLI saw the channel open and echoed (exit ${rc})`);
  const s = readSummary(summary);
  check(s.opened && s.received === COUNT && s.sent === COUNT + 1, `${name}: summary ${JSON.stringify(s)}`);
  if (tag === 'mdns') {
    // The offer named no address, so the pair's remote end was learned from Chromium's check.
    const remote = (s.selected_pair || '').split(' -> ')[1] || '';
    const [ip, port] = [remote.slice(0, remote.lastIndexOf(':')), remote.slice(remote.lastIndexOf(':') + 1)];
    check(ip !== '' && !offer.sdp.includes(` ${ip} ${port} typ`),
      `${name}: the selected pair's remote ${remote} is peer-reflexive (not in the offer)`);
  }
  await page.close();
}

// The CLI offers a data channel, Chromium answers and echoes.
async function weOffer(browser, name, tag) {
  const page = await newPage(browser);
  const offerPath = join(WORK, `o-${tag}.json`), answerPath = join(WORK, `a-${tag}.json`);
  const summary = join(WORK, `s-${tag}.json`);
  const exit = cli(['offer', '--json', '--offer-out', offerPath, '--answer-in', answerPath,
    '--count', String(COUNT), '--big', String(BIG), '--duration', '40', '--summary', summary]);
  const offer = await waitJson(offerPath);
  check(offer !== null, `${name}: the CLI made an offer`);
  if (offer === null) {
    check(false, `${name}: the CLI exited ${await exit} without an offer`);
    await page.close();
    return;
  }
  const answer = await page.evaluate(async (sdp) => {
    const pc = new RTCPeerConnection({ iceServers: [] });
    window.pc = pc;
    window.echoed = 0;
    window.label = null;
    pc.ondatachannel = (e) => {
      const ch = e.channel;
      ch.binaryType = 'arraybuffer';
      window.label = ch.label;
      ch.onmessage = (m) => { window.echoed++; ch.send(m.data); };
    };
    try {
      await pc.setRemoteDescription({ type: 'offer', sdp });
      await pc.setLocalDescription(await pc.createAnswer());
    } catch (e) {
      return { error: String(e) };
    }
    await window.gathered(pc);
    return { sdp: pc.localDescription.sdp };
  }, offer.sdp);
  check(!answer.error, `${name}: Chromium accepts our offer and answers${answer.error ? ': ' + answer.error : ''}`);
  if (answer.error) {
    console.log(`--- our offer ---\n${offer.sdp}`);
    await page.close();
    exit.kill();
    await exit;
    return;
  }
  if (tag.endsWith('mdns')) {
    const hosts = answer.sdp.split(/\r?\n/).filter((l) => / typ host/.test(l) && / udp /i.test(l));
    check(hosts.length > 0 && hosts.every((l) => /\.local /.test(l)),
      `${name}: the answer's host candidates are mDNS names: ${hosts.map((l) => l.split(' ')[4]).join(' ')}`);
  }
  if (SAVE) writeFileSync(join(SAVE, `chromium-answer-${tag}.sdp`), answer.sdp);
  writeJson(answerPath, { type: 'answer', sdp: answer.sdp });
  const rc = await exit;
  const seen = await page.evaluate(() => {
    const r = { label: window.label, echoed: window.echoed, state: window.pc.connectionState };
    window.pc.close();
    return r;
  });
  check(seen.label === 'chat', `${name}: our channel '${seen.label}' opened in Chromium`);
  check(seen.echoed === COUNT, `${name}: Chromium echoed ${seen.echoed}/${COUNT}`);
  check(rc === 0, `${name}: the CLI checked every echo (exit ${rc})`);
  const s = readSummary(summary);
  check(s.opened && s.echoed === COUNT, `${name}: summary ${JSON.stringify(s)}`);
  if (tag.endsWith('mdns')) {
    const remote = (s.selected_pair || '').split(' -> ')[1] || '';
    const [ip, port] = [remote.slice(0, remote.lastIndexOf(':')), remote.slice(remote.lastIndexOf(':') + 1)];
    check(ip !== '' && !answer.sdp.includes(` ${ip} ${port} typ`),
      `${name}: the selected pair's remote ${remote} is peer-reflexive (not in the answer)`);
  }
  await page.close();
}

const { launchChromium } = await import(join(ROOT_DIR, 'scripts', 'chromium.mjs'));
const timed = async (label, f) => {
  const t0 = Date.now();
  await f();
  console.log(`     (${label}: ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
};
try {
  if (PART === 'mdns') {
    const hiding = await launchChromium(NPM_DIR, WORK, { mdns: true });
    try {
      await timed('e', () => chromiumOffers(hiding, 'e. Chromium offers data, mDNS-hidden hosts', 'mdns'));
      await timed('f', () => weOffer(hiding, 'f. we offer, Chromium answers with mDNS-hidden hosts', 'we-offer-mdns'));
    } finally {
      await hiding.close();
    }
  } else {
    const browser = await launchChromium(NPM_DIR, WORK);
    try {
      await timed('a', () => chromiumOffers(browser, 'a. Chromium offers data', 'datachannel'));
      await timed('b', () => chromiumOffers(browser, 'b. Chromium offers audio+video+data', 'audio-video-datachannel', { media: true }));
      await timed('c', () => weOffer(browser, 'c. we offer, Chromium answers', 'we-offer'));
      await timed('d', () => chromiumOffers(browser, 'd. Chromium offers audio+video+data, max-bundle',
        'audio-video-datachannel-max-bundle', { media: true, bundlePolicy: 'max-bundle' }));
    } finally {
      await browser.close();
    }
  }
} catch (e) {
  check(false, `the run threw: ${e.stack || e}`);
} finally {
  server.close();
}
if (failures.length) {
  console.log(`${failures.length} check(s) failed`);
  process.exit(1);
}
console.log(`peer-chromium (${PART}): all checks passed`);
