"""Regression data ready to train on: split at random, then encoded with what the training split alone shows.

The encoder (medians, scales, categories) and the target scale are fitted after the validation split
is held out, so neither validation nor test rows leak into them; both are stored in `model.json`.
"""

from __future__ import annotations

import torch

from neuralab.config import RegressRunConfig
from neuralab.data import TensorSamples
from neuralab.data.table import Encoded, TableEncoder, TableSamples, TargetScaler
from neuralab.data.transforms import Preprocess
from neuralab.errors import UserError
from neuralab.pipeline.prepare import PreparedData, load_dataset


def random_split(n: int, fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(kept, held) indices: a seeded shuffle, `fraction` held out (at least one row when fraction > 0)."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    held = max(1, round(n * fraction)) if fraction > 0 else 0
    return order[held:], order[:held]


def table_preprocess(encoder: TableEncoder, scaler: TargetScaler) -> Preprocess:
    width = encoder.width
    return Preprocess(
        kind="vector", input_shape=(width,), mean=(0.0,) * width, std=(1.0,) * width, scale=1.0,
        extra={"table": encoder.to_dict(), "target": scaler.to_dict(), "features": encoder.output_names()},
    )  # fmt: skip


def stored_table(preprocess: Preprocess) -> tuple[TableEncoder, TargetScaler]:
    """The encoder and target scale a regression run saved in model.json."""
    try:
        return TableEncoder.from_dict(preprocess.extra["table"]), TargetScaler.from_dict(preprocess.extra["target"])
    except (KeyError, TypeError) as err:
        raise UserError(
            f"this model's preprocessing lacks its table encoder ({err}); is it a regression run?"
        ) from None


def prepare_table(cfg: RegressRunConfig, stored: Preprocess | None = None) -> PreparedData:
    """Load, subset, split; fit the encoder and target scale on the training rows (or reuse `stored`)."""
    data = load_dataset(cfg.data)
    if not isinstance(data.train, TableSamples) or not isinstance(data.test, TableSamples):
        raise UserError(f"dataset {cfg.data.name!r} is not a table: task: regress takes diabetes, "
                        "california-housing or table (your CSV)")  # fmt: skip
    train: TableSamples = data.train
    if cfg.data.subset is not None and cfg.data.subset < len(train):
        train = train.subset(random_split(len(train), 1 - cfg.data.subset / len(train), cfg.train.seed)[1])
    val: TableSamples | None = None
    if cfg.data.val_fraction > 0:
        keep, held = random_split(len(train), cfg.data.val_fraction, cfg.train.seed)
        if len(keep) < 2:
            raise UserError(f"only {len(train)} training rows: too few to hold out validation rows",
                            hint="add rows, or set data.val_fraction=0")  # fmt: skip
        train, val = train.subset(keep), train.subset(held)
    if stored is not None:
        encoder, scaler = stored_table(stored)
    else:
        encoder, scaler = TableEncoder.fit(train), TargetScaler.fit(data.classes, train.targets)
    data.preprocess = table_preprocess(encoder, scaler)

    def encoded(samples: TableSamples) -> TensorSamples:
        result: Encoded = encoder.encode(samples.rows)
        return TensorSamples(torch.from_numpy(result.features), scaler.scale(samples.targets))

    return PreparedData(data, encoded(train), encoded(val) if val is not None else None, encoded(data.test))
