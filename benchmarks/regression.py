"""Regression against scikit-learn's classical models, on the same split, seeds averaged. One JSON line.

Dataset: scikit-learn's diabetes (embedded; 442 rows, a fixed 20% test split). neuralab trains its
`diabetes` recipe (an MLP on standardised features, best epoch chosen on a 10% validation split of
the training rows); RidgeCV (alphas chosen by its own cross-validation) and
HistGradientBoostingRegressor fit the same training rows. RMSE and R² on the test rows.

`--split dev` never touches the test rows: it holds out 20% of the training rows instead, which is how
the recipe was chosen (`--set` tries other settings there); `--dev-seed` draws another such holdout, so a
choice can be checked on several. `--dataset california-housing` needs the file cached by scikit-learn
(it is fetched when online). `--dataset table --data FILE.csv --target COLUMN` benchmarks any CSV (strings
allowed) on the fixed 20% test split `neuralab train --dataset table` holds out; the scikit-learn models then
see numbers standardised (Ridge) and strings one-hot (Ridge) or as native categories (gradient boosting).

`neuralab_seed_ensemble` scores the mean of all the seeds' predictions: what averaging the runs buys over
any one of them.

Usage: python benchmarks/regression.py [--seeds 0,1,2] [--split test|dev] [--dev-seed 1] [--set train.epochs=200 ...]
       python benchmarks/regression.py --dataset table --data diamonds.csv --target price
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

from neuralab.config import deep_merge, parse_set
from neuralab.data import DATASETS, LoadOptions
from neuralab.data.regression_datasets import held_out_test
from neuralab.data.table import TableSamples, as_number, fit_column, is_missing
from neuralab.pipeline import resolve_config
from neuralab.pipeline import train as train_run
from neuralab.pipeline.table_inference import predict_csv


def write_csv(path: Path, samples: TableSamples, target: str) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([*samples.columns, target])
        for row, y in zip(samples.rows.tolist(), samples.targets[:, 0].tolist(), strict=True):
            writer.writerow([*row, y])


def as_frame(samples: TableSamples, numeric: list[bool]) -> np.ndarray:
    """Rows for scikit-learn: numeric columns as floats (NaN for gaps), categories as strings."""
    out = samples.rows.copy()
    for c, is_number in enumerate(numeric):
        if is_number:
            out[:, c] = [np.nan if is_missing(v) else as_number(v) for v in out[:, c]]
    return out


def sklearn_scores(train: TableSamples, test: TableSamples, seed: int) -> dict[str, dict[str, float]]:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    numeric = [fit_column(name, train.rows[:, c]).kind == "numeric" for c, name in enumerate(train.columns)]
    num_idx = [i for i, n in enumerate(numeric) if n]
    cat_idx = [i for i, n in enumerate(numeric) if not n]
    scale = ("numbers", StandardScaler(), num_idx)
    ridge = make_pipeline(
        ColumnTransformer([scale, ("categories", OneHotEncoder(handle_unknown="ignore"), cat_idx)]),
        RidgeCV(alphas=np.logspace(-3, 3, 13)),
    )
    ordinal = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-1)
    boosting = make_pipeline(
        ColumnTransformer([("categories", ordinal, cat_idx), ("numbers", "passthrough", num_idx)]),
        HistGradientBoostingRegressor(random_state=seed, categorical_features=list(range(len(cat_idx))) or None),
    )
    x, y = as_frame(train, numeric), train.targets[:, 0].numpy()
    x_test, y_test = as_frame(test, numeric), test.targets[:, 0].numpy()
    if not cat_idx:
        x, x_test = x.astype(np.float64), x_test.astype(np.float64)
    return {name: rmse_r2(y_test, model.fit(x, y).predict(x_test))
            for name, model in {"ridge_cv": ridge, "hist_gradient_boosting": boosting}.items()}  # fmt: skip


def rmse_r2(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import mean_squared_error, r2_score

    return {"rmse": float(np.sqrt(mean_squared_error(y, pred))), "r2": float(r2_score(y, pred))}


def summarise(values: list[float]) -> dict[str, float]:
    return {"mean": round(float(np.mean(values)), 4), "std": round(float(np.std(values, ddof=1)), 4)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", default="diabetes", help="diabetes, california-housing or table")
    parser.add_argument("--data", type=Path, help="--dataset table: the CSV file")
    parser.add_argument("--target", default="price", help="--dataset table: the target column")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--split", choices=("test", "dev"), default="test")
    parser.add_argument("--dev-seed", type=int, default=1, help="which holdout of the training rows --split dev uses")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()
    loaded = DATASETS.get(args.dataset).load(LoadOptions(file=args.data, target_column=args.target))
    assert isinstance(loaded.train, TableSamples) and isinstance(loaded.test, TableSamples)
    train, test = loaded.train, loaded.test
    if args.split == "dev":
        train, test = held_out_test(train, seed=args.dev_seed)
    target = loaded.classes[0]
    per_model: dict[str, dict[str, list[float]]] = {}
    seconds: list[float] = []
    predictions: list[np.ndarray] = []
    with tempfile.TemporaryDirectory() as out:
        write_csv(Path(out, "train.csv"), train, target)
        write_csv(Path(out, "test.csv"), test, target)
        recipe = dict(DATASETS.get(args.dataset).recipe)
        for seed in [int(s) for s in args.seeds.split(",")]:
            user: dict[str, Any] = {
                **recipe,
                "out_dir": out,
                "data": {"name": "table", "file": f"{out}/train.csv", "test_file": f"{out}/test.csv",
                         "target_column": target},
                "train": {**recipe.get("train", {}), "seed": seed, "grad_monitor_every": 0},
            }  # fmt: skip
            user = deep_merge(user, parse_set(args.overrides))
            started = time.perf_counter()
            result = train_run(resolve_config(user), Console(file=io.StringIO()))
            seconds.append(time.perf_counter() - started)
            scores = {"neuralab": {k: result.summary["test"][k] for k in ("rmse", "r2")}}
            answer = predict_csv(result.run_dir, Path(out, "test.csv"))
            predictions.append(np.array([row[target] for row in answer["predictions"]]))
            scores.update(sklearn_scores(train, test, seed))
            for model, values in scores.items():
                for metric, value in values.items():
                    per_model.setdefault(model, {}).setdefault(metric, []).append(value)
    ensemble = rmse_r2(test.targets[:, 0].numpy(), np.mean(predictions, axis=0))
    print(json.dumps({
        "benchmark": "regression", "dataset": args.dataset, "data": str(args.data) if args.data else None,
        "split": args.split, "seeds": args.seeds,
        "dev_seed": args.dev_seed if args.split == "dev" else None,
        "overrides": args.overrides, "rows": {"train": len(train), "test": len(test)},
        "results": {m: {k: summarise(v) for k, v in metrics.items()} for m, metrics in per_model.items()},
        "neuralab_seed_ensemble": {k: round(v, 4) for k, v in ensemble.items()},
        "neuralab_seconds_per_run": round(float(np.mean(seconds)), 2),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
