"""app.media without the stack: probe, decision, the contained encoder, pictures."""

from __future__ import annotations

import errno
import io
import os
import threading
import time
from dataclasses import replace

import pytest
from PIL import Image

from app.media import ffmpeg
from app.media.decide import decide
from app.media.encode import command
from app.media.pictures import prepare_picture
from app.media.probe import ProbeFailed, probe_video
from app.media.specs import picture_spec, video_spec
from app.providers.errors import InvalidInput
from app.sniff import detect_video_format
from tests.e2e.test_media_prepare import _hostile_avi
from tests.support.media import VIDEO_FORMATS, make_clip, make_picture

H264_AAC = ("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac")


def _probe(tmp_path, data: bytes, name: str = "clip") -> dict:
    path = tmp_path / name
    path.write_bytes(data)
    fmt = detect_video_format(data[:64])
    return probe_video(str(path), fmt, data[:64])


@pytest.mark.parametrize("fmt", VIDEO_FORMATS)
def test_probe_reads_every_seed_format_by_its_sniffed_demuxer(tmp_path, fmt):
    info = _probe(tmp_path, make_clip(fmt))
    assert info["format"] == fmt
    assert 4.0 <= info["duration"] <= 5.2
    video, audio = info["video"], info["audio"]
    assert video["width"] and video["height"] and video["fps"] == 10 and video["pix_fmt"] == "yuv420p"
    assert audio["channels"] == 1 and audio["sample_rate"] in (22050, 44100)
    expected = {"3gpp": "h263", "avi": "mpeg4", "flv": "flv1", "mov": "h264", "mpeg4": "h264",
                "mpegps": "mpeg2video", "webm": "vp8", "wmv": "wmv2"}[fmt]
    assert video["codec"] == expected


def test_x_decisions(tmp_path):
    x = video_spec("twitter")
    assert decide(_probe(tmp_path, make_clip("mpeg4")), x).action == "pass"
    avi = decide(_probe(tmp_path, make_clip("avi")), x)
    assert avi.action == "transcode" and avi.plan["video"] == "encode" and avi.plan["audio"] == "encode"
    flv = make_clip("flv", codecs=H264_AAC)  # H.264/AAC in FLV: only the container is wrong
    assert decide(_probe(tmp_path, flv), x).action == "remux"
    big = decide(_probe(tmp_path, make_clip("mpeg4", seconds=0.5, size="1920x1080", fps=90, codecs=H264_AAC)), x)
    assert big.action == "transcode"
    assert (big.plan["width"], big.plan["height"], big.plan["fps"]) == (1280, 720, 60.0)
    assert any("1920x1080 is larger" in why for why in big.why) and any("90 fps" in why for why in big.why)
    stereo51 = make_clip("mpeg4", seconds=1, channels=6, codecs=H264_AAC)
    surround = decide(_probe(tmp_path, stereo51), x)
    assert (surround.action, surround.plan["video"], surround.plan["audio"], surround.plan["channels"]) == (
        "transcode", "copy", "encode", 2)


def test_refusals_name_the_limit(tmp_path):
    probe = {"format": "mpeg4", "duration": 1300.0, "size": 10**6,
             "video": {"codec": "h264", "width": 640, "height": 360}, "audio": None}
    too_long = decide(probe, video_spec("twitter"))
    assert (too_long.reason, too_long.info) == (
        "video_too_long", "X lets this account post videos of at most 20 minutes; this one lasts 21:40.")
    assert decide(probe, video_spec("twitter", "premium")).action != "refuse"
    short = decide({**probe, "duration": 2.0}, video_spec("pinterest"))
    assert (short.reason, short.info) == (
        "video_too_short", "Pinterest takes videos of at least 4 seconds; this one lasts 2 seconds.")
    thin = decide({**probe, "duration": 10.0, "video": {"codec": "h264", "width": 2000, "height": 400}},
                  video_spec("twitter"))
    assert thin.reason == "video_aspect_ratio" and "2000x400" in thin.info
    none = decide({**probe, "video": None}, video_spec("youtube"))
    assert none.reason == "video_unreadable"


def test_remux_copies_streams_and_transcode_makes_h264_aac_mp4(tmp_path):
    x = video_spec("twitter")
    for clip, action in ((make_clip("flv", codecs=H264_AAC), "remux"), (make_clip("wmv"), "transcode")):
        src = tmp_path / f"src-{action}"
        src.write_bytes(clip)
        probe = probe_video(str(src), detect_video_format(clip[:64]))
        decision = decide(probe, x)
        assert decision.action == action
        out = tmp_path / f"out-{action}.mp4"
        args = command(ffmpeg.demuxer_for(probe["format"]), decision.plan, action, str(out))
        seen = []
        result = ffmpeg.run(args, str(src), cwd=str(tmp_path), limits=ffmpeg.Limits(cpu_seconds=60),
                            on_progress=seen.append)
        assert result.peak_rss_kb > 0 and seen
        made = probe_video(str(out), "mpeg4")
        assert (made["video"]["codec"], made["video"]["pix_fmt"], made["audio"]["codec"]) == ("h264", "yuv420p", "aac")
        assert decide(made, x).action == "pass"
        assert out.read_bytes()[4:8] == b"ftyp" and b"moov" in out.read_bytes()[:4096], "index first"
        if action == "remux":
            assert "-c:v copy" in " ".join(args) and made["video"]["profile"] == probe["video"]["profile"]


def test_encoder_limits_kill_it(tmp_path):
    src = tmp_path / "src.avi"
    src.write_bytes(make_clip("avi", seconds=6, size="640x480", fps=25))
    plan = {"video": "encode", "audio": "encode", "width": 640, "height": 480, "fps": 25.0, "maxrate": 8_000_000}
    out = str(tmp_path / "out.mp4")
    with pytest.raises(ffmpeg.FFmpegError) as small:
        ffmpeg.run(command("avi", plan, "transcode", out, preset="ultrafast"), str(src), cwd=str(tmp_path),
                   limits=ffmpeg.Limits(cpu_seconds=60, output_bytes=20_000))
    assert small.value.why == "size_limit"
    with pytest.raises(ffmpeg.FFmpegError) as slow:
        ffmpeg.run(command("avi", plan, "transcode", out, preset="slow"), str(src), cwd=str(tmp_path),
                   limits=ffmpeg.Limits(cpu_seconds=1))
    assert slow.value.why == "cpu_limit"


def test_an_interrupted_run_kills_the_encoder(tmp_path):
    src = tmp_path / "src.avi"
    src.write_bytes(make_clip("avi", seconds=10, size="640x480", fps=25))
    plan = {"video": "encode", "audio": "encode", "width": 640, "height": 480, "fps": 25.0, "maxrate": 8_000_000}
    pids = []

    def progress(seconds):
        pids.extend(int(p) for p in os.listdir("/proc") if p.isdigit() and _cwd(p) == str(tmp_path))
        raise KeyboardInterrupt  # any exception, e.g. Celery's SoftTimeLimitExceeded

    with pytest.raises(KeyboardInterrupt):
        ffmpeg.run(command("avi", plan, "transcode", str(tmp_path / "o.mp4"), preset="slow"), str(src),
                   cwd=str(tmp_path), limits=ffmpeg.Limits(cpu_seconds=60), on_progress=progress)
    assert pids
    time.sleep(0.2)
    assert not [p for p in pids if os.path.exists(f"/proc/{p}")], "encoder still running"


def _cwd(pid: str) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return None


def test_hostile_playlist_in_avi_reads_nothing(tmp_path):
    fifo = tmp_path / "secret.ts"
    os.mkfifo(fifo)
    touched, stop = [], threading.Event()

    def watch():
        while not stop.is_set():
            try:
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
                touched.append(True)
            except OSError as exc:
                assert exc.errno == errno.ENXIO
            time.sleep(0.005)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    playlist = f"#EXTM3U\n#EXTINF:1.0,\nfile://{fifo}\n#EXTINF:1.0,\n{fifo}\n#EXT-X-ENDLIST\n".encode()
    try:
        info = _probe(tmp_path, _hostile_avi(playlist), "hostile.avi")
    finally:
        stop.set()
        watcher.join()
    assert info["video"] is None and touched == []
    assert decide(info, video_spec("twitter")).reason == "video_unreadable"
    with pytest.raises(ProbeFailed):  # the demuxer is forced: a playlist is not an AVI
        (tmp_path / "list").write_bytes(playlist)
        probe_video(str(tmp_path / "list"), "avi")


# --------------------------------------------------------------------------- pictures


def _image(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


@pytest.mark.parametrize("provider", ["twitter", "facebook", "linkedin", "pinterest"])
@pytest.mark.parametrize("fmt", ["jpeg", "bmp", "png", "gif", "tiff"])
def test_pictures_end_in_a_format_the_network_takes(provider, fmt):
    spec = picture_spec(provider)
    data = make_picture(fmt)
    out, out_fmt, note = prepare_picture(data, fmt, spec)
    assert out_fmt in spec.formats and len(out) <= spec.max_bytes
    assert (out == data) == (fmt in spec.formats) and (note is None) == (fmt in spec.formats)
    assert _image(out).size == (120, 80)


def test_animated_gifs_stay_animated_where_taken():
    gif = make_picture("gif", animated=True)
    assert prepare_picture(gif, "gif", picture_spec("twitter"))[0] == gif
    out, fmt, note = prepare_picture(gif, "gif", picture_spec("facebook"))
    assert fmt == "png" and "first frame of 3" in note


def test_oversize_pictures_are_scaled_down():
    facebook = picture_spec("facebook")
    tight = replace(facebook, max_bytes=150_000)
    noisy = make_picture("bmp", size=(600, 400), noise=True)  # 720 KB of noise: PNG cannot fit, JPEG can
    out, fmt, note = prepare_picture(noisy, "bmp", tight)
    assert fmt == "jpeg" and len(out) <= 150_000
    smaller = replace(facebook, max_bytes=20_000)
    out, fmt, note = prepare_picture(noisy, "bmp", smaller)
    assert len(out) <= 20_000 and "scaled down from 600x400" in note and _image(out).size[0] < 600


def test_unreadable_pictures():
    junk_png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
    assert prepare_picture(junk_png, "png", picture_spec("twitter")) == (junk_png, "png", None)
    with pytest.raises(InvalidInput) as exc:
        prepare_picture(b"BM" + b"\x00" * 200, "bmp", picture_spec("twitter"))
    assert exc.value.reason == "unsupported_picture_format"
