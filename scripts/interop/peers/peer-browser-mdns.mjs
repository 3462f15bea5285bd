// The page side of scripts/interop/peer-chromium-mdns.sh and peer-firefox-mdns.sh, which say
// what they check and run it:
//   node peer-browser-mdns.mjs CLI NPM_DIR WORK chromium|firefox   (ROOT in the environment;
//   the nft rules of the script set)
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { check, failures } from './browser-checks.mjs';

const [BIN, NPM_DIR, WORK, BROWSER] = process.argv.slice(2);
const NAME = BROWSER === 'firefox' ? 'Firefox' : 'Chromium';
const ROOT_DIR = process.env.ROOT;
const COUNT = 20;
// The CLI's fixed ports (the nft rules of the script name them).
const PORT_ANSWER = 40000, PORT_OFFER = 40001, PORT_CONTROL = 40002;
const ADDR = '10.255.0.1';

function cli(args) {
  const p = spawn(BIN, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  const exit = new Promise((resolve) => p.on('exit', (code, signal) => resolve(code ?? signal)));
  exit.kill = () => p.kill();
  return exit;
}
async function waitJson(path, seconds = 20) {
  for (let i = 0; i < seconds * 10; i++) {
    if (existsSync(path)) {
      try { return JSON.parse(readFileSync(path, 'utf8')); } catch (e) { /* being written */ }
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
const hostLines = (sdp) => sdp.split(/\r?\n/).filter((l) => /^a=candidate:/.test(l) && / typ host/.test(l) && / udp /i.test(l));

const server = createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/html' });
  res.end('<!doctype html><meta charset="utf-8"><title>peerless mdns</title>');
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
  // The selected pair's candidate types and addresses as the browser's getStats reports them
  // (Chromium names it from the transport; Firefox marks the pair `selected`).
  window.selected = async (pc) => {
    const stats = await pc.getStats();
    let pair = null;
    stats.forEach((s) => { if (s.type === 'transport' && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId); });
    if (!pair) stats.forEach((s) => { if (s.type === 'candidate-pair' && (s.selected || (s.nominated && s.state === 'succeeded'))) pair = s; });
    if (!pair) return null;
    const l = stats.get(pair.localCandidateId), r = stats.get(pair.remoteCandidateId);
    return { local: l && l.candidateType, remote: r && r.candidateType, remoteAddress: r && `${r.address}:${r.port}` };
  };
};

async function newPage(browser) {
  const page = await browser.newPage();
  page.on('console', (m) => { if (m.type() === 'error') console.log(`page: ${m.text()}`); });
  await page.goto(URL);
  await page.evaluate(HELPERS);
  return page;
}

// 0. The control: as 1 without --mdns. The name is unusable to the CLI and the browser's checks
// are dropped, so nothing connects: the rules leave mDNS the only way in 1.
async function control(browser) {
  const name = `0. control: ${NAME} offers (.local host), the CLI has no mDNS`;
  const page = await newPage(browser);
  const offerPath = join(WORK, 'o0.json'), answerPath = join(WORK, 'a0.json'), summary = join(WORK, 's0.json');
  const offer = await page.evaluate(async () => {
    const pc = new RTCPeerConnection({ iceServers: [] });
    window.pc = pc;
    window.ch = pc.createDataChannel('chat');
    await pc.setLocalDescription(await pc.createOffer());
    await window.gathered(pc);
    return pc.localDescription.sdp;
  });
  writeJson(offerPath, { type: 'offer', sdp: offer });
  const exit = cli(['answer', '--json', '--bind', `${ADDR}:${PORT_CONTROL}`, '--offer', offerPath,
    '--answer-out', answerPath, '--duration', '6', '--summary', summary]);
  const answer = await waitJson(answerPath);
  check(answer !== null, `${name}: the CLI answered`);
  if (answer === null) { exit.kill(); await page.close(); return; }
  const state = await page.evaluate(async (sdp) => {
    const pc = window.pc;
    let opened = false;
    window.ch.onopen = () => { opened = true; };
    await pc.setRemoteDescription({ type: 'answer', sdp });
    await new Promise((r) => setTimeout(r, 6000));
    const s = { opened, state: pc.connectionState };
    pc.close();
    return s;
  }, answer.sdp);
  await exit;
  const s = readSummary(summary);
  console.log(`     CLI summary: ${JSON.stringify(s)}`);
  check(!state.opened && state.state !== 'connected' && !s.opened,
    `${name}: no connection in 6 s (${NAME}: ${state.state}, CLI opened ${s.opened})`);
  await page.close();
}

// 1. The browser offers with a hidden host; the CLI (--mdns) must resolve the name: the
// browser's checks toward it are dropped (nft) until the CLI has sent a check of its own, which
// it can only aim at the browser's address if it resolved the name.
async function chromiumOffers(browser) {
  const name = `1. ${NAME} offers (.local host), we resolve it`;
  const page = await newPage(browser);
  const offerPath = join(WORK, 'o1.json'), answerPath = join(WORK, 'a1.json'), summary = join(WORK, 's1.json');
  const offer = await page.evaluate(async () => {
    const pc = new RTCPeerConnection({ iceServers: [] });
    window.pc = pc;
    window.ch = pc.createDataChannel('chat');
    window.ch.binaryType = 'arraybuffer';
    await pc.setLocalDescription(await pc.createOffer());
    await window.gathered(pc);
    return pc.localDescription.sdp;
  });
  const hosts = hostLines(offer);
  check(hosts.length > 0 && hosts.every((l) => /\.local /.test(l)),
    `${name}: ${NAME}'s host candidates are mDNS names: ${hosts.map((l) => l.split(' ')[4]).join(' ')}`);
  check(!offer.includes(ADDR), `${name}: the offer does not show ${ADDR}`);
  writeJson(offerPath, { type: 'offer', sdp: offer });
  const exit = cli(['answer', '--json', '--mdns', '--bind', `${ADDR}:${PORT_ANSWER}`, '--offer', offerPath,
    '--answer-out', answerPath, '--duration', '30', '--summary', summary]);
  const answer = await waitJson(answerPath);
  check(answer !== null, `${name}: the CLI answered`);
  if (answer === null) { exit.kill(); await page.close(); return; }
  const result = await page.evaluate(async (sdp, count) => {
    const pc = window.pc, ch = window.ch;
    const got = [];
    const done = new Promise((resolve) => {
      pc.addEventListener('connectionstatechange', () => { if (pc.connectionState === 'failed') resolve(); });
      ch.onmessage = (e) => { got.push(e.data); if (got.length === count) resolve(); };
    });
    ch.onopen = () => { for (let i = 0; i < count; i++) ch.send(`chromium ${i}`); };
    await pc.setRemoteDescription({ type: 'answer', sdp });
    await Promise.race([done, new Promise((r) => setTimeout(r, 20000))]);
    const sel = await window.selected(pc);
    const ok = got.length === count && got.every((m, i) => m === `chromium ${i}`);
    const state = pc.connectionState;
    pc.close();
    return { ok, got: got.length, state, sel };
  }, answer.sdp, COUNT);
  const rc = await exit;
  const s = readSummary(summary);
  console.log(`     CLI summary: ${JSON.stringify(s)}`);
  console.log(`     ${NAME}'s selected pair: ${JSON.stringify(result.sel)}`);
  check(result.ok && result.state === 'connected', `${name}: ${result.got}/${COUNT} echoes, connectionState ${result.state}`);
  check(rc === 0 && s.opened, `${name}: the CLI saw the channel open (exit ${rc})`);
  check(s.mdns && s.mdns.resolved >= 1, `${name}: the CLI resolved ${NAME}'s name (mdns ${JSON.stringify(s.mdns)})`);
  check(JSON.stringify(s.selected_types) === '["host","host"]',
    `${name}: the CLI's selected pair is host -> host, the remote the resolved name (${s.selected_pair})`);
  await page.close();
}

// 2. The CLI offers with its host hidden (--mdns-publish), the browser answers with its own
// hidden: our checks toward the browser are dropped (nft) until the browser has sent one to us,
// which it can only aim at our address if it resolved our name through our responder.
async function weOffer(browser) {
  const name = `2. we offer (.local host), ${NAME} resolves it`;
  const page = await newPage(browser);
  const offerPath = join(WORK, 'o2.json'), answerPath = join(WORK, 'a2.json'), summary = join(WORK, 's2.json');
  const exit = cli(['offer', '--json', '--mdns-publish', '--bind', `${ADDR}:${PORT_OFFER}`, '--offer-out', offerPath,
    '--answer-in', answerPath, '--count', String(COUNT), '--big', '2000', '--duration', '30', '--summary', summary]);
  const offer = await waitJson(offerPath);
  check(offer !== null, `${name}: the CLI made an offer`);
  if (offer === null) { exit.kill(); await page.close(); return; }
  const ours = hostLines(offer.sdp);
  check(ours.length > 0 && ours.every((l) => /^a=candidate:\S+ 1 udp \d+ [0-9a-f-]{36}\.local /.test(l)),
    `${name}: our host candidates are mDNS names: ${ours.map((l) => l.split(' ')[4]).join(' ')}`);
  check(!offer.sdp.includes(ADDR), `${name}: our offer does not show ${ADDR}`);
  const answer = await page.evaluate(async (sdp) => {
    const pc = new RTCPeerConnection({ iceServers: [] });
    window.pc = pc;
    window.echoed = 0;
    pc.ondatachannel = (e) => {
      const ch = e.channel;
      ch.binaryType = 'arraybuffer';
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
  check(!answer.error, `${name}: ${NAME} answers${answer.error ? ': ' + answer.error : ''}`);
  if (answer.error) { exit.kill(); await page.close(); return; }
  const theirs = hostLines(answer.sdp);
  check(theirs.length > 0 && theirs.every((l) => /\.local /.test(l)),
    `${name}: ${NAME}'s host candidates are mDNS names: ${theirs.map((l) => l.split(' ')[4]).join(' ')}`);
  writeJson(answerPath, { type: 'answer', sdp: answer.sdp });
  const rc = await exit;
  const seen = await page.evaluate(async () => {
    const r = { echoed: window.echoed, state: window.pc.connectionState, sel: await window.selected(window.pc) };
    window.pc.close();
    return r;
  });
  const s = readSummary(summary);
  console.log(`     CLI summary: ${JSON.stringify(s)}`);
  console.log(`     ${NAME}'s selected pair: ${JSON.stringify(seen.sel)}`);
  check(rc === 0 && s.opened && s.echoed === COUNT, `${name}: the CLI checked ${s.echoed}/${COUNT} echoes (exit ${rc})`);
  check(s.mdns && s.mdns.answered >= 1, `${name}: our responder answered ${NAME}'s queries (mdns ${JSON.stringify(s.mdns)})`);
  check(seen.sel && seen.sel.remote === 'host',
    `${name}: ${NAME}'s selected pair's remote (us) is a host candidate, the resolved name, not peer-reflexive: ${JSON.stringify(seen.sel)}`);
  await page.close();
}

async function launch() {
  if (BROWSER === 'firefox') {
    const { launchFirefox } = await import(join(ROOT_DIR, 'scripts', 'firefox.mjs'));
    return launchFirefox(NPM_DIR, WORK, { 'media.peerconnection.ice.obfuscate_host_addresses': true });
  }
  const { launchChromium } = await import(join(ROOT_DIR, 'scripts', 'chromium.mjs'));
  return launchChromium(NPM_DIR, WORK, { mdns: true });
}
try {
  const browser = await launch();
  try {
    const tc = Date.now();
    await control(browser);
    const t0 = Date.now();
    console.log(`     (0: ${((t0 - tc) / 1000).toFixed(1)} s)`);
    await chromiumOffers(browser);
    const t1 = Date.now();
    console.log(`     (1: ${((t1 - t0) / 1000).toFixed(1)} s)`);
    await weOffer(browser);
    console.log(`     (2: ${((Date.now() - t1) / 1000).toFixed(1)} s)`);
  } finally {
    await browser.close();
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
console.log(`peer-browser-mdns (${BROWSER}): all checks passed`);
process.exit(0);
