"""Loading a run folder someone tampered with: a message naming the problem, never a traceback or a huge allocation."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from neuralab.errors import UserError
from neuralab.runs import load_model
from tests.conftest import run_cli


def tampered(digits_run: Path, tmp_path: Path, change: Callable[[dict[str, Any]], Any]) -> Path:
    """A copy of the shared digits run whose model.json is replaced by `change(card)`."""
    folder = tmp_path / "tampered"
    shutil.copytree(digits_run, folder)
    card = json.loads((folder / "model.json").read_text())
    (folder / "model.json").write_text(json.dumps(change(card)))
    return folder


def with_preprocess(card: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return card | {"preprocess": card["preprocess"] | changes}


def test_an_untouched_copy_loads(digits_run: Path, tmp_path: Path) -> None:
    model, card = load_model(tampered(digits_run, tmp_path, lambda card: card))
    assert card["num_classes"] == 10 and sum(p.numel() for p in model.parameters()) > 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda card: [card], "must hold a JSON object, not a list"),
        # 10**9 classes: a class layer of ~10**11 weights, refused from the shapes alone before anything is allocated
        (lambda card: card | {"num_classes": 10**9}, "but model.safetensors holds"),
        (lambda card: card | {"num_classes": -1}, "cannot build model"),  # torch's negative-dimension error
        (lambda card: card | {"classes": card["classes"][:3]}, "`classes` must be a list of 10 names, one per output"),
        # two outputs with one name: predict's and serve's answers, keyed by name, would lose one
        (lambda card: card | {"classes": ["0", *card["classes"][:9]]}, "`classes` holds '0' more than once"),
        (lambda card: card | {"task": "dance"}, "`task` must be classify, regress or forecast, not 'dance'"),
        (lambda card: card | {"task": "regress"}, "lacks or mangles field 'table'"),
        (lambda card: with_preprocess(card, std=[0.0]), "`preprocess.std` must be positive"),
        (lambda card: with_preprocess(card, mean=[0.1, 0.2, 0.3]), "need 1 values each, not 3"),
        (lambda card: with_preprocess(card, input_shape=[1, 10**5, 10**5]), "is over 67,108,864 values an input"),
        (lambda card: with_preprocess(card, scale=1e308), "`preprocess.scale` must be a number in (0, 1]"),
        (lambda card: {k: v for k, v in card.items() if k != "input_shape"}, "lacks or mangles field 'input_shape'"),
    ],
)
def test_a_tampered_model_json_is_refused_by_name(
    digits_run: Path, tmp_path: Path, change: Callable[[dict[str, Any]], Any], message: str
) -> None:
    with pytest.raises(UserError) as refused:
        load_model(tampered(digits_run, tmp_path, change))
    assert message in refused.value.message


def test_the_cli_refuses_an_oversized_model_json_without_a_traceback(digits_run: Path, tmp_path: Path) -> None:
    folder = tampered(digits_run, tmp_path, lambda card: card | {"num_classes": 10**9})
    image = tmp_path / "digit.png"
    Image.new("L", (8, 8)).save(image)
    result = run_cli("predict", str(folder), str(image))
    assert result.returncode == 2, result.stderr
    assert "do not belong together" in result.stderr and "Traceback" not in result.stderr


def test_weights_holding_nan_are_refused_at_load(digits_run: Path, tmp_path: Path) -> None:
    from safetensors.torch import load_file, save_file

    folder = tampered(digits_run, tmp_path, lambda card: card)
    tensors = load_file(str(folder / "model.safetensors"))
    name = next(k for k, v in tensors.items() if v.is_floating_point())
    tensors[name].view(-1)[0] = float("nan")
    save_file(tensors, str(folder / "model.safetensors"))
    with pytest.raises(UserError, match=f"weight '{name}' holds NaN or infinite values"):
        load_model(folder)
