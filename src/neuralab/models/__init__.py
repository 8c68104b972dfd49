"""The model zoo: every network is built by name from the dataset's input shape and class count."""

from neuralab.models import backbones, cnn, mlp, resnet, sequence, text, vit  # noqa: F401  (importing registers the builders)
from neuralab.models.registry import MODELS, ModelInfo, create_model, register_model
from neuralab.models.summary import ModelSummary, count_parameters, forward_flops, summarize

__all__ = [
    "MODELS",
    "ModelInfo",
    "ModelSummary",
    "count_parameters",
    "create_model",
    "forward_flops",
    "register_model",
    "summarize",
]
