// The page side of scripts/interop/peer-firefox-icetcp.sh, which says what it checks and runs it:
//   node peer-firefox-icetcp.mjs CLI NPM_DIR WORK   (ROOT in the environment)
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [BIN, NPM_DIR, WORK] = process.argv.slice(2);
const COUNT = 40;
let failures = 0;
function check(ok, what) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures++;
}
function cli(args) {
  const p = spawn(BIN, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  return new Promise((resolve) => p.on('exit', (code, signal) => resolve(code ?? signal)));
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
const candidates = (sdp) => sdp.split(/\r?\n/).filter((l) => l.startsWith('a=candidate:'));
// The selected pair as Firefox's getStats tells it (protocol, tcpType, address of each end).
async function firefoxPair(page) {
  return page.evaluate(async () => {
    const stats = await window.pc.getStats();
    let pair = null;
    stats.forEach((s) => { if (s.type === 'candidate-pair' && s.selected) pair = s; });
    if (!pair) return null;
    const c = (id) => { let t = null; stats.forEach((s) => { if (s.id === id) t = s; }); return t; };
    const l = c(pair.localCandidateId), r = c(pair.remoteCandidateId);
    return {
      local: { protocol: l.protocol, tcpType: l.tcpType, type: l.candidateType, port: l.port },
      remote: { protocol: r.protocol, tcpType: r.tcpType, type: r.candidateType, address: r.address, port: r.port },
    };
  });
}
function checkOurs(tag, s, listen) {
  console.log(`     ${tag}: open_ms=${s.open_ms} selected_pair=${s.selected_pair} ice_tcp=${JSON.stringify(s.ice_tcp)}`);
  check(s.selected_pair.startsWith(`${listen} -> 127.0.0.1:`), `${tag}: our selected pair leaves from the TCP listener ${listen}`);
  check(s.ice_tcp && s.ice_tcp.accepted >= 1 && s.ice_tcp.received > 0 && s.ice_tcp.sent > 0,
    `${tag}: datagrams went both ways over accepted TCP connections`);
}

const { launchFirefox } = await import(join(process.env.ROOT, 'scripts', 'firefox.mjs'));
const browser = await launchFirefox(NPM_DIR, WORK, { 'media.peerconnection.ice.tcp': true });
const timer = setTimeout(() => { console.log('FAIL timed out'); process.exit(1); }, 150000);
try {
  const page = await browser.newPage();

  // 1. Firefox offers a data channel, the CLI answers with only a passive TCP candidate.
  {
    const tag = 'firefox offers', listen = '127.0.0.1:7443';
    const offerPath = join(WORK, 'o1.json'), answerPath = join(WORK, 'a1.json'), summ = join(WORK, 's1.json');
    const offer = await page.evaluate(async () => {
      const pc = new RTCPeerConnection({ iceServers: [] });
      window.pc = pc;
      window.ch = pc.createDataChannel('chat');
      await pc.setLocalDescription(await pc.createOffer());
      await new Promise((resolve) => {
        if (pc.iceGatheringState === 'complete') return resolve();
        pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') resolve(); };
      });
      return pc.localDescription.sdp;
    });
    const active = candidates(offer).filter((l) => / tcp /i.test(l) && /tcptype active/.test(l));
    console.log(`     Firefox's offer: ${candidates(offer).length} candidates, ${active.length} TCP active: ${active[0] || '-'}`);
    check(active.length > 0, `${tag}: Firefox offers a TCP active candidate`);
    writeJson(offerPath, { type: 'offer', sdp: offer });
    const exit = cli(['answer', '--json', '--greet', '--offer', offerPath, '--answer-out', answerPath,
      '--duration', '30', '--summary', summ, '--tcp-listen', listen, '--no-udp']);
    const answer = await waitJson(answerPath);
    const ours = candidates(answer.sdp);
    console.log(`     our answer: ${ours.join(' | ')}`);
    check(ours.length === 1 && / tcp /.test(ours[0]) && ours[0].endsWith(`127.0.0.1 7443 typ host tcptype passive`),
      `${tag}: our answer has one candidate, TCP passive on ${listen}`);
    const t0 = Date.now();
    const r = await page.evaluate(async (sdp, count) => {
      const pc = window.pc, ch = window.ch;
      const sent = Array.from({ length: count }, (_, i) => (i % 2 ? `over tcp ${i}` : 'x'.repeat(i * 97 + 1)));
      const got = [];
      let greeted = false, opened = false;
      const done = new Promise((resolve) => {
        ch.onmessage = (e) => {
          if (!greeted && e.data === 'hello from peerless') { greeted = true; return; }
          got.push(e.data);
          if (got.length === sent.length) resolve();
        };
        setTimeout(resolve, 20000);
      });
      ch.onopen = () => { opened = true; sent.forEach((m) => ch.send(m)); };
      await pc.setRemoteDescription({ type: 'answer', sdp });
      await done;
      return { opened, greeted, echoed: got.length, same: got.every((m, i) => m === sent[i]) };
    }, answer.sdp, COUNT);
    console.log(`     Firefox: channel open and ${r.echoed} echoes in ${Date.now() - t0} ms`);
    check(r.opened, `${tag}: the data channel opened in Firefox`);
    check(r.greeted, `${tag}: our greeting arrived in Firefox`);
    check(r.echoed === COUNT && r.same, `${tag}: ${r.echoed}/${COUNT} echoes came back equal`);
    const p = await firefoxPair(page);
    console.log(`     Firefox's selected pair: ${JSON.stringify(p)}`);
    check(p && p.local.protocol === 'tcp' && p.remote.protocol === 'tcp' && p.remote.port === 7443,
      `${tag}: Firefox's selected pair is TCP to ${listen}`);
    // The channel's close ends the CLI's call; the connection stays up until it has exited,
    // so its summary still has the selected pair.
    await page.evaluate(() => window.ch.close());
    const code = await exit;
    await page.evaluate(() => window.pc.close());
    check(code === 0, `${tag}: the CLI exited ${code}`);
    checkOurs(tag, await waitJson(summ, 5), listen);
  }

  // 2. The CLI offers with only a passive TCP candidate, Firefox answers and echoes.
  {
    const tag = 'we offer', listen = '127.0.0.1:7444';
    const offerPath = join(WORK, 'o2.json'), answerPath = join(WORK, 'a2.json'), summ = join(WORK, 's2.json');
    const exit = cli(['offer', '--json', '--offer-out', offerPath, '--answer-in', answerPath,
      '--count', String(COUNT), '--big', '20000', '--duration', '30', '--summary', summ,
      '--tcp-listen', listen, '--no-udp']);
    const offer = await waitJson(offerPath);
    const ours = candidates(offer.sdp);
    check(ours.length === 1 && ours[0].endsWith('127.0.0.1 7444 typ host tcptype passive'),
      `${tag}: our offer has one candidate, TCP passive on ${listen}`);
    const answer = await page.evaluate(async (sdp) => {
      const pc = new RTCPeerConnection({ iceServers: [] });
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
    }, offer.sdp);
    writeJson(answerPath, { type: 'answer', sdp: answer });
    const code = await exit;
    check(code === 0, `${tag}: the CLI checked every echo (exit ${code})`);
    const s = await waitJson(summ, 5);
    check(s.echoed === COUNT, `${tag}: ${s.echoed}/${COUNT} echoes`);
    checkOurs(tag, s, listen);
    await page.evaluate(() => window.pc.close());
  }
} catch (e) {
  console.log(`FAIL ${e.stack || e}`);
  failures++;
} finally {
  clearTimeout(timer);
  await browser.close();
}
console.log(failures ? `peer-firefox-icetcp: ${failures} check(s) failed` : 'peer-firefox-icetcp: all checks passed');
process.exit(failures ? 1 : 0);
