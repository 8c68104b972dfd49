"""The CLI through a real subprocess, as users run it."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file
from sklearn.datasets import load_digits

from tests.conftest import run_cli

FAST = ["--dataset", "digits", "--epochs", "3", "--set", "train.checkpoint_every_s=0"]


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs")
    result = run_cli("train", *FAST, "--out", str(out), "--name", "digits")
    assert result.returncode == 0, result.stderr
    assert "test accuracy" in result.stdout
    return out / "digits"


def test_train_writes_a_self_describing_run_folder(trained_run: Path) -> None:
    for name in (
        "config.yaml",
        "model.safetensors",
        "model.json",
        "metrics.csv",
        "summary.json",
        "checkpoints/last.pt",
    ):
        assert (trained_run / name).is_file(), name
    summary = json.loads((trained_run / "summary.json").read_text())
    assert summary["test"]["accuracy"] > 0.8 and 0 < summary["test"]["macro_f1"] <= 1
    assert len(summary["test"]["confusion_matrix"]) == 10 and "per_class" in summary["test"]
    assert summary["train_images_per_s"] > 0 and summary["reproducibility"]["seed"] == 0
    assert len(summary["reproducibility"]["data_sha256"]) == 64 and summary["versions"]["torch"]
    lines = (trained_run / "metrics.csv").read_text().splitlines()
    assert lines[0].startswith("epoch,loss,accuracy,val_loss,val_accuracy") and len(lines) == 4
    assert not list(trained_run.rglob("*.tmp"))  # no half-written files left behind


def test_evaluate_and_json(trained_run: Path) -> None:
    result = run_cli("evaluate", str(trained_run), "--json")
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)
    summary = json.loads((trained_run / "summary.json").read_text())
    assert metrics["accuracy"] == pytest.approx(summary["test"]["accuracy"])
    table = run_cli("evaluate", str(trained_run), "--split", "val")
    assert table.returncode == 0 and "precision" in table.stdout


def test_predict_image_files(trained_run: Path, tmp_path: Path) -> None:
    bunch = load_digits()
    files = []
    for i in range(5):
        path = tmp_path / f"digit{bunch.target[i]}.png"
        Image.fromarray(np.clip(bunch.images[i] * 16, 0, 255).astype(np.uint8)).resize((32, 32)).convert("RGB").save(
            path
        )
        files.append(str(path))
    result = run_cli("predict", str(trained_run), *files, "--json")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    correct = sum(row["top"][0]["class"] == Path(row["file"]).stem[-1] for row in rows)
    assert correct >= 4


def test_predict_bad_image_is_a_clear_error(trained_run: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    result = run_cli("predict", str(trained_run), str(bad))
    assert result.returncode == 2 and "bad.png: not an image" in result.stderr
    assert "Traceback" not in result.stderr
    bomb = tmp_path / "bomb.png"
    Image.new("L", (6000, 5000)).save(bomb)  # 30 megapixels: refused from the header, never decoded
    result = run_cli("predict", str(trained_run), str(bomb))
    assert result.returncode == 2 and "bomb.png" in result.stderr and "megapixels" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "optim.lrr=0.1"], "unknown config key 'optim.lrr'"),
        (["--set", "train.epochs=ten"], "train.epochs"),
        (["--dataset", "imagenet"], "unknown dataset 'imagenet'"),
        (["--model", "gpt5"], "unknown model 'gpt5'"),
        (["--set", "model.args.widht=3", "--model", "mlp"], "no argument(s) widht"),
        (["--dataset", "mnist", "--set", "data.download=false"], "dataset 'mnist' not found"),
    ],
)
def test_bad_input_gets_a_message_not_a_traceback(args: list[str], message: str, tmp_path: Path) -> None:
    result = run_cli("train", *args, "--out", str(tmp_path))
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


def test_missing_run_folder(tmp_path: Path) -> None:
    result = run_cli("evaluate", str(tmp_path / "nope"))
    assert result.returncode == 2 and "does not exist" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--text-file", "{folder}"], "text file {folder} is a folder, not a file"),  # was a raw IsADirectoryError
        (["--text-file", "{empty}"], "text file {empty} holds no text"),  # was "give image files, or texts"
    ],
)
def test_an_input_file_that_is_a_folder_or_empty_is_named(tmp_path: Path, args: list[str], message: str) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    paths = {"folder": str(tmp_path), "empty": str(empty)}
    result = run_cli("predict", str(tmp_path / "run"), *[a.format(**paths) for a in args])
    assert result.returncode == 2, result.stdout + result.stderr
    assert message.format(**paths) in " ".join(result.stderr.split()) and "Traceback" not in result.stderr


def test_listings() -> None:
    datasets = run_cli("datasets")
    assert datasets.returncode == 0 and "fashion-mnist" in datasets.stdout and "digits" in datasets.stdout
    assert "font-digits" in datasets.stdout
    models = run_cli("models")
    assert models.returncode == 0
    assert "simple_cnn" in models.stdout and "421,642" in models.stdout  # the tutorial's SimpleCNN on 28x28
    assert "dcgan" in models.stdout and "138,689" in models.stdout  # the discriminator on 28x28


def test_killed_run_resumes_to_the_same_weights(tmp_path: Path) -> None:
    args = [
        "train",
        "--dataset",
        "digits",
        "--model",
        "mlp",
        "--epochs",
        "6",
        "--set",
        "train.checkpoint_every_steps=7",
    ]
    reference = run_cli(*args, "--out", str(tmp_path), "--name", "reference")
    assert reference.returncode == 0, reference.stderr

    run_dir = tmp_path / "killed"
    kill_when_checkpointed([*args, "--out", str(tmp_path), "--name", "killed"], run_dir)

    resumed = run_cli("train", "--resume", str(run_dir))
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming" in resumed.stdout
    want = load_file(str(tmp_path / "reference" / "model.safetensors"))
    got = load_file(str(run_dir / "model.safetensors"))
    assert all((want[k] == got[k]).all() for k in want)
    ref_rows = (tmp_path / "reference" / "metrics.csv").read_text().splitlines()
    got_rows = (run_dir / "metrics.csv").read_text().splitlines()
    assert len(ref_rows) == len(got_rows) == 7

    def strip_time(row: str) -> list[str]:
        return row.split(",")[:-1]  # the last column is epoch seconds

    assert [strip_time(r) for r in ref_rows] == [strip_time(r) for r in got_rows]


def kill_when_checkpointed(args: list[str], run_dir: Path) -> None:
    """Start `neuralab ARGS` and SIGKILL it once it has written two checkpoints, before it finishes."""
    proc = subprocess.Popen([sys.executable, "-m", "neuralab.cli.main", *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 120
    while not (run_dir / "checkpoints" / "last.prev.pt").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (run_dir / "summary.json").exists(), "the run finished before it could be killed"


def test_killed_gan_run_resumes_bit_identical(tmp_path: Path) -> None:
    """The GAN runs on the same machinery as a classifier: SIGKILL mid-epoch, --resume, same end."""
    args = ["train", "--task", "gan", "--dataset", "digits", "--epochs", "4", "--batch-size", "32",
            "--set", "train.checkpoint_every_steps=9", "--set", "gan.width=16", "--out", str(tmp_path)]  # fmt: skip
    reference = run_cli(*args, "--name", "reference")
    assert reference.returncode == 0, reference.stderr
    kill_when_checkpointed([*args, "--name", "killed"], tmp_path / "killed")
    resumed = run_cli("train", "--resume", str(tmp_path / "killed"))
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming" in resumed.stdout
    for name in ("model.safetensors", "discriminator.safetensors"):
        want, got = load_file(str(tmp_path / "reference" / name)), load_file(str(tmp_path / "killed" / name))
        assert all(torch.equal(want[k], got[k]) for k in want), name

    def without_seconds(run: str) -> list[list[str]]:
        return [row.split(",")[:-1] for row in (tmp_path / run / "metrics.csv").read_text().splitlines()]

    assert without_seconds("reference") == without_seconds("killed") and len(without_seconds("killed")) == 5
    assert sorted(p.name for p in (tmp_path / "killed" / "samples").iterdir())[-1] == "epoch_004.png"


def test_resume_refuses_other_options(tmp_path: Path) -> None:
    result = run_cli("train", "--resume", str(tmp_path), "--epochs", "3")
    assert result.returncode == 2 and "takes no other options" in result.stderr


def test_resuming_from_another_runs_checkpoint_is_refused_by_name(digits_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "copied"
    shutil.copytree(digits_run, run)
    foreign = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    foreign["model"] = {"0.weight": torch.zeros(3, 3)}  # a checkpoint written by some other model
    for name in ("last.pt", "last.prev.pt"):
        torch.save(foreign, run / "checkpoints" / name)
    result = run_cli("train", "--resume", str(run))
    assert result.returncode == 2, result.stderr
    assert "does not fit" in result.stderr and "Traceback" not in result.stderr


def test_interrupt_writes_a_checkpoint_and_stops_cleanly(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "neuralab.cli.main", "train", "--dataset", "digits", "--epochs", "200",
         "--out", str(tmp_path), "--name", "ctrlc"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not (tmp_path / "ctrlc" / "metrics.csv").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "checkpoint is saved" in err and "Traceback" not in err
    assert (tmp_path / "ctrlc" / "checkpoints" / "last.pt").exists()


def test_report_command_rewrites_the_page(trained_run: Path) -> None:
    (trained_run / "report.html").unlink()
    result = run_cli("report", str(trained_run))
    assert result.returncode == 0 and (trained_run / "report.html").stat().st_size > 10_000


def test_gan_cli_trains_writes_samples_and_samples_again(tmp_path: Path) -> None:
    """`train --task gan` through a subprocess: the run folder, a grid per epoch, metrics, then `sample`."""
    result = run_cli("train", "--task", "gan", "--dataset", "digits", "--epochs", "3", "--batch-size", "32",
                     "--out", str(tmp_path), "--name", "gan")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "pixel Frechet distance" in result.stdout
    run = tmp_path / "gan"
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["epoch_001.png", "epoch_002.png", "epoch_003.png"]
    with Image.open(run / "samples" / "epoch_003.png") as grid:
        assert grid.size == (8 * 10 + 2, 8 * 10 + 2)  # 64 images of 8x8, 8 per row, 2 px padding
    rows = (run / "metrics.csv").read_text().splitlines()
    assert rows[0].startswith("epoch,d_loss,g_loss,d_real,d_fake,pixel_fd") and len(rows) == 4
    summary = json.loads((run / "summary.json").read_text())
    assert summary["pixel_fd_best"] < summary["pixel_fd_untrained"] / 2
    for name in ("model.safetensors", "discriminator.safetensors", "model.json", "config.yaml", "curves.png"):
        assert (run / name).is_file(), name

    out = tmp_path / "new.png"
    result = run_cli("sample", str(run), "--n", "16", "--seed", "3", "--out", str(out))
    assert result.returncode == 0, result.stderr
    with Image.open(out) as grid:
        assert grid.size == (8 * 10 + 2, 2 * 10 + 2)
    again = tmp_path / "again.png"
    run_cli("sample", str(run), "--n", "16", "--seed", "3", "--out", str(again))
    assert again.read_bytes() == out.read_bytes()  # the same seed, the same images

    result = run_cli("evaluate", str(run))  # classifier commands name the mistake
    assert result.returncode == 2 and "is a GAN run" in result.stderr and "neuralab sample" in result.stderr
    result = run_cli("train", "--resume", str(run))  # a finished run resumes to the same end
    assert result.returncode == 0 and "resuming" in result.stdout, result.stderr


def test_gan_cli_errors_are_named(tmp_path: Path, digits_run: Path) -> None:
    result = run_cli("sample", str(digits_run), "--out", str(tmp_path / "x.png"))
    assert result.returncode == 2 and "not a GAN run" in result.stderr
    result = run_cli("train", "--task", "gan", "--dataset", "fortunes-en", "--out", str(tmp_path))
    assert result.returncode == 2 and "needs an image dataset" in result.stderr
    result = run_cli("train", "--task", "gan", "--dataset", "digits", "--set", "data.image_size=30",
                     "--out", str(tmp_path))  # fmt: skip
    assert result.returncode == 2 and "divisible by 4" in result.stderr
    result = run_cli("train", "--task", "painting", "--out", str(tmp_path))
    assert result.returncode == 2 and "task" in result.stderr


def test_every_commands_help_ends_with_an_example() -> None:
    """In-process (typer's runner), so checking all of them costs no subprocess start-ups."""
    from typer.main import get_command
    from typer.testing import CliRunner

    from neuralab.cli.main import app

    root = get_command(app)  # typer may vendor its own click: groups are told apart by their `commands`
    paths: list[list[str]] = []
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        subcommands = getattr(command, "commands", None)
        paths += [[name, sub] for sub in subcommands] if subcommands else [[name]]
    assert len(paths) >= 20
    runner = CliRunner()
    for path in paths:
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, (path, result.output)
        last = [line.strip() for line in result.output.splitlines() if line.strip()][-1]
        assert last.startswith(f"Example: neuralab {' '.join(path)}"), (path, last)
