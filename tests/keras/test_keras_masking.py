"""Embedding(mask_zero=True): recurrent layers skip the padding, as Keras's masks make them.

Checked against TensorFlow-Keras 3.15 once with copied weights (outputs equal to 4e-9 for LSTM,
LSTM(return_sequences=True), Bidirectional, and Bidirectional -> Dropout -> LSTM); Keras is not a
test dependency, so these tests pin the same semantics from first principles.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from neuralab.errors import UserError
from neuralab.keras import Input, Model, Sequential, layers
from neuralab.keras.models import load_model
from neuralab.serve.export import export_run
from tests.serve.conftest import start_server, stop_server

IDS = np.array([[0, 0, 3, 4, 5], [6, 7, 0, 0, 0], [0, 8, 0, 9, 0], [0, 0, 0, 0, 0], [1, 2, 3, 4, 5]])


def masked_model(*recurrent: layers.Layer) -> Sequential:
    torch.manual_seed(0)
    model = Sequential([Input(shape=(5,), dtype="int32"), layers.Embedding(10, 3, mask_zero=True), *recurrent])
    model.eval()
    return model


def real_steps_only(model: Sequential, row: np.ndarray) -> torch.Tensor:
    """The embedding of the row's non-zero ids, with no padding at all: what the mask must amount to."""
    embedding = model.ordered_layers()[0]
    with torch.no_grad():
        return embedding(torch.as_tensor(row[row != 0])[None])


def test_lstm_reads_only_the_real_steps() -> None:
    model = masked_model(layers.LSTM(4))
    lstm = model.ordered_layers()[1]
    ours = model.predict(IDS, verbose=0)
    for row, out in zip(IDS, ours, strict=True):
        if (row != 0).any():
            with torch.no_grad():
                expected = lstm.call(real_steps_only(model, row))[0].numpy()
        else:
            expected = np.zeros(4)  # no real step: Keras gives zeros
        np.testing.assert_allclose(out, expected, atol=1e-6)


def test_pre_and_post_padding_agree_only_with_the_mask() -> None:
    pre, post = np.array([[0, 0, 3, 4, 5]]), np.array([[3, 4, 5, 0, 0]])
    model = masked_model(layers.LSTM(4))
    np.testing.assert_allclose(model.predict(pre, verbose=0), model.predict(post, verbose=0), atol=1e-6)
    model.ordered_layers()[0].mask_zero = False  # the padding is then read like any token
    assert not np.allclose(model.predict(pre, verbose=0), model.predict(post, verbose=0), atol=1e-6)


def test_return_sequences_repeats_the_last_real_output_over_masked_steps() -> None:
    model = masked_model(layers.LSTM(4, return_sequences=True))
    lstm = model.ordered_layers()[1]
    ours = model.predict(IDS, verbose=0)
    for row, out in zip(IDS, ours, strict=True):
        real = np.flatnonzero(row)
        with torch.no_grad():
            outputs = lstm.call(real_steps_only(model, row))[0].numpy() if len(real) else np.zeros((0, 4))
        for step in range(5):
            before = np.searchsorted(real, step, side="right")  # real steps up to and including this one
            expected = outputs[before - 1] if before else np.zeros(4)
            np.testing.assert_allclose(out[step], expected, atol=1e-6)


def test_bidirectional_runs_both_ways_over_the_real_steps() -> None:
    model = masked_model(layers.Bidirectional(layers.LSTM(4)))
    bidirectional = model.ordered_layers()[1]
    ours = model.predict(IDS[:3], verbose=0)
    for row, out in zip(IDS[:3], ours, strict=True):
        real = real_steps_only(model, row)
        with torch.no_grad():
            forward = bidirectional.forward_layer.call(real)[0]
            backward = bidirectional.backward_layer.call(real.flip(1))[0]
        np.testing.assert_allclose(out, torch.cat([forward, backward]).numpy(), atol=1e-6)


def test_the_mask_passes_dropout_and_stops_where_keras_stops_it() -> None:
    stacked = masked_model(layers.LSTM(4, return_sequences=True), layers.Dropout(0.5), layers.GRU(3))
    post, pre = np.array([[3, 4, 5, 0, 0]]), np.array([[0, 0, 3, 4, 5]])
    np.testing.assert_allclose(stacked.predict(post, verbose=0), stacked.predict(pre, verbose=0), atol=1e-6)
    with pytest.raises(UserError, match="BatchNormalization after Embedding"):
        masked_model(layers.BatchNormalization(), layers.LSTM(4)).predict(IDS, verbose=0)


def test_average_pooling_averages_the_real_steps_and_max_pooling_ignores_the_mask() -> None:
    average = masked_model(layers.GlobalAveragePooling1D())
    ours = average.predict(IDS, verbose=0)
    for row, out in zip(IDS, ours, strict=True):
        real = real_steps_only(average, row)[0]
        expected = real.mean(dim=0).numpy() if len(real) else np.zeros(3)  # Keras: NaN (0 / 0); zeros here
        np.testing.assert_allclose(out, expected, atol=1e-6)
    maximum = masked_model(layers.GlobalMaxPooling1D())
    with torch.no_grad():
        every_step = maximum.ordered_layers()[0](torch.as_tensor(IDS)).amax(dim=1).numpy()
    np.testing.assert_allclose(maximum.predict(IDS, verbose=0), every_step, atol=1e-6)  # as Keras: padding included


def test_functional_models_carry_the_mask_through_merges() -> None:
    torch.manual_seed(0)
    tokens = Input(shape=(5,), dtype="int32")
    vectors = layers.Embedding(10, 3, mask_zero=True)(tokens)
    merged = layers.Concatenate()([layers.Dense(2)(vectors), vectors])
    model = Model(tokens, layers.LSTM(4)(merged))
    model.eval()
    post, pre = np.array([[3, 4, 5, 0, 0]]), np.array([[0, 0, 3, 4, 5]])
    np.testing.assert_allclose(model.predict(post, verbose=0), model.predict(pre, verbose=0), atol=1e-6)


def test_a_masked_text_model_trains_reloads_and_exports_with_its_mask(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 9, 256)
    ids = np.zeros((256, 10), dtype=np.int64)
    for row, length in zip(ids, lengths, strict=True):
        row[-length:] = rng.integers(1, 20, length)  # pre-padded, as Keras's pad_sequences pads
    labels = (lengths > 4).astype(np.int64)  # how many real tokens: only a reader that skips padding sees it
    torch.manual_seed(0)
    model = Sequential([Input(shape=(10,), dtype="int32"), layers.Embedding(20, 8, mask_zero=True),
                        layers.LSTM(16), layers.Dense(2, activation="softmax")])  # fmt: skip
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(ids, labels, epochs=25, batch_size=32, verbose=0)  # seeds 0-5 all reach 100%
    assert history.history["accuracy"][-1] > 0.9
    model.save(tmp_path / "masked")
    again = load_model(tmp_path / "masked")
    np.testing.assert_allclose(again.predict(ids, verbose=0), model.predict(ids, verbose=0), atol=1e-6)
    exported = export_run(tmp_path / "masked", "onnx")  # parity-checked on ids below the embedding's size
    assert exported.max_abs_diff < 1e-4

    server = start_server(tmp_path / "masked", tmp_path / "server.log")
    try:  # over a real socket: ids as the model was trained on them, then ids no vocabulary has
        answer = server.client.post("/predict", json={"data": ids[:3].tolist()})
        assert answer.status_code == 200, answer.text
        expected = model.predict(ids[:3], verbose=0).argmax(1).tolist()
        assert [p["index"] for p in answer.json()["predictions"]] == expected
        for row, problem in (([0] * 9 + [20], "0..19"), ([-1] + [1] * 9, "0..19"), ([1.5] + [1] * 9, "whole number")):
            hostile = server.client.post("/predict", json={"data": [row]})
            assert hostile.status_code == 422 and problem in hostile.json()["error"]["message"], hostile.text
        assert server.client.post("/predict", json={"data": ids[:1].tolist()}).status_code == 200  # still up
    finally:
        stop_server(server)
