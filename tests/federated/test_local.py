"""A client's local training: deterministic for a seed, and FedProx's term pulls it towards the global model."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from torch import nn

from neuralab.federated.local import LocalTraining, build_global_model, plain_state, proximal_term, train_locally
from neuralab.pipeline.prepare import data_model_args, prepare_data, resolve_config


def test_the_proximal_term_is_half_mu_times_the_squared_distance() -> None:
    model = nn.Linear(3, 2)
    term = proximal_term(model, mu=0.5)
    assert term(model).item() == 0.0
    with torch.no_grad():
        model.weight += 1.0  # 6 weights, each 1 away; the bias did not move
    assert term(model).item() == pytest.approx(0.5 * 0.5 * 6)


@pytest.fixture(scope="module")
def setup():
    cfg = resolve_config({"data": {"name": "digits"}})
    prepared = prepare_data(cfg)
    args = data_model_args(cfg, prepared.data.preprocess)
    torch.manual_seed(0)
    model = build_global_model(cfg, prepared.data.preprocess, len(prepared.data.classes), args)
    return cfg, prepared, args, plain_state(model)


def distance(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    return sum(float(((a[k].float() - b[k].float()) ** 2).sum()) for k in a if a[k].is_floating_point())


def test_local_training_is_reproducible_and_fedprox_stays_closer(setup) -> None:
    cfg, prepared, args, start = setup
    shard = np.arange(0, 400)
    plain, metrics = train_locally(cfg, prepared, shard, start, args, LocalTraining(2, 0.0), seed=3)
    again, _ = train_locally(cfg, prepared, shard, start, args, LocalTraining(2, 0.0), seed=3)
    assert all(torch.equal(plain[k], again[k]) for k in plain)
    assert metrics["num-examples"] == 400 and 0 <= metrics["accuracy"] <= 1
    prox, _ = train_locally(cfg, prepared, shard, start, args, LocalTraining(2, 10.0), seed=3)
    assert distance(prox, start) < 0.5 * distance(plain, start)


def test_the_learning_rate_follows_the_config_schedule_over_the_rounds(setup) -> None:
    from neuralab.federated.local import round_lr_factor

    cfg = setup[0]  # digits: cosine
    factors = [round_lr_factor(cfg, r, 10) for r in range(1, 11)]
    assert factors[0] == pytest.approx(1.0)
    assert all(a > b for a, b in itertools.pairwise(factors))
    assert factors[-1] < 0.05  # used with --anneal
