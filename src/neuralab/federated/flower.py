"""Flower's apps for neuralab: a ClientApp that trains on its shard, a ServerApp that runs FedAvg/FedProx.

Flower (`flwr`) moves the weights and aggregates them; neuralab trains and evaluates. The simulation
engine runs every client as a Ray actor on this machine; the same ClientApp and ServerApp run as
separate processes or machines under Flower's deployment engine (see the docs' federated page).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from neuralab.config import RunConfig
from neuralab.errors import UserError
from neuralab.federated.local import LocalTraining, train_locally
from neuralab.pipeline.prepare import PreparedData, prepare_data

INSTALL = "pip install 'neuralab[federated]'  (Flower with its Ray simulation engine)"


def require_flower() -> None:
    """A clear message instead of an ImportError when Flower or Ray is missing."""
    import importlib.util

    missing = [name for name in ("flwr", "ray") if importlib.util.find_spec(name) is None]
    if missing:
        raise UserError(f"federated learning needs {' and '.join(missing)}, which is not installed", hint=INSTALL)
    os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")  # Flower's usage pings: nothing leaves the machine
    os.environ.setdefault("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", "0")  # CPU clients: leave CUDA_VISIBLE_DEVICES alone


def _quiet_flower() -> None:
    """Progress is neuralab's one line per round; Flower's and Ray's errors still show.

    Flower sets its logger's level when it is imported, so this runs after the import.
    """
    import flwr  # noqa: F401

    for name in ("flwr", "ray"):
        logging.getLogger(name).setLevel(logging.ERROR)


@dataclass
class ClientJob:
    """What every simulated client needs, small enough to ship to each Ray actor."""

    cfg: RunConfig
    shards: list[np.ndarray]
    model_args: dict[str, Any]
    local: LocalTraining
    threads: int = 1
    attackers: int = 0  # clients 0..attackers-1 send noise instead of their weights (a robustness experiment)


def gaussian_attack(state: dict[str, torch.Tensor], seed: int) -> dict[str, torch.Tensor]:
    """A Byzantine client's reply: every float tensor replaced by noise 10x its own spread (Blanchard et al.
    2017's Gaussian attack), shaped like the honest weights so a plain average takes it in."""
    generator = torch.Generator().manual_seed(seed)
    return {
        name: torch.randn(t.shape, generator=generator) * (10 * float(t.float().std()) + 1.0)
        if t.is_floating_point() and t.numel() > 1
        else t
        for name, t in state.items()
    }


def all_finite(content: Any) -> bool:
    """Whether a client's reply holds only finite weights (one NaN would make every average NaN)."""
    return all(np.isfinite(array).all() for array in content["arrays"].to_numpy_ndarrays() if array.dtype.kind == "f")


_PREPARED: dict[str, PreparedData] = {}


def _prepared(cfg: RunConfig) -> PreparedData:
    """Each actor loads and splits the dataset once (deterministic, so every actor agrees on the indices)."""
    key = cfg.to_yaml()
    if key not in _PREPARED:
        _PREPARED[key] = prepare_data(cfg)
    return _PREPARED[key]


def client_app(job: ClientJob) -> Any:
    from flwr.app import ArrayRecord, Context, Message, MetricRecord, RecordDict
    from flwr.clientapp import ClientApp

    app = ClientApp()

    @app.train()
    def train(msg: Message, context: Context) -> Message:
        torch.set_num_threads(job.threads)
        client = int(context.node_config["partition-id"])
        config: Any = msg.content["config"]  # a ConfigRecord: "server-round", and "proximal-mu" under FedProx
        server_round = int(config.get("server-round", 0))
        mu = float(config.get("proximal-mu", job.local.proximal_mu))
        arrays: Any = msg.content["arrays"]
        weights = arrays.to_torch_state_dict()
        seed = job.cfg.train.seed + 1000 * server_round + client  # a new order every round, reproducible
        local = LocalTraining(job.local.epochs, mu, job.local.rounds, job.local.anneal)
        state, metrics = train_locally(job.cfg, _prepared(job.cfg), job.shards[client], weights, job.model_args,
                                       local, seed, server_round)  # fmt: skip
        if client < job.attackers:
            state = gaussian_attack(state, seed)
        content = RecordDict({"arrays": ArrayRecord(state), "metrics": MetricRecord(dict(metrics))})
        return Message(content=content, reply_to=msg)

    return app


@dataclass
class RoundLog:
    """What the server saw each round, filled in as the rounds go (the server runs in this process)."""

    on_round: Callable[[int, dict[str, float]], None]
    train: dict[int, dict[str, float]] = field(default_factory=dict)
    final: dict[str, torch.Tensor] | None = None
    refused: dict[int, int] = field(default_factory=dict)  # round -> replies dropped for non-finite weights


def strategy_class(name: str) -> Any:
    """Flower's aggregation for `name`, refusing replies whose weights are not all finite.

    fedmedian (coordinate-wise median; Yin et al. 2018) and fedtrimmedavg (the mean after dropping the
    largest and smallest 20% of each coordinate) resist a minority of clients that send garbage; fedavg
    and fedprox average whatever arrives. No strategy survives a NaN, so those replies never count.
    """
    from flwr.serverapp.strategy import FedAvg, FedMedian, FedProx, FedTrimmedAvg

    return {"fedavg": FedAvg, "fedprox": FedProx, "fedmedian": FedMedian, "fedtrimmedavg": FedTrimmedAvg}[name]


def finite_replies(base: Any, log: RoundLog) -> Any:
    """`base` (a Flower strategy class) that drops, and counts in `log.refused`, replies with NaN or inf."""

    class FiniteReplies(base):  # type: ignore[misc,valid-type]
        def aggregate_train(self, server_round: int, replies: Any) -> Any:
            replies = list(replies)
            kept = [r for r in replies if r.has_error() or all_finite(r.content)]
            if len(kept) < len(replies):
                log.refused[server_round] = len(replies) - len(kept)
            return super().aggregate_train(server_round, kept)

    return FiniteReplies


def server_app(
    initial: dict[str, torch.Tensor],
    clients: int,
    rounds: int,
    strategy_name: str,
    proximal_mu: float,
    fraction: float,
    evaluate: Callable[[int, dict[str, torch.Tensor]], dict[str, float]],
    log: RoundLog,
) -> Any:
    from flwr.app import ArrayRecord, Context, MetricRecord, RecordDict
    from flwr.serverapp import Grid, ServerApp
    from flwr.serverapp.strategy.strategy_utils import aggregate_metricrecords

    _quiet_flower()

    def train_metrics(records: list[RecordDict], weighting: str) -> MetricRecord:
        merged = aggregate_metricrecords(records, weighting)  # weighted by each client's example count
        log.train[len(log.train) + 1] = {k: float(v) for k, v in merged.items()}  # type: ignore[arg-type]
        return merged

    # Wait for every client before sampling: Flower sizes the sample from the nodes connected so far, so a
    # round that starts early would train on whichever clients happened to be up (and differ run to run).
    common: dict[str, Any] = {"fraction_train": fraction, "fraction_evaluate": 0.0,
                              "min_train_nodes": max(1, int(clients * fraction)), "min_available_nodes": clients,
                              "train_metrics_aggr_fn": train_metrics}  # fmt: skip
    FiniteReplies = finite_replies(strategy_class(strategy_name), log)
    strategy = FiniteReplies(**common, **({"proximal_mu": proximal_mu} if strategy_name == "fedprox" else {}))
    app = ServerApp()

    @app.main()
    def main(grid: Grid, context: Context) -> None:
        def central(server_round: int, arrays: ArrayRecord) -> MetricRecord | None:
            if server_round == 0:
                return None
            metrics = evaluate(server_round, arrays.to_torch_state_dict())
            log.on_round(server_round, {**log.train.get(server_round, {}), **metrics})
            return MetricRecord(metrics)  # type: ignore[arg-type]

        result = strategy.start(
            grid=grid, initial_arrays=ArrayRecord(initial), num_rounds=rounds, evaluate_fn=central
        )  # FedProx puts "proximal-mu" in each round's config
        log.final = result.arrays.to_torch_state_dict()

    return app


def simulate(job: ClientJob, server: Any, clients: int, cpus: int) -> None:
    """Flower's simulation engine: `clients` virtual nodes, as many training at once as there are cores."""
    from flwr.simulation import run_simulation

    _quiet_flower()
    backend: Any = {
        "client_resources": {"num_cpus": job.threads, "num_gpus": 0.0},
        "init_args": {
            "num_cpus": cpus,
            "include_dashboard": False,
            "log_to_driver": False,
            "logging_level": logging.ERROR,
        },
    }
    run_simulation(server_app=server, client_app=client_app(job), num_supernodes=clients, backend_config=backend)
