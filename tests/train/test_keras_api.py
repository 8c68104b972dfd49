from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits
from torch import nn

from neuralab import KerasModel
from neuralab.errors import UserError


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    bunch = load_digits()
    return (bunch.data / 16.0).astype(np.float32), bunch.target


def net() -> nn.Module:
    return nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))


def test_tutorial_style_fit_with_one_hot_labels(digits: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = digits
    one_hot = np.eye(10, dtype=np.float32)[y]  # keras.utils.to_categorical
    model = KerasModel(net())
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"], lr=3e-3)
    history = model.fit(x[:1500], one_hot[:1500], epochs=8, batch_size=32, validation_split=0.1)
    assert len(history.history["val_accuracy"]) == 8 and history.history["loss"][-1] < history.history["loss"][0]
    loss, accuracy = model.evaluate(x[1500:], y[1500:])
    assert accuracy > 0.85 and loss < 0.6  # the last 297 digits come from harder writers
    probs = model.predict(x[1500:])
    assert probs.shape == (297, 10) and np.allclose(probs.sum(1), 1, atol=1e-5)


def test_validation_data_and_integer_labels(digits: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = digits
    model = KerasModel(net()).compile(optimizer="sgd", lr=0.1)
    history = model.fit(x[:1000], y[:1000], epochs=2, validation_data=(x[1000:], y[1000:]))
    val_loss, val_accuracy = model.evaluate(x[1000:], y[1000:])
    assert history.history["val_loss"][-1] == pytest.approx(val_loss, rel=1e-5)  # scored on exactly that data
    assert history.history["val_accuracy"][-1] == pytest.approx(val_accuracy) and val_accuracy > 0.8


def test_mse_regression() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 3)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5], dtype=np.float32))[:, None]
    model = KerasModel(nn.Linear(3, 1)).compile(optimizer="adam", loss="mse", lr=0.05)
    model.fit(x, y, epochs=30, batch_size=32)
    assert model.evaluate(x, y)[0] < 0.01


def test_misuse_is_explained(digits: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = digits
    with pytest.raises(UserError, match="compile"):
        KerasModel(net()).fit(x, y)
    with pytest.raises(UserError, match="unknown metric"):
        KerasModel(net()).compile(metrics=["auc"])
    with pytest.raises(UserError, match="examples"):
        KerasModel(net()).compile().fit(x[:10], y[:9])
