"""Forecasting end to end through the CLI on a real series, with the naive baselines as the bar."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.conftest import run_cli

SUNSPOTS = Path(__file__).parents[2] / "src" / "neuralab" / "data" / "series_files" / "sunspots.csv"


def test_sunspots_forecast_beats_the_naive_forecasts_and_predicts_from_a_history(tmp_path: Path) -> None:
    """The margin is wide: MASE about 0.6 against 1.05 (naive) and 1.19 (seasonal naive) on this split."""
    done = run_cli("train", "--dataset", "sunspots", "--out", str(tmp_path), "--name", "s")
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "s" / "summary.json").read_text())
    test = summary["test"]
    assert summary["task"] == "forecast" and summary["targets"] == ["sunspots+1"]
    assert test["mase"] < 0.85 * test["baselines"]["naive"]["mase"]
    assert test["mase"] < 0.85 * test["baselines"]["seasonal_naive"]["mase"]
    evaluated = run_cli("evaluate", str(tmp_path / "s"), "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(evaluated.stdout)["mase"] == pytest.approx(test["mase"], rel=1e-6)
    with (tmp_path / "s" / "test_forecasts.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert rows[0]["time"] == "1969" and rows[-1]["time"] == "2008"  # test span 1947-2008, after a 22-year window
    assert "Forecasts 1 step(s) ahead" in (tmp_path / "s" / "report.html").read_text()
    history = tmp_path / "history.csv"
    history.write_text("".join(SUNSPOTS.read_text().splitlines(keepends=True)[:290]), encoding="utf-8")
    predicted = run_cli("predict", str(tmp_path / "s"), "--history", str(history), "--json")
    assert predicted.returncode == 0, predicted.stderr
    assert 0 <= json.loads(predicted.stdout)["sunspots+1"] < 300
    short = tmp_path / "short.csv"
    short.write_text("year,sunspots\n1700,5\n1701,11\n", encoding="utf-8")
    refused = run_cli("predict", str(tmp_path / "s"), "--history", str(short))
    assert refused.returncode == 2 and "needs the last 22" in " ".join(refused.stderr.split())


def test_a_series_too_short_for_its_window_is_refused_by_name(tmp_path: Path) -> None:
    data = tmp_path / "tiny.csv"
    data.write_text("t,v\n" + "".join(f"{i},{i % 7}\n" for i in range(30)), encoding="utf-8")
    done = run_cli("train", "--dataset", "series", "--data", str(data), "--set", "data.window=12",
                   "--set", "data.horizon=3", "--out", str(tmp_path))  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr
    said = " ".join(done.stderr.split())
    assert "span" in said and "shorter than data.window + data.horizon (12 + 3)" in said


def test_a_multi_step_multi_series_forecast_trains_from_a_csv(tmp_path: Path) -> None:
    import math

    data = tmp_path / "two.csv"
    with data.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["step", "load", "temperature"])
        for t in range(400):
            writer.writerow([t, 10 + 3 * math.sin(2 * math.pi * t / 24), 20 + math.cos(2 * math.pi * t / 24)])
    done = run_cli("train", "--dataset", "series", "--data", str(data), "--set", "data.target_column=load",
                   "--set", "data.window=24", "--set", "data.horizon=6", "--set", "data.season=24",
                   "--model", "sequence_cnn", "--epochs", "20", "--out", str(tmp_path), "--name", "m")  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "m" / "summary.json").read_text())
    assert summary["targets"] == [f"load+{h}" for h in range(1, 7)]
    assert summary["test"]["mase"] < summary["test"]["baselines"]["naive"]["mase"]
