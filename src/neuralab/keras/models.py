"""`Sequential`, the functional `Model(inputs, outputs)` and `load_model`, with Keras's compile / fit /
evaluate / predict / save, trained by neuralab's Trainer.

The networks themselves (layers, forward pass, summary) are `neuralab.models.keras.network`; this
module adds training and saving. `model.save(path)` writes a neuralab run folder (the layers as JSON,
weights in safetensors), which `load_model` and every `neuralab` command read, with no pickle.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from neuralab.errors import UserError
from neuralab.files import load_weights
from neuralab.keras.optimizers import Optimizer, build
from neuralab.models.keras.adapter import KerasAsTorch
from neuralab.models.keras.graph import KerasTensor
from neuralab.models.keras.network import FunctionalNetwork, Network, SequentialNetwork
from neuralab.models.keras.spec import network_from_spec, network_spec
from neuralab.models.sources import KERAS_ARCHITECTURE
from neuralab.records import read_json
from neuralab.runs import check_run_dir, refuse_larger_than_weights
from neuralab.train.callbacks.base import Callback
from neuralab.train.keras_api import ArrayLike, KerasModel
from neuralab.train.run_folder import SavedModel, inferred_preprocess, save_run_folder

KERAS_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy")
_CE = ("categorical_crossentropy", "sparse_categorical_crossentropy")
_MSE = ("mse", "mean_squared_error")


class KerasHistory:
    """What Keras's `fit` returns: `.history` holds Keras's keys only, one value per epoch."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.epoch = list(range(len(rows)))
        self.history = {k: [float(r[k]) for r in rows] for k in KERAS_KEYS if rows and k in rows[0]}


class _Logits(nn.Module):
    """The model without its final softmax: what the loss sees during training."""

    def __init__(self, model: Network) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.run(x, logits=True)


class _Trainable(Network):
    """compile / fit / evaluate / predict / save over neuralab's KerasModel engine."""

    _engine: KerasModel | None = None
    _metrics: list[str] = []  # noqa: RUF012  (replaced per instance by compile)
    _loss_name = ""

    def compile(self, optimizer: str | Optimizer = "rmsprop", loss: str = "sparse_categorical_crossentropy",
                metrics: Sequence[str] = ()) -> None:  # fmt: skip
        """Keras's defaults: RMSprop; `loss` by name; metrics: accuracy."""
        layers = self.ordered_layers()
        if not layers or not all(layer.built for layer in layers):
            raise UserError("the model's input shape is unknown, so its weights do not exist yet",
                            hint="give the first layer input_shape=(...), or begin with Input(shape=...)")  # fmt: skip
        name = loss if isinstance(loss, str) else getattr(loss, "name", "")
        if name not in (*_CE, *_MSE):
            raise UserError(f"unknown loss {loss!r}", hint=f"choose one of: {', '.join((*_CE, *_MSE))}")
        from_logits = bool(getattr(loss, "from_logits", False))
        if name in _CE and not self.ends_in_softmax() and not from_logits:
            raise UserError(f"{name} on outputs that are not a softmax needs from_logits=True",
                            hint="end the model with Dense(n, activation='softmax'), or use "
                                 "losses.SparseCategoricalCrossentropy(from_logits=True)")  # fmt: skip
        trained: nn.Module = _Logits(self) if name in _CE and self.ends_in_softmax() else self
        self._engine = KerasModel(trained)
        self._metrics = [m for m in metrics if m in ("accuracy", "acc")]
        opt = optimizer if isinstance(optimizer, Optimizer) else Optimizer(str(optimizer))
        self._engine.compile(build(opt, trained), "mse" if name in _MSE else "cross_entropy", self._metrics)
        self._loss_name = name

    def _require(self) -> KerasModel:
        if self._engine is None:
            raise UserError("call model.compile(...) before fit, evaluate or predict")
        return self._engine

    def fit(self, x: ArrayLike, y: ArrayLike, batch_size: int | None = 32, epochs: int = 1, verbose: Any = "auto",
            callbacks: Sequence[Callback] = (), validation_split: float = 0.0,
            validation_data: tuple[ArrayLike, ArrayLike] | None = None, shuffle: bool = True,
            class_weight: dict[int, float] | None = None) -> KerasHistory:  # fmt: skip
        """Keras's fit; returns a History whose `.history` has loss, accuracy, val_loss, val_accuracy."""
        engine = self._require()
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int)
                                       or batch_size < 1):  # fmt: skip
            raise UserError(f"batch_size must be a positive whole number, got {batch_size!r}")
        if not 0 <= validation_split < 1:
            raise UserError(f"validation_split is the share of x held out, in [0, 1); got {validation_split}")
        self._check_examples(x, y, "fit")
        if validation_data is not None:
            self._check_examples(*validation_data, "fit's validation_data")
        history = engine.fit(x, y, epochs=epochs, batch_size=batch_size or 32, callbacks=callbacks,
                             validation_split=validation_split, validation_data=validation_data, shuffle=shuffle,
                             class_weight=class_weight, verbose=1 if verbose == "auto" else verbose)  # fmt: skip
        return KerasHistory(history.rows)

    def evaluate(self, x: ArrayLike, y: ArrayLike, batch_size: int | None = None, verbose: Any = "auto") -> Any:
        """[loss, accuracy] with metrics, the loss alone without (Keras's return value)."""
        engine = self._require()
        self._check_examples(x, y, "evaluate")
        values = engine.evaluate(x, y, batch_size=batch_size or 1024)
        return values if engine.classification and self._metrics else values[0]

    def predict(self, x: ArrayLike, batch_size: int | None = None, verbose: Any = "auto") -> np.ndarray:
        """The model's outputs as NumPy: probabilities when it ends in a softmax."""
        self._check_inputs(x, "predict")
        was_training = self.training
        self.eval()
        outputs = []
        tensor = torch.as_tensor(np.asarray(x))
        tensor = tensor.long() if not tensor.is_floating_point() and tensor.dtype != torch.uint8 else tensor.float()
        with torch.inference_mode():
            for start in range(0, len(tensor), batch_size or 1024):
                outputs.append(self(tensor[start : start + (batch_size or 1024)]).float())
        self.train(was_training)
        return torch.cat(outputs).numpy()

    def _check_inputs(self, x: ArrayLike, where: str) -> np.ndarray:
        """Keras's own refusal of inputs that do not match the model, instead of torch's matrix-size error."""
        array = np.asarray(x)
        expected = tuple(self.input_shape or ())
        if array.ndim == 0 or len(array) == 0:
            raise UserError(f"{where}: x holds no examples")
        if array.dtype.kind not in "biuf":
            raise UserError(f"{where}: x must hold numbers, not {array.dtype} values")
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise UserError(f"{where}: x holds {int((~np.isfinite(array)).sum())} NaN or infinite values",
                            hint="fill or drop them first: training on them gives a NaN loss")  # fmt: skip
        got = tuple(array.shape[1:])
        mismatch = len(got) != len(expected) or any(e not in (None, g) for e, g in zip(expected, got, strict=False))
        if self.input_shape is not None and mismatch:
            shown = ", ".join("None" if e is None else str(e) for e in expected)
            raise UserError(f"{where}: the model takes inputs shaped (None, {shown}); x is shaped {array.shape}",
                            hint="reshape x, or give the first layer the input_shape of your data")  # fmt: skip
        return array

    def _check_examples(self, x: ArrayLike, y: ArrayLike, where: str) -> None:
        """Inputs as `_check_inputs`; class labels that the loss can read and the outputs can hold."""
        self._check_inputs(x, where)
        labels = np.asarray(y)
        if self._loss_name not in _CE:
            return
        outputs = int((self.ordered_layers()[-1].output_shape or (0,))[-1])
        if labels.dtype.kind not in "biuf":
            raise UserError(f"{where}: y holds {labels.dtype} values; a classifier takes class ids 0..{outputs - 1}",
                            hint="turn text labels into ids (sklearn's LabelEncoder), or one-hot rows "
                                 "(keras.utils.to_categorical)")  # fmt: skip
        if self._loss_name == "categorical_crossentropy":
            if labels.ndim != 2 or labels.shape[1] != outputs:
                raise UserError(f"{where}: categorical_crossentropy takes one-hot rows of {outputs} (the model's "
                                f"outputs); y is shaped {labels.shape}",
                                hint="to_categorical(y, num_classes), or sparse_categorical_crossentropy "
                                     "for class ids")  # fmt: skip
            return
        ids = labels.reshape(len(labels), -1)
        if ids.shape[1] != 1 or (len(ids) and not np.array_equal(ids, np.round(ids))):
            raise UserError(f"{where}: sparse_categorical_crossentropy takes one whole class id per example; "
                            f"y is shaped {labels.shape}",
                            hint="one-hot rows go with categorical_crossentropy")  # fmt: skip
        if len(ids) and (ids.min() < 0 or ids.max() >= outputs):
            raise UserError(f"{where}: class ids must lie in 0..{outputs - 1} (the model has {outputs} outputs); "
                            f"y holds {ids.min():g}..{ids.max():g}")  # fmt: skip

    def save(self, filepath: str | Path, overwrite: bool = True, classes: Sequence[str] | None = None,
             dataset: str | None = None) -> Path:  # fmt: skip
        """Keras's `model.save`: here a run folder (layers as JSON, safetensors weights, classes,
        preprocessing, metrics.csv) that `load_model` and every `neuralab` command read.

        `classes` names the outputs (default "0", "1", ...); `dataset` (a `neuralab datasets` name)
        lets `neuralab evaluate` reload the data the model was trained on.
        """
        spec = network_spec(self)
        keras_shape = tuple(self.input_shape or ())
        integer = self.input_dtype.startswith("int")
        image = not integer and (len(keras_shape) == 3 or (len(keras_shape) == 2 and _starts_flat(self)))
        kind = "image" if image else "vector"
        shape = KerasAsTorch.torch_input_shape(keras_shape, kind)
        seen = self._engine.seen_inputs if self._engine is not None else None
        largest = seen[1] if seen is not None else 1.0
        outputs = int((self.ordered_layers()[-1].output_shape or (0,))[-1])
        names = list(classes) if classes is not None else [str(i) for i in range(outputs)]
        if len(names) != outputs:
            raise UserError(f"classes names {len(names)} classes but the model has {outputs} outputs")
        rows = self._engine.history_rows if self._engine is not None else []
        summary = self._engine.run_summary(type(self).__name__, dataset, names) if self._engine is not None else {}
        saved = SavedModel(KerasAsTorch(self), KERAS_ARCHITECTURE, {"spec": spec}, shape, names,
                           inferred_preprocess(shape, kind, largest, integer), dataset, rows, summary)  # fmt: skip
        return save_run_folder(filepath, saved, overwrite)


def _starts_flat(network: Network) -> bool:
    """A [H, W] input read as a grayscale image: the tutorials' `Flatten(input_shape=(28, 28))` MLP."""
    layers = network.ordered_layers()
    return bool(layers) and type(layers[0]).__name__ in ("Flatten", "Reshape")


class Sequential(_Trainable, SequentialNetwork):
    """A stack of layers; the first one's `input_shape=` (or an `Input`) fixes every shape."""

    def __init__(self, layers: Sequence[Any] = (), name: str | None = None) -> None:
        SequentialNetwork.__init__(self, layers, name)
        self._engine, self._metrics = None, []


class Model(_Trainable, FunctionalNetwork):
    """The functional API: `Model(inputs=Input(...), outputs=Dense(...)(...))` (one input, one output)."""

    def __init__(self, inputs: KerasTensor, outputs: KerasTensor, name: str | None = None) -> None:
        FunctionalNetwork.__init__(self, inputs, outputs, name)
        self._engine, self._metrics = None, []


def load_model(filepath: str | Path, compile: bool = True) -> Sequential | Model:
    """Rebuild a model saved by `model.save` from its JSON spec and safetensors weights (no pickle).

    The model comes back uncompiled, as Keras's does after `compile=False`: compile it to train on.
    """
    paths = check_run_dir(Path(filepath))
    card = read_json(paths.model_json)
    if not isinstance(card, dict) or card.get("architecture") != KERAS_ARCHITECTURE:
        raise UserError(f"{filepath} holds a {card.get('architecture') if isinstance(card, dict) else '?'!r} model, "
                        "not one saved from neuralab.keras",
                        hint="load it with neuralab.runs.load_model, or use the neuralab CLI")  # fmt: skip
    spec = (card.get("args") or {}).get("spec")
    refuse_larger_than_weights(lambda: KerasAsTorch(network_from_spec(spec, Sequential, Model)), paths.weights,
                               paths.model_json)  # fmt: skip
    network = network_from_spec(spec, Sequential, Model)
    load_weights(KerasAsTorch(network), paths.weights)
    assert isinstance(network, (Sequential, Model))
    network.eval()
    return network
