"""Chaos: pushes on every provider while workers are SIGKILLed and the broker restarts,
on a Redis broker of the test's own and on the RabbitMQ service (restarted with
``rabbitmqctl stop_app``/``start_app``; see ``_rabbit_restart_allowed``).

At the end every push ended, each succeeded push exists exactly once at its fake
(the fakes count creations), every callback arrived, and the audit has no gap.
Runs in about half a minute; the counts are printed (``pytest -s`` shows them).
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import subprocess
import threading
import time

import pytest

from tests.conftest import stack_env
from tests.support.services import RABBIT_URL
from tests.support.origin import make_video
from tests.support.stack import Client, Stack, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.chaos]
MB = 1024 * 1024
#: The chaos window (s), when in it the broker restarts and a worker is replaced whole,
#: and the spacing of the pushes (16 of them, spread over the window).
CHAOS_SECONDS, RESTART_AT, REPLACE_AT, PUSH_EVERY = 18, 5, 10, 1.0


class RedisServer:
    """A broker of our own, so restarting it disturbs no other test."""

    def __init__(self):
        self.port = free_port()
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                                      "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
        time.sleep(0.5)

    def restart(self):
        self.proc.kill()
        self.proc.wait()
        self.start()

    def stop(self):
        self.proc.kill()
        self.proc.wait()


class RabbitBroker:
    """The RabbitMQ service the suite uses; ``restart`` stops and starts its
    application (every connection dropped, durable queues and persistent
    messages kept), as a broker restart in production would."""

    def __init__(self):
        self.url = RABBIT_URL

    def restart(self):
        for command in ("stop_app", "start_app"):
            subprocess.run(["rabbitmqctl", command], check=True, capture_output=True, timeout=120)

    def stop(self):
        pass


def _rabbit_restart_allowed() -> str | None:
    """Why the RabbitMQ run is skipped, or None. Restarting the RabbitMQ service drops
    every client of it: CI runs nothing else at once; on a shared machine set
    PUSHWIRE_TEST_RESTART_RABBITMQ=0 to leave it alone."""
    if os.environ.get("PUSHWIRE_TEST_RESTART_RABBITMQ", "1") == "0":
        return "PUSHWIRE_TEST_RESTART_RABBITMQ=0: the RabbitMQ service is shared, not restarted"
    if shutil.which("rabbitmqctl") is None:
        return "rabbitmqctl is not installed: cannot restart RabbitMQ"
    return None


@pytest.fixture(scope="module", params=["redis", pytest.param("rabbitmq", marks=pytest.mark.rabbitmq)])
def chaos_stack(request, pg_url, s3_endpoint, fakes, tmp_path_factory):
    fanout = RedisServer()  # PUSHWIRE_REDIS_URL (and the broker, in the Redis run)
    fanout.start()
    url = f"redis://127.0.0.1:{fanout.port}/0"
    if request.param == "rabbitmq":
        why = _rabbit_restart_allowed()
        if why:
            fanout.stop()
            pytest.skip(why)
        broker, broker_url = RabbitBroker(), RABBIT_URL
    else:
        broker, broker_url = fanout, url
    env = stack_env(pg_url, broker_url, s3_endpoint, fakes, str(tmp_path_factory.mktemp("chaos")),
                    f"pushwire-chaos-{request.param}")
    env.update({"PUSHWIRE_REDIS_URL": url, "PUSHWIRE_STALL_AFTER": "8", "PUSHWIRE_ATTEMPT_LEASE": "4",
                "PUSHWIRE_HEARTBEAT_INTERVAL": "1",
                "PUSHWIRE_SWEEP_INTERVAL": "1", "PUSHWIRE_REQUEUE_AFTER": "2",
                "PUSHWIRE_CALLBACK_SCHEDULE": "0,1,2,4,8,15,30,60", "PUSHWIRE_MAX_STAGE_RETRIES": "10",
                "PUSHWIRE_MAX_REDELIVERIES": "20"})
    stack = Stack(env, beat=True).start()
    stack.start_worker("worker2")
    yield stack, broker
    stack.stop()
    fanout.stop()


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def _chaos(stack: Stack, broker, stop: threading.Event, log: list[str]) -> None:
    started = time.monotonic()
    restarted = replaced = False
    while not stop.is_set() and time.monotonic() - started < CHAOS_SECONDS:
        time.sleep(random.uniform(0.8, 2.0))
        elapsed = time.monotonic() - started
        if not restarted and elapsed > RESTART_AT:
            broker.restart()
            restarted = True
            log.append(f"{elapsed:.1f}s broker restarted")
            continue
        if not replaced and elapsed > REPLACE_AT:
            stack.kill("worker2")
            stack.start_worker("worker3")
            replaced = True
            log.append(f"{elapsed:.1f}s worker2 killed whole, worker3 started")
            continue
        # Not a worker still starting: billiard gives up ("Could not start worker
        # processes") when a pool process dies before the pool is up.
        workers = [p.pid for name, p in stack.procs.items()
                   if name.startswith("worker") and time.monotonic() - stack.started.get(name, 0) > 5]
        children = [c for pid in workers for c in _children(pid)]
        if children:
            victim = random.choice(children)
            try:
                os.kill(victim, signal.SIGKILL)
                log.append(f"{elapsed:.1f}s SIGKILL pool process {victim}")
            except ProcessLookupError:
                pass


def _identity(client, fakes, provider: str, n: int) -> dict:
    user = fakes[provider].state.add_user(str(90_000 + n), f"chaos{provider}{n}")
    user = {**user, "user_id": str(90_000 + n), "username": f"chaos{provider}{n}"}
    user["identity"] = client.import_identity(provider, user)
    return user


def _plan(client, fakes, origin, receiver, run: str) -> list[dict]:
    """The pushes: (provider, path, node, body, how to count it at the fake)."""
    pushes, n = [], 0
    ids = {p: _identity(client, fakes, p, i) for i, p in enumerate(fakes)}
    for i in range(4):
        video = make_video(MB + i, seed=int(run) * 16 + i)  # unique per run: the fakes outlive one run
        pushes.append(("twitter", "twitter/video", "video", {"video_url": origin.add(f"c{run}{i}.mp4", video)},
                       ("twitter_media", hashlib.sha256(video).hexdigest())))
        pushes.append(("twitter", "twitter/post", "post", {"message": f"chaos {run} tweet {i}"},
                       ("twitter_tweet", f"chaos {run} tweet {i}")))
    if "youtube" in fakes:
        for i in range(2):
            title = f"chaos {run} yt {i}"
            pushes.append(("youtube", "youtube/video", "video",
                           {"video_url": origin.add(f"cy{run}{i}.mp4", make_video(MB, seed=2000 + i)),
                            "title": title}, ("youtube_video", title)))
    if "facebook" in fakes:
        for i in range(2):
            pushes.append(("facebook", "facebook/page/post", "page",
                           {"id": ids["facebook"]["page_id"], "message": f"chaos {run} fb {i}"},
                           ("facebook_post", f"chaos {run} fb {i}")))
    if "linkedin" in fakes:
        for i in range(2):
            pushes.append(("linkedin", "linkedin/post", "post", {"message": f"chaos {run} li {i}"},
                           ("linkedin_post", f"chaos {run} li {i}")))
    if "pinterest" in fakes:
        png = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(256)) * 8
        for i in range(2):
            pushes.append(("pinterest", "pinterest/pin", "pin",
                           {"board": ids["pinterest"]["board_id"], "picture": origin.add(f"cp{run}{i}.png", png),
                            "description": f"chaos {run} pin {i}"}, ("pinterest_pin", f"chaos {run} pin {i}")))
    out = []
    for provider, path, node, body, key in pushes:
        body = {**body, "callback_url": receiver.url}
        out.append({"provider": provider, "path": path, "node": node, "body": body, "key": key,
                    "identity": ids[provider]["identity"]})
        n += 1
    return out


def _created(fakes, key: tuple[str, str]) -> int:
    kind, value = key
    if kind == "twitter_media":
        return sum(1 for m in fakes["twitter"].state.media.values() if m["sha256"] == value)
    if kind == "twitter_tweet":
        return sum(1 for t in fakes["twitter"].state.tweets if t["text"] == value)
    if kind == "youtube_video":
        return sum(1 for v in fakes["youtube"].state.videos.values() if v.snippet.get("title") == value)
    if kind == "facebook_post":
        return sum(1 for p in fakes["facebook"].state.posts.values() if p.get("message") == value)
    if kind == "linkedin_post":
        return sum(1 for p in fakes["linkedin"].state.posts if p.get("text") == value)
    return sum(1 for p in fakes["pinterest"].state.pins.values() if p.get("description") == value)


def test_chaos_every_push_once_every_callback_no_gaps(chaos_stack, fakes, origin, receiver):
    stack, broker = chaos_stack
    client = Client(stack.url, stack.create_site("chaos-site"))
    run = f"{random.randrange(10**6)}"
    plan = _plan(client, fakes, origin, receiver, run)
    events: list[str] = []
    stop = threading.Event()
    chaos = threading.Thread(target=_chaos, args=(stack, broker, stop, events), daemon=True)
    chaos.start()
    for push in plan:
        resp = client.post(f"/push/identities/{push['identity']}/{push['path']}.json",
                           {"request": {"push": {push["node"]: push["body"]}}})
        assert resp.status_code in (200, 202), resp.text
        push["token"] = resp.json()["response"]["result"]["data"]["request_token"]
        time.sleep(PUSH_EVERY)  # spread the pushes over the whole chaos window
    chaos.join()
    stop.set()

    finals, stuck = _wait_all(client, plan, timeout=180)
    assert not stuck, "pushes that never ended (chaos: " + "; ".join(events) + "):\n" + "\n".join(stuck)
    counts = {"pushes": len(plan), "succeeded": 0, "unconfirmed": 0, "failed": 0, "created_once": 0,
              "callbacks": 0, "kills": sum("SIGKILL" in e for e in events)}
    problems = []
    for push, final in zip(plan, finals):
        counts[final["state"]] = counts.get(final["state"], 0) + 1
        created = _created(fakes, push["key"])
        if final["state"] == "succeeded":
            counts["created_once"] += created == 1
            if created != 1:
                problems.append(f"{push['path']} {push['token']}: created {created} times")
        elif final["state"] == "unconfirmed":
            if created > 1:
                problems.append(f"{push['path']} {push['token']}: unconfirmed but created {created} times")
        else:
            problems.append(f"{push['path']} {push['token']}: {final['state']} {final.get('error')}")
        if receiver.delivered_for(push["token"]):
            counts["callbacks"] += 1
        else:
            problems.append(f"{push['path']} {push['token']}: no callback delivered")
        problems += _audit_gaps(push, final)
    print("\nchaos:", counts, "\n  " + "\n  ".join(events))
    assert not problems, "\n".join(problems)
    assert counts["kills"] >= 3


def _wait_all(client, plan: list[dict], timeout: float) -> tuple[list[dict], list[str]]:
    """Every push's final status, or, for those still in flight at the deadline,
    their state and audit (so a stuck push is reported, not a test timeout)."""
    deadline = time.time() + timeout
    finals, stuck = [], []
    for push in plan:
        try:
            finals.append(client.wait_final(push["token"], timeout=max(1.0, deadline - time.time())))
        except AssertionError as exc:
            stuck.append(f"{push['path']}: {exc}")
    return finals, stuck


def _audit_gaps(push: dict, final: dict) -> list[str]:
    """Attempts numbered 1..n per stage, none left running; transitions chain up."""
    out = []
    by_stage: dict[str, list[int]] = {}
    for attempt in final["audit"]["stages"]:
        by_stage.setdefault(attempt["stage"], []).append(attempt["attempt"])
        if attempt["outcome"] == "running":
            out.append(f"{push['token']}: {attempt['stage']} attempt {attempt['attempt']} left running")
    for stage, numbers in by_stage.items():
        if numbers != list(range(1, len(numbers) + 1)):
            out.append(f"{push['token']}: {stage} attempts {numbers}")
    moves = final["audit"]["transitions"]
    for before, after in zip(moves, moves[1:]):
        if before["to"] != after["from"]:
            out.append(f"{push['token']}: transition gap {before['to']} -> {after['from']}")
    return out
