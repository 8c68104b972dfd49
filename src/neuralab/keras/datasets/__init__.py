"""Keras's datasets: `mnist`, `fashion_mnist`, `cifar10`, each with `load_data()`."""

from neuralab.keras.datasets import cifar10, fashion_mnist, mnist

__all__ = ["cifar10", "fashion_mnist", "mnist"]
