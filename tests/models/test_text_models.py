"""Sequence models: padding never changes a prediction; the tutorial's SimpleLSTM learns."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neuralab.data.text import pad_sequences
from neuralab.models import create_model, summarize
from neuralab.train.keras_api import KerasModel

TEXT_MODELS = [
    ("text_bag", {}),
    ("text_rnn", {"cell": "lstm", "bidirectional": True}),
    ("text_rnn", {"cell": "gru", "bidirectional": False, "layers": 2}),
    ("text_transformer", {}),
]


@pytest.mark.parametrize(("name", "args"), TEXT_MODELS)
def test_padding_does_not_change_a_prediction(name: str, args: dict) -> None:
    torch.manual_seed(0)
    model = create_model(name, (64,), 4, "text", vocab_size=50, **args).eval()
    rng = np.random.default_rng(0)
    seqs = [list(rng.integers(2, 50, n)) for n in (3, 17, 9, 30, 1)]
    short = torch.from_numpy(pad_sequences(seqs, maxlen=30, padding="post"))
    long = torch.from_numpy(pad_sequences(seqs, maxlen=64, padding="post"))
    pre = torch.from_numpy(pad_sequences(seqs, maxlen=64, padding="pre"))
    with torch.no_grad():
        a, b, c = model(short), model(long), model(pre)
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(a, c, atol=1e-5, rtol=1e-5)
    alone = torch.from_numpy(pad_sequences(seqs[1:2], maxlen=64, padding="post"))
    with torch.no_grad():
        torch.testing.assert_close(model(alone)[0], b[1], atol=1e-5, rtol=1e-5)  # batch neighbours do not matter
    assert summarize(model, (64,)).forward_flops > 0


def test_text_models_refuse_images() -> None:
    from neuralab.errors import UserError

    with pytest.raises(UserError, match="takes text inputs"):
        create_model("text_rnn", (1, 28, 28), 10)


def test_simple_lstm_learns_to_tell_sine_from_square_waves() -> None:
    rng = np.random.default_rng(0)
    t = np.linspace(0, 4 * np.pi, 40)
    x, y = [], []
    for i in range(600):
        phase, freq = rng.uniform(0, 2 * np.pi), rng.uniform(0.8, 1.2)
        wave = np.sin(freq * t + phase)
        label = i % 2
        signal = np.sign(wave) if label else wave
        x.append(np.stack([signal + rng.normal(0, 0.2, t.size), np.gradient(signal)], axis=1))
        y.append(label)
    x_arr, y_arr = np.asarray(x, np.float32), np.asarray(y)
    torch.manual_seed(0)
    model = KerasModel(create_model("sequence_lstm", (40, 2), 2))
    model.compile(optimizer="adam", lr=3e-3)
    model.fit(x_arr[:500], y_arr[:500], epochs=20, batch_size=32)
    _, accuracy = model.evaluate(x_arr[500:], y_arr[500:])
    assert accuracy > 0.9
