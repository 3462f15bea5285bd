// The page side of scripts/interop/peer-turn-firefox.sh, which says what it checks and runs it:
//   node peer-turn-firefox.mjs CLI NPM_DIR WORK TURN_URL   (ROOT in the environment)
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [BIN, NPM_DIR, WORK, URL] = process.argv.slice(2);
const COUNT = 40;
const TCP_URL = URL.replace('transport=udp', 'transport=tcp');
const ice = (url) => ['--ice-server', url, '--ice-username', 'alice', '--ice-credential', 'secret', '--relay-only'];
let failures = 0;
function check(ok, what) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures++;
}
function cli(args) {
  const p = spawn(BIN, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  const exit = new Promise((resolve) => p.on('exit', (code, signal) => resolve(code ?? signal)));
  exit.kill = () => p.kill();
  return exit;
}
async function waitJson(path, seconds = 25) {
  for (let i = 0; i < seconds * 10; i++) {
    if (existsSync(path)) {
      try { return JSON.parse(readFileSync(path, 'utf8')); } catch (e) { /* being written */ }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no ${path}`);
}
function writeJson(path, value) {
  writeFileSync(path + '.tmp', JSON.stringify(value));
  renameSync(path + '.tmp', path);
}
const types = (sdp) => [...new Set(sdp.split(/\r?\n/).filter((l) => l.startsWith('a=candidate:'))
  .map((l) => l.split(' typ ')[1].split(' ')[0]))].sort();

const { launchFirefox } = await import(join(process.env.ROOT, 'scripts', 'firefox.mjs'));
const browser = await launchFirefox(NPM_DIR, WORK);
const timer = setTimeout(() => { console.log("FAIL timed out"); process.exit(1); }, 240000);
try {
  const page = await browser.newPage();
  const configFor = (url) => ({ iceServers: [{ urls: url, username: 'alice', credential: 'secret' }], iceTransportPolicy: 'relay' });
  const config = configFor(URL);

  // 1. Firefox offers (relay only), the CLI answers (relay only) and echoes; then the same
  //    with both on TCP to the server.
  for (const [tag, url] of [['firefox offers', URL], ['firefox offers over tcp', TCP_URL]]) {
    const config = configFor(url);
    const offerPath = join(WORK, `o1-${tag.length}.json`), answerPath = join(WORK, `a1-${tag.length}.json`);
    const summ = join(WORK, `s1-${tag.length}.json`);
    const offer = await page.evaluate(async (config) => {
      const pc = new RTCPeerConnection(config);
      window.pc = pc;
      window.ch = pc.createDataChannel('chat');
      await pc.setLocalDescription(await pc.createOffer());
      await new Promise((resolve) => {
        if (pc.iceGatheringState === 'complete') return resolve();
        pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') resolve(); };
      });
      return pc.localDescription.sdp;
    }, config);
    check(types(offer).join() === 'relay', `${tag}: Firefox's candidate types ${types(offer)}`);
    writeJson(offerPath, { type: 'offer', sdp: offer });
    const exit = cli(['answer', '--json', '--greet', '--offer', offerPath, '--answer-out', answerPath,
      '--duration', '40', '--summary', summ, ...ice(url)]);
    const answer = await waitJson(answerPath);
    check(types(answer.sdp).join() === 'relay', `${tag}: our answer's candidate types ${types(answer.sdp)}`);
    const r = await page.evaluate(async (sdp, count) => {
      const pc = window.pc, ch = window.ch;
      const sent = Array.from({ length: count }, (_, i) => `through coturn ${i}`);
      const got = [];
      let greeted = false;
      const done = new Promise((resolve) => {
        ch.onmessage = (e) => {
          if (!greeted && e.data === 'hello from peerless') { greeted = true; return; }
          got.push(e.data);
          if (got.length === sent.length) resolve();
        };
        setTimeout(resolve, 30000);
      });
      ch.onopen = () => sent.forEach((m) => ch.send(m));
      await pc.setRemoteDescription({ type: 'answer', sdp });
      await done;
      let pair = null;
      (await pc.getStats()).forEach((s) => {
        if (s.type === 'candidate-pair' && s.selected) pair = s;
      });
      const stats = await pc.getStats();
      const kind = (id) => { let t = null; stats.forEach((s) => { if (s.id === id) t = s.candidateType; }); return t; };
      const result = { greeted, echoed: got.length, same: got.every((m, i) => m === sent[i]),
        local: pair && kind(pair.localCandidateId), remote: pair && kind(pair.remoteCandidateId) };
      ch.close();
      pc.close();
      return result;
    }, answer.sdp, COUNT);
    check(r.greeted, `${tag}: our greeting arrived in Firefox through the relay`);
    check(r.echoed === COUNT && r.same, `${tag}: ${r.echoed}/${COUNT} echoes came back equal`);
    check(r.local === 'relay' && r.remote === 'relay', `${tag}: Firefox's selected pair ${r.local}/${r.remote}`);
    const code = await exit;
    check(code === 0, `${tag}: the CLI exited ${code}`);
    const s = await waitJson(summ, 5);
    console.log(`     ${tag}: open_ms=${s.open_ms} selected_pair=${s.selected_pair} selected_types=${JSON.stringify(s.selected_types)}`);
    check(JSON.stringify(s.selected_types) === '["relay","relay"]', `${tag}: our selected pair is relay/relay`);
  }

  // 2. The CLI offers (relay only), Firefox answers (relay only) and echoes.
  {
    const offerPath = join(WORK, 'o2.json'), answerPath = join(WORK, 'a2.json'), summ = join(WORK, 's2.json');
    const exit = cli(['offer', '--json', '--offer-out', offerPath, '--answer-in', answerPath,
      '--count', String(COUNT), '--big', '20000', '--duration', '40', '--summary', summ, ...ice(URL)]);
    const offer = await waitJson(offerPath);
    check(types(offer.sdp).join() === 'relay', `we offer: our offer's candidate types ${types(offer.sdp)}`);
    const answer = await page.evaluate(async (config, sdp) => {
      const pc = new RTCPeerConnection(config);
      window.pc = pc;
      pc.ondatachannel = (e) => {
        e.channel.binaryType = 'arraybuffer';
        e.channel.onmessage = (m) => e.channel.send(m.data);
      };
      await pc.setRemoteDescription({ type: 'offer', sdp });
      await pc.setLocalDescription(await pc.createAnswer());
      await new Promise((resolve) => {
        if (pc.iceGatheringState === 'complete') return resolve();
        pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') resolve(); };
      });
      return pc.localDescription.sdp;
    }, config, offer.sdp);
    check(types(answer).join() === 'relay', `we offer: Firefox's candidate types ${types(answer)}`);
    writeJson(answerPath, { type: 'answer', sdp: answer });
    const code = await exit;
    check(code === 0, `we offer: the CLI checked every echo (exit ${code})`);
    const s = await waitJson(summ, 5);
    console.log(`     we offer: open_ms=${s.open_ms} echoed=${s.echoed} selected_pair=${s.selected_pair} selected_types=${JSON.stringify(s.selected_types)}`);
    check(s.echoed === COUNT && JSON.stringify(s.selected_types) === '["relay","relay"]', 'we offer: summary: all echoed over relay/relay');
    await page.evaluate(() => window.pc.close());
  }

  // 3. Media through the relay: the CLI offers our VP8 clip (relay only), Firefox answers
  //    (relay only, receive only) and must decode at least FRAMES of it (getStats
  //    inbound-rtp framesDecoded) over a relay/relay pair. The CLI ends after sending 150.
  {
    const FRAMES = 60;
    const offerPath = join(WORK, 'o3.json'), answerPath = join(WORK, 'a3.json'), summ = join(WORK, 's3.json');
    const clip = join(process.env.ROOT, 'peer', 'tests', 'media', 'clip.vp8.ivf');
    const exit = cli(['offer', '--json', '--offer-out', offerPath, '--answer-in', answerPath, '--no-data',
      '--video', clip, '--min-frames', '150', '--duration', '40', '--summary', summ, ...ice(URL)]);
    const offer = await waitJson(offerPath);
    check(types(offer.sdp).join() === 'relay', `media: our offer's candidate types ${types(offer.sdp)}`);
    const answer = await page.evaluate(async (config, sdp) => {
      const pc = new RTCPeerConnection(config);
      window.pc = pc;
      await pc.setRemoteDescription({ type: 'offer', sdp });
      await pc.setLocalDescription(await pc.createAnswer());
      await new Promise((resolve) => {
        if (pc.iceGatheringState === 'complete') return resolve();
        pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') resolve(); };
      });
      return pc.localDescription.sdp;
    }, config, offer.sdp);
    check(types(answer).join() === 'relay', `media: Firefox's candidate types ${types(answer)}`);
    writeJson(answerPath, { type: 'answer', sdp: answer });
    const r = await page.evaluate(async (frames) => {
      const pc = window.pc, t0 = performance.now();
      let v = {}, pair = null, stats = null;
      while (performance.now() - t0 < 30000) {
        stats = await pc.getStats();
        stats.forEach((s) => {
          if (s.type === 'inbound-rtp' && s.kind === 'video') v = s;
          if (s.type === 'candidate-pair' && s.selected) pair = s;
        });
        if ((v.framesDecoded || 0) >= frames) break;
        await new Promise((res) => setTimeout(res, 200));
      }
      const kind = (id) => { let t = null; stats.forEach((s) => { if (s.id === id) t = s.candidateType; }); return t; };
      let codec = null;
      stats.forEach((s) => { if (s.id === v.codecId) codec = s.mimeType; });
      return { framesDecoded: v.framesDecoded || 0, width: v.frameWidth, height: v.frameHeight,
        packetsReceived: v.packetsReceived, packetsLost: v.packetsLost, codec,
        local: pair && kind(pair.localCandidateId), remote: pair && kind(pair.remoteCandidateId),
        seconds: Math.round(performance.now() - t0) / 1000 };
    }, FRAMES);
    console.log(`     media: Firefox ${JSON.stringify(r)}`);
    check(r.codec === 'video/VP8' && r.framesDecoded >= FRAMES,
      `media: Firefox decoded ${r.framesDecoded} of our ${r.codec} frames through the relay (>= ${FRAMES}), ${r.width}x${r.height}`);
    check(r.local === 'relay' && r.remote === 'relay', `media: Firefox's selected pair ${r.local}/${r.remote}`);
    const code = await Promise.race([exit, new Promise((res) => setTimeout(() => res('timeout'), 30000))]);
    check(code === 0, `media: the CLI sent its frames and exited ${code}`);
    const s = await waitJson(summ, 5);
    console.log(`     media: open_ms=${s.open_ms} selected_pair=${s.selected_pair} selected_types=${JSON.stringify(s.selected_types)}`);
    check(JSON.stringify(s.selected_types) === '["relay","relay"]', 'media: our selected pair is relay/relay');
    await page.evaluate(() => window.pc.close());
    exit.kill();
  }
} catch (e) {
  console.log(`FAIL ${e.stack || e}`);
  failures++;
} finally {
  clearTimeout(timer);
  await browser.close();
}
console.log(failures ? `peer-turn-firefox: ${failures} check(s) failed` : 'peer-turn-firefox: all checks passed');
process.exit(failures ? 1 : 0);
