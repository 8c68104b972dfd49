"""One validated schema for a run: the YAML file, `--set a.b=c` and the CLI flags all land here.

Unknown keys and wrong types are refused by name (pydantic `extra="forbid"`), so a typo never
silently trains with a default.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from neuralab.errors import UserError

_EXPONENT_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DataConfig(_Section):
    name: str = Field("digits", description="dataset name (`neuralab datasets` lists them)")
    data_dir: Path | None = Field(None, description="folder holding the dataset's files (or the image folder)")
    file: Path | None = Field(None, description="CSV file of training rows (dataset csv)")
    download: bool = Field(True, description="download missing files from the official URL (sha256-checked)")
    val_fraction: float = Field(0.1, ge=0.0, lt=0.9, description="stratified share of train held out for validation")
    subset: int | None = Field(None, gt=0, description="use only this many training examples (stratified)")
    classes: list[str] | None = Field(None, description="keep only these classes (names), in this order")
    augment: Literal["none", "flip", "crop", "flip-crop"] = Field("none", description="batched train augmentation")
    crop_padding: int = Field(2, ge=0, description="pixels of zero padding for random crops")
    image_size: int | None = Field(None, gt=0, description="resize folder images to this square size")
    target_column: str = Field("label", description="CSV column holding the class label")
    test_file: Path | None = Field(None, description="CSV of test rows (otherwise a stratified 20% is held out)")
    num_workers: int = Field(2, ge=0, description="DataLoader workers for folder datasets")
    text_column: str = Field("text", description="CSV column holding the text (csv-text)")
    text_level: Literal["auto", "word", "char", "char-bigram"] = Field(
        "auto", description="tokens: words, or characters (+ bigrams) for Chinese/Japanese; auto reads the script"
    )
    num_words: int | None = Field(20000, gt=2, description="vocabulary cap: the most frequent training tokens")
    ngrams: int = Field(1, ge=1, le=3, description="word level: add word n-grams up to this order (bag models)")
    min_freq: int = Field(1, ge=1, description="drop tokens seen fewer times in the training split")
    lowercase: bool = Field(True, description="lower-case text before tokenising")
    keep_punctuation: bool = Field(
        False, description="keep punctuation as tokens (and in Chinese/Japanese character bigrams)"
    )
    maxlen: int | None = Field(None, gt=0, description="tokens per text (default: 95th percentile of train, <= 400)")
    embeddings_file: Path | None = Field(None, description="GloVe / word2vec text-format vectors for text models")
    freeze_embeddings: bool = Field(True, description="keep pretrained vectors fixed (false: fine-tune them)")


class ModelConfig(_Section):
    name: str = Field("mlp", description="model name (`neuralab models` lists them)")
    args: dict[str, Any] = Field(default_factory=dict, description="keyword arguments of the model builder")
    pretrained: str | None = Field(
        None, description="imagenet (torchvision's weights), a weights file (.safetensors/.pth), or a run folder"
    )
    finetune: Literal["full", "head", "gradual"] = Field(
        "full", description="train everything, only the head (frozen backbone, BatchNorm kept in eval), or "
        "unfreeze layer groups from the top, one more every `unfreeze_every` epochs",
    )  # fmt: skip
    unfreeze_every: int = Field(1, ge=1, description="epochs per stage of gradual unfreezing")
    lr_decay: float = Field(1.0, gt=0, le=1, description="discriminative lr: each earlier layer group gets lr x this")


class OptimConfig(_Section):
    name: Literal["sgd", "adam", "adamw", "rmsprop"] = "adam"
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0, description="L2 / decoupled decay; never applied to biases and norms")
    momentum: float = Field(0.9, ge=0, lt=1, description="SGD and RMSprop momentum")
    nesterov: bool = False
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = Field(1e-8, gt=0)
    l1: float = Field(0.0, ge=0, description="L1 penalty on weights, added to the loss")


class SchedConfig(_Section):
    name: Literal["constant", "step", "cosine", "onecycle", "plateau"] = "constant"
    warmup_epochs: float = Field(0.0, ge=0, description="linear warm-up from 0, in epochs (fractions allowed)")
    step_size: int = Field(10, gt=0, description="step: epochs between decays")
    gamma: float = Field(0.1, gt=0, le=1, description="step: decay factor")
    min_lr_ratio: float = Field(0.0, ge=0, le=1, description="cosine/onecycle: final lr as a share of lr")
    pct_start: float = Field(0.25, gt=0, lt=1, description="onecycle: share of steps spent rising")
    patience: int = Field(2, ge=0, description="plateau: epochs without improvement before a decay")
    factor: float = Field(0.5, gt=0, lt=1, description="plateau: decay factor")


class TrainConfig(_Section):
    epochs: int = Field(10, gt=0)
    batch_size: int = Field(64, gt=0)
    eval_batch_size: int = Field(1024, gt=0)
    seed: int = 0
    label_smoothing: float = Field(0.0, ge=0, lt=1)
    grad_clip: float | None = Field(None, gt=0, description="clip threshold; None disables clipping")
    grad_clip_mode: Literal["norm", "value"] = "norm"
    early_stopping: int | None = Field(None, gt=0, description="patience in epochs; None disables")
    monitor: str = Field("val_accuracy", description="metric for early stopping and the best checkpoint")
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    precision: Literal["auto", "32", "16-mixed", "bf16-mixed"] = "auto"
    channels_last: Literal["auto", "on", "off"] = "auto"
    threads: int | None = Field(None, gt=0, description="torch CPU threads; default: the machine's cores")
    deterministic: bool = Field(False, description="ask torch for deterministic kernels (slower on GPU)")
    checkpoint_every_steps: int = Field(0, ge=0, description="also checkpoint every N steps (0: epoch ends only)")
    checkpoint_every_s: float = Field(60.0, ge=0, description="also checkpoint when this many seconds passed")
    balance: Literal["none", "class_weights", "sampler", "focal", "auto"] = Field(
        "auto", description="class-imbalance remedy; auto picks class_weights when the labels are skewed"
    )
    imbalance_ratio: float = Field(3.0, gt=1, description="auto: most/least frequent class count that counts as skewed")
    focal_gamma: float = Field(2.0, ge=0, description="focal loss focusing parameter")
    grad_monitor_every: int = Field(50, ge=0, description="sample gradient/activation health every N steps (0: off)")


class GanConfig(_Section):
    """Used by `task: gan` (a DCGAN); data, train.epochs, train.seed and train.device come from the rest."""

    latent_dim: int = Field(64, gt=0, description="size of the generator's noise vector")
    width: int = Field(64, gt=0, description="channels of the first layer (the second has twice as many)")
    batch_size: int = Field(64, ge=2, description="images per step (DCGAN paper: 128; 64 learns faster on CPU)")
    lr: float = Field(2e-4, gt=0, description="Adam learning rate of both nets (DCGAN paper: 2e-4)")
    beta1: float = Field(0.5, ge=0, lt=1, description="Adam beta1 (DCGAN paper: 0.5; 0.9 oscillates)")
    real_label: float = Field(0.9, gt=0.5, le=1, description="one-sided label smoothing for real images")
    samples: int = Field(64, gt=0, le=256, description="images in each epoch's sample grid (fixed noise)")
    fd_samples: int = Field(2000, ge=100, description="generated vs test images compared by Frechet distance")


class RunConfig(_Section):
    name: str | None = Field(None, description="run folder name; default: <dataset>-<model>-<time>")
    out_dir: Path = Field(Path("runs"), description="parent folder of run folders")
    data: DataConfig = Field(default_factory=DataConfig)  # type: ignore[arg-type]
    model: ModelConfig = Field(default_factory=ModelConfig)  # type: ignore[arg-type]
    optim: OptimConfig = Field(default_factory=OptimConfig)  # type: ignore[arg-type]
    sched: SchedConfig = Field(default_factory=SchedConfig)  # type: ignore[arg-type]
    train: TrainConfig = Field(default_factory=TrainConfig)  # type: ignore[arg-type]
    task: Literal["classify", "gan"] = Field("classify", description="classify, or gan: a DCGAN on the images")
    gan: GanConfig = Field(default_factory=GanConfig)  # type: ignore[arg-type]

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)


def _section_keys(section: str) -> list[str]:
    field = RunConfig.model_fields.get(section)
    annotation = getattr(field, "annotation", None)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return list(annotation.model_fields)
    return list(RunConfig.model_fields)


def format_validation_error(err: ValidationError) -> str:
    """One line per problem, naming the dotted key and what is allowed."""
    lines = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"])
        if e["type"] == "extra_forbidden":
            parent = ".".join(str(p) for p in e["loc"][:-1])
            allowed = _section_keys(parent) if parent else list(RunConfig.model_fields)
            where = f"in '{parent}'" if parent else "at the top level"
            lines.append(f"unknown config key '{key}'; keys {where}: {', '.join(allowed)}")
        else:
            lines.append(f"config key '{key}': {e['msg']} (got {e.get('input')!r})")
    return "\n".join(lines)


def validate(raw: dict[str, Any]) -> RunConfig:
    try:
        return RunConfig.model_validate(raw)
    except ValidationError as err:
        raise UserError(format_validation_error(err), hint="see `neuralab config --help-keys`") from None


def load_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise UserError(f"config file {path} does not exist")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise UserError(f"config file {path} is not valid YAML: {err}") from None
    except UnicodeDecodeError:
        raise UserError(f"config file {path} is not UTF-8 text") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise UserError(f"config file {path} must hold a mapping of sections, got {type(raw).__name__}")
    return raw


def parse_set(items: list[str]) -> dict[str, Any]:
    """`["optim.lr=3e-4", "model.args.widths=[64,32]"]` -> nested dict; values parsed as YAML."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--set {item!r} must look like key.sub=value")
        set_dotted(out, key.strip(), parse_value(value))
    return out


def parse_value(text: str) -> Any:
    """YAML scalars and lists, plus what YAML 1.1 leaves as strings but people mean as numbers (3e-4)."""
    if not text.strip():
        return None
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(parsed, str) and _EXPONENT_NUMBER.fullmatch(parsed.strip()):
        return float(parsed)
    return parsed


def set_dotted(tree: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node = tree
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise UserError(f"config key {dotted!r}: {part!r} is a value, not a section")
        node = child
    node[parts[-1]] = value


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Later wins; nested mappings merge key by key (model.args included)."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out
