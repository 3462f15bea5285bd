// Launches Firefox ESR headless for the interop scripts, with what WebRTC on loopback needs:
// loopback candidates, real host addresses (no mDNS names), no default ICE servers, fake media
// without a permission prompt. Run it inside a lo-only network namespace (scripts/lib.sh).
import { createRequire } from 'node:module';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';

// `prefs` adds to (or overrides) these for one script.
export async function launchFirefox(npmDir, workDir, prefs = {}) {
  const require = createRequire(join(npmDir, 'package.json'));
  const puppeteer = require('puppeteer-core');
  return puppeteer.launch({
    browser: 'firefox',
    executablePath: '/usr/bin/firefox-esr',
    headless: true,
    userDataDir: mkdtempSync(join(workDir, 'profile-')),
    extraPrefsFirefox: {
      'media.peerconnection.ice.loopback': true,
      'media.peerconnection.ice.obfuscate_host_addresses': false,
      'media.peerconnection.default_iceservers': '[]',
      'media.navigator.permission.disabled': true,
      'media.navigator.streams.fake': true,
      ...prefs,
    },
  });
}
