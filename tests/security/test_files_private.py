"""Issue row 8: the embedded default's files are private, and hold no stream key in clear."""

from __future__ import annotations

import json
import os
import stat
import subprocess

from app.crypto import resolve_secret_key
from tests.support.stack import BIN, ROOT


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_embedded_default_files_are_private_and_stream_keys_hashed(tmp_path):
    data = tmp_path / "var"
    data.mkdir(mode=0o755)  # as `make run` or an operator may have left it
    data.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUSHWIRE_")}
    env["PUSHWIRE_DATA_DIR"] = str(data)
    run = dict(env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    # A usual umask: before, files came out 0644 and var/ stayed 0755.
    wrapper = ["/bin/sh", "-c", 'umask 022; exec "$@"', "sh", str(BIN / "pushwire")]
    assert subprocess.run([*wrapper, "db", "upgrade"], **run).returncode == 0
    out = subprocess.run([*wrapper, "site", "create", "files"], **run)
    assert out.returncode == 0, out.stderr
    site = json.loads(out.stdout)
    assert _mode(data) == 0o700
    files = [p for p in data.rglob("*") if p.is_file()]
    assert {"pushwire.sqlite", "secret.key"} <= {p.name for p in files}
    for path in files:
        assert _mode(path) & 0o077 == 0, f"{path.name} is {oct(_mode(path))}"
    raw = b"".join(p.read_bytes() for p in files)
    assert site["stream_key"].encode() not in raw, "the stream key is stored hashed"
    assert site["private_key"].encode() not in raw and site["signing_secret"].encode() not in raw


def test_the_generated_secret_key_is_created_0600(tmp_path):
    old = os.umask(0o022)
    try:
        key = resolve_secret_key("", tmp_path / "d")
    finally:
        os.umask(old)
    assert key and _mode(tmp_path / "d" / "secret.key") == 0o600 and _mode(tmp_path / "d") == 0o700
