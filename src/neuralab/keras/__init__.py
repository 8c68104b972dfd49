"""The tutorials' Keras code on PyTorch: replace `tensorflow.keras` (or `keras`) with `neuralab.keras`
in the import lines. Layers are real `nn.Module`s; training runs on neuralab's Trainer.

`model.save(path)` writes a neuralab run folder (layers as JSON, weights as safetensors, no pickle)
that `models.load_model` and every `neuralab` command (evaluate, predict, serve, explain, export,
report) read. Not yet here (see the README): functional models with several inputs or outputs.
"""

from neuralab.keras import callbacks, datasets, layers, losses, models, optimizers, preprocessing, utils, wrappers
from neuralab.keras.models import Model, Sequential
from neuralab.models.keras.graph import Input

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
