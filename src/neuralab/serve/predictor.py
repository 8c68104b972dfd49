"""A trained run, loaded once, answering batches of raw inputs with class probabilities.

The torch backend rebuilds the model from safetensors + model.json; the onnx backend runs the
exported graph in onnxruntime. Both normalise exactly as training did (`Preprocess` from model.json).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neuralab.data.series import SeriesScaler
from neuralab.data.table import TableEncoder, TargetScaler
from neuralab.data.text import Tokenizer
from neuralab.data.transforms import Preprocess
from neuralab.errors import UserError
from neuralab.hardware import cpu_bf16_units
from neuralab.model_contract import has_conv, token_vocabulary
from neuralab.records import read_summary
from neuralab.runs import load_model
from neuralab.serve.settings import Backend, Precision


@dataclass(frozen=True)
class Prediction:
    index: int
    label: str
    probability: float
    top: list[dict[str, Any]]


class Predictor:
    """Loads once; `predict_proba` takes a list of raw inputs of one shape and returns [N, classes]."""

    def __init__(
        self, run_dir: Path, backend: Backend = "torch", trust_code: bool = False, precision: Precision = "32"
    ) -> None:
        self.run_dir = Path(run_dir)
        self.backend = backend
        self.bf16 = check_precision(precision, backend)
        self.model, self.card = load_model(self.run_dir, trust_code=trust_code)
        self.preprocess = Preprocess.from_dict(self.card["preprocess"])
        # A model fed integer ids (a Keras text model) accepts ids below its embedding's size, no others.
        ids_in = self.preprocess.extra.get("dtype") == "int64"
        self.id_limit = token_vocabulary(self.model) if ids_in else None
        self.classes: list[str] = list(self.card["classes"])
        self.tokenizer = (
            Tokenizer.from_dict(self.preprocess.extra["tokenizer"]) if self.preprocess.kind == "text" else None
        )
        self.task: str = self.card.get("task", "classify")
        self.table: TableEncoder | None = None
        self.target: TargetScaler | None = None
        self.series: SeriesScaler | None = None
        if self.task == "regress":
            self.table = TableEncoder.from_dict(self.preprocess.extra["table"])
        if self.task == "forecast":
            self.series = SeriesScaler.from_dict(self.preprocess.extra["series"])
        if self.task in ("regress", "forecast"):
            self.target = TargetScaler.from_dict(self.preprocess.extra["target"])
        self.test_metrics = _test_metrics(self.run_dir / "summary.json")
        self._session: Any = None
        # channels_last measured 1.7x on a batch of 32 28x28 images (fp32, exact same results)
        self._channels_last = self.preprocess.kind == "image" and has_conv(self.model)
        if self._channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        if backend in ("onnx", "onnx-int8"):
            self._session = _onnx_session(self.run_dir, "model.int8.onnx" if backend == "onnx-int8" else "model.onnx")
        elif backend != "torch":
            raise UserError(f"unknown backend {backend!r}; choose torch, onnx or onnx-int8")

    def _outputs(self, inputs: list[torch.Tensor]) -> np.ndarray:
        x = self.preprocess.normalize(torch.stack(inputs))
        if self._session is not None:
            return np.asarray(self._session.run(None, {self._session.get_inputs()[0].name: x.numpy()})[0], np.float64)
        if self._channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode(), torch.autocast("cpu", torch.bfloat16, enabled=self.bf16):
            return self.model(x).double().numpy()

    def predict_proba(self, inputs: list[torch.Tensor]) -> np.ndarray:
        """Class probabilities [N, classes] (classifiers)."""
        return _softmax(self._outputs(inputs)).astype(np.float32)

    def predict_values(self, inputs: list[torch.Tensor]) -> np.ndarray:
        """Predicted values [N, targets] in the targets' units (regression models)."""
        assert self.target is not None
        return self.target.unscale(self._outputs(inputs))

    def predict_batch(self, inputs: list[torch.Tensor]) -> np.ndarray:
        """What this model answers: probabilities for a classifier, values for a regression."""
        return self.predict_values(inputs) if self.target is not None else self.predict_proba(inputs)

    def warm_up_inputs(self, max_batch: int) -> list[list[torch.Tensor]]:
        """Zero inputs in the batch sizes requests will bring (a new shape costs oneDNN a few ms once):
        every size up to 64, then powers of two and `max_batch` itself, so that a large --max-batch does
        not hold the server's start for minutes."""
        dtype = {"image": torch.uint8, "text": torch.long}.get(self.preprocess.kind, torch.float32)
        zero = torch.zeros(self.preprocess.input_shape, dtype=dtype)
        sizes = sorted({*range(1, min(max_batch, 64) + 1), *(1 << k for k in range(max_batch.bit_length())), max_batch})
        return [[zero] * n for n in sizes if n <= max_batch]

    def top_k(self, probs: np.ndarray, k: int) -> list[Prediction]:
        k = max(1, min(k, len(self.classes)))
        order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
        out = []
        for row, idx in zip(probs, order, strict=True):
            top = [{"class": self.classes[int(i)], "index": int(i), "probability": float(row[i])} for i in idx]
            out.append(Prediction(int(idx[0]), self.classes[int(idx[0])], float(row[idx[0]]), top))
        return out

    def value_rows(self, values: np.ndarray) -> list[dict[str, float]]:
        assert self.target is not None
        return [dict(zip(self.target.names, (float(v) for v in row), strict=True)) for row in values]

    def metadata(self) -> dict[str, Any]:
        if self.series is not None and self.target is not None:
            window = int(self.preprocess.extra["window"])
            return {
                "run": self.run_dir.name, "architecture": self.card["architecture"], "backend": self.backend,
                "task": "forecast", "targets": self.target.names,
                "input": {"kind": "series", "series": self.series.columns, "window": window,
                          "accepts": [f"application/json {{'history': [...]}}: at least the last {window} steps, "
                                      "one number per step (or one list per step with a value for each series)"]},
                "test_metrics": {k: self.test_metrics.get(k) for k in ("mae", "rmse", "mase")},
            }  # fmt: skip
        if self.table is not None and self.target is not None:
            return {
                "run": self.run_dir.name,
                "architecture": self.card["architecture"],
                "backend": self.backend,
                "task": "regress",
                "targets": self.target.names,
                "input": {
                    "kind": "table",
                    "columns": [
                        {
                            "name": c.name,
                            "kind": c.kind,
                            **({"categories": c.categories} if c.kind == "categorical" else {}),
                        }
                        for c in self.table.columns
                    ],
                    "accepts": [
                        "application/json {'rows': [{column: value, ...}, ...]} (or 'row': {...}); "
                        "a missing value is filled with the training median, an unseen category is "
                        "encoded as none and named in the response"
                    ],
                },
                "test_metrics": {k: self.test_metrics.get(k) for k in ("rmse", "mae", "r2")},
            }
        return {
            "run": self.run_dir.name,
            "architecture": self.card["architecture"],
            "backend": self.backend,
            "classes": self.classes,
            "input": {
                "kind": self.preprocess.kind,
                "shape": list(self.preprocess.input_shape),
                "accepts": _accepted_inputs(self.preprocess),
            },
            "preprocess": _public(self.preprocess.to_dict()),
            "test_metrics": {k: self.test_metrics.get(k) for k in ("accuracy", "macro_f1")},
        }


def _test_metrics(summary_path: Path) -> dict[str, Any]:
    """The run's test metrics for /metadata (none for a run never tested), read and checked once at start."""
    summary = read_summary(summary_path) if summary_path.exists() else {}
    return summary.get("test") or {}


def _public(preprocess: dict[str, Any]) -> dict[str, Any]:
    """The preprocessing a client needs to know: the tokenizer's settings, not its whole vocabulary."""
    extra = dict(preprocess.get("extra", {}))
    if "tokenizer" in extra:
        extra["tokenizer"] = {k: v for k, v in extra["tokenizer"].items() if k != "word_index"}
    return {**preprocess, "extra": extra}


def _accepted_inputs(preprocess: Preprocess) -> list[str]:
    if preprocess.kind == "image":
        channels, height, width = preprocess.input_shape
        mode = "grayscale" if channels == 1 else "RGB"
        return [
            f"multipart/form-data field 'file': any image; converted to {mode} {width}x{height} as in training",
            "application/json {'image_base64': '...'}",
            f"application/json {{'array': pixel values 0..255 shaped {list(preprocess.input_shape)}}}",
        ]
    if preprocess.kind == "text":
        return ["application/json {'text': '...'}; tokenised as in training"]
    return [f"application/json {{'array': {list(preprocess.input_shape)} raw feature values}}"]


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def check_precision(precision: str, backend: str) -> bool:
    """True for bf16, which is offered only where the CPU computes it natively (elsewhere it is emulated, slower)."""
    if precision == "32":
        return False
    if precision != "bf16":
        raise UserError(f"unknown precision {precision!r}; choose 32 or bf16")
    if backend != "torch":
        raise UserError("--precision bf16 runs the PyTorch model; the onnx backends run their own graph")
    if cpu_bf16_units() is None:
        raise UserError("this CPU has no native bf16 arithmetic (AMX or AVX512-BF16): bf16 would be emulated and "
                        "slower than fp32", hint="leave --precision at 32")  # fmt: skip
    return True


def _onnx_session(run_dir: Path, file: str) -> Any:
    import onnxruntime as ort

    path = run_dir / file
    if not path.is_file():
        quantize = " --quantize int8" if "int8" in file else ""
        raise UserError(f"{path} does not exist",
                        hint=f"export it first: neuralab export {run_dir} --format onnx{quantize}")  # fmt: skip
    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as err:  # onnxruntime raises its own untyped errors for bad files
        raise UserError(f"{path}: onnxruntime cannot load it ({str(err).splitlines()[0]})") from None
