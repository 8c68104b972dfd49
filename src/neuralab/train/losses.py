"""Loss functions by name, label smoothing and class weights, and the L1 penalty."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from neuralab.errors import UserError

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def cross_entropy(label_smoothing: float = 0.0, class_weights: torch.Tensor | None = None) -> LossFn:
    def loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        weight = class_weights.to(logits.device) if class_weights is not None else None
        return F.cross_entropy(logits.float(), target, weight=weight, label_smoothing=label_smoothing)

    return loss


def mse() -> LossFn:
    return lambda output, target: F.mse_loss(output.float(), target.float())


def mae() -> LossFn:
    return lambda output, target: F.l1_loss(output.float(), target.float())


def huber(delta: float = 1.0) -> LossFn:
    """Quadratic within `delta` of the target, linear beyond: one outlier cannot dominate the gradient."""
    return lambda output, target: F.huber_loss(output.float(), target.float(), delta=delta)


def regression_loss(name: str, huber_delta: float = 1.0) -> LossFn:
    if name == "huber":
        return huber(huber_delta)
    return {"mse": mse, "mae": mae}[name]()


_BY_NAME: dict[str, Callable[[], LossFn]] = {
    "cross_entropy": cross_entropy,
    "categorical_crossentropy": cross_entropy,
    "sparse_categorical_crossentropy": cross_entropy,
    "mse": mse,
    "mean_squared_error": mse,
    "mae": mae,
    "mean_absolute_error": mae,
    "huber": huber,
}


def get(identifier: str | LossFn) -> LossFn:
    """Keras-style resolver: a name ("categorical_crossentropy") or any callable(output, target)."""
    if callable(identifier):
        return identifier
    if identifier not in _BY_NAME:
        raise UserError(f"unknown loss {identifier!r}", hint=f"choose one of: {', '.join(_BY_NAME)}")
    return _BY_NAME[identifier]()


def l1_penalty(model: nn.Module) -> torch.Tensor:
    """Sum of |w| over weight matrices and kernels (biases and norms excluded, as for weight decay)."""
    terms = [p.abs().sum() for p in model.parameters() if p.requires_grad and p.ndim >= 2]
    return torch.stack(terms).sum() if terms else torch.zeros(())


def focal(gamma: float = 2.0, class_weights: torch.Tensor | None = None, label_smoothing: float = 0.0) -> LossFn:
    """Focal loss (Lin et al. 2017): (1 - p_t)^gamma down-weights easy examples; weights act as alpha."""

    def loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        log_probs = F.log_softmax(logits.float(), dim=1)
        log_pt = log_probs.gather(1, target[:, None])[:, 0]
        ce = F.cross_entropy(logits.float(), target, reduction="none", label_smoothing=label_smoothing)
        per_example = (1 - log_pt.exp()) ** gamma * ce
        if class_weights is not None:
            weight = class_weights.to(logits.device)[target]
            return (weight * per_example).sum() / weight.sum()
        return per_example.mean()

    return loss


def nt_xent(temperature: float = 0.2) -> LossFn:
    """SimCLR's contrastive loss on [2N, d] projections of two views: each view must pick out its twin
    among the other 2N - 2 images of the batch (cross-entropy over cosine similarities / temperature)."""

    def loss(projections: torch.Tensor, _labels: torch.Tensor) -> torch.Tensor:
        z = torch.nn.functional.normalize(projections.float(), dim=1)
        n = len(z) // 2
        similarity = (z @ z.T / temperature).masked_fill(torch.eye(len(z), dtype=torch.bool, device=z.device),
                                                         float("-inf"))  # fmt: skip
        twins = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)
        return torch.nn.functional.cross_entropy(similarity, twins)

    return loss
