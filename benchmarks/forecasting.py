"""Forecasting against the naive forecasts and statsmodels' ARIMA and exponential smoothing. One JSON line.

Series: the bundled sunspots (yearly, season 11) and El Niño sea-surface temperature (monthly, season
12). Every method forecasts one step ahead at the same test steps (the last 20% of the series, after
neuralab's input window), and is scored with the same MASE scale (the training span's seasonal naive
error). ARIMA's order is chosen by AIC on the training span; both statsmodels models are fitted on the
training + validation span and then only *applied* to the test span (no refitting, no peeking).
statsmodels is the reference, never a dependency of neuralab: `pip install statsmodels` to run this.

Usage: python benchmarks/forecasting.py [--seeds 0,1,2] [--datasets sunspots,elnino] [--set key=value ...]
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
import time
import warnings
from typing import Any

import numpy as np
from rich.console import Console

from neuralab.config import deep_merge, parse_set
from neuralab.data import DATASETS, LoadOptions
from neuralab.data.series import Series, spans
from neuralab.pipeline import resolve_config
from neuralab.pipeline import train as train_run
from neuralab.pipeline.forecast_eval import mase_scale


def classical(series: np.ndarray, fit_end: int, first: int, season: int) -> dict[str, np.ndarray]:
    """One-step forecasts at steps [first, T) from models fitted on [0, fit_end) (orders chosen on it by AIC)."""
    from statsmodels.tsa.arima.model import ARIMA
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    fit = series[:fit_end]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        candidates = [(p, 0, q) for p in (1, 2, 3, 5, 9) for q in (0, 1)]
        best = min(candidates, key=lambda order: ARIMA(fit, order=order).fit().aic)
        arima = ARIMA(fit, order=best).fit().apply(series).predict(start=first, end=len(series) - 1)
        ets_model = ExponentialSmoothing(fit, trend=None, seasonal="add" if season > 1 else None,
                                         seasonal_periods=season if season > 1 else None).fit()  # fmt: skip
        ets = _ets_one_step(ets_model, series, fit_end, first)
    return {f"arima{best}": np.asarray(arima), "exp_smoothing": ets}


def _ets_one_step(model: Any, series: np.ndarray, fit_end: int, first: int) -> np.ndarray:
    """Exponential smoothing's fitted parameters, run forward over the later steps without refitting."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    params = dict(model.params)
    rerun = ExponentialSmoothing(series, trend=None, seasonal=model.model.seasonal,
                                 seasonal_periods=model.model.seasonal_periods)  # fmt: skip
    fitted = rerun.fit(smoothing_level=params["smoothing_level"],
                       smoothing_seasonal=params.get("smoothing_seasonal"), optimized=False)  # fmt: skip
    return np.asarray(fitted.fittedvalues)[first:]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", default="sunspots,elnino")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()
    out: dict[str, Any] = {"benchmark": "forecasting", "seeds": args.seeds, "overrides": args.overrides}
    for name in args.datasets.split(","):
        series = DATASETS.get(name).load(LoadOptions()).train
        assert isinstance(series, Series)
        values = series.values[:, 0]
        recipe = DATASETS.get(name).recipe
        window = recipe["data"]["window"]
        train_end, val_end = spans(len(values), 0.1, 0.2)
        first = val_end + window
        season = series.season or 1
        scale = mase_scale(values[:train_end], season)
        truth = values[first:]

        def mase(pred: np.ndarray, truth: np.ndarray = truth, scale: float = scale) -> float:
            return float(np.mean(np.abs(truth - pred)) / scale)

        scores: dict[str, Any] = {"naive": mase(values[first - 1 : -1]),
                                  "seasonal_naive": mase(values[first - season : len(values) - season])}  # fmt: skip
        for method, pred in classical(values, val_end, first, season).items():
            scores[method] = mase(pred)
        neuralab, seconds = [], []
        with tempfile.TemporaryDirectory() as tmp:
            for seed in [int(s) for s in args.seeds.split(",")]:
                user = deep_merge({"data": {"name": name}, "out_dir": tmp, "train": {"seed": seed,
                                   "grad_monitor_every": 0}}, parse_set(args.overrides))  # fmt: skip
                started = time.perf_counter()
                result = train_run(resolve_config(user), Console(file=io.StringIO()))
                seconds.append(time.perf_counter() - started)
                neuralab.append(result.summary["test"]["mase"])
        scores["neuralab"] = {
            "mean": round(float(np.mean(neuralab)), 4),
            "std": round(float(np.std(neuralab, ddof=1)), 4),
        }
        out[name] = {
            "test_steps": len(truth),
            "season": season,
            "mase": {k: v if isinstance(v, dict) else round(v, 4) for k, v in scores.items()},
            "neuralab_seconds_per_run": round(float(np.mean(seconds)), 1),
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
