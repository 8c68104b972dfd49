"""Regression datasets: scikit-learn's diabetes (embedded), California housing (downloaded), any CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from neuralab.data.registry import LoadedData, LoadOptions
from neuralab.data.table import TableSamples, read_table
from neuralab.data.transforms import Preprocess
from neuralab.errors import UserError

TEST_FRACTION = 0.2


def held_out_test(samples: TableSamples, seed: int = 0) -> tuple[TableSamples, TableSamples]:
    """A fixed random 20% test split (seed 0 for every run, so runs with different seeds share it)."""
    order = torch.from_numpy(np.random.default_rng(seed).permutation(len(samples)))
    n_test = max(1, round(len(samples) * TEST_FRACTION))
    return samples.subset(order[n_test:]), samples.subset(order[:n_test])


def table_data(train: TableSamples, test: TableSamples, targets: list[str], source: str) -> LoadedData:
    # The real preprocessing (encoder, target scale) is fitted on the training split by the pipeline.
    placeholder = Preprocess(kind="vector", input_shape=(len(train.columns),), mean=(), std=(), scale=1.0)
    return LoadedData(train=train, test=test, classes=targets, preprocess=placeholder, source=source)


def from_bunch(bunch: Any, target: str, source: str) -> LoadedData:
    """A scikit-learn dataset (numeric features, one target) as a table with the fixed test split."""
    samples = TableSamples(
        list(bunch.feature_names),
        np.asarray(bunch.data, dtype=np.float64).astype(object),
        torch.tensor(bunch.target, dtype=torch.float64).unsqueeze(1),
    )
    train, test = held_out_test(samples)
    return table_data(train, test, [target], source)


def load_diabetes_data(options: LoadOptions) -> LoadedData:
    from sklearn.datasets import load_diabetes

    return from_bunch(load_diabetes(scaled=False), "progression", "sklearn.datasets.load_diabetes")


def load_california_housing(options: LoadOptions) -> LoadedData:
    """scikit-learn's fetcher caches the file under data_dir and checks its sha256."""
    from sklearn.datasets import fetch_california_housing

    try:
        bunch = fetch_california_housing(
            data_home=str(options.data_dir) if options.data_dir else None, download_if_missing=options.download
        )
    except OSError as err:
        raise UserError(
            f"California housing is not cached and could not be downloaded ({err})",
            hint="connect once to let scikit-learn fetch it (about 400 kB), or set data.data_dir to its cache",
        ) from None
    return from_bunch(bunch, "median_house_value_100k", "sklearn.datasets.fetch_california_housing")


def load_table(options: LoadOptions) -> LoadedData:
    if options.file is None:
        raise UserError("dataset table needs a file: --data houses.csv (data.file)")
    targets = list(options.target_columns or [options.target_column])
    path = Path(options.file).expanduser()
    samples = read_table(path, targets)
    if options.test_file is None:
        train, test = held_out_test(samples)
    else:
        train, test = samples, read_table(Path(options.test_file).expanduser(), targets)
        if test.columns != train.columns:
            raise UserError(f"{options.test_file}: columns {test.columns} differ from {path}'s {train.columns}")
    return table_data(train, test, targets, str(path))
