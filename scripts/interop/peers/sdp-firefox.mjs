// The page side of scripts/interop/sdp-firefox.sh, which says what it checks and runs it:
//   node sdp-firefox.mjs SDP_PEER NPM_DIR WORK   (ROOT in the environment)
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const [BIN, NPM_DIR, WORK] = process.argv.slice(2);
const ROOT_DIR = process.env.ROOT;

const failures = [];
function check(cond, what) {
  console.log((cond ? 'ok   ' : 'FAIL ') + what);
  if (!cond) failures.push(what);
}
function peer(args, input = '') {
  try {
    return { rc: 0, out: execFileSync(BIN, args, { input }).toString() };
  } catch (e) {
    console.log(String(e.stdout || '') + String(e.stderr || ''));
    return { rc: e.status ?? 1, out: '' };
  }
}

const { launchFirefox } = await import(join(ROOT_DIR, 'scripts', 'firefox.mjs'));
const browser = await launchFirefox(NPM_DIR, WORK);
try {
  const page = await browser.newPage();
  for (const av of [false, true]) {
    const name = av ? 'audio+video+data' : 'data';
    const flags = av ? ['--audio', '--video'] : [];

    // 1. Firefox offers, we answer.
    const offer = await page.evaluate(async (av) => {
      const pc = new RTCPeerConnection({ iceServers: [] });
      window.pc = pc;
      pc.createDataChannel('chat');
      if (av) {
        pc.addTransceiver('audio', { direction: 'sendrecv' });
        pc.addTransceiver('video', { direction: 'sendrecv' });
      }
      const o = await pc.createOffer();
      await pc.setLocalDescription(o);
      return o.sdp;
    }, av);
    const a = peer(['answer', ...flags], offer);
    check(a.rc === 0, `${name}: sdp_peer answers Firefox's offer`);
    const result = await page.evaluate(async (sdp) => {
      try {
        await window.pc.setRemoteDescription({ type: 'answer', sdp });
        return {
          state: window.pc.signalingState,
          dirs: window.pc.getTransceivers().map((t) => t.currentDirection),
        };
      } catch (e) {
        return { error: String(e) };
      } finally {
        window.pc.close();
      }
    }, a.out);
    if (result.error) console.log(a.out + '\n' + result.error);
    check(result.state === 'stable', `${name}: Firefox's setRemoteDescription accepts our answer`);
    if (av) {
      check(JSON.stringify(result.dirs) === '["sendrecv","sendrecv"]',
        `${name}: negotiated directions ${JSON.stringify(result.dirs)}`);
    }

    // 2. We offer, Firefox answers.
    const o = peer(['offer', ...flags]);
    check(o.rc === 0, `${name}: sdp_peer makes an offer`);
    const ans = await page.evaluate(async (sdp) => {
      const pc = new RTCPeerConnection({ iceServers: [] });
      try {
        await pc.setRemoteDescription({ type: 'offer', sdp });
        const answer = await pc.createAnswer();
        await pc.setLocalDescription(answer);
        return {
          sdp: answer.sdp,
          dirs: pc.getTransceivers().map((t) => t.currentDirection),
        };
      } catch (e) {
        return { error: String(e) };
      } finally {
        pc.close();
      }
    }, o.out);
    if (ans.error) console.log(o.out + '\n' + ans.error);
    check(!ans.error, `${name}: Firefox accepts our offer and answers it`);
    if (!ans.error) {
      const c = peer(['check-answer', ...flags], ans.sdp);
      console.log(c.out.trim());
      check(c.rc === 0, `${name}: our parser and check_answer accept Firefox's answer`);
      if (av) {
        check(JSON.stringify(ans.dirs) === '["recvonly","recvonly"]',
          `${name}: Firefox receives our tracks ${JSON.stringify(ans.dirs)}`);
      }
    }
  }
} finally {
  await browser.close();
}
if (failures.length) {
  console.log(`${failures.length} check(s) failed`);
  process.exit(1);
}
console.log('sdp interop with Firefox: all checks passed');
