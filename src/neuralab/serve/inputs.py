"""Untrusted request bytes -> the tensor a model expects, or an InputError that says what was wrong.

Everything here assumes hostile input: images go through the one shared decoder
(`neuralab.data.images`: pixel count checked from the header, truncated files refused), and numbers
must be finite and of the trained shape.
"""

from __future__ import annotations

import base64
import binascii
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from neuralab.data.images import ImageDecodeError
from neuralab.data.images import decode_image as decode_image_bytes
from neuralab.data.text import Tokenizer, encode
from neuralab.data.transforms import Preprocess


class InputError(Exception):
    """Bad client input; becomes a 4xx JSON response with this message."""

    def __init__(self, message: str, status_code: int = 422, code: str = "invalid_input") -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.code = code


@dataclass(frozen=True)
class InputLimits:
    max_body_bytes: int = 8 * 1024 * 1024
    max_pixels: int = 25_000_000
    max_batch_items: int = 256
    max_text_chars: int = 20_000


def decode_image(data: bytes, preprocess: Preprocess, limits: InputLimits) -> torch.Tensor:
    """Image file bytes (any format PIL reads, any colour mode and size) -> uint8 [C, H, W]."""
    if preprocess.kind != "image":
        wanted = "{'text': '...'}" if preprocess.kind == "text" else "{'array': [...]}"
        raise InputError(f"this model takes {preprocess.kind}s, not images; send JSON {wanted}", 415, "wrong_input")
    try:
        image = decode_image_bytes(data, limits.max_pixels)
    except ImageDecodeError as err:
        raise InputError(err.message, err.status, err.code) from None
    with image:
        return preprocess.image_to_uint8(image)


def decode_base64(text: str, limits: InputLimits) -> bytes:
    if "," in text[:100] and text.startswith("data:"):
        text = text.split(",", 1)[1]
    if len(text) > limits.max_body_bytes * 4 // 3 + 4:
        raise InputError("the base64 image is larger than the body limit", 413, "body_too_large")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as err:
        raise InputError(f"'image_base64' is not valid base64 ({err})", 422, "bad_base64") from None


def text_to_tensor(text: str, preprocess: Preprocess, tokenizer: Tokenizer | None, limits: InputLimits) -> torch.Tensor:
    """A text -> token ids [maxlen] with the run's own tokenizer (unknown words become OOV)."""
    if preprocess.kind != "text" or tokenizer is None:
        raise InputError(f"this model takes {preprocess.kind}s, not text", 415, "wrong_input")
    if len(text) > limits.max_text_chars:
        raise InputError(
            f"the text has {len(text)} characters; the limit is {limits.max_text_chars}", 413, "text_too_long"
        )
    if not text.strip():
        raise InputError("the text is empty", 422, "empty_text")
    return encode(tokenizer, [text], preprocess.input_shape[0])[0]


def array_to_tensor(values: Any, preprocess: Preprocess, id_limit: int | None = None) -> torch.Tensor:
    """A JSON numeric array -> one raw input the model's preprocessing accepts.

    Images: pixel values 0-255 shaped [C, H, W] (or [H, W] for one channel).
    Vectors: [features] as given to training, before normalisation; token ids (a model trained on
    integer arrays) must be whole numbers below `id_limit`, the size of the model's vocabulary.
    """
    try:
        array = np.asarray(values, dtype=np.float64)
    except OverflowError:  # JSON integers have no size limit; float64 does
        raise InputError("'array' holds a number too large for float64") from None
    except (ValueError, TypeError):
        raise InputError(
            "'array' must be a rectangular array of numbers (found ragged or non-numeric values)"
        ) from None
    if array.dtype == object or array.size == 0:
        raise InputError("'array' must be a non-empty rectangular array of numbers")
    if not np.isfinite(array).all():
        bad = int((~np.isfinite(array)).sum())
        raise InputError(f"'array' holds {bad} NaN or infinite value(s); every value must be finite")
    expected = tuple(preprocess.input_shape)
    if preprocess.kind == "text":
        raise InputError("this model takes text; send JSON {'text': '...'}", 415, "wrong_input")
    if preprocess.kind == "image":
        if array.ndim == 2 and expected[0] == 1:
            array = array[None]
        if array.shape != expected:
            raise InputError(
                f"'array' has shape {list(array.shape)}; this model expects pixels shaped {list(expected)}"
            )
        if array.min() < 0 or array.max() > 255:
            raise InputError("image pixel values must lie in 0..255")
        return torch.from_numpy(np.rint(array).astype(np.uint8))
    if array.shape != expected:
        raise InputError(f"'array' has shape {list(array.shape)}; this model expects {list(expected)} features")
    if np.abs(array).max() > 3.0e38:
        raise InputError("'array' holds values too large for float32")
    if preprocess.extra.get("dtype") == "int64":
        if not (array == np.rint(array)).all():
            raise InputError("this model takes token ids: every value must be a whole number")
        if array.min() < 0 or (id_limit is not None and array.max() >= id_limit):
            top = f"{id_limit - 1}" if id_limit is not None else "the vocabulary's size"
            raise InputError(f"token ids must lie in 0..{top} (0 is padding); got {array.min():g}..{array.max():g}")
    return torch.from_numpy(array.astype(np.float32))


def finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None
