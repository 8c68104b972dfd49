"""A throwaway PostgreSQL server for the tests: its own data folder and port, stopped afterwards.

It needs the server binaries (Debian: `apt-get install postgresql`, which .ci/run does); as root it
runs them as the `postgres` user, since PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def server_binaries() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(candidates[-1]).parent if candidates else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yields an SQLAlchemy URL to a fresh server's `postgres` database; removes it all afterwards.

    Its folder is made directly under the system temp folder: pytest's tmp_path sits in a folder
    only root may enter, and the server runs as `postgres`.
    """
    root = Path(tempfile.mkdtemp(prefix="neuralab-pg-"))
    try:
        with _server(root) as url:
            yield url
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def _server(root: Path) -> Iterator[str]:
    binaries = server_binaries()
    if binaries is None:
        raise FileNotFoundError("no PostgreSQL server binaries (apt-get install postgresql)")
    as_user: list[str] = []
    data, sockets = root / "pgdata", root / "pgsock"
    sockets.mkdir(parents=True)
    if os.geteuid() == 0:
        account = pwd.getpwnam("postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
        for path in (root, sockets):
            os.chown(path, account.pw_uid, account.pw_gid)
        os.chmod(root, 0o700)
    port = free_port()

    def run(*cmd: str) -> None:
        subprocess.run([*as_user, *cmd], check=True, capture_output=True, timeout=120)

    run(str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", "neuralab", "--no-sync")
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
    run(str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "server.log"), "-w", "start")
    try:
        yield f"postgresql+psycopg2://neuralab@127.0.0.1:{port}/postgres"
    finally:
        run(str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
