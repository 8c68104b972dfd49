"""Export a run's model to ONNX or TorchScript, and prove the copy computes what the original does.

The parity check feeds the same normalised batch to both and reports the largest absolute
difference in logits; an export that disagrees beyond `tolerance` is deleted, never left behind.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from neuralab.data.transforms import Preprocess
from neuralab.errors import NeuralabError, UserError
from neuralab.model_contract import token_vocabulary
from neuralab.runs import default_file_mode, load_model

Format = Literal["onnx", "torchscript"]
SUFFIX = {"onnx": ".onnx", "torchscript": ".torchscript.pt"}


@dataclass(frozen=True)
class ExportResult:
    path: Path
    format: str
    exporter: str
    max_abs_diff: float
    parity_batch: int


def sample_batch(preprocess: Preprocess, n: int, seed: int = 0, vocab_size: int | None = None) -> torch.Tensor:
    """Realistic normalised inputs: random uint8 images, standard-normal features, or token ids.

    Integer inputs without a tokenizer (a Keras model fed id arrays) take ids below `vocab_size`,
    the model's embedding size.
    """
    gen = torch.Generator().manual_seed(seed)
    shape = (n, *preprocess.input_shape)
    if preprocess.kind == "image":
        raw = torch.randint(0, 256, shape, generator=gen, dtype=torch.uint8)
        return preprocess.normalize(raw)
    ids_below = preprocess.extra.get("vocab_size") if preprocess.kind == "text" else None
    if ids_below is None and preprocess.extra.get("dtype") == "int64":
        ids_below = vocab_size
    if ids_below is not None:  # token ids with repeats (OOV included), post-padded to varied lengths
        ids = torch.randint(1, int(ids_below), shape, generator=gen)
        ids[:, 1::3] = ids[:, ::3][:, : ids[:, 1::3].shape[1]]
        lengths = torch.randint(1, shape[1] + 1, (n, 1), generator=gen)
        return ids.masked_fill(torch.arange(shape[1]) >= lengths, 0)
    return torch.randn(shape, generator=gen)


def _export_onnx(model: nn.Module, example: torch.Tensor, path: Path) -> str:
    """torch.export-based exporter first (the maintained one); the TorchScript-based one if it fails."""
    kwargs: dict[str, Any] = {"input_names": ["input"], "output_names": ["logits"], "opset_version": 18}
    try:
        from torch.export import Dim

        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            batch_dim = ({0: Dim("batch")},)
            torch.onnx.export(model, (example,), str(path), dynamo=True, dynamic_shapes=batch_dim,
                              external_data=False, verbose=False, **kwargs)  # fmt: skip
        return "torch.export"
    except Exception as first:  # fall back rather than fail: the legacy exporter covers more old-style modules
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(model, (example,), str(path), dynamo=False,
                                  dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, **kwargs)  # fmt: skip
        except Exception as second:  # both exporters raise their own untyped errors
            reasons = "; ".join(str(err).strip().splitlines()[0] for err in (first, second) if str(err).strip())
            raise UserError(
                f"neither ONNX exporter could convert this model ({type(model).__name__}): {reasons}",
                hint="try --format torchscript, or serve the run folder as it is: neuralab serve RUN_DIR",
            ) from None
        return "torchscript-based"


def _onnx_logits(path: Path, x: torch.Tensor) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return np.asarray(session.run(None, {session.get_inputs()[0].name: x.numpy()})[0])


def _torchscript_logits(path: Path, x: torch.Tensor) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # TorchScript is deprecated in torch >= 2.9, still loadable
        loaded = torch.jit.load(str(path), map_location="cpu")
    with torch.inference_mode():
        return loaded(x).numpy()


def export_run(
    run_dir: Path, fmt: Format, out: Path | None = None, tolerance: float = 1e-4, trust_code: bool = False
) -> ExportResult:
    if fmt not in SUFFIX:
        raise UserError(f"unknown export format {fmt!r}; choose onnx or torchscript")
    model, card = load_model(run_dir, trust_code=trust_code)
    preprocess = Preprocess.from_dict(card["preprocess"])
    target = Path(out) if out else Path(run_dir) / ("model" + SUFFIX[fmt])
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.fchmod(fd, default_file_mode())
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        vocab_size = token_vocabulary(model)
        example = sample_batch(preprocess, 2, vocab_size=vocab_size)
        if fmt == "onnx":
            exporter = _export_onnx(model, example, tmp)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.jit.save(torch.jit.trace(model, example), str(tmp))
            exporter = "torch.jit.trace"
        check = sample_batch(preprocess, 16, seed=1, vocab_size=vocab_size)
        with torch.inference_mode():
            reference = model(check).numpy()
        exported = _onnx_logits(tmp, check) if fmt == "onnx" else _torchscript_logits(tmp, check)
        diff = float(np.abs(exported - reference).max())
        if not diff <= tolerance:
            raise NeuralabError(
                f"the {fmt} export disagrees with the PyTorch model: max abs diff {diff:.3g} > {tolerance}"
            )
        os.replace(tmp, target)
        return ExportResult(target, fmt, exporter, diff, len(check))
    finally:
        tmp.unlink(missing_ok=True)
        for extra in tmp.parent.glob(tmp.name + "*"):  # the onnx exporter may write side files next to it
            extra.unlink(missing_ok=True)


INT8_FILE = "model.int8.onnx"


def quantize_onnx(source: Path, target: Path) -> Path:
    """ONNX Runtime's dynamic int8 quantisation of `source`: weights stored as int8, activations
    quantised per batch at run time (no calibration data needed). Written atomically to `target`."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    if not source.is_file():
        raise UserError(f"{source} does not exist", hint="export it first: neuralab export RUN_DIR --format onnx")
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            logging.disable(logging.WARNING)  # it suggests a pre-processing pass; the parity report judges the result
            try:
                quantize_dynamic(source, tmp, weight_type=QuantType.QInt8)
            finally:
                logging.disable(logging.NOTSET)
        os.chmod(tmp, default_file_mode())
        os.replace(tmp, target)
    except Exception as err:  # onnxruntime raises its own untyped errors
        raise UserError(f"onnxruntime could not quantize {source.name}: {str(err).splitlines()[0]}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return target
