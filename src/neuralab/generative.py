"""`task: gan`: train a DCGAN on an image dataset into a run folder, and sample from a trained one.

The run folder holds what a classification run holds where it applies (config.yaml, model.safetensors
— the generator — with model.json, metrics.csv, summary.json) plus discriminator.safetensors,
samples/epoch_NNN.png (the same fixed noise every epoch, so the grids show the generator learning)
and curves.png (losses, D's outputs and the pixel Frechet distance per epoch).
"""

from __future__ import annotations

import csv
import io
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from rich.console import Console
from torchvision.utils import make_grid

from neuralab.config import RunConfig
from neuralab.data import DATASETS, LoadOptions, TensorSamples
from neuralab.errors import UserError
from neuralab.models.gan import Discriminator, Generator
from neuralab.plotting import plt
from neuralab.runs import (
    GAN_FORMAT,
    RunPaths,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    check_run_dir,
    load_weights,
    new_run_dir,
    read_json,
    save_weights,
    torch_versions,
)
from neuralab.train.device import pick_device
from neuralab.train.gan import GanEpoch, GanTrainer, count_parameters, fd_features, frechet_distance, generate
from neuralab.train.seed import seed_everything


def load_images(cfg: RunConfig) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """uint8 train and test images [N, C, H, W] of an in-memory image dataset (labels are not used)."""
    info = DATASETS.get(cfg.data.name)
    if info.kind != "image":
        raise UserError(f"task gan needs an image dataset; {cfg.data.name} holds {info.kind}")
    data = info.load(LoadOptions(data_dir=cfg.data.data_dir, file=cfg.data.file, download=cfg.data.download,
                                 image_size=cfg.data.image_size))  # fmt: skip
    if not isinstance(data.train, TensorSamples) or not isinstance(data.test, TensorSamples):
        raise UserError(f"task gan needs a dataset held in memory (digits, mnist, fashion-mnist, cifar10), "
                        f"not {cfg.data.name}")  # fmt: skip
    train = data.train.x
    if cfg.data.subset is not None:
        train = train[torch.randperm(len(train), generator=torch.Generator().manual_seed(cfg.train.seed))]
        train = train[: cfg.data.subset]
    return train, data.test.x, data.classes


def image_grid_png(images: torch.Tensor) -> bytes:
    """[-1, 1] images to one PNG grid, 8 per row."""
    grid = make_grid(images.clamp(-1, 1).add(1).div(2), nrow=8, padding=2, pad_value=1.0)
    array = grid.mul(255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    buffer = io.BytesIO()
    Image.fromarray(array[..., 0] if array.shape[2] == 1 else array).save(buffer, format="PNG")
    return buffer.getvalue()


def write_metrics(path: Path, history: list[GanEpoch]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(asdict(history[0])))
    writer.writeheader()
    writer.writerows(asdict(row) for row in history)
    atomic_write_text(path, buffer.getvalue())


def plot_curves(path: Path, history: list[GanEpoch], fd_floor: float) -> None:
    epochs = [r.epoch for r in history]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    axes[0].plot(epochs, [r.d_loss for r in history], "o-", label="discriminator")
    axes[0].plot(epochs, [r.g_loss for r in history], "o-", label="generator")
    axes[0].set_title("losses")
    axes[1].plot(epochs, [r.d_real for r in history], "o-", label="D(real)")
    axes[1].plot(epochs, [r.d_fake for r in history], "o-", label="D(G(z))")
    axes[1].set_title("discriminator outputs")
    axes[2].plot(epochs, [r.pixel_fd for r in history], "o-", label="generated vs test")
    axes[2].axhline(fd_floor, color="grey", linestyle="--", label="train vs test (floor)")
    axes[2].set_title("pixel Frechet distance (lower is better)")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.legend()
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())


def run_gan(cfg: RunConfig, console: Console | None = None) -> tuple[Path, dict[str, Any]]:
    """Train the DCGAN `cfg` describes; returns the run folder and its summary."""
    console = console or Console()
    reproducibility = seed_everything(cfg.train.seed, cfg.train.threads, cfg.train.deterministic)
    train, test, classes = load_images(cfg)
    shape = tuple(train.shape[1:])
    try:
        generator = Generator(shape, cfg.gan.latent_dim, cfg.gan.width)
        discriminator = Discriminator(shape, cfg.gan.width)
    except ValueError as err:
        raise UserError(str(err), hint="set data.image_size to a multiple of 4") from None
    if len(train) < 2 * cfg.gan.batch_size:
        raise UserError(f"{len(train)} training images are too few for batches of {cfg.gan.batch_size}")
    device = pick_device(cfg.train.device)
    run_dir = new_run_dir(cfg.out_dir, cfg.name or f"{cfg.data.name}-dcgan-{time.strftime('%Y%m%d-%H%M%S')}")
    paths = RunPaths(run_dir)
    atomic_write_text(paths.config, cfg.to_yaml())
    (run_dir / "samples").mkdir()

    n_fd = min(cfg.gan.fd_samples, len(test))
    reference = fd_features(test[:n_fd].float().div(127.5).sub(1))
    floor = frechet_distance(fd_features(train[:n_fd].float().div(127.5).sub(1)), reference)
    trainer = GanTrainer(generator, discriminator, device, cfg.gan.lr, cfg.gan.beta1, cfg.gan.real_label)
    initial = frechet_distance(fd_features(generate(trainer.generator, n_fd, cfg.train.seed, device)), reference)
    fixed = generator.noise(cfg.gan.samples, torch.Generator().manual_seed(cfg.train.seed)).to(device)
    console.print(
        f"DCGAN on {cfg.data.name} {list(shape)}: generator {count_parameters(generator):,} parameters, "
        f"discriminator {count_parameters(discriminator):,}; {len(train):,} images, device {device}; "
        f"pixel FD untrained {initial:.1f}, train vs test {floor:.2f}",
        highlight=False,
    )
    history: list[GanEpoch] = []

    def after_epoch(row: GanEpoch) -> None:
        history.append(row)
        with torch.no_grad():
            trainer.generator.eval()
            grid = image_grid_png(trainer.generator(fixed).cpu())
        atomic_write_bytes(run_dir / "samples" / f"epoch_{row.epoch:03d}.png", grid)
        write_metrics(paths.metrics, history)
        console.print(
            f"epoch {row.epoch}: D loss {row.d_loss:.3f}, G loss {row.g_loss:.3f}, D(real) {row.d_real:.2f}, "
            f"D(G(z)) {row.d_fake:.2f}, pixel FD {row.pixel_fd:.2f} ({row.seconds:.1f} s)",
            highlight=False,
        )

    start = time.perf_counter()
    trainer.fit(train, reference, cfg.train.epochs, cfg.gan.batch_size, cfg.train.seed, n_fd, after_epoch)
    seconds = time.perf_counter() - start
    save_weights(trainer.generator.cpu(), paths.weights)
    save_weights(trainer.discriminator.cpu(), run_dir / "discriminator.safetensors")
    atomic_write_json(paths.model_json, {
        "format": GAN_FORMAT, "architecture": "dcgan", "image_shape": list(shape), "latent_dim": cfg.gan.latent_dim,
        "width": cfg.gan.width, "dataset": cfg.data.name, "classes": classes,
    })  # fmt: skip
    plot_curves(run_dir / "curves.png", history, floor)
    summary = {
        "task": "gan", "epochs": len(history), "train_seconds": round(seconds, 2),
        "pixel_fd": history[-1].pixel_fd, "pixel_fd_best": min(r.pixel_fd for r in history),
        "pixel_fd_untrained": initial, "pixel_fd_train_vs_test": floor, "fd_samples": n_fd,
        "parameters": {"generator": count_parameters(generator), "discriminator": count_parameters(discriminator)},
        "reproducibility": {**reproducibility, **torch_versions()},
    }  # fmt: skip
    atomic_write_json(paths.summary, summary)
    return run_dir, summary


def load_generator(run_dir: Path) -> Generator:
    """The trained generator of a GAN run (eval mode, CPU), refusing classification runs clearly."""
    paths = check_run_dir(run_dir)
    card = read_json(paths.model_json)
    if card.get("format") != GAN_FORMAT:
        raise UserError(f"{run_dir} is not a GAN run (train one with --task gan)")
    generator = Generator(tuple(card["image_shape"]), card["latent_dim"], card["width"])
    load_weights(generator, paths.weights)
    return generator.eval()


def sample_grid(run_dir: Path, n: int, seed: int, out: Path) -> Path:
    """Write a PNG grid of `n` new images from a trained generator."""
    generator = load_generator(run_dir)
    images = generate(generator, n, seed, torch.device("cpu"))
    atomic_write_bytes(out, image_grid_png(images))
    return out
