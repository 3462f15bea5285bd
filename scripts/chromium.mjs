// Launches Chromium (Debian's build) headless for the interop scripts. Run it inside a network
// namespace of its own (scripts/lib.sh): nothing it starts can then reach another address.
//
// Host candidates. Chromium only enumerates interfaces for a page that has camera or
// microphone permission; for any other page it gathers from the default route's address and
// hides it behind a random "<uuid>.local" mDNS name (RFC 8828 mode 3, the
// WebRtcHideLocalIpsWithMdns feature), which nobody here can resolve. It never gathers on
// loopback unless --allow-loopback-in-peer-connection says so. Two set-ups:
//   { mdns: false } (the default): --use-fake-ui-for-media-stream grants the permission, and
//     the feature is switched off as well, so the SDP carries 127.0.0.1 host candidates and
//     the run is deterministic in a loopback-only namespace;
//   { mdns: true }: Chromium's default for a page without permission. The namespace then needs
//     a default route on an interface other than lo (or Chromium gathers nothing), and the
//     other side reaches Chromium only through the peer-reflexive candidate its checks reveal
//     (RFC 8445 §7.3.1.3). getUserMedia would prompt, so media cases use the default.
import { createRequire } from 'node:module';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';

// Debian's /usr/bin/chromium is a shell wrapper that adds flags of its own (remote extensions,
// GPU rasterization) from /etc/chromium.d; the binary behind it takes exactly ours.
const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/lib/chromium/chromium';

export async function launchChromium(npmDir, workDir, { mdns = false } = {}) {
  const require = createRequire(join(npmDir, 'package.json'));
  const puppeteer = require('puppeteer-core');
  return puppeteer.launch({
    browser: 'chrome',
    executablePath: CHROMIUM,
    // puppeteer adds --headless=new (and --mute-audio, --hide-scrollbars).
    headless: true,
    userDataDir: mkdtempSync(join(workDir, 'chromium-profile-')),
    args: [
      // Root in a container: the setuid/namespace sandbox cannot start.
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--allow-loopback-in-peer-connection',
      // getUserMedia gets a synthetic camera and microphone...
      '--use-fake-device-for-media-stream',
      // ...without a prompt: this grants the page media permission (and so real host
      // candidates); puppeteer merges --disable-features with its own list.
      ...(mdns ? [] : ['--use-fake-ui-for-media-stream', '--disable-features=WebRtcHideLocalIpsWithMdns']),
    ],
  });
}
