"""`neuralab train --nproc 2`: two gloo processes under torchrun, as a user would start them.

One uninterrupted 2-process run is the reference; a second one, started on its own, is killed
(SIGKILL to one worker) and resumed, and must end bit-identical to it. A 1-process run with the
same global batch reaches the same accuracy within a tolerance; the DDP run's test figures equal a
single process's evaluation of the same weights exactly.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from safetensors.torch import load_file

from tests.conftest import run_cli

ARGS = ["train", "--dataset", "digits", "--model", "mlp", "--epochs", "12", "--batch-size", "32",
        "--set", "train.checkpoint_every_steps=10"]  # fmt: skip


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ddp")
    done = run_cli(*ARGS, "--nproc", "2", "--out", str(out), "--name", "reference")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return out / "reference"


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        text = (task / "children").read_text() if (task / "children").exists() else ""
        kids += [int(k) for k in text.split()]
    return kids


def _workers(launcher: int) -> list[int]:
    """The training processes: grandchildren of `neuralab train --nproc` (its child is torchrun)."""
    return [worker for torchrun in _children(launcher) for worker in _children(torchrun)]


def test_two_processes_write_one_run_folder_and_report_figures_one_process_confirms(reference: Path) -> None:
    summary = json.loads((reference / "summary.json").read_text())
    assert summary["reproducibility"]["world_size"] == 2
    assert summary["reproducibility"]["threads"] == 1  # 2 cores shared by 2 ranks
    rows = (reference / "metrics.csv").read_text().splitlines()
    assert len(rows) == 13  # header + 12 epochs: rank 0 alone wrote it
    # Exact evaluation: one process evaluating the same weights finds the same figures (no row twice, none lost).
    single = run_cli("evaluate", str(reference), "--json")
    assert single.returncode == 0, single.stderr
    again = json.loads(single.stdout)
    assert again["accuracy"] == summary["test"]["accuracy"]
    assert again["confusion_matrix"] == summary["test"]["confusion_matrix"]
    assert sum(map(sum, summary["test"]["confusion_matrix"])) == 360  # digits' whole test split


def test_two_processes_learn_as_well_as_one_with_the_same_global_batch(reference: Path, tmp_path: Path) -> None:
    one = run_cli(*ARGS, "--out", str(tmp_path), "--name", "one")
    assert one.returncode == 0, one.stderr
    acc_one = json.loads((tmp_path / "one" / "summary.json").read_text())["test"]["accuracy"]
    acc_two = json.loads((reference / "summary.json").read_text())["test"]["accuracy"]
    # Same data order and global batch; the runs differ only in dropout's draws and float summation
    # order, i.e. like two seeds: on digits' 360 test images seeds spread about 1 point, so 4 is safe.
    assert acc_one > 0.9 and acc_two > 0.9
    assert abs(acc_one - acc_two) < 0.04, (acc_one, acc_two)


def test_a_killed_worker_fails_the_job_and_the_run_resumes_bit_identical(reference: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "killed"
    command = [sys.executable, "-m", "neuralab", *ARGS, "--nproc", "2", "--out", str(tmp_path), "--name", "killed"]
    launcher = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (run_dir / "checkpoints" / "last.prev.pt").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    workers = _workers(launcher.pid)
    assert len(workers) == 2, workers
    killed_at = time.monotonic()
    os.kill(workers[-1], signal.SIGKILL)
    _, stderr = launcher.communicate(timeout=90)
    assert time.monotonic() - killed_at < 60  # the job fails promptly: no rank waits forever on a dead peer
    assert launcher.returncode != 0
    assert "2-process job failed" in stderr
    assert not (run_dir / "summary.json").exists(), "the run finished before it could be killed"

    refused = run_cli("train", "--resume", str(run_dir))  # one process cannot continue a 2-process run exactly
    assert refused.returncode == 2 and "--nproc 2" in refused.stderr and "Traceback" not in refused.stderr

    resumed = run_cli("train", "--resume", str(run_dir), "--nproc", "2")
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-3000:]
    assert "resuming" in resumed.stdout
    want = load_file(str(reference / "model.safetensors"))
    got = load_file(str(run_dir / "model.safetensors"))
    assert all((want[k] == got[k]).all() for k in want)  # two separately started 2-process runs, one interrupted

    def strip_time(row: str) -> list[str]:
        return row.split(",")[:-1]  # the last column is epoch seconds

    ref_rows = (reference / "metrics.csv").read_text().splitlines()
    got_rows = (run_dir / "metrics.csv").read_text().splitlines()
    assert [strip_time(r) for r in ref_rows] == [strip_time(r) for r in got_rows]


def test_a_batch_that_cannot_be_split_is_a_clear_error(tmp_path: Path) -> None:
    done = run_cli("train", "--dataset", "digits", "--model", "mlp", "--epochs", "1", "--batch-size", "33",
                   "--nproc", "2", "--out", str(tmp_path))  # fmt: skip
    assert done.returncode != 0
    assert "cannot be split evenly over 2 processes" in done.stderr
