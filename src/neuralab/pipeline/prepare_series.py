"""Forecasting data ready to train on: spans in time order, scaled from the training span, cut into windows.

`model.json` stores the series' scale and the window settings, so predict and serve turn a history
into the model's input exactly as training did.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from neuralab.config import ForecastRunConfig
from neuralab.data import TensorSamples
from neuralab.data.series import Series, SeriesScaler, spans, windows
from neuralab.data.table import TargetScaler
from neuralab.data.transforms import Preprocess
from neuralab.errors import UserError
from neuralab.pipeline.prepare import PreparedData, load_dataset


@dataclass
class SeriesLayout:
    """Where each split lies on the time axis, for baselines and the report's plot."""

    series: Series
    target: int
    train_end: int
    val_end: int


def series_preprocess(cfg: ForecastRunConfig, scaler: SeriesScaler, target: int) -> Preprocess:
    name, window, horizon = scaler.columns[target], cfg.data.window, cfg.data.horizon
    targets = TargetScaler([f"{name}+{h}" for h in range(1, horizon + 1)], [scaler.mean[target]] * horizon,
                           [scaler.std[target]] * horizon)  # fmt: skip
    width = len(scaler.columns)
    return Preprocess(
        kind="sequence", input_shape=(window, width), mean=(0.0,) * width, std=(1.0,) * width, scale=1.0,
        extra={"series": scaler.to_dict(), "target": targets.to_dict(), "target_series": name,
               "window": window, "horizon": horizon},
    )  # fmt: skip


def prepare_series(cfg: ForecastRunConfig, stored: Preprocess | None = None) -> tuple[PreparedData, SeriesLayout]:
    data = load_dataset(cfg.data)
    series = data.train
    if not isinstance(series, Series):
        raise UserError(f"dataset {cfg.data.name!r} is not a time series: task: forecast takes sunspots, elnino "
                        "or series (your CSV)")  # fmt: skip
    if cfg.data.subset is not None:
        raise UserError("data.subset does not apply to a time series (it is split in time order)")
    target = series.columns.index(data.classes[0])
    train_end, val_end = spans(len(series), cfg.data.val_fraction, cfg.data.test_fraction)
    scaler = (
        SeriesScaler.from_dict(stored.extra["series"])
        if stored
        else SeriesScaler.fit(series.columns, series.values[:train_end])
    )
    data.preprocess = stored or series_preprocess(cfg, scaler, target)
    scaled = scaler.scale(series.values)

    def cut(start: int, end: int, stride: int, what: str) -> TensorSamples:
        try:
            x, y = windows(scaled[start:end], target, cfg.data.window, cfg.data.horizon, stride)
        except UserError as err:
            raise UserError(f"the {what} span (steps {start}-{end - 1}): {err.message}", hint=err.hint) from None
        return TensorSamples(torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y.astype(np.float32)))

    train = cut(0, train_end, cfg.data.stride, "training")
    val = cut(train_end, val_end, 1, "validation") if val_end > train_end else None
    test = cut(val_end, len(series), 1, "test")
    return PreparedData(data, train, val, test), SeriesLayout(series, target, train_end, val_end)
