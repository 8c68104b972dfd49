"""The linear probe: how good a frozen encoder's features are, judged by a linear classifier on them.

scikit-learn's logistic regression (standardised features, L2, lbfgs to convergence) is fitted on
the training split's features and scored on the test split, beside the same probe on raw pixels:
features that a linear model separates better than pixels are what self-supervised learning is for.
The few-label probe fits on `per_class` labelled images per class only, the setting where features
learned from unlabelled images pay most.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch

from neuralab.data import BatchLoader
from neuralab.data.registry import Samples
from neuralab.data.splits import stratified_subset
from neuralab.data.transforms import Preprocess

MAX_PROBE_ROWS = 10_000  # lbfgs on 60k x 784 pixels takes minutes on 2 cores; a stratified 10k says the same


@torch.inference_mode()
def embed(samples: Samples, preprocess: Preprocess, encode: Callable[[torch.Tensor], torch.Tensor],
          device: torch.device) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """(features, raw pixels, labels) of every sample, in order, without augmentation."""
    features, pixels, labels = [], [], []
    for x, y in BatchLoader(samples, 512, preprocess, device=device):
        features.append(encode(x).float().flatten(1).cpu().numpy())
        pixels.append(x.float().flatten(1).cpu().numpy())
        labels.append(y.cpu().numpy())
    return np.concatenate(features), np.concatenate(pixels), np.concatenate(labels)


def probe_accuracy(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray) -> float:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        probe.fit(train_x, train_y)
    return float(probe.score(test_x, test_y))


def linear_probe(train: Samples, test: Samples, preprocess: Preprocess,
                 encoders: Mapping[str, Callable[[torch.Tensor], torch.Tensor]], device: torch.device, per_class: int,
                 seed: int) -> dict[str, Any]:  # fmt: skip
    """Test accuracy of the probe on each encoder's features and on raw pixels, with all and with few labels.

    `encoders` names each one: the learned encoder ("features") and, as the control that says whether
    learning helped at all, the same architecture untrained ("untrained_encoder").
    """
    if len(train) > MAX_PROBE_ROWS:
        train = train.subset(stratified_subset(train.targets, MAX_PROBE_ROWS, seed))
    spaces: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    labels = test_labels = np.empty(0)
    for name, encode in encoders.items():
        feats, pixels, labels = embed(train, preprocess, encode, device)
        test_feats, test_pixels, test_labels = embed(test, preprocess, encode, device)
        spaces[name] = (feats, test_feats)
    spaces["raw_pixels"] = (pixels, test_pixels)
    rng = np.random.default_rng(seed)
    few = np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:per_class] for c in np.unique(labels)])
    report: dict[str, Any] = {}
    for split_name, rows in (("all_labels", np.arange(len(labels))), ("few_labels", few)):
        report[split_name] = {"train_images": len(rows)} | {
            name: probe_accuracy(x[rows], labels[rows], x_test, test_labels) for name, (x, x_test) in spaces.items()
        }
    report["few_labels"]["per_class"] = per_class
    report["test_images"] = len(test_labels)
    return report
