from __future__ import annotations

from pathlib import Path

import pytest

from neuralab.data.registry import LoadOptions
from neuralab.data.tabular import load_csv
from neuralab.errors import UserError


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_loads_numeric_features_and_string_labels(tmp_path: Path) -> None:
    rows = "\n".join(f"{i},{i * 2.5},{'yes' if i % 2 else 'no'}" for i in range(20))
    data = load_csv(LoadOptions(file=write(tmp_path / "t.csv", "a,b,label\n" + rows + "\n")))
    assert data.classes == ["no", "yes"] and data.preprocess.input_shape == (2,)
    assert len(data.train) == 16 and len(data.test) == 4


def test_missing_label_column_lists_columns(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no column 'label'; columns are a, b"):
        load_csv(LoadOptions(file=write(tmp_path / "t.csv", "a,b\n1,2\n")))


def test_non_numeric_cell_names_line_and_column(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"t\.csv:3: column 'b' holds 'oops'"):
        load_csv(LoadOptions(file=write(tmp_path / "t.csv", "a,b,label\n1,2,x\n3,oops,y\n")))


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes("a,label\n1,caf\xe9\n".encode("latin-1"))
    with pytest.raises(UserError, match="not UTF-8"):
        load_csv(LoadOptions(file=path))


def test_rows_of_numeric_sequences_train_the_tutorials_simple_lstm_through_the_cli(tmp_path: Path) -> None:
    """The tutorial's SimpleLSTM shape: 15 steps of 10 features, 5 classes, from a CSV (step-major columns)."""
    import csv
    import json

    import numpy as np

    from tests.conftest import run_cli

    rng = np.random.default_rng(0)
    steps, features = 15, 10
    path = tmp_path / "sequences.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([f"t{t}_f{f}" for t in range(steps) for f in range(features)] + ["label"])
        for i in range(600):
            label = i % 5
            t = np.arange(steps)[:, None]
            wave = np.sin(2 * np.pi * (label + 1) * t / steps + rng.uniform(0, 2 * np.pi))
            writer.writerow([*(wave + 0.3 * rng.normal(size=(steps, features))).ravel().round(4), f"class{label}"])
    done = run_cli("train", "--dataset", "csv", "--data", str(path), "--model", "sequence_lstm", "--set",
                   "data.sequence_length=15", "--epochs", "15", "--out", str(tmp_path), "--name", "seq")  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "seq" / "summary.json").read_text())
    assert summary["test"]["accuracy"] > 0.8  # chance is 0.2
    card = json.loads((tmp_path / "seq" / "model.json").read_text())
    assert card["input_shape"] == [15, 10] and card["preprocess"]["kind"] == "sequence"
    uneven = run_cli("train", "--dataset", "csv", "--data", str(path), "--model", "sequence_lstm", "--set",
                     "data.sequence_length=7", "--out", str(tmp_path))  # fmt: skip
    assert uneven.returncode == 2 and "do not split into 7 equal steps" in " ".join(uneven.stderr.split())
