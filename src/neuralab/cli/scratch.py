"""`neuralab scratch ...`: the NumPy fundamentals from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from neuralab.cli.app import example
from neuralab.errors import UserError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="The fundamentals in NumPy (no torch inside).")
console = Console()


@app.command(epilog=example("neuralab scratch xor --seeds 50"))
def xor(
    seeds: Annotated[int, typer.Option(help="train once per seed 0..N-1")] = 20,
    compare: Annotated[bool, typer.Option(help="also run the tutorial's recipe on the same seeds")] = True,
) -> None:
    """Train the 2-4-1 network on XOR and report how many seeds solve it."""
    from neuralab.scratch.demos import XOR_X, train_xor, tutorial_xor

    results = [train_xor(seed) for seed in range(seeds)]
    best = results[0]
    for x, p in zip(XOR_X, best.probabilities[:, 0], strict=True):
        console.print(f"  {x.astype(int).tolist()} -> {p:.3f}", highlight=False)
    console.print(
        f"neuralab recipe (Xavier + tanh + BCE, Nesterov): {sum(r.solved for r in results)}/{seeds} seeds solve XOR"
    )
    if compare:
        tutorial = sum(tutorial_xor(seed) for seed in range(seeds))
        console.print(f"tutorial recipe (x0.01 init + ReLU, sigmoid output, GD): {tutorial}/{seeds} seeds")


@app.command(epilog=example("neuralab scratch train --dataset digits"))
def train(
    dataset: Annotated[str, typer.Option(help="a dataset name (`neuralab datasets`)")] = "digits",
    data_dir: Annotated[Path | None, typer.Option(help="data.data_dir")] = None,
    epochs: Annotated[int, typer.Option(min=1)] = 5,
    lr: Annotated[float, typer.Option(min=0.0, help="Adam lr, decayed to 0 by a cosine")] = 2e-3,
    batch_size: Annotated[int, typer.Option(min=1)] = 64,
    hidden: Annotated[int, typer.Option(min=1, help="hidden units")] = 128,
    seed: int = 0,
) -> None:
    """A NumPy MLP (input-hidden-classes, ReLU, Adam) trained with minibatches on a real dataset."""
    import numpy as np

    from neuralab.data import DATASETS, LoadOptions, TensorSamples
    from neuralab.scratch.demos import mlp, train_classifier
    from neuralab.scratch.optim import Adam

    data = DATASETS.get(dataset).load(LoadOptions(data_dir=data_dir, download=True))
    if not isinstance(data.train, TensorSamples) or not isinstance(data.test, TensorSamples):
        raise UserError(f"scratch train needs an in-memory dataset; {dataset} is read from files per batch")
    pre = data.preprocess

    def arrays(samples: TensorSamples) -> tuple[np.ndarray, np.ndarray]:
        x = pre.normalize(samples.x).reshape(len(samples), -1).numpy().astype(np.float32)
        return x, samples.targets.numpy()

    x_train, y_train = arrays(data.train)
    x_test, y_test = arrays(data.test)
    net = mlp([x_train.shape[1], hidden, len(data.classes)], seed=seed)
    console.print(f"{net}\non {dataset}: {len(x_train):,} train / {len(x_test):,} test", highlight=False)
    console.print("epoch      loss  train_acc   test_acc    sec", style="bold")

    def show(row: dict) -> None:
        console.print(
            f"{row['epoch']:>5} {row['loss']:>9.4f} {100 * row['train_accuracy']:>9.2f}% "
            f"{100 * row['test_accuracy']:>9.2f}% {row['seconds']:>6.1f}",
            highlight=False,
        )

    train_classifier(
        net, Adam(net.parameters(), lr=lr), x_train, y_train, x_test, y_test, epochs, batch_size, seed, show
    )


@app.command("plot-activations", epilog=example("neuralab scratch plot-activations --out activations.png"))
def plot_activations(out: Annotated[Path, typer.Option(help="PNG file to write")] = Path("activations.png")) -> None:
    """Draw sigmoid, tanh, ReLU and leaky ReLU with their derivatives, as the tutorial does."""
    import numpy as np

    from neuralab.plotting import new_figure
    from neuralab.scratch.activations import FUNCTIONS

    x = np.linspace(-5, 5, 401)
    fig, axes = new_figure(1, len(FUNCTIONS), figsize=(4 * len(FUNCTIONS), 3.4))
    for ax, (name, (fn, grad)) in zip(axes, FUNCTIONS.items(), strict=True):
        ax.plot(x, fn(x), label=name)
        ax.plot(x, grad(x), "--", label="derivative")
        ax.axhline(0, color="grey", lw=0.5)
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    console.print(f"wrote {out}", highlight=False)
