#!/usr/bin/env python3
"""The cases of scripts/interop/peer-aiortc-media.sh, which says what they check:

    python peer-aiortc-media.py CLI MEDIA_DIR WORK [CASE...]

CLI is the command-line peer, MEDIA_DIR peer/tests/media, WORK a scratch folder (offers,
answers, summaries, logs and received files, one prefix per case). Runs inside a lo-only
namespace; aiortc is aiortc-media.py beside this file, in this same Python.
"""
import json
import os
import re
import socket
import subprocess
import sys
import time

BIN, MEDIA, WORK = sys.argv[1:4]
ONLY = set(sys.argv[4:])
HERE = os.path.dirname(os.path.abspath(__file__))
AIORTC = [sys.executable, os.path.join(HERE, "aiortc-media.py")]
RELAY = [sys.executable, os.path.join(HERE, "lossy_relay.py")]
# Frames each side must decode of each kind the other sends; the CLI sends and waits for
# MIN before it ends the call, so aiortc has N decoded by then with room to spare.
N = 60
MIN = 90
# Under loss the CLI runs for 150 frames: about 170 video packets each way, so that no lost
# packet at 5 % (and so no NACK to check) has odds below 1 in 5000.
MIN_LOSS = 150
# What aiortc must decode of our video under loss: one keyframe interval of the clip. aiortc
# sends one NACK per new gap and never repeats it, so a lost NACK or a lost RTX stalls its
# jitter buffer until the next gap; the buffer then hands out one frame per packet that
# arrives, so the frames held up by a stall are still queued when the call ends (it decoded
# 81 to 149 of 150 in four runs). Our side decodes every frame.
AIORTC_MIN_LOSS_VIDEO = 30
# How long aiortc streams when it offers (it counts from the answer): about 100 frames.
AIORTC_STREAM_S = 4.5
LOSS, SEED = 0.05, 7
failures = []
results = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def path(case, name):
    return os.path.join(WORK, f"{case}.{name}")


def wait_file(p, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(p):
            try:
                with open(p) as f:
                    return json.load(f)
            except ValueError:
                pass
        time.sleep(0.05)
    raise TimeoutError(p)


def load(p):
    try:
        with open(p) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


CANDIDATE = re.compile(r"^(a=candidate:\S+ \d+ (?:udp|UDP) \d+ )(\S+) (\d+)( typ .*)$", re.M)


def via_relay(src, dst, port):
    """Copies a JSON description with every candidate pointing at the relay's `port`."""
    d = wait_file(src)
    d["sdp"], n = CANDIDATE.subn(lambda m: f"{m[1]}127.0.0.1 {port}{m[4]}", d["sdp"])
    assert n > 0, f"no candidate in {src}"
    with open(dst + ".tmp", "w") as f:
        json.dump(d, f)
    os.replace(dst + ".tmp", dst)


def probe(case, p, n):
    """ffprobe decodes every frame of a received file: no error, at least n frames."""
    raw = ["-f", "mulaw", "-sample_rate", "8000", "-ch_layout", "mono"] if p.endswith(".ulaw") else []
    r = subprocess.run(["ffprobe", "-v", "error", *raw, "-count_frames", "-show_entries",
                        "stream=codec_name,nb_read_frames,width,height,duration", "-of", "json", p],
                       capture_output=True, text=True)
    streams = json.loads(r.stdout or "{}").get("streams", [{}]) if r.returncode == 0 else [{}]
    s = streams[0] if streams else {}
    if p.endswith(".ulaw"):  # raw G.711: count 20 ms frames by the duration
        frames = int(round(float(s.get("duration", 0)) / 0.02))
    else:
        frames = int(s.get("nb_read_frames", 0))
    errors = r.stderr.strip().splitlines()
    size = f" {s['width']}x{s['height']}" if "width" in s else ""
    check(r.returncode == 0 and not errors and frames >= n,
          f"{case}: ffprobe decodes {os.path.basename(p)}: {s.get('codec_name')}{size}, {frames} "
          f"frames, {len(errors)} errors{(': ' + errors[0]) if errors else ''}")
    return frames


def run(case, cli_mode, cli_args, aiortc_args, loss=None):
    """One call: the CLI in `cli_mode` against aiortc in the other role, optionally through
    the lossy relay. Returns (CLI rc, CLI summary, aiortc rc, aiortc summary, seconds)."""
    t0 = time.monotonic()
    offer, answer = path(case, "offer.json"), path(case, "answer.json")
    cli_summary, aio_summary = path(case, "cli.json"), path(case, "aiortc.json")
    cli_log, aio_log = open(path(case, "cli.log"), "w"), open(path(case, "aiortc.log"), "w")
    cli_port = free_port()
    relay = None
    # Without a relay both read what the other wrote; with one, each reads a copy whose
    # candidates point at the relay's side that faces it.
    aio_in, aio_out = offer, answer
    cli_in, cli_out = answer, offer
    if cli_mode == "answer":
        aio_out, cli_in = offer, offer
        aio_in, cli_out = answer, answer
    if loss is not None:
        a_port, b_port = free_port(), free_port()
        relay = subprocess.Popen(RELAY + ["--a-port", str(a_port), "--b-port", str(b_port),
                                          "--b-target", f"127.0.0.1:{cli_port}", "--loss", str(loss),
                                          "--seed", str(SEED), "--duration", "60",
                                          "--stats", path(case, "relay.json")],
                                 stderr=open(path(case, "relay.log"), "w"))
        aio_in = path(case, "relay-in.json")
        cli_in = path(case, "relay-out.json")
        aio_out = path(case, "aiortc-out.json")
    if cli_mode == "offer":
        cli_cmd = [BIN, "offer", "--offer-out", cli_out, "--answer-in", cli_in]
        aio_cmd = AIORTC + ["answer", "--offer", aio_in, "--answer-out", aio_out, "--duration", "40"]
    else:
        cli_cmd = [BIN, "answer", "--offer", cli_in, "--answer-out", cli_out]
        aio_cmd = AIORTC + ["offer", "--offer-out", aio_out, "--answer-in", aio_in,
                            "--duration", str(AIORTC_STREAM_S)]
    cli = subprocess.Popen(cli_cmd + ["--json", "--bind", f"127.0.0.1:{cli_port}", "--duration", "40",
                                      "--summary", cli_summary] + cli_args, stderr=cli_log)
    aio = subprocess.Popen(aio_cmd + ["--json", "--summary", aio_summary] + aiortc_args, stderr=aio_log)
    if relay is not None:
        if cli_mode == "offer":
            via_relay(cli_out, aio_in, a_port)
            via_relay(aio_out, cli_in, b_port)
        else:
            via_relay(aio_out, cli_in, b_port)
            via_relay(cli_out, aio_in, a_port)
    try:
        cli_rc = cli.wait(timeout=60)
        aio_rc = aio.wait(timeout=60)
    except subprocess.TimeoutExpired:
        cli.kill()
        aio.kill()
        cli_rc, aio_rc = cli.wait(), aio.wait()
    if relay is not None:
        relay.terminate()
        relay.wait(timeout=10)
    return cli_rc, load(cli_summary), aio_rc, load(aio_summary), time.monotonic() - t0


def media_entry(summary, kind):
    return next((m for m in summary.get("media", []) if m.get("kind") == kind), {})


def call(case, cli_mode, video, audio, *, clip, tone, aiortc_video=None, aiortc_audio=None,
         data=True, loss=None):
    """A call with our `clip` and `tone` (either may be None) against aiortc's test pattern
    and silence; `video`/`audio` are the codecs both should agree on."""
    if ONLY and case not in ONLY:
        return
    print(f"--- {case}", flush=True)
    rec_video = path(case, "received.ivf" if video == "VP8" else "received.h264") if video else None
    rec_audio = path(case, "received.opus" if audio == "opus" else "received.ulaw") if audio else None
    args = []
    for flag, value in (("--video", clip), ("--audio", tone), ("--recv-video", rec_video),
                        ("--recv-audio", rec_audio)):
        if value:
            args += [flag, value]
    if not data:
        args.append("--no-data")
    aio_args = []
    if cli_mode == "offer":
        args += ["--min-frames", str(MIN if loss is None else MIN_LOSS)]
    else:
        # aiortc ends the call when it has streamed; it offers what it is told to.
        args += ["--greet", "--min-frames", str(N)]
        aio_args += ["--video", aiortc_video or "none", "--audio", aiortc_audio or "none"]
    cli_rc, cli, aio_rc, aio, seconds = run(case, cli_mode, args, aio_args, loss)
    check(cli_rc == 0 and cli.get("ok") is True, f"{case}: the CLI says ok (exit {cli_rc})")
    check(aio_rc == 0, f"{case}: aiortc says ok (exit {aio_rc})")
    if data:
        if cli_mode == "offer":
            check(cli.get("echoed") == 100, f"{case}: aiortc echoed {cli.get('echoed')}/100 messages")
        else:
            check(aio.get("echo_ok") == aio.get("sent") and aio.get("greeting") == "hello from peerless",
                  f"{case}: we echoed {aio.get('echo_ok')}/{aio.get('sent')} and greeted")
    got = aio.get("frames", {})
    for kind, codec in (("video", video), ("audio", audio)):
        if not codec:
            continue
        want = f"{kind}/{codec}"
        check(aio.get("codecs", {}).get(kind, "").lower() == want.lower(),
              f"{case}: aiortc negotiated {aio.get('codecs', {}).get(kind)} (want {want})")
        need = AIORTC_MIN_LOSS_VIDEO if loss is not None and kind == "video" else N
        check(got.get(kind, 0) >= need,
              f"{case}: aiortc decoded {got.get(kind, 0)} {kind} frames of ours (>= {need})")
        ours = cli.get("frames", {}).get(kind, 0)
        check(ours >= N, f"{case}: we received {ours} {kind} frames of aiortc's (>= {N})")
        m = media_entry(cli, kind)
        check(m.get("codec", "").lower() == codec.lower() and m.get("direction") == "sendrecv",
              f"{case}: our {kind} section: {m.get('codec')} {m.get('direction')}")
    if video:
        check(aio.get("frame_size", {}).get("video") == "320x240",
              f"{case}: aiortc's decoded picture is our clip's ({aio.get('frame_size', {}).get('video')})")
        probe(case, rec_video, N)
    if audio:
        probe(case, rec_audio, N)
    v = media_entry(cli, "video")
    if loss is not None:
        relay = load(path(case, "relay.json"))
        dropped = {w: relay.get(w, {}).get("dropped") for w in ("a->b", "b->a")}
        print(f"     relay dropped {dropped} (seed {SEED}, {loss:.0%} each way)", flush=True)
        check(v.get("nacks_sent", 0) > 0 and v.get("rtx_received", 0) > 0,
              f"{case}: we asked for lost video again: {v.get('nacks_sent')} NACKs, {v.get('rtx_received')} RTX back")
        check(v.get("nacks_received", 0) > 0 and v.get("rtx_sent", 0) > 0,
              f"{case}: aiortc asked for ours: {v.get('nacks_received')} NACKs, we resent {v.get('rtx_sent')} by RTX")
    results.append({
        "case": case, "seconds": round(seconds, 1),
        "frames_sent": cli.get("frames_sent"), "frames_to_aiortc": got,
        "frames_from_aiortc": cli.get("frames"),
        "video": {k: v.get(k) for k in ("packets_sent", "packets_received", "packets_lost", "nacks_sent",
                                        "nacks_received", "rtx_sent", "rtx_received", "plis_sent",
                                        "plis_received", "rtt_ms")} if v else None,
        "keyframe_requests": cli.get("keyframe_requests"), "keyframe_skips": cli.get("keyframe_skips"),
    })
    print(f"     {json.dumps(results[-1])}", flush=True)


def main():
    clip_vp8, clip_h264 = os.path.join(MEDIA, "clip.vp8.ivf"), os.path.join(MEDIA, "clip.h264")
    opus, ulaw = os.path.join(MEDIA, "tone.opus"), os.path.join(MEDIA, "tone.ulaw")
    # 1, 2: VP8 and Opus with a data channel, each side offering.
    call("1-offer-vp8-opus", "offer", "VP8", "opus", clip=clip_vp8, tone=opus)
    call("2-answer-vp8-opus", "answer", "VP8", "opus", clip=clip_vp8, tone=opus,
         aiortc_video="vp8", aiortc_audio="opus")
    # 3: H.264 (our Annex-B clip; aiortc's libx264), each side offering.
    call("3-offer-h264", "offer", "H264", "opus", clip=clip_h264, tone=opus)
    call("3-answer-h264", "answer", "H264", "opus", clip=clip_h264, tone=opus,
         aiortc_video="h264", aiortc_audio="opus")
    # 4: PCMU alone, each side offering; our offer without a data channel.
    call("4-offer-pcmu", "offer", None, "PCMU", clip=None, tone=ulaw, data=False)
    call("4-answer-pcmu", "answer", None, "PCMU", clip=None, tone=ulaw, aiortc_audio="pcmu")
    # 5: our offer through the relay, 5 % of datagrams lost each way.
    call("5-loss-vp8-opus", "offer", "VP8", "opus", clip=clip_vp8, tone=opus, loss=LOSS)
    print("\nRESULTS " + json.dumps(results), flush=True)


main()
if failures:
    print(f"{len(failures)} check(s) failed", file=sys.stderr)
    sys.exit(1)
print("peer-aiortc-media: all checks passed")
