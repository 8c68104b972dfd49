"""Fine-tuning: pretrained weights from a run, head-only with BatchNorm frozen, gradual unfreezing,
discriminative learning rates, and class selection, through the real pipeline on digits."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import torch
from rich.console import Console

from neuralab.errors import UserError
from neuralab.model_contract import named_groups
from neuralab.models import create_model
from neuralab.pipeline import resolve_config, run_config
from neuralab.runs import load_model
from neuralab.train.finetune import FineTuning
from neuralab.train.optim import build_optimizer
from tests.conftest import needs_liberation

QUIET = Console(file=io.StringIO())


@pytest.fixture(scope="module")
def pretrained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """simple_cnn on five digit classes: the 'other dataset' the tests fine-tune from."""
    out = tmp_path_factory.mktemp("pre")
    cfg = resolve_config({"data": {"name": "digits", "classes": ["0", "1", "2", "3", "4"]}, "train": {"epochs": 6},
                          "out_dir": str(out), "name": "pre"})  # fmt: skip
    return run_config(cfg, QUIET).run_dir


def finetune(tmp_path: Path, pre: Path, strategy: str, **model: object) -> tuple[dict, Path]:
    cfg = resolve_config({
        "data": {"name": "digits", "classes": ["5", "6", "7", "8", "9"], "subset": 200},
        "model": {"name": "simple_cnn", "pretrained": str(pre), "finetune": strategy, **model},
        "train": {"epochs": 3}, "out_dir": str(tmp_path), "name": strategy,
    })  # fmt: skip
    result = run_config(cfg, QUIET)
    return result.summary, result.run_dir


def test_head_only_keeps_the_backbone_and_its_batchnorm_untouched(pretrained_run: Path, tmp_path: Path) -> None:
    summary, run = finetune(tmp_path, pretrained_run, "head")
    assert summary["pretrained"]["copied"] > 0 and summary["parameters"]["frozen"] > 0
    before, _ = load_model(pretrained_run)
    after, card = load_model(run)
    assert card["classes"] == ["5", "6", "7", "8", "9"]
    for (name, a), b in zip(before.features.state_dict().items(), after.features.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, msg=f"{name} changed")  # weights and any BatchNorm statistics
    assert summary["test"]["accuracy"] > 0.3  # a trained head on frozen features, 5 classes


def test_batchnorm_statistics_stay_frozen_in_eval_mode() -> None:
    model = create_model("fast_cnn", (1, 28, 28), 10)
    groups = named_groups(model)
    callback = FineTuning(groups, "head")
    model.train()
    callback.on_epoch_begin(0)
    bn = next(m for m in model.features.modules() if isinstance(m, torch.nn.BatchNorm2d))
    mean = bn.running_mean.clone()
    model(torch.randn(8, 1, 28, 28))
    assert not bn.training and torch.equal(bn.running_mean, mean)
    assert all(not p.requires_grad for p in model.features.parameters())
    assert all(p.requires_grad for p in model.head.parameters())


def test_gradual_unfreezing_steps_through_the_groups() -> None:
    model = create_model("fast_cnn", (1, 28, 28), 10)
    groups = named_groups(model)
    callback = FineTuning(groups, "gradual", unfreeze_every=2)
    trainable = []
    for epoch in range(2 * len(groups)):
        callback.on_epoch_begin(epoch)
        trainable.append(sum(p.requires_grad for p in model.parameters()))
    assert trainable == sorted(trainable) and trainable[0] < trainable[-1] == len(list(model.parameters()))
    assert callback.state_dict()["trainable_from"] == 0


def test_discriminative_learning_rates() -> None:
    model = create_model("fast_cnn", (1, 28, 28), 10)
    groups = named_groups(model)
    optimizer = build_optimizer(model, "sgd", lr=0.1, layer_groups=groups, lr_decay=0.5)
    lrs = sorted({g["lr"] for g in optimizer.param_groups})
    assert lrs[-1] == pytest.approx(0.1) and lrs[0] == pytest.approx(0.1 * 0.5 ** (len(groups) - 1))
    assert sum(len(g["params"]) for g in optimizer.param_groups) == len(list(model.parameters()))


def test_gradual_run_and_bad_pretrained_sources(pretrained_run: Path, tmp_path: Path) -> None:
    summary, _ = finetune(tmp_path, pretrained_run, "gradual", lr_decay=0.5)
    assert summary["finetune"] == {"strategy": "gradual", "lr_decay": 0.5, "groups": summary["finetune"]["groups"]}
    with pytest.raises(UserError, match="neither 'imagenet'"):
        finetune(tmp_path, tmp_path / "nowhere", "full")
    with pytest.raises(UserError, match="needs a torchvision backbone"):
        finetune(tmp_path, Path("imagenet"), "full")
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match="not a readable weights file"):
        finetune(tmp_path, bad, "full")
    with pytest.raises(UserError, match=r"data\.classes"):
        run_config(resolve_config({"data": {"name": "digits", "classes": ["5", "x"]}}), QUIET)


@needs_liberation
def test_pretraining_on_printed_digits_beats_scratch_with_20_handwritten_labels(tmp_path: Path) -> None:
    """The offline proof, small: fast_cnn pretrained on font-digits (printed, 2 epochs), then 20 labelled
    handwritten digits (2 per class) with the same budget as from scratch, over 6 seeds. Measured with
    `benchmarks/transfer_digits.py --labels 20 --seeds 0,1,2,3,4,5 --source-epochs 2 --arms scratch,gradual`:
    scratch 68.4%, gradual fine-tuning 75.3% (per-seed gains -1.4 to +17.8 points: one seed proves nothing)."""
    # The source is pinned to fp32, as measured: two epochs at the recipe's peak lr are fragile, and seed 0
    # in bf16 autocast ends at 65% where fp32 ends at 95% (seeds 1 and 2: bf16 96.9%, fp32 95.7%).
    source = resolve_config({"data": {"name": "font-digits", "image_size": 28},
                             "train": {"epochs": 2, "precision": "32"},
                             "out_dir": str(tmp_path), "name": "printed"})  # fmt: skip
    printed = run_config(source, QUIET).run_dir
    accuracy: dict[str, list[float]] = {"scratch": [], "gradual": []}
    seeds = range(6)
    for seed in seeds:
        for arm in accuracy:
            model: dict[str, object] = {"name": "fast_cnn"}
            if arm == "gradual":
                model |= {"pretrained": str(printed), "finetune": "gradual", "unfreeze_every": 5}
            cfg = resolve_config({
                "data": {"name": "digits", "image_size": 28, "subset": 20, "val_fraction": 0.0, "augment": "none"},
                "model": model, "optim": {"name": "adam", "lr": 3e-3}, "sched": {"name": "cosine"},
                "train": {"epochs": 30, "batch_size": 32, "seed": seed, "grad_monitor_every": 0},
                "out_dir": str(tmp_path), "name": f"{arm}-{seed}",
            })  # fmt: skip
            accuracy[arm].append(run_config(cfg, QUIET).summary["test"]["accuracy"])
    scratch, transfer = (sum(accuracy[arm]) / len(seeds) for arm in ("scratch", "gradual"))
    assert transfer > scratch + 0.02, accuracy  # measured gain: 6.9 points
