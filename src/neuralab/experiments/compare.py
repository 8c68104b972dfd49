"""`neuralab compare A B [C ...]`: runs or groups side by side, each against the first: what differs in
the config, what differs in the test metrics, and whether the accuracy difference is significant."""

from __future__ import annotations

import csv
import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neuralab.errors import UserError
from neuralab.experiments.catalog import Entry, flatten, load_entry
from neuralab.experiments.stats import Significance, mcnemar, paired_errors, welch
from neuralab.files import atomic_write_text, load_tensors
from neuralab.plotting import figure_bytes, new_figure, with_cjk_text
from neuralab.records import read_metrics

METRICS = ("accuracy", "macro_f1", "balanced_accuracy", "rmse", "mae", "r2", "mase", "loss")
# The metric a group is judged on, by task, and whether higher is better.
PRIMARY = {"classify": ("accuracy", True), "regress": ("rmse", False), "forecast": ("mase", False)}
_PREDICTION_FILES = {"regress": "test_predictions.csv", "forecast": "test_forecasts.csv"}
_NOT_COMPARED = {"name", "out_dir"}


@dataclass
class Verdict:
    """Entry B against the baseline A: a significance test, or why none applies."""

    test: Significance | None
    reason: str | None = None


@dataclass
class Comparison:
    entries: list[Entry]
    config_differences: dict[str, list[Any]]
    metrics: dict[str, list[float | None]]
    verdicts: list[Verdict]  # one per entry after the first


def _predictions(entry: Entry) -> dict[str, np.ndarray] | None:
    path = entry.path / "test_predictions.safetensors"
    if not path.is_file():
        return None
    return {k: v.numpy() for k, v in load_tensors(path).items()}


def task_of(entry: Entry) -> str:
    return str(entry.summary.get("task") or entry.config.get("task") or "classify")


def _absolute_errors(entry: Entry) -> tuple[np.ndarray, np.ndarray] | None:
    """(truth, |error|) for every test value of a regression or forecast run, from its predictions CSV."""
    path = entry.path / _PREDICTION_FILES.get(task_of(entry), "")
    if not path.is_file():
        return None
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    true_keys = [k for k in (rows[0] if rows else {}) if k == "true" or k.startswith("true_")]
    truth = np.asarray([[float(r[k]) for k in true_keys] for r in rows])
    pred = np.asarray([[float(r[k.replace("true", "predicted", 1)]) for k in true_keys] for r in rows])
    return truth.ravel(), np.abs(pred - truth).ravel()


def _value_verdict(a: Entry, b: Entry) -> Verdict:
    ea, eb = _absolute_errors(a), _absolute_errors(b)
    if ea is None or eb is None:
        missing = [e.name for e, v in ((a, ea), (b, eb)) if v is None]
        return Verdict(None, f"{', '.join(missing)} kept no test predictions: retrain to compare them")
    if len(ea[0]) != len(eb[0]) or not np.allclose(ea[0], eb[0]):
        return Verdict(None, "the two runs were tested on different rows, so their errors cannot be paired; "
                             "compare groups of seeds instead")  # fmt: skip
    return Verdict(paired_errors(ea[1], eb[1]))


def verdict(a: Entry, b: Entry) -> Verdict:
    tasks = {task_of(a), task_of(b)}
    if len(tasks) > 1:
        return Verdict(None, f"a {task_of(a)} run and a {task_of(b)} run answer different questions")
    task = tasks.pop()
    if a.kind == "run" and b.kind == "run" and task != "classify":
        return _value_verdict(a, b)
    if a.kind == "group" and b.kind == "group" and task != "classify":
        metric, higher = PRIMARY.get(task, ("rmse", False))
        values_a = (a.summary.get("test") or {}).get(metric, {}).get("values", [])
        values_b = (b.summary.get("test") or {}).get(metric, {}).get("values", [])
        if len(values_a) < 2 or len(values_b) < 2:
            return Verdict(None, f"each group needs at least two seeds with a test {metric}")
        return Verdict(welch(values_a, values_b, metric=f"test {metric.upper()}", higher_is_better=higher,
                             in_points=False))  # fmt: skip
    if a.kind == "run" and b.kind == "run":
        pa, pb = _predictions(a), _predictions(b)
        missing = [e.name for e, p in ((a, pa), (b, pb)) if p is None]
        if pa is None or pb is None:
            return Verdict(None, f"{', '.join(missing)} kept no per-example test predictions (trained before "
                                 "neuralab saved them, or not evaluated on test): retrain to compare them")  # fmt: skip
        if len(pa["y_true"]) != len(pb["y_true"]) or not np.array_equal(pa["y_true"], pb["y_true"]):
            return Verdict(None, "the two runs were tested on different examples, so their predictions cannot be "
                                 "paired; compare groups of seeds instead")  # fmt: skip
        return Verdict(mcnemar(pa["y_true"], pa["y_pred"], pb["y_pred"]))
    if a.kind == "group" and b.kind == "group":
        values_a = (a.summary.get("test") or {}).get("accuracy", {}).get("values", [])
        values_b = (b.summary.get("test") or {}).get("accuracy", {}).get("values", [])
        if len(values_a) < 2 or len(values_b) < 2:
            return Verdict(None, "each group needs at least two seeds with a test accuracy")
        return Verdict(welch(values_a, values_b))
    return Verdict(None, "a single run and a group cannot be tested against each other: train both with --repeats")


def compare(paths: list[Path]) -> Comparison:
    if len(paths) < 2:
        raise UserError("compare needs at least two runs or groups")
    entries = [load_entry(Path(p)) for p in paths]
    flat = [flatten({k: v for k, v in e.config.items() if k not in _NOT_COMPARED}) for e in entries]
    keys = sorted({k for f in flat for k in f})
    differences = {k: [f.get(k) for f in flat] for k in keys if len({repr(f.get(k)) for f in flat}) > 1}
    metrics = {m: [e.metric(m) for e in entries] for m in METRICS}
    metrics = {m: values for m, values in metrics.items() if any(v is not None for v in values)}
    return Comparison(entries, differences, metrics, [verdict(entries[0], e) for e in entries[1:]])


def _curve(entry: Entry, key: str) -> list[float]:
    folders = [entry.path / name for name in entry.summary.get("runs", [])] if entry.kind == "group" else [entry.path]
    curves = [read_metrics(f / "metrics.csv").get(key, []) for f in folders if (f / "metrics.csv").is_file()]
    curves = [c for c in curves if c]
    if not curves:
        return []
    length = min(len(c) for c in curves)
    return [float(v) for v in np.mean([c[:length] for c in curves], axis=0)]


@with_cjk_text
def _curves_svg(comparison: Comparison) -> str:
    fig, axes = new_figure(1, 2, figsize=(10, 3.6))
    classify = all(task_of(e) == "classify" for e in comparison.entries)
    key, name = ("val_accuracy", "validation accuracy") if classify else ("val_rmse", "validation RMSE")
    for entry in comparison.entries:
        for ax, column in zip(axes, (key, "loss"), strict=True):
            curve = _curve(entry, column)
            if curve:
                ax.plot(range(1, len(curve) + 1), curve, marker="o", markersize=3, label=entry.name)
    for ax, title in zip(axes, (f"{name} (groups: mean over seeds)", "training loss"), strict=True):
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("epoch")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return figure_bytes(fig, "svg").decode("utf-8")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))


def write_comparison_html(comparison: Comparison, out: Path) -> Path:
    names = [e.name for e in comparison.entries]
    head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
    metric_rows = "".join(
        f"<tr><th>test {m}</th>" + "".join(f"<td>{'' if v is None else f'{v:.4f}'}</td>" for v in values) + "</tr>"
        for m, values in comparison.metrics.items()
    )
    config_rows = (
        "".join(
            f"<tr><th>{html.escape(k)}</th>" + "".join(f"<td>{_fmt(v)}</td>" for v in values) + "</tr>"
            for k, values in comparison.config_differences.items()
        )
        or f"<tr><td colspan='{len(names) + 1}'>the configs are the same</td></tr>"
    )
    verdicts = "".join(
        f"<li><b>{html.escape(e.name)}</b> against <b>{html.escape(names[0])}</b>: "
        + html.escape(v.test.verdict(names[0], e.name) if v.test else str(v.reason)) + "</li>"
        for e, v in zip(comparison.entries[1:], comparison.verdicts, strict=True)
    )  # fmt: skip
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>neuralab comparison</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px}</style></head><body>"
        f"<h1>Comparison</h1><h2>Is the difference real?</h2><ul>{verdicts}</ul>"
        f"<h2>Test metrics</h2><table><tr><th></th>{head}</tr>{metric_rows}</table>"
        f"<h2>Config differences</h2><table><tr><th>key</th>{head}</tr>{config_rows}</table>"
        f"<h2>Curves</h2>{_curves_svg(comparison)}</body></html>\n"
    )
    atomic_write_text(out, page)
    return out
