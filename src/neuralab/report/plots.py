"""Training curves and the confusion matrix as PNG bytes (matplotlib figures, no backend needed)."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from neuralab.plotting import figure_bytes, new_figure, with_cjk_text


def _png(fig: Figure) -> bytes:
    return figure_bytes(fig, "png", dpi=110, bbox_inches="tight")


@with_cjk_text
def curves_png(metrics: dict[str, list[float]]) -> bytes:
    """Loss and accuracy (RMSE for regression), train vs validation, and the learning rate, against the epoch."""
    epochs = metrics.get("epoch", [])
    fig, axes = new_figure(1, 3, figsize=(13, 3.6))
    second = ("accuracy", ["accuracy", "val_accuracy"]) if "accuracy" in metrics else ("RMSE", ["val_rmse"])
    for ax, (title, keys) in zip(
        axes, [("loss", ["loss", "val_loss"]), second, ("learning rate", ["lr"])], strict=True
    ):
        for key in keys:
            if key in metrics:
                ax.plot(epochs, metrics[key], marker="o", markersize=3, label=key)
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:  # a self-supervised run has no accuracy curve to label
            ax.legend()
    return _png(fig)


@with_cjk_text
def confusion_png(matrix: list[list[int]], classes: list[str]) -> bytes:
    data = np.asarray(matrix)
    size = max(4.0, 0.45 * len(classes) + 2)
    fig, ax = new_figure(figsize=(size, size))
    ax.imshow(data, cmap="Blues")
    ax.set_xticks(range(len(classes)), classes, rotation=60, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    threshold = data.max() / 2 if data.size else 0
    for i in range(data.shape[0]):
        for j in range(data.shape[1]):
            ax.text(
                j,
                i,
                str(data[i, j]),
                ha="center",
                va="center",
                fontsize=8,
                color="white" if data[i, j] > threshold else "black",
            )
    return _png(fig)


@with_cjk_text
def lr_find_png(lrs: list[float], losses: list[float], suggestion: float) -> bytes:
    fig, ax = new_figure(figsize=(6, 3.6))
    ax.plot(lrs, losses)
    ax.axvline(suggestion, color="red", linestyle="--", label=f"suggested lr {suggestion:.2e}")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("smoothed training loss")
    ax.grid(alpha=0.3)
    ax.legend()
    return _png(fig)


@with_cjk_text
def thumbnails_png(images: np.ndarray, title: str) -> bytes:
    """A row of uint8 [C, H, W] images (examples of one confusion), labelled by `title`."""
    count = len(images)
    fig, axes = new_figure(1, count, figsize=(1.1 * count + 0.2, 1.4), squeeze=False)
    for ax, image in zip(axes[0], images, strict=True):
        if image.shape[0] == 1:
            ax.imshow(image[0], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        else:
            ax.imshow(image.transpose(1, 2, 0), interpolation="nearest")
        ax.axis("off")
    fig.suptitle(title, fontsize=8)
    return _png(fig)
