#!/usr/bin/env python3
"""The cases of scripts/interop/peer-turn-aiortc-media.sh, which says what they check:

    python peer-turn-aiortc-media.py CLI MEDIA_DIR WORK [CASE...]

CLI is the command-line peer, MEDIA_DIR peer/tests/media, WORK a scratch folder (one prefix per
case: descriptions, summaries, logs, received files). Runs inside the lo-only namespace where
the shell script started coturn (127.0.0.1:3478, UDP and TCP, alice/secret); aiortc is
aiortc-media.py beside this file, in this same Python, given only that TURN server.
"""
import json
import os
import re
import subprocess
import sys
import time

BIN, MEDIA, WORK = sys.argv[1:4]
ONLY = set(sys.argv[4:])
HERE = os.path.dirname(os.path.abspath(__file__))
AIORTC = [sys.executable, os.path.join(HERE, "aiortc-media.py")]
USER, SECRET = "alice", "secret"
URL = {t: f"turn:127.0.0.1:3478?transport={t}" for t in ("udp", "tcp")}
# Decoded frames each side must show of each kind the other sends (issue 17 asks for 30).
N = 30
# Our offer: the CLI sends 90 frames of each kind before it closes the channel (3 s of video),
# so aiortc has decoded N with room to spare when the call ends.
MIN = 90
# aiortc's offer: it streams this long from the answer on (relay set-up included), about 150
# video frames; the CLI ends once it holds N of each kind.
AIORTC_STREAM_S = 6
failures = []
results = []
allocations = []  # (case, the relayed port we signalled, coturn's log length before the call)


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


def candidate_types(p):
    sdp = load(p).get("sdp", "")
    return sorted({l.split(" typ ")[1].split()[0] for l in sdp.splitlines() if l.startswith("a=candidate:")})


def probe(case, p, n):
    """ffprobe decodes every frame of a file the CLI wrote: no error, at least n frames."""
    r = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-show_entries",
                        "stream=codec_name,nb_read_frames,width,height", "-of", "json", p],
                       capture_output=True, text=True, timeout=60)
    streams = json.loads(r.stdout or "{}").get("streams", [{}]) if r.returncode == 0 else [{}]
    s = streams[0] if streams else {}
    frames = int(s.get("nb_read_frames", 0))
    errors = r.stderr.strip().splitlines()
    size = f" {s['width']}x{s['height']}" if "width" in s else ""
    check(r.returncode == 0 and not errors and frames >= n,
          f"{case}: ffprobe decodes {os.path.basename(p)}: {s.get('codec_name')}{size}, {frames} "
          f"frames, {len(errors)} errors{(': ' + errors[0]) if errors else ''}")
    return frames


def relay_port(p):
    """The port of the relayed candidate in a description (relay-only: there is one)."""
    m = re.search(r"^a=candidate:\S+ 1 \S+ \d+ \S+ (\d+) typ relay", load(p).get("sdp", ""), re.M)
    return m and m[1]


def check_released(cases, timeout=5):
    """Each CLI released its own allocation on close: in coturn's log the session whose relayed
    address is the one the CLI signalled was refreshed with lifetime 0 (RFC 8656 §7). Polls
    the log (coturn writes it as it goes) for up to `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with open(os.path.join(WORK, "coturn.log")) as f:
                log = f.read()
        except OSError:
            log = ""
        found = {}
        for case, port, start in cases:
            # coturn logs "Local relay addr: 127.0.0.1:PORT" just before "session ID: new";
            # another allocation's address in between would make the pairing a guess, and
            # the search starts where the log stood when the call began (ports come back).
            m = re.search(rf"Local relay addr: 127\.0\.0\.1:{port}\n"
                          rf"(?:(?!.*Local relay addr).*\n)*?.*session (\d+): new", log[start:])
            found[case] = (m[1] if m else None,
                           bool(m and re.search(rf"session {m[1]}: refreshed, .*lifetime=0", log)))
        if all(r for _, r in found.values()) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    for case, port, _ in cases:
        session, released = found[case]
        check(released, f"{case}: our allocation (relayed port {port}, coturn session {session}) "
                        f"was released with a Refresh of lifetime 0")


def call(case, cli_mode, transport):
    """One call, both sides relay-only through coturn over `transport`: our VP8 clip and Opus
    tone against aiortc's test pattern and silence, with a data channel."""
    if ONLY and case not in ONLY:
        return
    print(f"--- {case}", flush=True)
    t0 = time.monotonic()
    log_start = len(open(os.path.join(WORK, "coturn.log")).read())
    offer, answer = path(case, "offer.json"), path(case, "answer.json")
    cli_summary, aio_summary = path(case, "cli.json"), path(case, "aiortc.json")
    rec_video, rec_audio = path(case, "received.ivf"), path(case, "received.opus")
    ice = ["--ice-server", URL[transport], "--ice-username", USER, "--ice-credential", SECRET,
           "--relay-only"]
    media = ["--video", os.path.join(MEDIA, "clip.vp8.ivf"), "--audio", os.path.join(MEDIA, "tone.opus"),
             "--recv-video", rec_video, "--recv-audio", rec_audio]
    if cli_mode == "offer":
        cli_cmd = [BIN, "offer", "--offer-out", offer, "--answer-in", answer, "--min-frames", str(MIN)]
        aio_cmd = AIORTC + ["answer", "--offer", offer, "--answer-out", answer, "--duration", "40"]
    else:
        cli_cmd = [BIN, "answer", "--offer", offer, "--answer-out", answer, "--greet",
                   "--min-frames", str(N)]
        aio_cmd = AIORTC + ["offer", "--offer-out", offer, "--answer-in", answer,
                            "--duration", str(AIORTC_STREAM_S), "--video", "vp8", "--audio", "opus"]
    cli = subprocess.Popen(cli_cmd + ["--json", "--duration", "40", "--summary", cli_summary] + ice + media,
                           stderr=open(path(case, "cli.log"), "w"))
    aio = subprocess.Popen(aio_cmd + ["--json", "--timeout", "30", "--summary", aio_summary] + ice,
                           stderr=open(path(case, "aiortc.log"), "w"))
    try:
        cli_rc = cli.wait(timeout=60)
        aio_rc = aio.wait(timeout=60)
    except subprocess.TimeoutExpired:
        cli.kill()
        aio.kill()
        cli_rc, aio_rc = cli.wait(), aio.wait()
    seconds = time.monotonic() - t0
    c, a = load(cli_summary), load(aio_summary)
    check(cli_rc == 0 and c.get("ok") is True, f"{case}: the CLI says ok (exit {cli_rc})")
    check(aio_rc == 0, f"{case}: aiortc says ok (exit {aio_rc})")
    # Relay-only on both sides: only relayed candidates signalled, a relay/relay pair chosen.
    ours, theirs = (offer, answer) if cli_mode == "offer" else (answer, offer)
    check(candidate_types(ours) == ["relay"] and candidate_types(theirs) == ["relay"],
          f"{case}: descriptions signal relayed candidates only (ours {candidate_types(ours)}, "
          f"aiortc's {candidate_types(theirs)})")
    check(c.get("selected_types") == ["relay", "relay"],
          f"{case}: our selected pair {c.get('selected_pair')} types {c.get('selected_types')}")
    check(a.get("selected_types") == ["relay", "relay"],
          f"{case}: aiortc's selected pair types {a.get('selected_types')}")
    if cli_mode == "offer":
        check(c.get("echoed") == 100, f"{case}: aiortc echoed {c.get('echoed')}/100 messages")
    else:
        check(a.get("echo_ok") == a.get("sent") and a.get("greeting") == "hello from peerless",
              f"{case}: we echoed {a.get('echo_ok')}/{a.get('sent')} and greeted")
    got = a.get("frames", {})
    for kind, want in (("video", "video/VP8"), ("audio", "audio/opus")):
        check(a.get("codecs", {}).get(kind, "").lower() == want.lower(),
              f"{case}: aiortc negotiated {a.get('codecs', {}).get(kind)} (want {want})")
        check(got.get(kind, 0) >= N, f"{case}: aiortc decoded {got.get(kind, 0)} {kind} frames of ours (>= {N})")
        mine = c.get("frames", {}).get(kind, 0)
        check(mine >= N, f"{case}: we received {mine} {kind} frames of aiortc's (>= {N})")
    check(a.get("frame_size", {}).get("video") == "320x240",
          f"{case}: aiortc's decoded picture is our clip's ({a.get('frame_size', {}).get('video')})")
    decoded = {"video": probe(case, rec_video, N), "audio": probe(case, rec_audio, N)}
    allocations.append((case, relay_port(ours), log_start))
    results.append({"case": case, "seconds": round(seconds, 1), "open_ms": c.get("open_ms"),
                    "selected_pair": c.get("selected_pair"), "frames_sent": c.get("frames_sent"),
                    "aiortc_decoded": got, "cli_received": c.get("frames"), "ffprobe_decoded": decoded})
    print(f"     {json.dumps(results[-1])}", flush=True)


def main():
    for transport in ("udp", "tcp"):
        call(f"offer-{transport}", "offer", transport)
        call(f"answer-{transport}", "answer", transport)
    check_released(allocations)
    print("\nRESULTS " + json.dumps(results), flush=True)


main()
if failures:
    print(f"{len(failures)} check(s) failed", file=sys.stderr)
    sys.exit(1)
print("peer-turn-aiortc-media: all checks passed")
