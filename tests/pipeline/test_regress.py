"""Regression end to end through the CLI: train, evaluate, predict and report, on real and mixed-type data."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import torch
from rich.console import Console

from neuralab.data.table import TableEncoder, TargetScaler
from neuralab.pipeline import resolve_config, train
from neuralab.pipeline.prepare_table import prepare_table
from tests.cli.test_cli import kill_when_checkpointed
from tests.conftest import run_cli

HOUSES = Path(__file__).parents[2] / "examples" / "house_prices.csv"


def test_diabetes_trains_from_its_name_alone_and_beats_the_mean(tmp_path: Path) -> None:
    """`--dataset diabetes` brings task: regress with it; the 5-seed mean R² is about 0.5 (README)."""
    done = run_cli("train", "--dataset", "diabetes", "--out", str(tmp_path), "--name", "d")
    assert done.returncode == 0, done.stderr
    assert "test RMSE" in done.stdout
    summary = json.loads((tmp_path / "d" / "summary.json").read_text())
    test = summary["test"]
    assert summary["task"] == "regress" and summary["targets"] == ["progression"]
    assert test["r2"] > 0.3 and test["rmse"] < 0.9 * test["mean_baseline"]["rmse"]
    evaluated = run_cli("evaluate", str(tmp_path / "d"), "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(evaluated.stdout)["rmse"] == pytest.approx(test["rmse"], rel=1e-5)
    header = (tmp_path / "d" / "test_predictions.csv").read_text().splitlines()[0]
    assert header.endswith("true_progression,predicted_progression")
    page = (tmp_path / "d" / "report.html").read_text()
    assert "predicted vs true" in page and "Errors by feature" in page


def test_a_mixed_type_csv_learns_prices_and_predicts_new_rows(tmp_path: Path) -> None:
    done = run_cli("train", "--dataset", "table", "--data", str(HOUSES), "--set", "data.target_column=price",
                   "--out", str(tmp_path), "--name", "h")  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "h" / "summary.json").read_text())
    assert summary["columns"] == {"area_m2": "numeric", "location": "categorical", "rooms": "numeric"}
    assert summary["test"]["r2"] > 0.85
    rows = tmp_path / "rows.csv"
    rows.write_text("rooms,area_m2,location\n3,80,suburb\n3,80,city-centre\n2,,moon\n", encoding="utf-8")
    predicted = run_cli("predict", str(tmp_path / "h"), "--rows", str(rows), "--json")
    assert predicted.returncode == 0, predicted.stderr
    values = [json.loads(line)["price"] for line in predicted.stdout.splitlines() if line.startswith("{")]
    assert len(values) == 3 and values[1] > values[0] * 1.3  # the same flat costs more in the city centre
    said = " ".join(predicted.stdout.split())
    assert "['moon'] never appeared in training" in said and "'area_m2': 1 missing value(s)" in said
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("rooms,area,location\n3,80,suburb\n", encoding="utf-8")
    refused = run_cli("predict", str(tmp_path / "h"), "--rows", str(wrong))
    assert refused.returncode != 0 and "no column(s) ['area_m2']" in " ".join(refused.stderr.split())
    assert "Traceback" not in refused.stderr


def test_the_encoder_and_target_scale_come_from_the_training_rows_only(tmp_path: Path) -> None:
    cfg = resolve_config({"data": {"name": "table", "file": str(HOUSES), "target_column": "price"},
                          "out_dir": str(tmp_path)})  # fmt: skip
    prepared = prepare_table(cfg)  # type: ignore[arg-type]
    extra = prepared.data.preprocess.extra
    from neuralab.data.regression_datasets import held_out_test
    from neuralab.data.table import read_table
    from neuralab.pipeline.prepare_table import random_split

    everything = read_table(HOUSES, ["price"])
    train, test = held_out_test(everything)
    keep, held = random_split(len(train), cfg.data.val_fraction, cfg.train.seed)
    fitted = train.subset(keep)
    assert TableEncoder.from_dict(extra["table"]) == TableEncoder.fit(fitted)
    assert TargetScaler.from_dict(extra["target"]) == TargetScaler.fit(["price"], fitted.targets)
    assert len(prepared.train) == len(keep) and len(prepared.val or []) == len(held) and len(prepared.test) == len(test)

    def rows(table: object) -> set[tuple]:
        return {(*r, y) for r, y in zip(table.rows.tolist(), table.targets[:, 0].tolist(), strict=True)}  # type: ignore[attr-defined]

    assert not rows(test) & rows(train) and len(rows(test) | rows(train)) == len(everything)  # disjoint, complete


def test_multi_output_targets_get_one_output_and_one_metric_each(tmp_path: Path) -> None:
    data = tmp_path / "two.csv"
    with data.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["x", "kind", "y1", "y2"])
        for i in range(120):
            writer.writerow([i / 10, "ab"[i % 2], 2 * i / 10 + (i % 2), -i / 10])
    cfg = resolve_config({"data": {"name": "table", "file": str(data), "target_columns": ["y1", "y2"]},
                          "train": {"epochs": 30}, "out_dir": str(tmp_path), "name": "two"})  # fmt: skip
    result = train(cfg, Console(file=io.StringIO()))
    test = result.summary["test"]
    assert set(test["per_output"]) == {"y1", "y2"} and test["r2"] > 0.9
    header = (result.run_dir / "test_predictions.csv").read_text().splitlines()[0]
    assert header == "x,kind,true_y1,true_y2,predicted_y1,predicted_y2"


def test_a_killed_regression_run_resumes_to_the_same_weights(tmp_path: Path) -> None:
    """The regression task rides the shared machinery: SIGKILL mid-run, --resume, bit-identical end."""
    from safetensors.torch import load_file

    args = ["train", "--dataset", "diabetes", "--set", "train.checkpoint_every_steps=20", "--out", str(tmp_path)]
    reference = run_cli(*args, "--name", "reference")
    assert reference.returncode == 0, reference.stderr
    kill_when_checkpointed([*args, "--name", "killed"], tmp_path / "killed")
    resumed = run_cli("train", "--resume", str(tmp_path / "killed"))
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming" in resumed.stdout
    want, got = (
        load_file(tmp_path / "reference" / "model.safetensors"),
        load_file(tmp_path / "killed" / "model.safetensors"),
    )
    assert all(torch.equal(want[k], got[k]) for k in want)


@pytest.mark.parametrize(
    ("csv_text", "args", "message"),
    [
        ("x,price\n1,cheap\n2,3\n", ["--dataset", "table"], "target column 'price' holds 'cheap', not a number"),
        ("x,price\n" + "".join(f"{i},{i * 7.5}\n" for i in range(100)), ["--dataset", "csv"],
         "a quantity, not classes"),
    ],
)  # fmt: skip
def test_wrong_targets_get_a_message_that_names_the_fix(tmp_path: Path, csv_text: str, args: list[str],
                                                        message: str) -> None:  # fmt: skip
    data = tmp_path / "d.csv"
    data.write_text(csv_text, encoding="utf-8")
    done = run_cli("train", *args, "--data", str(data), "--set", "data.target_column=price", "--out", str(tmp_path))
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert message in " ".join((done.stderr + done.stdout).split())  # the console wraps long lines


@pytest.mark.parametrize(("dataset", "task"), [("diabetes", "regress"), ("sunspots", "forecast")])
def test_classifying_a_table_or_a_series_names_the_right_task(dataset: str, task: str) -> None:
    from neuralab.errors import UserError
    from neuralab.pipeline import prepare_data

    cfg = resolve_config({"task": "classify", "data": {"name": dataset}})
    with pytest.raises(UserError, match=f"use task: {task}"):
        prepare_data(cfg)  # type: ignore[arg-type]
