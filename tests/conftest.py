"""Shared fixtures: an isolated cache and data root per test, and a CLI runner over a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist each worker keeps to its own share of the cores.

    neuralab sizes torch's thread pool from the process's CPU affinity, so two workers that each
    took every core would oversubscribe them (OpenMP threads spinning against each other made a
    2-core run several times slower). Pinning a worker also pins the CLI subprocesses it starts.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if not worker.startswith("gw") or workers < 2 or not hasattr(os, "sched_setaffinity"):
        return
    cores = sorted(os.sched_getaffinity(0))
    index = int(worker.removeprefix("gw"))
    share = [core for position, core in enumerate(cores) if position % workers == index % workers]
    if share:
        os.sched_setaffinity(0, share)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the user's cache or $NEURALAB_DATA, or writes outside tmp_path."""
    monkeypatch.setenv("NEURALAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("NEURALAB_DATA", raising=False)


@pytest.fixture(scope="session")
def digits_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real digits run (default recipe, ~3 s), shared by the serve, explain and report tests."""
    import io

    from rich.console import Console

    from neuralab.pipeline import resolve_config, run_config

    out = tmp_path_factory.mktemp("shared-runs")
    cfg = resolve_config({"data": {"name": "digits"}, "out_dir": str(out), "name": "digits"})
    return run_config(cfg, Console(file=io.StringIO())).run_dir


def run_cli(
    *args: str, cwd: Path | None = None, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "120", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "neuralab.cli.main", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
    )


needs_fashion = pytest.mark.skipif(
    not (FASHION_DIR / "train-images-idx3-ubyte.gz").exists(),
    reason="Debian's dataset-fashion-mnist is not installed (apt-get install dataset-fashion-mnist)",
)


FORTUNES_DIR = Path("/usr/share/games/fortunes")
needs_fortunes = pytest.mark.skipif(
    not (FORTUNES_DIR / "computers").exists() or not (FORTUNES_DIR / "chinese").exists(),
    reason="Debian's fortune corpora are not installed (apt-get install fortunes fortunes-zh)",
)

needs_liberation = pytest.mark.skipif(
    not Path("/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf").exists(),
    reason="font-digits renders Debian's Liberation fonts, not installed (apt-get install fonts-liberation)",
)
