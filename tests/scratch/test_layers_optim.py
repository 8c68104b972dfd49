"""Layers, whole networks and optimizer trajectories against torch in float64."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch
from torch import nn

from neuralab.scratch import optim as O
from neuralab.scratch.gradcheck import numerical_grad, relative_error
from neuralab.scratch.layers import Activation, BatchNorm1d, Dense, Dropout, Parameter, Sequential
from neuralab.scratch.losses import cross_entropy_with_logits

RTOL, ATOL = 1e-6, 1e-12


def close(a: np.ndarray, b: torch.Tensor) -> None:
    np.testing.assert_allclose(a, b.detach().numpy(), rtol=RTOL, atol=ATOL)


def twin_mlp(seed: int = 0, batchnorm: bool = True) -> tuple[Sequential, nn.Sequential]:
    """The same 6-8-(BN)-tanh-5 network in scratch and in torch, with identical weights.

    Without BN for optimizer trajectories: a bias before BN has an exactly-zero gradient whose
    rounding noise Adam and RMSprop would amplify into lr-sized steps.
    """
    rng = np.random.default_rng(seed)
    norm: list = [BatchNorm1d(8)] if batchnorm else [Activation("tanh")]
    t_norm: list = [nn.BatchNorm1d(8)] if batchnorm else [nn.Tanh()]
    ours = Sequential([Dense(6, 8, rng=rng), *norm, Activation("tanh"), Dense(8, 5, init="xavier", rng=rng)])
    theirs = nn.Sequential(nn.Linear(6, 8), *t_norm, nn.Tanh(), nn.Linear(8, 5)).double()
    with torch.no_grad():
        for i, layer in ((0, ours.layers[0]), (3, ours.layers[3])):
            theirs[i].weight.copy_(torch.tensor(layer.W.value.T))
            theirs[i].bias.copy_(torch.tensor(layer.b.value))
    return ours, theirs


def torch_params(theirs: nn.Sequential) -> list[torch.Tensor]:
    """In scratch order: W (transposed in torch), b, [gamma, beta,] W, b."""
    layers = [m for m in theirs if isinstance(m, nn.Linear | nn.BatchNorm1d)]
    return [p for m in layers for p in (m.weight, m.bias)]


def test_network_forward_and_every_gradient_match_autograd() -> None:
    ours, theirs = twin_mlp()
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(10, 6)), rng.integers(0, 5, 10)
    logits = ours.forward(x)
    value, grad = cross_entropy_with_logits(logits, y)
    grad_x = ours.backward(grad)
    tx = torch.tensor(x, requires_grad=True)
    t_logits = theirs(tx)
    loss = nn.functional.cross_entropy(t_logits, torch.tensor(y))
    loss.backward()
    close(logits, t_logits)
    assert value == pytest.approx(loss.item(), rel=RTOL)
    close(grad_x, tx.grad)
    for p, t in zip(ours.parameters(), torch_params(theirs), strict=True):
        close(p.grad, t.grad.T if t.ndim == 2 else t.grad)
    bn = ours.layers[1]
    assert isinstance(bn, BatchNorm1d)
    close(bn.running_mean, theirs[1].running_mean)
    close(bn.running_var, theirs[1].running_var)


def test_batchnorm_eval_uses_running_statistics() -> None:
    ours, theirs = twin_mlp()
    x = np.random.default_rng(6).normal(size=(10, 6))
    ours.forward(x), theirs(torch.tensor(x))
    ours.eval(), theirs.eval()
    close(ours.forward(x[:3]), theirs(torch.tensor(x[:3])))


def test_dropout_scales_in_training_and_is_identity_in_eval() -> None:
    drop = Dropout(0.25, rng=np.random.default_rng(0))
    x = np.ones((400, 50))
    out = drop.forward(x)
    assert set(np.unique(out)) <= {0.0, 1 / 0.75} and abs(out.mean() - 1) < 0.02
    assert np.array_equal(drop.backward(np.ones_like(x)), out)
    drop.training = False
    assert np.array_equal(drop.forward(x), x)


def test_gradient_checker_agrees_with_backprop() -> None:
    rng = np.random.default_rng(7)
    net = Sequential([Dense(3, 4, rng=rng), Activation("sigmoid"), Dense(4, 2, rng=rng)])
    x, y = rng.normal(size=(5, 3)), rng.integers(0, 2, 5)

    def loss() -> float:
        return cross_entropy_with_logits(net.forward(x), y)[0]

    net.backward(cross_entropy_with_logits(net.forward(x), y)[1])
    for p in net.parameters():
        analytic = p.grad.copy()
        assert relative_error(analytic, numerical_grad(loss, p.value)) < 1e-5


Pair = tuple[Callable[[list[Parameter]], O.Optimizer], Callable[[list[torch.Tensor]], torch.optim.Optimizer]]
OPTIMIZERS: dict[str, Pair] = {
    "sgd": (lambda p: O.SGD(p, lr=0.05), lambda p: torch.optim.SGD(p, lr=0.05)),
    "sgd_l2": (
        lambda p: O.SGD(p, lr=0.05, weight_decay=0.01),
        lambda p: torch.optim.SGD(p, lr=0.05, weight_decay=0.01),
    ),
    "momentum": (lambda p: O.Momentum(p, lr=0.02, momentum=0.9), lambda p: torch.optim.SGD(p, lr=0.02, momentum=0.9)),
    "nesterov": (
        lambda p: O.Nesterov(p, lr=0.02, momentum=0.9),
        lambda p: torch.optim.SGD(p, lr=0.02, momentum=0.9, nesterov=True),
    ),
    "rmsprop": (lambda p: O.RMSprop(p, lr=0.005), lambda p: torch.optim.RMSprop(p, lr=0.005)),
    "adam": (lambda p: O.Adam(p, lr=0.01), lambda p: torch.optim.Adam(p, lr=0.01)),
    "adam_l2": (
        lambda p: O.Adam(p, lr=0.01, weight_decay=0.01),
        lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=0.01),
    ),
    "adamw": (
        lambda p: O.AdamW(p, lr=0.01, weight_decay=0.05),
        lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.05),
    ),
}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_optimizer_trajectory_matches_torch_for_150_steps(name: str) -> None:
    make_ours, make_theirs = OPTIMIZERS[name]
    ours, theirs = twin_mlp(seed=1, batchnorm=False)
    opt, t_opt = make_ours(ours.parameters()), make_theirs(torch_params(theirs))
    rng = np.random.default_rng(8)
    x, y = rng.normal(size=(32, 6)), rng.integers(0, 5, 32)
    for _ in range(150):
        ours.backward(cross_entropy_with_logits(ours.forward(x), y)[1])
        opt.step()
        t_opt.zero_grad()
        nn.functional.cross_entropy(theirs(torch.tensor(x)), torch.tensor(y)).backward()
        t_opt.step()
    for p, t in zip(ours.parameters(), torch_params(theirs), strict=True):
        np.testing.assert_allclose(p.value, (t.T if t.ndim == 2 else t).detach().numpy(), rtol=1e-6, atol=1e-10)
