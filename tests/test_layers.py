"""One direction: ``workers/`` imports ``app/``, never the reverse, and holds no SQL."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_app_never_imports_workers():
    found = [f"{p.relative_to(ROOT)}: {name}" for p in sorted((ROOT / "app").rglob("*.py"))
             for name in _imports(p) if name == "workers" or name.startswith("workers.")]
    assert found == []


def test_workers_hold_no_sql():
    """No queries, sessions or state changes in the shell (the one SQLAlchemy use left is
    ``workers.signals`` listening to attribute sets of ``StageAttempt.bytes_moved`` to
    forward progress to Flower: an in-memory hook, no SQL)."""
    found = []
    for path in sorted((ROOT / "workers").rglob("*.py")):
        text = path.read_text()
        found += [f"{path.relative_to(ROOT)}: {name}" for name in _imports(path)
                  if name.startswith(("app.db", "app.states", "app.broker.publish"))
                  or (name.startswith("sqlalchemy") and name != "sqlalchemy")]
        found += [f"{path.relative_to(ROOT)}: {word}" for word in ("select(", "update(", "insert(", "delete(",
                                                                  ".session(", ".query(", ".execute(")
                  if word in text]
    assert found == []


def test_the_worker_serves_the_celery_app_of_a_runtime(monkeypatch, tmp_path):
    """``celery -A workers.worker`` gets the app the Runtime factory built, and the
    tasks find that same Runtime on it (no second Runtime per process)."""
    import importlib
    import sys

    monkeypatch.setenv("PUSHWIRE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PUSHWIRE_BROKER_URL", "memory://")
    sys.modules.pop("workers.worker", None)
    worker = importlib.import_module("workers.worker")
    try:
        from app.runtime import Runtime
        from workers.context import runtime

        rt = worker.celery.pushwire_runtime
        assert isinstance(rt, Runtime) and rt.celery is worker.celery
        assert runtime(worker.celery) is rt
        assert {"pushwire.download", "pushwire.stage", "pushwire.upload", "pushwire.callback", "pushwire.sweep"} <= set(worker.celery.tasks)
    finally:
        sys.modules.pop("workers.worker", None)


def test_every_rt_parameter_is_typed():
    """Functions that take the Runtime say so (``rt: Runtime``), so an editor can follow
    ``rt.store``, ``rt.db``, ``rt.adapter(...)`` from any of them."""
    untyped = []
    for path in sorted([*(ROOT / "app").rglob("*.py"), *(ROOT / "workers").rglob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                for arg in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]:
                    if arg.arg == "rt" and arg.annotation is None and not isinstance(node, ast.Lambda):
                        untyped.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert untyped == []
