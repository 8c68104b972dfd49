"""One training run of the second tutorial's Keras CNN (93,322 parameters) on Fashion-MNIST, with the
framework named on the command line; the same code for all, only the import differs. Prints a JSON line.

Run by benchmarks/keras_vs_tensorflow.py; it needs no neuralab when the framework is Keras.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

FASHION = Path(os.environ.get("FASHION_DIR", "/usr/share/datasets/fashion-mnist"))


def idx(name: str) -> np.ndarray:
    data = gzip.decompress((FASHION / name).read_bytes())
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def main(framework: str, seed: int, epochs: int) -> None:
    if framework == "neuralab":
        import torch

        from neuralab.keras import layers, models, utils

        torch.manual_seed(seed)
    else:
        os.environ["KERAS_BACKEND"] = {"tf-keras": "tensorflow", "keras-torch": "torch"}[framework]
        import keras
        from keras import layers, models, utils

        keras.utils.set_random_seed(seed)
    x_train = idx("train-images-idx3-ubyte.gz").reshape(-1, 28, 28, 1).astype("float32") / 255.0
    x_test = idx("t10k-images-idx3-ubyte.gz").reshape(-1, 28, 28, 1).astype("float32") / 255.0
    y_train = utils.to_categorical(idx("train-labels-idx1-ubyte.gz"), 10)
    y_test = utils.to_categorical(idx("t10k-labels-idx1-ubyte.gz"), 10)
    model = models.Sequential([
        layers.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])  # fmt: skip
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(x_train, y_train, epochs=epochs, batch_size=64, verbose=0)
    seconds = time.perf_counter() - start
    accuracy = float(model.evaluate(x_test, y_test, verbose=0)[1])
    # neuralab picks its precision (bf16 autocast for conv models on CPUs with bf16 units); Keras trains fp32.
    engine = getattr(model, "_engine", None)
    precision = engine.device.precision if engine is not None else keras_dtype_policy()
    print(json.dumps({"framework": framework, "seed": seed, "params": int(model.count_params()), "precision": precision,
                      "train_seconds": round(seconds, 2), "images_per_s": round(epochs * len(x_train) / seconds, 1),
                      "test_accuracy": round(accuracy, 4)}))  # fmt: skip


def keras_dtype_policy() -> str:
    import keras

    return str(keras.config.dtype_policy().name)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
