"""neuralab.keras: Keras's parameter counts and shapes, layers usable as plain torch modules."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from rich.console import Console

from neuralab.errors import UserError
from neuralab.keras import Input, Model, Sequential, layers
from neuralab.keras.utils import to_categorical


def tutorial_cnn() -> Sequential:
    """The first tutorial's Keras CNN, as written there (section 3.2)."""
    return Sequential([
        layers.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])  # fmt: skip


def test_the_tutorials_cnn_has_kerass_93322_parameters_and_shapes() -> None:
    model = tutorial_cnn()
    assert model.count_params() == 93_322  # what Keras's summary() prints for this model
    assert [layer.output_shape for layer in model.ordered_layers()] == [
        (26, 26, 32), (13, 13, 32), (11, 11, 64), (5, 5, 64), (3, 3, 64), (576,), (64,), (10,)
    ]  # fmt: skip
    out = io.StringIO()
    model.summary(Console(file=out, width=120))
    assert "Total params: 93,322" in out.getvalue() and "(None, 26, 26, 32)" in out.getvalue()
    assert model(torch.zeros(2, 28, 28, 1)).shape == (2, 10)


@pytest.mark.parametrize(
    ("layer", "shape", "count"),
    [
        (layers.Dense(7), (5,), 5 * 7 + 7),
        (layers.Conv2D(4, 3), (8, 8, 2), 3 * 3 * 2 * 4 + 4),
        (layers.BatchNormalization(), (6,), 4 * 6),
        (layers.Embedding(100, 8), (10,), 800),
        (layers.SimpleRNN(5), (10, 3), 5 * (3 + 5) + 5),
        (layers.LSTM(5), (10, 3), 4 * (5 * (3 + 5) + 5)),
        (layers.GRU(5), (10, 3), 3 * (5 * (3 + 5) + 5) + 3 * 5),
        (layers.Bidirectional(layers.LSTM(5)), (10, 3), 2 * 4 * (5 * (3 + 5) + 5)),
        (layers.LayerNormalization(), (6,), 12),
    ],
    ids=["dense", "conv2d", "batchnorm", "embedding", "simplernn", "lstm", "gru", "bidirectional", "layernorm"],
)
def test_parameter_counts_follow_kerass_formulas(layer: layers.Layer, shape: tuple[int, ...], count: int) -> None:
    layer.build(shape)
    assert layer.count_params() == count


def test_same_padding_and_strides_match_tensorflow() -> None:
    conv = layers.Conv2D(8, 3, strides=2, padding="same")
    assert conv.build((7, 7, 1)) == (4, 4, 8)
    assert conv(torch.zeros(2, 7, 7, 1)).shape == (2, 4, 4, 8)
    with pytest.raises(UserError, match="padding"):
        layers.Conv2D(8, 3, padding="full")


def test_kernels_are_glorot_uniform_and_biases_zero() -> None:
    dense = layers.Dense(200)
    dense.build((300,))
    limit = (6 / (300 + 200)) ** 0.5
    weight = dense.linear.weight.detach()
    assert float(weight.abs().max()) <= limit and float(weight.abs().max()) > 0.9 * limit
    assert torch.equal(dense.linear.bias, torch.zeros(200))


def test_layers_are_plain_torch_modules() -> None:
    model = tutorial_cnn()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    logits = model.run(torch.rand(4, 28, 28, 1), logits=True)
    torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1, 2, 3])).backward()
    optimizer.step()
    assert isinstance(model, torch.nn.Module) and sum(p.numel() for p in model.parameters()) == 93_322


def test_functional_model_with_merges() -> None:
    inputs = Input(shape=(6,))
    left, right = layers.Dense(4)(inputs), layers.Dense(4)(inputs)
    outputs = layers.Dense(3, activation="softmax")(layers.Concatenate()([left, layers.Add()([left, right])]))
    model = Model(inputs=inputs, outputs=outputs)
    assert model.count_params() == 2 * (6 * 4 + 4) + 8 * 3 + 3
    probs = model.predict(np.random.rand(5, 6).astype("float32"))
    assert probs.shape == (5, 3) and np.allclose(probs.sum(1), 1, atol=1e-5)


def test_to_categorical() -> None:
    assert to_categorical([0, 2], 3).tolist() == [[1, 0, 0], [0, 0, 1]]
    assert to_categorical(np.array([1, 0])).shape == (2, 2)
