"""Target 1: peak RSS of every worker process during a small and a huge video push.

A YouTube video push (its adapter accepts 128 GB, so no cap needs raising) of
50 MB and then of 2 GiB (quick: 512 MB) goes origin -> stage (local store) ->
resumable upload to the fake, on one gateway and one Celery worker (prefork,
2 children: the stages are free to land in either). ``RssSampler`` reads every
process's VmHWM (the kernel's high-water mark), so the peaks cover the whole
run, not only the moments sampled. Growth is the peak after the big push minus
the peak after the small one, in the same processes.
"""

from __future__ import annotations

from bench.env import BenchEnv
from bench.result import Result, margin
from bench.rss import MB, RssSampler
from bench.videopush import run_video

LIMIT_MB, GROWTH_MB = 150, 20


def run(quick: bool = False) -> list[Result]:
    small, big = 50 * MB, (512 if quick else 2048) * MB
    with BenchEnv(providers=("youtube",), fake_kwargs={"youtube": {"processing_seconds": 0.0}}) as env:
        stack = env.stack()
        stack.start_gateway()
        stack.start_pool_worker("worker", "prefork", 2)
        client = env.site_client(stack)
        identity, _ = env.identity(client, "youtube")
        run_video(env, client, identity, 1 * MB, seed=1, timeout=120)  # warm-up: imports, pools
        roots = {"worker": stack.procs["worker"].pid, "web": stack.procs["web"].pid}
        sampler = RssSampler(roots).start()
        t_small = run_video(env, client, identity, small, seed=2)
        sampler.sample()
        after_small = {pid: row["hwm"] for pid, row in sampler.peaks().items()}
        t_big = run_video(env, client, identity, big, seed=3, timeout=1800)
        sampler.stop()
    return _results(sampler, after_small, small, big, t_small, t_big)


def _results(sampler: RssSampler, after_small: dict, small: int, big: int, t_small: dict, t_big: dict) -> list[Result]:
    peaks = sampler.peaks()
    worker_small = max((after_small.get(p, 0) for p, r in peaks.items() if r["tree"] == "worker"), default=0)
    worker_big = sampler.peak("worker")
    growth = max((r["hwm"] - after_small.get(pid, 0) for pid, r in peaks.items() if r["tree"] == "worker"), default=0)
    per_process = "; ".join(f"{r['tree']} pid {pid}: {r['hwm'] / MB:.0f} MB"
                            for pid, r in sorted(peaks.items()))
    label = f"{big // MB} MB"
    return [
        Result("memory", f"worker peak RSS, {small // MB} MB video", worker_small / MB, "MB",
               target=f"< {LIMIT_MB} MB", met=worker_small < LIMIT_MB * MB,
               margin=margin(worker_small / MB, LIMIT_MB, False), note=f"push took {t_small['total']:.1f} s"),
        Result("memory", f"worker peak RSS, {label} video", worker_big / MB, "MB",
               target=f"< {LIMIT_MB} MB", met=worker_big < LIMIT_MB * MB,
               margin=margin(worker_big / MB, LIMIT_MB, False),
               note=f"push took {t_big['total']:.1f} s (stage {t_big['stage']:.1f} s, upload {t_big['upload']:.1f} s)"),
        Result("memory", f"worker peak growth {small // MB} MB -> {label}", growth / MB, "MB",
               target=f"< {GROWTH_MB} MB", met=growth < GROWTH_MB * MB,
               margin=margin(growth / MB, GROWTH_MB, False), note="max over processes of VmHWM(after big) - VmHWM(after small)"),
        Result("memory", "gateway peak RSS", sampler.peak("web") / MB, "MB", note=per_process),
    ]
