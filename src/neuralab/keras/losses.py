"""Keras's loss classes (names and `from_logits`); the model picks the stable computation from them."""

from __future__ import annotations


class Loss:
    name = ""

    def __init__(self, from_logits: bool = False) -> None:
        self.from_logits = from_logits


class CategoricalCrossentropy(Loss):
    name = "categorical_crossentropy"


class SparseCategoricalCrossentropy(Loss):
    name = "sparse_categorical_crossentropy"


class MeanSquaredError(Loss):
    name = "mse"


categorical_crossentropy = "categorical_crossentropy"
sparse_categorical_crossentropy = "sparse_categorical_crossentropy"
mse = mean_squared_error = "mse"
