"""`task: gan`: train a DCGAN on an image dataset into a run folder, and sample from a trained one.

It runs on the shared machinery (run folder, config.yaml, metrics.csv through CSVLogger, Device for
precision and channels_last, signals, atomic writes, exact resume). The folder holds what a
classification run holds where it applies (model.safetensors — the generator — with model.json,
metrics.csv, summary.json) plus discriminator.safetensors, samples/epoch_NNN.png (the same fixed noise
every epoch, so the grids show the generator learning) and curves.png.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch
from rich.console import Console

from neuralab.config import GanRunConfig
from neuralab.data import TensorSamples
from neuralab.errors import UserError
from neuralab.models import count_parameters
from neuralab.models.gan import Discriminator, Generator
from neuralab.pipeline.gan_outputs import GanProgress, SampleGrids, image_grid_png, plot_curves
from neuralab.pipeline.machinery import checkpoint_callback, open_run, restore_checkpoint, stop_on_signals
from neuralab.pipeline.prepare import load_dataset
from neuralab.runs import (
    GAN_FORMAT,
    atomic_write_bytes,
    atomic_write_json,
    check_run_dir,
    load_weights,
    read_json,
    save_weights,
    torch_versions,
)
from neuralab.train import Device, distributed
from neuralab.train.callbacks import CSVLogger, History
from neuralab.train.gan import GanTrainer, fd_features, frechet_distance, generate, to_unit_range
from neuralab.train.seed import seed_everything


def load_images(cfg: GanRunConfig) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """uint8 train and test images [N, C, H, W] of an in-memory image dataset (labels are not used)."""
    from neuralab.data import DATASETS

    info = DATASETS.get(cfg.data.name)
    if info.kind != "image":
        raise UserError(f"task gan needs an image dataset; {cfg.data.name} holds {info.kind}")
    data = load_dataset(cfg.data)
    if not isinstance(data.train, TensorSamples) or not isinstance(data.test, TensorSamples):
        raise UserError(f"task gan needs a dataset held in memory (digits, mnist, fashion-mnist, cifar10), "
                        f"not {cfg.data.name}")  # fmt: skip
    train = data.train.x
    if cfg.data.subset is not None:
        train = train[torch.randperm(len(train), generator=torch.Generator().manual_seed(cfg.train.seed))]
        train = train[: cfg.data.subset]
    return train, data.test.x, data.classes


def total_parameters(module: torch.nn.Module) -> int:
    return sum(count_parameters(module))


def run_gan(
    cfg: GanRunConfig, console: Console | None = None, resume_dir: Path | None = None
) -> tuple[Path, dict[str, Any]]:
    """Train the DCGAN `cfg` describes (or continue the run in `resume_dir`); returns its folder and summary."""
    console = console or Console()
    if distributed.ranks_from_env().is_distributed:
        raise UserError("the GAN trains in one process; run it without --nproc / torchrun")
    reproducibility = seed_everything(cfg.train.seed, cfg.train.threads, cfg.train.deterministic)
    train, test, classes = load_images(cfg)
    shape = tuple(train.shape[1:])
    try:
        generator = Generator(shape, cfg.gan.latent_dim, cfg.gan.width)
        discriminator = Discriminator(shape, cfg.gan.width)
    except ValueError as err:
        raise UserError(str(err), hint="set data.image_size to a multiple of 4") from None
    if len(train) < 2 * cfg.train.batch_size:
        raise UserError(f"{len(train)} training images are too few for batches of {cfg.train.batch_size}")
    device = Device.create(cfg.train.device, cfg.train.precision, cfg.train.channels_last, discriminator)
    paths = open_run(cfg, f"{cfg.data.name}-dcgan-{time.strftime('%Y%m%d-%H%M%S')}", resume_dir)

    n_fd = min(cfg.gan.fd_samples, len(test))
    reference = fd_features(to_unit_range(test[:n_fd]))
    floor = frechet_distance(fd_features(to_unit_range(train[:n_fd])), reference)
    initial = frechet_distance(fd_features(generate(generator, n_fd, cfg.train.seed, torch.device("cpu"))), reference)
    fixed = generator.noise(cfg.gan.samples, torch.Generator().manual_seed(cfg.train.seed))
    history = History()
    trainer = GanTrainer(
        generator, discriminator, device, cfg.optim.lr, cfg.optim.betas[0], cfg.gan.real_label,
        beta2=cfg.optim.betas[1],
        callbacks=[history, CSVLogger(paths.metrics, history), SampleGrids(paths.root / "samples", fixed),
                   GanProgress(console),
                   checkpoint_callback(paths, cfg.train.checkpoint_every_steps, cfg.train.checkpoint_every_s)],
    )  # fmt: skip
    if resume_dir is not None:
        restore_checkpoint(trainer, paths, console)
    console.print(
        f"DCGAN on {cfg.data.name} {list(shape)}: generator {total_parameters(generator):,} parameters, "
        f"discriminator {total_parameters(discriminator):,}; {len(train):,} images, {device}; "
        f"pixel FD untrained {initial:.1f}, train vs test {floor:.2f}",
        highlight=False,
    )

    def pixel_fd(epoch: int) -> dict[str, float]:
        fake = generate(trainer.generator, n_fd, cfg.train.seed + epoch + 1, device.device)
        return {"pixel_fd": frechet_distance(fd_features(fake), reference)}

    if not trainer.state.finished:
        with stop_on_signals(trainer):
            trainer.fit(train, cfg.train.epochs, cfg.train.batch_size, cfg.train.seed, pixel_fd)
    return paths.root, finish_gan(cfg, trainer, paths.root, shape, classes,
                                  {"untrained": initial, "floor": floor, "n": n_fd}, reproducibility)  # fmt: skip


def finish_gan(cfg: GanRunConfig, trainer: GanTrainer, run_dir: Path, shape: tuple[int, ...], classes: list[str],
               fd: dict[str, float], reproducibility: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    """The generator as the run's model, the discriminator beside it, curves and summary.json."""
    rows = trainer.history.rows
    save_weights(trainer.generator, run_dir / "model.safetensors")
    save_weights(trainer.discriminator, run_dir / "discriminator.safetensors")
    atomic_write_json(run_dir / "model.json", {
        "format": GAN_FORMAT, "architecture": "dcgan", "image_shape": list(shape), "latent_dim": cfg.gan.latent_dim,
        "width": cfg.gan.width, "dataset": cfg.data.name, "classes": classes,
    })  # fmt: skip
    plot_curves(run_dir / "curves.png", rows, fd["floor"])
    summary = {
        "task": "gan", "epochs": len(rows), "train_seconds": round(trainer.state.train_seconds, 2),
        "pixel_fd": rows[-1]["pixel_fd"], "pixel_fd_best": min(r["pixel_fd"] for r in rows),
        "pixel_fd_untrained": fd["untrained"], "pixel_fd_train_vs_test": fd["floor"], "fd_samples": int(fd["n"]),
        "parameters": {"generator": total_parameters(trainer.generator),
                       "discriminator": total_parameters(trainer.discriminator)},
        "device": str(trainer.device.device), "precision": trainer.device.precision,
        "reproducibility": {**reproducibility, **torch_versions()},
    }  # fmt: skip
    atomic_write_json(run_dir / "summary.json", summary)
    return summary


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
