"""Explanations made visible: a heatmap over the input image as a PNG, token scores as HTML."""

from __future__ import annotations

import html

import numpy as np
from matplotlib.figure import Figure

from neuralab.plotting import figure_bytes, new_figure, with_cjk_text


@with_cjk_text
def overlay_png(image: np.ndarray, heat: np.ndarray, caption: str, size_in: float = 2.6) -> bytes:
    """`image` uint8 [C, H, W]; `heat` [H, W] in [0, 1] drawn over it with a colour map."""
    fig, ax = new_figure(figsize=(size_in, size_in + 0.35))
    if image.shape[0] == 1:
        ax.imshow(image[0], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    else:
        ax.imshow(image.transpose(1, 2, 0), interpolation="nearest")
    ax.imshow(heat, cmap="jet", alpha=0.45, vmin=0.0, vmax=1.0, interpolation="bilinear")
    ax.set_title(caption, fontsize=8)
    ax.axis("off")
    return _png(fig)


@with_cjk_text
def feature_bars_png(scores: np.ndarray, names: list[str], caption: str) -> bytes:
    """For vector inputs: the attribution of each feature, largest magnitude first."""
    order = np.argsort(-np.abs(scores))[:20][::-1]
    fig, ax = new_figure(figsize=(4.5, 0.25 * len(order) + 0.8))
    ax.barh([names[i] for i in order], scores[order], color=["#c0392b" if scores[i] > 0 else "#2e86c1" for i in order])
    ax.set_title(caption, fontsize=8)
    return _png(fig)


def tokens_html(tokens: list[str], scores: list[float], caption: str) -> str:
    """Each token on a background whose colour is its attribution: red for, blue against the class."""
    peak = max((abs(s) for s in scores), default=0.0) or 1.0
    spans = []
    for token, score in zip(tokens, scores, strict=True):
        alpha = min(1.0, abs(score) / peak)
        rgb = "192,57,43" if score > 0 else "46,134,193"
        spans.append(
            f'<span title="{score:+.4f}" style="background:rgba({rgb},{alpha:.2f})">{html.escape(token)}</span>'
        )
    return f"<figure><figcaption>{html.escape(caption)}</figcaption><p class='tokens'>{' '.join(spans)}</p></figure>"


def _png(fig: Figure) -> bytes:
    return figure_bytes(fig, "png", dpi=100, bbox_inches="tight")
