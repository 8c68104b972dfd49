"""A federated run: the dataset split among simulated clients, trained on Flower, written as a run folder.

The folder is shaped like any classification run (config.yaml, model.safetensors + model.json,
metrics.csv with one row per round, summary.json, report.html), so `evaluate`, `predict`, `serve`,
`explain` and `compare` use it unchanged. The global model after the last round is the model: the
test split, evaluated after every round to show progress, chooses nothing.
"""

from __future__ import annotations

import csv
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from rich.console import Console

from neuralab.config import RunConfig
from neuralab.errors import UserError
from neuralab.federated.flower import ClientJob, RoundLog, require_flower, server_app, simulate
from neuralab.federated.local import LocalTraining, build_global_model, plain_state
from neuralab.federated.partition import PartitionScheme, label_skew, partition
from neuralab.hardware import usable_cores
from neuralab.models import summarize
from neuralab.pipeline.artifacts import save_errors, save_test_predictions
from neuralab.pipeline.machinery import open_run, start_process
from neuralab.pipeline.prepare import PreparedData, data_fingerprint, data_model_args, make_loader, prepare_data
from neuralab.report import write_report
from neuralab.runs import RunPaths, atomic_write_json, atomic_write_text, model_card, save_model, torch_versions
from neuralab.train import Device, Trainer
from neuralab.train.losses import cross_entropy
from neuralab.train.metrics import classification_metrics

STRATEGIES = ("fedavg", "fedprox", "fedmedian", "fedtrimmedavg")


@dataclass(frozen=True)
class FederatedSettings:
    clients: int = 4
    rounds: int = 10
    partition: str = "iid"
    strategy: str = "fedavg"
    proximal_mu: float = 0.01
    local_epochs: int = 1
    fraction: float = 1.0
    anneal: bool = False
    attackers: int = 0  # simulated Byzantine clients (noise instead of weights), to measure a strategy's robustness

    def check(self) -> PartitionScheme:
        if self.strategy not in STRATEGIES:
            raise UserError(f"--strategy {self.strategy!r} is not one of {', '.join(STRATEGIES)}")
        if self.rounds < 1 or self.local_epochs < 1:
            raise UserError("--rounds and --local-epochs must be at least 1")
        if not 0 < self.fraction <= 1:
            raise UserError(f"--fraction {self.fraction} must be in (0, 1]: the share of clients training each round")
        if self.proximal_mu < 0:
            raise UserError("--proximal-mu must be 0 or more")
        if not 0 <= self.attackers < self.clients:
            raise UserError(f"--attackers {self.attackers} must be 0 or more and fewer than the {self.clients} clients")
        return PartitionScheme.parse(self.partition)


@dataclass
class FederatedResult:
    run_dir: Path
    summary: dict[str, Any]


def federate(cfg: RunConfig, settings: FederatedSettings, console: Console | None = None) -> FederatedResult:
    """Train `cfg`'s model with FedAvg/FedProx over `settings.clients` simulated clients."""
    console = console or Console()
    scheme = settings.check()
    require_flower()
    if cfg.model.pretrained or cfg.data.embeddings_file:
        raise UserError("federated runs start from a fresh model: model.pretrained and data.embeddings_file "
                        "are not supported yet")  # fmt: skip
    reproducibility = start_process(cfg)
    prepared = prepare_data(cfg)
    data = prepared.data
    labels = prepared.train.targets.numpy()
    shards = partition(labels, settings.clients, scheme, cfg.train.seed)
    model_args = data_model_args(cfg, data.preprocess)
    model = build_global_model(cfg, data.preprocess, len(data.classes), model_args)
    stats = summarize(model, data.preprocess.input_shape)
    device = Device.create(cfg.train.device, cfg.train.precision, cfg.train.channels_last, model)
    paths = open_run(cfg, f"{cfg.data.name}-{cfg.model.name}-federated-{time.strftime('%Y%m%d-%H%M%S')}", None)
    skew = label_skew(labels, shards, len(data.classes))
    console.print(
        f"[bold]{cfg.model.name}[/] on [bold]{cfg.data.name}[/], federated: {settings.clients} clients "
        f"({scheme}; sizes {min(map(len, shards))}-{max(map(len, shards))}, label skew {skew:.2f}), "
        f"{settings.rounds} rounds of {settings.local_epochs} local epoch(s), {settings.strategy}; {device}"
        + (f"; {settings.attackers} simulated attacker(s) send noise" if settings.attackers else ""),
        highlight=False,
    )
    evaluator = _Evaluator(cfg, prepared, model, device)
    log = RoundLog(on_round=_RoundWriter(paths, console, time.perf_counter()).write)
    cpus = usable_cores()
    local = LocalTraining(settings.local_epochs, settings.proximal_mu, settings.rounds, settings.anneal)
    job = ClientJob(cfg, shards, model_args, local, threads=1 if settings.clients > 1 else cpus,
                    attackers=settings.attackers)  # fmt: skip
    started = time.perf_counter()
    server = server_app(plain_state(model), settings.clients, settings.rounds, settings.strategy, settings.proximal_mu,
                        settings.fraction, evaluator.evaluate, log)  # fmt: skip
    simulate(job, server, settings.clients, cpus)
    seconds = time.perf_counter() - started
    if log.final is None:
        raise UserError("the federated simulation ended without a global model (see Flower's messages above)")
    model.load_state_dict(log.final)
    card = model_card(cfg, data.preprocess.input_shape, data.classes, data.preprocess, model_args)
    save_model(paths.root, model, card)
    test = evaluator.test_metrics(paths)
    fed = {**asdict(settings), "partition": str(scheme), "label_skew": skew, "shard_sizes": [len(s) for s in shards],
           "refused_replies": {str(k): v for k, v in log.refused.items()}}  # fmt: skip
    summary = {
        "dataset": cfg.data.name, "model": cfg.model.name, "task": "classify", "test": test,
        "best": {"monitor": "last round", "value": None, "epoch": settings.rounds}, "epochs_run": settings.rounds,
        "train_seconds": seconds, "train_images_per_s": len(labels) * settings.local_epochs * settings.rounds / seconds,
        "parameters": {"trainable": stats.trainable, "frozen": stats.frozen}, "forward_flops": stats.forward_flops,
        "findings": [], "device": str(device.device), "precision": device.precision,
        "channels_last": device.channels_last, "federated": fed,
        "reproducibility": {**reproducibility, "data_sha256": data_fingerprint(prepared.train)},
        "data": {"source": data.source, "train": len(prepared.train),
                 "val": len(prepared.val) if prepared.val else 0, "test": len(prepared.test)},
        "versions": {**torch_versions(), "flwr": _version("flwr")}, "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }  # fmt: skip
    atomic_write_json(paths.summary, summary)
    write_report(paths.root)
    return FederatedResult(paths.root, summary)


class _Evaluator:
    """The server's view: the global model scored on validation and test after each round."""

    def __init__(self, cfg: RunConfig, prepared: PreparedData, model: torch.nn.Module, device: Device) -> None:
        self.cfg, self.prepared, self.model = cfg, prepared, model
        self.trainer = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.0), cross_entropy(), device=device)
        preprocess = prepared.data.preprocess
        self.test_loader = make_loader(prepared.test, cfg, preprocess, device, train=False)
        self.val_loader = make_loader(prepared.val, cfg, preprocess, device, train=False) if prepared.val else None

    def evaluate(self, server_round: int, weights: dict[str, torch.Tensor]) -> dict[str, float]:
        self.model.load_state_dict(weights)
        metrics: dict[str, float] = {}
        if self.val_loader is not None:
            val = self.trainer.evaluate(self.val_loader)
            metrics.update(val_loss=val.loss, val_accuracy=val.accuracy)
        test = self.trainer.evaluate(self.test_loader)
        return {**metrics, "test_loss": test.loss, "test_accuracy": test.accuracy}

    def test_metrics(self, paths: RunPaths) -> dict[str, Any]:
        """The final model on the test split, with the files the report and `compare` read."""
        result = self.trainer.evaluate(self.test_loader, with_probabilities=True, full_precision=True)
        classes = self.prepared.data.classes
        if result.probabilities is not None:
            save_errors(paths.errors, self.prepared.test, result.y_true, result.y_pred, result.probabilities)
        save_test_predictions(paths.test_predictions, result.y_true, result.y_pred)
        return {"loss": result.loss, **classification_metrics(result.y_true, result.y_pred, classes)}


class _RoundWriter:
    """metrics.csv grows by one row per round (rewritten whole, atomically), and the console says so."""

    COLUMNS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "test_loss", "test_accuracy", "seconds")

    def __init__(self, paths: RunPaths, console: Console, started: float) -> None:
        self.paths, self.console, self.started = paths, console, started
        self.rows: list[dict[str, Any]] = []

    def write(self, server_round: int, metrics: dict[str, float]) -> None:
        row = {"epoch": server_round, **{k: metrics[k] for k in self.COLUMNS if k in metrics},
               "seconds": round(time.perf_counter() - self.started, 2)}  # fmt: skip
        self.rows.append(row)
        atomic_write_text(self.paths.metrics, _csv(self.rows, self.COLUMNS))
        shown = "  ".join(f"{k} {v:.4f}" for k, v in row.items() if k not in ("epoch", "seconds"))
        self.console.print(f"round {server_round}: {shown}  ({row['seconds']:.0f} s)", highlight=False)


def _csv(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> str:
    import io

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[c for c in columns if any(c in r for r in rows)], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"
