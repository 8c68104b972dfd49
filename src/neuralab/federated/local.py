"""One client's part of a round: start from the global weights, train on its own shard, send weights back.

The client trains on the one Trainer (precision, channels_last, gradient clipping as in any run), with
a fresh optimizer each round as FedAvg prescribes. FedProx adds (mu / 2) * ||w - w_global||^2 to the
loss (Li et al. 2020), which keeps clients whose data differ from drifting apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from neuralab.config import RunConfig
from neuralab.data import BatchAugment, BatchLoader, Preprocess
from neuralab.models import create_model
from neuralab.pipeline.prepare import PreparedData
from neuralab.train import Device, Trainer, build_optimizer, make_schedule
from neuralab.train.losses import cross_entropy


@dataclass(frozen=True)
class LocalTraining:
    epochs: int = 1
    proximal_mu: float = 0.0
    rounds: int = 1
    anneal: bool = False  # follow the config's lr schedule over the rounds (else every round at optim.lr)


def round_lr_factor(cfg: RunConfig, server_round: int, rounds: int) -> float:
    """The config's schedule (cosine, onecycle...) stepped once per round, so late rounds anneal as late epochs do."""
    return float(make_schedule(cfg.sched, 1, rounds)(max(server_round - 1, 0)))


def build_global_model(
    cfg: RunConfig, preprocess: Preprocess, num_classes: int, model_args: dict[str, Any]
) -> nn.Module:
    return create_model(cfg.model.name, preprocess.input_shape, num_classes, preprocess.kind, **model_args)


def proximal_term(model: nn.Module, mu: float) -> Callable[[nn.Module], torch.Tensor]:
    """FedProx's penalty, anchored at `model`'s weights as they are now (the global model)."""
    anchors = [p.detach().clone() for p in model.parameters() if p.requires_grad]

    def term(current: nn.Module) -> torch.Tensor:
        params = [p for p in current.parameters() if p.requires_grad]
        total = torch.zeros((), device=params[0].device)
        for p, a in zip(params, anchors, strict=True):
            total = total + ((p - a.to(p.dtype)) ** 2).sum()
        return 0.5 * mu * total

    return term


def plain_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """Contiguous CPU copies (channels_last weights included), ready to travel as NumPy arrays."""
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}


def train_locally(
    cfg: RunConfig,
    prepared: PreparedData,
    shard: np.ndarray,
    weights: dict[str, torch.Tensor],
    model_args: dict[str, Any],
    local: LocalTraining,
    seed: int,
    server_round: int = 1,
) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
    """The client's new weights and what it measured: mean training loss and accuracy, example count."""
    torch.manual_seed(seed)  # dropout draws: an actor's global generator depends on which clients it ran before
    data = prepared.data
    model = build_global_model(cfg, data.preprocess, len(data.classes), model_args)
    model.load_state_dict(weights)
    device = Device.create(cfg.train.device, cfg.train.precision, cfg.train.channels_last, model)
    samples = prepared.train.subset(torch.as_tensor(shard, dtype=torch.long))
    batch = min(cfg.train.batch_size, len(samples))
    loader = BatchLoader(
        samples, batch, data.preprocess, shuffle=True, seed=seed,
        augment=BatchAugment.from_name(cfg.data.augment, cfg.data.crop_padding, cfg.data.erase),
        device=device.device, channels_last=device.channels_last, drop_last=True,
    )  # fmt: skip
    penalty = proximal_term(model, local.proximal_mu) if local.proximal_mu > 0 else None
    optimizer = build_optimizer(model, cfg.optim)
    if local.anneal:  # a fresh optimizer each round, at this round's point of the schedule
        for group in optimizer.param_groups:
            group["lr"] *= round_lr_factor(cfg, server_round, local.rounds)
    trainer = Trainer(
        model, optimizer, cross_entropy(cfg.train.label_smoothing), device=device,
        grad_clip=cfg.train.grad_clip, grad_clip_mode=cfg.train.grad_clip_mode, penalty=penalty, seed=seed,
    )  # fmt: skip
    history = trainer.fit(loader, epochs=local.epochs)
    last = history.rows[-1]
    metrics = {"loss": float(last["loss"]), "accuracy": float(last["accuracy"]), "num-examples": float(len(samples))}
    return plain_state(trainer.model), metrics
