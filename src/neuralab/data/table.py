"""Mixed-type tables for regression: raw rows in, encoded float features out.

The encoder is fitted on the training split only (medians, means, scales and the category lists come
from it), and its whole state is plain JSON, so `model.json` carries it and predict/serve encode a
row exactly as training did, without pickle.
"""

from __future__ import annotations

import csv
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neuralab.errors import UserError, require_file

MISSING = {"", "na", "nan", "n/a", "null", "none", "?"}
MAX_CATEGORIES = 200  # a string column with more distinct values is an identifier, not a category
FLOAT32_MAX = float(np.finfo(np.float32).max)  # about 3.4e38: the largest number a float32 tensor holds
STRAY_FRACTION = 0.05  # at most this share of non-numbers in a column of numbers: typos, not categories


def is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    return isinstance(value, str) and value.strip().lower() in MISSING


def shown(value: Any, limit: int = 40) -> str:
    """A cell as an error message quotes it: its repr, cut short (a request may hold huge values)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def finite_numbers(values: Any, what: str, positive_last: bool = False) -> list[float]:
    """`values` as floats, refused (ValueError) unless every one is a finite number (and the last one,
    a std, positive)."""
    if not isinstance(values, list) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in values
    ):
        raise ValueError(f"{what}: expected a list of finite numbers, not {shown(values)}")
    if positive_last and values and values[-1] <= 0:
        raise ValueError(f"{what}: a standard deviation must be positive")
    return [float(v) for v in values]


def scales(raw: dict[str, Any], key: str, what: str) -> tuple[list[str], list[float], list[float]]:
    """(names, mean, std) of a stored scaler, checked: as many of each, finite, every std positive."""
    names, mean, std = raw[key], finite_numbers(raw["mean"], f"{what} mean"), finite_numbers(raw["std"], f"{what} std")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ValueError(f"{what} {key}: expected a list of names, not {shown(names)}")
    if not len(names) == len(mean) == len(std) or any(v <= 0 for v in std):
        raise ValueError(f"{what}: needs one mean and one positive std per name ({len(names)} names)")
    return list(names), mean, std


def beyond_float32(number: float) -> bool:
    """True for a finite float64 that training's float32 tensors cannot hold (it would become inf, then NaN)."""
    return abs(number) > FLOAT32_MAX


def as_number(value: Any) -> float | None:
    """The value as a finite float, or None when it is not a number (or missing)."""
    if isinstance(value, bool):
        return float(value)
    try:
        number = float(value) if isinstance(value, int | float) else float(str(value).strip())
    except (ValueError, OverflowError):  # OverflowError: an integer beyond float's range (JSON allows any)
        return None
    return number if math.isfinite(number) else None


@dataclass
class TableSamples:
    """Raw rows (strings or numbers, one column per feature) and float64 targets [N, T] in their units."""

    columns: list[str]
    rows: np.ndarray  # object array [N, C]
    targets: torch.Tensor

    def __len__(self) -> int:
        return len(self.targets)

    def subset(self, indices: torch.Tensor) -> TableSamples:
        return TableSamples(self.columns, self.rows[indices.numpy()], self.targets[indices])


def read_table(path: Path, targets: Sequence[str]) -> TableSamples:
    """A CSV with a header: feature columns of any type, numeric target columns; errors name line and column."""
    require_file(path, "CSV file")
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = [h.strip() for h in next(reader, [])]
            if not header:
                raise UserError(f"{path}: the file is empty (expected a header row)")
            duplicated = sorted(name for name, n in Counter(header).items() if n > 1)
            if duplicated:
                raise UserError(f"{path}: columns {duplicated} appear more than once in the header")
            missing = [t for t in targets if t not in header]
            if missing:
                raise UserError(f"{path}: no column {missing[0]!r}; columns are {', '.join(header)}",
                                hint="set data.target_column (or data.target_columns)")  # fmt: skip
            target_at = [header.index(t) for t in targets]
            feature_at = [i for i in range(len(header)) if i not in target_at]
            if not feature_at:
                raise UserError(f"{path}: every column is a target; there are no features to learn from")
            rows, values = [], []
            for line, row in enumerate(reader, start=2):
                if not row:
                    continue
                if len(row) != len(header):
                    raise UserError(f"{path}:{line}: {len(row)} fields, the header has {len(header)}")
                target = [as_number(row[i]) for i in target_at]
                bad = [header[i] for i, v in zip(target_at, target, strict=True) if v is None]
                if bad:
                    raise UserError(
                        f"{path}:{line}: target column {bad[0]!r} holds {shown(row[header.index(bad[0])])}, "
                        "not a number",
                        hint="a regression target must be numeric; for labels use task: classify",
                    )
                huge = [
                    header[i] for i, v in zip(target_at, target, strict=True) if v is not None and beyond_float32(v)
                ]
                if huge:
                    raise UserError(
                        f"{path}:{line}: target column {huge[0]!r} holds {shown(row[header.index(huge[0])])}, "
                        "beyond the range of float32 (about ±3.4e38) that training computes in",
                        hint="rescale the column (thousands, millions...) or correct the value",
                    )
                rows.append([row[i].strip() for i in feature_at])
                values.append(target)
    except UnicodeDecodeError as err:
        raise UserError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    except csv.Error as err:
        raise UserError(f"{path}: not a readable CSV ({err})") from None
    if not rows:
        raise UserError(f"{path}: no data rows")
    return TableSamples(
        [header[i] for i in feature_at],
        np.asarray(rows, dtype=object),
        torch.tensor(values, dtype=torch.float64),
    )


@dataclass
class Column:
    """One feature column's encoding: numeric (impute median, standardise) or categorical (one-hot)."""

    name: str
    kind: str  # "numeric" | "categorical"
    median: float = 0.0
    mean: float = 0.0
    std: float = 1.0
    categories: list[str] = field(default_factory=list)

    @property
    def width(self) -> int:
        return 1 if self.kind == "numeric" else len(self.categories)

    def output_names(self) -> list[str]:
        return [self.name] if self.kind == "numeric" else [f"{self.name}={c}" for c in self.categories]


def fit_column(name: str, values: np.ndarray) -> Column:
    """Numeric when every present value parses as a number; otherwise categorical (strings).

    A column of numbers with a few stray values ('inf', a typo, a huge integer) is refused rather than
    silently becoming a category with one level per number, which would throw the feature away.
    """
    present = [v for v in values if not is_missing(v)]
    numbers = [as_number(v) for v in present]
    strays = [v for v, n in zip(present, numbers, strict=True) if n is None]
    if strays and len(strays) <= STRAY_FRACTION * len(present):
        examples = ", ".join(shown(v) for v in sorted(set(map(str, strays)))[:5])
        raise UserError(
            f"column {name!r} holds numbers except for {len(strays)} value(s) of {len(present)}: {examples}",
            hint="correct them, or leave them blank (a missing value is filled with the training median)",
        )
    huge = [v for v, n in zip(present, numbers, strict=True) if n is not None and beyond_float32(n)]
    if huge:
        raise UserError(
            f"column {name!r} holds {shown(huge[0])}, beyond the range of float32 (about ±3.4e38) that training "
            "computes in",
            hint="rescale the column (thousands, millions...) or correct the value",
        )
    if not strays:
        data = np.asarray(numbers, dtype=np.float64) if numbers else np.zeros(1)
        median = float(np.median(data))
        std = float(data.std())
        return Column(name, "numeric", median=median, mean=float(data.mean()), std=std if std > 1e-12 else 1.0)
    counts = Counter(str(v).strip() for v in present)
    categories = sorted(counts)
    once = sum(1 for n in counts.values() if n == 1)
    if len(categories) > MAX_CATEGORIES or (len(categories) > 20 and once > len(categories) / 2):
        raise UserError(
            f"column {name!r} holds {len(categories)} different strings, {once} of them only once: an identifier "
            "or free text, not a category",
            hint="drop the column from the CSV, or make it numeric",
        )
    return Column(name, "categorical", categories=categories)


@dataclass
class Encoded:
    features: np.ndarray  # float32 [N, F]
    unseen: dict[str, list[str]]  # column -> categories training never saw (encoded as all zeros)
    imputed: dict[str, int]  # column -> missing values filled in


@dataclass
class TableEncoder:
    """Mixed columns -> standardised numbers and one-hot categories, fitted on training rows only."""

    columns: list[Column]

    @classmethod
    def fit(cls, samples: TableSamples) -> TableEncoder:
        return cls([fit_column(name, samples.rows[:, i]) for i, name in enumerate(samples.columns)])

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def width(self) -> int:
        return sum(c.width for c in self.columns)

    def output_names(self) -> list[str]:
        return [name for c in self.columns for name in c.output_names()]

    def encode(self, rows: np.ndarray) -> Encoded:
        """Rows [N, C] in the fitted column order -> features; unseen categories and gaps are reported."""
        out = np.zeros((len(rows), self.width), dtype=np.float32)
        unseen: dict[str, list[str]] = {}
        imputed: dict[str, int] = {}
        at = 0
        for j, column in enumerate(self.columns):
            values: Any = rows[:, j] if len(rows) else []
            if column.kind == "numeric":
                for i, value in enumerate(values):
                    number = None if is_missing(value) else as_number(value)
                    if number is None:
                        if not is_missing(value):
                            raise UserError(f"column {column.name!r}: {shown(value)} is not a number (row {i + 1})")
                        imputed[column.name] = imputed.get(column.name, 0) + 1
                        number = column.median
                    elif beyond_float32(number):
                        raise UserError(f"column {column.name!r}: {shown(value)} is too large for float32, about "
                                        f"±3.4e38 (row {i + 1})")  # fmt: skip
                    out[i, at] = (number - column.mean) / column.std
            else:
                index = {c: k for k, c in enumerate(column.categories)}
                for i, value in enumerate(values):
                    if is_missing(value):
                        imputed[column.name] = imputed.get(column.name, 0) + 1
                        continue
                    k = index.get(str(value).strip())
                    if k is None:
                        unseen.setdefault(column.name, []).append(str(value))
                    else:
                        out[i, at + k] = 1.0
            at += column.width
        return Encoded(out, {k: sorted(set(v)) for k, v in unseen.items()}, imputed)

    def rows_from_records(self, records: Sequence[dict[str, Any]]) -> np.ndarray:
        """JSON-style records (column -> value) -> rows in the fitted order; unknown or absent keys are named."""
        rows = np.empty((len(records), len(self.columns)), dtype=object)
        known = set(self.names)
        for i, record in enumerate(records):
            if not isinstance(record, dict):
                raise UserError(f"row {i + 1} is not an object of column: value pairs")
            extra = sorted(set(record) - known)
            if extra:
                raise UserError(f"row {i + 1}: unknown column(s) {extra}", hint=f"columns: {', '.join(self.names)}")
            for j, name in enumerate(self.names):
                value = record.get(name)
                if isinstance(value, list | dict):
                    raise UserError(f"row {i + 1}: column {name!r} holds a {type(value).__name__}, not a value")
                rows[i, j] = value
        return rows

    def to_dict(self) -> dict[str, Any]:
        return {"columns": [vars(c) for c in self.columns]}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> TableEncoder:
        """The encoding model.json records, checked (ValueError/TypeError/KeyError name what is wrong)."""
        columns = [Column(**c) for c in raw["columns"]]
        for c in columns:
            if not isinstance(c.name, str) or c.kind not in ("numeric", "categorical"):
                raise ValueError(f"table column {shown(c.name)}: kind must be numeric or categorical")
            finite_numbers([c.median, c.mean, c.std], f"table column {c.name!r}", positive_last=True)
            if not isinstance(c.categories, list) or not all(isinstance(v, str) for v in c.categories):
                raise ValueError(f"table column {c.name!r}: categories must be a list of names")
        return cls(columns)


@dataclass
class TargetScaler:
    """Targets standardised for training (one scale per output); predictions are mapped back to units."""

    names: list[str]
    mean: list[float]
    std: list[float]

    @classmethod
    def fit(cls, names: list[str], targets: torch.Tensor) -> TargetScaler:
        std = targets.double().std(0, unbiased=False).clamp_min(1e-12)
        return cls(list(names), targets.double().mean(0).tolist(), std.tolist())

    def scale(self, y: torch.Tensor) -> torch.Tensor:
        return ((y.double() - torch.tensor(self.mean)) / torch.tensor(self.std)).float()

    def unscale(self, y: torch.Tensor | np.ndarray) -> np.ndarray:
        values = np.asarray(y, dtype=np.float64).reshape(-1, len(self.names))
        return values * np.asarray(self.std) + np.asarray(self.mean)

    def to_dict(self) -> dict[str, Any]:
        return {"names": self.names, "mean": self.mean, "std": self.std}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> TargetScaler:
        """The target scales model.json records, checked: one finite mean and positive std per name."""
        return cls(*scales(raw, "names", "target"))
