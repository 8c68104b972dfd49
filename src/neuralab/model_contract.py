"""The model contract: what the toolkit may ask of a model beyond `forward`, each an optional capability.

Any `nn.Module` can be trained. A model that also has one of these gets more: a `head` + `features`
split (fine-tuning, layer groups, Grad-CAM's default layer), `adapt` (statistics of the training split,
as Keras's preprocessing layers), `input_normalization` (the mean/std its pretrained features expect),
`embedding` (pretrained word vectors, token attributions), `example_input` (token models take ids),
`load_imagenet` (torchvision backbones). Test-time augmentation is not a capability but a switch a model
reads through `tta_enabled()`, which `single_view` turns off on one thread while explaining.
Each capability is a runtime-checkable Protocol, asked through one function here, never by `getattr`.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Protocol, runtime_checkable

import torch
from torch import nn

Normalization = tuple[tuple[float, ...], tuple[float, ...]]


@runtime_checkable
class HasHead(Protocol):
    """`features` (input to representation) then `head` (representation to class scores)."""

    features: nn.Module
    head: nn.Module


@runtime_checkable
class HasImagenetWeights(Protocol):
    """A torchvision backbone: `features` that can load ImageNet weights, and a `head`."""

    features: nn.Module
    head: nn.Module

    def load_imagenet(self) -> None: ...


@runtime_checkable
class HasLayerGroups(Protocol):
    def layer_groups(self) -> list[list[nn.Module]]: ...


@runtime_checkable
class Adaptable(Protocol):
    def adapt(self, inputs: torch.Tensor) -> None: ...


@runtime_checkable
class HasInputNormalization(Protocol):
    @property
    def input_normalization(self) -> Normalization: ...


@runtime_checkable
class HasEmbedding(Protocol):
    embedding: nn.Module


@runtime_checkable
class HasExampleInput(Protocol):
    def example_input(self, *shape: int) -> torch.Tensor: ...


def adaptable(model: nn.Module) -> Adaptable | None:
    return model if isinstance(model, Adaptable) else None


def input_normalization_of(model: nn.Module) -> Normalization | None:
    return model.input_normalization if isinstance(model, HasInputNormalization) else None


def embedding_of(model: nn.Module) -> nn.Embedding | None:
    """The token embedding of a text model (None for any other model)."""
    if isinstance(model, HasEmbedding) and isinstance(model.embedding, nn.Embedding):
        return model.embedding
    return None


def head_of(model: nn.Module) -> HasHead | None:
    if isinstance(model, HasHead) and isinstance(model.features, nn.Module) and isinstance(model.head, nn.Module):
        return model
    return None


def example_input(model: nn.Module, input_shape: tuple[int, ...]) -> torch.Tensor:
    """One example the model accepts: zeros of `input_shape`, or the model's own (token ids)."""
    if isinstance(model, HasExampleInput):
        return model.example_input(*input_shape)
    return torch.zeros(1, *input_shape)


def token_vocabulary(model: nn.Module) -> int | None:
    """How many token ids the model can embed, or None without an embedding: its token embedding's rows
    where it names one (a Transformer's position embedding is not indexed by token ids), else its
    smallest embedding's."""
    if (token := embedding_of(model)) is not None:
        return token.num_embeddings
    sizes = [m.num_embeddings for m in model.modules() if isinstance(m, nn.Embedding)]
    return min(sizes) if sizes else None


def has_conv(model: nn.Module) -> bool:
    """2-D convolutional models train faster channels_last, and Grad-CAM explains them."""
    return any(isinstance(m, nn.Conv2d) for m in model.modules())


def named_groups(model: nn.Module) -> list[list[nn.Module]]:
    """Layer groups, input to head: a model's own, else `features` children then `head`, else one group."""
    if isinstance(model, HasLayerGroups):
        return list(model.layer_groups())
    if split := head_of(model):
        children = [c for c in split.features.children() if any(True for _ in c.parameters())]
        return [*[[c] for c in children], [split.head]]
    return [[model]]


_views = threading.local()


def tta_enabled() -> bool:
    """False inside `single_view` on this thread (a served model is shared by threads: no flag on it)."""
    return not getattr(_views, "single", False)


@contextlib.contextmanager
def single_view(model: nn.Module) -> Iterator[nn.Module]:
    """Turn test-time augmentation off on this thread: explanations must see one forward of one image."""
    previous = getattr(_views, "single", False)
    _views.single = True
    try:
        yield model
    finally:
        _views.single = previous
