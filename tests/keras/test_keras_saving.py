"""model.save writes a run folder (JSON spec + safetensors); load_model and every neuralab command read it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.datasets import load_digits

from neuralab.errors import UserError
from neuralab.keras import Input, Model, Sequential, layers
from neuralab.keras.models import load_model
from neuralab.keras.utils import to_categorical
from tests.conftest import run_cli
from tests.serve.conftest import start_server, stop_server


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    x, y = load_digits(return_X_y=True)
    return (x / 16).astype("float32"), y


@pytest.fixture(scope="module")
def keras_cnn_run(digits: tuple[np.ndarray, np.ndarray], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tutorial's CNN shape on 8x8 digits, trained, evaluated and saved as Keras code would."""
    x, y = digits
    images = x.reshape(-1, 8, 8, 1)
    torch.manual_seed(0)
    model = Sequential([
        layers.Conv2D(16, (3, 3), activation="relu", padding="same", input_shape=(8, 8, 1)),
        layers.MaxPooling2D((2, 2)),
        layers.Flatten(),
        layers.Dense(10, activation="softmax"),
    ])  # fmt: skip
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(images[:1400], to_categorical(y[:1400], 10), epochs=8, batch_size=32, validation_split=0.1, verbose=0)
    model.evaluate(images[1400:], to_categorical(y[1400:], 10), verbose=0)
    return model.save(tmp_path_factory.mktemp("keras") / "cnn.keras")


def test_save_then_load_gives_identical_predictions(keras_cnn_run: Path, digits: tuple[np.ndarray, np.ndarray]) -> None:
    x, _ = digits
    images = x.reshape(-1, 8, 8, 1)[1400:]
    reloaded = load_model(keras_cnn_run)
    assert isinstance(reloaded, Sequential)
    card = json.loads((keras_cnn_run / "model.json").read_text())
    assert card["architecture"] == "keras" and card["input_shape"] == [1, 8, 8]
    assert card["preprocess"]["scale"] == pytest.approx(1 / 255)  # trained on x / 16 <= 1: pixels / 255
    assert not list(keras_cnn_run.glob("*.pt*")) and not list(keras_cnn_run.glob("*.pkl"))
    reloaded.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    probs = reloaded.predict(images)
    assert probs.shape == (len(images), 10)
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)
    # Same numbers as the model that was saved: rebuild from the folder a second time and compare.
    np.testing.assert_array_equal(probs, load_model(keras_cnn_run).predict(images))


def test_every_layer_type_survives_the_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(0)
    tokens = Input(shape=(12,), dtype="int32")
    embedded = layers.Embedding(50, 8, weights=[np.random.default_rng(0).normal(size=(50, 8))], trainable=False)(tokens)
    conv = layers.Conv1D(6, 3, padding="same", activation="relu")(embedded)
    recurrent = layers.Bidirectional(layers.GRU(5, return_sequences=True))(conv)
    last = layers.LSTM(4)(layers.SimpleRNN(4, return_sequences=True)(recurrent))
    pooled = layers.Dense(4)(layers.Flatten()(conv))
    means = layers.Concatenate()([layers.GlobalAveragePooling1D()(conv), layers.GlobalMaxPooling1D()(conv)])
    merged = layers.Concatenate()([layers.Add()([last, pooled]), layers.LayerNormalization()(last), means])
    out = layers.Dense(3, activation="softmax")(layers.Dropout(0.1)(layers.BatchNormalization()(merged)))
    model = Model(inputs=tokens, outputs=out)
    ids = np.random.default_rng(1).integers(0, 50, size=(20, 12))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(ids, np.arange(20) % 3, epochs=1, verbose=0)
    folder = model.save(tmp_path / "graph")
    reloaded = load_model(folder)
    assert reloaded.count_params() == model.count_params()
    np.testing.assert_allclose(reloaded.predict(ids), model.predict(ids), rtol=1e-5, atol=1e-6)
    card = json.loads((folder / "model.json").read_text())
    assert card["preprocess"]["extra"] == {"dtype": "int64"}  # token ids go in as ids, never as floats


def test_a_spec_naming_unknown_code_is_refused(keras_cnn_run: Path, tmp_path: Path) -> None:
    card = json.loads((keras_cnn_run / "model.json").read_text())
    card["args"]["spec"]["layers"][0]["class_name"] = "os.system"
    tampered = tmp_path / "tampered"
    tampered.mkdir()
    (tampered / "model.json").write_text(json.dumps(card))
    (tampered / "model.safetensors").write_bytes((keras_cnn_run / "model.safetensors").read_bytes())
    with pytest.raises(UserError, match="does not have"):
        load_model(tampered)
    card["args"]["spec"]["layers"] = "garbage"
    (tampered / "model.json").write_text(json.dumps(card))
    with pytest.raises(UserError, match="malformed"):
        load_model(tampered)


def test_saving_never_clobbers_a_folder_that_is_not_a_run(keras_cnn_run: Path, tmp_path: Path) -> None:
    model = load_model(keras_cnn_run)
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "thesis.txt").write_text("irreplaceable")
    with pytest.raises(UserError, match="not a run folder"):
        model.save(notes)
    assert (notes / "thesis.txt").read_text() == "irreplaceable"
    first = model.save(tmp_path / "run")
    with pytest.raises(UserError, match="overwrite=True"):
        model.save(first, overwrite=False)
    model.save(first)  # Keras's default: replace the previous save
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left behind


def test_the_cli_predicts_explains_exports_and_reports_a_keras_folder(keras_cnn_run: Path, tmp_path: Path) -> None:
    image = tmp_path / "digit.png"
    Image.fromarray((load_digits().images[1500] * 255 / 16).astype(np.uint8)).save(image)
    predicted = run_cli("predict", str(keras_cnn_run), str(image), "--json")
    assert predicted.returncode == 0, predicted.stderr
    assert json.loads(predicted.stdout)["top"][0]["class"] in [str(i) for i in range(10)]
    explained = run_cli("explain", str(keras_cnn_run), str(image), "--out", str(tmp_path))
    assert explained.returncode == 0, explained.stderr
    assert "layer network.stack.0.conv" in " ".join(
        explained.stdout.split()
    )  # the torch conv's [N, C, H, W] map, not Keras's NHWC
    exported = run_cli("export", str(keras_cnn_run), "--format", "onnx", "--out", str(tmp_path / "m.onnx"))
    assert exported.returncode == 0, exported.stderr
    reported = run_cli("report", str(keras_cnn_run))
    assert reported.returncode == 0, reported.stderr
    assert "model.evaluate" in (keras_cnn_run / "summary.json").read_text()
    evaluated = run_cli("evaluate", str(keras_cnn_run))
    assert evaluated.returncode == 2 and "saved from Python with no dataset" in evaluated.stderr


def test_a_keras_model_is_served_with_the_tutorials_json_contract(
    digits: tuple[np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    x, y = digits
    torch.manual_seed(0)
    model = Sequential([layers.Dense(32, activation="relu", input_shape=(64,)), layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[:1400], y[:1400], epochs=5, verbose=0)
    folder = model.save(tmp_path / "mlp")
    expected = model.predict(x[1400:1404]).argmax(1)
    server = start_server(folder, tmp_path / "server.log")
    try:
        answer = server.client.post("/predict", json={"data": x[1400:1404].tolist()})
        assert answer.status_code == 200, answer.text
        assert [p["index"] for p in answer.json()["predictions"]] == expected.tolist()
        hostile = server.client.post(
            "/predict", content=b'{"data": [[1, 2]]}', headers={"content-type": "application/json"}
        )
        assert hostile.status_code == 422 and "64" in hostile.text
        assert server.client.get("/health").status_code == 200
        # saved without model.evaluate: summary.json's test is null, and /metadata says there are no figures
        meta = server.client.get("/metadata")
        assert meta.status_code == 200, meta.text
        assert meta.json()["test_metrics"] == {"accuracy": None, "macro_f1": None}
    finally:
        stop_server(server)
