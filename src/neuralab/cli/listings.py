"""Commands that list what exists: datasets, models."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from neuralab.cli.app import app, console, example
from neuralab.errors import UserError


@app.command(epilog=example("neuralab datasets"))
def datasets() -> None:
    """List the datasets."""
    from neuralab.data import DATASETS

    table = Table("name", "kind", "description")
    for name in DATASETS:
        info = DATASETS.get(name)
        table.add_row(name, info.kind, info.description)
    console.print(table)


@app.command(epilog=example("neuralab models --dataset fashion-mnist"))
def models(
    dataset: Annotated[str, typer.Option(help="size the models for this dataset's inputs")] = "fashion-mnist",
) -> None:
    """List the models with their parameter counts and FLOPs for a dataset's input shape."""
    from neuralab.data import DATASETS
    from neuralab.models import MODELS, create_model, summarize

    shapes = {name: DATASETS.get(name).input_shape for name in DATASETS if DATASETS.get(name).input_shape}
    if dataset not in shapes:
        raise UserError(f"--dataset must be an image dataset with a fixed size: {', '.join(shapes)}")
    image_shape = shapes[dataset]
    assert image_shape is not None
    # Image models are sized for the dataset; the others at a typical input of their kind.
    defaults = {"image": image_shape, "text": (128,), "sequence": (50, 8), "vector": (64,)}
    table = Table("name", "input", "parameters", "MFLOPs/example", "description", title=f"models ({dataset} images)")
    for name in MODELS:
        info = MODELS.get(name)
        kind = "image" if "image" in info.inputs else info.inputs[0]
        shape = defaults[kind]
        label = f"{kind} {'x'.join(map(str, shape))}"
        try:
            stats = summarize(create_model(name, shape, 10, kind), shape)
            table.add_row(name, label, f"{stats.total:,}", f"{stats.forward_flops / 1e6:.2f}", info.description)
        except UserError as err:
            table.add_row(name, label, "-", "-", f"{info.description} ({err.message})")
    _add_gan_rows(table, image_shape)
    console.print(table)


def _add_gan_rows(table: Table, shape: tuple[int, ...]) -> None:
    """The DCGAN's two nets (train --task gan), at the default gan.latent_dim and gan.width."""
    from neuralab.config import GanConfig
    from neuralab.models import summarize
    from neuralab.models.gan import Discriminator, Generator

    gan = GanConfig.model_validate({})
    label = f"image {'x'.join(map(str, shape))}"
    generator = Generator(shape, gan.latent_dim, gan.width)
    g_stats = summarize(generator.eval(), (gan.latent_dim,))
    d_stats = summarize(Discriminator(shape, gan.width).eval(), shape)
    table.add_row("dcgan generator", f"noise {gan.latent_dim}", f"{g_stats.total:,}",
                  f"{g_stats.forward_flops / 1e6:.2f}", f"DCGAN generator to {label} (train --task gan)")  # fmt: skip
    table.add_row("dcgan discriminator", label, f"{d_stats.total:,}", f"{d_stats.forward_flops / 1e6:.2f}",
                  "DCGAN discriminator: real or generated (train --task gan)")  # fmt: skip
