"""`neuralab federate`: train over simulated clients with Flower (FedAvg or FedProx)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from neuralab.cli.app import app, console, example, flag_overrides, resolved_config
from neuralab.errors import UserError


@app.command(epilog=example("neuralab federate --dataset digits --clients 4 --rounds 10 --partition dirichlet:0.1"))
def federate(
    config: Annotated[Path | None, typer.Argument(help="YAML run config (a classification task)")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="override a config key: key.sub=value")] = None,
    dataset: Annotated[str | None, typer.Option(help="data.name")] = None,
    model: Annotated[str | None, typer.Option(help="model.name")] = None,
    seed: Annotated[int | None, typer.Option(help="train.seed (also seeds the partition)")] = None,
    out: Annotated[Path | None, typer.Option(help="out_dir: parent of run folders")] = None,
    name: Annotated[str | None, typer.Option(help="run folder name")] = None,
    clients: Annotated[int, typer.Option(min=1, help="simulated clients, each holding a disjoint shard")] = 4,
    rounds: Annotated[int, typer.Option(min=1, help="federated rounds")] = 10,
    partition: Annotated[str, typer.Option(help="iid or dirichlet:ALPHA (label skew; 0.1 is strong)")] = "iid",
    strategy: Annotated[
        str, typer.Option(help="fedavg, fedprox, or fedmedian / fedtrimmedavg (robust to a minority of bad clients)")
    ] = "fedavg",
    proximal_mu: Annotated[float, typer.Option(help="FedProx's proximal weight mu")] = 0.01,
    local_epochs: Annotated[int, typer.Option(min=1, help="epochs each client trains per round")] = 1,
    fraction: Annotated[float, typer.Option(help="share of clients that train each round")] = 1.0,
    anneal: Annotated[
        bool, typer.Option(help="step the config's lr schedule once per round (default: every round at optim.lr)")
    ] = False,
    attackers: Annotated[
        int, typer.Option(help="simulate this many Byzantine clients (noise instead of weights) to test a strategy")
    ] = 0,
) -> None:
    """Federated learning on Flower: clients train on their own shards, the server averages; writes a run folder."""
    from neuralab.config import RunConfig
    from neuralab.federated.run import FederatedSettings
    from neuralab.federated.run import federate as run_federated

    flags = flag_overrides(dataset=dataset, model=model, seed=seed, out=out, name=name)
    cfg = resolved_config(config, set_, flags)
    if not isinstance(cfg, RunConfig):
        raise UserError(f"federated learning trains classifiers; this config's task is {cfg.task}")
    settings = FederatedSettings(clients, rounds, partition, strategy, proximal_mu, local_epochs, fraction, anneal,
                                 attackers)  # fmt: skip
    result = run_federated(cfg, settings, console)
    test = result.summary["test"]
    console.print(
        f"test accuracy [bold]{100 * test['accuracy']:.2f}%[/] (macro-F1 {100 * test['macro_f1']:.2f}%) after "
        f"{rounds} rounds in {result.summary['train_seconds']:.1f} s\nrun folder: {result.run_dir}",
        highlight=False,
    )
