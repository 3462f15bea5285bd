#!/usr/bin/env python3
"""The cases of scripts/interop/peer-gstreamer-media.sh, which says what they check:

    python3 peer-gstreamer-media.py CLI MEDIA_DIR WORK [CASE...]

CLI is the command-line peer, MEDIA_DIR peer/tests/media, WORK a scratch folder (offers,
answers, summaries, logs and received files, one prefix per case). Runs inside a lo-only
namespace; GStreamer is gst-peer.py beside this file, run by the system Python (it needs gi).
"""
import json
import os
import subprocess
import sys
import time

BIN, MEDIA, WORK = sys.argv[1:4]
ONLY = set(sys.argv[4:])
HERE = os.path.dirname(os.path.abspath(__file__))
GST = [os.environ.get("GST_PY", "/usr/bin/python3"), os.path.join(HERE, "gst-peer.py")]
# Frames each side must decode of each kind the other sends. The CLI offerer sends and waits
# for MIN before it ends the call, so GStreamer has N decoded by then with room to spare.
N = 60
MIN = 90
# How long GStreamer streams when it offers (counted from the answer): about 150 frames.
GST_STREAM_S = 5
failures = []
results = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def path(case, name):
    return os.path.join(WORK, f"{case}.{name}")


def load(p):
    try:
        with open(p) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def probe(case, p, n):
    """ffprobe decodes every frame of a received file: no error, at least n frames."""
    r = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-show_entries",
                        "stream=codec_name,nb_read_frames,width,height", "-of", "json", p],
                       capture_output=True, text=True)
    streams = json.loads(r.stdout or "{}").get("streams", [{}]) if r.returncode == 0 else [{}]
    s = streams[0] if streams else {}
    frames = int(s.get("nb_read_frames", 0))
    errors = r.stderr.strip().splitlines()
    size = f" {s['width']}x{s['height']}" if "width" in s else ""
    check(r.returncode == 0 and not errors and frames >= n,
          f"{case}: ffprobe decodes {os.path.basename(p)}: {s.get('codec_name')}{size}, {frames} "
          f"frames, {len(errors)} errors{(': ' + errors[0]) if errors else ''}")
    return frames


def media_entry(summary, kind):
    return next((m for m in summary.get("media", []) if m.get("kind") == kind), {})


def call(case, cli_mode, video, audio, cert="ecdsa", expect_ok=True):
    """One call with our clip and tone against GStreamer's test pattern and tone; `video` and
    `audio` are the codecs (vp8|h264, opus) both should agree on."""
    if ONLY and case not in ONLY:
        return
    print(f"--- {case}", flush=True)
    t0 = time.monotonic()
    clip = os.path.join(MEDIA, "clip.vp8.ivf" if video == "vp8" else "clip.h264")
    tone = os.path.join(MEDIA, "tone.opus")
    rec_video = path(case, "received.ivf" if video == "vp8" else "received.h264")
    rec_audio = path(case, "received.opus")
    offer, answer = path(case, "offer.json"), path(case, "answer.json")
    cli_summary, gst_summary = path(case, "cli.json"), path(case, "gst.json")
    args = ["--json", "--duration", "40", "--summary", cli_summary, "--video", clip, "--audio", tone,
            "--recv-video", rec_video, "--recv-audio", rec_audio]
    if cli_mode == "offer":
        cli_cmd = [BIN, "offer", "--offer-out", offer, "--answer-in", answer, "--min-frames", str(MIN)]
        gst_cmd = GST + ["answer", "--offer", offer, "--answer-out", answer, "--greet", "--duration", "40"]
    else:
        cli_cmd = [BIN, "answer", "--offer", offer, "--answer-out", answer, "--greet",
                   "--min-frames", str(N)]
        gst_cmd = GST + ["offer", "--offer-out", offer, "--answer-in", answer, "--count", "20",
                         "--video", video, "--audio", audio, "--duration", str(GST_STREAM_S)]
    gst_cmd += ["--json", "--cert", cert, "--summary", gst_summary]
    cli = subprocess.Popen(cli_cmd + args, stderr=open(path(case, "cli.log"), "w"))
    gst = subprocess.Popen(gst_cmd, stderr=open(path(case, "gst.log"), "w"))
    procs = [cli, gst]
    # One side's failure leaves the other waiting: whoever ends first bounds the other.
    deadline = time.monotonic() + 60
    while any(p.poll() is None for p in procs) and time.monotonic() < deadline:
        if any(p.poll() not in (None, 0) for p in procs):
            deadline = min(deadline, time.monotonic() + 3)
        time.sleep(0.1)
    for p in procs:
        if p.poll() is None:
            p.kill()
    cli_rc, gst_rc = cli.wait(), gst.wait()
    c, g = load(cli_summary), load(gst_summary)
    seconds = round(time.monotonic() - t0, 1)
    if not expect_ok:
        # The stock RSA certificate: kept as a case so that the day it works, we hear of it.
        ok = cli_rc == 0 and c.get("ok") is True and gst_rc == 0
        log = open(path(case, "gst.log")).read() + open(path(case, "cli.log")).read()
        why = next((l.strip() for l in log.splitlines() if "alert" in l.lower() or "ssl" in l.lower()
                    or "dtls" in l.lower() and "fail" in l.lower()), "no DTLS error line")
        check(not ok, f"{case}: GStreamer's stock RSA certificate is refused as expected "
              f"(CLI exit {cli_rc}, gst exit {gst_rc}: {why})")
        results.append({"case": case, "seconds": seconds, "cli_ok": c.get("ok"), "gst_ok": g.get("ok")})
        return
    check(cli_rc == 0 and c.get("ok") is True, f"{case}: the CLI says ok (exit {cli_rc})")
    check(gst_rc == 0 and g.get("ok") is True, f"{case}: GStreamer says ok (exit {gst_rc})")
    check(g.get("remote_fingerprint_ok") is True, f"{case}: our DTLS certificate matches our a=fingerprint")
    if cert == "rsa":
        # GStreamer's stock RSA-2048 certificate: when it is the DTLS server we must have
        # negotiated an ECDHE_RSA suite; when it is the client, our (ECDSA) suite, and its RSA
        # CertificateVerify was verified.
        # Our answer says a=setup:active (we are the DTLS client); webrtcbin answers our
        # actpass offer with active (it is the client).
        want = "TLS_ECDHE_RSA_" if cli_mode == "answer" else "TLS_ECDHE_ECDSA_"
        check(g.get("cert") == "rsa" and (c.get("dtls_cipher") or "").startswith(want),
              f"{case}: DTLS with GStreamer's RSA certificate, suite {c.get('dtls_cipher')} "
              f"(want {want}*)")
    if cli_mode == "offer":
        check(c.get("echoed") == 100, f"{case}: GStreamer echoed {c.get('echoed')}/100 messages")
    else:
        check(g.get("echo_ok") == g.get("sent") and g.get("greeting") == "hello from peerless",
              f"{case}: we echoed {g.get('echo_ok')}/{g.get('sent')} and greeted ({g.get('greeting')!r})")
    got = g.get("frames", {})
    for kind, codec in (("video", video), ("audio", audio)):
        check((g.get("rx_codecs", {}).get(kind) or "").lower() == codec,
              f"{case}: GStreamer receives {g.get('rx_codecs', {}).get(kind)} {kind} (want {codec})")
        check(got.get(kind, 0) >= N, f"{case}: GStreamer decoded {got.get(kind, 0)} {kind} frames of ours (>= {N})")
        ours = c.get("frames", {}).get(kind, 0)
        check(ours >= N, f"{case}: we received {ours} {kind} frames of GStreamer's (>= {N})")
        m = media_entry(c, kind)
        check(m.get("codec", "").lower() == codec and m.get("direction") == "sendrecv",
              f"{case}: our {kind} section: {m.get('codec')} {m.get('direction')}")
    check(g.get("frame_size", {}).get("video") == "320x240",
          f"{case}: GStreamer's decoded picture is our clip's ({g.get('frame_size', {}).get('video')})")
    probed = {"video": probe(case, rec_video, N), "audio": probe(case, rec_audio, N)}
    v = media_entry(c, "video")
    results.append({
        "case": case, "seconds": seconds, "cert": cert, "dtls_cipher": c.get("dtls_cipher"),
        "srtp_profile": c.get("srtp_profile"), "frames_sent": c.get("frames_sent"),
        "frames_to_gst": got, "frames_from_gst": c.get("frames"), "ffprobe_frames": probed,
        "video": {k: v.get(k) for k in ("packets_sent", "packets_received", "packets_lost", "nacks_sent",
                                        "nacks_received", "plis_sent", "plis_received", "rtt_ms")} if v else None,
    })
    print(f"     {json.dumps(results[-1])}", flush=True)


def main():
    call("1-offer-vp8-opus", "offer", "vp8", "opus")
    call("2-answer-vp8-opus", "answer", "vp8", "opus")
    call("3-offer-h264-opus", "offer", "h264", "opus")
    call("4-answer-h264-opus", "answer", "h264", "opus")
    call("5-rsa-offer", "offer", "vp8", "opus", cert="rsa")
    call("6-rsa-answer", "answer", "vp8", "opus", cert="rsa")
    print("\nRESULTS " + json.dumps(results), flush=True)


main()
if failures:
    print(f"{len(failures)} check(s) failed", file=sys.stderr)
    sys.exit(1)
print("peer-gstreamer-media: all checks passed")
