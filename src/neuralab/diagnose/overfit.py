"""Overfitting from the epoch history: the train/validation gap and the epoch validation stopped improving."""

from __future__ import annotations

from typing import Any

from neuralab.diagnose.findings import Finding

GAP = 0.05  # train minus validation accuracy that counts as a gap worth reporting

REMEDIES = [
    "more data or augmentation (data.augment=flip-crop)",
    "dropout (model.args.dropout) or weight decay (optim.weight_decay)",
    "early stopping (train.early_stopping=3)",
    "a smaller model",
]
# What "more data" can mean depends on the input: images can be augmented, text cannot (here).
FIRST_REMEDY = {
    "image": REMEDIES[0],
    "text": "more data, pretrained word vectors (data.embeddings_file), or a smaller vocabulary "
    "(data.num_words, data.min_freq)",
}


def analyze_history(rows: list[dict[str, Any]], input_kind: str = "image") -> list[Finding]:
    if len(rows) < 3 or "val_loss" not in rows[0] or "accuracy" not in rows[0] or "val_accuracy" not in rows[0]:
        return []
    val_losses = [float(r["val_loss"]) for r in rows]
    best = min(range(len(rows)), key=val_losses.__getitem__)
    last = rows[-1]
    gap = float(last["accuracy"]) - float(last["val_accuracy"])
    rising = best < len(rows) - 2 and val_losses[-1] > 1.1 * val_losses[best]
    if gap > GAP or rising:
        return [
            Finding(
                "overfitting",
                "training",
                f"validation loss was lowest at epoch {best + 1} of {len(rows)} ({val_losses[best]:.4f}, now "
                f"{val_losses[-1]:.4f}); train accuracy {100 * float(last['accuracy']):.1f}% vs validation "
                f"{100 * float(last['val_accuracy']):.1f}% (gap {100 * gap:.1f} points)",
                [FIRST_REMEDY.get(input_kind, "more data"), *REMEDIES[1:]],
            )
        ]
    return []
