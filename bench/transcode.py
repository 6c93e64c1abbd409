"""The transcode stage: its speed against the plain FFmpeg command line, and memory.

* **Speed.** A 60 s 1080p30 AVI (MPEG-4 Part 2 + MP3; quick: 10 s 720p) is pushed
  to X, which takes neither codec nor the size: the stage probes, decides and
  transcodes it to 1280x720 H.264/AAC MP4. Its time is the transcode attempt's
  (start to end in the audit: probe, X tier lookup, encode, store). The baseline
  is ``ffmpeg -i source <the same output arguments> out.mp4`` run by hand in the
  same run, on the same file; the two are alternated three times and the best of
  each counts (target: the stage at >= 0.9x the command line's speed). The CPU
  seconds of the same encodes are compared too: on a shared, loaded machine they
  are the steadier figure.
* **Memory.** An MKV with H.264/AAC (1080p, high bitrate) of 50 MB and of about
  2 GB (quick: 300 MB) is pushed to Pinterest, which takes the codecs but not the
  container: the stage remuxes it (the whole file flows through FFmpeg and the
  store). Worker peak RSS (the Celery processes, without the encoder) after each,
  and the growth (target: none to speak of, < 20 MB); the encoder's own peak RSS
  (``wait4``'s ``ru_maxrss``, kept in the audit) is reported beside it.

Sources are generated here by the packaged FFmpeg: the big one as one short
high-bitrate clip stream-copied in a loop (seconds, not an encode of 2 GB), in a
temporary folder removed afterwards.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import tempfile
import time

from werkzeug.wrappers import Request, Response
from werkzeug.wsgi import wrap_file

from bench.env import BenchEnv
from bench.result import Result, margin
from bench.rss import MB, RssSampler, cmdline, descendants, read_status
from sandbox.common import serve
from sandbox.samples import ffmpeg, ffmpeg_exe, lavfi_sources

SPEED_TARGET, GROWTH_MB = 0.9, 20


class FileOrigin:
    """Serves files of a folder at /<name>, streamed from disk with a Content-Length."""

    def __init__(self, folder: str):
        self.folder = folder
        self.handle = serve(self.app)
        self.url = self.handle.url

    def app(self, environ, start_response):
        path = os.path.join(self.folder, Request(environ).path.lstrip("/"))
        if not os.path.isfile(path):
            return Response("not found", status=404)(environ, start_response)
        fh = open(path, "rb")
        resp = Response(wrap_file(environ, fh, 1024 * 1024), direct_passthrough=True,
                        headers={"Content-Length": str(os.path.getsize(path))}, content_type="video/x-msvideo")
        return resp(environ, start_response)

    def stop(self) -> None:
        self.handle.stop()


class EncoderAwareSampler(RssSampler):
    """RssSampler that tells the encoder (FFmpeg) apart from the Celery processes,
    re-reading each pid's command line (a fork becomes FFmpeg at exec)."""

    def sample(self) -> None:
        for tree, root in self.roots.items():
            for pid in descendants(root):
                status = read_status(pid)
                if not status:
                    continue
                cmd = cmdline(pid)
                row = self.samples.setdefault(pid, {"tree": tree, "rss": 0, "hwm": 0, "cmd": cmd})
                if "ffmpeg" in cmd:
                    row["encoder"] = True
                row["cmd"] = cmd
                row["rss"] = max(row["rss"], status.get("VmRSS", 0))
                row["hwm"] = max(row["hwm"], status.get("VmHWM", 0))

    def worker_peaks(self) -> dict[int, int]:
        return {pid: r["hwm"] for pid, r in self.samples.items() if r["tree"] == "worker" and not r.get("encoder")}


def make_sources(folder: str, quick: bool) -> dict[str, str]:
    seconds, size = (10, "1280x720") if quick else (60, "1920x1080")
    speed = os.path.join(folder, "speed.avi")
    ffmpeg(*lavfi_sources(seconds, size, 30, rate=44100, channels=2), "-c:v", "mpeg4", "-q:v", "5",
           "-c:a", "libmp3lame", "-b:a", "128k", "-shortest", "-f", "avi", speed, timeout=900)
    unit = os.path.join(folder, "unit.mkv")  # 5 s of 1080p H.264 at a constant 80 Mb/s (filler): ~50 MB
    ffmpeg(*lavfi_sources(5, "1920x1080", 30, rate=44100, channels=2), "-c:v", "libx264", "-preset", "ultrafast",
           "-pix_fmt", "yuv420p", "-b:v", "80M", "-minrate", "80M", "-maxrate", "80M", "-bufsize", "40M",
           "-x264-params", "nal-hrd=cbr:filler=1", "-c:a", "aac", "-shortest", "-f", "matroska", unit, timeout=900)
    small = os.path.join(folder, "small.mkv")
    shutil.copyfile(unit, small)
    big = os.path.join(folder, "big.mkv")
    target = (300 if quick else 1950) * MB
    loops = max(1, int(target / os.path.getsize(unit)))
    ffmpeg("-stream_loop", str(loops - 1), "-i", unit, "-c", "copy", "-f", "matroska", big, timeout=900)
    return {"speed": speed, "small": small, "big": big}


def run(quick: bool = False) -> list[Result]:
    folder = tempfile.mkdtemp(prefix="pushwire-bench-media-")
    try:
        sources = make_sources(folder, quick)
        origin = FileOrigin(folder)
        try:
            with BenchEnv(providers=("twitter", "pinterest"),
                          fake_kwargs={"pinterest": {}}, PUSHWIRE_PINTEREST_POLL_INTERVAL="0.2") as env:
                return _measure(env, origin, sources, folder)
        finally:
            origin.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _push(env, client, path: str, node: str, body: dict) -> str:
    resp = client.post(path, {"request": {"push": {node: body}}})
    assert resp.status_code in (200, 202), resp.text
    return resp.json()["response"]["result"]["data"]["request_token"]


def _wait(env, token: str, timeout: float) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        row = env.sql("select id, outcome, error_info, progress from push_requests where token = :t", t=token)
        if row and row[0][1]:
            break
        time.sleep(0.2)
    else:
        raise TimeoutError(f"push {token} not finished in {timeout:.0f} s")
    request_id, outcome, error, progress = row[0]
    if outcome != "succeeded":
        raise RuntimeError(f"push {token} {outcome}: {error}")
    stage = env.sql("select extract(epoch from ended_at - started_at) from stage_attempts "
                    "where request_id = :i and stage = 'transcode' and outcome = 'succeeded'", i=request_id)
    media = (progress if isinstance(progress, dict) else json.loads(progress))["media"]
    return {"transcode": float(stage[0][0]), "media": media}


def _measure(env, origin: FileOrigin, sources: dict, folder: str) -> list[Result]:
    stack = env.stack()
    stack.start_gateway()
    stack.start_pool_worker("worker", "prefork", 1, queues="staging,transcode,upload,callback")
    client = env.site_client(stack)
    x_identity, _ = env.identity(client, "twitter")
    pin_identity, pin_user = env.identity(client, "pinterest")
    x_path = f"/push/identities/{x_identity}/twitter/video.json"
    pin_path = f"/push/identities/{pin_identity}/pinterest/pin.json"

    # Speed: the stage and the command line with the same output arguments, alternated
    # twice; the best of each counts (the machine is shared: load comes and goes).
    stages, runs, cpus, cli_out = [], [], [], os.path.join(folder, "cli.mp4")
    for _ in range(3):
        token = _push(env, client, x_path, "video", {"video_url": f"{origin.url}/speed.avi"})
        stages.append(_wait(env, token, 1800))
        encode = stages[-1]["media"]["encode"]
        out_args = [a for a in encode["args"].split() if a not in ("-progress", "pipe:1", "-nostats", "-y")]
        t0, c0 = time.monotonic(), _children_cpu()
        subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i", sources["speed"],
                        *out_args, "-y", cli_out], check=True, timeout=1800)
        runs.append(time.monotonic() - t0)
        cpus.append(_children_cpu() - c0)
    speed = min(stages, key=lambda r: r["transcode"])
    encode = speed["media"]["encode"]
    cli = min(runs)
    ratio = cli / speed["transcode"]
    stage_cpu = min(r["media"]["encode"]["cpu_seconds"] for r in stages)
    cpu_ratio = min(cpus) / stage_cpu
    probe = speed["media"]["probe"]

    # Memory: remux of a 50 MB and a ~2 GB source, worker RSS sampled throughout.
    sampler = EncoderAwareSampler({"worker": stack.procs["worker"].pid}).start()
    small = _wait(env, _push(env, client, pin_path, "pin", {"board": pin_user["board_id"], "title": "small",
                                                            "video_url": f"{origin.url}/small.mkv"}), 600)
    sampler.sample()
    after_small = sampler.worker_peaks()
    big = _wait(env, _push(env, client, pin_path, "pin", {"board": pin_user["board_id"], "title": "big",
                                                          "video_url": f"{origin.url}/big.mkv"}), 3600)
    sampler.stop()
    after_big = sampler.worker_peaks()
    worker_small, worker_big = max(after_small.values()), max(after_big.values())
    growth = max(after_big[p] - after_small.get(p, 0) for p in after_big)
    small_mb, big_mb = os.path.getsize(sources["small"]) / MB, os.path.getsize(sources["big"]) / MB
    return [
        Result("transcode", f"{probe['duration']:.0f} s {probe['video']['width']}x{probe['video']['height']} AVI "
                            "-> X (H.264/AAC 720p), stage vs ffmpeg CLI", speed["transcode"], "s", baseline=cli,
               ratio=ratio, target=f">= {SPEED_TARGET}x CLI speed", met=ratio >= SPEED_TARGET,
               margin=margin(ratio, SPEED_TARGET, True),
               note=f"stage best of {', '.join(format(r['transcode'], '.1f') for r in stages)} s (encode "
                    f"{encode['seconds']:.1f} s), CLI best of {', '.join(f'{r:.1f}' for r in runs)} s, alternated, "
                    f"same arguments: {' '.join(out_args)}; encoder peak RSS "
                    f"{encode['encoder_peak_rss_kb'] / 1024:.0f} MB"),
        Result("transcode", "same encode, CPU seconds: stage's encoder vs ffmpeg CLI", stage_cpu, "s",
               baseline=min(cpus), ratio=cpu_ratio, target=f">= {SPEED_TARGET}x", met=cpu_ratio >= SPEED_TARGET,
               margin=margin(cpu_ratio, SPEED_TARGET, True),
               note=f"encoder CPU (wait4) {', '.join(format(r['media']['encode']['cpu_seconds'], '.1f') for r in stages)}"
                    f" s; CLI {', '.join(format(c, '.1f') for c in cpus)} s: the fair speed figure when the shared "
                    "machine's load swings the wall-clock one"),
        Result("transcode", f"worker peak RSS, {small_mb:.0f} MB source (remux for Pinterest)", worker_small / MB,
               "MB", note=f"transcode {small['transcode']:.1f} s; encoder peak RSS "
                          f"{small['media']['encode']['encoder_peak_rss_kb'] / 1024:.0f} MB"),
        Result("transcode", f"worker peak RSS, {big_mb:.0f} MB source (remux for Pinterest)", worker_big / MB,
               "MB", note=f"transcode {big['transcode']:.1f} s; encoder peak RSS "
                          f"{big['media']['encode']['encoder_peak_rss_kb'] / 1024:.0f} MB"),
        Result("transcode", f"worker peak growth {small_mb:.0f} MB -> {big_mb:.0f} MB", growth / MB, "MB",
               target=f"< {GROWTH_MB} MB", met=growth < GROWTH_MB * MB, margin=margin(growth / MB, GROWTH_MB, False),
               note="max over the Celery processes (encoder excluded) of VmHWM(after big) - VmHWM(after small)"),
        Result("transcode", f"encoder peak RSS, {probe['video']['height']}p AVI -> 720p H.264 transcode",
               encode["encoder_peak_rss_kb"] / 1024, "MB", note="FFmpeg's own peak (wait4 ru_maxrss)"),
    ]
