"""Per-process state lives in the ``Runtime``: two runtimes in one process share
nothing, and each resource is built once even when threads race for it."""

from __future__ import annotations

import threading

from app.config import Settings
from app.runtime import Runtime
from tests.support.services import REDIS_URL


def _rt(tmp_path, name: str, **changes) -> Runtime:
    return Runtime(Settings(data_dir=tmp_path / name, **changes))


def test_two_runtimes_share_nothing(tmp_path):
    one, two = _rt(tmp_path, "a", redis_url=f"{REDIS_URL}/13"), _rt(tmp_path, "b")
    for name in ("auth_cache", "limiter", "policy", "celery"):
        assert getattr(one, name) is getattr(one, name), name
        assert getattr(one, name) is not getattr(two, name), name
    assert one.celery.pushwire_runtime is one and two.celery.pushwire_runtime is two
    assert one.publisher is not None and two.publisher is None, "no Redis, no publisher"


def test_remembered_callers_belong_to_their_runtime(tmp_path):
    from app.api.auth import Caller

    one, two = _rt(tmp_path, "a"), _rt(tmp_path, "b")
    one.auth_cache.put(("pk", "hash", "identity"), Caller(1, 2, "twitter"), ttl=60)
    assert one.auth_cache.get(("pk", "hash", "identity")) == Caller(1, 2, "twitter")
    assert two.auth_cache.get(("pk", "hash", "identity")) is None
    one.auth_cache.drop_identity("identity")
    assert one.auth_cache.get(("pk", "hash", "identity")) is None


def test_threads_racing_on_first_use_get_one_resource(tmp_path, monkeypatch):
    """The intake (a thread of its own) is built once however many requests arrive at
    once; the build is made slow so the race is real."""
    import app.push.intake as intake_module

    built = []
    original = intake_module.Intake.__init__
    gate = threading.Event()

    def slow_init(self, *args, **kwargs):
        built.append(self)
        gate.wait(0.5)
        original(self, *args, **kwargs)

    monkeypatch.setattr(intake_module.Intake, "__init__", slow_init)
    rt = _rt(tmp_path, "a")
    got = []
    threads = [threading.Thread(target=lambda: got.append(rt.intake)) for _ in range(16)]
    for thread in threads:
        thread.start()
    gate.set()
    for thread in threads:
        thread.join()
    assert len(built) == 1 and len({id(x) for x in got}) == 1
