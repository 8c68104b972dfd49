from __future__ import annotations

from pathlib import Path

import pytest
import torch

from neuralab.errors import UserError
from neuralab.models import MODELS, create_model, summarize
from neuralab.runs import load_weights, save_weights

SHAPES = [(1, 8, 8), (1, 28, 28), (3, 32, 32)]


@pytest.mark.parametrize("name", [n for n in MODELS.names() if "image" in MODELS.get(n).inputs])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_every_model_builds_trains_and_round_trips(name: str, shape: tuple[int, ...], tmp_path: Path) -> None:
    try:
        model = create_model(name, shape, 7)
    except UserError as err:
        assert name == "keras_cnn" and "18x18" in str(err)  # the one model with a documented minimum size
        return
    x = torch.randn(4, *shape)
    out = model(x)
    assert out.shape == (4, 7) and torch.isfinite(out).all()
    out.sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    path = tmp_path / "w.safetensors"
    save_weights(model, path)
    clone = create_model(name, shape, 7)
    load_weights(clone, path)
    model.eval(), clone.eval()
    assert torch.equal(model(x), clone(x))


def test_tutorial_networks_have_their_published_sizes() -> None:
    assert (
        summarize(create_model("mnist_mlp", (1, 28, 28), 10), (1, 28, 28)).total
        == 784 * 512 + 512 + 512 * 256 + 256 + 2570
    )
    simple = summarize(create_model("simple_cnn", (1, 28, 28), 10), (1, 28, 28)).total
    assert simple == (32 * 9 + 32) + (64 * 32 * 9 + 64) + (3136 * 128 + 128) + (128 * 10 + 10)


def test_unknown_argument_lists_the_accepted_ones() -> None:
    with pytest.raises(UserError) as err:
        create_model("mlp", (1, 8, 8), 10, widht=3)
    assert "widht" in str(err.value) and "widths" in (err.value.hint or "")


def test_image_model_refuses_vectors() -> None:
    with pytest.raises(UserError, match="image"):
        create_model("simple_cnn", (5,), 2)


def test_none_arguments_fall_back_to_defaults() -> None:
    model = create_model("mlp", (4,), 3, widths=None, dropout=None)
    assert model(torch.randn(2, 4)).shape == (2, 3)


def test_recurrent_flops_are_counted_from_the_shapes() -> None:
    """A 1-layer LSTM over 10 steps of 8 features with 16 units: 2 x 4 gates x 16 x (8 + 16) x 10 FLOPs."""
    from torch import nn

    from neuralab.models.summary import forward_flops

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(8, 16, batch_first=True)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.lstm(x)[0][:, -1]

    assert forward_flops(Net(), (10, 8)) == 2 * 4 * 16 * (8 + 16) * 10
    assert forward_flops(create_model("text_rnn", (40,), 3, "text", vocab_size=100), (40,)) > 0
