"""The FFmpeg command lines of a remux or a transcode, from a decision's plan."""

from __future__ import annotations

from app.media.ffmpeg import input_args

#: x264's constant-quality target; the plan's ``maxrate`` caps the bitrate.
CRF = 23


def output_args(plan: dict, action: str, *, preset: str = "veryfast", threads: int = 0,
                interlaced: bool = False) -> list[str]:
    """Everything after the input: stream choice, codecs, MP4 with the index first."""
    args = ["-map", "0:v:0"]
    if plan.get("audio") != "none":
        args += ["-map", "0:a:0?"]
    if action == "remux" or plan.get("video") == "copy":
        args += ["-c:v", "copy"]
    else:
        filters = (["yadif"] if interlaced else []) + [
            f"scale={plan['width']}:{plan['height']}:flags=bicubic", "setsar=1", f"fps={plan['fps']:g}",
            "format=yuv420p",
        ]
        rate = int(plan["maxrate"])
        gop = max(1, int(round(plan["fps"] * 2)))
        args += ["-vf", ",".join(filters), "-c:v", "libx264", "-preset", preset, "-profile:v", "high",
                 "-pix_fmt", "yuv420p", "-crf", str(CRF), "-maxrate", str(rate), "-bufsize", str(2 * rate),
                 "-g", str(gop), "-threads", str(threads)]
    if plan.get("audio") == "none":
        args += ["-an"]
    elif action == "remux" or plan.get("audio") == "copy":
        args += ["-c:a", "copy"]
    else:
        args += ["-c:a", "aac", "-profile:a", "aac_low", "-b:a", "128k", "-ac", str(plan.get("channels", 2)),
                 "-ar", str(plan.get("sample_rate", 48000))]
    return args + ["-sn", "-dn", "-map_metadata", "-1", "-movflags", "+faststart", "-f", "mp4"]


def command(demuxer: str, plan: dict, action: str, out_path: str, **kw) -> list[str]:
    """The whole argument list (without the binary), reporting progress on stdout."""
    return ["-loglevel", "error", *input_args(demuxer), *output_args(plan, action, **kw),
            "-progress", "pipe:1", "-nostats", "-y", out_path]
