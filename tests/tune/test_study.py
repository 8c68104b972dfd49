"""Opening study storage: workers that start together on an empty database must all get in."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import pytest

from neuralab.tune.study import storage_for
from tests.tune.postgres_server import postgres_server, server_binaries


def _open_each(urls: list[str], start: Any, results: Any) -> None:
    for url in urls:
        start.wait(timeout=60)  # every worker opens the same fresh database at the same moment
        try:
            storage_for(Path("."), url, heartbeat=1)
            results.put("opened")
        except Exception as err:  # the test reports whatever the worker saw
            results.put(repr(err))


def test_workers_opening_an_empty_postgresql_database_at_once_all_succeed() -> None:
    """The first CI run of the two-worker test lost this race (a unique violation on PostgreSQL's catalogue
    while both created the tables); without the retry this test fails."""
    pytest.importorskip("psycopg2")
    if server_binaries() is None:
        pytest.skip("PostgreSQL server binaries are not installed (apt-get install postgresql)")
    import sqlalchemy

    context = multiprocessing.get_context("fork")  # the workers only talk to the database
    with postgres_server() as url:
        engine = sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            for db in range(6):
                connection.execute(sqlalchemy.text(f"CREATE DATABASE race{db}"))
        engine.dispose()
        databases = [f"{url.rsplit('/', 1)[0]}/race{db}" for db in range(6)]
        start, results = context.Barrier(4), context.Queue()
        workers = [context.Process(target=_open_each, args=(databases, start, results)) for _ in range(4)]
        for worker in workers:
            worker.start()
        outcomes = [results.get(timeout=120) for _ in range(4 * len(databases))]
        for worker in workers:
            worker.join(timeout=30)
    assert outcomes == ["opened"] * len(outcomes)
