"""A PostgreSQL server of the test's own (initdb + pg_ctl), so a test may stop and
restart it without disturbing the shared server other tests use.

    with PgCluster() as pg:
        url = pg.url            # postgresql://postgres@127.0.0.1:<port>/postgres
        pg.restart()            # fast shutdown, then start: every connection dies
        pg.stop(); pg.start()   # a longer outage

initdb refuses to run as root: when the test runs as root, the cluster belongs to
the ``postgres`` system user (commands go through ``runuser``).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile

from tests.support.stack import free_port


def _bindir() -> str | None:
    found = shutil.which("pg_ctl")
    if found:
        return os.path.dirname(found)
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(d.split("/")[-2]))
    return dirs[-1] if dirs else None


BINDIR = _bindir()


def available() -> bool:
    if BINDIR is None or not os.path.exists(os.path.join(BINDIR, "initdb")):
        return False
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return False
    return True


class PgCluster:
    def __init__(self):
        self.port = free_port()
        self.root = tempfile.mkdtemp(prefix="pushwire-pg-")
        self.data = os.path.join(self.root, "data")
        self.logfile = os.path.join(self.root, "server.log")
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._as = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]

    def _run(self, tool: str, *args: str, timeout: float = 60) -> None:
        out = subprocess.run([*self._as, os.path.join(BINDIR, tool), *args], capture_output=True, text=True,
                             timeout=timeout, cwd=self.root)
        if out.returncode:
            raise RuntimeError(f"{tool} failed: {out.stdout}\n{out.stderr}\n{self.log()}")

    def init(self) -> "PgCluster":
        self._run("initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--no-sync", "--locale=C.UTF-8", timeout=120)
        with open(os.path.join(self.data, "postgresql.conf"), "a") as conf:
            conf.write(f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.root}'\n"
                       "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 100\n"
                       "shared_buffers = 16MB\n")
        return self

    def start(self) -> None:
        self._run("pg_ctl", "-D", self.data, "-l", self.logfile, "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "60", "stop")

    def restart(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "60", "restart", "-l", self.logfile)

    def running(self) -> bool:
        out = subprocess.run([*self._as, os.path.join(BINDIR, "pg_ctl"), "-D", self.data, "status"],
                             capture_output=True, text=True, timeout=30)
        return out.returncode == 0

    def log(self) -> str:
        try:
            with open(self.logfile, errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def destroy(self) -> None:
        if os.path.isdir(self.data) and self.running():
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "PgCluster":
        self.init().start()
        return self

    def __exit__(self, *exc) -> None:
        self.destroy()
