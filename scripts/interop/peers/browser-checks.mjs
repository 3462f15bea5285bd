// What the browser scripts (peer-chromium.mjs, peer-firefox.mjs) share: the ok/FAIL checks and
// the checks of our answer to a browser's audio + video + data offer.

export const failures = [];
export function check(cond, what) {
  console.log((cond ? 'ok   ' : 'FAIL ') + what);
  if (!cond) failures.push(what);
}

// The m= sections of an SDP as { kind, port, fmts, mid, dir, rtpmap, rtcpMux, rtcpFb, candidates }.
export function sections(sdp) {
  const out = [];
  for (const line of sdp.split(/\r?\n/)) {
    const m = /^m=(\S+) (\d+) \S+(.*)$/.exec(line);
    if (m) {
      out.push({ kind: m[1], port: Number(m[2]), fmts: m[3].trim().split(/\s+/).filter(Boolean),
        mid: null, dir: 'sendrecv', rtpmap: {}, rtcpMux: false, rtcpFb: 0, candidates: 0 });
      continue;
    }
    if (!out.length) continue;
    const s = out[out.length - 1];
    const mid = /^a=mid:(\S+)/.exec(line);
    if (mid) s.mid = mid[1];
    const dir = /^a=(sendrecv|sendonly|recvonly|inactive)$/.exec(line);
    if (dir) s.dir = dir[1];
    const rtpmap = /^a=rtpmap:(\d+) (.*)$/.exec(line);
    if (rtpmap) s.rtpmap[rtpmap[1]] = rtpmap[2].trim();
    if (/^a=rtcp-mux$/.test(line)) s.rtcpMux = true;
    if (/^a=rtcp-fb:/.test(line)) s.rtcpFb++;
    if (/^a=candidate:/.test(line)) s.candidates++;
  }
  return out;
}
// The mids of the session's first BUNDLE group (RFC 8843 §7.1), or [].
export function bundleGroup(sdp) {
  const g = /^a=group:BUNDLE(.*)$/m.exec(sdp);
  return g ? g[1].trim().split(/\s+/).filter(Boolean) : [];
}
// Our answer to an audio + video + data offer whose BUNDLE group is tagged by the audio section
// (RFC 8843 §7.3.3 forbids rejecting the tag while another section of the group is accepted:
// with max-bundle it carries the only transport): the tag is kept with a port, `inactive`, with
// one codec (the first offered, with its rtpmap), rtcp-mux if offered and no rtcp-fb; the other
// media sections are rejected with port 0 (RFC 3264 §6); the data section is accepted; our
// BUNDLE group is "<tag> <data mid>". Returns the tag's mid, or null if the offer has no such tag.
export function checkAnswer(name, offerSdp, answerSdp) {
  const offered = sections(offerSdp), answered = sections(answerSdp);
  const tag = bundleGroup(offerSdp)[0] ?? null;
  const oTag = offered.find((o) => o.mid === tag);
  const aTag = answered.find((a) => a.mid === tag);
  const data = offered.find((o) => o.kind === 'application');
  const show = answered.map((a) => `${a.kind}:${a.port}:${a.dir}:${a.fmts.join('/')}`).join(' ');
  let ok = true;
  const c = (cond, what) => { check(cond, `${name}: ${what}`); ok = ok && cond; };
  c(offered.length === answered.length &&
    offered.every((o, i) => answered[i].kind === o.kind && answered[i].mid === o.mid),
    `our answer keeps every m= section and mid in order: ${show}`);
  c(oTag !== undefined && oTag.kind === 'audio',
    `the offer's BUNDLE group ${bundleGroup(offerSdp).join(' ')} is tagged by its audio section (mid ${tag})`);
  if (oTag && aTag) {
    const pt = oTag.fmts[0];
    c(aTag.port !== 0 && aTag.dir === 'inactive',
      `our answer keeps the tagged section with a port, inactive: port ${aTag.port}, ${aTag.dir}`);
    c(aTag.fmts.length === 1 && aTag.fmts[0] === pt && aTag.rtpmap[pt] === oTag.rtpmap[pt] &&
      Object.keys(aTag.rtpmap).length === 1,
      `the tagged section has one codec, the first offered (${pt} ${oTag.rtpmap[pt]}): ` +
      `${aTag.fmts.join(' ')} ${JSON.stringify(aTag.rtpmap)}`);
    c(aTag.rtcpMux === oTag.rtcpMux && aTag.rtcpFb === 0,
      `the tagged section has rtcp-mux as offered (${oTag.rtcpMux}) and no rtcp-fb: ` +
      `rtcp-mux ${aTag.rtcpMux}, ${aTag.rtcpFb} rtcp-fb`);
  } else {
    c(false, `our answer has the tagged section (mid ${tag})`);
  }
  const others = answered.filter((a) => a.kind !== 'application' && a.mid !== tag);
  c(others.length > 0 && others.every((a) => a.port === 0),
    `our answer rejects the other media sections (port 0): ${others.map((a) => `${a.kind}:${a.port}`).join(' ')}`);
  const aData = answered.find((a) => a.kind === 'application');
  c(aData !== undefined && aData.port !== 0, `our answer accepts the data section (port ${aData?.port})`);
  c(data !== undefined && bundleGroup(answerSdp).join(' ') === `${tag} ${data.mid}`,
    `our BUNDLE group is "${tag} ${data?.mid}": "${bundleGroup(answerSdp).join(' ')}"`);
  if (!ok) console.log(`--- our answer ---\n${answerSdp}`);
  return tag;
}
