"""Losses that return (value, gradient w.r.t. their input), computed from logits for stability.

The tutorial computes cross-entropy from probabilities with a clip at 1e-15; from logits with
log-sum-exp there is nothing to clip and no precision is lost for confident predictions.
"""

from __future__ import annotations

import numpy as np

from neuralab.scratch.activations import sigmoid


def mse(pred: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    diff = pred - target
    return float(np.mean(diff**2)), 2 * diff / diff.size


def binary_cross_entropy_with_logits(logits: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    # log(1 + exp(-|z|)) + max(z, 0) - z*y  ==  -[y log s(z) + (1-y) log(1 - s(z))], without overflow
    loss = np.maximum(logits, 0) - logits * target + np.log1p(np.exp(-np.abs(logits)))
    return float(np.mean(loss)), (sigmoid(logits) - target) / logits.size


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def cross_entropy_with_logits(logits: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean categorical cross-entropy; `target` is integer labels [N] or one-hot [N, C]."""
    n = logits.shape[0]
    log_probs = log_softmax(logits)
    if target.ndim == 2:
        loss = -(target * log_probs).sum() / n
        return float(loss), (np.exp(log_probs) - target) / n
    rows = np.arange(n)
    loss = -log_probs[rows, target].sum() / n
    grad = np.exp(log_probs)  # softmax, from the log-probabilities already computed
    grad[rows, target] -= 1
    grad /= n
    return float(loss), grad
