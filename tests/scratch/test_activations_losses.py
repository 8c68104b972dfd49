"""Every forward and gradient against PyTorch autograd in float64 (relative error < 1e-6)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from neuralab.scratch import activations as A
from neuralab.scratch.losses import binary_cross_entropy_with_logits, cross_entropy_with_logits, mse

RTOL, ATOL = 1e-6, 1e-12
TORCH_FNS = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "leaky_relu": lambda x: F.leaky_relu(x, 0.01),
}


def close(a: np.ndarray, b: torch.Tensor) -> None:
    np.testing.assert_allclose(a, b.detach().numpy(), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("name", list(A.FUNCTIONS))
def test_activation_and_derivative_match_autograd(name: str) -> None:
    x = np.random.default_rng(0).normal(scale=3, size=(7, 5))
    x[0, 0] = 0.5  # avoid the kink at exactly 0
    fn, grad_fn = A.FUNCTIONS[name]
    t = torch.tensor(x, requires_grad=True)
    out = TORCH_FNS[name](t)
    out.sum().backward()
    close(fn(x), out)
    close(grad_fn(x), t.grad)


def test_softmax_and_its_vjp() -> None:
    rng = np.random.default_rng(1)
    x, g = rng.normal(size=(4, 6)), rng.normal(size=(4, 6))
    t = torch.tensor(x, requires_grad=True)
    out = torch.softmax(t, dim=-1)
    out.backward(torch.tensor(g))
    close(A.softmax(x), out)
    close(A.softmax_backward(A.softmax(x), g), t.grad)


@pytest.mark.parametrize("fn", [A.sigmoid, A.tanh, A.relu, A.leaky_relu, A.softmax, A.sigmoid_grad, A.tanh_grad])
def test_extreme_inputs_neither_overflow_nor_nan(fn) -> None:  # type: ignore[no-untyped-def]
    x = np.array([[-1e4, -50.0, 0.0, 50.0, 1e4]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        out = fn(x)
    assert np.isfinite(out).all()


def test_losses_are_stable_for_huge_logits() -> None:
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 3.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        value, grad = cross_entropy_with_logits(logits, np.array([1, 0]))
        b_value, b_grad = binary_cross_entropy_with_logits(logits, np.ones_like(logits))
    assert np.isfinite([value, b_value]).all() and np.isfinite(grad).all() and np.isfinite(b_grad).all()


def test_mse_matches_torch() -> None:
    rng = np.random.default_rng(2)
    pred, target = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    t = torch.tensor(pred, requires_grad=True)
    loss = F.mse_loss(t, torch.tensor(target))
    loss.backward()
    value, grad = mse(pred, target)
    assert value == pytest.approx(loss.item(), rel=RTOL)
    close(grad, t.grad)


def test_binary_cross_entropy_matches_torch() -> None:
    rng = np.random.default_rng(3)
    logits, target = rng.normal(scale=4, size=(6, 2)), rng.integers(0, 2, (6, 2)).astype(float)
    t = torch.tensor(logits, requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(t, torch.tensor(target))
    loss.backward()
    value, grad = binary_cross_entropy_with_logits(logits, target)
    assert value == pytest.approx(loss.item(), rel=RTOL)
    close(grad, t.grad)


@pytest.mark.parametrize("one_hot", [False, True])
def test_cross_entropy_matches_torch(one_hot: bool) -> None:
    rng = np.random.default_rng(4)
    logits, labels = rng.normal(scale=3, size=(8, 5)), rng.integers(0, 5, 8)
    t = torch.tensor(logits, requires_grad=True)
    loss = F.cross_entropy(t, torch.tensor(labels))
    loss.backward()
    target = np.eye(5)[labels] if one_hot else labels
    value, grad = cross_entropy_with_logits(logits, target)
    assert value == pytest.approx(loss.item(), rel=RTOL)
    close(grad, t.grad)
