"""Time series for forecasting: read, split in time order, scale from the past, cut into windows.

Splits never shuffle across time: the first part trains, the next validates, the last tests, and
each split's windows lie wholly inside its own span, so no window sees a step of another split.
The scale of every series comes from the training span alone.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neuralab.data.registry import LoadedData, LoadOptions, Samples
from neuralab.data.table import beyond_float32, scales, shown
from neuralab.data.transforms import Preprocess
from neuralab.errors import UserError, require_file


@dataclass
class Series:
    """One or more aligned series: values [T, S] (float64), their names, and the time labels if any."""

    columns: list[str]
    values: np.ndarray
    time: list[str]
    source: str
    season: int | None = None  # the seasonal period (12 for monthly data), for the seasonal-naive forecast

    def __post_init__(self) -> None:
        # The Samples protocol, so a loaded series travels in LoadedData like any dataset.
        self.targets = torch.zeros(len(self.values))

    def __len__(self) -> int:
        return len(self.values)

    def subset(self, indices: torch.Tensor) -> Samples:
        raise UserError("a time series is split in time order, never subset at random (data.subset)")


def _number(cell: str) -> float | None:
    try:
        value = float(cell)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def read_series(path: Path, columns: list[str] | None = None, season: int | None = None) -> Series:
    """A CSV with a header: numeric series columns, and at most one non-numeric column (the time)."""
    require_file(path, "CSV file")
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except UnicodeDecodeError as err:
        raise UserError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    except csv.Error as err:
        raise UserError(f"{path}: not a readable CSV ({err})") from None
    if not rows or not rows[0]:
        raise UserError(f"{path}: the file is empty (expected a header row)")
    header, body = [h.strip() for h in rows[0]], [r for r in rows[1:] if r]
    if not body:
        raise UserError(f"{path}: no data rows")
    for line, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise UserError(f"{path}:{line}: {len(row)} fields, the header has {len(header)}")
    numeric = [i for i, _ in enumerate(header) if _number(body[0][i]) is not None or body[0][i].strip() == ""]
    wanted = columns or [header[i] for i in numeric if not _is_time_column(header[i], body, i)]
    unknown = [c for c in wanted if c not in header]
    if unknown:
        raise UserError(f"{path}: no column {unknown[0]!r}; columns are {', '.join(header)}",
                        hint="set data.series_columns")  # fmt: skip
    if not wanted:
        raise UserError(f"{path}: no numeric column to forecast; columns are {', '.join(header)}")
    at = [header.index(c) for c in wanted]
    values = np.empty((len(body), len(at)), dtype=np.float64)
    for line, row in enumerate(body, start=2):
        for j, i in enumerate(at):
            value = _number(row[i])
            if value is None:
                what = "is empty" if not row[i].strip() else f"holds {shown(row[i].strip())}"
                raise UserError(f"{path}:{line}: series {header[i]!r} {what}: a series needs a number at every step",
                                hint="fill the gap (interpolate) or cut the series before it")  # fmt: skip
            if beyond_float32(value):
                raise UserError(f"{path}:{line}: series {header[i]!r} holds {shown(row[i].strip())}, beyond the range "
                                "of float32 (about ±3.4e38) that training computes in",
                                hint="rescale the series (thousands, millions...) or correct the value")  # fmt: skip
            values[line - 2, j] = value
    time_at = [i for i in range(len(header)) if i not in at]
    time = [row[time_at[0]].strip() for row in body] if time_at else [str(t) for t in range(len(body))]
    return Series(wanted, values, time, str(path), season)


def _is_time_column(name: str, body: list[list[str]], index: int) -> bool:
    """A numeric first column named like a clock (year, date, time, t) labels the steps; it is not a series."""
    return index == 0 and name.lower() in {"year", "date", "time", "t", "step", "month", "day", "index"}


def spans(length: int, val_fraction: float, test_fraction: float) -> tuple[int, int]:
    """(train_end, val_end): train is [0, train_end), val [train_end, val_end), test [val_end, length)."""
    test = max(1, round(length * test_fraction))
    val = round(length * val_fraction) if val_fraction > 0 else 0
    return length - test - val, length - test


def windows(values: np.ndarray, target: int, window: int, horizon: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs [N, window, S] and the target series' next `horizon` values [N, horizon], from one span."""
    count = (len(values) - window - horizon) // stride + 1
    if count < 1:
        raise UserError(
            f"a span of {len(values)} steps is shorter than data.window + data.horizon ({window} + {horizon})",
            hint="shorten the window or horizon, or give a longer series",
        )
    starts = np.arange(count) * stride
    x = np.stack([values[s : s + window] for s in starts])
    y = np.stack([values[s + window : s + window + horizon, target] for s in starts])
    return x, y


@dataclass
class SeriesScaler:
    """Per-series mean and std, from the training span: inputs and targets are standardised with them."""

    columns: list[str]
    mean: list[float]
    std: list[float]

    @classmethod
    def fit(cls, columns: list[str], values: np.ndarray) -> SeriesScaler:
        std = values.std(0)
        return cls(list(columns), values.mean(0).tolist(), np.where(std > 1e-12, std, 1.0).tolist())

    def scale(self, values: np.ndarray) -> np.ndarray:
        return (values - np.asarray(self.mean)) / np.asarray(self.std)

    def to_dict(self) -> dict[str, Any]:
        return {"columns": self.columns, "mean": self.mean, "std": self.std}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> SeriesScaler:
        """The series scales model.json records, checked: one finite mean and positive std per column."""
        return cls(*scales(raw, "columns", "series"))


def model_input(history: np.ndarray, scaler: SeriesScaler, window: int) -> np.ndarray:
    """A history [T] or [T, series] -> the scaled last `window` steps, float32; refused by name when unfit."""
    history = np.asarray(history, dtype=np.float64)
    history = history.reshape(len(history), -1) if history.ndim == 1 else history
    if history.ndim != 2 or history.shape[1] != len(scaler.columns):
        raise UserError(f"the history must have one value per series per step; this model reads "
                        f"{len(scaler.columns)}: {', '.join(scaler.columns)}")  # fmt: skip
    if len(history) < window:
        raise UserError(f"the history has {len(history)} steps; this model needs the last {window}")
    if not np.isfinite(history).all():
        raise UserError("the history holds NaN or infinite values: a series needs a number at every step")
    scaled = scaler.scale(history[-window:])
    if np.abs(scaled).max() > 1e30:
        raise UserError("a value in the history is too large for this model")
    return scaled.astype(np.float32)


def _loaded(series: Series, target: str) -> LoadedData:
    placeholder = Preprocess(kind="vector", input_shape=(len(series.columns),), mean=(), std=(), scale=1.0)
    return LoadedData(train=series, test=series, classes=[target], preprocess=placeholder, source=series.source)


def _bundled(name: str, season: int) -> Series:
    path = Path(str(resources.files("neuralab.data").joinpath(f"series_files/{name}.csv")))
    return read_series(path, season=season)


def load_sunspots(options: LoadOptions) -> LoadedData:
    return _loaded(_bundled("sunspots", 11), "sunspots")


def load_elnino(options: LoadOptions) -> LoadedData:
    return _loaded(_bundled("elnino", 12), "sst_celsius")


def load_series_csv(options: LoadOptions) -> LoadedData:
    if options.file is None:
        raise UserError("dataset series needs a file: --data series.csv (data.file)")
    series = read_series(Path(options.file).expanduser(), list(options.series_columns or []) or None,
                         options.season)  # fmt: skip
    target = options.target_column if options.target_column in series.columns else series.columns[0]
    if options.target_column not in ("label", *series.columns):
        raise UserError(f"no series {options.target_column!r} to forecast; series: {', '.join(series.columns)}",
                        hint="set data.target_column to one of them")  # fmt: skip
    return _loaded(series, target)
