"""A Keras network as JSON and back: the layer classes and their arguments, never code or pickle.

A saved spec names layers; only the classes in `LAYERS` can be rebuilt, so a spec from someone else
is data, not a program. Weights travel separately, in safetensors.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neuralab.errors import UserError
from neuralab.models.keras import core, sequence
from neuralab.models.keras.core import Layer
from neuralab.models.keras.graph import Input, KerasTensor
from neuralab.models.keras.network import FunctionalNetwork, Network, SequentialNetwork

SPEC_FORMAT = "neuralab-keras/1"
LAYERS: dict[str, type[Layer]] = {
    cls.__name__: cls
    for module in (core, sequence)
    for cls in vars(module).values()
    if isinstance(cls, type) and issubclass(cls, Layer) and cls is not Layer and not cls.__name__.startswith("_")
}
_NOT_SAVED = {"weights"}  # an Embedding's initial matrix lives in the safetensors file with the other weights


def _jsonable(value: Any, where: str) -> Any:
    if isinstance(value, Layer):
        return layer_spec(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, where) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise UserError(f"{where}: argument of type {type(value).__name__} cannot be saved as JSON",
                    hint="pass plain numbers, strings and lists to Keras layers")  # fmt: skip


def layer_spec(layer: Layer) -> dict[str, Any]:
    name = type(layer).__name__
    if LAYERS.get(name) is not type(layer):
        raise UserError(
            f"layer {name} is not one of neuralab.keras's layers, so it cannot be saved as a spec",
            hint="save a model of your own through its builder: KerasModel.save(path, builder=...)",
        )
    config = {k: _jsonable(v, name) for k, v in layer.get_config().items() if k not in _NOT_SAVED}
    return {"class_name": name, "config": config}


def layer_from_spec(raw: Any) -> Layer:
    if not isinstance(raw, dict) or not isinstance(raw.get("config", {}), dict):
        raise UserError(f"malformed layer in the model spec: {str(raw)[:80]}")
    name = raw.get("class_name")
    if name not in LAYERS:
        raise UserError(f"the model spec names layer {name!r}, which neuralab.keras does not have",
                        hint=f"known layers: {', '.join(sorted(LAYERS))}")  # fmt: skip
    config: dict[str, Any] = {k: layer_from_spec(v) if isinstance(v, dict) and "class_name" in v else v
                              for k, v in raw.get("config", {}).items()}  # fmt: skip
    layer_class: Any = LAYERS[name]
    try:
        return layer_class(**config)  # type: ignore[no-any-return]
    except TypeError as err:
        raise UserError(f"the model spec gives {name} arguments it does not take ({err})") from None


def network_spec(network: Network) -> dict[str, Any]:
    """The network as JSON: layers in order (Sequential) or the graph's edges (functional)."""
    if network.input_shape is None:
        raise UserError("the model's input shape is unknown, so it cannot be saved yet",
                        hint="give the first layer input_shape=(...), or fit it once")  # fmt: skip
    spec: dict[str, Any] = {
        "format": SPEC_FORMAT,
        "input_shape": list(network.input_shape),
        "input_dtype": network.input_dtype,
    }
    if isinstance(network, FunctionalNetwork):
        index = {id(node): i for i, node in enumerate(network.nodes)}
        spec["class_name"] = "Model"
        spec["nodes"] = [
            {"layer": layer_spec(node.layer), "parents": [index[id(p)] for p in node.parents]}
            for node in network.nodes[1:]
        ]
    else:
        spec["class_name"] = "Sequential"
        spec["layers"] = [layer_spec(layer) for layer in network.ordered_layers()]
    return spec


def network_from_spec(
    spec: Any,
    sequential: type[SequentialNetwork] = SequentialNetwork,
    functional: type[FunctionalNetwork] = FunctionalNetwork,
) -> Network:
    """Rebuild (and build, so the weights exist) the network a spec describes."""
    if not isinstance(spec, dict) or spec.get("format") != SPEC_FORMAT:
        raise UserError(
            f"not a neuralab.keras model spec (format {str(spec.get('format') if isinstance(spec, dict) else None)!r})"
        )
    try:
        shape = tuple(int(s) for s in spec["input_shape"])
        if spec["class_name"] == "Sequential":
            network = sequential([layer_from_spec(raw) for raw in spec["layers"]])
            network.build_for(shape)
            return network
        if spec["class_name"] == "Model":
            tensors: list[KerasTensor] = [Input(shape, dtype=str(spec.get("input_dtype", "float32")))]
            for node in spec["nodes"]:
                parents = [tensors[int(i)] for i in node["parents"]]
                layer = layer_from_spec(node["layer"])
                tensors.append(layer(parents if len(parents) > 1 or hasattr(layer, "build_many") else parents[0]))
            return functional(tensors[0], tensors[-1])
    except (KeyError, TypeError, ValueError, IndexError, RuntimeError) as err:  # RuntimeError: torch's, e.g. units < 0
        raise UserError(f"the model spec is malformed ({type(err).__name__}: {err})") from None
    raise UserError(f"the model spec's class_name must be Sequential or Model, not {spec.get('class_name')!r}")
