"""Keras's layers (`from neuralab.keras.layers import Conv2D, Dense, ...`), each a real `nn.Module`."""

from neuralab.models.keras.core import (
    Activation,
    AveragePooling2D,
    BatchNormalization,
    Conv1D,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    GlobalAveragePooling2D,
    Layer,
    LayerNormalization,
    MaxPooling2D,
    Reshape,
)
from neuralab.models.keras.graph import Input
from neuralab.models.keras.sequence import (
    GRU,
    LSTM,
    Add,
    Bidirectional,
    Concatenate,
    Embedding,
    GlobalAveragePooling1D,
    GlobalMaxPooling1D,
    SimpleRNN,
)

__all__ = [
    "GRU", "LSTM", "Activation", "Add", "AveragePooling2D", "BatchNormalization", "Bidirectional", "Concatenate",
    "Conv1D", "Conv2D", "Dense", "Dropout", "Embedding", "Flatten", "GlobalAveragePooling1D", "GlobalAveragePooling2D",
    "GlobalMaxPooling1D", "Input", "Layer",
    "LayerNormalization", "MaxPooling2D", "Reshape", "SimpleRNN",
]  # fmt: skip
