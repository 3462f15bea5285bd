// The page side of scripts/interop/peer-firefox.sh, which says what it checks and runs it:
//   node peer-firefox.mjs CLI NPM_DIR WORK DEMO   (ROOT in the environment)
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleGroup, check, checkAnswer, failures, sections } from './browser-checks.mjs';

const [BIN, NPM_DIR, WORK, DEMO] = process.argv.slice(2);
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
function save(name, sdp) {
  if (!SAVE) return;
  mkdirSync(SAVE, { recursive: true });
  writeFileSync(join(SAVE, name), sdp);
}
// A blank page on 127.0.0.1: a secure context, unlike about:blank, so getUserMedia exists.
const server = createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/html' });
  res.end('<!doctype html><meta charset="utf-8"><title>peerless interop</title>');
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));

const { launchFirefox } = await import(join(ROOT_DIR, 'scripts', 'firefox.mjs'));
const browser = await launchFirefox(NPM_DIR, WORK);
try {
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  await page.evaluate(() => {
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
          out.push(`firefox message ${i} ✓`);
        }
      }
      return out;
    };
    window.same = (a, b) => {
      if (typeof a === 'string' || typeof b === 'string') return a === b;
      const x = new Uint8Array(a), y = new Uint8Array(b);
      return x.length === y.length && x.every((v, i) => v === y[i]);
    };
  });

  // Firefox offers (a data channel, and with `media` the fake camera and microphone), the CLI
  // answers and echoes.
  const firefoxOffers = async (name, tag, { media = false, bundlePolicy = 'balanced' } = {}) => {
    const offerPath = join(WORK, `o-${tag}.json`), answerPath = join(WORK, `a-${tag}.json`);
    const summary = join(WORK, `s-${tag}.json`);
    const offer = await page.evaluate(async (media, bundlePolicy) => {
      const pc = new RTCPeerConnection({ iceServers: [], bundlePolicy });
      window.pc1 = pc;
      let tracks = [];
      if (media) {
        const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
        tracks = stream.getTracks().map((t) => t.kind);
        for (const t of stream.getTracks()) pc.addTrack(t, stream);
      }
      window.ch1 = pc.createDataChannel('chat');
      window.ch1.binaryType = 'arraybuffer';
      await pc.setLocalDescription(await pc.createOffer());
      await window.gathered(pc);
      return { sdp: pc.localDescription.sdp, tracks };
    }, media, bundlePolicy);
    const offered = sections(offer.sdp);
    if (media) {
      check(offer.tracks.includes('audio') && offer.tracks.includes('video'),
        `${name}: getUserMedia gave ${offer.tracks.join('+')} tracks`);
      check(offered.map((x) => x.kind).join(',') === 'audio,video,application',
        `${name}: Firefox offers ${offered.map((x) => x.kind).join(',')} (${offer.sdp.length} bytes)`);
    }
    save(`firefox-offer-${tag}.sdp`, offer.sdp);
    writeJson(offerPath, { type: 'offer', sdp: offer.sdp });
    const exit = cli(['answer', '--json', '--greet', '--offer', offerPath, '--answer-out', answerPath,
      '--duration', '40', '--summary', summary]);
    let answer;
    try {
      answer = await waitJson(answerPath);
    } catch (e) {
      console.log(`--- Firefox's offer ---\n${offer.sdp}`);
      check(false, `${name}: the CLI exited ${await exit} without an answer`);
      return;
    }
    save(`peerless-answer-to-firefox-${tag}.sdp`, answer.sdp);
    const bundleTag = media ? checkAnswer(name, offer.sdp, answer.sdp) : null;
    if (media && bundlePolicy === 'max-bundle') {
      // What makes the case: the data channel can only run over the audio section's transport.
      const gathered = offered.filter((o) => o.candidates > 0).map((o) => o.mid);
      check(gathered.length === 1 && gathered[0] === bundleTag,
        `${name}: the offer is max-bundle: only the tagged section (mid ${bundleTag}) has candidates: mids ${gathered.join(' ')}`);
    }
    const result = await page.evaluate(async (sdp, count, big) => {
      const pc = window.pc1, ch = window.ch1;
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
      // A transceiver whose m= section the answer rejects is stopped (WebRTC 1.0, "set the
      // session description") and may then leave getTransceivers(), so keep hold of them first.
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
      const state = pc.connectionState;
      const tracks = transceivers.map(({ t, mid }) => ({ mid, kind: t.receiver.track.kind, dir: t.currentDirection, stopped: t.stopped }));
      pc.close();
      return { error, opened, greeted, got: got.length, equal, kinds, state, tracks };
    }, answer.sdp, COUNT, BIG);
    if (result.error) exit.kill();
    check(result.error === null, `${name}: Firefox's setRemoteDescription accepts our answer${result.error ? ': ' + result.error : ''}`);
    if (media) {
      // The tagged section's transceiver stays, inactive; the rejected one is stopped.
      check(result.tracks.length === 2 && result.tracks.every((t) =>
        t.mid === bundleTag ? t.dir === 'inactive' && !t.stopped : t.dir === 'stopped' && t.stopped),
        `${name}: Firefox keeps the tagged transceiver inactive and stops the other: ${JSON.stringify(result.tracks)}`);
    }
    check(result.opened, `${name}: the channel opened in Firefox`);
    check(result.state === 'connected', `${name}: connectionState ${result.state}`);
    check(result.greeted, `${name}: our greeting arrived`);
    check(result.got === COUNT, `${name}: ${result.got}/${COUNT} echoes came back`);
    check(result.equal && result.kinds, `${name}: every echo equals what was sent, text as text, binary as binary`);
    const rc = await exit;
    check(rc === 0, `${name}: the CLI saw the channel open and echoed (exit ${rc})`);
    const s = JSON.parse(readFileSync(summary, 'utf8'));
    check(s.opened && s.received === COUNT && s.sent === COUNT + 1, `${name}: summary ${JSON.stringify(s)}`);
  };

  // 1. Firefox offers, we answer.
  await firefoxOffers('Firefox offers', 'datachannel');

  // 2. We offer, Firefox answers.
  {
    const offerPath = join(WORK, 'o2.json'), answerPath = join(WORK, 'a2.json'), summary = join(WORK, 's2.json');
    const exit = cli(['offer', '--json', '--offer-out', offerPath, '--answer-in', answerPath,
      '--count', String(COUNT), '--big', String(BIG), '--duration', '40', '--summary', summary]);
    const offer = await waitJson(offerPath);
    const answer = await page.evaluate(async (sdp) => {
      const pc = new RTCPeerConnection({ iceServers: [] });
      window.pc2 = pc;
      window.echoed2 = 0;
      window.label2 = null;
      pc.ondatachannel = (e) => {
        const ch = e.channel;
        ch.binaryType = 'arraybuffer';
        window.label2 = ch.label;
        ch.onmessage = (m) => { window.echoed2++; ch.send(m.data); };
      };
      await pc.setRemoteDescription({ type: 'offer', sdp });
      await pc.setLocalDescription(await pc.createAnswer());
      await window.gathered(pc);
      return pc.localDescription.sdp;
    }, offer.sdp);
    writeJson(answerPath, { type: 'answer', sdp: answer });
    const rc = await exit;
    const seen = await page.evaluate(() => {
      const r = { label: window.label2, echoed: window.echoed2 };
      window.pc2.close();
      return r;
    });
    check(seen.label === 'chat', `we offer: our channel '${seen.label}' opened in Firefox`);
    check(seen.echoed === COUNT, `we offer: Firefox echoed ${seen.echoed}/${COUNT}`);
    check(rc === 0, `we offer: the CLI checked every echo (exit ${rc})`);
    const s = JSON.parse(readFileSync(summary, 'utf8'));
    check(s.opened && s.echoed === COUNT, `we offer: summary ${JSON.stringify(s)}`);
  }

  // 3. The demo page.
  {
    const port = 18000 + Math.floor(Math.random() * 1000);
    const demo = spawn(DEMO, ['--http', `127.0.0.1:${port}`], { stdio: ['ignore', 'inherit', 'inherit'] });
    try {
      const demoPage = await browser.newPage();
      let loaded = false;
      for (let i = 0; i < 50 && !loaded; i++) {
        try { await demoPage.goto(`http://127.0.0.1:${port}/`); loaded = true; } catch (e) { await new Promise((r) => setTimeout(r, 100)); }
      }
      check(loaded, 'demo: the page loads');
      const result = await demoPage.evaluate(async () => {
        const text = () => document.getElementById('log').textContent;
        const until = async (f) => { for (let i = 0; i < 100 && !f(); i++) await new Promise((r) => setTimeout(r, 100)); return f(); };
        const opened = await until(() => text().includes('channel open'));
        const greeted = await until(() => text().includes('hello from peerless'));
        if (opened) window.demo.ch.send('ping from firefox');
        const echoed = await until(() => text().includes('echo: ping from firefox'));
        return { opened, greeted, echoed, log: text() };
      });
      check(result.opened, 'demo: the channel opened in the page');
      check(result.greeted, 'demo: the Peer greeted');
      check(result.echoed, 'demo: the Peer echoed what the page sent');
      await new Promise((r) => setTimeout(r, 1500));
      // The live stats are the Peer's getStats report: W3C webrtc-stats entries, ids that
      // cross-reference, and the page draws a table per entry.
      const report = await demoPage.evaluate(async () => (await fetch('/stats')).json());
      const ofType = (t) => report.filter((e) => e.type === t);
      const transport = ofType('transport')[0];
      const pair = transport && report.find((e) => e.id === transport.selectedCandidatePairId);
      const dc = ofType('data-channel')[0];
      const pc = ofType('peer-connection')[0];
      check(Array.isArray(report) && transport && transport.dtlsState === 'connected'
        && ['connected', 'completed'].includes(transport.iceState)
        && pair && pair.type === 'candidate-pair' && pair.state === 'succeeded'
        && report.some((e) => e.id === pair.localCandidateId && e.type === 'local-candidate')
        && dc && dc.label === 'chat' && dc.state === 'open' && dc.messagesReceived >= 1
        && pc && pc.dataChannelsOpened >= 1,
        `demo: live stats report ${JSON.stringify(report)}`);
      const captions = await demoPage.evaluate(() =>
        [...document.querySelectorAll('#stats table caption')].map((c) => c.textContent));
      check(captions.some((c) => c.startsWith('transport')) && captions.some((c) => c.startsWith('data-channel')),
        `demo: the page shows the report as a table per entry (${captions.join(', ')})`);
      await demoPage.close();
    } finally {
      demo.kill();
    }
  }

  // 4. A browser app's audio + video + data channel offer, we answer.
  await firefoxOffers('Firefox offers audio+video+data', 'audio-video-datachannel', { media: true });

  // 5. As 4 with bundlePolicy 'max-bundle'.
  await firefoxOffers('Firefox offers audio+video+data, max-bundle',
    'audio-video-datachannel-max-bundle', { media: true, bundlePolicy: 'max-bundle' });
} finally {
  await browser.close();
  server.close();
}
if (failures.length) {
  console.log(`${failures.length} check(s) failed`);
  process.exit(1);
}
console.log('peer-firefox: all checks passed');
