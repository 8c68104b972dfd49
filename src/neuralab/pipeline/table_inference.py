"""The read side of runs that predict numbers: evaluate on a split, predict new rows, forecast from a history."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from neuralab.config import ForecastRunConfig, ValueRunConfig
from neuralab.data.series import SeriesScaler, model_input, read_series
from neuralab.data.table import TargetScaler
from neuralab.data.transforms import Preprocess
from neuralab.errors import UserError, require_file
from neuralab.pipeline.forecast_eval import forecast_metrics
from neuralab.pipeline.prepare import make_loader
from neuralab.pipeline.prepare_series import prepare_series
from neuralab.pipeline.prepare_table import prepare_table, stored_table
from neuralab.runs import load_model
from neuralab.train import Device, Trainer
from neuralab.train.losses import regression_loss
from neuralab.train.metrics import regression_metrics


def evaluate_table_run(run_dir: Path, cfg: ValueRunConfig, split: str, trust_code: bool = False) -> dict[str, Any]:
    """RMSE, MAE and R² (and MASE for a forecast) of the saved model on `split`, with its stored scaling."""
    model, card = load_model(run_dir, trust_code=trust_code)
    preprocess = Preprocess.from_dict(card["preprocess"])
    layout = None
    if isinstance(cfg, ForecastRunConfig):
        prepared, layout = prepare_series(cfg, stored=preprocess)
    else:
        prepared = prepare_table(cfg, stored=preprocess)
    samples = {"test": prepared.test, "val": prepared.val, "train": prepared.train}.get(split)
    if samples is None:
        raise UserError(f"split {split!r} is not available", hint="choose test, val or train")
    scaler = TargetScaler.from_dict(preprocess.extra["target"])
    device = Device.create("cpu", "32", "auto", model)
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.0), regression_loss(cfg.train.loss,
                      cfg.train.huber_delta), device=device, classification=False)  # fmt: skip
    result = trainer.evaluate(make_loader(samples, cfg, preprocess, device, train=False))
    if layout is not None and split == "test":
        test = forecast_metrics(layout, result.y_pred, scaler, cfg.data.window, cfg.data.horizon, result.loss)[0]
        return {"split": split, "task": cfg.task, **test}
    truth, pred = scaler.unscale(result.y_true), scaler.unscale(result.y_pred)
    return {"split": split, "task": cfg.task, "loss": result.loss, **regression_metrics(truth, pred, scaler.names)}


def predict_table(model: nn.Module, card: dict[str, Any], records: list[dict[str, Any]]) -> dict[str, Any]:
    """Values for `records` (column -> value), in the targets' units, and what encoding them had to guess."""
    encoder, scaler = stored_table(Preprocess.from_dict(card["preprocess"]))
    encoded = encoder.encode(encoder.rows_from_records(records))
    with torch.inference_mode():
        outputs = model(torch.from_numpy(encoded.features)).double().numpy()
    values = scaler.unscale(outputs)
    return {
        "predictions": [dict(zip(scaler.names, map(float, row), strict=True)) for row in values],
        "unseen_categories": encoded.unseen,
        "imputed": encoded.imputed,
    }


def read_rows(path: Path, card: dict[str, Any]) -> list[dict[str, Any]]:
    """A CSV of rows to predict: the training columns by name; target columns, if present, are ignored."""
    encoder, scaler = stored_table(Preprocess.from_dict(card["preprocess"]))
    require_file(path, "CSV file")
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = [h.strip() for h in reader.fieldnames or []]
            missing = [c for c in encoder.names if c not in header]
            if missing:
                raise UserError(f"{path}: no column(s) {missing}", hint=f"the model takes {', '.join(encoder.names)}")
            extra = [c for c in header if c not in encoder.names and c not in scaler.names]
            if extra:
                raise UserError(
                    f"{path}: unknown column(s) {extra}", hint=f"the model takes {', '.join(encoder.names)}"
                )
            return [{k.strip(): v for k, v in row.items() if k and k.strip() in encoder.names} for row in reader]
    except UnicodeDecodeError as err:
        raise UserError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    except csv.Error as err:
        raise UserError(f"{path}: not a readable CSV ({err})") from None


def predict_csv(run_dir: Path, path: Path, trust_code: bool = False) -> dict[str, Any]:
    model, card = load_model(run_dir, trust_code=trust_code)
    if card.get("task") != "regress":
        raise UserError(f"{run_dir} is not a regression run; give it images or --text instead of --rows")
    records = read_rows(path, card)
    if not records:
        raise UserError(f"{path}: no data rows")
    return predict_table(model, card, records)


def forecast_from_history(model: nn.Module, card: dict[str, Any], history: np.ndarray) -> dict[str, float]:
    """The next `horizon` values after `history` [T, series] (its last `window` steps are used), in units."""
    extra = card["preprocess"]["extra"]
    scaler, target = SeriesScaler.from_dict(extra["series"]), TargetScaler.from_dict(extra["target"])
    x = torch.from_numpy(model_input(history, scaler, int(extra["window"])))[None]
    with torch.inference_mode():
        values = target.unscale(model(x).double().numpy())[0]
    return dict(zip(target.names, map(float, values), strict=True))


def forecast_csv(run_dir: Path, path: Path, trust_code: bool = False) -> dict[str, float]:
    model, card = load_model(run_dir, trust_code=trust_code)
    if card.get("task") != "forecast":
        raise UserError(f"{run_dir} is not a forecasting run; --history takes a series")
    columns = SeriesScaler.from_dict(card["preprocess"]["extra"]["series"]).columns
    return forecast_from_history(model, card, read_series(path, columns).values)
