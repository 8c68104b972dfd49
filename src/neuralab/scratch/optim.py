"""Optimizers over Parameters, with exactly torch.optim's update rules (the tests compare trajectories)."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from neuralab.scratch.layers import Parameter


class Optimizer:
    def __init__(self, params: Iterable[Parameter], lr: float, weight_decay: float = 0.0) -> None:
        self.params = list(params)
        self.lr = lr
        self.weight_decay = weight_decay
        self.state: list[dict[str, np.ndarray]] = [{} for _ in self.params]

    def _grad(self, p: Parameter) -> np.ndarray:
        # Classic L2: the decay joins the gradient (AdamW overrides this with decoupled decay).
        return p.grad + self.weight_decay * p.value if self.weight_decay else p.grad

    def step(self) -> None:
        for p, state in zip(self.params, self.state, strict=True):
            self.update(p, self._grad(p), state)

    def update(self, p: Parameter, g: np.ndarray, state: dict[str, np.ndarray]) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(lr={self.lr}, params={len(self.params)})"


class SGD(Optimizer):
    def update(self, p: Parameter, g: np.ndarray, state: dict[str, np.ndarray]) -> None:
        p.value -= self.lr * g


class Momentum(Optimizer):
    """v = mu * v + g; p -= lr * v (torch's form: the lr multiplies the velocity)."""

    def __init__(
        self, params: Iterable[Parameter], lr: float, momentum: float = 0.9, weight_decay: float = 0.0
    ) -> None:
        super().__init__(params, lr, weight_decay)
        self.momentum = momentum

    def velocity(self, g: np.ndarray, state: dict[str, np.ndarray]) -> np.ndarray:
        if "v" not in state:
            state["v"] = g.copy()  # torch starts the buffer at the first gradient
        else:
            state["v"] = self.momentum * state["v"] + g
        return state["v"]

    def update(self, p: Parameter, g: np.ndarray, state: dict[str, np.ndarray]) -> None:
        p.value -= self.lr * self.velocity(g, state)


class Nesterov(Momentum):
    """Look ahead along the velocity: p -= lr * (g + mu * v)."""

    def update(self, p: Parameter, g: np.ndarray, state: dict[str, np.ndarray]) -> None:
        v = self.velocity(g, state)
        p.value -= self.lr * (g + self.momentum * v)


class RMSprop(Optimizer):
    """Divide by a running RMS of recent gradients: s = a*s + (1-a)*g^2; p -= lr * g / (sqrt(s) + eps)."""

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 0.01,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr, weight_decay)
        self.alpha, self.eps = alpha, eps

    def update(self, p: Parameter, g: np.ndarray, state: dict[str, np.ndarray]) -> None:
        s = state.setdefault("s", np.zeros_like(g))
        s *= self.alpha
        s += (1 - self.alpha) * g * g
        p.value -= self.lr * g / (np.sqrt(s) + self.eps)


class Adam(Optimizer):
    """Momentum (m) plus RMSprop (v), both bias-corrected for their zero start."""

    default_weight_decay = 0.0  # torch's defaults: 0 for Adam, 1e-2 for AdamW

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float | None = None,
    ) -> None:
        super().__init__(params, lr, self.default_weight_decay if weight_decay is None else weight_decay)
        self.beta1, self.beta2 = betas
        self.eps = eps
        self.t = 0

    def step(self) -> None:
        self.t += 1
        super().step()

    def update(self, p: Parameter, g: np.ndarray, state: dict[str, np.ndarray]) -> None:
        if "m" not in state:
            state.update(m=np.zeros_like(g), v=np.zeros_like(g), buf=np.empty_like(g))
        m, v, buf = state["m"], state["v"], state["buf"]
        # In place throughout: a fresh temporary the size of W costs page faults every step.
        m *= self.beta1
        np.multiply(g, 1 - self.beta1, out=buf)
        m += buf
        v *= self.beta2
        np.multiply(g, g, out=buf)
        buf *= 1 - self.beta2
        v += buf
        # lr * m_hat / (sqrt(v_hat) + eps) with the bias corrections and the lr folded into two scalars,
        # so it costs four passes over W, each into one preallocated buffer. Python floats, not numpy
        # float64 scalars: those would force a slow casting loop on float32 arrays.
        step = self.lr / (1 - self.beta1**self.t)
        np.sqrt(v, out=buf)
        buf *= 1 / (math.sqrt(1 - self.beta2**self.t) * step)
        buf += self.eps / step
        np.divide(m, buf, out=buf)
        p.value -= buf


class AdamW(Adam):
    """Adam with decoupled weight decay: shrink the weights directly, outside the adaptive scaling."""

    default_weight_decay = 1e-2

    def _grad(self, p: Parameter) -> np.ndarray:
        return p.grad

    def update(self, p: Parameter, g: np.ndarray, state: dict[str, np.ndarray]) -> None:
        p.value *= 1 - self.lr * self.weight_decay
        super().update(p, g, state)
