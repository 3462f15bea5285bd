// The page side of scripts/interop/peer-firefox-media.sh, which says what it checks and runs it:
//   node peer-firefox-media.mjs CLI NPM_DIR WORK MEDIA_DIR   (ROOT in the environment)
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { check, failures } from './browser-checks.mjs';

const [BIN, NPM_DIR, WORK, MEDIA] = process.argv.slice(2);
const ROOT_DIR = process.env.ROOT;
// Frames each side must decode of the other's video. The CLI runs until it has sent and
// received MIN of each kind, so Firefox has N decoded by then with room to spare.
const N = 60, MIN = 150;
const DTMF = '1#9';
const results = [];

// The CLI's exit status, its stderr in WORK.
function cli(tag, args) {
  const log = openSync(join(WORK, `${tag}.cli.log`), 'w');
  const p = spawn(BIN, args, { stdio: ['ignore', 'inherit', log] });
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
function load(path) {
  try { return JSON.parse(readFileSync(path, 'utf8')); } catch (e) { return {}; }
}
// ffprobe decodes every frame of a received file: no error, at least n frames.
function probe(name, path, n) {
  const r = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-show_entries',
    'stream=codec_name,nb_read_frames,width,height', '-of', 'json', path], { encoding: 'utf8' });
  let s = {};
  try { s = (JSON.parse(r.stdout || '{}').streams || [{}])[0] || {}; } catch (e) { /* no output */ }
  const frames = Number(s.nb_read_frames || 0);
  const errors = (r.stderr || '').trim().split('\n').filter(Boolean);
  const size = s.width ? ` ${s.width}x${s.height}` : '';
  check(r.status === 0 && errors.length === 0 && frames >= n,
    `${name}: ffprobe decodes ${path.split('/').pop()}: ${s.codec_name}${size}, ${frames} frames, ${errors.length} errors${errors.length ? ': ' + errors[0] : ''}`);
  return frames;
}
const section = (s, kind) => (s.media || []).find((m) => m.kind === kind) || {};

// A blank page on 127.0.0.1: a secure context, unlike about:blank, so getUserMedia exists.
const server = createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/html' });
  res.end('<!doctype html><meta charset="utf-8"><title>peerless media interop</title>');
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));

const { launchFirefox } = await import(join(ROOT_DIR, 'scripts', 'firefox.mjs'));
const browser = await launchFirefox(NPM_DIR, WORK);
try {
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  await page.evaluate((N, DTMF) => {
    window.gathered = (pc) => new Promise((resolve) => {
      if (pc.iceGatheringState === 'complete') return resolve();
      pc.addEventListener('icegatheringstatechange', () => {
        if (pc.iceGatheringState === 'complete') resolve();
      });
    });
    // Once connected: DTMF on the audio sender, then getStats until Firefox decoded N of our
    // video frames, received our audio, sent N + 30 video frames of its own and played the
    // tones out (or 30 s). Returns what it saw.
    window.exchange = async (pc) => {
      const t0 = performance.now();
      const until = async (f, ms) => {
        while (!(await f()) && performance.now() - t0 < ms) await new Promise((r) => setTimeout(r, 100));
        return f();
      };
      const connected = await until(() => pc.connectionState === 'connected', 15000);
      const audio = pc.getSenders().find((s) => s.track && s.track.kind === 'audio');
      // The keys go once the microphone's packets flow, as a user's would: Firefox sends only
      // telephone-event packets while a tone lasts, and the Peer drops a new stream's packets
      // until one carries the audio codec (media/receive.rs, dropped_unrouted), so a tone
      // sent the moment the call connects is lost: a Peer bug stepped around here.
      await until(async () => {
        let sent = 0;
        (await pc.getStats()).forEach((e) => { if (e.type === 'outbound-rtp' && e.kind === 'audio') sent = e.packetsSent; });
        return sent >= 10;
      }, 10000);
      const tones = [];
      let dtmfError = null, dtmfDone = false;
      try {
        audio.dtmf.ontonechange = (e) => { if (e.tone) tones.push(e.tone); else dtmfDone = true; };
        audio.dtmf.insertDTMF(DTMF, 100, 70);
      } catch (e) {
        dtmfError = String(e);
        dtmfDone = true;
      }
      let stats = {};
      const read = async () => {
        const out = {};
        (await pc.getStats()).forEach((e) => {
          if (e.type === 'inbound-rtp' || e.type === 'outbound-rtp') out[`${e.type}/${e.kind}`] = e;
          if (e.type === 'codec') out[`codec/${e.id}`] = e;
        });
        return out;
      };
      const enough = async () => {
        stats = await read();
        const vin = stats['inbound-rtp/video'] || {}, ain = stats['inbound-rtp/audio'] || {};
        const vout = stats['outbound-rtp/video'] || {};
        return dtmfDone && (vin.framesDecoded || 0) >= N && (ain.packetsReceived || 0) > 0
          && (vout.framesEncoded || 0) >= N + 30;
      };
      await until(enough, 30000);
      const codec = (e) => e && stats[`codec/${e.codecId}`] ? stats[`codec/${e.codecId}`].mimeType : null;
      const vin = stats['inbound-rtp/video'] || {}, ain = stats['inbound-rtp/audio'] || {};
      const vout = stats['outbound-rtp/video'] || {}, aout = stats['outbound-rtp/audio'] || {};
      return {
        connected, state: pc.connectionState, tones: tones.join(''), dtmfError,
        video_in: { codec: codec(vin), framesDecoded: vin.framesDecoded, frameWidth: vin.frameWidth,
          frameHeight: vin.frameHeight, packetsReceived: vin.packetsReceived, packetsLost: vin.packetsLost },
        audio_in: { codec: codec(ain), packetsReceived: ain.packetsReceived, packetsLost: ain.packetsLost },
        video_out: { codec: codec(vout), framesEncoded: vout.framesEncoded, packetsSent: vout.packetsSent },
        audio_out: { codec: codec(aout), packetsSent: aout.packetsSent },
        seconds: Math.round(performance.now() - t0) / 1000,
      };
    };
  }, N, DTMF);

  // The checks of one call, from Firefox's side (`seen`) and ours (the CLI's summary).
  const verdict = async (name, tag, seen, rc) => {
    check(seen.connected, `${name}: connectionState connected`);
    const v = seen.video_in, a = seen.audio_in;
    check(v.codec === 'video/VP8' && v.framesDecoded >= N && v.frameWidth === 320 && v.frameHeight === 240,
      `${name}: Firefox decoded ${v.framesDecoded} of our ${v.codec} frames, ${v.frameWidth}x${v.frameHeight} (>= ${N}, our clip's 320x240)`);
    check(a.codec === 'audio/opus' && a.packetsReceived > 0,
      `${name}: Firefox received ${a.packetsReceived} of our ${a.codec} packets (${a.packetsLost} lost)`);
    check(seen.tones === DTMF && !seen.dtmfError,
      `${name}: Firefox played out DTMF '${seen.tones}'${seen.dtmfError ? ': ' + seen.dtmfError : ''}`);
    check(rc === 0, `${name}: the CLI says ok (exit ${rc})`);
    const s = load(join(WORK, `${tag}.cli.json`));
    check(s.ok === true, `${name}: the CLI's summary says ok`);
    check(s.dtmf === DTMF, `${name}: the CLI received DTMF '${s.dtmf}' (want '${DTMF}')`);
    const frames = s.frames || {};
    check(frames.video >= N && frames.audio >= N,
      `${name}: we received ${frames.video} video and ${frames.audio} audio frames of Firefox's (>= ${N})`);
    for (const kind of ['video', 'audio']) {
      const m = section(s, kind);
      check(m.codec && m.direction === 'sendrecv', `${name}: our ${kind} section: ${m.codec} ${m.direction}`);
    }
    const probed = { video: probe(name, join(WORK, `${tag}.received.ivf`), N),
      audio: probe(name, join(WORK, `${tag}.received.opus`), N) };
    const v2 = section(s, 'video');
    results.push({ case: tag, firefox: seen, frames_sent: s.frames_sent, frames_from_firefox: frames,
      ffprobe_frames: probed, dtmf: s.dtmf, dtls_cipher: s.dtls_cipher, srtp_profile: s.srtp_profile,
      video: { packets_sent: v2.packets_sent, packets_received: v2.packets_received, packets_lost: v2.packets_lost,
        nacks_sent: v2.nacks_sent, nacks_received: v2.nacks_received, plis_received: v2.plis_received, rtt_ms: v2.rtt_ms } });
    console.log(`     ${JSON.stringify(results[results.length - 1])}`);
  };
  const media = (tag) => ['--json', '--duration', '40', '--summary', join(WORK, `${tag}.cli.json`),
    '--video', join(MEDIA, 'clip.vp8.ivf'), '--audio', join(MEDIA, 'tone.opus'),
    '--recv-video', join(WORK, `${tag}.received.ivf`), '--recv-audio', join(WORK, `${tag}.received.opus`)];

  // 1. Firefox offers its fake camera and microphone and a data channel; we answer with our
  //    clip and tone. Firefox ends the call (pc.close) once it has seen enough.
  {
    const name = 'Firefox offers', tag = '1-firefox-offers';
    const offerPath = join(WORK, `${tag}.offer.json`), answerPath = join(WORK, `${tag}.answer.json`);
    const offer = await page.evaluate(async () => {
      const pc = new RTCPeerConnection({ iceServers: [] });
      window.pc1 = pc;
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
      for (const t of stream.getTracks()) pc.addTrack(t, stream);
      window.ch1 = pc.createDataChannel('chat');
      await pc.setLocalDescription(await pc.createOffer());
      await window.gathered(pc);
      return pc.localDescription.sdp;
    });
    writeJson(offerPath, { type: 'offer', sdp: offer });
    const exit = cli(tag, ['answer', '--offer', offerPath, '--answer-out', answerPath, '--greet',
      '--min-frames', String(N), ...media(tag)]);
    let answer = null;
    try { answer = await waitJson(answerPath); } catch (e) { check(false, `${name}: the CLI exited ${await exit} without an answer`); }
    if (answer) {
      const seen = await page.evaluate(async (sdp) => {
        const pc = window.pc1;
        let greeted = false;
        window.ch1.onmessage = (e) => { if (e.data === 'hello from peerless') greeted = true; };
        let error = null;
        try { await pc.setRemoteDescription({ type: 'answer', sdp }); } catch (e) { error = String(e); }
        const r = error ? { error, video_in: {}, audio_in: {} } : await window.exchange(pc);
        r.greeted = greeted;
        pc.close();  // the CLI answerer ends when the offerer closes the call
        return r;
      }, answer.sdp);
      check(!seen.error, `${name}: Firefox's setRemoteDescription accepts our answer${seen.error ? ': ' + seen.error : ''}`);
      check(seen.greeted, `${name}: our greeting arrived on Firefox's channel`);
      await verdict(name, tag, seen, await Promise.race([exit, new Promise((r) => setTimeout(() => r('timeout'), 20000))]));
    }
    exit.kill();
  }

  // 2. We offer our clip, tone and a data channel; Firefox answers with its fake camera and
  //    microphone on our sections (addTrack takes the transceivers the offer made) and echoes.
  //    We end the call once we sent and received MIN frames of each kind and the echoes.
  {
    const name = 'we offer', tag = '2-we-offer';
    const offerPath = join(WORK, `${tag}.offer.json`), answerPath = join(WORK, `${tag}.answer.json`);
    const exit = cli(tag, ['offer', '--offer-out', offerPath, '--answer-in', answerPath, '--count', '20',
      '--min-frames', String(MIN), ...media(tag)]);
    const offer = await waitJson(offerPath);
    const answer = await page.evaluate(async (sdp) => {
      const pc = new RTCPeerConnection({ iceServers: [] });
      window.pc2 = pc;
      window.echoed2 = 0;
      pc.ondatachannel = (e) => {
        e.channel.binaryType = 'arraybuffer';
        e.channel.onmessage = (m) => { window.echoed2++; e.channel.send(m.data); };
      };
      await pc.setRemoteDescription({ type: 'offer', sdp });
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
      for (const t of stream.getTracks()) pc.addTrack(t, stream);
      await pc.setLocalDescription(await pc.createAnswer());
      await window.gathered(pc);
      return pc.localDescription.sdp;
    }, offer.sdp);
    writeJson(answerPath, { type: 'answer', sdp: answer });
    const seen = await page.evaluate(async () => {
      const r = await window.exchange(window.pc2);
      r.echoed = window.echoed2;
      return r;
    });
    const rc = await Promise.race([exit, new Promise((r) => setTimeout(() => r('timeout'), 30000))]);
    await page.evaluate(() => window.pc2.close());
    check(seen.echoed === 20, `${name}: Firefox echoed ${seen.echoed}/20 of our messages`);
    await verdict(name, tag, seen, rc);
    exit.kill();
  }
} finally {
  await browser.close();
  server.close();
}
console.log(`\nRESULTS ${JSON.stringify(results)}`);
if (failures.length) {
  console.log(`${failures.length} check(s) failed`);
  process.exit(1);
}
console.log('peer-firefox-media: all checks passed');
