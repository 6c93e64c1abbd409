"""Running FFmpeg on untrusted files, contained.

The binary is the static FFmpeg build shipped in the ``imageio-ffmpeg`` wheel
(GPL: it includes libx264), so ``make install`` brings it and no system FFmpeg
is needed. Every run:

* reads the input only through an inherited file descriptor (``-fd 3 -i fd:``)
  with ``-protocol_whitelist fd``: no ``file:``, ``http:``, ``concat:`` or any
  other protocol can be opened, so a playlist hidden in the file (the HLS-in-AVI
  trick) cannot reach a local file or a URL;
* forces the demuxer staging sniffed (``-f avi``) and allows no other one
  (``-format_whitelist``), so nested probes (AVI GAB2 subtitles) cannot pick HLS;
* runs under ``RLIMIT_CPU`` and ``RLIMIT_FSIZE`` (a runaway encode or an output
  bigger than the network takes is killed by the kernel), with stdin closed and
  its working directory in a private temporary folder;
* dies with its parent (``PR_SET_PDEATHSIG``) and is killed when the caller is
  interrupted (timeout, task revoked, SIGTERM): ``run()`` never returns with
  the encoder still alive.
"""

from __future__ import annotations

import ctypes
import os
import re
import resource
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

#: The demuxer each sniffed format (app.sniff.VIDEO_FORMATS) is read with.
DEMUXERS = {
    "3gpp": "mov", "mov": "mov", "mpeg4": "mov", "avi": "avi", "flv": "flv",
    "mpegps": "mpeg", "webm": "matroska", "wmv": "asf",
}
INPUT_FD = 3
_PR_SET_PDEATHSIG = 1


class FFmpegError(Exception):
    """FFmpeg failed; ``why`` is ``cpu_limit``, ``size_limit``, ``timeout``,
    ``killed`` or ``error``; ``log`` is the end of its error output."""

    def __init__(self, why: str, message: str, log: str = ""):
        super().__init__(message)
        self.why, self.log = why, log


def ffmpeg_exe() -> str:
    """Path of the FFmpeg binary shipped by the imageio-ffmpeg wheel."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def demuxer_for(fmt: str, head: bytes = b"") -> str:
    """The FFmpeg demuxer for a sniffed format; a bare MPEG video sequence
    (no pack header) is read by the elementary-stream demuxer."""
    if fmt == "mpegps" and head[:4] == b"\x00\x00\x01\xb3":
        return "mpegvideo"
    try:
        return DEMUXERS[fmt]
    except KeyError:
        raise ValueError(f"no demuxer for format {fmt!r}") from None


def input_args(demuxer: str) -> list[str]:
    """The contained input half of every command line."""
    return ["-hide_banner", "-nostdin", "-protocol_whitelist", "fd", "-format_whitelist", demuxer,
            "-fd", str(INPUT_FD), "-f", demuxer, "-i", "fd:"]


@dataclass
class Limits:
    cpu_seconds: int = 3600
    output_bytes: int = 16 * 1024**3
    wall_seconds: float = 6 * 3600
    #: Address space cap (bytes) of the encoder; 0: none.
    memory_bytes: int = 0


@dataclass
class Result:
    returncode: int
    log: str
    peak_rss_kb: int = 0  # the encoder's peak resident memory (ru_maxrss)
    cpu_seconds: float = 0.0  # the encoder's user + system CPU time
    progress: dict = field(default_factory=dict)


def _preexec(limits: Limits):
    def setup() -> None:
        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except OSError:
            pass
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.output_bytes, limits.output_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if limits.memory_bytes:
            resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
        os.setpgid(0, 0)

    return setup


_TIME_US = re.compile(rb"^out_time_us=(\d+)")


def run(args: list[str], input_path: str, *, cwd: str, limits: Limits,
        on_progress: Callable[[float], None] | None = None, log_tail: int = 16 * 1024) -> Result:
    """Run ``ffmpeg <args>`` with ``input_path`` open on fd 3 (read-only).

    ``args`` must start with ``input_args(...)``. With ``-progress pipe:1`` in
    ``args``, ``on_progress(seconds_done)`` is called as the encode advances.
    Raises FFmpegError when FFmpeg fails, hits a limit or runs too long; any
    exception (a task's time limit, SIGTERM turned into an exception) kills it.
    """
    if not os.path.isfile(input_path):
        raise FFmpegError("error", f"no input file at {input_path}")
    proc = subprocess.Popen(
        [ffmpeg_exe(), *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        cwd=cwd, close_fds=False, preexec_fn=_child_setup(input_path, limits),
        env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"},
    )
    tail = bytearray()

    def drain_stderr() -> None:
        for line in proc.stderr:
            tail.extend(line)
            if len(tail) > log_tail:
                del tail[: len(tail) - log_tail]

    reader = threading.Thread(target=drain_stderr, daemon=True)
    reader.start()
    deadline = time.monotonic() + limits.wall_seconds
    timer = threading.Timer(limits.wall_seconds, lambda: _signal(proc))
    timer.daemon = True
    timer.start()
    try:
        for line in proc.stdout:
            match = _TIME_US.match(line)
            if match and on_progress is not None:
                on_progress(int(match.group(1)) / 1e6)
        usage = _wait(proc)
        reader.join(timeout=5)
    except BaseException:
        _kill(proc)
        raise
    finally:
        timer.cancel()
        if proc.returncode is None:
            _kill(proc)
        proc.stdout.close()
        proc.stderr.close()
    log = tail.decode(errors="replace")
    code = proc.returncode
    if code == 0:
        return Result(code, log, usage.ru_maxrss, round(usage.ru_utime + usage.ru_stime, 3))
    if code == -signal.SIGKILL and time.monotonic() >= deadline:
        raise FFmpegError("timeout", f"FFmpeg ran longer than {limits.wall_seconds:.0f} s.", log)
    # FFmpeg catches SIGXCPU and exits by itself: judge by the CPU time it used.
    if code == -signal.SIGXCPU or usage.ru_utime + usage.ru_stime >= limits.cpu_seconds:
        raise FFmpegError("cpu_limit", f"FFmpeg used more than {limits.cpu_seconds} s of CPU time.", log)
    if code == -signal.SIGXFSZ or "File too large" in log:
        raise FFmpegError("size_limit", f"FFmpeg's output grew past {limits.output_bytes} bytes.", log)
    if code < 0:
        raise FFmpegError("killed", f"FFmpeg was killed by signal {-code}.", log)
    raise FFmpegError("error", f"FFmpeg exited with status {code}.", log)


def _child_setup(input_path: str, limits: Limits):
    """In the child, before exec: close every inherited descriptor above stderr,
    open the input read-only as fd 3 (the only file FFmpeg gets), set limits."""
    setup = _preexec(limits)

    def child() -> None:
        os.closerange(INPUT_FD, 65536)
        fd = os.open(input_path, os.O_RDONLY)
        if fd != INPUT_FD:
            os.dup2(fd, INPUT_FD)
            os.close(fd)
        os.set_inheritable(INPUT_FD, True)  # Python opens files close-on-exec
        setup()

    return child


def _signal(proc: subprocess.Popen) -> None:
    """SIGKILL the encoder's process group (it runs in its own)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _kill(proc: subprocess.Popen) -> None:
    """Kill and reap the encoder (never leaves it running or a zombie)."""
    if proc.returncode is not None:
        return
    _signal(proc)
    try:
        _wait(proc)
    except ChildProcessError:
        proc.returncode = -signal.SIGKILL


def _wait(proc: subprocess.Popen):
    """Reap the encoder; returns its own resource usage (peak memory, CPU time)."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage
