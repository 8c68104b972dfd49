"""Untrusted bytes and arrays -> model inputs: conversions match training, bad input names its problem."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from neuralab.data.transforms import Preprocess
from neuralab.serve.inputs import InputError, InputLimits, array_to_tensor, decode_base64, decode_image

GRAY = Preprocess("image", (1, 28, 28), (0.5,), (0.25,))
RGB = Preprocess("image", (3, 32, 32), (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))
VECTOR = Preprocess("vector", (4,), (0.0,) * 4, (1.0,) * 4, scale=1.0)
LIMITS = InputLimits(max_pixels=1_000_000)


def encode(image: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt)
    return buf.getvalue()


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "P", "1", "I;16", "CMYK"])
def test_any_colour_mode_and_size_becomes_the_trained_shape(mode: str) -> None:
    image = Image.new(mode, (50, 17))
    fmt = "TIFF" if mode == "CMYK" else "PNG"
    assert decode_image(encode(image, fmt), GRAY, LIMITS).shape == (1, 28, 28)
    assert decode_image(encode(image, fmt), RGB, LIMITS).shape == (3, 32, 32)


def test_decoding_equals_the_training_conversion() -> None:
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8))
    expected = GRAY.image_to_uint8(image)
    assert torch.equal(decode_image(encode(image), GRAY, LIMITS), expected)
    jpeg = decode_image(encode(image, "JPEG"), GRAY, LIMITS)
    assert jpeg.dtype == torch.uint8 and jpeg.shape == expected.shape


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (b"", 400, "empty_file"),
        (b"hello, this is text", 415, "not_an_image"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, 415, "not_an_image"),  # a PNG signature, then garbage
    ],
)
def test_bad_bytes(data: bytes, status: int, code: str | None) -> None:
    with pytest.raises(InputError) as info:
        decode_image(data, GRAY, LIMITS)
    assert info.value.status_code == status
    assert code is None or info.value.code == code


def test_truncated_and_oversized_images() -> None:
    png = encode(Image.fromarray(np.random.default_rng(1).integers(0, 256, (64, 64), dtype=np.uint8)))
    with pytest.raises(InputError, match="truncated or corrupt"):
        decode_image(png[: len(png) - 200], GRAY, LIMITS)
    with pytest.raises(InputError, match=r"2000x1000 = 2\.0 megapixels") as info:
        decode_image(encode(Image.new("L", (2000, 1000))), GRAY, LIMITS)
    assert info.value.status_code == 413


def test_vector_models_refuse_images_and_check_arrays() -> None:
    with pytest.raises(InputError, match="takes vectors, not images"):
        decode_image(encode(Image.new("L", (4, 4))), VECTOR, LIMITS)
    assert array_to_tensor([1, 2, 3, 4], VECTOR).dtype == torch.float32
    for bad, message in [([1, 2, 3], "expects"), ([1, "a", 3, 4], "numbers"), ([1, float("inf"), 3, 4], "finite"),
                         ([], "non-empty"), ([[1, 2], [3]], "rectangular")]:  # fmt: skip
        with pytest.raises(InputError, match=message):
            array_to_tensor(bad, VECTOR)


def test_image_arrays_and_base64() -> None:
    assert array_to_tensor(np.full((28, 28), 7).tolist(), GRAY).dtype == torch.uint8
    with pytest.raises(InputError, match=r"0\.\.255"):
        array_to_tensor(np.full((28, 28), 256).tolist(), GRAY)
    with pytest.raises(InputError, match=r"\[1, 28, 28\]"):
        array_to_tensor(np.zeros((28, 27)).tolist(), GRAY)
    assert decode_base64("aGk=", LIMITS) == b"hi"
    assert decode_base64("data:image/png;base64,aGk=", LIMITS) == b"hi"
    with pytest.raises(InputError, match="base64"):
        decode_base64("a!b", LIMITS)
