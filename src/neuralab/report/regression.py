"""The regression part of report.html: predicted against true, the residuals, and where the errors are.

It reads `test_predictions.csv` (every test row, its truth and the prediction), so the page can be
redrawn from the run folder alone.
"""

from __future__ import annotations

import csv
import html
from pathlib import Path
from typing import Any

import numpy as np

from neuralab.data.table import as_number
from neuralab.plotting import figure_bytes, new_figure, with_cjk_text


def read_predictions(path: Path, targets: list[str]) -> tuple[dict[str, list[str]], np.ndarray, np.ndarray]:
    """Feature columns (raw strings), truth [N, T] and predictions [N, T]."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    truth = np.asarray([[float(r[f"true_{t}"]) for t in targets] for r in rows]).reshape(len(rows), len(targets))
    pred = np.asarray([[float(r[f"predicted_{t}"]) for t in targets] for r in rows]).reshape(len(rows), len(targets))
    skip = {f"{p}_{t}" for t in targets for p in ("true", "predicted")}
    features = {c: [r[c] for r in rows] for c in (rows[0].keys() if rows else []) if c not in skip}
    return features, truth, pred


@with_cjk_text
def scatter_png(truth: np.ndarray, pred: np.ndarray, name: str) -> bytes:
    """Predicted vs true (the diagonal is perfect), and residuals vs predicted (a pattern is a missed effect)."""
    fig, (left, right) = new_figure(1, 2, figsize=(11, 4.2))
    low, high = float(min(truth.min(), pred.min())), float(max(truth.max(), pred.max()))
    left.scatter(truth, pred, s=10, alpha=0.6)
    left.plot([low, high], [low, high], color="black", linewidth=1)
    left.set_xlabel(f"true {name}")
    left.set_ylabel(f"predicted {name}")
    left.set_title("predicted vs true (test)")
    residual = pred - truth
    right.scatter(pred, residual, s=10, alpha=0.6)
    right.axhline(0, color="black", linewidth=1)
    right.set_xlabel(f"predicted {name}")
    right.set_ylabel("residual (predicted - true)")
    right.set_title("residuals (test)")
    for ax in (left, right):
        ax.grid(alpha=0.3)
    return figure_bytes(fig, "png", dpi=110, bbox_inches="tight")


def error_buckets(values: list[str], abs_error: np.ndarray, max_groups: int = 8) -> list[tuple[str, int, float]]:
    """(bucket, rows, mean absolute error): quartiles of a numeric column, or its most frequent categories."""
    numbers = [as_number(v) for v in values]
    if all(n is not None for n in numbers) and len(set(numbers)) > max_groups:
        x = np.asarray(numbers, dtype=np.float64)
        edges = np.unique(np.quantile(x, [0, 0.25, 0.5, 0.75, 1]))
        which = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(edges) - 2)
        return [(f"{edges[b]:.4g} – {edges[b + 1]:.4g}", int((which == b).sum()), float(abs_error[which == b].mean()))
                for b in range(len(edges) - 1) if (which == b).any()]  # fmt: skip
    keys = np.asarray([v if v != "" else "(missing)" for v in values], dtype=object)
    names, counts = np.unique(keys, return_counts=True)
    order = np.argsort(-counts, kind="stable")[:max_groups]
    return [(str(names[i]), int(counts[i]), float(abs_error[keys == names[i]].mean())) for i in order]


def regression_sections(run_dir: Path, summary: dict[str, Any], img: Any) -> list[str]:
    targets: list[str] = summary["targets"]
    path = run_dir / "test_predictions.csv"
    if not path.exists():
        return ["<p>test_predictions.csv is missing, so there are no plots of the test predictions.</p>"]
    features, truth, pred = read_predictions(path, targets)
    parts = []
    for i, name in enumerate(targets):
        parts.append(f"<h2>{html.escape(name)}: predictions on the test split</h2>"
                     + img(scatter_png(truth[:, i], pred[:, i], name), f"{name}: predicted vs true"))  # fmt: skip
    abs_error = np.abs(pred - truth).mean(1)
    rows = []
    for column, values in features.items():
        for bucket, count, mae in error_buckets(values, abs_error):
            rows.append(f"<tr><td>{html.escape(column)}</td><td>{html.escape(bucket)}</td><td>{count}</td>"
                        f"<td>{mae:.4g}</td></tr>")  # fmt: skip
    parts.append(
        "<h2>Errors by feature (test)</h2><p>Mean absolute error of the rows in each quartile of a numeric "
        "column or each category: a bucket far above the others is where the model is weakest.</p>"
        "<table><tr><th>column</th><th>bucket</th><th>rows</th><th>MAE</th></tr>" + "".join(rows) + "</table>"
    )
    return parts


@with_cjk_text
def forecast_png(time: list[str], truth: list[float], pred: list[float], naive: list[float], step: int) -> bytes:
    """The test span: the truth, the model's forecast `step` steps ahead, and the naive forecast."""
    fig, ax = new_figure(1, 1, figsize=(12, 4))
    x = np.arange(len(time))
    ax.plot(x, truth, color="black", linewidth=1.2, label="true")
    ax.plot(x, pred, color="tab:blue", linewidth=1.2, label=f"forecast ({step} step ahead)")
    ax.plot(x, naive, color="tab:gray", linewidth=0.8, linestyle="--", label="naive (last value)")
    ticks = np.linspace(0, len(time) - 1, min(8, len(time))).astype(int)
    ax.set_xticks(ticks, [time[i] for i in ticks])
    ax.set_title("test span")
    ax.grid(alpha=0.3)
    ax.legend()
    return figure_bytes(fig, "png", dpi=110, bbox_inches="tight")


def forecast_sections(run_dir: Path, img: Any) -> list[str]:
    path = run_dir / "test_forecasts.csv"
    if not path.exists():
        return ["<p>test_forecasts.csv is missing, so there is no plot of the test forecasts.</p>"]
    with path.open(newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh)]
    parts = []
    steps = sorted({int(r["step"]) for r in rows})
    for step in {steps[0], steps[-1]}:  # one step ahead, and the farthest
        chosen = [r for r in rows if int(r["step"]) == step]
        truth, pred, naive = ([float(r[key]) for r in chosen] for key in ("true", "predicted", "naive"))
        png = forecast_png([r["time"] for r in chosen], truth, pred, naive, step)
        parts.append(f"<h2>Forecasts {step} step(s) ahead on the test span</h2>" + img(png, f"forecast {step} ahead"))
    return parts
