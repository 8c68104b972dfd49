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
        content = RecordDict({"arrays": ArrayRecord(state), "metrics": MetricRecord(dict(metrics))})
        return Message(content=content, reply_to=msg)

    return app


@dataclass
class RoundLog:
    """What the server saw each round, filled in as the rounds go (the server runs in this process)."""

    on_round: Callable[[int, dict[str, float]], None]
    train: dict[int, dict[str, float]] = field(default_factory=dict)
    final: dict[str, torch.Tensor] | None = None


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
    from flwr.serverapp.strategy import FedAvg, FedProx
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
    strategy = FedProx(proximal_mu=proximal_mu, **common) if strategy_name == "fedprox" else FedAvg(**common)
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
