"""Regression explanations: the column shares add up to the prediction, and an irrelevant column gets little."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
from rich.console import Console

from neuralab.data.transforms import Preprocess
from neuralab.explain.table import explain_rows
from neuralab.pipeline import resolve_config, train
from neuralab.pipeline.prepare_table import stored_table
from neuralab.runs import load_model
from tests.conftest import run_cli


def test_shares_are_complete_and_follow_what_the_target_depends_on(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    data = tmp_path / "d.csv"
    with data.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["signal", "noise", "city", "y"])
        for _ in range(400):
            signal, noise, city = rng.normal(), rng.normal(), ["a", "b"][int(rng.integers(2))]
            writer.writerow([signal, noise, city, 3 * signal + (2 if city == "b" else 0) + 0.05 * rng.normal()])
    cfg = resolve_config({"data": {"name": "table", "file": str(data), "target_column": "y"},
                          "train": {"epochs": 30}, "out_dir": str(tmp_path), "name": "r"})  # fmt: skip
    run_dir = train(cfg, Console(file=io.StringIO())).run_dir
    model, card = load_model(run_dir)
    encoder, scaler = stored_table(Preprocess.from_dict(card["preprocess"]))
    rows = [{"signal": 1.5, "noise": 1.5, "city": "b"}, {"signal": -1.0, "noise": -2.0, "city": "a"}]
    for e in explain_rows(model, encoder, scaler, rows):
        assert abs(sum(e.contributions.values()) - (e.prediction - e.baseline)) <= e.gap + 1e-6
        assert e.gap <= 0.01 * abs(e.prediction - e.baseline) + 1e-3
        assert abs(e.contributions["noise"]) < 0.25 * abs(e.contributions["signal"])
    rows_csv = tmp_path / "rows.csv"
    rows_csv.write_text("signal,noise,city\n1.5,1.5,b\n", encoding="utf-8")
    done = run_cli("explain", str(run_dir), "--rows", str(rows_csv))
    assert done.returncode == 0, done.stderr
    written = json.loads((run_dir / "explain" / "rows.json").read_text())
    assert written[0]["target"] == "y" and set(written[0]["contributions"]) == {"signal", "noise", "city"}
