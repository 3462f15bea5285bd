// How chromium.der was made (run once; the outputs are committed):
//   node browsers.mjs NPM_DIR OUT_DIR [chromium]   (ROOT in the environment; in a
//   lo-only namespace: scripts/lib.sh's in_netns)
// The browser connects two of its own RTCPeerConnections in one page (a data channel, so DTLS
// runs) and we take the certificate each side uses from getStats()'s "certificate" entries
// (RTCCertificateStats.base64Certificate: the DER the browser sends in its Certificate message).
import { createServer } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [NPM_DIR, OUT, ONLY] = process.argv.slice(2);
const ROOT_DIR = process.env.ROOT;
const timeout = setTimeout(() => { console.error('timed out'); process.exit(1); }, 90_000);

// A page on 127.0.0.1: a secure context, so getUserMedia exists (Chromium gathers host
// candidates only for a page with media permission; the fake UI grants it).
const server = createServer((req, res) => { res.writeHead(200, { 'content-type': 'text/html' }); res.end('<!doctype html><title>cert</title>'); });
await new Promise((r) => server.listen(0, '127.0.0.1', r));

async function certificate(browser) {
  const page = await browser.newPage();
  page.on('console', (m) => console.log(`  page: ${m.text()}`));
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  return await page.evaluate(async () => {
    try { (await navigator.mediaDevices.getUserMedia({ audio: true })).getTracks().forEach((t) => t.stop()); } catch (e) { /* Firefox gathers loopback anyway */ }
    const a = new RTCPeerConnection(), b = new RTCPeerConnection();
    // No trickle: each description goes over once its candidates are all in it.
    const gathered = (pc) => new Promise((r) => {
      if (pc.iceGatheringState === 'complete') return r();
      pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r();
    });
    a.oniceconnectionstatechange = () => console.log(`ice ${a.iceConnectionState}`);
    a.onconnectionstatechange = () => console.log(`pc ${a.connectionState}`);
    const dc = a.createDataChannel('x');
    const open = new Promise((r) => { dc.onopen = r; });
    await a.setLocalDescription();
    await gathered(a);
    await b.setRemoteDescription(a.localDescription);
    await b.setLocalDescription();
    await gathered(b);
    await a.setRemoteDescription(b.localDescription);
    await open;
    const found = [];
    (await a.getStats()).forEach((s) => {
      if (s.type === 'certificate') found.push(s.base64Certificate);
    });
    if (!found.length && a.sctp && a.sctp.transport.getRemoteCertificates) {
      for (const c of a.sctp.transport.getRemoteCertificates()) {
        found.push(btoa(String.fromCharCode(...new Uint8Array(c))));
      }
    }
    return found;
  });
}

let rc = 0;
// Firefox is not here: in this set-up its two in-page connections never completed ICE
// (ice failed, loopback only), and it has no RTCCertificateStats nor getRemoteCertificates.
for (const [name, mod, fn] of [['chromium', 'chromium.mjs', 'launchChromium']]) {
  if (ONLY && ONLY !== name) continue;
  try {
    const launch = (await import(join(ROOT_DIR, 'scripts', mod)))[fn];
    const browser = await launch(NPM_DIR, OUT);
    try {
      const certs = await certificate(browser);
      console.log(`${name}: ${certs.length} certificate(s) in getStats`);
      if (!certs.length) { rc = 1; continue; }
      writeFileSync(join(OUT, `${name}.der`), Buffer.from(certs[0], 'base64'));
    } finally {
      await browser.close();
    }
  } catch (e) {
    console.error(`${name}: ${e}`); rc = 1;
  }
}
clearTimeout(timeout);
server.close();
process.exit(rc);
