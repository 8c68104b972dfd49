"""`fashion_mnist.load_data()`, as in Keras."""

from __future__ import annotations

from neuralab.keras.datasets._load import Split, load_keras_layout


def load_data() -> tuple[Split, Split]:
    """((x_train, y_train), (x_test, y_test)) as uint8 NumPy arrays in Keras's layout."""
    return load_keras_layout("fashion-mnist")
