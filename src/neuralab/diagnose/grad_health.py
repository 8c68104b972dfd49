"""Gradient and activation health, sampled every N steps so that watching costs almost nothing.

On a sampled step, forward hooks on ReLU modules record how many units never fire in the batch
(dead units), and after backward each layer's weight-gradient norm is read in one device sync.
`analyze` turns the records into findings with the layer names and the usual remedies.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from neuralab.diagnose.findings import Finding
from neuralab.train.callbacks.base import Callback, Logs

VANISHING_RATIO = 1e-3  # first layer's gradient norm / the largest layer's
EXPLODING_NORM = 1e3
DEAD_FRACTION = 0.5

_RELUS = (nn.ReLU, nn.LeakyReLU, nn.ReLU6)


def weighted_layers(model: nn.Module) -> list[tuple[str, nn.Parameter]]:
    """(module name, weight) in forward-definition order, for layers whose weight is a matrix or kernel."""
    out = []
    for name, module in model.named_modules():
        weight = getattr(module, "weight", None)
        if isinstance(weight, nn.Parameter) and weight.ndim >= 2 and weight.requires_grad:
            out.append((name or type(module).__name__, weight))
    return out


class GradientMonitor(Callback):
    def __init__(self, every: int = 50) -> None:
        self.every = every
        self.records: list[dict[str, Any]] = []
        self._handles: list[Any] = []
        self._dead: dict[str, torch.Tensor] = {}
        self._sampling = False

    def needs_batch_hooks(self) -> bool:
        return self.every > 0

    def _due(self) -> bool:
        assert self.trainer is not None
        return self.every > 0 and self.trainer.state.global_step % self.every == 0

    def on_train_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        if not self._due():
            return
        assert self.trainer is not None
        self._sampling = True
        self._dead = {}
        for name, module in self.trainer.model.named_modules():
            if isinstance(module, _RELUS):
                self._handles.append(module.register_forward_hook(self._dead_hook(name)))

    def _dead_hook(self, name: str) -> Any:
        def hook(module: nn.Module, inputs: Any, output: torch.Tensor) -> None:
            # A unit (feature or channel) is dead in this batch if it is zero for every example and position.
            per_unit = output.detach().flatten(2).amax(dim=(0, 2)) if output.ndim > 2 else output.detach().amax(0)
            self._dead[name] = per_unit

        return hook

    def _remove_hooks(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        if not self._sampling:
            return
        self._sampling = False
        self._remove_hooks()
        assert self.trainer is not None
        layers = [(n, w) for n, w in weighted_layers(self.trainer.model) if w.grad is not None]
        if not layers:
            return
        norms = torch.stack([w.grad.detach().float().norm() for _, w in layers])  # type: ignore[union-attr]
        dead = {n: float((v <= 0).float().mean()) for n, v in self._dead.items()}
        self.records.append(
            {
                "step": self.trainer.state.global_step,
                "grad_norms": dict(zip([n for n, _ in layers], norms.tolist(), strict=True)),
                "dead_fraction": dead,
                "loss": float(logs["loss"]) if logs and "loss" in logs else None,
            }
        )
        self._dead = {}

    def on_train_end(self, logs: Logs | None = None) -> None:
        self._remove_hooks()

    def state_dict(self) -> dict[str, Any]:
        return {"records": self.records}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.records = list(state["records"])


def analyze(records: list[dict[str, Any]]) -> list[Finding]:
    """Vanishing, exploding and dead-ReLU findings from sampled records (the later half weighs most)."""
    if not records:
        return []
    findings: list[Finding] = []
    recent = records[len(records) // 2 :]
    names = list(recent[-1]["grad_norms"])

    non_finite = [(r["step"], n) for r in records for n, v in r["grad_norms"].items() if not math.isfinite(v)]
    peak = max((v for r in records for v in r["grad_norms"].values() if math.isfinite(v)), default=0.0)
    first_total = math.sqrt(sum(v * v for v in records[0]["grad_norms"].values() if math.isfinite(v)))
    last_total = math.sqrt(sum(v * v for v in records[-1]["grad_norms"].values() if math.isfinite(v)))
    if non_finite or peak > EXPLODING_NORM or (first_total > 0 and last_total > 100 * first_total):
        where = non_finite[0][1] if non_finite else max(records[-1]["grad_norms"], key=records[-1]["grad_norms"].get)
        evidence = (
            f"non-finite gradient at step {non_finite[0][0]}"
            if non_finite
            else f"gradient norm reached {peak:.3g} (total grew {last_total / max(first_total, 1e-12):.0f}x)"
        )
        findings.append(
            Finding(
                "exploding_gradients",
                where,
                evidence,
                ["lower the learning rate (neuralab lr-find)", "clip gradients (train.grad_clip=1.0)", "add BatchNorm"],
            )
        )

    if len(names) >= 3:
        ratios = []
        for r in recent:
            norms = [r["grad_norms"][n] for n in names if math.isfinite(r["grad_norms"][n])]
            if norms and max(norms) > 0:
                ratios.append(r["grad_norms"][names[0]] / max(norms))
        ratios.sort()
        median = ratios[len(ratios) // 2] if ratios else 1.0
        if median < VANISHING_RATIO:
            findings.append(
                Finding(
                    "vanishing_gradients",
                    names[0],
                    f"its gradient norm is {median:.1e} of the largest layer's (median of {len(ratios)} samples);"
                    " early layers barely learn",
                    [
                        "ReLU activations with He initialisation instead of sigmoid/tanh",
                        "BatchNorm after each layer (model.args.batchnorm=true for mlp)",
                        "residual connections (model.name=resnet)",
                        "a shallower network",
                    ],
                )
            )

    for name, fraction in recent[-1]["dead_fraction"].items():
        if fraction > DEAD_FRACTION:
            findings.append(
                Finding(
                    "dead_relu",
                    name,
                    f"{100 * fraction:.0f}% of its units output zero for every example in the batch",
                    ["a lower learning rate", "LeakyReLU or GELU", "He initialisation", "BatchNorm before the ReLU"],
                )
            )
    return findings
