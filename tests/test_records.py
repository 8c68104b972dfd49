"""A run folder's records are data from anyone: tampered ones are refused by file and field, real ones read."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from neuralab.errors import UserError
from neuralab.records import check_summary, read_findings, read_metric_rows, read_metrics, read_summary
from tests.conftest import run_cli


def test_a_real_runs_records_read_unchanged(digits_run: Path) -> None:
    raw = json.loads((digits_run / "summary.json").read_text())
    assert read_summary(digits_run / "summary.json") == raw
    assert read_findings(digits_run / "findings.json") == json.loads((digits_run / "findings.json").read_text())
    columns = read_metrics(digits_run / "metrics.csv")
    assert columns["epoch"] == [float(i) for i in range(1, len(columns["epoch"]) + 1)]
    assert len(read_metric_rows(digits_run / "metrics.csv")) == len(columns["epoch"])


def test_absent_fields_stay_absent_and_unknown_ones_are_kept() -> None:
    raw = {"model": "m", "test": None, "something_new": [1, {"x": 2}]}
    assert check_summary(raw, Path("summary.json")) is raw


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"model": 5}, "model: Input should be a valid string (got 5)"),
        ({"dataset": None}, "dataset: Input should be a valid string (got null)"),
        ({"test": "x"}, "test: Input should be a valid dictionary"),
        (
            {"test": {"accuracy": "high"}},
            'test.accuracy: should be a number (or, in a group, an object with its mean) (got "high")',
        ),
        ({"test": {"accuracy": {"mean": "x"}}}, "test.accuracy.mean: Input should be a valid number"),
        ({"test": {"per_class": [1]}}, "test.per_class: Input should be a valid dictionary"),
        (
            {"test": {"confusion_matrix": [[1, 2], [3, 0.5]]}},
            "test.confusion_matrix[1][1]: Input should be a valid integer",
        ),
        ({"best": {"epoch": "3"}}, "best.epoch: Input should be a valid integer"),
        ({"train_seconds": True}, "train_seconds: should be a number"),
        ({"targets": "price"}, "targets: Input should be a valid list"),
    ],
)
def test_a_wrong_type_is_refused_by_field(change: dict[str, object], named: str) -> None:
    with pytest.raises(UserError, match=r"summary\.json is malformed") as err:
        check_summary({"model": "m", "dataset": "d", **change}, Path("summary.json"))
    assert named in str(err.value)


def test_a_summary_must_be_an_object_and_long_values_are_cut() -> None:
    with pytest.raises(UserError, match="must hold a JSON object, not a list"):
        check_summary([1, 2], Path("summary.json"))
    with pytest.raises(UserError) as err:
        check_summary({"model": ["x" * 10_000]}, Path("summary.json"))
    assert len(str(err.value)) < 300


def test_findings_are_refused_by_item_and_field(tmp_path: Path) -> None:
    path = tmp_path / "findings.json"
    path.write_text(json.dumps({"kind": "x"}))
    with pytest.raises(UserError, match="must hold a JSON list of findings, not a dict"):
        read_findings(path)
    path.write_text(json.dumps([{"kind": "a", "where": "b", "evidence": "c"}, {"kind": "x", "where": "y"}]))
    with pytest.raises(UserError, match=r"\[1\]\.evidence: Field required"):
        read_findings(path)
    path.write_text(json.dumps([{"kind": "a", "where": "b", "evidence": "c"}]))
    assert read_findings(path) == [{"kind": "a", "where": "b", "evidence": "c", "remedies": []}]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("epoch,loss\n1,0.5\nx,0.4\n", "line 3, column 'epoch': 'x' is not a number"),
        ("epoch,loss\n1,0.5,9\n", "line 2: more values than the header has columns"),
        ("epoch,loss\n1,\xff\n", "'ÿ' is not a number"),
    ],
)
def test_metrics_cells_must_be_numbers(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "metrics.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UserError, match=message):
        read_metrics(path)


def test_metrics_empty_cells_and_nan_are_kept_apart(tmp_path: Path) -> None:
    path = tmp_path / "metrics.csv"
    path.write_text("epoch,loss,val_loss\n1,0.5,\n2,nan,0.3\n")
    columns = read_metrics(path)
    assert columns["epoch"] == [1.0, 2.0] and columns["val_loss"] == [0.3] and columns["loss"][1] != columns["loss"][1]


def _edit_json(name: str, edit: Callable[[object], object]) -> Callable[[Path], None]:
    def apply(run: Path) -> None:
        path = run / name
        path.write_text(json.dumps(edit(json.loads(path.read_text()))))

    return apply


def _set_test(key: str, value: object) -> Callable[[object], object]:
    def edit(summary: object) -> object:
        assert isinstance(summary, dict)
        summary["test"][key] = value
        return summary

    return edit


TAMPERINGS: dict[str, tuple[Callable[[Path], None], str]] = {
    "summary is a list": (_edit_json("summary.json", lambda s: [s]), "must hold a JSON object, not a list"),
    "accuracy is text": (
        _edit_json("summary.json", _set_test("accuracy", "high")),
        "test.accuracy: should be a number",
    ),
    "findings hold numbers": (_edit_json("findings.json", lambda f: [1, 2]), "[0]: Input should be a valid dictionary"),
    "metrics hold text": (lambda run: (run / "metrics.csv").write_text("epoch,loss\nx,y\n"), "'x' is not a number"),
    "a field is gone": (
        _edit_json("summary.json", lambda s: {k: v for k, v in s.items() if k != "best"}),
        "lack the field 'best'",
    ),  # type: ignore[union-attr]
    "matrix does not fit the classes": (
        _edit_json("summary.json", _set_test("confusion_matrix", [[1]])),
        "names 10 classes, but the test confusion matrix in summary.json is not 10x10",
    ),
}


@pytest.mark.parametrize("name", list(TAMPERINGS))
def test_report_refuses_tampered_records_by_name(digits_run: Path, tmp_path: Path, name: str) -> None:
    tamper, message = TAMPERINGS[name]
    run = tmp_path / "run"
    shutil.copytree(digits_run, run)
    tamper(run)
    before = (run / "report.html").read_bytes()
    done = run_cli("report", str(run))
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert message in " ".join(done.stderr.split()), done.stderr
    assert (run / "report.html").read_bytes() == before  # the old report is left whole


def test_diagnose_runs_and_compare_refuse_tampered_records(digits_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "runs" / "run"
    shutil.copytree(digits_run, run)
    (run / "findings.json").write_text(json.dumps({"kind": 1}))
    (run / "metrics.csv").write_text("epoch,loss\n1,0.5,7\n")
    _edit_json("summary.json", _set_test("per_class", [1]))(run)
    checks = [
        (("diagnose", str(run)), "findings.json must hold a JSON list of findings"),
        (("compare", str(digits_run), str(run)), "test.per_class: Input should be a valid dictionary"),
    ]
    for args, message in checks:
        done = run_cli(*args)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert message in " ".join(done.stderr.split()), done.stderr
    shutil.copytree(digits_run, tmp_path / "runs" / "good")
    listed = run_cli("runs", str(tmp_path / "runs"), "--json")  # one folder it cannot read does not hide the others
    assert listed.returncode == 0 and "Traceback" not in listed.stderr, listed.stderr
    assert [json.loads(line)["name"] for line in listed.stdout.splitlines()] == ["good"]
    assert "skipped" in listed.stderr and "test.per_class" in listed.stderr
