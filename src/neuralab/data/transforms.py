"""The preprocessing a model was trained with, saved in model.json so predict and serve repeat it exactly."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import torch
from PIL import Image
from torchvision.transforms.v2 import functional as F

from neuralab.errors import UserError


@dataclass(frozen=True)
class Preprocess:
    """How raw inputs become the float tensor the model sees.

    kind "image": uint8 [C, H, W] scaled by 1/255, then (x - mean) / std per channel.
    kind "vector": float features [F], then (x - mean) / std per feature.
    kind "sequence": float steps [T, F], then (x - mean) / std per feature (the last axis).
    kind "text": token ids [maxlen] from the tokenizer in `extra["tokenizer"]`, passed through.
    `extra["dtype"] == "int64"`: the inputs are already token ids (a model saved from Python), passed through.
    """

    kind: Literal["image", "vector", "sequence", "text"]
    input_shape: tuple[int, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    scale: float = 1.0 / 255.0
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.mean) != len(self.std):
            raise ValueError("mean and std must have the same length")

    @property
    def channels(self) -> int:
        return self.input_shape[0] if self.kind == "image" else 1

    def _stats(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        shape = {"image": (1, -1, 1, 1), "sequence": (1, 1, -1)}.get(self.kind, (1, -1))
        mean = torch.tensor(self.mean, dtype=torch.float32, device=x.device).view(shape)
        std = torch.tensor(self.std, dtype=torch.float32, device=x.device).view(shape)
        return mean, std

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """Raw batch (uint8 images or float features) -> normalised float32 batch (token ids stay ids)."""
        if self.kind == "text" or self.extra.get("dtype") == "int64":
            return x.long()
        mean, std = self._stats(x)
        return (x.to(torch.float32) * self.scale - mean) / std

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Preprocess:
        """The preprocessing model.json records, checked: a run folder may come from anyone, and a zero
        std or a wrong-length mean would otherwise answer NaN or fail inside every prediction.
        Raises ValueError naming the field."""
        if not isinstance(raw, dict):
            raise ValueError(f"`preprocess` must be an object, not {type(raw).__name__}")
        kind = raw.get("kind")
        if kind not in _KINDS:
            raise ValueError(f"`preprocess.kind` must be one of {', '.join(_KINDS)}, not {str(kind)[:40]!r}")
        shape = _sizes(raw.get("input_shape"), "input_shape")
        if not 1 <= len(shape) <= 4 or (kind == "image" and len(shape) != 3):
            raise ValueError(f"`preprocess.input_shape` {list(shape)} does not fit {kind} inputs")
        if int(np.prod(shape, dtype=np.float64)) > MAX_INPUT_VALUES:
            raise ValueError(f"`preprocess.input_shape` {list(shape)} is over {MAX_INPUT_VALUES:,} values an input")
        mean, std = _numbers(raw.get("mean"), "mean"), _numbers(raw.get("std"), "std")
        ids_in = kind == "text" or (isinstance(raw.get("extra"), dict) and raw["extra"].get("dtype") == "int64")
        per = shape[0] if kind == "image" else shape[-1]
        if not ids_in and (len(mean) != len(std) or len(mean) not in {1, per}):
            wanted = " or ".join(str(n) for n in sorted({1, per}))
            raise ValueError(f"`preprocess.mean` and `std` need {wanted} values each, not {len(mean)} and {len(std)}")
        if any(v <= 0 for v in std):
            raise ValueError("`preprocess.std` must be positive: inputs are divided by it")
        scale = raw.get("scale", 1.0 / 255.0)
        if isinstance(scale, bool) or not isinstance(scale, int | float) or not 0 < scale <= 1:
            raise ValueError(f"`preprocess.scale` must be a number in (0, 1], not {str(scale)[:40]}")
        extra = raw.get("extra", {})
        if not isinstance(extra, dict):
            raise ValueError("`preprocess.extra` must be an object")
        return cls(kind=kind, input_shape=shape, mean=mean, std=std, scale=float(scale), extra=dict(extra))

    def image_to_uint8(self, image: Image.Image) -> torch.Tensor:
        """Any PIL image -> uint8 [C, H, W] in the colour mode and size the model was trained on."""
        if self.kind != "image":
            raise UserError("this model takes feature vectors, not images")
        channels, height, width = self.input_shape
        return pil_to_uint8(image, channels, (height, width))


_KINDS = ("image", "vector", "sequence", "text")
# An input of a model saved by neuralab is at most an image of a few megapixels; a tampered model.json
# asking for more would have predict and serve allocate it for every request.
MAX_INPUT_VALUES = 1 << 26


def _sizes(value: Any, name: str) -> tuple[int, ...]:
    if not isinstance(value, list | tuple) or not all(type(v) is int and v >= 1 for v in value):
        raise ValueError(f"`preprocess.{name}` must be a list of positive whole numbers, not {str(value)[:40]}")
    return tuple(value)


def _numbers(value: Any, name: str) -> tuple[float, ...]:
    ok = isinstance(value, list | tuple) and all(
        isinstance(v, int | float) and not isinstance(v, bool) and np.isfinite(v) for v in value
    )
    if not ok:
        raise ValueError(f"`preprocess.{name}` must be a list of finite numbers, not {str(value)[:40]}")
    return tuple(float(v) for v in value)


def pil_to_uint8(image: Image.Image, channels: int, size: tuple[int, int]) -> torch.Tensor:
    """The one image conversion used by training folders, predict and serve, so all three agree."""
    image = image.convert("L" if channels == 1 else "RGB")
    array = np.asarray(image, dtype=np.uint8)
    tensor = torch.from_numpy(array[None, :, :].copy() if array.ndim == 2 else array.transpose(2, 0, 1).copy())
    if tuple(tensor.shape[1:]) != size:
        tensor = F.resize(tensor, list(size), antialias=True)
    return tensor


def channel_stats(x: torch.Tensor, scale: float) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel (images) or per-feature (vectors) mean and std of a training set, computed in chunks."""
    dims = [0, 2, 3] if x.ndim == 4 else [0]
    count = 0
    total = torch.zeros(x.shape[1], dtype=torch.float64)
    total_sq = torch.zeros(x.shape[1], dtype=torch.float64)
    for start in range(0, len(x), 4096):
        chunk = x[start : start + 4096].to(torch.float64) * scale
        total += chunk.sum(dim=dims)
        total_sq += (chunk**2).sum(dim=dims)
        count += chunk.numel() // x.shape[1]
    mean = total / max(count, 1)
    std = (total_sq / max(count, 1) - mean**2).clamp_min(1e-12).sqrt().clamp_min(1e-6)
    return tuple(float(v) for v in mean), tuple(float(v) for v in std)
