"""A user's own nn.Module reaches the whole toolkit, and a run folder never runs code on its own authority.

The user's module lives in a temporary folder put on PYTHONPATH, as a user's own package would be;
importing it leaves a mark on disk, so a test can prove that a refused folder never imported it.
"""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.datasets import load_digits

from neuralab import KerasModel
from neuralab.errors import UserError
from neuralab.models.sources import builder_reference
from neuralab.runs import load_model
from tests.conftest import run_cli
from tests.serve.conftest import png_bytes, start_server, stop_server

USER_MODULE = """
import os
from pathlib import Path

from torch import nn

Path(os.environ["USERNETS_MARK"]).write_text("imported")  # proves whether loading a folder ran this code


def build(width: int = 8, num_classes: int = 10) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(width * 16, num_classes),
    )
"""


@pytest.fixture(scope="module")
def user_package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    root = tmp_path_factory.mktemp("userpkg")
    (root / "usernets.py").write_text(textwrap.dedent(USER_MODULE))
    mark = root / "imported.mark"
    monkey = pytest.MonkeyPatch()
    monkey.setenv("USERNETS_MARK", str(mark))
    monkey.syspath_prepend(str(root))
    yield root, mark
    monkey.undo()
    sys.modules.pop("usernets", None)


@pytest.fixture(scope="module")
def user_run(user_package: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    import usernets  # type: ignore[import-not-found]

    x, y = load_digits(return_X_y=True)
    images = (x / 16).astype("float32").reshape(-1, 1, 8, 8)
    torch.manual_seed(0)
    model = KerasModel(usernets.build(width=8)).compile(optimizer="adam", lr=3e-3)
    model.fit(images[:1400], y[:1400], epochs=6, batch_size=32)
    model.evaluate(images[1400:], y[1400:])
    return model.save(tmp_path_factory.mktemp("user") / "run", builder=usernets.build, args={"width": 8})


def _expected_class(run: Path, pixels: np.ndarray) -> str:
    """The class the model gives these pixels in Python, fed as it was trained (values / 255)."""
    model, _ = load_model(run, trust_code=True)
    with torch.no_grad():
        return str(int(model(torch.from_numpy(pixels).float()[None, None] / 255).argmax()))


def _env(user_package: tuple[Path, Path]) -> dict[str, str]:
    root, mark = user_package
    return {"PYTHONPATH": str(root), "USERNETS_MARK": str(mark)}


def test_model_json_names_the_builder_and_its_arguments(user_run: Path) -> None:
    card = json.loads((user_run / "model.json").read_text())
    assert card["architecture"] == "usernets:build" and card["args"] == {"width": 8}
    assert card["input_shape"] == [1, 8, 8] and card["preprocess"]["kind"] == "image"


def test_loading_an_untrusted_builder_is_refused_until_trusted(user_run: Path) -> None:
    with pytest.raises(UserError, match="trust") as refused:
        load_model(user_run)
    assert "--trust-code" in str(refused.value.hint)
    model, _ = load_model(user_run, trust_code=True)
    assert isinstance(model, torch.nn.Sequential)


def test_the_cli_never_imports_a_folders_code_without_trust_code(
    user_run: Path, user_package: tuple[Path, Path], tmp_path: Path
) -> None:
    _, mark = user_package
    image = tmp_path / "digit.png"
    pixels = (load_digits().images[1500] * 255 / 16).astype(np.uint8)
    Image.fromarray(pixels).save(image)
    mark.unlink(missing_ok=True)
    refused = run_cli("predict", str(user_run), str(image), env=_env(user_package))
    assert refused.returncode == 2 and "--trust-code" in refused.stderr
    assert not mark.exists(), "a refused run folder imported the code it names"
    trusted = run_cli("predict", str(user_run), str(image), "--json", "--trust-code", env=_env(user_package))
    assert trusted.returncode == 0, trusted.stderr
    assert json.loads(trusted.stdout)["top"][0]["class"] == _expected_class(user_run, pixels)
    explained = run_cli("explain", str(user_run), str(image), "--trust-code", "--out", str(tmp_path),
                        env=_env(user_package))  # fmt: skip
    assert explained.returncode == 0, explained.stderr
    assert (tmp_path / "digit.gradcam.png").stat().st_size > 0


def test_a_user_model_is_served_only_with_trust_code(
    user_run: Path, user_package: tuple[Path, Path], tmp_path: Path
) -> None:
    refused = run_cli("serve", str(user_run), "--port", "1", env=_env(user_package))
    assert refused.returncode == 2 and "--trust-code" in refused.stderr
    server = start_server(user_run, tmp_path / "server.log", "--trust-code", env=_env(user_package))
    try:
        digit = (load_digits().images[1500] * 255 / 16).astype(np.uint8)
        answer = server.client.post("/predict", files={"file": ("d.png", png_bytes(digit), "image/png")})
        assert answer.status_code == 200, answer.text
        assert answer.json()["class"] == _expected_class(user_run, digit)
    finally:
        stop_server(server)


def test_a_missing_module_is_named_with_what_to_do(user_run: Path, tmp_path: Path) -> None:
    card = json.loads((user_run / "model.json").read_text())
    card["architecture"] = "not_installed_pkg.nets:build"
    moved = tmp_path / "moved"
    moved.mkdir()
    (moved / "model.json").write_text(json.dumps(card))
    (moved / "model.safetensors").write_bytes((user_run / "model.safetensors").read_bytes())
    with pytest.raises(UserError, match=r"cannot import 'not_installed_pkg\.nets'") as err:
        load_model(moved, trust_code=True)
    assert "PYTHONPATH" in str(err.value.hint)


def test_an_installed_plugin_is_trusted_by_its_entry_point(
    user_run: Path, user_package: tuple[Path, Path], tmp_path: Path
) -> None:
    dist = tmp_path / "plugin" / "usernets-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: usernets\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[neuralab.models]\ntiny_user_cnn = usernets:build\n")
    sys.path.insert(0, str(dist.parent))
    try:
        import usernets

        assert builder_reference(usernets.build) == "tiny_user_cnn"
        card = json.loads((user_run / "model.json").read_text())
        card["architecture"] = "tiny_user_cnn"
        plugin_run = tmp_path / "plugin-run"
        plugin_run.mkdir()
        (plugin_run / "model.json").write_text(json.dumps(card))
        (plugin_run / "model.safetensors").write_bytes((user_run / "model.safetensors").read_bytes())
        model, _ = load_model(plugin_run)  # no trust_code: installing the plugin was the act of trust
        assert isinstance(model, torch.nn.Sequential)
    finally:
        sys.path.remove(str(dist.parent))


def test_builders_that_cannot_be_imported_again_are_refused_when_saving() -> None:
    def local_builder() -> torch.nn.Module:
        return torch.nn.Linear(2, 2)

    with pytest.raises(UserError, match="cannot be imported again"):
        builder_reference(local_builder)
    with pytest.raises(UserError, match="cannot be imported again"):
        builder_reference(lambda: torch.nn.Linear(2, 2))
