"""Pretrained weights from files (safetensors, weights-only .pth) and from run folders."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import torch
from rich.console import Console

from neuralab.errors import UserError
from neuralab.files import save_weights
from neuralab.models import create_model
from neuralab.pipeline import resolve_config
from neuralab.pipeline.warm_start import load_pretrained, read_weights_file

QUIET = Console(file=io.StringIO())


def config(pretrained: str) -> object:
    return resolve_config({"data": {"name": "digits"}, "model": {"name": "simple_cnn", "pretrained": pretrained}})


def test_weights_files_load_by_name_and_shape(tmp_path: Path) -> None:
    source = create_model("simple_cnn", (1, 8, 8), 10)
    save_weights(source, tmp_path / "w.safetensors")
    torch.save({"state_dict": source.state_dict()}, tmp_path / "w.pth")
    for name in ("w.safetensors", "w.pth"):
        target = create_model("simple_cnn", (1, 8, 8), 10)
        info = load_pretrained(config(str(tmp_path / name)), target, QUIET)  # type: ignore[arg-type]
        assert info is not None and info["copied"] == len(source.state_dict()) and info["skipped"] == 0
        for key, value in source.state_dict().items():
            assert torch.equal(target.state_dict()[key], value), key


def test_pickles_that_run_code_are_refused(tmp_path: Path) -> None:
    class Evil:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (print, ("pwned",))

    torch.save({"w": Evil()}, tmp_path / "evil.pth")
    with pytest.raises(UserError, match="not a readable weights file"):
        read_weights_file(tmp_path / "evil.pth")  # weights_only=True: nothing is executed


def test_a_source_that_fits_nothing_is_named(tmp_path: Path) -> None:
    save_weights(torch.nn.Linear(3, 2), tmp_path / "other.safetensors")
    with pytest.raises(UserError, match="no tensor of"):
        load_pretrained(config(str(tmp_path / "other.safetensors")), create_model("simple_cnn", (1, 8, 8), 10), QUIET)  # type: ignore[arg-type]
