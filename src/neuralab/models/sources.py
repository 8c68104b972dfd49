"""Where a saved model's code comes from, and which sources are trusted.

A run folder is data and may come from someone else, so it never runs code on its own authority.
model.json's `architecture` is one of:

- a registered neuralab model (`fast_cnn`, `resnet`, ...): neuralab's own code;
- `keras`: a `neuralab.keras` network rebuilt from its JSON spec (known layer classes only);
- the name of an installed plugin, an entry point in the group `neuralab.models`: installing a
  package is an act of trust, as with any Python package;
- an import path `package.module:function`: the user's own builder, called only when the user
  says so (`trust_code=True`, `--trust-code`), as Hugging Face's `trust_remote_code`.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from torch import nn

from neuralab.errors import UserError
from neuralab.models.keras.adapter import KerasAsTorch
from neuralab.models.keras.spec import network_from_spec
from neuralab.models.registry import MODELS, create_model

ENTRY_POINT_GROUP = "neuralab.models"
KERAS_ARCHITECTURE = "keras"
Builder = Callable[..., nn.Module]


def plugins() -> dict[str, EntryPoint]:
    """Installed model builders, by entry-point name."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def builder_reference(builder: Builder) -> str:
    """How model.json names `builder`: its plugin name if it is installed as one, else `module:qualname`."""
    module, qualname = getattr(builder, "__module__", None), getattr(builder, "__qualname__", "")
    if not module or module == "__main__" or "<locals>" in qualname or "<lambda>" in qualname:
        raise UserError(f"builder {qualname or builder!r} cannot be imported again later, so the run could "
                        "never be rebuilt from its folder",
                        hint="define the builder at the top level of a module you can import "
                             "(e.g. mynets.py, then builder=mynets.build)")  # fmt: skip
    path = f"{module}:{qualname}"
    named = [name for name, ep in plugins().items() if ep.value.replace(" ", "") == path]
    return named[0] if named else path


def import_builder(path: str) -> Builder:
    module_name, _, attribute = path.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as err:
        raise UserError(
            f"cannot import {module_name!r}, which defines the model's builder {path} ({err})",
            hint="install the package that defines it, or add its folder to PYTHONPATH",
        ) from None
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise UserError(f"{module_name} has no {attribute!r}: the model's builder {path} does not exist")
        target = getattr(target, part)
    if not callable(target):
        raise UserError(f"the model's builder {path} is not callable")
    return target  # type: ignore[no-any-return]


def resolve_builder(architecture: str, trust_code: bool = False) -> Builder:
    """The builder of a user model named in model.json, refusing code nobody vouched for."""
    installed = plugins()
    if architecture in installed:
        return installed[architecture].load()  # type: ignore[no-any-return]
    if ":" not in architecture:
        raise UserError(f"unknown model {architecture!r}: not a neuralab model, and no installed plugin "
                        f"(entry point group {ENTRY_POINT_GROUP!r}) has that name",
                        hint=f"neuralab models: {', '.join(MODELS.names())}")  # fmt: skip
    if not trust_code:
        raise UserError(f"this run folder asks to run Python code from {architecture!r} to rebuild its model; "
                        "a run folder is data and may come from anyone, so neuralab does not run code it "
                        "names unless you say you trust it",
                        hint="if you trust that code: add --trust-code (Python: trust_code=True); or install "
                             f"it as a plugin in the entry point group {ENTRY_POINT_GROUP!r}")  # fmt: skip
    return import_builder(architecture)


def call_builder(builder: Builder, args: dict[str, Any], input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
    """`builder(**args)`, adding `input_shape` and `num_classes` when it takes them and args lack them."""
    try:
        params = inspect.signature(builder).parameters
    except (TypeError, ValueError):
        params = {}  # type: ignore[assignment]
    given = dict(args)
    if "input_shape" in params and "input_shape" not in given:
        given["input_shape"] = tuple(input_shape)
    if "num_classes" in params and "num_classes" not in given:
        given["num_classes"] = num_classes
    try:
        model = builder(**given)
    except TypeError as err:
        raise UserError(f"the model's builder refused its saved arguments ({err})") from None
    if not isinstance(model, nn.Module):
        raise UserError(f"the model's builder returned {type(model).__name__}, not a torch nn.Module")
    return model


def build_architecture(
    architecture: str,
    args: dict[str, Any],
    input_shape: tuple[int, ...],
    num_classes: int,
    kind: str | None = None,
    trust_code: bool = False,
) -> nn.Module:
    """The untrained model model.json describes, from whichever source it names (see the module doc)."""
    if architecture == KERAS_ARCHITECTURE:
        return KerasAsTorch(network_from_spec(args.get("spec")))
    if architecture in MODELS:
        return create_model(architecture, input_shape, num_classes, kind, **args)
    return call_builder(resolve_builder(architecture, trust_code), args, input_shape, num_classes)
