from __future__ import annotations

from pathlib import Path

from PIL import Image

from tests.conftest import run_cli


def test_scratch_xor_reports_both_recipes() -> None:
    result = run_cli("scratch", "xor", "--seeds", "6")
    assert result.returncode == 0, result.stderr
    assert "6/6 seeds solve XOR" in result.stdout and "tutorial recipe" in result.stdout


def test_scratch_train_on_digits_prints_an_epoch_table() -> None:
    result = run_cli("scratch", "train", "--dataset", "digits", "--epochs", "10", "--lr", "0.01", "--hidden", "32")
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines() if line.strip()[:1].isdigit()]
    assert len(rows) == 10 and float(rows[-1][3].rstrip("%")) > 85


def test_scratch_plot_activations_writes_a_png(tmp_path: Path) -> None:
    out = tmp_path / "act.png"
    result = run_cli("scratch", "plot-activations", "--out", str(out))
    assert result.returncode == 0, result.stderr
    with Image.open(out) as image:
        assert image.size[0] > 800


def test_scratch_train_unknown_dataset() -> None:
    result = run_cli("scratch", "train", "--dataset", "nope")
    assert result.returncode == 2 and "unknown dataset 'nope'" in result.stderr
