"""Label skew: measure it, and choose a remedy (the remedies themselves live in train and data)."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.utils.class_weight import compute_class_weight

from neuralab.diagnose.findings import Finding

REMEDIES = [
    "class weights in the loss (train.balance=class_weights)",
    "oversample rare classes (train.balance=sampler)",
    "focal loss (train.balance=focal)",
    "judge by balanced accuracy and macro-F1, not accuracy",
]


def imbalance_ratio(targets: torch.Tensor, num_classes: int) -> float:
    counts = torch.bincount(targets, minlength=num_classes).float()
    present = counts[counts > 0]
    return float(present.max() / present.min()) if len(present) else 1.0


def balanced_class_weights(targets: torch.Tensor, num_classes: int) -> torch.Tensor:
    """n_samples / (n_classes * count), as scikit-learn's compute_class_weight('balanced')."""
    labels = targets.numpy()
    present = np.unique(labels)
    weights = np.ones(num_classes, dtype=np.float32)
    weights[present] = compute_class_weight("balanced", classes=present, y=labels)
    return torch.from_numpy(weights)


def resolve_balance(
    choice: str, targets: torch.Tensor, classes: list[str], threshold: float
) -> tuple[str, Finding | None]:
    """The remedy to use, and a finding when the labels are skewed beyond `threshold`."""
    ratio = imbalance_ratio(targets, len(classes))
    finding = None
    if ratio > threshold:
        counts = torch.bincount(targets, minlength=len(classes)).tolist()
        rare = classes[int(np.argmin([c if c > 0 else np.inf for c in counts]))]
        finding = Finding(
            "class_imbalance",
            "labels",
            f"the most frequent class has {ratio:.1f}x the examples of the rarest ({rare!r}); counts {counts}",
            REMEDIES,
        )
    if choice != "auto":
        return choice, finding
    return ("class_weights" if finding else "none"), finding
