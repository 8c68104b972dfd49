from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from neuralab.data import BatchLoader
from neuralab.data.folder import load_image_folder
from neuralab.data.registry import LoadOptions
from neuralab.errors import UserError


def make_folder(root: Path, per_class: int = 6) -> Path:
    rng = np.random.default_rng(0)
    for c, name in enumerate(["cats", "dogs"]):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            size = (20 + i, 30 - i)  # any size: the loader resizes
            array = rng.integers(0, 256, (*size[::-1], 3), dtype=np.uint8)
            array[..., c] = 255
            Image.fromarray(array).save(root / name / f"{i}.png")
    return root


def test_folder_loads_and_batches_with_workers(tmp_path: Path) -> None:
    data = load_image_folder(LoadOptions(data_dir=make_folder(tmp_path / "imgs"), image_size=16))
    assert data.classes == ["cats", "dogs"] and data.preprocess.input_shape == (3, 16, 16)
    assert len(data.train) + len(data.test) == 12
    loader = BatchLoader(data.train, 4, data.preprocess, shuffle=True, num_workers=2)
    x, y = next(iter(loader))
    assert x.shape == (4, 3, 16, 16) and x.dtype == torch.float32 and y.dtype == torch.int64


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="CPU affinity is Linux's")
def test_workers_are_capped_at_the_usable_cores_and_batches_stay_the_same(tmp_path: Path) -> None:
    data = load_image_folder(LoadOptions(data_dir=make_folder(tmp_path / "imgs"), image_size=16))
    in_process = [y for _, y in BatchLoader(data.train, 4, data.preprocess, shuffle=True, seed=3)]
    cores = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(cores)})  # as `taskset -c N` or a one-core container would
    try:
        loader = BatchLoader(data.train, 4, data.preprocess, shuffle=True, seed=3, num_workers=8)
        assert loader.num_workers == 1
        assert [y.tolist() for _, y in loader] == [y.tolist() for y in in_process]
    finally:
        os.sched_setaffinity(0, cores)


def test_empty_class_folder_is_named(tmp_path: Path) -> None:
    root = make_folder(tmp_path / "imgs")
    (root / "birds").mkdir()
    with pytest.raises(UserError, match=r"birds holds no images"):
        load_image_folder(LoadOptions(data_dir=root))


def test_unreadable_image_is_named(tmp_path: Path) -> None:
    root = make_folder(tmp_path / "imgs")
    (root / "cats" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(UserError, match=r"broken\.png: (unreadable image|not an image)"):
        load_image_folder(LoadOptions(data_dir=root))


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        load_image_folder(LoadOptions(data_dir=tmp_path / "nope"))


def test_a_folder_too_small_to_split_is_a_clear_error(tmp_path: Path) -> None:
    root = tmp_path / "tiny"
    for name, count in (("a", 3), ("b", 2)):
        (root / name).mkdir(parents=True)
        for i in range(count):
            Image.new("L", (8, 8), 40 * i).save(root / name / f"{i}.png")
    with pytest.raises(UserError, match="too few to hold out"):
        load_image_folder(LoadOptions(data_dir=root))


def test_an_oversized_image_is_refused_when_the_folder_is_scanned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import neuralab.data.images as images

    root = make_folder(tmp_path / "imgs")
    Image.new("L", (60, 60)).save(root / "cats" / "huge.png")
    monkeypatch.setattr(images, "DEFAULT_MAX_PIXELS", 1000)  # stands in for a 144-megapixel file
    monkeypatch.setattr(images.check_image_header, "__defaults__", (1000,))
    with pytest.raises(UserError, match=r"huge\.png.*megapixels"):
        load_image_folder(LoadOptions(data_dir=root))
