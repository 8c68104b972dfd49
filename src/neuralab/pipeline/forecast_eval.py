"""A forecaster judged on the test span: its errors in the series' units, MASE, and the naive baselines.

MASE divides the mean absolute error by the in-sample one-step (or one-season) naive error on the
training span, so 1.0 means "as good as repeating the last value (season)"; a model worth having scores
below the naive and seasonal-naive forecasts on the same windows.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np

from neuralab.data.series import windows
from neuralab.data.table import TargetScaler
from neuralab.pipeline.prepare_series import SeriesLayout
from neuralab.runs import atomic_write_text
from neuralab.train.metrics import regression_metrics


def mase_scale(train: np.ndarray, season: int) -> float:
    """Mean |y_t - y_{t-m}| over the training span (m = the season, or 1)."""
    if len(train) <= season:
        return float("nan")
    scale = float(np.mean(np.abs(train[season:] - train[:-season])))
    return scale if scale > 0 else float("nan")


def seasonal_naive(inputs: np.ndarray, horizon: int, season: int) -> np.ndarray | None:
    """Each future step repeats the value one season before it; None when the window is shorter than a season."""
    window = inputs.shape[1]
    if season > window:
        return None
    steps = [window + k - season * ((k // season) + 1) for k in range(horizon)]
    return inputs[:, steps]


def errors(truth: np.ndarray, pred: np.ndarray, scale: float) -> dict[str, float]:
    mae = float(np.mean(np.abs(truth - pred)))
    return {"mae": mae, "rmse": float(np.sqrt(np.mean((truth - pred) ** 2))), "mase": mae / scale}


Arrays = tuple[np.ndarray, np.ndarray, np.ndarray]


def forecast_metrics(layout: SeriesLayout, scaled_pred: np.ndarray, scaler: TargetScaler, window: int,
                     horizon: int, loss: float) -> tuple[dict[str, Any], *Arrays]:  # fmt: skip
    """Test metrics and baselines, and (truth, prediction, naive) on the test windows in the series' units."""
    series = layout.series.values[:, layout.target]
    inputs, truth = windows(layout.series.values[layout.val_end :], layout.target, window, horizon, 1)
    history = inputs[:, :, layout.target]
    pred = scaler.unscale(scaled_pred)
    season = layout.series.season or 1
    scale = mase_scale(series[: layout.train_end], season)
    naive = np.repeat(history[:, -1:], horizon, axis=1)
    test: dict[str, Any] = {"loss": loss, **regression_metrics(truth, pred, scaler.names), **errors(truth, pred, scale)}
    test.pop("per_output", None)
    test["baselines"] = {"naive": errors(truth, naive, scale)}
    seasonal = seasonal_naive(history, horizon, season) if season > 1 else None
    if seasonal is not None:
        test["baselines"]["seasonal_naive"] = errors(truth, seasonal, scale)
    test["mase_season"] = season
    return test, truth, pred, naive


def write_forecasts(path: Path, layout: SeriesLayout, window: int, truth: np.ndarray, pred: np.ndarray,
                    naive: np.ndarray) -> None:  # fmt: skip
    """One row per (test window, step ahead): when, the truth, the forecast, the naive forecast."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["time", "origin", "step", "true", "predicted", "naive"])
    time = layout.series.time
    for i in range(len(truth)):
        origin = layout.val_end + i + window - 1  # the last step the model saw
        for k in range(truth.shape[1]):
            writer.writerow([time[origin + k + 1], time[origin], k + 1, truth[i, k], round(float(pred[i, k]), 6),
                             naive[i, k]])  # fmt: skip
    atomic_write_text(path, buffer.getvalue())
