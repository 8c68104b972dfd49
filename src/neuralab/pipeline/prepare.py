"""From the user's settings to data ready to train on: the resolved config, the splits, the loaders.

Text is tokenised here, with a tokenizer fitted on the training split only; class selection and the
training data's fingerprint live here too, so every task prepares data the same way.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from typing import Any

import torch

from neuralab.config import (
    AnyRunConfig,
    DataConfig,
    ForecastRunConfig,
    RegressRunConfig,
    RunConfig,
    SupervisedRunConfig,
    deep_merge,
    validate,
)
from neuralab.data import DATASETS, BatchAugment, BatchLoader, LoadedData, LoadOptions, Samples, TensorSamples
from neuralab.data.folder import FolderSamples
from neuralab.data.splits import stratified_split, stratified_subset
from neuralab.data.text import TextSamples, Tokenizer, choose_maxlen, encode
from neuralab.data.transforms import Preprocess
from neuralab.errors import UserError
from neuralab.train import Device


def resolve_config(user: dict[str, Any]) -> AnyRunConfig:
    """Validate the user's settings on top of the dataset's recipe (which may set the task: diabetes regresses).

    A section whose `name` the user chose (model, optim, sched) drops the recipe's section, so a
    recipe's `model.args` never reach a different model.
    """
    dataset = (user.get("data") or {}).get("name", "digits")
    recipe = dict(DATASETS.get(dataset).recipe) if dataset in DATASETS else {}
    if user.get("task", recipe.get("task", "classify")) != recipe.get("task", "classify"):
        return validate(user)  # the recipe is for another task (a GAN on Fashion-MNIST)
    for section, values in user.items():
        if isinstance(values, dict) and "name" in values and section != "data":
            recipe.pop(section, None)
    return validate(deep_merge(recipe, user))


def classification_config(cfg: AnyRunConfig, what: str) -> RunConfig:
    """`cfg` as a classification config, or a clear refusal naming what needs one."""
    if not isinstance(cfg, RunConfig):
        raise UserError(f"{what} needs a classification run, not task: {cfg.task}")
    return cfg


def supervised_config(cfg: AnyRunConfig, what: str) -> SupervisedRunConfig:
    """`cfg` as a classification, regression or forecasting config, or a refusal naming what needs one."""
    if not isinstance(cfg, RunConfig | RegressRunConfig | ForecastRunConfig):
        raise UserError(f"{what} needs a classification or regression run, not task: {cfg.task}")
    return cfg


MANY_CLASSES = 20  # above this, most classes having one example means the labels are not classes
_VALUE_TASKS = {"table": "regress", "series": "forecast"}


@dataclass
class PreparedData:
    data: LoadedData
    train: Samples
    val: Samples | None
    test: Samples


def load_dataset(data: DataConfig) -> LoadedData:
    """The dataset `data` names, loaded with the options its section sets."""
    return DATASETS.get(data.name).load(LoadOptions.from_settings(data))


def prepare_data(cfg: RunConfig, stored: Preprocess | None = None) -> PreparedData:
    """Load, subset and split; text is tokenised with a tokenizer fitted on the train split only.

    `stored`: a run's saved text preprocessing, reused (evaluate) instead of refitting.
    """
    kind = DATASETS.get(cfg.data.name).kind
    if kind in _VALUE_TASKS:
        raise UserError(f"dataset {cfg.data.name!r} holds a {kind}, which is not classified but predicted: "
                        f"use task: {_VALUE_TASKS[kind]}", hint=f"--task {_VALUE_TASKS[kind]} (or leave out task: "
                        "its recipe sets it)")  # fmt: skip
    data = load_dataset(cfg.data)
    if cfg.data.classes is not None:
        select_classes(data, cfg.data.classes)
    if stored is None:
        refuse_unlearnable_classes(data.classes, data.train.targets, cfg.data.name)
    train = data.train
    if cfg.data.subset is not None:
        train = train.subset(stratified_subset(train.targets, cfg.data.subset, cfg.train.seed))
    val: Samples | None = None
    if cfg.data.val_fraction > 0:
        keep, held = stratified_split(train.targets, cfg.data.val_fraction, cfg.train.seed)
        train, val = train.subset(keep), train.subset(held)
    test = data.test
    if isinstance(train, TextSamples):
        data.preprocess = stored or fit_text_preprocess(cfg.data, train.texts)
        tokenizer = Tokenizer.from_dict(data.preprocess.extra["tokenizer"])
        maxlen = data.preprocess.input_shape[0]

        def ids(samples: Samples) -> TensorSamples:
            assert isinstance(samples, TextSamples)
            return TensorSamples(encode(tokenizer, samples.texts, maxlen), samples.targets)

        train, val, test = ids(train), ids(val) if val is not None else None, ids(test)
    return PreparedData(data, train, val, test)


def refuse_unlearnable_classes(classes: list[str], targets: torch.Tensor, dataset: str) -> None:
    """A classifier needs two classes or more, and several examples of most of them.

    A label column of identifiers or free text passes every type check and trains for minutes on
    hundreds of one-example classes; a file with a single label trains to a meaningless 100%.
    """
    if len(classes) < 2:
        raise UserError(f"dataset {dataset!r} has one class ({', '.join(map(repr, classes)) or 'none'}): "
                        "a classifier needs at least two to tell apart",
                        hint="check data.target_column, or the class folders")  # fmt: skip
    counts = torch.bincount(targets.long(), minlength=len(classes))
    lonely = int((counts <= 1).sum())
    if len(classes) > MANY_CLASSES and lonely > len(classes) / 2:
        raise UserError(f"dataset {dataset!r}: {lonely} of its {len(classes)} classes have at most one training "
                        "example, too few to learn a class from: is the label column an identifier or free text?",
                        hint="check data.target_column; numbers to predict are task: regress")  # fmt: skip


def select_classes(data: LoadedData, wanted: list[str]) -> None:
    """Keep only `wanted` classes (renumbered in that order) in both splits: a new task from a dataset."""
    unknown = [c for c in wanted if c not in data.classes]
    if unknown or len(set(wanted)) < len(wanted) or len(wanted) < 2:
        raise UserError(f"data.classes must name at least two different classes of the dataset; unknown: {unknown}",
                        hint=f"classes: {data.classes}")  # fmt: skip
    remap = torch.full((len(data.classes),), -1, dtype=torch.long)
    for new, name in enumerate(wanted):
        remap[data.classes.index(name)] = new

    def keep(samples: Samples) -> Samples:
        mapped = remap[samples.targets]
        chosen = samples.subset(torch.nonzero(mapped >= 0).flatten())
        return dataclasses.replace(chosen, targets=remap[chosen.targets])  # type: ignore[type-var]

    data.train, data.test, data.classes = keep(data.train), keep(data.test), list(wanted)


def fit_text_preprocess(d: DataConfig, texts: list[str]) -> Preprocess:
    tokenizer = Tokenizer(d.text_level, d.num_words, d.min_freq, d.lowercase, d.keep_punctuation,
                          ngrams=d.ngrams).fit(texts)  # fmt: skip
    maxlen = d.maxlen or choose_maxlen(tokenizer.texts_to_sequences(texts))
    return Preprocess(
        kind="text", input_shape=(maxlen,), mean=(), std=(), scale=1.0,
        extra={"tokenizer": tokenizer.to_dict(), "level": tokenizer.level, "vocab_size": tokenizer.vocab_size},
    )  # fmt: skip


def data_model_args(cfg: RunConfig, preprocess: Preprocess) -> dict[str, Any]:
    """Model arguments the data decides: a text model's vocabulary size."""
    args = dict(cfg.model.args)
    if preprocess.kind == "text":
        args["vocab_size"] = preprocess.extra["vocab_size"]
    return args


def data_fingerprint(samples: Samples) -> str:
    """sha256 of the training examples as used (after subset and split), recorded for reproducibility."""
    digest = hashlib.sha256()
    if isinstance(samples, TensorSamples):
        digest.update(samples.x.contiguous().numpy().tobytes())
    elif isinstance(samples, FolderSamples):
        for path in samples.files:
            digest.update(f"{path}:{path.stat().st_size}".encode())
    digest.update(samples.targets.numpy().tobytes())
    return digest.hexdigest()


def make_loader(
    samples: Samples,
    cfg: SupervisedRunConfig,
    preprocess: Preprocess,
    device: Device,
    *,
    train: bool,
    sample_weights: torch.Tensor | None = None,
) -> BatchLoader:
    """Training loaders shuffle, augment and drop the ragged batch; evaluation loaders do none of it.

    Under torchrun `train.batch_size` is the global batch: each of the W ranks takes batch_size / W.
    """
    if train and device.world_size > 1 and cfg.train.batch_size % device.world_size:
        raise UserError(
            f"train.batch_size={cfg.train.batch_size} cannot be split evenly over {device.world_size} processes",
            hint=f"choose a multiple of {device.world_size}: the batch size is the global batch",
        )
    if train and device.world_size > 1 and len(samples) < cfg.train.batch_size:
        raise UserError(f"the training split ({len(samples)} rows) is smaller than one global batch "
                        f"(train.batch_size={cfg.train.batch_size})")  # fmt: skip
    return BatchLoader(
        samples,
        cfg.train.batch_size if train else cfg.train.eval_batch_size,
        preprocess,
        shuffle=train,
        seed=cfg.train.seed,
        augment=BatchAugment.from_name(cfg.data.augment, cfg.data.crop_padding, cfg.data.erase) if train else None,
        device=device.device,
        channels_last=device.channels_last,
        drop_last=train,
        num_workers=cfg.data.num_workers,
        sample_weights=sample_weights if train else None,
        rank=device.rank,
        world_size=device.world_size,
    )
