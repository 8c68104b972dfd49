"""What a GAN run shows people: a sample grid per epoch, a line per epoch, and the curves."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from rich.console import Console
from torchvision.utils import make_grid

from neuralab.plotting import figure_bytes, new_figure, with_cjk_text
from neuralab.runs import atomic_write_bytes
from neuralab.train.callbacks import Callback
from neuralab.train.callbacks.base import Logs
from neuralab.train.gan import GanTrainer


def image_grid_png(images: torch.Tensor) -> bytes:
    """[-1, 1] images to one PNG grid, 8 per row."""
    grid = make_grid(images.clamp(-1, 1).add(1).div(2), nrow=8, padding=2, pad_value=1.0)
    array = grid.mul(255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    buffer = io.BytesIO()
    Image.fromarray(array[..., 0] if array.shape[2] == 1 else array).save(buffer, format="PNG")
    return buffer.getvalue()


class SampleGrids(Callback):
    """samples/epoch_NNN.png after every epoch, from the same noise, so the grids show the generator learning."""

    def __init__(self, folder: Path, noise: torch.Tensor) -> None:
        self.folder, self.noise = Path(folder), noise

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        trainer = self.trainer
        assert isinstance(trainer, GanTrainer)
        if not trainer.device.is_main:
            return
        generator = trainer.generator
        was_training = generator.training
        generator.eval()
        with torch.no_grad():
            grid = image_grid_png(generator(self.noise.to(trainer.device.device)).float().cpu())
        generator.train(was_training)
        atomic_write_bytes(self.folder / f"epoch_{epoch + 1:03d}.png", grid)


class GanProgress(Callback):
    def __init__(self, console: Console) -> None:
        self.console = console

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        r: dict[str, Any] = logs or {}
        self.console.print(
            f"epoch {epoch + 1}: D loss {r['d_loss']:.3f}, G loss {r['g_loss']:.3f}, D(real) {r['d_real']:.2f}, "
            f"D(G(z)) {r['d_fake']:.2f}, pixel FD {r['pixel_fd']:.2f} ({r['seconds']:.1f} s)",
            highlight=False,
        )


@with_cjk_text
def plot_curves(path: Path, rows: list[dict[str, Any]], fd_floor: float) -> None:
    """Losses, D's outputs and the pixel Frechet distance per epoch, with the train-vs-test floor."""
    epochs = [r["epoch"] for r in rows]
    fig, axes = new_figure(1, 3, figsize=(13, 3.6))
    for ax, title, series in (
        (axes[0], "losses", (("d_loss", "discriminator"), ("g_loss", "generator"))),
        (axes[1], "discriminator outputs", (("d_real", "D(real)"), ("d_fake", "D(G(z))"))),
        (axes[2], "pixel Frechet distance (lower is better)", (("pixel_fd", "generated vs test"),)),
    ):
        for key, label in series:
            ax.plot(epochs, [r[key] for r in rows], "o-", label=label)
        ax.set_title(title)
    axes[2].axhline(fd_floor, color="grey", linestyle="--", label="train vs test (floor)")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.legend()
    fig.tight_layout()
    atomic_write_bytes(path, figure_bytes(fig, "png", dpi=90))
