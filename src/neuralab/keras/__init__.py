"""The tutorials' Keras code on PyTorch: replace `tensorflow.keras` (or `keras`) with `neuralab.keras`
in the import lines. Layers are real `nn.Module`s; training runs on neuralab's Trainer.

Not yet here (see the README): `load_model`/`model.save`, the Keras-exact `Tokenizer`, callbacks,
`wrappers.scikit_learn`, multi-input functional models.
"""

from neuralab.keras import callbacks, datasets, layers, losses, models, optimizers, preprocessing, utils, wrappers
from neuralab.keras.graph import Input
from neuralab.keras.models import Model, Sequential

__all__ = [
    "Input",
    "Model",
    "Sequential",
    "callbacks",
    "datasets",
    "layers",
    "losses",
    "models",
    "optimizers",
    "preprocessing",
    "utils",
    "wrappers",
]
