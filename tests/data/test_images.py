"""The one image decoder: pixel limits from the header, corrupt data refused, no global warning state."""

from __future__ import annotations

import io
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from neuralab.data.images import ImageDecodeError, check_image_header, decode_image, decode_image_file


def png_bytes(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (width, height), 128).save(buffer, format="PNG")
    return buffer.getvalue()


def test_decodes_any_mode_and_refuses_oversized_headers_before_decoding() -> None:
    assert decode_image(png_bytes(30, 20)).size == (30, 20)
    with pytest.raises(ImageDecodeError, match="megapixels") as err:
        decode_image(png_bytes(30, 20), max_pixels=500)
    assert (err.value.status, err.value.code) == (413, "image_too_large")


@pytest.mark.parametrize(
    ("data", "code"),
    [(b"", "empty_file"), (b"not an image at all", "not_an_image"), (png_bytes(40, 40)[:60], "corrupt_image")],
    ids=["empty", "random", "truncated"],
)
def test_bad_bytes_get_a_named_error(data: bytes, code: str) -> None:
    with pytest.raises(ImageDecodeError) as err:
        decode_image(data)
    assert err.value.code == code


def test_pils_bomb_warning_raised_as_an_error_elsewhere_is_still_a_413(monkeypatch: pytest.MonkeyPatch) -> None:
    """Another thread (or library) may turn PIL's DecompressionBombWarning into an exception: the decoder
    must answer 413, not crash, and must not itself touch the process-wide warning filters."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # so a 40x40 image trips PIL's own check
    filters_before = list(warnings.filters)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with pytest.raises(ImageDecodeError) as err:
            decode_image(png_bytes(40, 40), max_pixels=10**6)
    assert err.value.status == 413
    assert list(warnings.filters) == filters_before

    results: list[str] = []

    def decode_many() -> None:
        for _ in range(50):
            try:
                decode_image(png_bytes(40, 40), max_pixels=10**6)
                results.append("ok")
            except ImageDecodeError as error:
                results.append(error.code)

    threads = [threading.Thread(target=decode_many) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 200 and set(results) <= {"ok", "image_too_large"}


def test_files_are_named_in_errors(tmp_path: Path) -> None:
    with pytest.raises(ImageDecodeError, match="no such file"):
        decode_image_file(tmp_path / "missing.png")
    with pytest.raises(ImageDecodeError, match=r": a folder, not an image file$"):  # was "the image header is corrupt"
        decode_image_file(tmp_path)
    big = tmp_path / "big.png"
    big.write_bytes(png_bytes(100, 100))
    with pytest.raises(ImageDecodeError, match=r"big\.png"):
        check_image_header(big, max_pixels=50)
    rgb = tmp_path / "rgb.png"
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(rgb)
    assert check_image_header(rgb) == "RGB"
