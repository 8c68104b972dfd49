"""Repeats, the runs table and compare, through the CLI on real digits runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli


@pytest.fixture(scope="module")
def groups(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A good model and a deliberately tiny one (2 hidden units, 1 epoch), 3 seeds each."""
    out = tmp_path_factory.mktemp("experiments")
    good = run_cli(
        "train", "--dataset", "digits", "--repeats", "3", "--epochs", "5", "--out", str(out), "--name", "good"
    )
    assert good.returncode == 0, good.stderr
    assert "95% CI" in good.stdout
    tiny = run_cli("train", "--dataset", "digits", "--seeds", "0,1,2", "--model", "mlp", "--set",
                   "model.args.widths=[2]", "--epochs", "1", "--out", str(out), "--name", "tiny")  # fmt: skip
    assert tiny.returncode == 0, tiny.stderr
    return out


def test_a_group_holds_every_seed_and_its_statistics(groups: Path) -> None:
    group = json.loads((groups / "good-x3" / "group.json").read_text())
    assert group["seeds"] == [0, 1, 2] and group["runs"] == ["seed-0", "seed-1", "seed-2"]
    accuracy = group["test"]["accuracy"]
    values = [
        json.loads((groups / "good-x3" / r / "summary.json").read_text())["test"]["accuracy"] for r in group["runs"]
    ]
    assert accuracy["values"] == values
    assert accuracy["mean"] == pytest.approx(sum(values) / 3)
    assert accuracy["ci95"][0] <= accuracy["mean"] <= accuracy["ci95"][1]
    assert (groups / "good-x3" / "seed-1" / "test_predictions.safetensors").is_file()


def test_runs_lists_sorts_and_filters(groups: Path) -> None:
    listed = run_cli("runs", str(groups), "--json", "--sort", "test.accuracy", "--desc")
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [r["name"] for r in rows] == ["good-x3", "tiny-x3"] and rows[0]["seeds"] == 3
    only_tiny = run_cli("runs", str(groups), "--json", "--where", "model=mlp")
    assert [json.loads(line)["name"] for line in only_tiny.stdout.splitlines()] == ["tiny-x3"]
    bad = run_cli("runs", str(groups), "--where", "model")
    assert bad.returncode == 2 and "key=value" in bad.stderr


def test_compare_finds_the_real_difference_between_groups(groups: Path, tmp_path: Path) -> None:
    done = run_cli("compare", str(groups / "tiny-x3"), str(groups / "good-x3"), "--json", "--out",
                   str(tmp_path / "cmp.html"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    verdict = result["verdicts"][0]
    assert verdict["test"] == "Welch's t-test over seeds" and verdict["significant"] is True
    assert "good-x3 is better than tiny-x3" in verdict["verdict"]
    assert "model.name" in result["config_differences"]
    assert "<svg" in (tmp_path / "cmp.html").read_text()


def test_compare_pairs_single_runs_with_mcnemar(groups: Path, tmp_path: Path) -> None:
    good, tiny = groups / "good-x3", groups / "tiny-x3"
    real = json.loads(run_cli("compare", str(tiny / "seed-0"), str(good / "seed-0"), "--json", "--out",
                              str(tmp_path / "a.html")).stdout)["verdicts"][0]  # fmt: skip
    assert real["test"] == "McNemar's exact test on paired predictions" and real["significant"] is True
    same = json.loads(run_cli("compare", str(good / "seed-0"), str(good / "seed-1"), "--json", "--out",
                              str(tmp_path / "b.html")).stdout)["verdicts"][0]  # fmt: skip
    assert same["significant"] is False and "Not significant" in same["verdict"]
    mixed = json.loads(run_cli("compare", str(good), str(tiny / "seed-0"), "--json", "--out",
                               str(tmp_path / "c.html")).stdout)["verdicts"][0]  # fmt: skip
    assert mixed["test"] is None and "--repeats" in mixed["verdict"]
    missing = run_cli("compare", str(good), str(tmp_path))
    assert missing.returncode == 2 and "neither a finished run" in missing.stderr


def test_compare_pairs_two_regressions_row_by_row(tmp_path: Path) -> None:
    """A crippled run (one epoch at a tiny learning rate) is named worse by the Wilcoxon test on errors."""
    base = ["train", "--dataset", "diabetes", "--out", str(tmp_path)]
    good = run_cli(*base, "--name", "good")
    bad = run_cli(*base, "--name", "bad", "--epochs", "1", "--lr", "1e-5")
    assert good.returncode == 0 and bad.returncode == 0, good.stderr + bad.stderr
    done = run_cli("compare", str(tmp_path / "good"), str(tmp_path / "bad"), "--json", "--out",
                   str(tmp_path / "c.html"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    verdict = result["verdicts"][0]
    assert verdict["test"].startswith("Wilcoxon") and verdict["significant"]
    assert verdict["verdict"].startswith("bad is worse than good on test MAE")
    assert "rmse" in result["metrics"] and "accuracy" not in result["metrics"]
    listed = run_cli("runs", str(tmp_path), "--json")
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert {r["task"] for r in rows} == {"regress"} and all(r["test.rmse"] > 0 for r in rows)
