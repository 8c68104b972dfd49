"""neuralab.keras trained for real: Keras code on scikit-learn's digits and a small text task."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from neuralab.errors import UserError
from neuralab.keras import Input, Model, Sequential, layers, optimizers
from neuralab.keras.utils import to_categorical
from tests.conftest import needs_fashion


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    x, y = load_digits(return_X_y=True)
    return (x / 16).reshape(-1, 8, 8, 1).astype("float32"), y  # Keras's channels-last layout


def small_cnn() -> Sequential:
    return Sequential([
        layers.Conv2D(16, (3, 3), activation="relu", padding="same", input_shape=(8, 8, 1)),
        layers.MaxPooling2D((2, 2)),
        layers.Flatten(),
        layers.Dense(32, activation="relu"),
        layers.Dropout(0.1),
        layers.Dense(10, activation="softmax"),
    ])  # fmt: skip


def test_keras_cnn_code_trains_on_channels_last_digits(digits: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = digits
    torch.manual_seed(0)
    model = small_cnn()
    model.compile(optimizer=optimizers.Adam(learning_rate=3e-3), loss="categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x[:1400], to_categorical(y[:1400], 10), epochs=8, batch_size=32, validation_split=0.1)
    assert sorted(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert len(history.history["loss"]) == 8 and history.history["loss"][-1] < history.history["loss"][0]
    loss, accuracy = model.evaluate(x[1400:], to_categorical(y[1400:], 10))
    assert accuracy > 0.85  # measured over init seeds 0-5: 90.7-92.7% (the last digits are harder writers)
    probs = model.predict(x[1400:])
    assert np.allclose(probs.sum(1), 1, atol=1e-5)  # a softmax output, applied once
    expected = -np.mean(np.log(probs[np.arange(len(probs)), y[1400:]]))
    assert loss == pytest.approx(expected, rel=1e-3)  # the loss is cross-entropy of those probabilities


def test_softmax_output_without_from_logits_is_required(digits: tuple[np.ndarray, np.ndarray]) -> None:
    model = Sequential([layers.Flatten(input_shape=(8, 8, 1)), layers.Dense(10)])
    with pytest.raises(UserError, match="from_logits"):
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    from neuralab.keras.losses import SparseCategoricalCrossentropy

    model.compile(optimizer="adam", loss=SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    x, y = digits
    model.fit(x[:1000], y[:1000], epochs=20)
    assert model.evaluate(x[1000:], y[1000:])[1] > 0.8


def test_functional_embedding_lstm_on_token_ids_with_frozen_pretrained_vectors() -> None:
    """The second tutorial's text model: Input -> Embedding(weights=[matrix], trainable=False) -> LSTM -> softmax."""
    rng = np.random.default_rng(0)
    vocab, maxlen = 20, 12
    x = rng.integers(1, vocab, size=(1200, maxlen))
    y = x[:, -1] < 10  # the class is decided by the last token (measured: 100% after 15 epochs)
    matrix = rng.normal(size=(vocab, 16)).astype("float32")
    inputs = Input(shape=(maxlen,))
    embedded = layers.Embedding(vocab, 16, weights=[matrix], trainable=False)(inputs)
    outputs = layers.Dense(2, activation="softmax")(layers.LSTM(32)(embedded))
    model = Model(inputs=inputs, outputs=outputs)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[:1000], y[:1000].astype(int), epochs=15, batch_size=32)
    assert model.evaluate(x[1000:], y[1000:].astype(int))[1] > 0.9
    embedding = model.ordered_layers()[0]
    assert np.array_equal(embedding.embedding.weight.detach().numpy(), matrix)  # frozen: unchanged


@needs_fashion
def test_datasets_load_in_kerass_layout() -> None:
    from neuralab.keras.datasets import fashion_mnist

    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8 and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and set(np.unique(y_test)) == set(range(10))


def test_keras_callbacks_early_stopping_restores_best_weights_and_csv_logger(
    digits: tuple[np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    from neuralab.keras.callbacks import CSVLogger, EarlyStopping, ReduceLROnPlateau

    x, y = digits
    torch.manual_seed(0)
    model = small_cnn()
    model.compile(optimizer=optimizers.SGD(learning_rate=0.5), loss="sparse_categorical_crossentropy")
    stopper = EarlyStopping(monitor="val_loss", patience=1, min_delta=10.0, restore_best_weights=True)
    callbacks = [stopper, ReduceLROnPlateau(patience=1), CSVLogger(tmp_path / "log.csv")]
    validation = (x[1000:1200], y[1000:1200])
    history = model.fit(x[:1000], y[:1000], epochs=6, validation_data=validation, callbacks=callbacks)
    assert len(history.history["loss"]) == 2  # nothing improves by 10: stopped after patience 1
    rows = (tmp_path / "log.csv").read_text().splitlines()
    assert rows[0].startswith("epoch,loss") and len(rows) == 3
    restored_loss = model.evaluate(*validation)  # the first (best) epoch's weights are back in place
    assert restored_loss == pytest.approx(history.history["val_loss"][0], rel=1e-4)
    assert restored_loss != pytest.approx(history.history["val_loss"][1], rel=1e-4)


def test_model_checkpoint_and_learning_rate_scheduler(digits: tuple[np.ndarray, np.ndarray], tmp_path: Path) -> None:
    from neuralab.keras.callbacks import LearningRateScheduler, ModelCheckpoint
    from neuralab.keras.models import load_model

    x, y = digits
    flat = x.reshape(len(x), -1)
    torch.manual_seed(0)
    model = Sequential([layers.Dense(16, activation="relu", input_shape=(64,)), layers.Dense(10, activation="softmax")])
    model.compile(optimizer=optimizers.SGD(learning_rate=0.1), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])  # fmt: skip
    seen: list[float] = []
    schedule = LearningRateScheduler(lambda epoch, lr: seen.append(lr) or 0.1 * 0.5**epoch)
    best = ModelCheckpoint(str(tmp_path / "best"), monitor="val_accuracy", save_best_only=True)
    every = ModelCheckpoint(str(tmp_path / "w-{epoch:02d}-{val_loss:.2f}.safetensors"), save_weights_only=True)
    history = model.fit(flat[:1400], y[:1400], epochs=3, validation_split=0.2, verbose=0,
                        callbacks=[schedule, best, every])  # fmt: skip
    assert seen == pytest.approx([0.1, 0.1, 0.05])  # each epoch sees the lr the previous one set
    assert len(list(tmp_path.glob("w-0[1-3]-*.safetensors"))) == 3
    restored = load_model(tmp_path / "best")
    best_epoch = int(np.argmax(history.history["val_accuracy"]))
    assert best_epoch >= 0 and restored.count_params() == model.count_params()


def _classifier(loss: str = "sparse_categorical_crossentropy") -> Sequential:
    model = Sequential([Input((4,)), layers.Dense(8, activation="relu"), layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
    return model


_X = np.random.default_rng(0).random((30, 4))
_Y = np.arange(30) % 3


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: _classifier().fit(_X[:, :3], _Y, verbose=0),
            r"takes inputs shaped \(None, 4\); x is shaped \(30, 3\)",
        ),
        (lambda: _classifier().predict(np.ones((2, 7))), r"predict: the model takes inputs shaped \(None, 4\)"),
        (lambda: _classifier().fit(_X, _Y + 3, verbose=0), r"class ids must lie in 0..2 .* y holds 3..5"),
        (lambda: _classifier().fit(_X, np.array(["cat"] * 30), verbose=0), "a classifier takes class ids 0..2"),
        (lambda: _classifier().fit(_X, _Y + 0.5, verbose=0), "one whole class id per example"),
        (lambda: _classifier("categorical_crossentropy").fit(_X, _Y, verbose=0), "one-hot rows of 3"),
        (lambda: _classifier().fit(np.full((30, 4), np.nan), _Y, verbose=0), "x holds 120 NaN or infinite values"),
        (lambda: _classifier().fit(_X[:0], _Y[:0], verbose=0), "x holds no examples"),
        (lambda: _classifier().fit(_X, _Y, batch_size=0, verbose=0), "batch_size must be a positive whole number"),
        (lambda: _classifier().fit(_X, _Y, validation_split=1.0, verbose=0), r"validation_split .* in \[0, 1\)"),
        (lambda: _classifier("hinge"), "unknown loss 'hinge'"),
        (lambda: layers.Dense(8, activation="rleu"), "unknown activation 'rleu'"),
        (lambda: layers.Dense(0), r"Dense\(units\) must be a positive whole number"),
        (lambda: layers.Conv2D(8, 0), "kernel_size and strides must be a positive whole number"),
    ],
    ids=[
        "features",
        "predict-shape",
        "label-range",
        "text-labels",
        "fractional-ids",
        "ids-for-one-hot",
        "nan",
        "empty",
        "batch-0",
        "split-1",
        "loss",
        "activation",
        "units-0",
        "kernel-0",
    ],
)
def test_mistakes_get_keras_style_messages_not_torch_errors(call: Any, message: str) -> None:
    with pytest.raises(UserError, match=message):
        call()


def test_the_grid_search_wrapper_gives_each_loss_the_labels_it_reads() -> None:
    from neuralab.keras.wrappers.scikit_learn import KerasClassifier

    for loss in ("sparse_categorical_crossentropy", "categorical_crossentropy"):
        classifier = KerasClassifier(build_fn=lambda loss=loss: _classifier(loss), epochs=1, verbose=0)
        assert classifier.fit(_X, _Y).predict(_X).shape == (30,)
