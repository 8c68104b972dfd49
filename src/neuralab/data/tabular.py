"""Tabular data from CSV: numeric feature columns and one label column."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from neuralab.data.registry import LoadedData, LoadOptions, TensorSamples
from neuralab.data.transforms import Preprocess, channel_stats
from neuralab.errors import UserError, require_file

TEST_FRACTION = 0.2


def read_csv(path: Path, target: str) -> tuple[list[str], np.ndarray, list[str]]:
    """Feature names, float32 features [N, F] and raw label strings; errors name file, line and column."""
    require_file(path, "CSV file")
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if not header:
                raise UserError(f"{path}: the file is empty (expected a header row)")
            header = [h.strip() for h in header]
            if target not in header:
                raise UserError(
                    f"{path}: no column {target!r}; columns are {', '.join(header)}", hint="set data.target_column"
                )
            label_at = header.index(target)
            features = [h for i, h in enumerate(header) if i != label_at]
            rows: list[list[float]] = []
            labels: list[str] = []
            for line, row in enumerate(reader, start=2):
                if not row:
                    continue
                if len(row) != len(header):
                    raise UserError(f"{path}:{line}: {len(row)} fields, the header has {len(header)}")
                values = []
                for i, cell in enumerate(row):
                    if i == label_at:
                        continue
                    try:
                        values.append(float(cell))
                    except ValueError:
                        raise UserError(f"{path}:{line}: column {header[i]!r} holds {cell!r}, not a number") from None
                rows.append(values)
                labels.append(row[label_at].strip())
    except UnicodeDecodeError as err:
        raise UserError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    if not rows:
        raise UserError(f"{path}: no data rows")
    x = np.asarray(rows, dtype=np.float32)
    if not np.isfinite(x).all():
        row_index = int(np.argwhere(~np.isfinite(x))[0][0])
        raise UserError(f"{path}:{row_index + 2}: NaN or infinite value")
    return features, x, labels


def refuse_numeric_target(path: Path, column: str, values: list[str], rows: int) -> None:
    """Hundreds of distinct numbers in the label column are a quantity to predict, not classes."""
    numeric = all(_is_number(v) for v in values)
    if numeric and len(values) > max(20, rows // 10):
        raise UserError(
            f"{path}: column {column!r} holds {len(values)} different numbers in {rows} rows: a quantity, not classes",
            hint="predict it with regression: task: regress (or --set task=regress) with dataset table",
        )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def load_csv(options: LoadOptions) -> LoadedData:
    if options.file is None:
        raise UserError("dataset csv needs a file: --data train.csv (data.file)")
    path = Path(options.file).expanduser()
    features, x, raw_labels = read_csv(path, options.target_column)
    classes = sorted(set(raw_labels))
    refuse_numeric_target(path, options.target_column, classes, len(raw_labels))
    index = {name: i for i, name in enumerate(classes)}
    y = np.asarray([index[v] for v in raw_labels], dtype=np.int64)
    if options.test_file is not None:
        test_features, x_test, test_raw = read_csv(Path(options.test_file).expanduser(), options.target_column)
        if test_features != features:
            raise UserError(f"{options.test_file}: columns {test_features} differ from {path}'s {features}")
        unknown = sorted(set(test_raw) - set(classes))
        if unknown:
            raise UserError(f"{options.test_file}: labels {unknown} never appear in {path}")
        y_test = np.asarray([index[v] for v in test_raw], dtype=np.int64)
        x_train, y_train = x, y
    else:
        counts = np.bincount(y, minlength=len(classes))
        stratify = y if counts.min() >= 2 else None
        x_train, x_test, y_train, y_test = train_test_split(
            x, y, test_size=TEST_FRACTION, stratify=stratify, random_state=0
        )
    steps = options.sequence_length
    if steps is not None:  # each row is a sequence: its columns are step 1's features, then step 2's, ...
        if x.shape[1] % steps:
            raise UserError(f"{path}: {x.shape[1]} feature columns do not split into {steps} equal steps",
                            hint="data.sequence_length must divide the number of feature columns")  # fmt: skip
        x_train, x_test = (a.reshape(len(a), steps, -1) for a in (x_train, x_test))
    train = TensorSamples(torch.from_numpy(x_train), torch.from_numpy(y_train))
    mean, std = channel_stats(train.x.reshape(-1, train.x.shape[-1]), 1.0)
    return LoadedData(
        train=train,
        test=TensorSamples(torch.from_numpy(x_test), torch.from_numpy(y_test)),
        classes=classes,
        preprocess=Preprocess(
            kind="vector" if steps is None else "sequence",
            input_shape=tuple(train.x.shape[1:]),
            mean=mean,
            std=std,
            scale=1.0,
            extra={"features": features},
        ),
        source=str(path),
    )
