"""Real training on real data, end to end through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import needs_fashion, run_cli


@needs_fashion
def test_fashion_mnist_trains_for_real(tmp_path: Path) -> None:
    result = run_cli(
        "train", "--dataset", "fashion-mnist", "--epochs", "4", "--set", "data.subset=12000",
        "--out", str(tmp_path), "--name", "fm",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "fm" / "summary.json").read_text())
    assert summary["model"] == "fast_cnn" and summary["data"]["test"] == 10000
    assert summary["test"]["accuracy"] > 0.8, summary["test"]["accuracy"]
    assert summary["channels_last"] is True


def test_csv_dataset_trains(tmp_path: Path) -> None:
    from sklearn.datasets import load_iris

    iris = load_iris()
    lines = ["sepal_l,sepal_w,petal_l,petal_w,label"]
    for row, target in zip(iris.data, iris.target, strict=True):
        lines.append(",".join(f"{v:.1f}" for v in row) + f",{iris.target_names[target]}")
    csv = tmp_path / "iris.csv"
    csv.write_text("\n".join(lines) + "\n")
    result = run_cli("train", "--dataset", "csv", "--data", str(csv), "--out", str(tmp_path), "--name", "iris")
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "iris" / "summary.json").read_text())
    assert summary["test"]["accuracy"] >= 0.85
    card = json.loads((tmp_path / "iris" / "model.json").read_text())
    assert card["classes"] == ["setosa", "versicolor", "virginica"] and card["preprocess"]["kind"] == "vector"
